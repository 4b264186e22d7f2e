"""The `ncap lab` command line: a lab member's uploads, submissions and jobs. Each command prints
data (or JSON with --json), and exits non-zero with one clear line when refused."""
from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from ..errors import NcapError

ACTIONS = ("upload", "submit", "jobs", "status", "logs", "cancel", "results", "spend")
PEOPLE = ("signup", "verify", "login", "logout", "labs", "join", "invite", "approve", "refuse", "remove", "members")


def register(commands, common) -> dict:
    lab = commands.add_parser(
        "lab", parents=[common], help="a lab member's uploads, submissions and jobs",
        description="For a lab's members: upload data and configs, submit a job, follow its status and "
                    "log, cancel it, fetch its results. With your own credentials: an AWS profile (--profile, "
                    "such as one of the file `ncap credentials` wrote; AWS_ENDPOINT_URL or --endpoint-url reach "
                    "an emulator) and --pipeline, or a lab user of a running local cloud (--local PIPELINE_DIR). "
                    "For a pipeline whose people sign in to a directory: ncap lab signup, verify and login once, "
                    "then the same commands with --lab and --pipeline (short-lived credentials for that lab).")
    actions = lab.add_subparsers(dest="action", required=True, metavar="ACTION")
    _people(actions, common)
    where = _where()
    upload = actions.add_parser("upload", parents=[common, where], help="upload files to your lab's inputs or configs",
                                description="Large files go up in parts, several at once, and resumably: run the "
                                            "same command again after an interruption and it sends only the rest.")
    upload.add_argument("files", nargs="+", type=Path, metavar="FILE")
    upload.add_argument("--as", dest="kind", choices=("inputs", "configs"), default="inputs",
                        help="the folder: inputs (datasets, the default) or configs")
    upload.add_argument("--json", action="store_true", help="print each object as JSON")
    submit = actions.add_parser("submit", parents=[common, where], help="submit a job of uploaded data and a config",
                                description="Writes the submit.json for you, pinned to the versions of the datasets "
                                            "and config as they are now, and prints the job id.")
    submit.add_argument("--data", nargs="+", required=True, metavar="KEY",
                        help="datasets: keys (LAB/inputs/x.csv) or file names in your lab's inputs")
    submit.add_argument("--config", metavar="KEY", help="the config: a key or a file name in your lab's configs")
    submit.add_argument("--job-id", help="the job's id (default: the time and a random suffix)")
    submit.add_argument("--wait", action="store_true", help="wait until the job ends and print its status")
    submit.add_argument("--timeout", type=float, default=3600.0, help="with --wait: seconds to wait at most")
    submit.add_argument("--json", action="store_true")
    jobs = actions.add_parser("jobs", parents=[common, where], help="your lab's jobs, newest first")
    jobs.add_argument("--json", action="store_true")
    spend = actions.add_parser("spend", parents=[common, where], help="your lab's spend this month, against its budget",
                               description="What your lab's finished jobs cost in a month, from the pipeline's "
                                           "ledger (as `ncap cost report` sums it), its monthly budget and what "
                                           "is left. A pipeline whose labs sign in to a directory lets its "
                                           "members read their own lab's ledger.")
    spend.add_argument("--month", type=_month, metavar="YYYY-MM", help="the month (default: this month, UTC)")
    spend.add_argument("--json", action="store_true")
    for name, text in (("status", "a job's status"), ("logs", "a job's log"), ("cancel", "cancel a job"),
                       ("results", "download a job's results")):
        action = actions.add_parser(name, parents=[common, where], help=text)
        action.add_argument("job_id", metavar="JOB")
        if name == "status":
            action.add_argument("--watch", action="store_true", help="print each change until the job ends")
            action.add_argument("--json", action="store_true")
        if name == "logs":
            action.add_argument("--follow", "-f", action="store_true", help="print new lines until the job ends")
        if name == "cancel":
            action.add_argument("--no-wait", action="store_true", help="do not wait until the job is cancelled")
            action.add_argument("--timeout", type=float, default=60.0, help="seconds to wait at most (default 60)")
            action.add_argument("--json", action="store_true")
        if name == "results":
            action.add_argument("--out", type=Path, help="folder to write them into (default: ./JOB)")
            action.add_argument("--json", action="store_true")
    return {"lab": run}


def _people(actions, common) -> None:
    """The directory's commands: sign-up, login, labs and their members."""
    settings = argparse.ArgumentParser(add_help=False)
    settings.add_argument("--settings", required=True, metavar="S",
                          help="the directory's sign-in settings: a file or an https URL (`ncap deploy` of the "
                               "directory prints it; a local cloud writes directory.json in its state folder)")
    settings.add_argument("--email", required=True, help="your email address: your login to the directory")
    signup = actions.add_parser("signup", parents=[common, settings], help="sign up to a directory (a code is emailed)",
                                description="The password comes from NCAP_PASSWORD or the terminal.")
    signup.add_argument("--json", action="store_true", help="print the answer as JSON")
    verify = actions.add_parser("verify", parents=[common, settings], help="verify your email with the code sent")
    verify.add_argument("--code", required=True, help="the code the directory emailed you")
    login = actions.add_parser("login", parents=[common, settings], help="log in (kept owner-only, refreshed)",
                               description="The password comes from NCAP_PASSWORD or the terminal; a first login "
                                           "with a temporary password asks for a new one (NCAP_NEW_PASSWORD or "
                                           "the terminal), and one with MFA for a code (NCAP_MFA_CODE).")
    login.add_argument("--json", action="store_true", help="print who is logged in as JSON")
    actions.add_parser("logout", parents=[common], help="log out everywhere and forget the login")
    labs = actions.add_parser("labs", parents=[common], help="your labs and their pipelines, and the labs to join")
    labs.add_argument("--json", action="store_true", help="print the answer as JSON")
    join = actions.add_parser("join", parents=[common], help="ask to join a lab (its admins approve)")
    join.add_argument("lab_name", metavar="LAB", help="the lab's name (ncap lab labs lists them)")
    join.add_argument("--json", action="store_true", help="print the answer as JSON")
    for name, text in (("invite", "invite someone to your lab (admins)"),
                       ("approve", "let in someone who asked to join (admins)"),
                       ("refuse", "turn down someone who asked to join (admins)"),
                       ("remove", "remove a member (admins)")):
        action = actions.add_parser(name, parents=[common], help=text)
        action.add_argument("email", metavar="EMAIL", help="the person's email address")
        action.add_argument("--lab", required=True, help="your lab, of which you are an admin")
        action.add_argument("--json", action="store_true", help="print the answer as JSON")
    members = actions.add_parser("members", parents=[common], help="your lab's members, admins and requests (admins)")
    members.add_argument("--lab", required=True, help="your lab, of which you are an admin")
    members.add_argument("--json", action="store_true", help="print the answer as JSON")


def _where() -> argparse.ArgumentParser:
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument("--pipeline", help="the pipeline's name (its bucket)")
    where.add_argument("--lab", help="your lab (with --local: default the user's first lab)")
    where.add_argument("--profile", help="the AWS profile of your credentials (default: the usual AWS chain)")
    where.add_argument("--endpoint-url", help="an S3 endpoint other than AWS's (default: AWS_ENDPOINT_URL)")
    where.add_argument("--region", help="the pipeline's region (default: the profile's)")
    where.add_argument("--folders", metavar="I,C,R,L",
                       help="the pipeline's folder names, if it renames them (default inputs,configs,results,logs)")
    where.add_argument("--local", type=Path, metavar="PIPELINE_DIR",
                       help="use a lab user of the local cloud running for this pipeline folder")
    where.add_argument("--local-state", type=Path, metavar="DIR", help="that local cloud's state folder, if not the "
                                                                       "pipeline folder's .ncap/local")
    where.add_argument("--user", help="with --local: which lab user (default: the first of --lab)")
    return where


def run(args: argparse.Namespace) -> int:
    from .access import Options, connect

    if args.action in PEOPLE:
        return PEOPLE_HANDLERS[args.action](args)
    options = Options(pipeline=args.pipeline, lab=args.lab, profile=args.profile, endpoint_url=args.endpoint_url,
                      region=args.region, folders=args.folders, local=args.local, local_state=args.local_state,
                      user=args.user)
    lab = connect(options)
    return HANDLERS[args.action](lab, args)


def _print(data, as_json: bool, text: str) -> None:
    print(json.dumps(data, indent=1, sort_keys=True, default=str) if as_json else text)


def _upload(lab, args) -> int:
    from .upload import upload

    folder = lab.folders.inputs if args.kind == "inputs" else lab.folders.configs
    for path in args.files:
        if not path.is_file():
            raise NcapError(f"{path}: file not found")
    for path in args.files:
        done = upload(lab, path, f"{lab.lab}/{folder}/{path.name}", quiet=args.json)
        resumed = f" (resumed: {done.resumed_parts} parts were there)" if done.resumed_parts else ""
        _print({"key": done.key, "version": done.version, "bytes": done.size, "resumed_parts": done.resumed_parts},
               args.json, f"{done.key}  version {done.version or '-'}  {done.size} bytes{resumed}")
    return 0


def _submit(lab, args) -> int:
    from . import jobs

    job_id, key = jobs.submit(lab, args.data, args.config, args.job_id)
    if not args.wait:
        _print({"job_id": job_id, "submit_key": key}, args.json, job_id)
        return 0
    document = jobs.wait_until_ended(lab, job_id, args.timeout) if _appeared(lab, job_id) else {}
    _print({"job_id": job_id, **document}, args.json, f"{job_id} {document.get('status')}")
    return 0 if document.get("status") == "SUCCESS" else 1


def _appeared(lab, job_id: str, seconds: float = 60.0) -> bool:
    import time

    from . import jobs

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            jobs.status(lab, job_id)
            return True
        except NcapError:
            time.sleep(0.5)
    raise NcapError(f"job {job_id}: no status after {seconds:.0f} s; is the pipeline's submit function running?")


def _jobs(lab, args) -> int:
    from . import jobs

    rows = [jobs.summary(document) for document in jobs.jobs(lab)]
    if args.json:
        _print(rows, True, "")
        return 0
    if not rows:
        print(f"no jobs yet in lab {lab.lab}")
        return 0
    print(f"{'job':28} {'status':9} {'stage':12} {'datasets':8} {'started':20} {'finished':20} reason")
    for row in rows:
        reason = (row["reason"] or "").splitlines()[0][:60] if row["reason"] else ""
        print(f"{row['job_id']:28} {row['status'] or '?':9} {row['stage'] or '-':12} {row['datasets']:<8} "
              f"{row['started'] or '-':20} {row['finished'] or '-':20} {reason}".rstrip())
    return 0


def _status(lab, args) -> int:
    from ..lambda_repo.ncap_lambda import contract
    from . import jobs

    def show(document: dict) -> None:
        row = jobs.summary({"job_id": args.job_id, **document})
        text = f"{args.job_id} {row['status']}" + (f" ({row['stage']})" if row["stage"] else "") + \
            (f": {row['reason']}" if row["reason"] else "")
        _print({"job_id": args.job_id, **document}, args.json, "\n".join([text, *jobs.capacity_lines(document)]))

    if not args.watch:
        show(jobs.status(lab, args.job_id))
        return 0
    last = None
    while True:
        document = jobs.status(lab, args.job_id)
        if document.get("updated") != last:
            last = document.get("updated")
            show(document)
        if contract.has_ended(document):
            return 0
        import time

        time.sleep(2.0)


def _logs(lab, args) -> int:
    from . import jobs

    def out(text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

    jobs.follow_logs(lab, args.job_id, out, args.follow)
    return 0


def _cancel(lab, args) -> int:
    from . import jobs

    state, key = jobs.cancel(lab, args.job_id)
    if key is None:
        raise NcapError(f"job {args.job_id} has ended ({state}): nothing to cancel, nothing changed")
    if args.no_wait:
        _print({"job_id": args.job_id, "request": key}, args.json, f"cancel of {args.job_id} asked ({key})")
        return 0
    document = jobs.wait_until_ended(lab, args.job_id, args.timeout)
    final = document.get("status")
    _print({"job_id": args.job_id, **document}, args.json, f"{args.job_id} {final}")
    return 0 if final == "CANCELLED" else 1


def _results(lab, args) -> int:
    from . import jobs

    out = args.out or Path(args.job_id)
    found = jobs.results(lab, args.job_id, out, (lambda line: None) if args.json else print)
    if args.json:
        _print([asdict(item) for item in found], True, "")
    else:
        print(f"{len(found)} file{'' if len(found) == 1 else 's'} of job {args.job_id} in {out}")
    return 0


def _month(text: str) -> str:
    from ..lambda_repo.ncap_lambda.ledger import MONTH

    if not MONTH.match(text):
        raise argparse.ArgumentTypeError(f"a month is YYYY-MM, got {text!r}")
    return text


def _spend(lab, args) -> int:
    from ..lambda_repo.ncap_lambda.ledger import current_month
    from . import jobs

    found = jobs.spend(lab, args.month or current_month())
    if args.json:
        print(json.dumps(found, sort_keys=True))
        return 0
    budget = found.get("budget_usd", "not known")
    limit = "no budget" if budget is None else budget if isinstance(budget, str) else f"${budget:.2f}"
    print(f"{found['lab']} in {found['month']} (UTC): spent ${found['spent_usd']:.2f} on {found['jobs']} job(s); "
          f"budget {limit}" + (f"; left ${found['left_usd']:.2f}" if found.get("left_usd") is not None else ""))
    return 0


HANDLERS = {"upload": _upload, "submit": _submit, "jobs": _jobs, "status": _status, "logs": _logs,
            "cancel": _cancel, "results": _results, "spend": _spend}


# --- the directory ---------------------------------------------------------------------------

def _secret(variable: str, prompt: str, twice: bool = False) -> str:
    import getpass

    value = os.environ.get(variable)
    if value:
        return value
    if not sys.stdin.isatty():
        raise NcapError(f"give the password in {variable} (no terminal to ask on)")
    value = getpass.getpass(prompt)
    if twice and getpass.getpass("again: ") != value:
        raise NcapError("the two passwords differ")
    return value


def _signup(args) -> int:
    from . import login

    found = login.signup(login.read_settings(args.settings), args.email,
                         _secret("NCAP_PASSWORD", "choose a password: ", twice=True))
    _print(found, args.json, f"signed up {args.email}: a code was sent to {found['code_sent_to'] or 'your email'}; "
                             f"ncap lab verify --settings {args.settings} --email {args.email} --code CODE")
    return 0


def _verify(args) -> int:
    from . import login

    login.verify(login.read_settings(args.settings), args.email, args.code)
    print(f"verified {args.email}: ncap lab login --settings {args.settings} --email {args.email}")
    return 0


def _login(args) -> int:
    from . import login

    found = login.login(login.read_settings(args.settings), args.email, _secret("NCAP_PASSWORD", "password: "),
                        new_password=lambda: _secret("NCAP_NEW_PASSWORD", "choose a new password: ", twice=True),
                        mfa_code=lambda: _secret("NCAP_MFA_CODE", "authenticator code: "))
    _print({"email": found.email, "directory": found.settings["directory"]}, args.json,
           f"logged in to {found.settings['directory']} as {found.email} (ncap lab labs lists your labs)")
    return 0


def _logout(args) -> int:
    from . import login

    email = login.logout()
    print(f"logged out {email}" if email else "not logged in")
    return 0


def _labs(args) -> int:
    from . import login

    found = login.current()
    answer = login.call(found, "labs")
    if args.json:
        _print(answer, True, "")
        return 0
    print(f"{answer.get('email')} in directory {found.settings['directory']}")
    for entry in answer.get("labs", []):
        pipelines = ", ".join(entry.get("pipelines") or []) or "-"
        print(f"  {entry['lab']:24} {'/'.join(entry['roles']):24} pipelines: {pipelines}")
    if not answer.get("labs"):
        print("  no labs yet")
    if answer.get("others"):
        print(f"other labs (ncap lab join LAB): {', '.join(answer['others'])}")
    return 0


def _join(args) -> int:
    from . import login

    answer = login.call(login.current(), "join", lab=args.lab_name)
    _print(answer, args.json, f"{answer['lab']}: {'you are a member' if answer['state'] == 'member' else 'asked; '}"
                              f"{'' if answer['state'] == 'member' else 'an admin of the lab approves it'}")
    return 0


def _admin(args) -> int:
    from . import login

    answer = login.call(login.current(), args.action, lab=args.lab, email=args.email)
    _print(answer, args.json, f"{answer['email']} {answer['state']} ({answer['lab']})")
    return 0


def _members(args) -> int:
    from . import login

    answer = login.call(login.current(), "members", lab=args.lab)
    if args.json:
        _print(answer, True, "")
        return 0
    print(f"{'email':40} {'roles':24} status")
    for member in answer.get("members", []):
        print(f"{member['email']:40} {'/'.join(member['roles']):24} {member['status']}")
    return 0


PEOPLE_HANDLERS = {"signup": _signup, "verify": _verify, "login": _login, "logout": _logout, "labs": _labs,
                   "join": _join, "invite": _admin, "approve": _admin, "refuse": _admin, "remove": _admin,
                   "members": _members}

"""`ncap local up` / `down`: a whole pipeline on this machine. moto on localhost, the stack created
from the same template, the real handlers, and N worker agents per stage; IAM enforced for every
request."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import names
from ..aws.clients import Aws
from ..aws.errors import aws_errors
from ..aws.lab_keys import read_keys
from ..config import load
from ..emulator.context import FUNCTION_TYPES
from ..emulator.function_host import own_processes
from ..emulator.functions import function_spec, load_for_process
from ..emulator.intrinsics import resolve
from ..errors import NcapError
from . import server, state
from .directory import LocalDirectory, invite_listed
from .directory import bring_up as bring_up_directory
from .fleet import Fleet
from .identities import Identities
from .metadata import MetadataService
from .portal import Portal, start_portal
from .router import Dispatcher, Router, notification_rules, route_notifications
from .stack import LocalStack, deploy
from .workers import GRACE_SECONDS, POLL_SECONDS, stage_workers, start_fleets

ADMIN_USER = "ncap-local-admin"
BOOT_CREDENTIALS = ("testing", "testing")  # accepted by moto until IAM is switched on
SHOWN_USERS = 8  # the users named at start-up (local.json has them all)


@dataclass
class Running:
    server: server.MotoServer
    router: Router | None = None
    fleets: list[Fleet] = field(default_factory=list)  # one per stage
    metadata: MetadataService | None = None  # the instances' metadata service
    directory: LocalDirectory | None = None  # the directory a pipeline with Access signs its people in to
    portal: Portal | None = None  # the lab portal, with the directory

    @property
    def workers(self) -> list:
        return [process for fleet in self.fleets for process in fleet.processes]

    def stop(self) -> None:
        if self.router:
            self.router.stopping.set()  # its pollers end while the workers finish
        for worker in self.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + GRACE_SECONDS + POLL_SECONDS + 3
        for worker in self.workers:
            try:
                worker.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
        if self.router:
            self.router.stop()
        if self.metadata:
            self.metadata.stop()
        if self.portal:
            self.portal.stop()
        if self.directory:
            self.directory.stop()
        self.server.stop()


def up(pipeline_dir: Path, workers: int, port: int | None, given_state: str | None, say,
       start_instances: int | None = None, workers_per_stage: dict[str, int] | None = None) -> int:
    """`workers`: the most worker processes at once per stage (one per instance of its group),
    `workers_per_stage` a stage's own number; `start_instances`: each group's desired capacity at
    start (default its workers; 0: from zero)."""
    config = load(pipeline_dir / "stack_config.json")
    counts = stage_workers(config, workers, workers_per_stage or {})
    folder = state.state_dir(pipeline_dir, given_state)
    _refuse_if_running(folder)
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _raise_interrupt)  # `down` during start-up still cleans up
    running = Running(server.start(port, folder / "moto.log"))
    state.write_private(folder / "pids.json", {"up": os.getpid(), "moto": running.server.process.pid, "workers": []})
    try:
        say(f"AWS emulator (moto) on {running.server.endpoint}")
        info = _bring_up(config, folder, counts, running, say, start_instances)
        say(f"ready in {time.monotonic() - started:.1f} s")
        _print_summary(info, say)
        return _stay_up(running, folder, say)
    finally:
        running.stop()
        for name in ("local.json", "pids.json"):
            (folder / name).unlink(missing_ok=True)


def _raise_interrupt(*_) -> None:
    raise KeyboardInterrupt


def _refuse_if_running(folder: Path) -> None:
    pids = folder / "pids.json"
    if pids.exists() and state.alive(json.loads(pids.read_text()).get("up", -1)):
        raise NcapError(f"a local cloud already runs from {folder}; stop it with `ncap local down`")


def _bring_up(config, folder: Path, counts: dict, running: Running, say,
              start_instances: int | None) -> dict:
    endpoint = running.server.endpoint
    admin = _admin(Aws(config.region, endpoint, BOOT_CREDENTIALS))
    os.environ.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID=admin[0], AWS_SECRET_ACCESS_KEY=admin[1],
                      AWS_DEFAULT_REGION=config.region, AWS_REGION=config.region)
    aws = Aws(config.region, endpoint, admin)
    identities = Identities.on(aws)
    server.post(endpoint, "/moto-api/reset-auth", b"0")
    say("IAM enforced on the emulator: every request is checked against its caller's policies")
    if config.directory:
        running.directory = bring_up_directory(config.directory, _pipeline_dir(config), folder, aws,
                                               identities.as_function, say)
        running.portal = start_portal(running.directory, aws)
    stack = deploy(config, folder, aws, say, identities.as_function)
    if running.directory:
        invite_listed(config, running.directory, aws, say)
    environments = _function_environments(stack)
    running.router = _start_router(config, stack, aws, environments, identities, _reporter(folder, say))
    info = _local_json(config, stack, aws, admin, environments)
    if running.directory:
        info["directory"] = running.directory.settings
        info["directory_file"] = str(folder / "directory.json")
    if running.portal:
        info["portal_url"] = running.portal.url
    running.metadata = MetadataService(config.region, stack.context.account)
    running.fleets.extend(start_fleets(config, stack, aws, folder, identities, running.metadata, counts,
                                       start_instances, say))
    _write_pids(folder, running)
    state.write_private(folder / "local.json", info)
    return info


def _pipeline_dir(config) -> Path:
    return Path(config.source).resolve().parent if config.source else Path(".").resolve()


def _write_pids(folder: Path, running: Running) -> None:
    functions = running.router.handler.pids() if running.router and isinstance(running.router.handler, Dispatcher) \
        else []
    functions += running.directory.pids if running.directory else []
    state.write_private(folder / "pids.json", {"up": os.getpid(), "moto": running.server.process.pid,
                                                "workers": [w.pid for w in running.workers], "functions": functions})


def _admin(aws: Aws) -> tuple[str, str]:
    """An administrator of the emulator (not part of the template) for the local runtime."""
    aws.iam.create_user(UserName=ADMIN_USER)
    aws.iam.put_user_policy(UserName=ADMIN_USER, PolicyName="emulator-admin", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    key = aws.iam.create_access_key(UserName=ADMIN_USER)["AccessKey"]
    return key["AccessKeyId"], key["SecretAccessKey"]


def _reporter(folder: Path, say):
    """The submit function's decisions: in `up`'s output, and kept in submit.log."""
    log, lock = folder / "submit.log", threading.Lock()

    def report(line: str) -> None:
        with lock:
            with log.open("a", encoding="utf-8") as handle:
                handle.write(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {line}\n")
            say(line)

    return report


def _start_router(config, stack: LocalStack, aws: Aws, environments: dict, identities: Identities,
                  report) -> Router:
    """The bucket's functions behind its notifications, each on its own role's credentials: the
    submit function in this process, any other (post-processing) in a process of its own."""
    bucket = stack.template["Resources"][names.BUCKET]["Properties"]
    lambdas = bucket.get("NotificationConfiguration", {}).get("LambdaConfigurations", [])
    dead_letter = stack.context.get_att(names.TRIGGER_DEAD_LETTER_QUEUE, "Arn")
    url = route_notifications(aws, config.pipeline_name, lambdas, dead_letter)
    spec = function_spec(stack.template_path, names.SUBMIT_FUNCTION, environments)
    rules = notification_rules(lambdas)
    handlers = {names.SUBMIT_FUNCTION: load_for_process(spec, config.region, identities.as_function(spec.name)),
                **own_processes(stack.template_path, sorted({r.function_id for r in rules} - {names.SUBMIT_FUNCTION}),
                                environments, config.region, identities.as_function)}
    router = Router(aws.sqs, url, Dispatcher(rules, handlers), report)
    router.start()
    return router


def _local_json(config, stack: LocalStack, aws: Aws, admin, environments: dict) -> dict:
    info = {"endpoint_url": aws.endpoint, "region": config.region, "stack_name": config.pipeline_name,
            "bucket": stack.outputs[names.BUCKET_OUTPUT], "queue_url": stack.outputs[names.QUEUE_OUTPUT],
            "dlq_url": stack.outputs[names.DEAD_LETTER_OUTPUT], "topic_arn": stack.outputs[names.TOPIC_OUTPUT],
            "admin": {"access_key_id": admin[0], "secret_access_key": admin[1]},
            "users": _users(config, aws), "functions": environments}
    if config.stages:
        fields = (("queue_url", names.QUEUE_OUTPUT), ("dlq_url", names.DEAD_LETTER_OUTPUT),
                  ("group", names.WORKER_GROUP_OUTPUT))
        info["stages"] = [{"name": stage.name, **{field: stack.outputs[names.in_stage(output, stage.name)]
                                                  for field, output in fields}} for stage in config.stages]
    return info


def _function_environments(stack: LocalStack) -> dict:
    """Each function's environment with Ref/GetAtt resolved to this cloud's names, in the format
    of `--env-vars` (what the router's submit handler and `ncap invoke` run with)."""
    sam = json.loads(stack.template_path.read_text())
    environments = {}
    for logical_id, resource in sorted(sam["Resources"].items()):
        if resource.get("Type") in FUNCTION_TYPES:
            variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
            try:
                environments[logical_id] = resolve(variables, stack.context)
            except NcapError:  # a value the local cloud cannot compute: `ncap invoke` asks for it
                continue
    return environments


def _users(config, aws: Aws) -> dict:
    """Each created lab user's keys, read from the Secrets Manager secret the stack made (none for a
    pipeline whose people sign in to a directory)."""
    if config.uses_directory:
        return {}
    return {user: {"affiliate": config.labs_of(user)[0], "labs": list(config.labs_of(user)),
                   "access_key_id": key["AccessKeyId"], "secret_access_key": key["SecretAccessKey"]}
            for user, key in read_keys(aws, config.pipeline_name, list(config.created_users)).items()}


def _print_summary(info: dict, say) -> None:
    say(f"endpoint  {info['endpoint_url']}")
    say(f"bucket    {info['bucket']}")
    say(f"queue     {info['queue_url']}")
    if info.get("portal_url"):
        say(f"portal    {info['portal_url']} (the lab portal: sign up, upload, submit, follow jobs)")
    if info.get("directory"):
        say(f"people    sign in to directory {info['directory']['directory']} (ncap lab signup/login --settings "
            f"{info['directory_file']}); emails it sends: ncap local mail")
    else:
        users = [f"{user} ({', '.join(entry['labs'])})" for user, entry in sorted(info["users"].items())]
        more = f", and {len(users) - SHOWN_USERS} more" if len(users) > SHOWN_USERS else ""
        say(f"users     {', '.join(users[:SHOWN_USERS])}{more}")
    say("credentials and addresses are in local.json (owner-only); Ctrl-C or `ncap local down` stops it")


UNRESPONSIVE_SECONDS = 120.0  # a busy emulator (a GiB upload being assembled) is not a dead one


def _stay_up(running: Running, folder: Path, say) -> int:
    quiet_since: list[float] = []  # when the emulator last stopped answering, while it does not
    try:
        while True:
            time.sleep(0.5)
            problem = _health(running, folder, quiet_since)
            if problem:
                say(problem)
                return 1
    except KeyboardInterrupt:
        say("stopping the local cloud")
        return 0


def _health(running: Running, folder: Path, quiet_since: list[float]) -> str | None:
    """Why the cloud must stop: its emulator exited, or has not answered for UNRESPONSIVE_SECONDS."""
    if running.server.process.poll() is not None:
        return f"the AWS emulator exited (see {folder / 'moto.log'}); shutting down"
    if not server.responding(running.server.endpoint):
        quiet_since[:] = quiet_since or [time.monotonic()]
        if time.monotonic() - quiet_since[0] < UNRESPONSIVE_SECONDS:
            return None
        return (f"the AWS emulator has not answered for {UNRESPONSIVE_SECONDS:.0f} s (see {folder / 'moto.log'}); "
                "shutting down")
    quiet_since.clear()
    before = running.workers
    try:
        problem = next(filter(None, (fleet.sync() for fleet in running.fleets)), None)
    except aws_errors():  # a slow answer from the emulator: look again at the next turn
        return None
    if running.workers != before:
        _write_pids(folder, running)
    return problem


def down(pipeline_dir: Path | None, given_state: str | None, say, timeout: float = 30.0) -> int:
    folder = _down_folder(pipeline_dir, given_state)
    pids = state.read(folder / "pids.json", str(pipeline_dir or ""))
    up_pid = pids.get("up")
    if up_pid and state.alive(up_pid):
        os.kill(up_pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while state.alive(up_pid) and time.monotonic() < deadline:
            time.sleep(0.2)
    leftovers = [p for p in [pids.get("moto"), *pids.get("workers", []), *pids.get("functions", []), up_pid]
                 if p and state.alive(p)]
    for pid in leftovers:
        os.kill(pid, signal.SIGKILL)
    (folder / "pids.json").unlink(missing_ok=True)
    (folder / "local.json").unlink(missing_ok=True)
    say(f"stopped the local cloud of {folder}" + (f" (killed {len(leftovers)} stuck processes)" if leftovers else ""))
    return 0


def _down_folder(pipeline_dir: Path | None, given_state: str | None) -> Path:
    if given_state:
        return Path(given_state)
    folder = state.state_dir(pipeline_dir or Path("."), None)
    if pipeline_dir is None and not (folder / "pids.json").exists():
        raise NcapError("name the pipeline: ncap local down PIPELINE_DIR (no local cloud runs from this folder)")
    return folder

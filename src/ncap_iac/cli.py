"""The `ncap` command: parse arguments, call the library, print. Errors a user can fix are printed
as clean lines with exit code 1; --debug shows the traceback instead."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from . import __version__
from .errors import ConfigError, NcapError

# Modules that add subcommands: each has register(commands, common) -> {command: handler(args)}
# and keeps its top level light (import heavy libraries inside the handlers). They are imported only
# when the command line may name one of their commands (or asks for the list of all commands).
# A parser that sets the default `dispatch` is handled by the handler of that key, which another
# module may register: `ncap cost report` is declared by the cost commands and run by deploy/,
# the layer that reads deployed stacks.
EXTENSIONS: tuple[str, ...] = ("ncap_iac.local.commands", "ncap_iac.worker.commands", "ncap_iac.deploy.commands",
                               "ncap_iac.cost.commands", "ncap_iac.lab.commands")
# The commands of this module, and the options `ncap` takes before a command's name.
CORE_COMMANDS = ("init", "validate", "compile", "lint", "invoke", "simevent")
GLOBAL_FLAGS = ("--debug", "-q", "--quiet")


def _common() -> argparse.ArgumentParser:
    """Options every subcommand also takes after its name."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks for errors")
    common.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="do not print the config's warnings and notes")
    return common


def _parser(argv: list[str] | None = None) -> tuple[argparse.ArgumentParser, dict]:
    """The parser and the extensions' handlers; given the command line, only what it can need."""
    parser = argparse.ArgumentParser(
        prog="ncap", description="Lab analysis pipelines on AWS, written as code: validate a "
        "stack_config.json, compile it to an AWS SAM template and lint it (no AWS credentials "
        "needed), test its functions and run it whole on a local AWS emulator, and ship it.")
    common = _common()
    parser.add_argument("--version", action="version", version=f"ncap {__version__}",
                        help="print the installed version of ncap-iac and exit")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print the config's warnings and notes")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    init = commands.add_parser(
        "init", parents=[common], help="make a new pipeline folder that runs its sample as it is",
        description="Writes a new pipeline folder: a commented stack_config.json (and its schema beside it, for "
                    "editors), analysis/run.py, sample/ (a data file and config.json), image/setup.sh for the "
                    "workers' image, and a .gitignore that keeps credentials, local state and results out of the "
                    "repository. It validates, compiles and lints as written, and its sample runs on the local "
                    "cloud (ncap local up PATH; ncap local submit PATH --user my-lab-user --data "
                    "PATH/sample/notes.txt --config PATH/sample/config.json --wait).")
    init.add_argument("path", help="the new folder (missing, or empty)")
    init.add_argument("--name", help="the PipelineName (default: the folder's name, made lowercase with hyphens)")
    validate = commands.add_parser(
        "validate", parents=[common], help="check a stack_config.json, reporting every problem",
        description="Checks the config against the schema and the named checks, and that the "
                    "template it makes stays within CloudFormation's limits. Writes nothing.")
    validate.add_argument("config", help="path to stack_config.json")
    compile_ = commands.add_parser(
        "compile", parents=[common], help="compile a stack_config.json to compiled_template.json and samconfig.toml",
        description="Writes compiled_template.json beside the config (or to -o) and a samconfig.toml "
                    "next to it, so `sam build && sam deploy --guided` work from that folder.")
    compile_.add_argument("config", help="path to stack_config.json")
    compile_.add_argument("-o", "--output", help="template file or folder to write to")
    lint = commands.add_parser("lint", parents=[common],
                               help="run cfn-lint on a config (compiled in memory) or a template")
    lint.add_argument("path", help="a stack_config.json or a compiled template (JSON)")
    lint.add_argument("--region", help="region to lint for (default: the config's REGION, else us-east-1)")
    _invoke_parser(commands, common)
    _simevent_parser(commands, common)
    if argv is not None and _names_core_command(argv):
        return parser, {}
    return parser, _extension_handlers(commands, common)


def _names_core_command(argv: list[str]) -> bool:
    """True when the command is certainly one of this module's, so no extension need be imported:
    its first word, after global flags written out in full, is a core command."""
    words = iter(argv)
    word = next(words, None)
    while word in GLOBAL_FLAGS:
        word = next(words, None)
    return word in CORE_COMMANDS


def _extension_handlers(commands, common) -> dict:
    import importlib

    handlers = {}
    for name in EXTENSIONS:
        handlers.update(importlib.import_module(name).register(commands, common))
    return handlers


def _simevent_parser(commands, common) -> None:
    simevent = commands.add_parser(
        "simevent", parents=[common], help="print a simulated event for `ncap invoke` or `sam local invoke`",
        description="Prints a realistic event as JSON on stdout. Redirect it to a file and pass it "
                    "to `ncap invoke ... --event FILE` or `sam local invoke ... -e FILE`.")
    kinds = simevent.add_subparsers(dest="kind", required=True, metavar="KIND")
    s3 = kinds.add_parser("s3-put", parents=[common], help="S3 ObjectCreated:Put notification of one upload")
    s3.add_argument("--bucket", required=True)
    s3.add_argument("--key", required=True, help="the object key as uploaded (it is URL-encoded as S3 does)")
    s3.add_argument("--size", type=int, default=256, help="object size in bytes (default 256)")
    s3.add_argument("--region", default="us-east-1")
    cfn = kinds.add_parser("cfn", parents=[common], help="CloudFormation custom-resource request")
    cfn.add_argument("--request", required=True, choices=["Create", "Update", "Delete"])
    cfn.add_argument("--type", default="Custom::AffiliateFolders",
                     help="resource type (default Custom::AffiliateFolders)")
    cfn.add_argument("--properties", default="{}", help="ResourceProperties as JSON, or @FILE")
    cfn.add_argument("--old-properties", help="OldResourceProperties for Update, as JSON or @FILE")
    cfn.add_argument("--logical-id")
    cfn.add_argument("--physical-id")
    cfn.add_argument("--response-url", help="where the handler PUTs its answer (default: a placeholder)")
    ec2 = kinds.add_parser("ec2-state", parents=[common], help="EC2 instance state-change notification")
    ec2.add_argument("--instance-id", required=True)
    ec2.add_argument("--state", required=True, help="pending, running, stopping, stopped, shutting-down or terminated")
    ec2.add_argument("--region", default="us-east-1")


def _invoke_parser(commands, common) -> None:
    invoke = commands.add_parser(
        "invoke", parents=[common], help="run one function of a compiled template locally, without Docker",
        description="Runs the function's handler from its CodeUri in this Python process with the "
                    "environment the template gives it. Values computed at deploy time (Ref, GetAtt) "
                    "come from --env-vars (the format `sam local invoke --env-vars` takes) when given; "
                    "else, while the pipeline's local cloud runs (`ncap local up`), from that cloud, "
                    "and the handler's AWS calls then go to it. Otherwise AWS calls go to "
                    "AWS_ENDPOINT_URL when set, e.g. a local moto server. Prints the handler's logs "
                    "on stderr and its return value as JSON on stdout; exits 1 if it raised.")
    invoke.add_argument("logical_id", metavar="LOGICAL_ID", help="the function's logical id, e.g. SubmitFunction")
    invoke.add_argument("--template", "-t", default="compiled_template.json",
                        help="compiled template (default: ./compiled_template.json)")
    invoke.add_argument("--event", "-e", help="event JSON file, or - for standard input (default: {})")
    invoke.add_argument("--env-vars", "-n", help="JSON file of environment variables per function")
    invoke.add_argument("--local-state", metavar="DIR",
                        help="the state folder of the local cloud to use, if `ncap local up` was given "
                             "--state-dir (default: the pipeline folder's .ncap/local)")
    invoke.add_argument("--region", help="region for AWS calls (default: the local cloud's when one is used, "
                                         "else AWS_DEFAULT_REGION or us-east-1)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, extensions = _parser(argv)
    args = parser.parse_args(argv)
    handlers = {"init": _init, "validate": _validate, "compile": _compile, "lint": _lint, "invoke": _invoke,
                "simevent": _simevent, **extensions}
    try:
        return handlers[getattr(args, "dispatch", None) or args.command](args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _failed(exc, args.debug)


def _failed(exc: Exception, debug: bool) -> int:
    """A user's mistake or an AWS refusal: clean lines and exit 1 (--debug: the traceback)."""
    from .aws.errors import explain, is_aws_error

    if debug or not (isinstance(exc, NcapError) or is_aws_error(exc)):
        raise exc
    error = exc if isinstance(exc, NcapError) else explain(exc)
    for line in error.lines():
        print(line, file=sys.stderr)
    if isinstance(error, ConfigError) and len(error.issues) > 1:
        print(f"{len(error.issues)} problems found; nothing was written", file=sys.stderr)
    return 1


def check_setup_scripts(config, quiet: bool) -> None:
    """shellcheck on the image setup scripts: its errors stop the command, its warnings and notes
    are printed (without shellcheck, a note says the scripts were not read)."""
    from .lint import setup_script_findings

    found = setup_script_findings(config)
    if found is None:
        if not quiet:
            print("note: Workers.Image.Setup: shellcheck is not installed: the setup scripts were not checked "
                  "(Debian: apt-get install shellcheck)", file=sys.stderr)
        return
    errors = [f for f in found if f.level == "error"]
    for finding in found if not quiet else errors:
        print(f"{'error' if finding.level == 'error' else 'warning'}: shellcheck {finding}", file=sys.stderr)
    if errors:
        raise NcapError(f"Workers.Image.Setup: shellcheck found {len(errors)} error(s) in the setup scripts (above)")


def report(config, quiet: bool, say=None) -> None:
    """The config's warnings and notes, one line per kind (before any verdict)."""
    from .config.report import grouped

    if quiet:
        return
    say = say or (lambda line: print(line, file=sys.stderr))
    labs = tuple(a.name for a in config.affiliates)
    for line in grouped(config.warnings, labs):
        say(f"warning: {line}")
    for line in grouped(config.notes, labs):
        say(f"note: {line}")


def _init(args) -> int:
    from .scaffold import init

    folder = Path(args.path)
    for path in init(folder, args.name):
        print(f"wrote {path}")
    print(f"next: ncap validate {folder / 'stack_config.json'}; ncap sample {folder / 'sample'} --command "
          f"'python3 analysis/run.py' --command-dir {folder}; ncap local up {folder}")
    return 0


def _validate(args) -> int:
    from .compiler import compile_config, compile_directory, is_directory_file, template_path
    from .config import load
    from .config.directory import load_directory
    from .template.limits import deployed_resource_count

    if is_directory_file(args.config):
        directory = load_directory(args.config)
        template, _ = compile_directory(directory)
        print(f"{args.config}: valid: directory {directory.name} in {directory.region}, {len(directory.labs)} labs, "
              f"{deployed_resource_count(template)} resources")
        return 0
    config = load(args.config)
    report(config, args.quiet)
    check_setup_scripts(config, args.quiet)
    compiled = compile_config(config, template_path(Path(args.config), None).parent)
    print(f"{args.config}: valid: pipeline {config.pipeline_name} in {config.region}, "
          f"{len(config.affiliates)} labs, {len(config.created_users)} users to create, "
          f"{compiled.resource_count} resources" + (f" and {len(compiled.children)} nested lab stacks"
                                                     if compiled.nested else ""))
    return 0


def _compile(args) -> int:
    from .compiler import SAMCONFIG_NAME, compile_directory_file, compile_file, is_directory_file
    from .config import load
    from .template.limits import deployed_resource_count

    if is_directory_file(args.config):
        template, target = compile_directory_file(args.config, args.output)
        print(f"wrote {target} (the directory: {deployed_resource_count(template)} resources after the SAM "
              f"transform) and {target.parent / SAMCONFIG_NAME}")
        return 0
    check_setup_scripts(load(args.config), args.quiet)
    compiled, target = compile_file(args.config, args.output)
    report(compiled.config, args.quiet)
    nested = f", {len(compiled.children)} nested lab templates in {target.parent / 'labs'}" if compiled.nested else ""
    print(f"wrote {target} ({compiled.resource_count} resources after the SAM transform){nested} "
          f"and {target.parent / SAMCONFIG_NAME}")
    return 0


def _lint(args) -> int:
    from .lint import lint_template

    template, region = _template_for_lint(Path(args.path))
    findings = lint_template(template, args.region or region)
    for finding in findings:
        print(finding)
    failing = [f for f in findings if f.level in ("error", "warning")]
    print(f"{args.path}: {len(failing)} errors and warnings, {len(findings) - len(failing)} notes")
    return 1 if failing else 0


def _template_for_lint(path: Path) -> tuple[dict, str]:
    from .compiler import compile_config, compile_directory, template_path
    from .config.directory import directory_from, is_directory
    from .config.load import load_document, read_document

    document = read_document(path)
    if isinstance(document, dict) and "Resources" in document:
        return document, "us-east-1"
    if is_directory(document):
        directory = directory_from(document, path)
        return compile_directory(directory)[0], directory.region
    config = load_document(document, path.resolve().parent, source=path)
    compiled = compile_config(config, template_path(path, None).parent)
    return compiled.template, config.region


def _invoke(args) -> int:
    import logging

    from .local.invoke import InvokeOptions, run

    options = InvokeOptions(args.logical_id, Path(args.template), args.event, args.env_vars, args.local_state,
                            args.region)
    # As in Lambda: the root logger passes WARNING and up; handlers' own loggers choose INFO.
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(message)s")
    outcome = run(options, lambda line: print(line, file=sys.stderr))
    print(json.dumps(outcome.as_json(), indent=2, sort_keys=True, default=str))
    return 0 if outcome.ok else 1


def _simevent(args) -> int:
    from .local import simevents

    if args.kind == "s3-put":
        event = simevents.s3_put(args.bucket, args.key, size=args.size, region=args.region)
    elif args.kind == "ec2-state":
        event = simevents.ec2_state(args.instance_id, args.state, region=args.region)
    else:
        old = _json_argument(args.old_properties, "--old-properties") if args.old_properties else None
        event = simevents.cfn(args.request, args.type, _json_argument(args.properties, "--properties"), old,
                              logical_id=args.logical_id, physical_id=args.physical_id,
                              response_url=args.response_url)
    print(simevents.dumps(event), end="")
    return 0


def _json_argument(value: str, flag: str):
    from .local.invoke import read_json

    if value.startswith("@"):
        return read_json(value[1:], f"{flag} file")
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise NcapError(f"{flag}: not valid JSON: {exc}") from None


def run() -> int:
    """The `ncap` command: main(), then the objects left are frozen, since the process ends next and
    the collector's last walks over them at shutdown cost about 25 ms of a 0.2 s compile."""
    import gc
    import os

    try:
        code = main()
    except BrokenPipeError:  # the reader went away (`ncap ... | head`): not an error of ours
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(run())

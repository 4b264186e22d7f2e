"""`ncap build | package | deploy | diff | delete | credentials | changed`: shipping pipelines; and
the handler of `ncap cost report` (declared in ncap_iac.cost.commands), which reads a deployed stack.
Only argparse here; each handler imports its module (boto3, the compiler) when it runs."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .options import AccountOptions, CredentialsOptions, DeleteOptions, ShipOptions, TargetOptions

ENDPOINT_HELP = ("send every AWS call (and the sam CLI's) to this endpoint, e.g. an emulator "
                 "http://localhost:5000 (default: $AWS_ENDPOINT_URL)")
TRANSLATE_HELP = ("translate the SAM template here (aws-sam-translator) and finish what an emulator cannot: "
                  "answer custom resources by running their handlers in this process, make the resources its "
                  "CloudFormation skips (default: on when an endpoint URL is set; off against AWS)")


def register(commands, common) -> dict:
    _build(commands, common)
    _package(commands, common)
    _deploy(commands, common)
    _diff(commands, common)
    _delete(commands, common)
    _credentials(commands, common)
    _changed(commands, common)
    _image(commands, common)
    _prices(commands, common)
    return {"build": _run_build, "package": _run_package, "deploy": _run_deploy, "diff": _run_diff,
            "delete": _run_delete, "credentials": _run_credentials, "changed": _run_changed,
            "cost report": _run_cost_report,  # its arguments: ncap_iac.cost.commands
            "image status": _run_image_status, "prices update": _run_prices_update}


def _prices(commands, common) -> None:
    found = commands.add_parser("prices", help="the offline table of on-demand prices",
                                description="The table of on-demand hourly prices budgets and cost estimates use.")
    actions = found.add_subparsers(dest="action", required=True, metavar="ACTION")
    update = actions.add_parser(
        "update", parents=[common], help="rebuild the price table from the AWS Price List API",
        description="Asks the AWS Price List API (pricing:GetProducts, with your credentials) for every instance "
                    "type's on-demand Linux price (shared tenancy) in each region, and writes the dated table "
                    "that ncap validate, compile and the cost commands read.")
    update.set_defaults(dispatch="prices update")
    update.add_argument("--regions", metavar="R,R", help="only these regions (default: every commercial region)")
    update.add_argument("--out", type=Path, metavar="FILE",
                        help="where to write the table (default: the installed package's price_table.json)")


def _image(commands, common) -> None:
    image = commands.add_parser("image", help="the workers' images of a deployed pipeline",
                                description="The images the workers of a deployed pipeline start from.")
    actions = image.add_subparsers(dest="action", required=True, metavar="ACTION")
    status = actions.add_parser(
        "status", parents=[common], help="which image each stage runs, where it comes from, when it was made",
        description="Reads the deployed stack's launch templates and EC2's record of each image: its id, when "
                    "it was made, and where it comes from (built from the pipeline folder by Workers.Image, the "
                    "default image for the instance type, or the config's AMI). Rolling back is deploying the "
                    "previous config.")
    status.set_defaults(dispatch="image status")
    _pipeline(status)
    status.add_argument("--endpoint-url", metavar="URL", help=ENDPOINT_HELP)
    status.add_argument("--json", action="store_true", help="print a JSON list, one object per stage")


def _pipeline(parser) -> None:
    parser.add_argument("pipeline_dir", type=Path, metavar="PIPELINE_DIR", help="folder holding stack_config.json")


def _target(parser, bucket: bool = True) -> None:
    parser.add_argument("--endpoint-url", metavar="URL", help=ENDPOINT_HELP)
    parser.add_argument("--translate-locally", action=argparse.BooleanOptionalAction, default=None, help=TRANSLATE_HELP)
    if bucket:
        parser.add_argument("--s3-bucket", metavar="BUCKET", help="artifact bucket for the packaged code and large "
                            "templates (default: Deploy.ArtifactBucket in stack_config.json, else the account's "
                            "ncap-artifacts-ACCOUNT-REGION, made encrypted and private on first use); on an "
                            "emulator a named bucket is created when missing")


def _account(parser) -> None:
    parser.add_argument("--skip-account-check", action="store_true",
                        help="do not check the account for users, a bucket or affiliates that conflict")
    parser.add_argument("--allow-shared-affiliates", action="store_true",
                        help="allow an affiliate that another pipeline already serves (a lab using both)")


def _build(commands, common) -> None:
    build = commands.add_parser(
        "build", parents=[common], help="compile, then `sam build` the pipeline's functions",
        description="Compiles PIPELINE_DIR/stack_config.json, then runs `sam build` from that folder "
                    "(lambda_repo/Makefile installs the requirements for the Lambda runtime's Python). "
                    "Prints the exact command and streams its output; the build lands in .aws-sam/build.")
    _pipeline(build)


def _package(commands, common) -> None:
    package = commands.add_parser(
        "package", parents=[common], help="compile, build, then `sam package` the code into the artifact bucket",
        description="Compiles, runs `sam build` (unless --skip-build) and `sam package`, which uploads each "
                    "function's code to the artifact bucket under PipelineName/ and writes "
                    ".aws-sam/packaged.json with s3:// CodeUris. Prints each command and streams its output.")
    _pipeline(package)
    _target(package)
    package.add_argument("--skip-build", action="store_true", help="package the existing .aws-sam/build")


def _deploy(commands, common) -> None:
    deploy = commands.add_parser(
        "deploy", parents=[common], help="ship the pipeline: sam build/package/deploy, or a boto3 change set",
        description="Checks the account for conflicts, then --method sam (default) runs `sam build`, "
                    "`sam package` and `sam deploy` with stack name, region, capabilities and bucket from the "
                    "config; --method changeset packages in Python, creates a change set, prints what it "
                    "adds, modifies, replaces or removes (calling out the bucket, users and queues), asks, "
                    "executes it and follows the stack's events until it settles. Without a terminal, "
                    "--yes is required.")
    _pipeline(deploy)
    deploy.add_argument("--method", choices=["sam", "changeset"], default="sam",
                        help="sam: the sam CLI (default); changeset: boto3 only, no sam needed")
    _target(deploy)
    _account(deploy)
    deploy.add_argument("--skip-build", action="store_true", help="--method sam: package the existing build")
    deploy.add_argument("--yes", "-y", action="store_true", help="deploy without asking")


def _diff(commands, common) -> None:
    diff = commands.add_parser(
        "diff", parents=[common], help="show what a deployment would change, without deploying",
        description="Packages the code, creates a change set, prints its diff (with the account check's "
                    "findings as notes) and deletes the change set again. Nothing is deployed.")
    _pipeline(diff)
    _target(diff)
    _account(diff)


def _delete(commands, common) -> None:
    delete = commands.add_parser(
        "delete", parents=[common], help="delete the pipeline's stack, saying what data is kept",
        description="Says what the deletion removes and keeps (the bucket and every lab's data are kept unless "
                    "DataRetention.RetainBucketOnDelete is false), asks, deletes the stack and follows it.")
    _pipeline(delete)
    _target(delete, bucket=False)
    delete.add_argument("--yes", "-y", action="store_true", help="delete without asking")


def _credentials(commands, common) -> None:
    credentials = commands.add_parser(
        "credentials", parents=[common], help="write lab users' access keys to a private file for handing over",
        description="Reads the users' keys from Secrets Manager (each user's key is in the secret "
                    "ncap/PIPELINE/keys/USER) and writes them, one AWS profile per user, to a file created "
                    "readable by you only. Secrets are never printed unless --stdout asks for it.")
    _pipeline(credentials)
    credentials.add_argument("--user", help="one user (default: every user the pipeline creates)")
    credentials.add_argument("--out", type=Path, metavar="FILE",
                             help="file to write (default: PIPELINE-USER.credentials, or PIPELINE.credentials)")
    credentials.add_argument("--stdout", action="store_true",
                             help="print the keys on standard output instead (refused when CI is set)")
    credentials.add_argument("--force", action="store_true", help="with --stdout: print even when CI is set")
    credentials.add_argument("--endpoint-url", metavar="URL", help=ENDPOINT_HELP)


def _changed(commands, common) -> None:
    changed = commands.add_parser(
        "changed", parents=[common], help="list the pipelines changed since a git ref (for CI)",
        description="Prints one pipeline folder per line: those with a file changed between the merge base of "
                    "REF and HEAD, or every pipeline when shared code changed (lambda_repo/, src/, "
                    "pyproject.toml). What it decided is said on standard error.")
    changed.add_argument("--base", required=True, metavar="REF", help="e.g. origin/main, or the commit before a push")
    changed.add_argument("--pipelines", default="pipelines", metavar="DIR",
                         help="folder of pipelines (default pipelines)")


def _say(line: str) -> None:
    print(line, flush=True)


def _say_err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _target_options(args) -> TargetOptions:
    """The target options a command has (build has none)."""
    return TargetOptions(getattr(args, "endpoint_url", None), getattr(args, "translate_locally", None),
                         getattr(args, "s3_bucket", None))


def _ship_options(args) -> ShipOptions:
    account = AccountOptions(getattr(args, "skip_account_check", False),
                             getattr(args, "allow_shared_affiliates", False))
    return ShipOptions(args.pipeline_dir, _target_options(args), account, getattr(args, "method", "sam"),
                       getattr(args, "skip_build", False), getattr(args, "yes", False))


def _run_build(args) -> int:
    from .shipping import build

    build(_ship_options(args), _say)
    return 0


def _run_package(args) -> int:
    from .shipping import package

    package(_ship_options(args), _say)
    return 0


def _run_deploy(args) -> int:
    from ..compiler import is_directory_file
    from .target import config_path

    path = config_path(args.pipeline_dir)
    if is_directory_file(path):
        from .directory import deploy_directory

        deploy_directory(path, _ship_options(args), _say)
        return 0
    from ..aws.clients import Aws, endpoint_from
    from ..config import load
    from .directory import invite_listed
    from .shipping import deploy

    deploy(_ship_options(args), _say)
    config = load(path)
    if config.uses_directory:
        invite_listed(config, Aws(config.region, endpoint_from(args.endpoint_url)), _say)
    return 0


def _run_diff(args) -> int:
    from .changeset import show_diff

    show_diff(_ship_options(args), _say)
    return 0


def _run_delete(args) -> int:
    from .removal import delete

    delete(DeleteOptions(args.pipeline_dir, _target_options(args), args.yes), _say)
    return 0


def _run_credentials(args) -> int:
    from .credentials import hand_over

    options = CredentialsOptions(args.pipeline_dir, args.user, args.out, args.stdout, args.endpoint_url, args.force)
    hand_over(options, _say_err if args.stdout else _say, sys.stdout)
    return 0


def _run_cost_report(args) -> int:
    from .spend import lines, spend

    report = spend(args.pipeline_dir, args.month, args.endpoint_url, _say_err, args.local_state)
    if args.json:
        import json

        print(json.dumps(report.as_json(), sort_keys=True))
    else:
        for line in lines(report):
            print(line)
    return 0


def _run_prices_update(args) -> int:
    from .prices import commercial_regions, default_out, pricing_client, update

    regions = [r for r in (args.regions or "").split(",") if r] or commercial_regions()
    update(pricing_client(), regions, args.out or default_out(), _say)
    return 0


def _run_image_status(args) -> int:
    import json

    from .images import as_json, image_status, table

    found = image_status(args.pipeline_dir, args.endpoint_url)
    for line in [json.dumps(as_json(found), indent=1)] if args.json else table(found):
        print(line)
    return 0


def _run_changed(args) -> int:
    import os

    from .changed import changes_since

    changes = changes_since(args.base, args.pipelines, Path.cwd())
    for folder in changes.pipelines:
        print(os.path.relpath(changes.root / folder))
    why = f"shared code changed ({', '.join(changes.shared[:3])}{', ...' if len(changes.shared) > 3 else ''})" \
        if changes.shared else "their folders changed"
    _say_err(f"{len(changes.pipelines)} pipeline(s) to ship since {args.base}: {why}" if changes.pipelines
             else f"no pipeline changed since {args.base}")
    for folder in changes.removed:
        _say_err(f"removed: {folder} (its stack is not deleted automatically: `ncap delete` it first)")
    return 0

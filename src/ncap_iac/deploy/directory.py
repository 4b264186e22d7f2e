"""`ncap deploy` of a directory's folder: its template compiled, its code packaged, a change set
made, shown, asked for and executed (with boto3, whatever --method says), then the sign-in
settings written beside the config as `directory.json` (what lab members give `ncap lab signup`
and `login`, and what a portal serves). And, for a pipeline that uses a directory, what a deploy
needs of it: the directory there first, and each lab's UserNames invited to the lab.

A directory is not deployed to an emulator: there the local cloud runs it with the pipeline that
uses it (`ncap local up`), the directory function's URL served on localhost."""
from __future__ import annotations

import json
from pathlib import Path

from ..aws import artifacts
from ..aws.clients import Aws, endpoint_from
from ..aws.directory import find_pool, invite
from ..aws.stacks import describe_stack, outputs
from ..compiler import compile_directory_file
from ..config.directory import load_directory
from ..config.model import StackConfig
from ..errors import NcapError
from ..names import CLIENT_OUTPUT, DIRECTORY_URL_OUTPUT, USER_POOL_OUTPUT
from ..template.directory import DIRECTORY_TAG
from . import buckets, cfn, diff, events
from .changeset import REAL_POLL, Deployed, print_outputs
from .options import ShipOptions
from .prompt import confirm, require_answerable

SETTINGS_NAME = "directory.json"


def deploy_directory(config_path: Path, options: ShipOptions, say) -> Deployed:
    require_answerable(options.yes, "ncap deploy")
    if endpoint_from(options.target.endpoint_url):
        raise NcapError("a directory is not deployed to an emulator: `ncap local up` of a pipeline that uses it "
                        "runs it there")
    config = load_directory(config_path)
    template, template_path = compile_directory_file(config_path)
    say(f"compiled {template_path} (the directory {config.name})")
    if options.method != "changeset":
        say("a directory ships with a change set (boto3): --method has no other way for it")
    aws = Aws(config.region, None)
    bucket = buckets.artifact_bucket(aws, options.target.s3_bucket, False, say)
    packaged = artifacts.package_functions(template, template_path.parent, config.name, aws, bucket, say)
    kind = cfn.change_set_kind(describe_stack(aws.cloudformation, config.name), config.name)
    source = artifacts.template_source(aws, json.dumps(packaged), bucket, config.name, say)
    change_set = cfn.create_change_set(aws.cloudformation, config.name, source, kind,
                                       f"ncap deploy of directory {config.name}", {DIRECTORY_TAG: config.name}, {})
    described = cfn.wait_change_set(aws.cloudformation, change_set, REAL_POLL) if change_set else None
    if change_set is None or described is None:
        if change_set:
            cfn.delete_change_set(aws.cloudformation, change_set)
        say(f"no changes: stack {config.name} already runs this template")
        stack = describe_stack(aws.cloudformation, config.name) or {}
    else:
        changes = cfn.all_changes(aws.cloudformation, change_set, described)
        for line in diff.render(changes, config.name, kind, change_set.name):
            say(line)
        if not confirm(f"Deploy these {len(changes)} changes to stack {config.name}?", options.yes):
            cfn.delete_change_set(aws.cloudformation, change_set)
            raise NcapError(f"cancelled: change set {change_set.name} deleted, nothing was deployed")
        seen = events.seen_event_ids(aws.cloudformation, change_set.stack_id)
        refused = cfn.execute_change_set(aws.cloudformation, change_set)
        if refused:
            raise NcapError(refused)
        settled = events.follow(aws.cloudformation, change_set.stack_id, seen, len(changes), REAL_POLL, say)
        events.check(settled, f"deploy of directory {config.name}", say)
        stack = settled.stack
    print_outputs(stack, say)
    path = write_settings(template_path.parent, config.name, config.region, outputs(stack))
    say(f"sign-in settings for lab members: {path} (ncap lab signup/login --settings {path})")
    return Deployed(config.name, stack.get("StackStatus", ""), None, outputs(stack))


def settings_of(directory: str, region: str, stack_outputs: dict) -> dict:
    """The sign-in settings from the directory stack's outputs (nothing secret: ids and a URL)."""
    missing = [k for k in (USER_POOL_OUTPUT, CLIENT_OUTPUT, DIRECTORY_URL_OUTPUT) if not stack_outputs.get(k)]
    if missing:
        raise NcapError(f"the directory's stack has no output {', '.join(missing)}: is it deployed?")
    return {"directory": directory, "region": region, "user_pool_id": stack_outputs[USER_POOL_OUTPUT],
            "client_id": stack_outputs[CLIENT_OUTPUT], "api_url": stack_outputs[DIRECTORY_URL_OUTPUT]}


def write_settings(folder: Path, directory: str, region: str, stack_outputs: dict) -> Path:
    path = folder / SETTINGS_NAME
    path.write_text(json.dumps(settings_of(directory, region, stack_outputs), indent=1, sort_keys=True) + "\n",
                    encoding="utf-8")
    return path


def invite_listed(config: StackConfig, aws: Aws, say) -> None:
    """Each lab's UserNames of a pipeline with Access, invited to the directory's lab of that name."""
    pool = find_pool(aws, str(config.directory))
    if pool is None:
        say(f"directory {config.directory}: no user pool of that name in {config.region}; the labs' UserNames "
            "were not invited (deploy the directory, then this pipeline again)")
        return
    for affiliate in config.affiliates:
        for line in invite(aws, pool, affiliate.name, list(affiliate.user_names)):
            say(line)

"""Handing lab users their access keys: read from Secrets Manager (the stack names the secrets in
its CredentialsSecrets<Lab> outputs as "user=secretArn" pairs; a stack without outputs, such as
one an emulator made from a change set, is read by the secrets' names, SecretPrefix + user) and
written to a file only its owner can read, in the AWS shared-credentials format."""
from __future__ import annotations

import json
import os
from pathlib import Path

from ..errors import NcapError
from . import cfn as cfn_api
from .aws import aws_errors, explain

OUTPUT_PREFIX = "CredentialsSecrets"


def lab_users(pipeline) -> dict:
    """user -> (lab, secret name) for every user the template creates, from its credentials resources."""
    users_by_id = {k: r["Properties"]["UserName"] for k, r in pipeline.resources("AWS::IAM::User").items()}
    found = {}
    for resource in pipeline.resources("Custom::UserCredentials").values():
        props = resource["Properties"]
        for user in props["Users"]:
            name = users_by_id.get(user.get("Ref")) if isinstance(user, dict) else user
            found[name] = (props["Lab"], props["SecretPrefix"] + name)
    return found


def choose(users: dict, wanted: str | None, pipeline_name: str) -> list[str]:
    if wanted is None:
        if not users:
            raise NcapError(f"pipeline {pipeline_name} creates no IAM users: there are no credentials to hand over")
        return sorted(users)
    if wanted not in users:
        raise NcapError(f"{wanted}: not a user this pipeline creates (users: {', '.join(sorted(users)) or 'none'})")
    return [wanted]


def secret_ids(stack: dict, users: dict, chosen: list[str]) -> dict:
    """user -> secret id: the ARN the stack's outputs give, else the secret's name."""
    from_outputs = {}
    for key, value in cfn_api.outputs(stack).items():
        if key.startswith(OUTPUT_PREFIX):
            from_outputs.update(pair.split("=", 1) for pair in value.split(",") if "=" in pair)
    return {user: from_outputs.get(user) or users[user][1] for user in chosen}


def fetch(secrets_client, secret_id: str, user: str) -> dict:
    try:
        value = json.loads(secrets_client.get_secret_value(SecretId=secret_id)["SecretString"])
    except aws_errors() as exc:
        raise explain(exc, f"cannot read the credentials of {user} ({secret_id})") from None
    if not {"AccessKeyId", "SecretAccessKey"} <= set(value):
        raise NcapError(f"secret {secret_id} of {user} holds no access key")
    return value


def document(pipeline, users: dict, keys: dict) -> str:
    """One profile per user, with comments a lab member can act on."""
    buckets = [r["Properties"].get("BucketName") for r in pipeline.resources("AWS::S3::Bucket").values()]
    bucket = buckets[0] if buckets else pipeline.name
    lines = [f"# Credentials for pipeline {pipeline.name} ({pipeline.region}). Keep this file private.",
             "# Use: AWS_SHARED_CREDENTIALS_FILE=THIS_FILE aws --profile PROFILE "
             f"s3 cp data.csv s3://{bucket}/LAB/inputs/"]
    for user in sorted(keys):
        lab = users[user][0]
        lines += ["", f"# {user}, lab {lab}: upload to {lab}/inputs/, {lab}/configs/, {lab}/submissions/; "
                      f"results appear in {lab}/results/",
                  f"[{pipeline.name}-{user}]",
                  f"aws_access_key_id = {keys[user]['AccessKeyId']}",
                  f"aws_secret_access_key = {keys[user]['SecretAccessKey']}",
                  f"region = {pipeline.region}"]
    return "\n".join(lines) + "\n"


def default_path(pipeline, user: str | None) -> Path:
    return Path(f"{pipeline.name}-{user}.credentials" if user else f"{pipeline.name}.credentials")


def write_private(path: Path, text: str) -> None:
    """Create the file readable and writable by its owner only (0600) before any secret is in it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise NcapError(f"{path}: cannot write: {exc.strerror}") from None


def hand_over(args, say, out) -> int:
    """`ncap credentials`: the chosen users' keys into a private file (or, if asked, to `out`)."""
    from .target import load_pipeline

    pipeline = load_pipeline(args.pipeline_dir, say)
    users = lab_users(pipeline)
    chosen = choose(users, args.user, pipeline.name)
    keys = read_keys(pipeline, users, chosen, args.endpoint_url, say)
    text = document(pipeline, users, keys)
    if args.stdout:
        out.write(text)
        return 0
    path = args.out or default_path(pipeline, args.user)
    write_private(path, text)
    say(f"wrote the access keys of {', '.join(chosen)} to {path} (mode 0600: only you can read it); "
        f"hand it to the lab privately, then delete it")
    return 0


def read_keys(pipeline, users: dict, chosen: list[str], endpoint_flag: str | None, say) -> dict:
    from .aws import Aws, endpoint_from

    aws = Aws(pipeline.region, endpoint_from(endpoint_flag))
    stack = cfn_api.describe_stack(aws.cloudformation, pipeline.name)
    if stack is None:
        raise NcapError(f"there is no stack {pipeline.name} in {aws.where()}: deploy it first")
    if not any(k.startswith(OUTPUT_PREFIX) for k in cfn_api.outputs(stack)):
        say("the stack has no outputs (an emulator's change-set stacks have none): reading the secrets by name")
    ids = secret_ids(stack, users, chosen)
    return {user: fetch(aws.client("secretsmanager"), ids[user], user) for user in chosen}

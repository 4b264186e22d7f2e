"""Simulated events for the pipeline's Lambda handlers, shaped as AWS sends them, and env-vars
files in the format `sam local invoke --env-vars` (and `ncap invoke`) takes.

Pure functions: no AWS call, no clock, no randomness. Every id, time and hash is fixed or derived
from the arguments, so the same arguments always give the same event and the committed files in
`simevents/` are regenerated exactly by `write_committed` (`python -m ncap_iac.local.simevents`).

- `s3_put`: an S3 "ObjectCreated:Put" notification (what the submit function gets);
- `cfn`: a CloudFormation custom-resource request (Create, Update or Delete);
- `ec2_state`: an EventBridge "EC2 Instance State-change Notification";
- `env_vars`: the env-vars document for every function of a compiled template.
"""
from __future__ import annotations

import base64
import hashlib
import json
import sys
import uuid
from pathlib import Path
from urllib.parse import quote, quote_plus

from .. import names
from ..emulator.context import FUNCTION_TYPES, placeholder_context
from ..emulator.intrinsics import resolve as resolve_intrinsics
from ..errors import NcapError
from ..regions import partition

DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"
DEFAULT_S3_TIME = "2026-01-15T14:03:27.512Z"  # S3 gives milliseconds
DEFAULT_EC2_TIME = "2026-01-15T14:05:09Z"  # EventBridge gives seconds
DEFAULT_SIZE = 256
DEFAULT_STACK = "ncap-pipeline"
EC2_STATES = ("pending", "running", "stopping", "stopped", "shutting-down", "terminated")
CFN_REQUESTS = ("Create", "Update", "Delete")
UPLOADER = "AWS:AIDA4EXAMPLEUPLOADER"  # the IAM user's unique id (an example value)
BUCKET_OWNER = "A1EXAMPLEOWNER"
SOURCE_IP = "198.51.100.23"  # a documentation address (RFC 5737)
NAMESPACE = uuid.UUID("6f1c2a52-3d0e-4b8e-9a57-0c3e1f7b9d21")  # for the derived ids
class SimEventError(NcapError):
    """The arguments do not make a valid event."""


def _derived_uuid(*parts: object) -> str:
    return str(uuid.uuid5(NAMESPACE, "\x1f".join(str(p) for p in parts)))


def _derived_hex(length: int, *parts: object) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:length]


def _text(value: object, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise SimEventError(f"{what} must be a non-empty string, got {value!r}")
    return value


def encode_key(key: str) -> str:
    """An object key as S3 writes it into event notifications: URL-encoded as a form value
    (space -> '+', '+' -> '%2B', UTF-8 bytes -> %XX) with '/' left as is.
    `urllib.parse.unquote_plus` gives the key back."""
    return quote_plus(key, safe="/")


def _check_size(size: object) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise SimEventError(f"size must be a whole number of bytes, got {size!r}")
    return size


def _s3_entity(bucket: str, key: str, size: int, region: str, seed: tuple, version_id: str | None) -> dict:
    """The "s3" part of a record: bucket and object, the key URL-encoded."""
    version = version_id or base64.urlsafe_b64encode(bytes.fromhex(_derived_hex(48, "v", *seed))).decode()[:32]
    return {"s3SchemaVersion": "1.0",
            "configurationId": base64.b64encode(_derived_uuid("c", bucket).encode()).decode().rstrip("="),
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": BUCKET_OWNER},
                       "arn": f"arn:{partition(region)}:s3:::{bucket}"},
            "object": {"key": encode_key(key), "size": size, "eTag": _derived_hex(32, "e", *seed),
                       "versionId": version, "sequencer": _derived_hex(18, "s", *seed).upper()}}


def s3_put(bucket: str, key: str, size: int = DEFAULT_SIZE, region: str = DEFAULT_REGION, *,
           time: str = DEFAULT_S3_TIME, version_id: str | None = None) -> dict:
    """The S3 notification for `key` (the real, decoded key) uploaded with PutObject to `bucket`.

    The key is URL-encoded as S3 does (see `encode_key`). eTag, sequencer, request ids and the
    versionId (the pipeline bucket is versioned) are derived from the arguments."""
    seed = (_text(bucket, "bucket"), _text(key, "key"), _check_size(size), time)
    request_ids = {"x-amz-request-id": _derived_hex(16, "r", *seed).upper(),
                   "x-amz-id-2": base64.b64encode(bytes.fromhex(_derived_hex(64, "h", *seed))).decode()}
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": region, "eventTime": time,
        "eventName": "ObjectCreated:Put", "userIdentity": {"principalId": UPLOADER},
        "requestParameters": {"sourceIPAddress": SOURCE_IP}, "responseElements": request_ids,
        "s3": _s3_entity(bucket, key, size, region, seed, version_id)}]}


def _stack_id(stack_name: str, region: str, account: str) -> str:
    return (f"arn:{partition(region)}:cloudformation:{region}:{account}:stack/{stack_name}/"
            f"{_derived_uuid('stack', stack_name, region, account)}")


def _check_cfn(request: str, resource_type: str, properties: dict, old_properties: dict | None,
               physical_id: str | None) -> None:
    if request not in CFN_REQUESTS:
        raise SimEventError(f"request must be one of {', '.join(CFN_REQUESTS)}, got {request!r}")
    if not (isinstance(resource_type, str) and (resource_type.startswith("Custom::")
                                                or resource_type == "AWS::CloudFormation::CustomResource")):
        raise SimEventError(f"resource type must be Custom::NAME, got {resource_type!r}")
    if not isinstance(properties, dict) or not isinstance(old_properties, (dict, type(None))):
        raise SimEventError("properties must be JSON objects")
    if old_properties is not None and request != "Update":
        raise SimEventError("old properties belong to Update requests only")
    if physical_id is not None and request == "Create":
        raise SimEventError("a Create request has no physical id yet")


def _request_head(request: str, logical_id: str, stack_id: str, token: str, response_url: str | None) -> dict:
    request_id = _derived_uuid("request", stack_id, logical_id, request)
    url = response_url or (f"https://cfn-response.example.invalid/"
                           f"{quote(stack_id, safe='')}%7C{logical_id}%7C{request_id}")
    return {"RequestType": request, "ServiceToken": token, "ResponseURL": url, "StackId": stack_id,
            "RequestId": request_id, "LogicalResourceId": logical_id}


def cfn(request: str, resource_type: str, properties: dict, old_properties: dict | None = None,
        logical_id: str | None = None, physical_id: str | None = None, response_url: str | None = None,
        *, stack_name: str = DEFAULT_STACK, region: str = DEFAULT_REGION,
        account: str = DEFAULT_ACCOUNT) -> dict:
    """A CloudFormation custom-resource request, as the Lambda behind its ServiceToken gets it.

    request: "Create", "Update" or "Delete". properties: the ResourceProperties (CloudFormation
    passes scalars as strings); a ServiceToken is added when missing. old_properties: for Update,
    the properties before it (default: unchanged). logical_id: default the name after "Custom::".
    physical_id: for Update and Delete, the id the Create answered (default: a derived one).
    response_url: where the handler PUTs its answer (default: a placeholder that never resolves)."""
    _check_cfn(request, resource_type, properties, old_properties, physical_id)
    logical_id = logical_id or "".join(c for c in resource_type.split("::")[-1] if c.isalnum())
    stack_id = _stack_id(stack_name, region, account)
    token = properties.get("ServiceToken") or (
        f"arn:{partition(region)}:lambda:{region}:{account}:function:{stack_name}-{logical_id}")
    event = _request_head(request, logical_id, stack_id, token, response_url)
    if request != "Create":
        derived = f"{stack_name}-{logical_id}-{_derived_hex(12, stack_id).upper()}"
        event["PhysicalResourceId"] = physical_id or derived
    event["ResourceType"] = resource_type
    event["ResourceProperties"] = {"ServiceToken": token, **properties}
    if request == "Update":
        old = properties if old_properties is None else old_properties
        event["OldResourceProperties"] = {"ServiceToken": token, **old}
    return event


def ec2_state(instance_id: str, state: str, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT, *,
              time: str = DEFAULT_EC2_TIME) -> dict:
    """The EventBridge event EC2 sends when `instance_id` enters `state` (one of EC2_STATES)."""
    _text(instance_id, "instance id")
    if state not in EC2_STATES:
        raise SimEventError(f"state must be one of {', '.join(EC2_STATES)}, got {state!r}")
    return {"version": "0", "id": _derived_uuid("ec2", instance_id, state, region, account, time),
            "detail-type": "EC2 Instance State-change Notification", "source": "aws.ec2",
            "account": account, "time": time, "region": region,
            "resources": [f"arn:{partition(region)}:ec2:{region}:{account}:instance/{instance_id}"],
            "detail": {"instance-id": instance_id, "state": state}}


def resolve(value: object, template: dict, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT):
    """`value` with every intrinsic resolved to a plausible deployed value of `template`'s
    resources (a queue's URL, a topic's ARN, ...), as the emulator package resolves them."""
    context = placeholder_context(template, region, account, DEFAULT_STACK)
    try:
        return resolve_intrinsics(value, context)
    except NcapError as exc:
        raise SimEventError(f"no placeholder: {exc}") from None


def env_vars(template: dict, region: str = DEFAULT_REGION, account: str = DEFAULT_ACCOUNT) -> dict:
    """{function logical id: {variable: value}} for every function of a compiled template, with
    deploy-time values (Ref, GetAtt, Sub) replaced by plausible ones: the `--env-vars` format."""
    found = {}
    for logical_id, resource in sorted(template.get("Resources", {}).items()):
        if resource.get("Type") in FUNCTION_TYPES:
            variables = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
            resolved = resolve(variables, template, region, account)
            found[logical_id] = {name: str(value) for name, value in sorted(resolved.items())}
    return found


# The committed files in simevents/: the two example pipelines' events and env-vars files.
WORKER_INSTANCE = "i-0c5f3e2a9b8d71046"
COMMITTED_ENV = {"env_dlcmonitored1.json": "ncap-dlc", "env_cis_imu.json": "cis-imu"}
FOLDERS_PIPELINE = "ncap-dlc"


def committed_events() -> dict[str, dict]:
    """The S3 and EC2 events of simevents/, by file name."""
    dlc, cis = "dlcmonitored1", "cis-imu-calibration"
    return {
        "s3_put_submit.json": s3_put(dlc, "carcealab2/submissions/run1_submit.json", size=173),
        "s3_put_submit_spaces_unicode.json": s3_put(dlc, "carcealab2/submissions/Ñandú trial 2+3 submit.json",
                                                    size=181, time="2026-01-15T14:10:02.118Z"),
        "s3_put_fileset_mp4.json": s3_put(cis, "spine-clinic/inputs/patient7/walk01.mp4", size=734003200,
                                          time="2026-01-15T15:20:44.907Z"),
        "s3_put_fileset_hpf.json": s3_put(cis, "spine-clinic/inputs/patient7/walk01.hpf", size=52428800,
                                          time="2026-01-15T15:21:03.260Z"),
        "ec2_state_running.json": ec2_state(WORKER_INSTANCE, "running"),
        "ec2_state_terminated.json": ec2_state(WORKER_INSTANCE, "terminated", time="2026-01-15T16:41:37Z"),
    }


def folder_events(template: dict, stack_name: str, region: str = DEFAULT_REGION,
                  account: str = DEFAULT_ACCOUNT) -> dict[str, dict]:
    """Create, Update (the last lab joins) and Delete of a compiled template's AffiliateFolders."""
    resource = template["Resources"][names.FOLDERS]
    properties = resolve(resource["Properties"], template, region, account)
    earlier = {**properties, "Affiliates": properties["Affiliates"][:-1]}
    physical_id = f"{properties['BucketName']}-folders"  # what folders.handler answers
    def request(kind: str, old: dict | None = None, physical: str | None = None) -> dict:
        return cfn(kind, resource["Type"], properties, old, logical_id=names.FOLDERS, physical_id=physical,
                   stack_name=stack_name, region=region, account=account)

    return {"cfn_folders_create.json": request("Create"),
            "cfn_folders_update.json": request("Update", earlier, physical_id),
            "cfn_folders_delete.json": request("Delete", None, physical_id)}


def committed_files(pipelines: str | Path) -> dict[str, dict]:
    """Every JSON file of simevents/ by name, made from the example pipelines in `pipelines`."""
    from ..compiler import compile_config  # here: making one event needs no compiler
    from ..config import load

    files = committed_events()
    for name, pipeline in COMMITTED_ENV.items():
        config = load(Path(pipelines) / pipeline / "stack_config.json")
        template = compile_config(config, Path(pipelines) / pipeline).template
        files[name] = env_vars(template, config.region)
        if pipeline == FOLDERS_PIPELINE:
            files.update(folder_events(template, config.pipeline_name, config.region))
    return dict(sorted(files.items()))


def dumps(document: dict) -> str:
    """An event or env-vars document as the committed files hold it: indented JSON, newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_committed(folder: str | Path, pipelines: str | Path | None = None) -> list[Path]:
    """Write every JSON file of simevents/ into `folder`; `pipelines` defaults to the
    `pipelines/` folder beside it. Returns the paths written."""
    folder = Path(folder)
    pipelines = Path(pipelines) if pipelines is not None else folder.resolve().parent / "pipelines"
    folder.mkdir(parents=True, exist_ok=True)
    documents = committed_files(pipelines)
    for name, document in documents.items():
        (folder / name).write_text(dumps(document), encoding="utf-8")
    return [folder / name for name in documents]


if __name__ == "__main__":  # python -m ncap_iac.local.simevents [FOLDER]
    for path in write_committed(sys.argv[1] if len(sys.argv) > 1 else "simevents"):
        print(path)

"""`ncap delete`: say what goes and what stays, ask, delete the stack, follow it to the end."""
from __future__ import annotations

from .. import names
from ..aws.stacks import deployed_template, describe_stack
from ..emulator import changes as emulator
from ..errors import DeployError, NcapError
from . import cfn, events
from .changeset import EMULATOR_POLL, REAL_POLL
from .options import DeleteOptions
from .prompt import confirm, require_answerable
from .target import load_pipeline, target_for

KEPT_POLICIES = ("Retain", "RetainExceptOnCreate", "Snapshot")


def delete(options: DeleteOptions, say) -> str | None:
    """Delete the pipeline's stack after saying what goes and what stays; its final status, or
    None when there was no stack."""
    require_answerable(options.yes, "ncap delete")
    pipeline = load_pipeline(options.pipeline_dir, say)
    target = target_for(pipeline, options.target, say)
    stack = describe_stack(target.aws.cloudformation, pipeline.name)
    if stack is None:
        say(f"there is no stack {pipeline.name} in {target.aws.where()}: nothing to delete")
        return None
    template = deployed_template(target.aws.cloudformation, stack["StackId"])
    for line in what_happens(template, pipeline.config.created_users):
        say(line)
    if not confirm(f"Delete stack {pipeline.name} ({stack['StackStatus']}) in {target.aws.where()}?", options.yes):
        raise NcapError("cancelled: nothing was deleted")
    if target.emulator and template:
        done = emulator.remove_all(template, target.aws, stack["StackId"], pipeline.template_path)
        say(f"emulator: answered {len(done.answered)} custom resource Deletes and removed {done.removed} "
            f"resources its CloudFormation skips")
    return _delete_and_follow(target, stack["StackId"], len(template.get("Resources", {})),
                              f"delete of {pipeline.name}", say)


def _delete_and_follow(target, stack_id: str, expected: int, operation: str, say) -> str:
    cloudformation = target.aws.cloudformation
    seen = events.seen_event_ids(cloudformation, stack_id)
    refused = cfn.delete_stack(cloudformation, stack_id)
    if refused:
        raise DeployError(refused)
    poll = EMULATOR_POLL if target.endpoint else REAL_POLL
    settled = events.follow(cloudformation, stack_id, seen, expected, poll, say)
    events.check(settled, operation, say)
    return settled.status


def what_happens(template: dict, users: tuple[str, ...] = ()) -> list[str]:
    """What the deletion removes and what it keeps, read from the deployed template and the
    users the pipeline creates."""
    resources = template.get("Resources", {})
    lines = []
    for logical_id, resource in sorted(resources.items()):
        if resource["Type"] == "AWS::S3::Bucket":
            lines.append(_bucket_line(logical_id, resource))
    kept = sorted(k for k, r in resources.items()
                  if r.get("DeletionPolicy") in KEPT_POLICIES and r["Type"] != "AWS::S3::Bucket")
    if kept:
        lines.append(f"kept (DeletionPolicy Retain): {', '.join(kept)}")
    if users:
        lines.append(f"deleted: IAM users {', '.join(sorted(users))}, their access keys and the secrets holding them: "
                     f"the labs lose access")
    lines.append("deleted: the queues (with any waiting jobs), functions, alarms and worker group")
    return lines


def _bucket_line(logical_id: str, resource: dict) -> str:
    name = resource.get("Properties", {}).get("BucketName", logical_id)
    if logical_id == names.ACCESS_LOG_BUCKET:
        return _log_bucket_line(name, resource)
    if resource.get("DeletionPolicy") in KEPT_POLICIES:
        return (f"kept: bucket {name} with every lab's data (DeletionPolicy {resource['DeletionPolicy']}; "
                f"DataRetention.RetainBucketOnDelete is true). Delete it yourself once nobody needs the data")
    return (f"deleted: bucket {name} and ALL lab data in it (DataRetention.RetainBucketOnDelete is false, "
            f"DeletionPolicy {resource.get('DeletionPolicy', 'Delete')})")


def _log_bucket_line(name: str, resource: dict) -> str:
    if resource.get("DeletionPolicy") in KEPT_POLICIES:
        return f"kept: bucket {name} with the pipeline bucket's access logs (kept with the lab data)"
    return f"deleted: bucket {name} and the pipeline bucket's access logs in it"

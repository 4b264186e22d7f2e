"""Every default the schema declares is what the loader gives when the key is absent (a default
written beside a `$ref` was once lost that way: every launch template ran `exec '' worker`). The
table below names the model field of each defaulted key; a default added to the schema without a
row here fails the first test."""
import json

import pytest

from ncap_iac.config import load_document
from ncap_iac.config.schema import default, schema

from conftest import REPO
from factories import minimal_config


def schema_defaults(node=None, path="", seen=frozenset()):
    """(dotted path, default) of every property with a default, through $refs; Stages[] entries
    and affiliates' items included."""
    whole = schema()
    node = whole if node is None else node
    found = []
    if "$ref" in node:
        if "default" in node:
            found.append((path, node["default"]))
        name = node["$ref"].rsplit("/", 1)[1]
        return found if name in seen else found + schema_defaults(whole["$defs"][name], path, seen | {name})
    if "default" in node and path:
        found.append((path, node["default"]))
    for key, child in node.get("properties", {}).items():
        found += schema_defaults(child, f"{path}.{key}" if path else key, seen)
    if isinstance(node.get("items"), dict):
        found += schema_defaults(node["items"], f"{path}[]", seen)
    return found


# Sections whose default is {} are objects, not values: their keys' defaults are checked instead.
SECTIONS = {"Lambda", "Lambda.LambdaConfig", "Queue", "Workers", "Budgets", "Scaling", "Trigger", "Notifications",
            "Deploy", "DataRetention", "Stages[].Workers", "Stages[].Queue", "Stages[].Scaling"}

# A defaulted key -> what the loaded config holds for it (c: the StackConfig; s: a Stages entry's Stage).
FIELDS = {
    "STAGE": lambda c: c.stage,
    "Lambda.CodeUri": lambda c: "lambda_repo" if c.submit.code_uri is None else None,
    "Lambda.Handler": lambda c: c.submit.handler,
    "Lambda.PostTrigger": None,  # checked with a post function below
    "Lambda.LambdaConfig.MONITOR": lambda c: c.monitor,
    "UXData.Affiliates[].UserNames": lambda c: list(c.affiliates[1].user_names),
    "UXData.Affiliates[].ExistingUserNames": lambda c: list(c.affiliates[0].existing_user_names),
    "UXData.Affiliates[].ConsoleLogin": lambda c: c.affiliates[0].console_login,
    "Queue.Fifo": lambda c: c.queue.fifo,
    "Queue.MaxReceiveCount": lambda c: c.queue.max_receive_count,
    "Queue.VisibilityTimeout": lambda c: c.queue.visibility_timeout,
    "Queue.MessageRetention": lambda c: c.queue.message_retention,
    "Workers.MinSize": lambda c: c.workers.min_size,
    "Workers.MaxSize": lambda c: c.workers.max_size,
    "Workers.Subnets": lambda c: list(c.workers.subnets),
    "Workers.VolumeSizeGiB": lambda c: c.workers.volume_size_gib,
    "Workers.Spot": lambda c: c.workers.spot,
    "Workers.AgentCommand": lambda c: c.workers.agent_command,
    "Budgets.ExpectedJobMinutes": lambda c: c.budgets.expected_job_minutes,
    "Scaling.ScaleOut": lambda c: [{"QueuedJobs": s.queued_jobs, "AddInstances": s.add_instances}
                                   for s in c.scaling.scale_out],
    "Scaling.EvaluationPeriods": lambda c: c.scaling.evaluation_periods,
    "Scaling.PeriodSeconds": lambda c: c.scaling.period_seconds,
    "Scaling.ScaleInAfterIdleMinutes": lambda c: c.scaling.scale_in_after_idle_minutes,
    "Scaling.WorkerIdleExitSeconds": lambda c: c.scaling.worker_idle_exit_seconds,
    "Scaling.WarmupSeconds": lambda c: c.scaling.warmup_seconds,
    "Trigger.Mode": lambda c: c.trigger.mode,
    "Trigger.Suffixes": lambda c: list(c.trigger.suffixes),
    "Notifications.OperatorEmails": lambda c: list(c.notifications.operator_emails),
    "Notifications.NotifyLabs": lambda c: c.notifications.notify_labs,
    "DataRetention.RetainBucketOnDelete": lambda c: c.retention.retain_bucket,
    "DataRetention.ExpireNoncurrentVersionsAfterDays": lambda c: c.retention.expire_noncurrent_days,
    "DataRetention.LogRetentionDays": lambda c: c.retention.log_retention_days,
}


def bare_config() -> dict:
    """A config that sets no key with a default (a second lab lists no users: ExistingUserNames)."""
    doc = minimal_config()
    doc["UXData"]["Affiliates"] = [{"AffiliateName": "lab-a", "UserNames": ["alice"]},
                                   {"AffiliateName": "lab-b", "ExistingUserNames": ["bob"]}]
    return doc


def stage_field(path: str):
    """Stages[].Workers.MinSize -> the same key's reader, applied to a stage that sets nothing."""
    top = FIELDS[path.removeprefix("Stages[].")]
    return lambda c: top(_StageView(c.stages[0]))


class _StageView:
    """A stage, read through the readers of the top-level sections."""

    def __init__(self, stage):
        self.workers, self.queue, self.scaling = stage.workers, stage.queue, stage.scaling


def test_every_schema_default_has_a_reader_here():
    declared = {path for path, _ in schema_defaults()} - SECTIONS
    covered = set(FIELDS) | {p for p in declared if p.startswith("Stages[].")}
    assert declared - covered == set(), "a default without a row in FIELDS"
    assert set(FIELDS) - declared == set(), "a row for a key that has no default any more"


@pytest.mark.parametrize("path", sorted({p for p, _ in schema_defaults()} - SECTIONS))
def test_the_loader_gives_the_schema_default_when_the_key_is_absent(path, tmp_path):
    expected = dict(schema_defaults())[path]
    if path == "Lambda.PostTrigger":
        (tmp_path / "post").mkdir()
        (tmp_path / "post" / "handler.py").write_text("def main(event, context):\n    return None\n")
        doc = bare_config()
        doc["Lambda"] = {"PostCodeUri": "post", "PostHandler": "handler.main"}
        assert load_document(doc, tmp_path).post.trigger == expected
        return
    doc = bare_config()
    if path.startswith("Stages[]."):
        doc["Stages"] = [{"Name": "only"}]
        read = stage_field(path)
    else:
        read = FIELDS[path]
    assert read(load_document(doc, tmp_path)) == expected, path


def test_a_default_beside_a_ref_is_the_default():
    assert default("Workers", "AgentCommand") == "ncap"
    text = json.loads((REPO / "src/ncap_iac/config/stack_config.schema.json").read_text())
    assert text["$defs"]["Workers"]["properties"]["AgentCommand"]["default"] == "ncap"

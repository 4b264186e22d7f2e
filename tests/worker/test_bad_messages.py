"""Bad messages never run: marked FAILED where their status key is safe to write, made visible
again at once until the redrive policy moves them to the dead-letter queue; the agent goes on.
Hostile but valid keys (quotes, $(...), ;, backticks) run, and nothing in them is interpreted."""
import json

import pytest

from .helpers import BUCKET, LAB, cloud, context, decisions, handle, message, results_prefix  # noqa: F401

J1 = f"{LAB}/inputs/j1.csv"
KINDS = {
    "not-json": ("{oops", None),
    "missing-field": ({k: v for k, v in message().items() if k != "resultpath"}, J1),
    "other-bucket": (message(bucket="another-pipeline"), None),
    "dataname-outside-the-lab": (message(dataname="labB/inputs/x.csv"), "labB/inputs/x.csv"),
    "datanames-outside-the-lab": (message(datanames=["labB/inputs/x.csv"]), J1),
    "configname-outside-the-lab": (message(configname="labB/configs/c.yaml"), J1),
    "resultpath-outside-the-lab": (message(resultpath="labB/results/job_j1/process_results/"), J1),
    "status-key-outside-the-lab": (message(status_key="labB/results/job_j1/logs/status.json"), None),
    "dot-dot": (message(dataname=f"{LAB}/inputs/../../labB/inputs/x.csv"), f"{LAB}/inputs/../../labB/inputs/x.csv"),
    "absolute-path": (message(configname="/etc/shadow"), J1),
}


@pytest.mark.parametrize("body, failed_dataset", KINDS.values(), ids=KINDS.keys())
def test_a_bad_message_never_runs_and_ends_in_the_dead_letter_queue(cloud, decisions, tmp_path, body, failed_dataset):
    cloud.submit("j1")
    cloud.drain(cloud.queue)  # keep only the bad message on the queue
    cloud.send(body)
    marker = tmp_path / "ran"
    ctx = context(cloud, f"touch {marker}", tmp_path)
    outcomes = [handle(ctx, delivery) for delivery in iter(cloud.receive, None)]
    assert outcomes == ["bad-message"] * 3, "received maxReceiveCount times, then moved"
    assert not marker.exists()
    assert len(cloud.drain(cloud.dlq)) == 1
    status = cloud.status("j1")
    if failed_dataset is None:
        assert status["status"] == "QUEUED", "a status key that is not safe to write is not written"
    else:
        assert status["status"] == "FAILED" and status["datasets"][failed_dataset]["status"] == "FAILED"
        assert status["datasets"][failed_dataset]["reason"].startswith("bad message: ")
    lines = decisions.named("bad-message")
    assert len(lines) == 3 and lines[0]["reason"] and lines[0]["retry_in"] == 0


def test_the_agent_goes_on_after_bad_messages(cloud, decisions, tmp_path):
    from .helpers import WRITE_RESULT, run_agent

    cloud.send("not json")
    cloud.send(message(bucket="another-pipeline"))
    cloud.submit("j1")
    assert run_agent(context(cloud, WRITE_RESULT, tmp_path, idle_exit=2)) == 0
    assert cloud.status("j1")["status"] == "SUCCESS"
    assert decisions.outcomes() == ["success"] and len(decisions.named("bad-message")) == 6
    assert len(cloud.drain(cloud.dlq)) == 2


HOSTILE_DATA = f"{LAB}/inputs/a'b\"c $(touch pwned1); `touch pwned2` & x.csv"
HOSTILE_CONFIG = f"{LAB}/configs/; touch pwned3 #$HOME*.yaml"


@pytest.mark.parametrize("command", [
    pytest.param('touch ran; printf "%s\\n" "{}" "{}" "{}" "{}" > "$NCAP_OUTPUT_DIR/args.txt"', id="ncap-shell-style"),
    pytest.param("python3 -c 'import os, sys; open(os.environ[\"NCAP_OUTPUT_DIR\"] + \"/args.txt\", \"w\")"
                 ".write(\"\".join(a + chr(10) for a in sys.argv[1:]))' {bucket} {dataname} {resultpath} {configname}",
                 id="argv-named"),
])
def test_hostile_keys_are_never_interpreted(cloud, decisions, tmp_path, command):
    cloud.submit("j1", datanames=[HOSTILE_DATA], configname=HOSTILE_CONFIG)
    command_dir = tmp_path / "pipeline"
    command_dir.mkdir()
    ctx = context(cloud, command, tmp_path, command_dir=command_dir)
    assert handle(ctx, cloud.receive()) == "success"
    args = cloud.get(results_prefix("j1") + "args.txt").decode()
    assert args.splitlines() == [BUCKET, HOSTILE_DATA, results_prefix("j1"), HOSTILE_CONFIG]
    assert not list(tmp_path.rglob("pwned*")), "nothing in a key ran"
    assert cloud.status("j1")["datasets"][HOSTILE_DATA]["status"] == "SUCCESS"


def test_the_dataset_arrives_under_its_own_name(cloud, decisions, tmp_path):
    cloud.submit("j1", datanames=[HOSTILE_DATA], configname=HOSTILE_CONFIG)
    command = ("python3 -c 'import os, json; e = os.environ; open(e[\"NCAP_OUTPUT_DIR\"] + \"/paths.json\", \"w\")"
               ".write(json.dumps([os.path.basename(e[\"NCAP_INPUT_PATH\"]), open(e[\"NCAP_INPUT_PATH\"]).read(), "
               "os.path.basename(e[\"NCAP_CONFIG_PATH\"])]))'")
    assert handle(context(cloud, command, tmp_path), cloud.receive()) == "success"
    name, content, config = json.loads(cloud.get(results_prefix("j1") + "paths.json"))
    assert name == HOSTILE_DATA.rsplit("/", 1)[-1] and content == f"data of {HOSTILE_DATA}\n"
    assert config == HOSTILE_CONFIG.rsplit("/", 1)[-1]

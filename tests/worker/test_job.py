"""One message through job.handle (and what it leaves to the background), in this process,
against the moto server: the order of the steps, what lands in S3 and SQS, and what a
redelivery, a retry or the last attempt does."""
import json

from ncap_iac.worker import workspace

from .helpers import (  # noqa: F401
    BUCKET,
    LAB,
    WRITE_RESULT,
    cloud,
    context,
    decisions,
    handle,
    log_key,
    results_prefix,
    status_key,
    with_lab_s3,
)

ENV_DUMP = ("python3 -c 'import os, json, pathlib; o = pathlib.Path(os.environ[\"NCAP_OUTPUT_DIR\"]); "
            "(o / \"env.json\").write_text(json.dumps({k: v for k, v in os.environ.items() "
            "if k.startswith(\"NCAP_\")})); (o / \"sub\").mkdir(); "
            "(o / \"sub\" / \"input.txt\").write_bytes(pathlib.Path(os.environ[\"NCAP_INPUT_PATH\"]).read_bytes()); "
            "print(\"hello from the job\")'")


def test_success_stores_results_log_status_and_deletes_the_message(cloud, decisions, tmp_path):
    cloud.submit("j1", configname=f"{LAB}/configs/c.yaml")
    ctx = context(cloud, ENV_DUMP, tmp_path)
    delivery = cloud.receive()
    assert handle(ctx, delivery) == "success"
    prefix = results_prefix("j1")
    env = json.loads(cloud.get(prefix + "env.json"))
    assert env["NCAP_DATANAME"] == f"{LAB}/inputs/j1.csv"
    assert env["NCAP_CONFIGNAME"] == f"{LAB}/configs/c.yaml"
    assert env["NCAP_RESULTPATH"] == prefix and env["NCAP_BUCKET"] == BUCKET and env["NCAP_JOB_ID"] == "j1"
    assert env["NCAP_INPUT_PATH"].endswith("/inputs/j1.csv") and env["NCAP_CONFIG_PATH"].endswith("/config/c.yaml")
    assert cloud.get(prefix + "sub/input.txt") == f"data of {LAB}/inputs/j1.csv\n".encode()
    assert b"hello from the job" in cloud.get(log_key("j1"))
    status = cloud.status("j1")
    assert status["status"] == "SUCCESS" and status["reason"] is None
    dataset = status["datasets"][f"{LAB}/inputs/j1.csv"]
    assert dataset["status"] == "SUCCESS" and dataset["log_key"] == log_key("j1") and dataset["outputs"] == 2
    assert status["submit_etag"] and status["queued"] is True and status["submit_key"].endswith("j1_submit.json")
    assert cloud.counts() == (0, 0)
    assert [n["subject"] for n in cloud.notices()] == ["NCAP job j1 QUEUED", "NCAP job j1 SUCCESS"]
    assert decisions.outcomes() == ["success"]
    workspace.settle()
    assert not list(tmp_path.iterdir()), "the job's working folder is removed"


def counting(path, fail_first=0, lines=1, code=1):
    """A command that counts its runs in `path`, prints `lines` lines, and exits `code` on the
    first `fail_first` runs (then writes a result and exits 0)."""
    script = (f"import os, pathlib, sys; c = pathlib.Path({str(path)!r}); "
              f"n = int(c.read_text()) + 1 if c.exists() else 1; c.write_text(str(n)); "
              f"[print(f'run {{n}} line {{i}}') for i in range({lines})]; "
              f"sys.exit({code}) if n <= {fail_first} else "
              f"(pathlib.Path(os.environ['NCAP_OUTPUT_DIR']) / 'out.txt').write_text('ok')")
    return f"python3 -c {json.dumps(script)}"


def runs(path):
    return int(path.read_text()) if path.exists() else 0


def test_a_redelivery_after_success_is_deleted_without_running(cloud, decisions, tmp_path):
    cloud.submit("j1")
    counter, work = tmp_path / "runs", tmp_path / "work"
    work.mkdir()
    ctx = context(cloud, counting(counter), work)
    first = cloud.receive()
    assert handle(ctx, first) == "success"
    before = cloud.s3.head_object(Bucket=BUCKET, Key=status_key("j1"))["ETag"]
    cloud.send(first.body)  # the same message again (SQS delivers at least once)
    assert handle(ctx, cloud.receive()) == "already-final"
    assert runs(counter) == 1 and cloud.counts() == (0, 0)
    assert cloud.s3.head_object(Bucket=BUCKET, Key=status_key("j1"))["ETag"] == before
    workspace.settle()
    assert not list(work.iterdir()), "its downloads were cancelled and its folder removed"


def test_a_redelivery_after_failed_is_deleted_without_running(cloud, decisions, tmp_path):
    from dataclasses import replace

    cloud.submit("j1")
    ctx = replace(context(cloud, "false", tmp_path), max_receives=1)
    first = cloud.receive()
    assert handle(ctx, first) == "failed"
    cloud.drain(cloud.queue)
    cloud.send(first.body)  # e.g. an operator moved it back from the dead-letter queue
    assert handle(ctx, cloud.receive()) == "already-final"
    assert cloud.status("j1")["status"] == "FAILED" and cloud.counts() == (0, 0)
    assert decisions.named("job")[-1]["status"] == "FAILED"


def test_a_job_that_crashes_twice_then_succeeds(cloud, decisions, tmp_path):
    from .helpers import run_agent

    cloud.submit("j1")
    counter = tmp_path / "runs"
    ctx = context(cloud, counting(counter, fail_first=2), tmp_path, max_jobs=3)
    assert run_agent(ctx) == 0
    assert runs(counter) == 3 and decisions.outcomes() == ["retry", "retry", "success"]
    status = cloud.status("j1")
    dataset = status["datasets"][f"{LAB}/inputs/j1.csv"]
    assert status["status"] == "SUCCESS"
    assert dataset["attempt"] == 3 and dataset["last_error"] == "the command exited with code 1"
    assert cloud.get(results_prefix("j1") + "out.txt") == b"ok"
    assert b"run 3 line 0" in cloud.get(log_key("j1"))
    assert cloud.counts() == (0, 0) and cloud.counts(cloud.dlq) == (0, 0)


def test_a_poison_job_ends_failed_in_the_dead_letter_queue(cloud, decisions, tmp_path):
    from .helpers import run_agent

    cloud.submit("j1")
    counter = tmp_path / "runs"
    ctx = context(cloud, counting(counter, fail_first=99, lines=30, code=3), tmp_path, max_jobs=3)
    assert run_agent(ctx) == 0
    assert decisions.outcomes() == ["retry", "retry", "failed"]
    status = cloud.status("j1")
    dataset = status["datasets"][f"{LAB}/inputs/j1.csv"]
    assert status["status"] == "FAILED" and dataset["status"] == "FAILED" and dataset["attempt"] == 3
    assert status["reason"].startswith("the command exited with code 3; last lines of output:\n")
    assert "run 3 line 29" in status["reason"] and "run 3 line 9\n" not in status["reason"]
    assert status["reason"] == dataset["reason"] and b"run 3 line 0" in cloud.get(log_key("j1"))
    assert cloud.receive() is None, "the next receive moves it to the dead-letter queue"
    assert [json.loads(body)["job_id"] for body in cloud.drain(cloud.dlq)] == ["j1"]
    assert [n["subject"] for n in cloud.notices()][-1] == "NCAP job j1 FAILED"
    assert runs(counter) == 3


def test_a_timeout_on_the_last_attempt_fails_the_job(cloud, decisions, tmp_path):
    from dataclasses import replace

    cloud.submit("j1")
    ctx = replace(context(cloud, "bash -c 'echo started; sleep 30'", tmp_path, job_timeout=1), max_receives=1)
    assert handle(ctx, cloud.receive()) == "failed"
    status = cloud.status("j1")
    assert status["status"] == "FAILED"
    assert status["reason"] == "timed out after 1 s; last lines of output:\nstarted"
    assert cloud.counts() == (1, 0), "visible again at once, for the dead-letter queue"


def test_a_missing_input_is_retried(cloud, decisions, tmp_path):
    cloud.submit("j1")
    key = f"{LAB}/inputs/j1.csv"
    [version] = cloud.s3.list_object_versions(Bucket=BUCKET, Prefix=key)["Versions"]
    cloud.s3.delete_object(Bucket=BUCKET, Key=key, VersionId=version["VersionId"])  # gone for good
    ctx = context(cloud, "touch never", tmp_path)
    assert handle(ctx, cloud.receive()) == "retry"
    dataset = cloud.status("j1")["datasets"][key]
    assert dataset["status"] == "RUNNING"
    assert dataset["last_error"] == f"cannot download {key}: NoSuchVersion"
    assert b"cannot download" in cloud.get(log_key("j1"))
    assert cloud.counts() == (1, 0)


class FailingUploads:
    """An S3 client that refuses every upload under process_results/."""

    def __init__(self, s3):
        self.s3 = s3

    def __getattr__(self, name):
        return getattr(self.s3, name)

    def put_object(self, **request):
        if "/process_results/" in request["Key"]:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ServiceUnavailable", "Message": "x"}}, "PutObject")
        return self.s3.put_object(**request)


def test_a_failed_upload_is_retried(cloud, decisions, tmp_path):

    cloud.submit("j1")
    ctx = context(cloud, WRITE_RESULT, tmp_path)
    ctx = with_lab_s3(ctx, FailingUploads)
    assert handle(ctx, cloud.receive()) == "retry"
    last_error = cloud.status("j1")["datasets"][f"{LAB}/inputs/j1.csv"]["last_error"]
    assert last_error == f"cannot upload {results_prefix('j1')}result.txt: ServiceUnavailable"
    assert cloud.counts() == (1, 0)


def test_a_job_of_several_datasets(cloud, decisions, tmp_path):
    names = [f"{LAB}/inputs/a.csv", f"{LAB}/inputs/b.csv"]
    cloud.submit("j1", datanames=names)
    ctx = context(cloud, WRITE_RESULT, tmp_path)
    assert handle(ctx, cloud.receive()) == "success"
    assert cloud.status("j1")["status"] == "RUNNING"
    assert handle(ctx, cloud.receive()) == "success"
    status = cloud.status("j1")
    assert status["status"] == "SUCCESS"
    for name in ("a.csv", "b.csv"):
        assert cloud.get(f"{results_prefix('j1')}{name}/result.txt") == f"done {LAB}/inputs/{name}".encode()
        assert status["datasets"][f"{LAB}/inputs/{name}"]["log_key"] == log_key("j1", f"{name}-job_log.txt")
    assert [n["subject"] for n in cloud.notices()] == ["NCAP job j1 QUEUED", "NCAP job j1 SUCCESS"]


def test_a_fifo_queue(moto_server, monkeypatch, decisions, tmp_path):
    from .helpers import Cloud

    fifo = Cloud(monkeypatch, fifo=True)
    fifo.submit("j1")
    assert handle(context(fifo, WRITE_RESULT, tmp_path), fifo.receive()) == "success"
    assert fifo.status("j1")["status"] == "SUCCESS" and fifo.counts() == (0, 0)


def test_without_a_redrive_policy_failures_are_retried_forever(moto_server, monkeypatch, decisions, tmp_path):
    from ncap_iac.worker.agent import announce

    from .helpers import Cloud

    plain = Cloud(monkeypatch, max_receives=None)
    plain.submit("j1")
    ctx = context(plain, "false", tmp_path)
    assert ctx.max_receives is None
    announce(ctx)
    assert "retried forever" in decisions.named("no-redrive-policy")[0]["why"]
    for _ in range(3):
        assert handle(ctx, plain.receive(wait=5)) == "retry"
    assert plain.status("j1")["status"] == "RUNNING"


def test_a_notice_that_cannot_be_sent_does_not_fail_the_job(cloud, decisions, tmp_path):
    cloud.submit("j1")
    ctx = context(cloud, WRITE_RESULT, tmp_path, topic_arn="arn:aws:sns:us-east-1:123456789012:gone")
    assert handle(ctx, cloud.receive()) == "success"
    assert decisions.named("notice-failed") and cloud.status("j1")["status"] == "SUCCESS"


def test_an_interrupted_job_goes_back_at_once_as_a_new_message(cloud, decisions, tmp_path):
    cloud.submit("j1")
    ctx = context(cloud, "touch never", tmp_path)
    ctx.interrupt.fire("spot interruption notice")
    first = cloud.receive()
    assert handle(ctx, first) == "requeued"
    assert cloud.counts() == (1, 0) and cloud.status("j1")["status"] == "RUNNING"
    again = cloud.receive()
    assert again.message_id != first.message_id and again.receive_count == 1
    entry = cloud.status("j1")["datasets"]["labA/inputs/j1.csv"]
    assert entry["interruptions"] == 1 and "spot interruption notice" in entry["last_error"]


def test_a_job_interrupted_three_times_still_ends_success_and_is_not_dead_lettered(cloud, decisions, tmp_path):
    """The queue dead-letters after 3 receives; interruptions are not failed receives."""
    cloud.submit("j1")
    for _ in range(3):
        ctx = context(cloud, "touch never", tmp_path)
        ctx.interrupt.fire("the group's terminating lifecycle hook")
        assert handle(ctx, cloud.receive()) == "requeued"
    assert handle(context(cloud, WRITE_RESULT, tmp_path), cloud.receive()) == "success"
    status = cloud.status("j1")
    assert status["status"] == "SUCCESS" and status["datasets"]["labA/inputs/j1.csv"]["interruptions"] == 3
    assert cloud.counts() == (0, 0) and cloud.counts(cloud.dlq) == (0, 0)


class FailingStatusReads:
    """An S3 client whose next `times` reads of status.json fail (as after botocore's retries)."""

    def __init__(self, s3, times):
        self.s3, self.times = s3, times

    def __getattr__(self, name):
        return getattr(self.s3, name)

    def get_object(self, **request):
        if self.times and request["Key"].endswith("status.json"):
            from botocore.exceptions import ClientError

            self.times -= 1
            raise ClientError({"Error": {"Code": "InternalError", "Message": "x"}}, "GetObject")
        return self.s3.get_object(**request)


def test_an_error_of_the_agent_returns_the_message(cloud, decisions, tmp_path):

    cloud.submit("j1")
    ctx = context(cloud, "touch never", tmp_path)
    ctx = with_lab_s3(ctx, lambda s3: FailingStatusReads(s3, 1))
    assert handle(ctx, cloud.receive()) == "error"
    assert cloud.counts() == (1, 0) and cloud.status("j1")["status"] == "QUEUED"
    assert decisions.named("error")[0]["error"] == "InternalError"


def test_an_error_of_the_agent_on_the_last_attempt_fails_the_job(cloud, decisions, tmp_path):
    from dataclasses import replace

    cloud.submit("j1")
    ctx = replace(context(cloud, "touch never", tmp_path), max_receives=1)
    ctx = with_lab_s3(ctx, lambda s3: FailingStatusReads(s3, 1))
    assert handle(ctx, cloud.receive()) == "error"
    status = cloud.status("j1")
    assert (status["status"], status["reason"]) == ("FAILED", "the worker failed: InternalError")
    assert cloud.counts() == (1, 0)


# --- the paths that must never raise, and what they log -----------------------------------------

def with_sqs(ctx, sqs):
    from dataclasses import replace

    return replace(ctx, clients=replace(ctx.clients, sqs=sqs))


def test_a_delete_that_fails_after_success_is_logged_and_the_job_stays_success(cloud, decisions, tmp_path):
    from .faults import FailingSqs, aws_error

    cloud.submit("j1")
    ctx = context(cloud, WRITE_RESULT, tmp_path)
    sqs = FailingSqs(ctx.clients.sqs, delete_message=(lambda: aws_error("InternalError", "DeleteMessage"),))
    assert handle(with_sqs(ctx, sqs), cloud.receive()) == "success"  # and nothing raised
    [error] = decisions.named("error")
    assert (error["step"], error["error"], error["job_id"]) == ("delete", "InternalError", "j1")
    assert decisions.outcomes() == ["success"] and cloud.status("j1")["status"] == "SUCCESS"
    assert cloud.counts() == (0, 1), "the message comes back later, to be acknowledged without running"
    assert [n["subject"] for n in cloud.notices()] == ["NCAP job j1 QUEUED", "NCAP job j1 SUCCESS"]


def test_a_delete_after_the_receipt_is_gone_is_too_late_not_an_error(cloud, decisions, tmp_path):
    from .faults import FailingSqs, aws_error

    cloud.submit("j1")
    ctx = context(cloud, WRITE_RESULT, tmp_path)
    sqs = FailingSqs(ctx.clients.sqs, delete_message=(lambda: aws_error("ReceiptHandleIsInvalid", "DeleteMessage"),))
    assert handle(with_sqs(ctx, sqs), cloud.receive()) == "success"
    [late] = decisions.named("delete-too-late")
    assert (late["error"], late["job_id"], late["attempt"]) == ("ReceiptHandleIsInvalid", "j1", 1)
    assert decisions.named("error") == [] and cloud.status("j1")["status"] == "SUCCESS"


def test_a_retry_whose_message_is_gone_is_too_late_not_an_error(cloud, decisions, tmp_path):
    """The queue is purged while the job runs (its receipt then holds nothing): releasing the
    message for the retry is too late, and the job's own failure is still recorded."""
    purge = (f"python3 -c 'import boto3, sys; boto3.client(\"sqs\", region_name=\"us-east-1\")"
             f".purge_queue(QueueUrl=\"{cloud.queue}\"); sys.exit(2)'")
    cloud.submit("j1")
    ctx = context(cloud, purge, tmp_path)
    assert handle(ctx, cloud.receive()) == "retry"
    late = decisions.named("visibility-too-late")
    assert late and {line["job_id"] for line in late} == {"j1"}
    assert decisions.named("error") == []
    dataset = cloud.status("j1")["datasets"][f"{LAB}/inputs/j1.csv"]
    assert (dataset["status"], dataset["last_error"]) == ("RUNNING", "the command exited with code 2")
    assert cloud.counts() == (0, 0)


def test_a_failing_heartbeat_is_logged_and_the_job_goes_on(cloud, decisions, tmp_path):
    """The command waits until a heartbeat has failed (the fake marks it in a file), then ends well."""
    from .faults import FailingSqs, aws_error

    marker = tmp_path / "heartbeat-failed"
    command = ("python3 -c 'import os, pathlib, sys, time; m = pathlib.Path(sys.argv[1]); d = time.time() + 20\n"
               "while not m.exists() and time.time() < d: time.sleep(0.05)\n"
               "(pathlib.Path(os.environ[\"NCAP_OUTPUT_DIR\"]) / \"result.txt\").write_text(str(m.exists()))' "
               f"{marker}")
    cloud.submit("j1")
    work = tmp_path / "work"
    work.mkdir()
    ctx = context(cloud, command, work)
    beats = (lambda: aws_error("InternalError", "ChangeMessageVisibility"), 2,
             lambda request: request["VisibilityTimeout"] == ctx.settings.heartbeat)
    sqs = FailingSqs(ctx.clients.sqs, change_message_visibility=beats)
    sqs.on_failure = lambda operation: marker.touch()
    assert handle(with_sqs(ctx, sqs), cloud.receive()) == "success"
    failed = decisions.named("heartbeat-failed")
    assert failed and all((f["error"], f["job_id"]) == ("InternalError", "j1") for f in failed)
    assert cloud.get(results_prefix("j1") + "result.txt") == b"True", "the job ran on after the failed beat"
    assert cloud.status("j1")["status"] == "SUCCESS" and cloud.counts() == (0, 0)


COPY_INPUTS = ("python3 -c 'import os, shutil; o = os.environ[\"NCAP_OUTPUT_DIR\"]; "
               "shutil.copy(os.environ[\"NCAP_CONFIG_PATH\"], o + \"/config\"); "
               "shutil.copy(os.environ[\"NCAP_INPUT_PATH\"], o + \"/input\")'")


def test_a_job_runs_with_the_versions_submitted_whatever_is_uploaded_later(cloud, decisions, tmp_path):
    """The submission pins its dataset and config to the versions it saw; overwriting (or deleting)
    them while the job waits in the queue changes nothing for it."""
    cloud.submit("j1")
    data, config = f"{LAB}/inputs/j1.csv", f"{LAB}/configs/c.yaml"
    cloud.put(config, b"someone else's config\n")
    cloud.s3.delete_object(Bucket=BUCKET, Key=data)
    assert handle(context(cloud, COPY_INPUTS, tmp_path), cloud.receive()) == "success"
    results = f"{LAB}/results/job_j1/process_results/"
    assert cloud.get(results + "config") == f"data of {config}\n".encode()
    assert cloud.get(results + "input") == f"data of {data}\n".encode()
    pinned = cloud.status("j1")["versions"]
    assert set(pinned) == {data, config}
    assert f"{config} (version {pinned[config]})" in cloud.get(f"{LAB}/results/job_j1/logs/certificate.txt").decode()

"""Job credentials: the command's environment holds no credential of the agent, only the address
of the agent's loopback endpoint and its job's token; with them any AWS SDK (here boto3, as the
AWS CLI does) gets the lab's job-role session named after the job, renewed before it expires.
After the job the token is worthless. (The moto server here does not enforce IAM; what the
session may do is proven on the local cloud, tests/local/test_hostile.py.)"""
import json
import urllib.error
import urllib.request

import pytest

from ncap_iac.worker.credentials import RENEW_BEFORE, CredentialsError, LabFolders, Session, job_session_policy
from ncap_iac.worker.endpoint import PATH, Endpoint, JobCredentials

from .helpers import BUCKET, LAB, cloud, context, decisions, handle, results_prefix  # noqa: F401

# Records its environment, then asks STS who it is with whatever credentials boto3 finds.
WHO_AM_I = ("python3 -c 'import os, json, pathlib, boto3; o = pathlib.Path(os.environ[\"NCAP_OUTPUT_DIR\"]); "
            "(o / \"env.json\").write_text(json.dumps(dict(os.environ))); "
            "(o / \"who.txt\").write_text(boto3.client(\"sts\").get_caller_identity()[\"Arn\"])'")


def test_the_command_sees_its_jobs_session_and_no_credential_of_the_agent(cloud, decisions, tmp_path, monkeypatch):
    monkeypatch.setenv("AWS_SESSION_TOKEN", "the-agents-own-token")
    monkeypatch.setenv("AWS_PROFILE_UNUSED", "x")
    cloud.submit("j1")
    assert handle(context(cloud, WHO_AM_I, tmp_path), cloud.receive()) == "success"
    prefix = results_prefix("j1")
    env = json.loads(cloud.get(prefix + "env.json"))
    assert not {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"} & set(env)
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].startswith("http://127.0.0.1:")
    assert env["AWS_CONTAINER_CREDENTIALS_FULL_URI"].endswith(PATH) and env["AWS_EC2_METADATA_DISABLED"] == "true"
    who = cloud.get(prefix + "who.txt").decode()
    assert who.endswith(f":assumed-role/{BUCKET}-jobs/job-j1"), who

    request = urllib.request.Request(env["AWS_CONTAINER_CREDENTIALS_FULL_URI"],
                                     headers={"Authorization": env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 403, "the token of a finished job fetches nothing"


def session(expires: float, name: str = "k") -> Session:
    return Session(name, "secret", "token", expires)


def test_a_session_is_assumed_again_when_it_is_asked_for_close_to_its_expiry():
    import time

    made = []

    def assume():
        made.append(session(time.time() + (RENEW_BEFORE - 5 if not made else 3600), f"key{len(made)}"))
        return made[-1]

    credentials = JobCredentials(assume)
    assert credentials.current().access_key_id == "key1", "the first session was already too old"
    assert credentials.current().access_key_id == "key1" and len(made) == 2, "a fresh one is kept"


def fetch(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": token})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_the_endpoint_answers_only_a_registered_token_and_reports_a_failed_assume():
    import time

    endpoint = Endpoint()
    try:
        token = endpoint.register(JobCredentials(lambda: session(time.time() + 3600)))
        status, document = fetch(endpoint.url, token)
        assert status == 200 and set(document) == {"AccessKeyId", "SecretAccessKey", "Token", "Expiration"}
        assert document["Expiration"].endswith("Z")
        assert fetch(endpoint.url, "not-a-token")[0] == 403
        assert fetch(endpoint.url.replace(PATH, "/other"), token)[0] == 403

        calls = []

        def failing():
            calls.append(1)
            if len(calls) > 1:
                raise CredentialsError("cannot assume the job role of lab x: AccessDenied")
            return session(time.time() + RENEW_BEFORE - 1)

        broken = endpoint.register(JobCredentials(failing))
        status, document = fetch(endpoint.url, broken)
        assert status == 503 and "AccessDenied" in document["message"]
        endpoint.withdraw(token)
        assert fetch(endpoint.url, token)[0] == 403
    finally:
        endpoint.stop()


def a_task(**fields):
    from ncap_iac.worker.messages import Task

    return Task(**{"bucket": "b", "affiliate": "labA", "job_id": "j1", "submit_key": None, "dataname": "labA/inputs/x",
                   "datanames": ("labA/inputs/x",), "configname": None, "resultpath": "labA/results/job_j1/",
                   "status_key": "labA/results/job_j1/logs/status.json", **fields})


def test_the_session_policy_reads_the_lab_and_writes_only_the_jobs_result_path():
    task = a_task()
    policy = job_session_policy("aws", task, LabFolders())
    statements = {s["Sid"]: s for s in policy["Statement"]}
    writes = [s for s in policy["Statement"] if any(a.startswith("s3:Put") for a in s["Action"])]
    assert [s["Resource"] for s in writes] == [["arn:aws:s3:::b/labA/results/job_j1/*"]]
    reads = {r for s in statements.values() if "s3:GetObject" in s["Action"] for r in s["Resource"]}
    assert reads == {"arn:aws:s3:::b/labA/inputs/*", "arn:aws:s3:::b/labA/configs/*",
                     "arn:aws:s3:::b/labA/results/job_j1/*"}
    assert all(s["Effect"] == "Allow" for s in statements.values())


def test_a_stages_session_writes_its_stage_folder_and_reads_the_previous_stages():
    results = "labA/results/job_j1/process_results/"
    task = a_task(resultpath=results, stage="middle", next_stage="last",
                  input_prefix="labA/results/job_j1/stages/first/")
    policy = job_session_policy("aws", task, LabFolders())
    writes = [s for s in policy["Statement"] if any(a.startswith("s3:Put") for a in s["Action"])]
    assert [s["Resource"] for s in writes] == [["arn:aws:s3:::b/labA/results/job_j1/stages/middle/*"]]
    reads = {r for s in policy["Statement"] if "s3:GetObject" in s["Action"] for r in s["Resource"]}
    assert "arn:aws:s3:::b/labA/results/job_j1/stages/*" in reads  # the job's own stage folders, no other
    assert f"arn:aws:s3:::b/{results}*" not in reads, "a stage that is not the last never sees the final folder"


def test_a_lazy_session_is_assumed_only_when_first_asked_for():
    import time

    made = []
    credentials = JobCredentials(lambda: made.append(1) or session(time.time() + 3600), lazy=True)
    assert made == [], "a command that makes no AWS call costs no STS call"
    credentials.current()
    credentials.current()
    assert made == [1]

"""`ncap invoke` runs every committed simulated event, as a real subprocess, against a real moto
server on localhost, with the committed env-vars files; the results are checked through boto3."""
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import boto3
import pytest

from cloud_helpers import ncap
from conftest import REPO

SIMEVENTS = REPO / "simevents"
ACCOUNT = "123456789012"


def ncap_invoke(function, template, event, env_file, *extra):
    argv = [sys.executable, "-m", "ncap_iac.cli", "invoke", function, "--template", str(template),
            "--event", str(event), "--env-vars", str(env_file), *extra]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60)


@pytest.fixture
def compiled(tmp_path):
    """Each example pipeline compiled into tmp_path/NAME/compiled_template.json."""
    def make(name):
        out = tmp_path / name / "compiled_template.json"
        subprocess.run([sys.executable, "-m", "ncap_iac.cli", "compile",
                        str(REPO / "pipelines" / name / "stack_config.json"), "-o", str(out)],
                       check=True, capture_output=True)
        return out
    return make


def _pipeline_resources(bucket, queue_name):
    s3, sqs, sns = boto3.client("s3"), boto3.client("sqs"), boto3.client("sns")
    s3.create_bucket(Bucket=bucket)
    for lab, folder in (("carcealab2", "submissions"), ("spine-clinic", "inputs")):  # the labs' folder markers
        s3.put_object(Bucket=bucket, Key=f"{lab}/{folder}/", Body=b"")
    fifo = {"FifoQueue": "true"} if queue_name.endswith(".fifo") else {}
    queue_url = sqs.create_queue(QueueName=queue_name, Attributes=fifo)["QueueUrl"]
    sns.create_topic(Name=f"{bucket}-notices")
    return s3, sqs, queue_url


def _messages(sqs, queue_url):
    got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
    return [json.loads(m["Body"]) for m in got.get("Messages", [])]


def _status(s3, bucket, affiliate, job_id):
    key = f"{affiliate}/results/job_{job_id}/logs/status.json"
    return json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


@pytest.mark.parametrize("event_file, submit_key", [
    pytest.param("s3_put_submit.json", "carcealab2/submissions/run1_submit.json", id="plain-key"),
    pytest.param("s3_put_submit_spaces_unicode.json", "carcealab2/submissions/Ñandú trial 2+3 submit.json",
                 id="spaces-and-unicode"),
])
def test_submit_event_queues_a_job(moto_server, compiled, event_file, submit_key):
    s3, sqs, queue_url = _pipeline_resources("dlcmonitored1", "dlcmonitored1-jobs")
    s3.put_object(Bucket="dlcmonitored1", Key="carcealab2/inputs/mouse1.mp4", Body=b"video")
    s3.put_object(Bucket="dlcmonitored1", Key="carcealab2/configs/config.yaml", Body=b"a: 1")
    s3.put_object(Bucket="dlcmonitored1", Key=submit_key, Body=json.dumps(
        {"dataname": "carcealab2/inputs/mouse1.mp4", "configname": "carcealab2/configs/config.yaml",
         "timestamp": "run-2026-01-15"}).encode())
    run = ncap_invoke("SubmitFunction", compiled("ncap-dlc"), SIMEVENTS / event_file,
                      SIMEVENTS / "env_dlcmonitored1.json")
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["jobs"] == ["run-2026-01-15"]
    status = _status(s3, "dlcmonitored1", "carcealab2", "run-2026-01-15")
    assert (status["status"], status["submit_key"]) == ("QUEUED", submit_key)
    [message] = _messages(sqs, queue_url)
    assert message["dataname"] == "carcealab2/inputs/mouse1.mp4"
    assert "Traceback" not in run.stderr and "run-2026-01-15" in run.stderr  # the handler's log lines


def test_fileset_events_start_one_job(moto_server, compiled):
    s3, sqs, queue_url = _pipeline_resources("cis-imu-calibration", "cis-imu-calibration-jobs.fifo")
    for suffix in (".mp4", ".hpf"):
        s3.put_object(Bucket="cis-imu-calibration", Key=f"spine-clinic/inputs/patient7/walk01{suffix}", Body=b"x")
    template, env = compiled("cis-imu"), SIMEVENTS / "env_cis_imu.json"
    first = ncap_invoke("SubmitFunction", template, SIMEVENTS / "s3_put_fileset_mp4.json", env)
    second = ncap_invoke("SubmitFunction", template, SIMEVENTS / "s3_put_fileset_hpf.json", env)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert len(json.loads(first.stdout)["jobs"]) == 1 and json.loads(second.stdout)["jobs"] == []
    [message] = _messages(sqs, queue_url)
    assert message["datanames"] == ["spine-clinic/inputs/patient7/walk01.mp4",
                                    "spine-clinic/inputs/patient7/walk01.hpf"]


@pytest.mark.parametrize("event_file, state", [
    pytest.param("ec2_state_running.json", "running", id="running"),
    pytest.param("ec2_state_terminated.json", "terminated", id="terminated"),
])
def test_instance_state_event_is_recorded(moto_server, compiled, event_file, state):
    boto3.client("s3").create_bucket(Bucket="dlcmonitored1")
    run = ncap_invoke("MonitorFunction", compiled("ncap-dlc"), SIMEVENTS / event_file,
                      SIMEVENTS / "env_dlcmonitored1.json")
    assert run.returncode == 0, run.stderr
    records = boto3.client("s3").list_objects_v2(Bucket="dlcmonitored1", Prefix="logs/instances/")
    [record] = [o["Key"] for o in records["Contents"]]
    body = json.loads(boto3.client("s3").get_object(Bucket="dlcmonitored1", Key=record)["Body"].read())
    assert body["state"] == state and record.endswith(f"_{state}.json")


class _Answers(BaseHTTPRequestHandler):
    bodies: list = []

    def do_PUT(self):
        self.bodies.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def answer_url():
    """A local HTTP server standing in for CloudFormation's pre-signed response URL."""
    server = HTTPServer(("127.0.0.1", 0), _Answers)
    _Answers.bodies = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/answer", _Answers.bodies
    server.shutdown()


@pytest.mark.parametrize("request_type", ["create", "update", "delete"])
def test_folders_custom_resource_event_is_answered(moto_server, compiled, answer_url, tmp_path, request_type):
    """The committed event's ResponseURL is a placeholder that never resolves; the test points it
    at a local server to read the answer."""
    url, answers = answer_url
    boto3.client("s3").create_bucket(Bucket="dlcmonitored1")
    event = json.loads((SIMEVENTS / f"cfn_folders_{request_type}.json").read_text())
    event["ResponseURL"] = url
    (tmp_path / "event.json").write_text(json.dumps(event))
    run = ncap_invoke("FoldersFunction", compiled("ncap-dlc"), tmp_path / "event.json",
                      SIMEVENTS / "env_dlcmonitored1.json")
    assert run.returncode == 0, run.stderr
    assert [a["Status"] for a in answers] == ["SUCCESS"]
    keys = {o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="dlcmonitored1").get("Contents", [])}
    expected = set() if request_type == "delete" else {"carcealab2/inputs/", "carcealab2/results/"}
    assert expected <= keys and (request_type != "delete" or not keys)


def test_unresolved_variable_is_a_clear_error(compiled):
    run = subprocess.run([sys.executable, "-m", "ncap_iac.cli", "invoke", "SubmitFunction", "--template",
                          str(compiled("ncap-dlc")), "--event", str(SIMEVENTS / "s3_put_submit.json")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert "QUEUE_URL" in run.stderr and "--env-vars" in run.stderr


def test_invoke_env_vars_and_local_state_together_is_a_clear_message(tmp_path):
    invoked = ncap("invoke", "SubmitFunction", "--env-vars", "e.json", "--local-state", str(tmp_path))
    assert invoked.returncode == 1
    assert invoked.stderr.strip() == ("--env-vars and --local-state: give one (values from a file, "
                                      "or from a local cloud)")


@pytest.mark.parametrize("template", [
    {"Resources": {"PipelineBucket": {"Properties": "odd"}}}, {"Resources": []}, [],
], ids=["properties-not-object", "resources-not-object", "not-an-object"])
def test_invoke_of_an_odd_template_is_a_clear_message(tmp_path, template):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(template))
    invoked = ncap("invoke", "SubmitFunction", "--template", str(path))
    assert invoked.returncode == 1 and "Traceback" not in invoked.stderr
    assert invoked.stderr.strip().startswith("SubmitFunction: no such function in"), invoked.stderr


def test_invoke_env_vars_section_that_is_not_an_object_is_a_clear_message(tmp_path, compiled):
    env = tmp_path / "env.json"
    env.write_text(json.dumps({"SubmitFunction": "QUEUE_URL=x"}))
    template = compiled("local-demo")
    invoked = ncap("invoke", "SubmitFunction", "--template", str(template), "--env-vars", str(env))
    assert invoked.returncode == 1
    assert invoked.stderr.strip() == 'env-vars: "SubmitFunction" must be a JSON object of variable names and values'

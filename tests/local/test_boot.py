"""A local cloud instance starts as an EC2 instance does: the group's launch template user data, as
deployed on the emulator, installs the agent into a venv of its own from the artifact bucket and
the analysis into the command's folder, then starts the agent. Checked on a pipeline with no
AgentCommand and its analysis in analysis/: the job reaches SUCCESS; the agent's process is the
venv's python (a venv with no compiler in it); the analysis ran in the folder the user data
unpacked, with the image's own python3."""
import json
import os
from pathlib import Path

from cloud_helpers import local_cloud, pipeline_copy, status_key, wait_status

PROBE = '''\
import json, os, sys
from pathlib import Path
out = Path(os.environ["NCAP_OUTPUT_DIR"])
(out / "where.json").write_text(json.dumps({"cwd": os.getcwd(), "python": sys.executable,
                                            "sample": Path("analysis/data.txt").read_text(),
                                            "aws": sorted(k for k in os.environ if k.startswith("AWS_"))}))
'''


def probe_pipeline(document):
    document["PipelineName"] = "ncap-boot"
    document["Workers"].pop("AgentCommand", None)
    document["Workers"]["Command"] = "python3 analysis/probe.py"


def test_an_instance_boots_from_its_user_data_and_runs_the_analysis_where_it_unpacked_it(tmp_path):
    pipeline = pipeline_copy("local-demo", tmp_path / "pipeline", probe_pipeline)
    (pipeline / "analysis" / "probe.py").write_text(PROBE)
    (pipeline / "analysis" / "data.txt").write_text("shipped with the analysis")
    assert "AgentCommand" not in json.loads((pipeline / "stack_config.json").read_text())["Workers"]
    with local_cloud(pipeline, tmp_path / "state", workers=1) as cloud:
        s3 = cloud.client("s3", "alice")
        s3.put_object(Bucket=cloud.bucket, Key="lab-a/inputs/x.csv", Body=b"a\n1\n")
        s3.put_object(Bucket=cloud.bucket, Key="lab-a/configs/c.json", Body=b"{}")
        s3.put_object(Bucket=cloud.bucket, Key="lab-a/submissions/j1_submit.json", Body=json.dumps(
            {"dataname": "lab-a/inputs/x.csv", "configname": "lab-a/configs/c.json", "timestamp": "j1"}).encode())
        done = wait_status(s3, cloud.bucket, status_key("lab-a", "j1"), timeout=90)
        assert done["status"] == "SUCCESS", done
        where = json.loads(s3.get_object(Bucket=cloud.bucket,
                                         Key="lab-a/results/job_j1/process_results/where.json")["Body"].read())
        [pid] = cloud.pids["workers"]
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        log = (tmp_path / "state" / "worker-0.log").read_text()

    [instance] = list((tmp_path / "state" / "instances").iterdir())
    root = instance / "root"
    [venv] = (root / "agent").iterdir()
    [code] = (root / "code").iterdir()
    command = [part.decode() for part in cmdline if part]
    assert [os.path.normpath(command[0]), *command[1:4]] == [str(venv / "venv" / "bin" / "python"), "-m",
                                                             "ncap_iac.worker", "worker"], command
    assert not where["python"].startswith(str(venv)), "the analysis's python3 is the image's, not the agent's venv"
    assert command[command.index("--command-dir") + 1] == str(code)
    assert "installed from s3://ncap-local-artifacts/ncap/agent/" in log and "stand-in: iptables" in log
    started = json.loads(next(line for line in log.splitlines() if '"decision": "started"' in line))
    assert started["heartbeat"] == 10, "the local cloud's short heartbeat (NCAP_AGENT_HEARTBEAT)"
    assert '"decision": "run-as-stand-in"' in log
    # the job's own session comes from the agent's endpoint; nothing of the instance's metadata service
    assert "AWS_EC2_METADATA_SERVICE_ENDPOINT" not in where["aws"] and "AWS_ACCESS_KEY_ID" not in where["aws"]
    assert "AWS_CONTAINER_CREDENTIALS_FULL_URI" in where["aws"]
    assert where["cwd"] == str(code) and where["sample"] == "shipped with the analysis"
    installed = {p.name for p in (venv / "venv").glob("lib/python3*/site-packages/*")}
    assert {"boto3", "botocore", "ncap_iac"} <= installed
    assert not installed & {"troposphere", "cfnlint", "samtranslator", "jsonschema", "moto"}, installed
    assert sorted(p.name for p in (code / "analysis").iterdir()) == ["data.txt", "probe.py", "summarize.py"]

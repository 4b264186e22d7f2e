"""A hostile analysis on the local cloud (IAM enforced as AWS enforces it): run as lab-a's job,
with the credentials its environment gives it (its job's session of lab-a's job role), it reads
its own input and writes into its own job's folder; every attempt to read or list lab-b, write
outside its job's folder, write any submission, overwrite its inputs, list or purge the queue,
read a secret or create access keys is denied. The table of attempts is printed."""
import json
import shutil
import sys

import pytest

from cloud_helpers import local_cloud, pipeline_copy, read_json, status_key, wait_status

HERE = __import__("pathlib").Path(__file__).parent
MAY = {"read its own input", "write into its own job's folder"}


def hostile_pipeline(document):
    document["PipelineName"] = "ncap-hostile"
    document["Workers"]["Command"] = f"{sys.executable} analysis/hostile_analysis.py lab-b ncap-hostile-jobs bob"


@pytest.mark.slow
def test_a_hostile_analysis_reaches_only_its_own_input_and_job_folder(tmp_path, capsys):
    pipeline = pipeline_copy("local-demo", tmp_path / "pipeline", hostile_pipeline)
    shutil.copy(HERE / "hostile_analysis.py", pipeline / "analysis" / "hostile_analysis.py")
    with local_cloud(pipeline, tmp_path / "state", workers=1) as cloud:
        bob = cloud.client("s3", "bob")
        bob.put_object(Bucket=cloud.bucket, Key="lab-b/inputs/secret.csv", Body=b"lab-b only")
        s3 = cloud.client("s3", "alice")
        s3.put_object(Bucket=cloud.bucket, Key="lab-a/inputs/data.csv", Body=b"1,2,3\n")
        s3.put_object(Bucket=cloud.bucket, Key="lab-a/configs/c.json", Body=b"{}")
        s3.put_object(Bucket=cloud.bucket, Key="lab-a/submissions/h_submit.json", Body=json.dumps(
            {"dataname": "lab-a/inputs/data.csv", "configname": "lab-a/configs/c.json", "timestamp": "hostile"}).encode())
        status = wait_status(s3, cloud.bucket, status_key("lab-a", "hostile"), timeout=90)
        assert status["status"] == "SUCCESS", status
        found = read_json(s3, cloud.bucket, "lab-a/results/job_hostile/process_results/attempts.json")
        assert bob.get_object(Bucket=cloud.bucket, Key="lab-b/inputs/secret.csv")["Body"].read() == b"lab-b only"
        assert s3.get_object(Bucket=cloud.bucket, Key="lab-a/inputs/data.csv")["Body"].read() == b"1,2,3\n"
    with capsys.disabled():
        print(f"\nthe analysis ran as {found['caller']}")
        for name, outcome in found["attempts"]:
            print(f"  {name:<45} {outcome}")
    assert ":assumed-role/ncap-hostile-jobs/job-hostile" in found["caller"]
    assert found["keys_in_environment"] == []
    outcomes = dict(found["attempts"])
    assert {name for name, outcome in outcomes.items() if outcome == "allowed"} == MAY
    assert all(outcomes[name] == "denied" for name in set(outcomes) - MAY), outcomes

"""The local cloud at NCAP's scale: a 60-lab pipeline in nested stacks (STAGE websubstack, three
users per lab, one person in two labs) comes up every time it is brought up, a lab user's job
reaches SUCCESS, and lab isolation holds on a sample of labs."""
import pytest

from cloud_helpers import local_cloud, pipeline_copy, start_cloud, status_key, wait_status
from test_isolation import attempt, cross_lab_probes

pytestmark = pytest.mark.slow
LABS = [f"lab{n:02d}" for n in range(60)]
SAMPLE = [("lab00", "lab01"), ("lab01", "lab00"), ("lab30", "lab59")]
STARTS = 3


def sixty_labs(document):
    document["PipelineName"] = "ncap-sixty"
    document["STAGE"] = "websubstack"
    document["UXData"]["Affiliates"] = [{"AffiliateName": lab, "UserNames": [f"{lab}-u{n}" for n in range(3)]}
                                        for lab in LABS]
    for lab in ("lab00", "lab01"):
        document["UXData"]["Affiliates"][int(lab[3:])]["UserNames"].append("dev")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    return pipeline_copy("local-demo", tmp_path_factory.mktemp("sixty") / "pipeline", sixty_labs)


def test_a_large_nested_pipeline_comes_up_every_time(pipeline, tmp_path):
    for start in range(STARTS):
        cloud = start_cloud(pipeline, tmp_path / f"state-{start}")
        try:
            assert len(cloud.info["users"]) == 181 and cloud.info["users"]["dev"]["labs"] == ["lab00", "lab01"]
            assert "Traceback" not in cloud.output
        finally:
            cloud.stop()


@pytest.fixture(scope="module")
def cloud(pipeline, tmp_path_factory):
    with local_cloud(pipeline, tmp_path_factory.mktemp("sixty-state") / "state", workers=1) as running:
        yield running


def test_a_lab_users_job_reaches_success_and_a_shared_person_submits_for_either_lab(cloud):
    for user, lab in (("lab30-u1", "lab30"), ("dev", "lab01")):
        s3 = cloud.client("s3", user)
        s3.put_object(Bucket=cloud.bucket, Key=f"{lab}/inputs/t.csv", Body=b"a,b\n1,2\n3,4\n")
        s3.put_object(Bucket=cloud.bucket, Key=f"{lab}/configs/c.json", Body=b"{}")
        s3.put_object(Bucket=cloud.bucket, Key=f"{lab}/submissions/{user}_submit.json",
                      Body=f'{{"dataname": "{lab}/inputs/t.csv", "configname": "{lab}/configs/c.json", '
                           f'"timestamp": "scale-{user}"}}'.encode())
        status = wait_status(cloud.client("s3"), cloud.bucket, status_key(lab, f"scale-{user}"), timeout=120)
        assert status["status"] == "SUCCESS", status


@pytest.mark.parametrize("lab, other", SAMPLE, ids=[f"{a}-to-{b}" for a, b in SAMPLE])
def test_lab_isolation_holds_on_a_sample_of_labs(cloud, lab, other):
    admin = cloud.client("s3")
    for folder, name in (("inputs", "seed.csv"), ("configs", "seed.json"), ("submissions", "seed.txt"),
                         ("results", "job_seed/process_results/summary.json")):
        admin.put_object(Bucket=cloud.bucket, Key=f"{other}/{folder}/{name}", Body=b"theirs")
    user = f"{lab}-u0"
    admin.put_object(Bucket=cloud.bucket, Key=f"{lab}/inputs/seed.csv", Body=b"own")
    for action, target, expected, call in cross_lab_probes(cloud.client("s3", user), cloud.bucket, user, lab, other):
        assert attempt(call) == expected, (user, action, target)

"""Lab members of a pipeline that uses a directory, on the local cloud, as real subprocesses:
sign-up with the emailed code (caught by the local cloud), an invitation and approved requests,
logins (a temporary password changed at the first), then the journey with short-lived lab
credentials: a 200 MB upload killed half way and resumed, same-named configs each used by their
own job, a log followed before its job ends, results checked, a cancel within 15 s. Then what a
person's credentials reach, tried call by call against the emulator's IAM: their lab's folders as a
lab group has them and their lab's ledger to read, and nothing else."""
import hashlib
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloud_helpers import NCAP, REPO, clean_env, local_cloud, pipeline_copy

PIPELINE = "ncap-directory-journey"
PASSWORD = "Correct-horse1"
ANALYSIS = '''\
import json, os, time
from pathlib import Path
config = json.loads(Path(os.environ["NCAP_CONFIG_PATH"]).read_text())
for n in range(int(config.get("lines", 1))):
    print(f"line {n}", flush=True)
    time.sleep(float(config.get("pause", 0)))
value = float(Path(os.environ["NCAP_INPUT_PATH"]).read_text().split()[-1])
(Path(os.environ["NCAP_OUTPUT_DIR"]) / "answer.json").write_text(json.dumps({"value": round(value, config["precision"])}))
'''


def journey_pipeline(document):
    document["PipelineName"] = PIPELINE
    document["Workers"]["Command"] = "python3 analysis/run.py"
    document["Workers"]["JobTimeoutSeconds"] = 900


class People:
    """Each person's own config and cache folders (their logins are apart, as on their machines)."""

    def __init__(self, root: Path, cloud):
        self.root, self.cloud = root, cloud
        self.settings = str(cloud.state_dir / "directory.json")

    def env(self, who: str, **more: str) -> dict:
        return {**clean_env(), "XDG_CONFIG_HOME": str(self.root / who / "config"),
                "XDG_CACHE_HOME": str(self.root / who / "cache"), **more}

    def run(self, who: str, *args: str, check: bool = True, timeout: float = 120.0, **more: str):
        done = subprocess.run([*NCAP, *args], capture_output=True, text=True, timeout=timeout, cwd=REPO,
                              env=self.env(who, **more))
        if check:
            assert done.returncode == 0, (who, args, done.stdout, done.stderr)
        return done

    def lab(self, who: str, lab: str, *args: str, **kwargs):
        return self.run(who, "lab", *args, "--lab", lab, "--pipeline", PIPELINE, **kwargs)

    def mail(self, to: str) -> list[dict]:
        done = self.run("platform", "local", "mail", str(self.cloud.pipeline_dir), "--state-dir",
                        str(self.cloud.state_dir), "--to", to, "--json")
        return [json.loads(line) for line in done.stdout.splitlines()]

    def sign_up(self, who: str, email: str) -> None:
        self.run(who, "lab", "signup", "--settings", self.settings, "--email", email, NCAP_PASSWORD=PASSWORD)
        [message] = [m for m in self.mail(email) if m["kind"] == "verification"]
        code = message["body"].rsplit(" ", 1)[-1]
        self.run(who, "lab", "verify", "--settings", self.settings, "--email", email, "--code", code)
        self.run(who, "lab", "login", "--settings", self.settings, "--email", email, NCAP_PASSWORD=PASSWORD)

    def admin_login(self, who: str, email: str) -> None:
        [invitation] = [m for m in self.mail(email) if m["kind"] == "invitation"]
        temporary = invitation["body"].split("temporary password ")[1].split(";")[0]
        self.run(who, "lab", "login", "--settings", self.settings, "--email", email, NCAP_PASSWORD=temporary,
                 NCAP_NEW_PASSWORD="Admin-horse-2")

    def credentials(self, who: str, lab: str) -> dict:
        """The person's lab credentials, as `ncap lab` gets them (their login file, the directory)."""
        script = ("import json; from ncap_iac.lab import login; "
                  f"print(json.dumps(login.lab_credentials(login.current(), {lab!r}, {PIPELINE!r})))")
        done = subprocess.run([NCAP[0], "-c", script], capture_output=True, text=True, timeout=60, cwd=REPO,
                              env=self.env(who))
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)


def write(folder: Path, name: str, **values) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps(values))
    return str(folder / name)


@pytest.mark.slow
def test_lab_members_of_a_directory_from_sign_up_to_results(tmp_path):
    pipeline_copy("lab-directory", tmp_path / "lab-directory")
    pipeline = pipeline_copy("directory-demo", tmp_path / "directory-demo", journey_pipeline)
    (pipeline / "analysis" / "run.py").write_text(ANALYSIS)
    with local_cloud(pipeline, tmp_path / "state", workers=2) as cloud:
        people = People(tmp_path / "people", cloud)
        assert cloud.info["users"] == {} and cloud.info["directory"]["directory"] == "lab-directory"

        # sign-up: the emailed code confirms; an address outside the directory's domains is refused
        people.sign_up("ann", "ann@example.org")
        people.sign_up("bob", "bob@uni.edu")
        refused = people.run("eve", "lab", "signup", "--settings", people.settings, "--email", "eve@gmail.com",
                             check=False, NCAP_PASSWORD=PASSWORD)
        assert refused.returncode == 1 and "ask a lab admin to invite you" in refused.stderr
        assert "Traceback" not in refused.stderr

        # the labs' admins were invited when the directory was made; ann joins lab-a by invitation,
        # bob lab-a and lab-b by requests their admins approve
        people.admin_login("pi-a", "pi-a@example.org")
        people.admin_login("pi-b", "pi-b@example.org")
        people.run("pi-a", "lab", "invite", "ann@example.org", "--lab", "lab-a")
        for lab in ("lab-a", "lab-b"):
            assert "an admin of the lab approves it" in people.run("bob", "lab", "join", lab).stdout
        early = people.run("bob", "lab", "upload", str(write(tmp_path, "x.csv")), "--lab", "lab-a", "--pipeline",
                           PIPELINE, check=False)
        assert early.returncode == 1 and "you are not a member of lab-a" in early.stderr
        not_admin = people.run("ann", "lab", "approve", "bob@uni.edu", "--lab", "lab-a", check=False)
        assert not_admin.returncode == 1 and "only an admin of lab-a" in not_admin.stderr
        people.run("pi-a", "lab", "approve", "bob@uni.edu", "--lab", "lab-a")
        people.run("pi-b", "lab", "approve", "bob@uni.edu", "--lab", "lab-b")
        assert [m["subject"] for m in people.mail("pi-a@example.org") if m["kind"] == "notice"] == [
            "bob@uni.edu asks to join lab-a"]
        assert sorted(m["subject"] for m in people.mail("bob@uni.edu") if m["kind"] == "notice") == [
            "You are a member of lab-a", "You are a member of lab-b"]
        bobs = json.loads(people.run("bob", "lab", "labs", "--json").stdout)["labs"]
        assert [(e["lab"], e["roles"], e["pipelines"]) for e in bobs] == [
            ("lab-a", ["member"], [PIPELINE]), ("lab-b", ["member"], [PIPELINE])]
        members = json.loads(people.run("pi-a", "lab", "members", "--lab", "lab-a", "--json").stdout)["members"]
        assert [m["email"] for m in members] == ["ann@example.org", "bob@uni.edu", "pi-a@example.org"]

        # a 200 MB upload, killed once 40 % is there, completes when run again
        big = tmp_path / "recording.bin"
        with open(big, "wb") as out:
            for block in range(200):
                out.write(hashlib.sha256(str(block).encode()).digest() * 31250)  # 1,000,000 bytes each
        argv = [*NCAP, "lab", "upload", str(big), "--lab", "lab-a", "--pipeline", PIPELINE]
        first = subprocess.Popen(argv, cwd=REPO, env=people.env("ann"), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline, seen = time.monotonic() + 120, b""
        while max(map(float, re.findall(rb"(\d+\.\d)%", seen)), default=0.0) < 40:
            assert time.monotonic() < deadline and first.poll() is None, seen
            seen += os.read(first.stderr.fileno(), 256)
        first.send_signal(signal.SIGKILL)
        first.wait()
        answer = json.loads(people.lab("ann", "lab-a", "upload", str(big), "--json").stdout)
        assert answer["key"] == "lab-a/inputs/recording.bin" and answer["resumed_parts"] >= 2, answer
        admin = cloud.client("s3")
        stored = admin.get_object(Bucket=cloud.bucket, Key="lab-a/inputs/recording.bin")["Body"].read()
        assert hashlib.sha256(stored).digest() == hashlib.sha256(big.read_bytes()).digest()

        # two jobs with same-named configs, the second uploaded while the first waits: their own bytes
        data = tmp_path / "data" / "x.csv"
        data.parent.mkdir()
        data.write_text("v\n1.23456789\n")
        people.lab("ann", "lab-a", "upload", str(data))
        people.lab("ann", "lab-a", "upload", write(tmp_path / "one", "config.json", precision=1), "--as", "configs")
        people.lab("ann", "lab-a", "submit", "--data", "x.csv", "--config", "config.json", "--job-id", "first")
        people.lab("bob", "lab-a", "upload", write(tmp_path / "two", "config.json", precision=5), "--as", "configs")
        people.lab("bob", "lab-a", "submit", "--data", "x.csv", "--config", "config.json", "--job-id", "second")
        for job, value in (("first", 1.2), ("second", 1.23457)):
            people.lab("ann", "lab-a", "status", job, "--watch")
            out = tmp_path / "results" / job
            assert "(md5 checked)" in people.lab("bob", "lab-a", "results", job, "--out", str(out)).stdout
            assert json.loads((out / "answer.json").read_text())["value"] == value, job

        # the lab's spend this month, read by a member from the lab's own ledger: what the operators'
        # `ncap cost report` says of the lab (the agent writes each entry a moment after the job ends)
        def report() -> dict:
            done = people.run("platform", "cost", "report", str(cloud.pipeline_dir), "--json", "--local-state",
                              str(cloud.state_dir))
            return json.loads(done.stdout)["labs"]["lab-a"]

        deadline = time.monotonic() + 30
        while report()["jobs"] < 2:
            assert time.monotonic() < deadline, report()
            time.sleep(0.5)
        spent = json.loads(people.lab("ann", "lab-a", "spend", "--json").stdout)
        operators = report()
        assert spent["jobs"] == operators["jobs"] == 2 and spent["spent_usd"] > 0
        assert abs(spent["spent_usd"] - operators["spent_usd"]) < 1e-6, (spent, operators)
        assert spent["budget_usd"] == operators["budget_usd"]
        said = people.lab("bob", "lab-a", "spend").stdout
        assert said.startswith("lab-a in ") and "on 2 job(s)" in said

        # the log shows while the job runs
        people.lab("bob", "lab-b", "upload", str(data))
        people.lab("bob", "lab-b", "upload", write(tmp_path, "slow.json", precision=2, lines=30, pause=0.2),
                   "--as", "configs")
        people.lab("bob", "lab-b", "submit", "--data", "x.csv", "--config", "slow.json", "--job-id", "slow")
        follow = subprocess.Popen([*NCAP, "lab", "logs", "slow", "--follow", "--lab", "lab-b", "--pipeline", PIPELINE],
                                  cwd=REPO, env=people.env("bob"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        first_line = follow.stdout.readline()
        status_then = json.loads(people.lab("bob", "lab-b", "status", "slow", "--json").stdout)["status"]
        rest, _ = follow.communicate(timeout=120)
        assert first_line.startswith("line 0") and status_then in ("QUEUED", "RUNNING"), (first_line, status_then)
        assert "line 29" in rest and follow.returncode == 0

        # a long job is cancelled within 15 s
        people.lab("ann", "lab-a", "upload", write(tmp_path, "long.json", precision=2, lines=3000, pause=0.2),
                   "--as", "configs")
        people.lab("ann", "lab-a", "submit", "--data", "x.csv", "--config", "long.json", "--job-id", "long")
        deadline = time.monotonic() + 90
        while json.loads(people.lab("ann", "lab-a", "status", "long", "--json").stdout)["status"] != "RUNNING":
            assert time.monotonic() < deadline, "the long job never started"
            time.sleep(0.5)
        asked = time.monotonic()
        document = json.loads(people.lab("ann", "lab-a", "cancel", "long", "--json", "--timeout", "30").stdout)
        assert document["status"] == "CANCELLED" and time.monotonic() - asked < 15, document

        # the lab's contact was told of each job's end, as on AWS (the topic's email subscription)
        notices = [m["subject"] for m in people.mail("lab-a@example.org") if m["kind"] == "notice"]
        assert any("first" in subject for subject in notices), notices

        # what a person's credentials reach
        check_reach(cloud, people)

        # no IAM user exists for a person of the directory
        users = {u["UserName"] for u in cloud.client("iam").list_users()["Users"]}
        assert not {u for u in users if "@" in u}, users


def check_reach(cloud, people) -> None:
    """ann's lab-a credentials and bob's lab-b credentials, call by call against the emulator's IAM."""
    admin = cloud.client("s3")
    other = "ncap-another-pipeline"
    admin.create_bucket(Bucket=other)
    admin.put_object(Bucket=other, Key="lab-a/inputs/theirs.csv", Body=b"theirs")
    admin.put_object(Bucket=cloud.bucket, Key="lab-b/inputs/b-only.csv", Body=b"lab b")
    month = time.strftime("%Y-%m", time.gmtime())
    for lab in ("lab-a", "lab-b"):  # a ledger entry of each lab, as a worker writes them
        admin.put_object(Bucket=cloud.bucket, Key=f"ledger/{month}/{lab}/job-1/0123456789abcdef-1.json",
                         Body=json.dumps({"lab": lab, "job_id": "job-1", "cost_usd": 0.01}).encode())
    info, endpoint = cloud.info, cloud.info["endpoint_url"]
    job_role = f"arn:aws:iam::123456789012:role/ncap/{PIPELINE}/jobs/{PIPELINE}-jobs"

    def clients(who: str, lab: str):
        keys = people.credentials(who, lab)
        assert keys["bucket"] == PIPELINE and keys["session_token"]
        session = boto3.Session(aws_access_key_id=keys["access_key_id"], aws_secret_access_key=keys["secret_access_key"],
                                aws_session_token=keys["session_token"], region_name=info["region"])
        return lambda service: session.client(service, endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}))

    def allowed(call) -> bool:
        try:
            call()
            return True
        except ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] in (401, 403), error.response
            return False

    bucket = cloud.bucket
    for who, lab, away in (("ann", "lab-a", "lab-b"), ("bob", "lab-b", "lab-a")):
        made = clients(who, lab)
        s3, sqs, sns, iam = made("s3"), made("sqs"), made("sns"), made("iam")
        secrets, sts, idp = made("secretsmanager"), made("sts"), made("cognito-idp")
        may = {
            "list own folders": lambda: s3.list_objects_v2(Bucket=bucket, Prefix=f"{lab}/"),
            "upload an input": lambda: s3.put_object(Bucket=bucket, Key=f"{lab}/inputs/mine.csv", Body=b"1"),
            "upload a config": lambda: s3.put_object(Bucket=bucket, Key=f"{lab}/configs/mine.json", Body=b"{}"),
            "read own input": lambda: s3.get_object(Bucket=bucket, Key=f"{lab}/inputs/x.csv"),
            "list own ledger": lambda: s3.list_objects_v2(Bucket=bucket, Prefix=f"ledger/{month}/{lab}/"),
            "read own ledger": lambda: s3.get_object(Bucket=bucket,
                                                     Key=f"ledger/{month}/{lab}/job-1/0123456789abcdef-1.json"),
        }
        may_not = {
            "list the other lab": lambda: s3.list_objects_v2(Bucket=bucket, Prefix=f"{away}/"),
            "list the whole bucket": lambda: s3.list_objects_v2(Bucket=bucket),
            "read the other lab": lambda: s3.get_object(Bucket=bucket, Key="lab-b/inputs/b-only.csv" if away == "lab-b"
                                                        else "lab-a/inputs/x.csv"),
            "write the other lab": lambda: s3.put_object(Bucket=bucket, Key=f"{away}/inputs/x.csv", Body=b"2"),
            "write own results": lambda: s3.put_object(Bucket=bucket, Key=f"{lab}/results/job_x/a.txt", Body=b"3"),
            "delete own input": lambda: s3.delete_object(Bucket=bucket, Key=f"{lab}/inputs/x.csv"),
            "read the other lab's ledger": lambda: s3.get_object(
                Bucket=bucket, Key=f"ledger/{month}/{away}/job-1/0123456789abcdef-1.json"),
            "list the other lab's ledger": lambda: s3.list_objects_v2(Bucket=bucket, Prefix=f"ledger/{month}/{away}/"),
            "list the month's ledger": lambda: s3.list_objects_v2(Bucket=bucket, Prefix=f"ledger/{month}/"),
            "write own ledger": lambda: s3.put_object(Bucket=bucket, Key=f"ledger/{month}/{lab}/job-1/forged.json",
                                                      Body=b'{"cost_usd": 0}'),
            "delete own ledger": lambda: s3.delete_object(Bucket=bucket,
                                                          Key=f"ledger/{month}/{lab}/job-1/0123456789abcdef-1.json"),
            "another pipeline": lambda: s3.get_object(Bucket=other, Key="lab-a/inputs/theirs.csv"),
            "list another pipeline": lambda: s3.list_objects_v2(Bucket=other, Prefix=f"{lab}/"),
            "the queue": lambda: sqs.send_message(QueueUrl=info["queue_url"], MessageBody="{}"),
            "the topic": lambda: sns.publish(TopicArn=info["topic_arn"], Message="hi"),
            "IAM": lambda: iam.list_users(),
            "the secrets": lambda: secrets.list_secrets(),
            "the job role": lambda: sts.assume_role(RoleArn=job_role, RoleSessionName="probe",
                                                    Tags=[{"Key": "ncap-lab", "Value": away}]),
            "the directory's people": lambda: idp.list_users(UserPoolId=info["directory"]["user_pool_id"]),
        }
        assert {name: allowed(call) for name, call in may.items()} == dict.fromkeys(may, True), who
        assert {name: allowed(call) for name, call in may_not.items()} == dict.fromkeys(may_not, False), who

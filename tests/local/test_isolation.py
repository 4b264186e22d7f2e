"""Lab isolation on the local cloud, with the credentials the stack generated for each lab user and
IAM enforced by the emulator as AWS enforces it (emulator/enforce.py): the generated policies alone
decide.

For every pair of labs (A, B) and every user of A, every S3 action a lab member might try on B's
folders (get, put, delete, copy into B from A's own object, copy out of B into A's folder, list B's
prefix, get a key B does not have) and on the bucket itself (delete it, put a bucket policy, put
versioning, list it whole) is denied, and the actions A's own folders need (put to
inputs/configs/submissions, get its own results, list its own prefix) are allowed. The whole table
is printed (`pytest -s` or `-rA` shows it).

What keeps a lab from listing another lab's keys is the `s3:prefix` condition of its ListBucket
statement; what keeps it from copying another lab's object into its own folder is that a copy reads
its source (s3:GetObject). The emulator enforces both, as AWS does.
"""
import itertools
import json

import pytest
from botocore.exceptions import ClientError

from cloud_helpers import local_cloud, pipeline_copy

LABS = {"lab-a": ["alice", "ann"], "lab-b": ["bob", "ben"], "lab-c": ["carol", "cid"]}
USERS = [(user, lab) for lab, users in LABS.items() for user in users]
PAIRS = [(user, lab, other) for user, lab in USERS for other in LABS if other != lab]
DENIED, ALLOWED = "DENIED", "ALLOWED"
SEED = {"inputs": "seed.csv", "configs": "seed.json", "submissions": "seed.txt",
        "results": "job_seed/process_results/summary.json"}


def three_labs(document):
    document["PipelineName"] = "ncap-isolation"
    document["UXData"]["Affiliates"] = [{"AffiliateName": lab, "UserNames": users} for lab, users in LABS.items()]


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    """One local cloud (no workers) of a 3-lab, 2-users-per-lab copy of pipelines/local-demo, with
    one object in each lab's inputs/configs/submissions/results put there by the operator."""
    root = tmp_path_factory.mktemp("isolation")
    with local_cloud(pipeline_copy("local-demo", root / "pipeline", three_labs), root / "state") as running:
        admin = running.client("s3")
        for lab in LABS:
            for folder, name in SEED.items():
                admin.put_object(Bucket=running.bucket, Key=f"{lab}/{folder}/{name}", Body=f"{lab} {folder}".encode())
        running.bucket_settings = bucket_settings(admin, running.bucket)
        yield running


def bucket_settings(admin, bucket) -> dict:
    """What the bucket-level probes would change, as the operator sees it."""
    try:
        policy = admin.get_bucket_policy(Bucket=bucket)["Policy"]
    except ClientError as error:
        policy = error.response["Error"]["Code"]  # NoSuchBucketPolicy: see gaps._bucket_policy
    return {"versioning": admin.get_bucket_versioning(Bucket=bucket).get("Status"), "policy": policy,
            "exists": admin.head_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"]}


def attempt(call) -> str:
    """ALLOWED, DENIED (403 AccessDenied) or the other error's code."""
    try:
        call()
    except ClientError as error:
        code = error.response["Error"]["Code"]
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return DENIED if code in ("AccessDenied", "403") or status == 403 else f"error {code}"
    return ALLOWED


def cross_lab_probes(s3, bucket, user, lab, other):
    """(action, target, what the policy says, call) a member of `lab` might try on `other`'s folders."""
    own_object = f"{lab}/inputs/{SEED['inputs']}"
    theirs = {folder: f"{other}/{folder}/{name}" for folder, name in SEED.items()}
    probes = [(f"get {folder}", key, DENIED, lambda k=key: s3.get_object(Bucket=bucket, Key=k)["Body"].read())
              for folder, key in theirs.items()]
    probes += [(f"put {folder}", f"{other}/{folder}/from-{user}.txt", DENIED,
                lambda f=folder: s3.put_object(Bucket=bucket, Key=f"{other}/{f}/from-{user}.txt", Body=b"x"))
               for folder in ("inputs", "configs", "submissions", "results")]
    probes += [
        ("delete inputs", theirs["inputs"], DENIED, lambda: s3.delete_object(Bucket=bucket, Key=theirs["inputs"])),
        ("delete results", theirs["results"], DENIED, lambda: s3.delete_object(Bucket=bucket, Key=theirs["results"])),
        ("copy into B (from A's own object)", f"{other}/inputs/copied-by-{user}.csv", DENIED,
         lambda: s3.copy_object(Bucket=bucket, Key=f"{other}/inputs/copied-by-{user}.csv",
                                CopySource={"Bucket": bucket, "Key": own_object})),
        ("copy out of B (into A's inputs)", f"{lab}/inputs/taken-from-{other}.csv", DENIED,
         lambda: s3.copy_object(Bucket=bucket, Key=f"{lab}/inputs/taken-from-{other}.csv",
                                CopySource={"Bucket": bucket, "Key": theirs["inputs"]})),
        ("list B's prefix", f"{other}/", DENIED, lambda: s3.list_objects_v2(Bucket=bucket, Prefix=f"{other}/")),
        ("get a key B does not have", f"{other}/inputs/none.csv", DENIED,
         lambda: s3.get_object(Bucket=bucket, Key=f"{other}/inputs/none.csv")),
    ]
    return probes


def bucket_probes(s3, bucket, user):
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "Takeover", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]})
    return [
        ("delete bucket", bucket, DENIED, lambda: s3.delete_bucket(Bucket=bucket)),
        ("put bucket policy", bucket, DENIED, lambda: s3.put_bucket_policy(Bucket=bucket, Policy=policy)),
        ("put bucket versioning", bucket, DENIED, lambda: s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})),
        ("list whole bucket", bucket, DENIED, lambda: s3.list_objects_v2(Bucket=bucket)),
    ]


def own_probes(s3, bucket, user, lab):
    return [
        ("put own inputs", f"{lab}/inputs/{user}.csv", ALLOWED,
         lambda: s3.put_object(Bucket=bucket, Key=f"{lab}/inputs/{user}.csv", Body=b"t,x\n0,1\n")),
        ("put own configs", f"{lab}/configs/{user}.json", ALLOWED,
         lambda: s3.put_object(Bucket=bucket, Key=f"{lab}/configs/{user}.json", Body=b"{}")),
        ("put own submissions", f"{lab}/submissions/{user}.txt", ALLOWED,
         lambda: s3.put_object(Bucket=bucket, Key=f"{lab}/submissions/{user}.txt", Body=b"note")),
        ("get own results", f"{lab}/results/{SEED['results']}", ALLOWED,
         lambda: s3.get_object(Bucket=bucket, Key=f"{lab}/results/{SEED['results']}")["Body"].read()),
        ("get own inputs", f"{lab}/inputs/{SEED['inputs']}", ALLOWED,
         lambda: s3.get_object(Bucket=bucket, Key=f"{lab}/inputs/{SEED['inputs']}")["Body"].read()),
        ("list own prefix", f"{lab}/", ALLOWED, lambda: s3.list_objects_v2(Bucket=bucket, Prefix=f"{lab}/")),
        ("put own results (the workers write those)", f"{lab}/results/{user}.json", DENIED,
         lambda: s3.put_object(Bucket=bucket, Key=f"{lab}/results/{user}.json", Body=b"{}")),
        # a lab may list only under its prefix, so a key it does not have is 403, not 404 (as on AWS)
        ("get own missing key", f"{lab}/results/none.json", DENIED,
         lambda: s3.get_object(Bucket=bucket, Key=f"{lab}/results/none.json")),
    ]


@pytest.fixture(scope="module")
def table(cloud):
    """Every probe, run once with each user's own credentials: a list of result rows."""
    rows = []
    for user, lab in USERS:
        s3 = cloud.client("s3", user)
        probes = [(lab, *p) for p in own_probes(s3, cloud.bucket, user, lab)]
        probes += [("bucket", *p) for p in bucket_probes(s3, cloud.bucket, user)]
        probes += [(other, *p) for other in LABS if other != lab
                   for p in cross_lab_probes(s3, cloud.bucket, user, lab, other)]
        for target_lab, action, target, policy, call in probes:
            rows.append({"user": user, "lab": lab, "on": target_lab, "action": action, "target": target,
                         "policy": policy, "got": attempt(call)})
    return rows


def render(rows) -> str:
    columns = ("user", "lab", "on", "action", "target", "policy", "got")
    titles = {"on": "on", "policy": "AWS (policy)", "got": "emulator"}
    widths = {c: max(len(titles.get(c, c)), *(len(str(r[c])) for r in rows)) for c in columns}
    lines = ["  ".join(titles.get(c, c).ljust(widths[c]) for c in columns),
             "  ".join("-" * widths[c] for c in columns)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in columns).rstrip() for r in rows]
    return "\n".join(lines)


@pytest.mark.slow
def test_print_isolation_table(table, cloud):
    wrong = [r for r in table if r["got"] != r["policy"]]
    print(f"\nLab isolation on the local cloud ({len(LABS)} labs, {len(USERS)} users, "
          f"{len(table)} requests, each with the user's own generated credentials):")
    print(render(table))
    print(f"{len(table) - len(wrong)} of {len(table)} as the policies say")
    assert table and not wrong, render(wrong)


@pytest.mark.slow
@pytest.mark.parametrize("user, lab, other", PAIRS, ids=[f"{u}({a})-on-{b}" for u, a, b in PAIRS])
def test_other_labs_folders_are_denied(table, cloud, user, lab, other):
    rows = [r for r in table if (r["user"], r["on"]) == (user, other)]
    assert len(rows) == 14  # 4 gets, 4 puts, 2 deletes, 2 copies, a listing, a missing key
    assert all(r["got"] == DENIED for r in rows), render(rows)
    # ... because of what the user's policies say, as the emulator holds them: listing only under
    # the lab's own prefix, reading only the lab's own keys (a copy's source is read)
    statements = user_statements(cloud, user)
    listing = [s for s in statements if "s3:ListBucket" in s["Action"]]
    assert listing and all(s["Condition"] == {"StringLike": {"s3:prefix": [f"{lab}/", f"{lab}/*"]}} for s in listing)
    readable = [r for s in statements if "s3:GetObject" in s["Action"] for r in s["Resource"]]
    assert readable == [f"arn:aws:s3:::{cloud.bucket}/{lab}/*"]


def user_statements(cloud, user) -> list[dict]:
    """Every Allow statement of the user's inline and group policies, read by the operator."""
    iam, found = cloud.client("iam"), []
    documents = [iam.get_user_policy(UserName=user, PolicyName=name)["PolicyDocument"]
                 for name in iam.list_user_policies(UserName=user)["PolicyNames"]]
    for group in iam.list_groups_for_user(UserName=user)["Groups"]:
        documents += [iam.get_group_policy(GroupName=group["GroupName"], PolicyName=name)["PolicyDocument"]
                      for name in iam.list_group_policies(GroupName=group["GroupName"])["PolicyNames"]]
    for document in documents:
        document = json.loads(document) if isinstance(document, str) else document
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow"
            found.append({**statement, "Action": _list(statement["Action"]), "Resource": _list(statement["Resource"])})
    assert not iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]
    return found


def _list(value) -> list:
    return value if isinstance(value, list) else [value]


@pytest.mark.slow
@pytest.mark.parametrize("user, lab", USERS, ids=[u for u, _ in USERS])
def test_bucket_itself_is_denied(table, cloud, user, lab):
    rows = [r for r in table if (r["user"], r["on"]) == (user, "bucket")]
    assert [r["action"] for r in rows] == ["delete bucket", "put bucket policy", "put bucket versioning",
                                           "list whole bucket"]
    assert all(r["got"] == DENIED for r in rows), render(rows)
    assert bucket_settings(cloud.client("s3"), cloud.bucket) == cloud.bucket_settings  # nothing changed


@pytest.mark.slow
@pytest.mark.parametrize("user, lab", USERS, ids=[u for u, _ in USERS])
def test_own_folders_allow_what_the_lab_needs(table, user, lab):
    rows = [r for r in table if (r["user"], r["on"]) == (user, lab)]
    assert {r["action"]: r["got"] for r in rows} == {
        "put own inputs": ALLOWED, "put own configs": ALLOWED, "put own submissions": ALLOWED,
        "get own results": ALLOWED, "get own inputs": ALLOWED, "list own prefix": ALLOWED,
        "put own results (the workers write those)": DENIED, "get own missing key": DENIED}, render(rows)


@pytest.mark.slow
def test_nothing_crossed_labs(cloud, table):
    """After every probe, no lab's folders hold an object another lab's user tried to put or copy
    there, nor a copy taken out of another lab's folder, and every seeded object is intact (checked
    by the operator)."""
    admin = cloud.client("s3")
    keys = [o["Key"] for page in admin.get_paginator("list_objects_v2").paginate(Bucket=cloud.bucket)
            for o in page.get("Contents", [])]
    intruders = [k for k in keys for u, lab in USERS if k.split("/")[0] != lab and
                 (f"from-{u}." in k or f"copied-by-{u}." in k)]
    assert not intruders and not [k for k in keys if "/taken-from-" in k]
    for lab, (folder, name) in itertools.product(LABS, SEED.items()):
        body = admin.get_object(Bucket=cloud.bucket, Key=f"{lab}/{folder}/{name}")["Body"].read()
        assert body == f"{lab} {folder}".encode()

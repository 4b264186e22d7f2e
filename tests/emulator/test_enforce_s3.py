"""enforce.py's S3 checks on a real moto server with IAM enforced, through boto3: bucket policies,
the source of a copy, missing keys, DeleteObjects; and bucket policies before IAM is enforced."""

import boto3
import pytest

from .conftest import ACCOUNT, REGION, allow, denied, deny, document, error_of

BUCKET = "ncap-enforce"
OBJECTS = f"arn:aws:s3:::{BUCKET}"
LAB_A = (allow("s3:ListBucket", OBJECTS, Condition={"StringLike": {"s3:prefix": ["lab-a/", "lab-a/*"]}}),
         allow(["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
               [f"{OBJECTS}/lab-a/inputs/*"]),
         allow("s3:GetObject", f"{OBJECTS}/lab-a/*"))
TLS_ONLY = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [OBJECTS, f"{OBJECTS}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


@pytest.fixture
def bucket(enforced):
    enforced.bucket(BUCKET, "lab-a/inputs/a.csv", "lab-b/inputs/b.csv")
    return enforced


def put_policy(enforced, *statements):
    enforced.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=document(*statements))


def get(s3, key):
    return lambda: s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


# --- bucket policies ----------------------------------------------------------------------------

def test_a_tls_only_bucket_policy_leaves_every_request_as_the_identity_policies_decide(bucket):
    put_policy(bucket, TLS_ONLY)
    s3 = bucket.client("s3", bucket.user("alice", *LAB_A))
    assert not denied(get(s3, "lab-a/inputs/a.csv")) and denied(get(s3, "lab-b/inputs/b.csv"))
    assert not denied(lambda: s3.list_objects_v2(Bucket=BUCKET, Prefix="lab-a/"))
    assert bucket.client("s3").list_objects_v2(Bucket=BUCKET)["KeyCount"] == 2  # the administrator


def test_a_deny_in_the_bucket_policy_denies_what_the_identity_policy_allows(bucket):
    alice = bucket.user("alice", *LAB_A, path="/ncap/p/")
    put_policy(bucket, deny("s3:GetObject", f"{OBJECTS}/lab-a/inputs/*",
                            Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/ncap/p/alice"}))
    ann = bucket.user("ann", *LAB_A, path="/ncap/p/")
    assert denied(get(bucket.client("s3", alice), "lab-a/inputs/a.csv"))
    assert not denied(get(bucket.client("s3", ann), "lab-a/inputs/a.csv"))


def test_a_deny_in_the_bucket_policy_applies_to_bucket_requests_too(bucket):
    alice = bucket.user("alice", *LAB_A)
    put_policy(bucket, deny("s3:ListBucket", OBJECTS, Principal="*"))
    assert denied(lambda: bucket.client("s3", alice).list_objects_v2(Bucket=BUCKET, Prefix="lab-a/"))


def test_an_allow_in_the_bucket_policy_grants_a_named_principal_of_the_account(bucket):
    reader = bucket.user("reader")  # no identity policy at all
    job = bucket.role("job", {"Effect": "Allow", "Principal": {"AWS": ACCOUNT}, "Action": "sts:AssumeRole"})
    session = bucket.assume(bucket.user("runner", allow("sts:AssumeRole")), job)
    put_policy(bucket,
               allow("s3:GetObject", f"{OBJECTS}/lab-b/*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/reader"}),
               allow("s3:GetObject", f"{OBJECTS}/lab-a/*", Principal={"AWS": job}))
    assert not denied(get(bucket.client("s3", reader), "lab-b/inputs/b.csv"))
    assert denied(get(bucket.client("s3", reader), "lab-a/inputs/a.csv"))
    assert not denied(get(bucket.client("s3", session), "lab-a/inputs/a.csv"))
    assert denied(get(bucket.client("s3", session), "lab-b/inputs/b.csv"))


def test_the_account_in_a_bucket_policy_grants_nothing_by_itself(bucket):
    put_policy(bucket, allow("s3:GetObject", f"{OBJECTS}/*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"}))
    assert denied(get(bucket.client("s3", bucket.user("nobody")), "lab-b/inputs/b.csv"))
    assert not denied(get(bucket.client("s3", bucket.user("alice", *LAB_A)), "lab-a/inputs/a.csv"))


def test_before_iam_is_enforced_only_statements_for_everyone_apply(moto_server):
    s3 = boto3.client("s3", endpoint_url=moto_server, region_name=REGION)
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="lab-a/inputs/a.csv", Body=b"a")
    s3.put_bucket_policy(Bucket=BUCKET, Policy=document(TLS_ONLY))
    assert s3.get_object(Bucket=BUCKET, Key="lab-a/inputs/a.csv")["Body"].read() == b"a"  # moto 5.2: 403
    s3.put_bucket_policy(Bucket=BUCKET, Policy=document(
        TLS_ONLY, deny("s3:GetObject", f"{OBJECTS}/lab-a/*", Principal="*"),
        deny("s3:PutObject", f"{OBJECTS}/*", Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:user/someone"})))
    assert denied(lambda: s3.get_object(Bucket=BUCKET, Key="lab-a/inputs/a.csv"))
    s3.put_object(Bucket=BUCKET, Key="lab-a/inputs/b.csv", Body=b"b")  # someone else's Deny


# --- the source of a copy -----------------------------------------------------------------------

def test_a_copy_needs_read_access_to_its_source(bucket):
    s3 = bucket.client("s3", bucket.user("alice", *LAB_A))

    def copy(source):
        return lambda: s3.copy_object(Bucket=BUCKET, Key="lab-a/inputs/copy.csv",
                                      CopySource={"Bucket": BUCKET, "Key": source})

    assert denied(copy("lab-b/inputs/b.csv"))  # moto 5.2 checks only s3:PutObject on the target
    assert not denied(copy("lab-a/inputs/a.csv"))
    assert bucket.client("s3").get_object(Bucket=BUCKET, Key="lab-a/inputs/copy.csv")["Body"].read() == b"lab-a/inputs/a.csv"


def test_a_copy_of_a_version_needs_read_access_to_versions(bucket):
    admin = bucket.client("s3")
    admin.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    version = admin.put_object(Bucket=BUCKET, Key="lab-a/inputs/v.csv", Body=b"v1")["VersionId"]
    s3 = bucket.client("s3", bucket.user("alice", *LAB_A))
    source = {"Bucket": BUCKET, "Key": "lab-a/inputs/v.csv", "VersionId": version}
    assert denied(lambda: s3.copy_object(Bucket=BUCKET, Key="lab-a/inputs/copy.csv", CopySource=source))
    reader = bucket.client("s3", bucket.user("ann", *LAB_A, allow("s3:GetObjectVersion", f"{OBJECTS}/lab-a/*")))
    assert not denied(lambda: reader.copy_object(Bucket=BUCKET, Key="lab-a/inputs/copy.csv", CopySource=source))


def test_an_upload_part_copy_needs_read_access_to_its_source(bucket):
    s3 = bucket.client("s3", bucket.user("alice", *LAB_A))
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="lab-a/inputs/big.csv")["UploadId"]

    def part(source):
        return lambda: s3.upload_part_copy(Bucket=BUCKET, Key="lab-a/inputs/big.csv", UploadId=upload, PartNumber=1,
                                           CopySource={"Bucket": BUCKET, "Key": source})

    assert denied(part("lab-b/inputs/b.csv")) and not denied(part("lab-a/inputs/a.csv"))
    s3.abort_multipart_upload(Bucket=BUCKET, Key="lab-a/inputs/big.csv", UploadId=upload)


def test_a_copy_source_denied_by_its_bucket_policy_is_denied(bucket):
    bucket.bucket("ncap-enforce-other", "shared/x.csv")
    bucket.client("s3").put_bucket_policy(Bucket="ncap-enforce-other", Policy=document(
        deny("s3:GetObject", "arn:aws:s3:::ncap-enforce-other/*", Principal="*")))
    s3 = bucket.client("s3", bucket.user("alice", *LAB_A, allow("s3:GetObject", "arn:aws:s3:::ncap-enforce-other/*")))
    assert denied(lambda: s3.copy_object(Bucket=BUCKET, Key="lab-a/inputs/x.csv",
                                         CopySource={"Bucket": "ncap-enforce-other", "Key": "shared/x.csv"}))


# --- missing keys -------------------------------------------------------------------------------

def test_a_missing_key_is_403_without_listbucket_and_404_with_it(bucket):
    lab = bucket.client("s3", bucket.user("alice", *LAB_A))  # lists only under a prefix: that does not count
    lister = bucket.client("s3", bucket.user("ann", *LAB_A, allow("s3:ListBucket", OBJECTS)))
    missing = "lab-a/results/job_1/logs/status.json"
    assert error_of(lambda: lab.get_object(Bucket=BUCKET, Key=missing)) == (403, "AccessDenied")
    assert error_of(lambda: lab.head_object(Bucket=BUCKET, Key=missing)) == (403, "403")
    assert error_of(lambda: lister.get_object(Bucket=BUCKET, Key=missing)) == (404, "NoSuchKey")
    assert error_of(lambda: lister.head_object(Bucket=BUCKET, Key=missing)) == (404, "404")
    assert error_of(lambda: lab.head_object(Bucket=BUCKET, Key="lab-a/inputs/a.csv")) is None
    assert error_of(lambda: lister.get_object(Bucket=BUCKET, Key="lab-b/nothing")) == (403, "AccessDenied")


def test_a_deleted_key_of_a_versioned_bucket_is_missing(bucket):
    admin = bucket.client("s3")
    admin.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    admin.put_object(Bucket=BUCKET, Key="lab-a/inputs/gone.csv", Body=b"g")
    admin.delete_object(Bucket=BUCKET, Key="lab-a/inputs/gone.csv")
    lab = bucket.client("s3", bucket.user("alice", *LAB_A))
    assert error_of(lambda: lab.get_object(Bucket=BUCKET, Key="lab-a/inputs/gone.csv")) == (403, "AccessDenied")


# --- DeleteObjects ------------------------------------------------------------------------------

def test_delete_objects_checks_each_key(bucket):
    """moto 5.2 checks s3:DeleteObject on the bucket's ARN, denying every key to a caller allowed
    to delete only some; AWS checks each key."""
    cleaner = bucket.client("s3", bucket.user("cleaner", allow("s3:DeleteObject", f"{OBJECTS}/lab-a/*")))
    answer = cleaner.delete_objects(Bucket=BUCKET, Delete={"Objects": [{"Key": "lab-a/inputs/a.csv"},
                                                                        {"Key": "lab-b/inputs/b.csv"}]})
    assert [d["Key"] for d in answer["Deleted"]] == ["lab-a/inputs/a.csv"]
    assert [(e["Key"], e["Code"]) for e in answer["Errors"]] == [("lab-b/inputs/b.csv", "AccessDenied")]
    left = [o["Key"] for o in bucket.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert left == ["lab-b/inputs/b.csv"]


def test_delete_objects_of_versions_needs_delete_object_version(bucket):
    admin = bucket.client("s3")
    admin.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    version = admin.put_object(Bucket=BUCKET, Key="lab-a/inputs/v.csv", Body=b"v")["VersionId"]
    entry = {"Objects": [{"Key": "lab-a/inputs/v.csv", "VersionId": version}]}
    plain = bucket.client("s3", bucket.user("cleaner", allow("s3:DeleteObject", f"{OBJECTS}/*")))
    assert [e["Code"] for e in plain.delete_objects(Bucket=BUCKET, Delete=entry)["Errors"]] == ["AccessDenied"]
    versions = bucket.client("s3", bucket.user("purger", allow("s3:DeleteObjectVersion", f"{OBJECTS}/*")))
    assert versions.delete_objects(Bucket=BUCKET, Delete=entry)["Deleted"][0]["VersionId"] == version

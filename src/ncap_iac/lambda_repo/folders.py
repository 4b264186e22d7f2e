"""Custom::AffiliateFolders: every lab's folders in the pipeline bucket; Custom::BucketEmptier: a
bucket emptied when the stack is deleted (the pipeline's access-log bucket).

Properties: BucketName, Affiliates (lab names), Folders (folder names), EmptyBucketOnDelete
("true"/"false"). A folder is an empty marker object `<affiliate>/<folder>/`.

- Create: puts every missing marker.
- Update: puts missing markers; removes the markers of dropped labs or folders only when nothing
  else lies under them. Lab data is never deleted.
- Delete: with EmptyBucketOnDelete "false", removes the markers of empty folders only; with
  "true", deletes every object version and delete marker so that the bucket itself can go.

Custom::BucketEmptier takes BucketName and EmptyBucketOnDelete only: it is a folders resource
without folders. Create and Update check that the bucket exists; Delete, with "true", deletes every
object version and delete marker.

Permissions used: s3:ListBucket on the bucket, s3:PutObject and s3:DeleteObject on `*/`;
with EmptyBucketOnDelete "true" also s3:ListBucketVersions, s3:DeleteObject and
s3:DeleteObjectVersion on every object.
"""
from dataclasses import dataclass

import boto3

from ncap_lambda.aws_errors import is_error
from ncap_lambda.cfn_response import custom_resource
from ncap_lambda.log import get_logger, log_decision
from ncap_lambda.properties import flag, name_list, text

LOG = get_logger("folders")
DELETE_BATCH = 1000  # objects per delete_objects call (the S3 maximum)
MISSING_BUCKET = ("404", "NoSuchBucket", "NotFound")
EMPTIER_TYPE = "Custom::BucketEmptier"


@dataclass(frozen=True)
class FolderSpec:
    bucket: str
    markers: tuple
    empty_on_delete: bool


def checked_segment(kind, name):
    """A lab or folder name usable as one segment of a key."""
    if "/" in name or name in (".", ".."):
        raise ValueError(f"{kind} name {name!r} cannot be a key segment")
    return name


def read_emptier_spec(properties):
    return FolderSpec(text(properties, "BucketName"), (), flag(properties, "EmptyBucketOnDelete"))


def read_spec(properties):
    bucket = text(properties, "BucketName")
    affiliates = [checked_segment("affiliate", a) for a in name_list(properties, "Affiliates")]
    folders = [checked_segment("folder", f) for f in name_list(properties, "Folders")]
    markers = tuple(f"{affiliate}/{folder}/" for affiliate in affiliates for folder in folders)
    return FolderSpec(bucket, markers, flag(properties, "EmptyBucketOnDelete"))


def bucket_exists(s3, bucket):
    try:
        s3.head_bucket(Bucket=bucket)
    except Exception as error:
        if is_error(error, *MISSING_BUCKET):
            return False
        raise
    return True


def require_bucket(s3, bucket):
    if not bucket_exists(s3, bucket):
        raise LookupError(f"bucket {bucket} does not exist")


def keys_under(s3, bucket, prefix, limit):
    """Up to `limit` keys starting with `prefix` (the prefix itself comes first)."""
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=limit)
    return [item["Key"] for item in listed.get("Contents", [])]


def ensure_markers(s3, bucket, markers):
    """Put every marker that is not there yet."""
    for key in markers:
        if keys_under(s3, bucket, key, 1) == [key]:
            log_decision(LOG, "keep-existing-marker", bucket=bucket, key=key)
            continue
        s3.put_object(Bucket=bucket, Key=key, Body=b"")
        log_decision(LOG, "put-marker", bucket=bucket, key=key)


def remove_marker_if_empty(s3, bucket, key):
    """Delete the marker `key` when no other object lies under it; lab data is never touched."""
    found = keys_under(s3, bucket, key, 2)
    if any(other != key for other in found):
        log_decision(LOG, "keep-folder-holding-data", bucket=bucket, key=key)
    elif not found:
        log_decision(LOG, "marker-already-gone", bucket=bucket, key=key)
    else:
        s3.delete_object(Bucket=bucket, Key=key)
        log_decision(LOG, "remove-empty-marker", bucket=bucket, key=key)


def all_versions(s3, bucket):
    """Every object version and delete marker of the bucket, as delete_objects entries."""
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            yield {"Key": entry["Key"], "VersionId": entry["VersionId"]}


def delete_batch(s3, bucket, batch):
    reply = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
    errors = reply.get("Errors", [])
    if errors:
        first = errors[0]
        raise RuntimeError(f"{len(errors)} objects of {bucket} were not deleted, "
                           f"first {first.get('Key')!r}: {first.get('Code')}")
    log_decision(LOG, "delete-version-batch", bucket=bucket, count=len(batch))
    return len(batch)


def empty_bucket(s3, bucket):
    """Delete every version and delete marker, in batches of DELETE_BATCH."""
    batch, deleted = [], 0
    for entry in all_versions(s3, bucket):
        batch.append(entry)
        if len(batch) >= DELETE_BATCH:
            deleted += delete_batch(s3, bucket, batch)
            batch = []
    if batch:
        deleted += delete_batch(s3, bucket, batch)
    log_decision(LOG, "emptied-bucket", bucket=bucket, deleted=deleted)


def create(s3, spec):
    require_bucket(s3, spec.bucket)
    ensure_markers(s3, spec.bucket, spec.markers)


def update(s3, spec, old):
    """Put the new markers; drop the empty markers of labs and folders no longer listed."""
    create(s3, spec)
    if old.bucket != spec.bucket:
        log_decision(LOG, "leave-old-bucket-to-its-delete", bucket=old.bucket)
        return
    kept = set(spec.markers)
    for key in old.markers:
        if key not in kept:
            remove_marker_if_empty(s3, spec.bucket, key)


def delete(s3, spec):
    if not bucket_exists(s3, spec.bucket):
        log_decision(LOG, "bucket-already-gone", bucket=spec.bucket)
    elif spec.empty_on_delete:
        empty_bucket(s3, spec.bucket)
    else:
        for key in spec.markers:
            remove_marker_if_empty(s3, spec.bucket, key)


@custom_resource
def handler(event, context):
    request = event["RequestType"]
    emptier = event.get("ResourceType") == EMPTIER_TYPE
    read = read_emptier_spec if emptier else read_spec
    spec = read(event["ResourceProperties"])
    s3 = boto3.client("s3")
    if request == "Create":
        create(s3, spec)
    elif request == "Update":
        update(s3, spec, read(event.get("OldResourceProperties", {})))
    elif request == "Delete":
        delete(s3, spec)
    else:
        raise ValueError(f"unknown RequestType {request!r}")
    return f"{spec.bucket}-{'emptier' if emptier else 'folders'}", {"Bucket": spec.bucket}

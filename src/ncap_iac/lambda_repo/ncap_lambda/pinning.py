"""A job runs with exactly what was submitted: each dataset and config of a submission is pinned
to the object version it names (the pipeline bucket is versioned), and the worker downloads those
versions, so that a later upload to the same key changes nothing for a job already submitted.

Which version a submission means:
- the one it gives in "versions" ({key: version id}; `ncap lab submit` writes them from its own
  uploads), when that version exists;
- else the newest version uploaded no later than the submit file itself (S3 times have whole
  seconds: one uploaded in the same second counts as before). An object whose only versions came
  after the submit file, or that was deleted at that time, is not part of the submission: it is
  REJECTED with the reason. A submission that must not depend on timing gives its versions.

In a bucket without versioning (none that ncap makes) nothing can be pinned: the job uses what is
there when it runs (the version is None)."""
from datetime import datetime

from .aws_errors import is_error
from .contract import MISSING
from .submission import NotPinned

# a version id that is not one of the key's (400), or names a delete marker (405)
NO_VERSION = ("NoSuchVersion", "InvalidArgument", "400", "MethodNotAllowed", "405")


class NotSubmitted(NotPinned):
    """The key has no version that belongs to the submission; `reason` says why."""


def whole_second(moment):
    return moment.replace(microsecond=0)


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def version_at(history, submitted_at, key):
    """The version id current at `submitted_at` among `history`, [(last modified, version id or
    None for a delete marker)] newest first; NotSubmitted when there was none."""
    limit = whole_second(submitted_at)
    for modified, version in history:
        if whole_second(modified) <= limit:
            if version is None:
                raise NotSubmitted(f"{key} was deleted when the submission was uploaded ({stamp(limit)})")
            return version
    raise NotSubmitted(f"{key} was uploaded after the submit file ({stamp(limit)}); upload the data and "
                       "config first, then the submit file")


def pinned_version(s3, bucket, key, submitted_at, given=None):
    """The version id of `key` the submission means (None in a bucket without versioning);
    NotSubmitted when there is none, or the given one does not exist."""
    if given is not None:
        return _given(s3, bucket, key, given)
    try:
        head = s3.head_object(Bucket=bucket, Key=key)
    except Exception as error:
        if is_error(error, *MISSING):
            raise NotSubmitted(f"not found: {key}") from None
        raise
    version = head.get("VersionId")
    if version in (None, "null") or whole_second(head["LastModified"]) <= whole_second(submitted_at):
        return None if version in (None, "null") else version
    return version_at(_history(s3, bucket, key), submitted_at, key)  # replaced since: look back


def _given(s3, bucket, key, version):
    try:
        s3.head_object(Bucket=bucket, Key=key, VersionId=version)
    except Exception as error:
        if is_error(error, *MISSING, *NO_VERSION):
            raise NotSubmitted(f"version {version} of {key} not found") from None
        raise
    return version


def _history(s3, bucket, key):
    """[(last modified, version id or None for a delete marker)] of exactly `key`, newest first."""
    found: list = []
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=key):
        found += [(item["LastModified"], item["VersionId"]) for item in page.get("Versions", [])
                  if item["Key"] == key]
        found += [(item["LastModified"], None) for item in page.get("DeleteMarkers", []) if item["Key"] == key]
    return sorted(found, key=lambda entry: _utc(entry[0]), reverse=True)


def _utc(moment):
    return moment if isinstance(moment, datetime) else datetime.fromisoformat(str(moment))

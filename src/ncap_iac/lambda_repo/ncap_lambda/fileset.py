"""Fileset mode: a job starts when every file of a stem (`LAB/inputs/x` + each suffix) exists."""
import hashlib
from dataclasses import replace

from . import job_store
from .jobs import Job, fileset_unit
from .submission import Rejected, checked_key, token_or_hash


def stem(settings, key):
    """(lab, stem) of `LAB/<inputs>/...<suffix>` (the longest matching suffix), else None."""
    parts = key.split("/")
    if len(parts) < 3 or not parts[0] or parts[1] != settings.inputs:
        return None
    matching = [suffix for suffix in settings.suffixes if key.endswith(suffix)]
    if not matching:
        return None
    return parts[0], key[:-len(max(matching, key=len))]


def job(settings, affiliate, stem_key, files, etags, configname):
    """One job for the whole set, named after the stem; its "etag" digests every file's ETag."""
    job_id = token_or_hash(stem_key.rsplit("/", 1)[-1], stem_key)
    etag = hashlib.sha256("\n".join(etags).encode("utf-8")).hexdigest()[:32]
    made = Job(settings.bucket, affiliate, settings.results, job_id, files[0], etag,
               configname=configname, stages=settings.stages)
    return replace(made, units=fileset_unit(made.results_path, files))


def default_config(s3, settings, affiliate):
    """`LAB/<configs>/<DEFAULT_CONFIG_NAME>` when set and present, else None."""
    if not settings.default_config_name:
        return None
    key = f"{affiliate}/{settings.configs}/{settings.default_config_name}"
    return key if job_store.exists(s3, settings.bucket, key) else None


def problem(settings, affiliate, files):
    """Why a fileset's keys are unsafe to hand to a worker, or None."""
    try:
        for name in files:
            checked_key("file", name, settings.bucket, affiliate, settings.inputs)
    except Rejected as rejection:
        return rejection.reason
    return None

"""A job and the documents made from it: status.json, certificate.txt, queue messages, notices.

Pure: nothing here touches AWS (see job_store for that)."""
import hashlib
import json
from dataclasses import dataclass, field

from . import contract


@dataclass(frozen=True)
class Unit:
    """One queue message: the dataset it is named by, every file it needs, where results go."""
    dataname: str
    datanames: tuple
    resultpath: str


@dataclass(frozen=True)
class Job:
    bucket: str
    affiliate: str
    results: str  # the results folder name
    job_id: str
    submit_key: str
    submit_etag: str
    configname: str | None = None
    units: tuple = field(default=())
    stages: tuple = ()  # the pipeline's stage names in order; none: one stage
    versions: tuple = ()  # (key, version id) each dataset and the config is pinned to (pinning.py)
    submit_version: str | None = None  # the submit file's version id (None without versioning)

    def version_of(self, key):
        return dict(self.versions).get(key)

    @property
    def prefix(self):
        return contract.job_prefix(self.affiliate, self.results, self.job_id)

    @property
    def status_key(self):
        return contract.status_key(self.prefix)

    @property
    def certificate_key(self):
        return contract.certificate_key(self.prefix)

    @property
    def results_path(self):
        return contract.results_path(self.prefix)


def dataset_units(results_path, keys):
    """One unit per dataset; with several, each gets a results folder named after its file."""
    if len(keys) == 1:
        return (Unit(keys[0], (keys[0],), results_path),)
    return tuple(Unit(key, (key,), f"{results_path}{key.rsplit('/', 1)[-1]}/") for key in keys)


def fileset_unit(results_path, files):
    """The single unit of a fileset: named by its first file, needing all of them."""
    return (Unit(files[0], tuple(files), results_path),)


def status_document(job, status, reason, queued, updated):
    datasets = {unit.dataname: unit.resultpath for unit in job.units} if status == contract.QUEUED else {}
    return contract.new_document(job, status, reason, datasets, queued, updated, job.stages)


def certificate_text(job, status, reason, updated, pipeline_version=None):
    """A short human-readable summary of the job, written beside status.json."""
    lines = ["NCAP job certificate", "",
             *([f"pipeline:    version {pipeline_version}"] if pipeline_version else []),
             f"job id:      {job.job_id}", f"lab:         {job.affiliate}",
             f"submit file: s3://{job.bucket}/{job.submit_key}",
             f"config:      {pinned(job, job.configname) if job.configname else '(none)'}",
             f"status:      {status}", f"reason:      {reason or '-'}", "datasets:"]
    lines += [f"  {' + '.join(pinned(job, name) for name in unit.datanames)} -> {unit.resultpath}"
              for unit in job.units] or ["  (none)"]
    lines += [f"time:        {updated}", ""]
    return "\n".join(lines)


def pinned(job, key):
    """A key as the certificate shows it: with the version the job runs with."""
    version = job.version_of(key)
    return f"{key} (version {version})" if version else key


def message_body(job, unit):
    first = job.stages[0] if job.stages else None
    return json.dumps(contract.message(job, unit.dataname, unit.datanames, unit.resultpath, first),
                      sort_keys=True)


def deduplication_id(job, unit):
    return hashlib.sha256(f"{job.job_id}\n{unit.dataname}".encode()).hexdigest()


def message_entries(job, fifo):
    """send_message_batch entries, one per unit; FIFO ones grouped by lab."""
    entries = []
    for index, unit in enumerate(job.units):
        entry = {"Id": str(index), "MessageBody": message_body(job, unit)}
        if fifo:
            entry.update(MessageGroupId=job.affiliate,
                         MessageDeduplicationId=deduplication_id(job, unit))
        entries.append(entry)
    return entries


def notice(job, status, reason):
    """(subject, message) of the SNS notice sent to the lab."""
    return contract.notice(job.job_id, job.affiliate, status, reason, [
        ("submit file", f"s3://{job.bucket}/{job.submit_key}"),
        ("status", f"s3://{job.bucket}/{job.status_key}")])

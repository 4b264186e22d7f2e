"""The job role, part of the job contract: the IAM path and name the template gives it and the
worker assumes, the session tag that names the lab a session is for, and the STS session names.
Standard library only, like contract.py.

One job role per pipeline, not one per lab: its policy reaches the folders of the lab its session
is tagged with (`${aws:PrincipalTag/ncap-lab}`), so that IAM confines each session to one lab while
300 labs x 5 pipelines stay far inside an account's 1,000 roles."""
import hashlib
import re

ROLE_NAME_LIMIT = 64  # IAM
SESSION_NAME_LIMIT = 64  # STS
SESSION_SECONDS_LIMIT = 3600  # a session assumed with a role's credentials lasts at most an hour


def job_role_path(pipeline):
    """The IAM path of a pipeline's job roles: what the worker role may assume."""
    return f"/ncap/{pipeline}/jobs/"


LAB_TAG = "ncap-lab"  # the session tag naming the lab a job-role session reaches


def job_role_name(pipeline):
    """The role every lab's jobs run with, one per pipeline (role names are unique in an account,
    case-insensitively, and at most 64 characters: a long one ends in a digest)."""
    name = f"{pipeline}-jobs"
    if len(name) <= ROLE_NAME_LIMIT:
        return name
    digest = hashlib.sha256(pipeline.encode()).hexdigest()[:10]
    return f"{pipeline[:48]}-jobs-{digest}"


def session_name(kind, name):
    """An STS session name (`job-<id>`, `agent-<instance>`): shown in CloudTrail as who did what."""
    return re.sub(r"[^\w+=,.@-]", "-", f"{kind}-{name}", flags=re.ASCII)[:SESSION_NAME_LIMIT]

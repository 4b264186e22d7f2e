"""The labs' job roles, part of the job contract: the IAM path and names the template gives them
and the worker assumes, and the STS session names. Standard library only, like contract.py."""
import hashlib
import re

ROLE_NAME_LIMIT = 64  # IAM
SESSION_NAME_LIMIT = 64  # STS
SESSION_SECONDS_LIMIT = 3600  # a session assumed with a role's credentials lasts at most an hour


def job_role_path(pipeline):
    """The IAM path of a pipeline's job roles: what the worker role may assume."""
    return f"/ncap/{pipeline}/jobs/"


def job_role_name(pipeline, affiliate):
    """The role a lab's jobs run with: one per lab and pipeline (role names are unique in an
    account, case-insensitively, and at most 64 characters: long ones end in a digest)."""
    name = f"{pipeline}-job-{affiliate}"
    if len(name) <= ROLE_NAME_LIMIT:
        return name
    digest = hashlib.sha256(f"{pipeline}/{affiliate}".encode()).hexdigest()[:10]
    return f"{pipeline[:24]}-job-{affiliate[:24]}-{digest}"


def session_name(kind, name):
    """An STS session name (`job-<id>`, `agent-<instance>`): shown in CloudTrail as who did what."""
    return re.sub(r"[^\w+=,.@-]", "-", f"{kind}-{name}", flags=re.ASCII)[:SESSION_NAME_LIMIT]

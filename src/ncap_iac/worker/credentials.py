"""Job credentials: each job reaches its own lab's data, and nothing else.

Each lab has a job role (template/jobs.py) that only the worker instance role may assume. The
agent assumes it in two ways:
- for itself, once per lab (session `agent-<instance>`, refreshed before it expires): the S3 client
  it downloads inputs, writes status.json and uploads outputs and the job log with. The instance
  role itself reaches no lab data at all.
- for each job's command (session `job-<job id>`), narrowed by a session policy to reading the
  lab's inputs and configs and the job's own result path, and writing only that result path.

The command gets its credentials from the agent's loopback endpoint (endpoint.py), which assumes
the job session again before it expires: a session assumed with a role's credentials lasts at
most an hour (role chaining), and keys put into an environment cannot be renewed, while a job may
run for days."""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from ..lambda_repo.ncap_lambda.roles import LAB_TAG, SESSION_SECONDS_LIMIT, job_role_name, session_name
from .aws import describe

SESSION_SECONDS = SESSION_SECONDS_LIMIT
RENEW_BEFORE = 20 * 60  # seconds before expiry a session is assumed again (SDKs refresh at 15 min)


class CredentialsError(RuntimeError):
    """The job role could not be assumed: the attempt fails with this reason."""


@dataclass(frozen=True)
class LabFolders:
    """The folder names of every lab (the config's Folders)."""
    inputs: str = "inputs"
    configs: str = "configs"
    results: str = "results"
    logs: str = "logs"

    @classmethod
    def parse(cls, text: str) -> LabFolders:
        """`inputs,configs,results,logs` (as --folders gives them)."""
        parts = [part.strip() for part in text.split(",")]
        if len(parts) != 4 or not all(parts) or any("/" in part for part in parts):
            raise ValueError("--folders: give four folder names, inputs,configs,results,logs")
        return cls(*parts)


@dataclass(frozen=True)
class Session:
    access_key_id: str
    secret_access_key: str
    session_token: str
    expires: float  # epoch seconds

    def fresh(self, now: float | None = None) -> bool:
        return self.expires - (time.time() if now is None else now) > RENEW_BEFORE

    def as_container_document(self) -> dict:
        """What AWS SDKs read from a container credentials endpoint."""
        expiration = datetime.fromtimestamp(self.expires, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {"AccessKeyId": self.access_key_id, "SecretAccessKey": self.secret_access_key,
                "Token": self.session_token, "Expiration": expiration}

    def as_botocore_metadata(self) -> dict:
        expiry = datetime.fromtimestamp(self.expires, timezone.utc).isoformat()
        return {"access_key": self.access_key_id, "secret_key": self.secret_access_key,
                "token": self.session_token, "expiry_time": expiry}


def object_arn(partition: str, bucket: str, pattern: str) -> str:
    return f"arn:{partition}:s3:::{bucket}/{pattern}"


def job_session_policy(partition: str, task, folders: LabFolders) -> dict:
    """What one job's command may do, on top of (never beyond) its lab's job role: read the lab's
    inputs and configs and its own result path; write and list only under the latter."""
    lab, bucket, results = task.affiliate, task.bucket, task.output_path
    stages = [task.status_key.removesuffix("logs/status.json") + "stages/"] if task.input_prefix else []
    reads = [f"{lab}/{folders.inputs}/", f"{lab}/{folders.configs}/", results, *stages]  # stages: the job's own
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadInputs", "Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion"],
         "Resource": [object_arn(partition, bucket, prefix + "*") for prefix in reads]},
        {"Sid": "WriteOwnResults", "Effect": "Allow",
         "Action": ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:PutObject"],
         "Resource": [object_arn(partition, bucket, results + "*")]},
        {"Sid": "ListInputs", "Effect": "Allow", "Action": ["s3:ListBucket"],
         "Resource": [f"arn:{partition}:s3:::{bucket}"],
         "Condition": {"StringLike": {"s3:prefix": [prefix + "*" for prefix in reads]}}},
    ]}


class JobRoles:
    """The labs' job roles of one pipeline, as the agent assumes them."""

    def __init__(self, sts, role_prefix: str, pipeline: str, agent_name: str, folders: LabFolders,
                 make_s3):
        self.sts, self.role_prefix, self.pipeline = sts, role_prefix, pipeline
        self.agent_name, self.folders, self._make_s3 = agent_name, folders, make_s3
        self.partition = role_prefix.split(":")[1] if role_prefix.count(":") >= 5 else "aws"
        self._lock = threading.Lock()
        self._agent_clients: dict[str, object] = {}

    def role_arn(self) -> str:
        return self.role_prefix + job_role_name(self.pipeline)

    def assume(self, affiliate: str, session: str, policy: dict | None = None) -> Session:
        """A session of the job role for one lab: tagged with it, so that IAM lets it reach that
        lab's folders only (template/jobs.py)."""
        arguments = {"RoleArn": self.role_arn(), "RoleSessionName": session, "DurationSeconds": SESSION_SECONDS,
                     "Tags": [{"Key": LAB_TAG, "Value": affiliate}]}
        if policy is not None:
            arguments["Policy"] = json.dumps(policy, separators=(",", ":"))
        try:
            found = self.sts.assume_role(**arguments)["Credentials"]
        except Exception as error:
            raise CredentialsError(f"cannot assume the job role of lab {affiliate}: {describe(error)}") from error
        expires = found["Expiration"]
        return Session(found["AccessKeyId"], found["SecretAccessKey"], found["SessionToken"],
                       expires.timestamp() if isinstance(expires, datetime) else time.time() + SESSION_SECONDS)

    def agent_s3(self, affiliate: str):
        """The agent's own S3 client for a lab (made once, its credentials renewed as they age)."""
        with self._lock:
            client = self._agent_clients.get(affiliate)
            if client is None:
                name = session_name("agent", self.agent_name)
                client = self._make_s3(lambda: self.assume(affiliate, name))
                self._agent_clients[affiliate] = client
            return client

    def job_session(self, task) -> Session:
        return self.assume(task.affiliate, session_name("job", task.job_id),
                           job_session_policy(self.partition, task, self.folders))

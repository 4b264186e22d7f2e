"""Each lab's job role: what the lab's jobs reach. Only the worker instance role may assume it
(the instance role itself reaches no lab data). It reads the lab's inputs and configs, reads and
writes the lab's job folders (`results/job_*` and `logs/job_*`) and lists those three places,
nothing else: no other lab, no submissions, no queue, topic, secret or IAM. For each job the
agent narrows it further with a session policy to that job's own result path
(worker/credentials.py)."""
from __future__ import annotations

from troposphere import AWSObject
from troposphere.iam import Policy, Role

from .. import names
from ..config.model import Affiliate, StackConfig
from ..lambda_repo.ncap_lambda.roles import SESSION_SECONDS_LIMIT, job_role_name, job_role_path
from . import iam


def job_role(config: StackConfig, affiliate: Affiliate, worker_role) -> AWSObject:
    """The lab's job role; `worker_role` is the ARN of the worker instance role."""
    pipeline = config.pipeline_name
    trust = iam.document({"Effect": "Allow", "Principal": {"AWS": worker_role}, "Action": "sts:AssumeRole"})
    return Role(names.job_role(affiliate.name), RoleName=job_role_name(pipeline, affiliate.name),
                Path=job_role_path(pipeline), AssumeRolePolicyDocument=trust,
                MaxSessionDuration=SESSION_SECONDS_LIMIT,
                Policies=[Policy(PolicyName="lab-jobs", PolicyDocument=iam.document(*_statements(config, affiliate)))])


def _statements(config: StackConfig, affiliate: Affiliate) -> list[dict]:
    bucket, lab, f = config.pipeline_name, affiliate.name, config.folders
    inputs = [f"{lab}/{f.inputs}/*", f"{lab}/{f.configs}/*"]
    job_folders = [f"{lab}/{f.results}/job_*", f"{lab}/{f.logs}/job_*"]
    return [
        iam.statement("ReadLabInputs", ["s3:GetObject", "s3:GetObjectVersion"],  # a job's inputs: pinned versions
                      [iam.object_arn(bucket, p) for p in inputs + job_folders]),
        iam.statement("WriteJobFolders", ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:PutObject"],
                      [iam.object_arn(bucket, p) for p in job_folders]),
        iam.statement("ListLabInputsAndJobs", ["s3:ListBucket"], [iam.bucket_arn(bucket)],
                      condition={"StringLike": {"s3:prefix": inputs + job_folders}}),
    ]

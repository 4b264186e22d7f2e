"""The job role: what a lab's jobs reach. One per pipeline: each session of it is tagged with its
lab (`ncap-lab`, roles.LAB_TAG) and the role's policy names the folders of the lab in the session's
tag (`${aws:PrincipalTag/ncap-lab}`), so IAM confines every session to one lab's folders. Only the
worker instance role may assume it, and only with that tag (the instance role itself reaches no lab
data). A session reads its lab's inputs and configs (any version), reads and writes its lab's job
folders (`results/job_*` and `logs/job_*`) and lists those places, nothing else: no other lab, no
submissions, no queue, topic, secret or IAM. For each job the agent narrows it further with a
session policy to that job's own result path (worker/credentials.py).

One role instead of one per lab keeps 300 labs x 5 pipelines inside an account's 1,000 roles."""
from __future__ import annotations

from troposphere import AWSObject
from troposphere.iam import Policy, Role

from .. import names
from ..config.model import StackConfig
from ..lambda_repo.ncap_lambda.roles import LAB_TAG, SESSION_SECONDS_LIMIT, job_role_name, job_role_path
from . import iam

LAB = f"${{aws:PrincipalTag/{LAB_TAG}}}"  # the lab of the session, in a policy
LAB_IN_SUB = f"${{!aws:PrincipalTag/{LAB_TAG}}}"  # the same inside Fn::Sub (which would resolve it)


def job_role(config: StackConfig, worker_role) -> AWSObject:
    """The pipeline's job role; `worker_role` is the ARN of the worker instance role."""
    pipeline = config.pipeline_name
    trust = iam.document({"Effect": "Allow", "Principal": {"AWS": worker_role},
                          "Action": ["sts:AssumeRole", "sts:TagSession"],
                          "Condition": {"StringLike": {f"aws:RequestTag/{LAB_TAG}": "?*"},
                                        "ForAllValues:StringEquals": {"aws:TagKeys": [LAB_TAG]}}})
    return Role(names.JOB_ROLE, RoleName=job_role_name(pipeline), Path=job_role_path(pipeline),
                AssumeRolePolicyDocument=trust, MaxSessionDuration=SESSION_SECONDS_LIMIT,
                Policies=[Policy(PolicyName="lab-jobs", PolicyDocument=iam.document(*_statements(config)))])


def _statements(config: StackConfig) -> list[dict]:
    bucket, f = config.pipeline_name, config.folders

    def places(lab: str) -> tuple[list[str], list[str]]:
        return [f"{lab}/{f.inputs}/*", f"{lab}/{f.configs}/*"], [f"{lab}/{f.results}/job_*", f"{lab}/{f.logs}/job_*"]

    inputs, job_folders = places(LAB_IN_SUB)
    listed_inputs, listed_jobs = places(LAB)
    return [
        iam.statement("ReadLabInputs", ["s3:GetObject", "s3:GetObjectVersion"],  # a job's inputs: pinned versions
                      [iam.object_arn(bucket, p) for p in inputs + job_folders]),
        iam.statement("WriteJobFolders", ["s3:AbortMultipartUpload", "s3:ListMultipartUploadParts", "s3:PutObject"],
                      [iam.object_arn(bucket, p) for p in job_folders]),
        iam.statement("ListLabInputsAndJobs", ["s3:ListBucket"], [iam.bucket_arn(bucket)],
                      condition={"StringLike": {"s3:prefix": listed_inputs + listed_jobs}}),
    ]

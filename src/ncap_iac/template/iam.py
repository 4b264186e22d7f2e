"""Small builders for least-privilege IAM: ARNs scoped to this stack, statements, roles."""
from __future__ import annotations

from troposphere import GetAtt, Sub
from troposphere.iam import Policy, Role

PARTITION_S3 = "arn:${AWS::Partition}:s3:::"
ACCOUNT_SCOPE = "${AWS::Partition}:%s:${AWS::Region}:${AWS::AccountId}"


def bucket_arn(bucket: str) -> Sub:
    return Sub(PARTITION_S3 + bucket)


def object_arn(bucket: str, key_pattern: str) -> Sub:
    """ARN of objects in the pipeline bucket, e.g. object_arn(b, '*/results/*')."""
    return Sub(f"{PARTITION_S3}{bucket}/{key_pattern}")


def service_arn(service: str, resource: str) -> Sub:
    """arn:<partition>:<service>:<region>:<account>:<resource> for this stack's region and account."""
    return Sub("arn:" + ACCOUNT_SCOPE % service + ":" + resource)


def iam_arn(resource: str) -> Sub:
    return Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:" + resource)


def statement(sid: str, actions: list[str], resources: list, condition: dict | None = None,
              effect: str = "Allow") -> dict:
    entry: dict = {"Sid": sid, "Effect": effect, "Action": sorted(actions), "Resource": resources}
    if condition:
        entry["Condition"] = condition
    return entry


def document(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def assume_role(service: str) -> dict:
    return document({"Effect": "Allow", "Principal": {"Service": [service]},
                     "Action": ["sts:AssumeRole"]})


def service_role(logical_id: str, service: str, policy_name: str, statements: list[dict]) -> Role:
    """A role the given service assumes, with one inline least-privilege policy."""
    return Role(logical_id, AssumeRolePolicyDocument=assume_role(service),
                Policies=[Policy(PolicyName=policy_name, PolicyDocument=document(*statements))])


def arn_of(logical_id: str) -> GetAtt:
    return GetAtt(logical_id, "Arn")

"""Who each process of the local cloud is, as on AWS: workers are instances of the stack's worker
group, acting with the worker role; each function's handler acts with its own role. Both get
their role's credentials the way the service would (emulator/services.py: the AWS services'
stand-in assumes the role), never the local cloud's administrator keys.

The emulator does not expire sessions, so a local process keeps the credentials it started with;
the expiry is left out of their environment (botocore would refuse keys past it and could not
renew them from the environment). On AWS the instance role's credentials are renewed by the
metadata service and a function's by Lambda."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

from ..aws.clients import Aws
from ..emulator import services
from ..errors import NcapError

INSTANCE_WAIT_SECONDS = 20.0


@dataclass(frozen=True)
class Identities:
    """The services' stand-in's keys on one emulator, and what it assumes roles with."""
    aws: Aws  # the local cloud's administrator
    service_keys: tuple[str, str]
    _functions: dict = field(default_factory=dict, repr=False)  # function name -> its settings, made once

    @classmethod
    def on(cls, aws: Aws) -> Identities:
        return cls(aws, services.service_user(aws))

    def role_environment(self, role_arn: str, session: str) -> dict[str, str]:
        """AWS settings of a process acting as `role_arn` (session `session`) on this emulator."""
        found = services.role_credentials(self.aws.endpoint or "", self.aws.region, self.service_keys, role_arn,
                                          session)
        found.pop("AWS_CREDENTIAL_EXPIRATION", None)
        return {**found, "AWS_ENDPOINT_URL": self.aws.endpoint or "", "AWS_REGION": self.aws.region,
                "AWS_DEFAULT_REGION": self.aws.region}

    def as_function(self, function_name: str) -> dict[str, str]:
        """A function's handler settings: its role (as the emulator's Lambda knows it), session
        named after the function, as Lambda names it."""
        if function_name not in self._functions:  # one session per function, as a warm Lambda keeps its own
            role = lambda_client(self.aws).get_function(FunctionName=function_name)["Configuration"]["Role"]
            self._functions[function_name] = self.role_environment(role, function_name)
        return dict(self._functions[function_name])

    def role_arn(self, role_name: str) -> str:
        return self.aws.iam.get_role(RoleName=role_name)["Role"]["Arn"]


def lambda_client(aws: Aws):
    """The emulator's Lambda API. moto checks the signature of a body-less GET against its form
    data rather than the empty body, so with IAM enforced every Lambda read would be refused as
    SignatureDoesNotMatch; those GETs are sent with "{}" as their body (what moto signs)."""
    client = aws.client("lambda")
    if not getattr(client, "ncap_signed_body", False):
        client.meta.events.register("before-sign.lambda", _body_for_get)
        client.ncap_signed_body = True
    return client


def _body_for_get(request, **_) -> None:
    if request.method == "GET" and not request.data:
        request.data = b"{}"


def instances(aws: Aws, group: str, count: int, timeout: float = INSTANCE_WAIT_SECONDS) -> list[str]:
    """`count` instances of the worker group (its desired capacity raised to `count` when lower):
    the ids the local workers act as, sorted."""
    autoscaling = aws.client("autoscaling")
    [found] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    if count > found["MaxSize"]:
        raise NcapError(f"--workers {count}: the worker group {group} has at most {found['MaxSize']} instances "
                        "(Workers.MaxSize)")
    if count > found["DesiredCapacity"]:
        autoscaling.set_desired_capacity(AutoScalingGroupName=group, DesiredCapacity=count, HonorCooldown=False)
    deadline = time.monotonic() + timeout
    while True:
        [found] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
        ids = sorted(i["InstanceId"] for i in found["Instances"] if i["LifecycleState"] == "InService")
        if len(ids) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    if len(ids) < count:
        raise NcapError(f"the worker group {group} has {len(ids)} instances in service, not {count}")
    return ids[:count]

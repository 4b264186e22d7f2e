"""The ARN a non-S3 request acts on: taken from the request as AWS would authorize it (moto asks
about `*`), so that statements naming a queue, topic, role, group or secret match their own
resource and no other."""
import json
from types import SimpleNamespace

from ncap_iac.emulator.resources import resource_arn


def request(service, action, data=None, body=None):
    return SimpleNamespace(_service=service, _action=action, _region="us-east-1", account_id="123456789012",
                           _data=data or {}, _body=body)


def test_each_service_names_the_resource_of_the_request():
    url = "http://localhost:5000/123456789012/jobs"
    assert resource_arn(request("sqs", "sqs:SendMessage", body=json.dumps({"QueueUrl": url}))) == \
        "arn:aws:sqs:us-east-1:123456789012:jobs"
    assert resource_arn(request("sqs", "sqs:PurgeQueue", {"QueueUrl": [url]})) == "arn:aws:sqs:us-east-1:123456789012:jobs"
    assert resource_arn(request("sns", "sns:Publish", {"TopicArn": ["arn:aws:sns:us-east-1:1:t"]})) == \
        "arn:aws:sns:us-east-1:1:t"
    assert resource_arn(request("sts", "sts:AssumeRole", {"RoleArn": ["arn:aws:iam::1:role/ncap/p/jobs/r"]})) == \
        "arn:aws:iam::1:role/ncap/p/jobs/r"
    group = resource_arn(request("autoscaling", "autoscaling:SetInstanceProtection", {"AutoScalingGroupName": ["g"]}))
    assert group.startswith("arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:")
    assert group.endswith(":autoScalingGroupName/g")
    assert resource_arn(request("secretsmanager", "secretsmanager:GetSecretValue",
                                body=json.dumps({"SecretId": "ncap/p/keys/alice"}))) == \
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:ncap/p/keys/alice"


def test_requests_without_a_named_resource_stay_on_star():
    assert resource_arn(request("sqs", "sqs:ListQueues")) is None
    assert resource_arn(request("iam", "iam:ListUsers")) is None
    assert resource_arn(request("sqs", "sqs:SendMessage", body="not json")) is None


def test_iam_users_and_groups_carry_the_path_iam_keeps_for_them():
    made = request("iam", "iam:CreateAccessKey", {"UserName": ["alice"]})
    made.backend = SimpleNamespace(users={"alice": SimpleNamespace(path="/ncap/p/")}, groups={})
    assert resource_arn(made) == "arn:aws:iam::123456789012:user/ncap/p/alice"
    new = request("iam", "iam:CreateUser", {"UserName": ["bob"], "Path": ["/ncap/p/"]})
    new.backend = SimpleNamespace(users={}, groups={})
    assert resource_arn(new) == "arn:aws:iam::123456789012:user/ncap/p/bob"
    joined = request("iam", "iam:AddUserToGroup", {"UserName": ["alice"], "GroupName": ["lab-a"]})
    joined.backend = SimpleNamespace(users={}, groups={"lab-a": SimpleNamespace(path="/ncap/p/")})
    assert resource_arn(joined) == "arn:aws:iam::123456789012:group/ncap/p/lab-a"

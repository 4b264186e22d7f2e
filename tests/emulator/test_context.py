"""A stack's context for resolving intrinsics: made from a template alone (simulated events and
`ncap invoke` without a deployment: the values AWS would give each named resource), or from a
live stack on a moto server (its physical ids as listed, plus the groups moto does not list)."""
import json

import pytest

from ncap_iac.aws.clients import Aws
from ncap_iac.emulator.context import live_context, named_resources, placeholder_context, types_of
from ncap_iac.emulator.intrinsics import resolve
from ncap_iac.errors import NcapError

ACCOUNT = "123456789012"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
TEMPLATE = {"Resources": {
    "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "ctx-jobs"}},
    "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "ctx-notices"}},
    "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "ctx-bucket"}},
    "Role": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "ctx-role", "AssumeRolePolicyDocument": TRUST}},
    "Group": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "ctx-lab"}},
}}


def test_a_placeholder_context_gives_each_named_resource_the_id_aws_would():
    context = placeholder_context({"Resources": {
        **TEMPLATE["Resources"],
        "Submit": {"Type": "AWS::Serverless::Function", "Properties": {"FunctionName": "ctx-submit"}},
        "Monitor": {"Type": "AWS::Lambda::Function", "Properties": {"FunctionName": "ctx-monitor"}},
    }}, "eu-west-1", ACCOUNT, "ctx")
    assert context.physical_ids == {
        "Queue": f"https://sqs.eu-west-1.amazonaws.com/{ACCOUNT}/ctx-jobs",
        "Topic": f"arn:aws:sns:eu-west-1:{ACCOUNT}:ctx-notices",
        "Bucket": "ctx-bucket", "Role": "ctx-role", "Group": "ctx-lab",
        "Submit": "ctx-submit", "Monitor": "ctx-monitor"}
    assert (context.region, context.account, context.stack_name) == ("eu-west-1", ACCOUNT, "ctx")
    assert resolve({"Fn::GetAtt": ["Queue", "Arn"]}, context) == f"arn:aws:sqs:eu-west-1:{ACCOUNT}:ctx-jobs"
    assert resolve({"Fn::GetAtt": ["Submit", "Arn"]}, context) == \
        f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:ctx-submit"


def test_a_placeholder_topic_arn_carries_the_regions_partition():
    context = placeholder_context(TEMPLATE, "cn-north-1", ACCOUNT, "ctx")
    assert context.physical_ids["Topic"] == f"arn:aws-cn:sns:cn-north-1:{ACCOUNT}:ctx-notices"
    assert context.partition == "aws-cn"


def test_a_placeholder_context_leaves_out_what_has_no_name_of_its_own():
    """A resource without a name property (or with a computed one) has no id before deployment:
    resolving it is the clear error, not a made-up value."""
    context = placeholder_context({"Resources": {
        "Anonymous": {"Type": "AWS::SQS::Queue", "Properties": {}},
        "Computed": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": {"Fn::Sub": "${AWS::StackName}-x"}}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"AlarmName": "a"}},
    }}, "us-east-1", ACCOUNT, "ctx")
    assert context.physical_ids == {}
    assert context.types == {"Anonymous": "AWS::SQS::Queue", "Computed": "AWS::S3::Bucket",
                             "Alarm": "AWS::CloudWatch::Alarm"}
    with pytest.raises(NcapError, match=r"the stack has no resource Anonymous \(Ref Anonymous\)"):
        resolve({"Ref": "Anonymous"}, context)


def test_with_resources_adds_to_a_copy():
    context = placeholder_context(TEMPLATE, "us-east-1", ACCOUNT, "ctx")
    more = context.with_resources({"Bucket": "other-bucket", "Extra": "x"}, {"Extra": "AWS::S3::Bucket"})
    assert (more.ref("Bucket"), more.ref("Extra"), more.types["Extra"]) == ("other-bucket", "x", "AWS::S3::Bucket")
    assert context.ref("Bucket") == "ctx-bucket" and "Extra" not in context.physical_ids


def test_types_and_named_groups_of_a_template():
    assert types_of(TEMPLATE)["Group"] == "AWS::IAM::Group" and len(types_of(TEMPLATE)) == 5
    assert types_of({}) == {}
    assert named_resources(TEMPLATE) == {"Group": "ctx-lab"}


def test_a_live_context_has_the_stacks_ids_and_its_groups(moto_server):
    """moto's CloudFormation makes the queue, topic, bucket and role but skips the group (and
    lists no id for it): its id is the name the template gives it."""
    aws = Aws("us-east-1", moto_server)
    stack_id = aws.cloudformation.create_stack(StackName="ctx", TemplateBody=json.dumps(TEMPLATE))["StackId"]
    context = live_context(aws, stack_id, TEMPLATE)
    topic_arn = aws.sns.list_topics()["Topics"][0]["TopicArn"]
    assert (context.region, context.account, context.stack_name) == ("us-east-1", ACCOUNT, "ctx")
    queue_url = context.physical_ids.pop("Queue")
    assert queue_url.endswith(f"/{ACCOUNT}/ctx-jobs")  # the queue's URL, which the SQS API takes
    assert context.physical_ids == {"Topic": topic_arn, "Bucket": "ctx-bucket", "Role": "ctx-role", "Group": "ctx-lab"}
    context.physical_ids["Queue"] = queue_url
    assert context.types == types_of(TEMPLATE)
    assert resolve({"Fn::GetAtt": ["Queue", "Arn"]}, context) == aws.sqs.get_queue_attributes(
        QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert resolve({"Fn::GetAtt": ["Role", "Arn"]}, context) == aws.iam.get_role(RoleName="ctx-role")["Role"]["Arn"]
    # what a placeholder context guesses for these is what the emulator gave them
    guessed = placeholder_context(TEMPLATE, "us-east-1", ACCOUNT, "ctx")
    assert guessed.physical_ids == context.physical_ids


def test_a_live_context_of_a_stack_name_and_of_no_stack(moto_server):
    aws = Aws("us-east-1", moto_server)
    aws.cloudformation.create_stack(StackName="ctx", TemplateBody=json.dumps(TEMPLATE))
    assert live_context(aws, "ctx", TEMPLATE).ref("Bucket") == "ctx-bucket"
    nothing = live_context(aws, "no-such-stack", TEMPLATE)
    assert nothing.physical_ids == {"Group": "ctx-lab"} and nothing.stack_name == "no-such-stack"

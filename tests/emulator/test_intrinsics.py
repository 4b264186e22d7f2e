"""CloudFormation's intrinsic functions as the emulator package resolves them against a stack: each
function, GetAtt of every attribute the templates use, the pseudo parameters (the partition of
China and GovCloud regions goes into every ARN), and an unknown resource or attribute as one
error that names it."""
import base64

import pytest

from ncap_iac.emulator.context import StackContext
from ncap_iac.emulator.intrinsics import resolve
from ncap_iac.errors import NcapError

ACCOUNT = "123456789012"
QUEUE_URL = f"https://sqs.us-east-1.amazonaws.com/{ACCOUNT}/lab-jobs"
TOPIC_ARN = f"arn:aws:sns:us-east-1:{ACCOUNT}:lab-notices"
STACK_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/lab-nested/abc"
RESOURCES = {  # logical id: (type, physical id)
    "JobQueue": ("AWS::SQS::Queue", QUEUE_URL),
    "Topic": ("AWS::SNS::Topic", TOPIC_ARN),
    "Submit": ("AWS::Serverless::Function", "lab-submit"),
    "Monitor": ("AWS::Lambda::Function", "lab-monitor"),
    "Role": ("AWS::IAM::Role", "lab-role"),
    "Group": ("AWS::IAM::Group", "lab-group"),
    "Profile": ("AWS::IAM::InstanceProfile", "lab-profile"),
    "Bucket": ("AWS::S3::Bucket", "lab-bucket"),
    "Launch": ("AWS::EC2::LaunchTemplate", "lt-0123"),
    "Nested": ("AWS::CloudFormation::Stack", STACK_ID),
    "Odd": ("AWS::Made::Up", "odd-1"),
}


def context(region="us-east-1", stack="lab") -> StackContext:
    return StackContext(region, ACCOUNT, stack, {k: p for k, (_, p) in RESOURCES.items()},
                        {k: t for k, (t, _) in RESOURCES.items()})


def test_ref_gives_the_physical_id():
    assert resolve({"Ref": "JobQueue"}, context()) == QUEUE_URL
    assert resolve({"Ref": "Bucket"}, context()) == "lab-bucket"
    assert resolve({"Ref": "Odd"}, context()) == "odd-1"  # Ref needs no known type


@pytest.mark.parametrize("name, attribute, expected", [
    pytest.param("JobQueue", "Arn", f"arn:aws:sqs:us-east-1:{ACCOUNT}:lab-jobs", id="queue-arn"),
    pytest.param("JobQueue", "QueueName", "lab-jobs", id="queue-name"),
    pytest.param("JobQueue", "QueueUrl", QUEUE_URL, id="queue-url"),
    pytest.param("Topic", "TopicArn", TOPIC_ARN, id="topic-arn"),
    pytest.param("Topic", "TopicName", "lab-notices", id="topic-name"),
    pytest.param("Submit", "Arn", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:lab-submit", id="sam-function-arn"),
    pytest.param("Monitor", "Arn", f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:lab-monitor", id="function-arn"),
    pytest.param("Role", "Arn", f"arn:aws:iam::{ACCOUNT}:role/lab-role", id="role-arn"),
    pytest.param("Group", "Arn", f"arn:aws:iam::{ACCOUNT}:group/lab-group", id="group-arn"),
    pytest.param("Profile", "Arn", f"arn:aws:iam::{ACCOUNT}:instance-profile/lab-profile", id="profile-arn"),
    pytest.param("Bucket", "Arn", "arn:aws:s3:::lab-bucket", id="bucket-arn"),
    pytest.param("Launch", "LatestVersionNumber", "1", id="launch-template-version"),
    pytest.param("Nested", "Arn", STACK_ID, id="nested-stack-arn"),
])
def test_get_att_of_each_supported_attribute(name, attribute, expected):
    assert resolve({"Fn::GetAtt": [name, attribute]}, context()) == expected
    assert resolve({"Fn::GetAtt": f"{name}.{attribute}"}, context()) == expected  # the short form


def test_get_att_takes_an_attribute_name_that_is_itself_resolved():
    assert resolve({"Fn::GetAtt": ["JobQueue", {"Fn::Join": ["", ["Queue", "Name"]]}]}, context()) == "lab-jobs"


def test_pseudo_parameters():
    assert resolve([{"Ref": "AWS::Region"}, {"Ref": "AWS::AccountId"}, {"Ref": "AWS::Partition"},
                    {"Ref": "AWS::StackName"}, {"Ref": "AWS::URLSuffix"}, {"Ref": "AWS::NoValue"}],
                   context("eu-west-1", "my-stack")) == ["eu-west-1", ACCOUNT, "aws", "my-stack", "amazonaws.com", None]


@pytest.mark.parametrize("region, partition", [
    pytest.param("us-east-1", "aws", id="commercial"),
    pytest.param("cn-north-1", "aws-cn", id="china"),
    pytest.param("cn-northwest-1", "aws-cn", id="china-northwest"),
    pytest.param("us-gov-west-1", "aws-us-gov", id="govcloud"),
    pytest.param("us-gov-east-1", "aws-us-gov", id="govcloud-east"),
])
def test_the_partition_follows_the_region_and_goes_into_every_arn(region, partition):
    c = context(region)
    assert resolve({"Ref": "AWS::Partition"}, c) == partition
    assert resolve({"Fn::GetAtt": ["Bucket", "Arn"]}, c) == f"arn:{partition}:s3:::lab-bucket"
    assert resolve({"Fn::GetAtt": ["JobQueue", "Arn"]}, c) == f"arn:{partition}:sqs:{region}:{ACCOUNT}:lab-jobs"
    assert resolve({"Fn::GetAtt": ["Role", "Arn"]}, c) == f"arn:{partition}:iam::{ACCOUNT}:role/lab-role"
    assert resolve({"Fn::Sub": "arn:${AWS::Partition}:s3:::x"}, c) == f"arn:{partition}:s3:::x"


def test_sub_replaces_refs_attributes_and_pseudo_parameters():
    text = "${Bucket}|${JobQueue.QueueName}|${AWS::Region}|${AWS::AccountId}"
    assert resolve({"Fn::Sub": text}, context()) == f"lab-bucket|lab-jobs|us-east-1|{ACCOUNT}"


def test_sub_keeps_a_literal_written_with_an_exclamation_mark():
    assert resolve({"Fn::Sub": "echo ${!HOME} in ${Bucket} and ${!Bucket.Arn}"}, context()) == \
        "echo ${HOME} in lab-bucket and ${Bucket.Arn}"


def test_sub_variables_are_resolved_and_come_before_resources():
    value = {"Fn::Sub": ["${Queue} ${Where} ${Bucket} ${Count}", {
        "Queue": {"Fn::GetAtt": ["JobQueue", "Arn"]}, "Where": {"Ref": "AWS::Region"},
        "Bucket": "not-the-resource", "Count": 3}]}
    assert resolve(value, context()) == f"arn:aws:sqs:us-east-1:{ACCOUNT}:lab-jobs us-east-1 not-the-resource 3"


def test_join_resolves_its_parts_and_writes_numbers_as_text():
    value = {"Fn::Join": ["/", [{"Ref": "Bucket"}, "inputs", 7, {"Fn::GetAtt": ["Topic", "TopicName"]}]]}
    assert resolve(value, context()) == "lab-bucket/inputs/7/lab-notices"
    assert resolve({"Fn::Join": ["", []]}, context()) == ""


def test_base64_encodes_the_resolved_text():
    encoded = resolve({"Fn::Base64": {"Fn::Sub": "#!/bin/bash\necho ${Bucket}\n"}}, context())
    assert base64.b64decode(encoded).decode() == "#!/bin/bash\necho lab-bucket\n"


def test_get_azs_and_select():
    assert resolve({"Fn::GetAZs": ""}, context("eu-west-2")) == ["eu-west-2a", "eu-west-2b", "eu-west-2c"]
    assert resolve({"Fn::Select": [1, {"Fn::GetAZs": ""}]}, context()) == "us-east-1b"
    assert resolve({"Fn::Select": ["0", [{"Ref": "Bucket"}, "x"]]}, context()) == "lab-bucket"


def test_values_inside_lists_and_objects_are_resolved_and_plain_values_kept():
    value = {"Variables": {"BUCKET": {"Ref": "Bucket"}, "MODE": "submit", "N": 3, "ON": True},
             "List": [{"Ref": "Group"}, None, "text"]}
    assert resolve(value, context()) == {"Variables": {"BUCKET": "lab-bucket", "MODE": "submit", "N": 3, "ON": True},
                                         "List": ["lab-group", None, "text"]}
    # an object of one key that is not an intrinsic function is a plain object
    assert resolve({"Name": {"Ref": "Bucket"}}, context()) == {"Name": "lab-bucket"}


@pytest.mark.parametrize("value, message", [
    pytest.param({"Ref": "Missing"}, "the stack has no resource Missing (Ref Missing)", id="ref"),
    pytest.param({"Fn::Sub": "x-${Missing}"}, "the stack has no resource Missing (Ref Missing)", id="sub-ref"),
    pytest.param({"Fn::GetAtt": ["Missing", "Arn"]}, "the stack has no resource Missing (Ref Missing)", id="get-att"),
    pytest.param({"Fn::GetAtt": ["JobQueue", "Nope"]}, "cannot resolve JobQueue.Nope (AWS::SQS::Queue)",
                 id="unknown-attribute"),
    pytest.param({"Fn::Sub": "${Bucket.DomainName}"}, "cannot resolve Bucket.DomainName (AWS::S3::Bucket)",
                 id="sub-unknown-attribute"),
    pytest.param({"Fn::GetAtt": ["Odd", "Arn"]}, "cannot resolve Odd.Arn (AWS::Made::Up)", id="unknown-type"),
])
def test_an_unknown_resource_or_attribute_is_an_error_naming_it(value, message):
    with pytest.raises(NcapError) as raised:
        resolve(value, context())
    assert str(raised.value) == message


def test_an_attribute_of_a_resource_of_no_known_type_says_so():
    bare = StackContext("us-east-1", ACCOUNT, "lab", {"Thing": "t-1"}, {})
    with pytest.raises(NcapError, match=r"^cannot resolve Thing.Arn \(unknown type\)$"):
        resolve({"Fn::GetAtt": "Thing.Arn"}, bare)

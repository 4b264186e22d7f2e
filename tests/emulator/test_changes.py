"""Finishing a stack change on the emulator: the order resources are made in, what a change adds,
removes and modifies, and complete() on a real stack of the moto server: custom resources answered
by their handler, skipped resources made, changed and removed, each effect seen through boto3."""
import json

import pytest

from ncap_iac.emulator.changes import dependency_order, plan


def test_resources_are_listed_dependencies_first():
    resources = {
        "Function": {"Type": "AWS::Lambda::Function", "DependsOn": "LogGroup",
                     "Properties": {"Role": {"Fn::GetAtt": ["Role", "Arn"]}}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "Properties": {"Dimensions": [{"Value": {"Fn::Sub": "${Queue.Arn}-x"}}]}},
        "LogGroup": {"Type": "AWS::Logs::LogGroup"},
        "Queue": {"Type": "AWS::SQS::Queue"},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {"Name": {"Ref": "AWS::StackName"}}},
    }
    ordered = list(dependency_order({"Resources": resources})["Resources"])
    assert ordered == ["Queue", "Alarm", "LogGroup", "Role", "Function"]


def test_a_plan_says_what_was_added_removed_and_modified():
    old = {"A": {"Type": "X"}, "B": {"Type": "X", "Properties": {"P": 1}}, "C": {"Type": "X"}}
    new = {"B": {"Type": "X", "Properties": {"P": 2}}, "C": {"Type": "X"}, "D": {"Type": "X"}}
    assert plan(old, new) == {"added": ["D"], "removed": ["A"], "modified": ["B"]}


# --- complete() on a stack of the moto server ---------------------------------------------------

MARKER_HANDLER = '''import json, os, urllib.request

import boto3


def handler(event, context):
    """A custom resource whose effect is one S3 object: made on Create, moved on Update, removed on
    Delete; answers at the ResponseURL as CloudFormation's handlers do."""
    props = event["ResourceProperties"]
    with open(os.environ["RECORD"], "a") as record:
        record.write(json.dumps([event["RequestType"], event.get("PhysicalResourceId"), props["Key"],
                                 (event.get("OldResourceProperties") or {}).get("Key")]) + "\\n")
    s3 = boto3.client("s3")
    if event["RequestType"] in ("Update", "Delete"):
        gone = event.get("OldResourceProperties") or props
        s3.delete_object(Bucket=gone["Bucket"], Key=gone["Key"])
    if event["RequestType"] in ("Create", "Update"):
        s3.put_object(Bucket=props["Bucket"], Key=props["Key"], Body=b"marker")
    answer = {"Status": "SUCCESS", "Reason": "", "PhysicalResourceId": "marker-1", "StackId": event["StackId"],
              "RequestId": event["RequestId"], "LogicalResourceId": event["LogicalResourceId"], "Data": {},
              "NoEcho": False}
    body = json.dumps(answer).encode()
    request = urllib.request.Request(event["ResponseURL"], data=body, method="PUT",
                                     headers={"Content-Type": "", "Content-Length": str(len(body))})
    urllib.request.urlopen(request, timeout=10).read()
    return answer
'''
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def group_policy(*actions):
    return [{"PolicyName": "LabFiles", "PolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(actions), "Resource": "arn:aws:s3:::chg-bucket/lab-a/*"}]}}]


def translated(key="markers/one", actions=("s3:GetObject",), extra_group=True) -> dict:
    """A tiny translated template: a bucket, a lab group (moto's CloudFormation skips groups) and
    a custom resource."""
    resources = {
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "chg-bucket"}},
        "GroupLabA": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "chg-lab-a",
                                                                "Policies": group_policy(*actions)}},
        "MarkerFunctionRole": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}},
        "MarkerFunction": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": "chg-marker", "Runtime": "python3.12", "Handler": "index.handler",
            "Role": {"Fn::GetAtt": ["MarkerFunctionRole", "Arn"]}, "Code": {"ZipFile": "def handler(e, c): pass"}}},
        "Marker": {"Type": "Custom::Marker", "Properties": {
            "ServiceToken": {"Fn::GetAtt": ["MarkerFunction", "Arn"]}, "Bucket": {"Ref": "Bucket"}, "Key": key}},
    }
    if extra_group:
        resources["GroupLabB"] = {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "chg-lab-b"}}
    return dependency_order({"Resources": resources})


@pytest.fixture
def sam_template(tmp_path):
    """The compiled SAM template the handlers are found through: MarkerFunction, its code in a
    CodeUri folder of its own."""
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "chg_marker_handler.py").write_text(MARKER_HANDLER)
    path = tmp_path / "compiled_template.json"
    path.write_text(json.dumps({"Resources": {"MarkerFunction": {"Type": "AWS::Serverless::Function", "Properties": {
        "CodeUri": "code", "Handler": "chg_marker_handler.handler", "FunctionName": "chg-marker",
        "Environment": {"Variables": {"RECORD": str(tmp_path / "requests.jsonl")}}}}}}))
    return path


def requests_seen(sam_template) -> list:
    record = sam_template.parent / "requests.jsonl"
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def keys(aws) -> list[str]:
    return sorted(o["Key"] for o in aws.s3.list_objects_v2(Bucket="chg-bucket").get("Contents", []))


def group_names(aws) -> list[str]:
    return sorted(g["GroupName"] for g in aws.iam.list_groups()["Groups"])


def lab_actions(aws) -> list[str]:
    document = aws.iam.get_group_policy(GroupName="chg-lab-a", PolicyName="LabFiles")["PolicyDocument"]
    return document["Statement"][0]["Action"]


def create(aws, sam_template):
    from ncap_iac.emulator.changes import Snapshot, complete

    first = translated()
    stack_id = aws.cloudformation.create_stack(StackName="chg", TemplateBody=json.dumps(first),
                                               Capabilities=["CAPABILITY_NAMED_IAM"])["StackId"]
    return stack_id, first, complete(Snapshot(), first, aws, stack_id, sam_template)


def update(aws, stack_id, sam_template):
    from ncap_iac.emulator.changes import complete, snapshot

    before = snapshot(aws, stack_id)
    second = translated("markers/two", ("s3:GetObject", "s3:PutObject"), extra_group=False)
    cfn = aws.cloudformation  # as `ncap deploy --method changeset` changes a stack
    change_set = cfn.create_change_set(StackName="chg", ChangeSetName="chg-update", ChangeSetType="UPDATE",
                                       TemplateBody=json.dumps(second), Capabilities=["CAPABILITY_NAMED_IAM"])["Id"]
    assert cfn.describe_change_set(ChangeSetName=change_set)["Status"] == "CREATE_COMPLETE"  # moto: at once
    cfn.execute_change_set(ChangeSetName=change_set)
    return before, second, complete(before, second, aws, stack_id, sam_template)


def test_complete_creates_updates_and_removes_what_moto_leaves_out(moto_server, sam_template):
    from ncap_iac.aws.clients import Aws
    from ncap_iac.aws.stacks import wait_settled
    from ncap_iac.emulator.changes import remove_all

    aws = Aws("us-east-1", moto_server, ("testing", "testing"))
    stack_id, first, done = create(aws, sam_template)
    assert done.answered == ["Marker Create"] and (done.provisioned, done.removed) == (2, 0)  # the two groups
    assert wait_settled(aws.cloudformation, stack_id, 30)["StackStatus"] == "CREATE_COMPLETE"
    assert group_names(aws) == ["chg-lab-a", "chg-lab-b"]
    assert lab_actions(aws) == ["s3:GetObject"]
    assert keys(aws) == ["markers/one"]
    assert "emulator: ran the handlers of 1 custom resource requests (Marker Create)" in done.summary()

    before, second, done = update(aws, stack_id, sam_template)
    assert set(before.resources) == set(first["Resources"])
    assert done.answered == ["Marker Update"] and (done.provisioned, done.removed) == (1, 1)
    assert lab_actions(aws) == ["s3:GetObject", "s3:PutObject"], "the changed group policy is put"
    assert group_names(aws) == ["chg-lab-a"], "the group taken out of the template is deleted"
    assert keys(aws) == ["markers/two"], "the custom resource got Update with its old properties"
    assert [(r[0], r[2], r[3]) for r in requests_seen(sam_template)] == [
        ("Create", "markers/one", None), ("Update", "markers/two", "markers/one")]

    done = remove_all(second, aws, stack_id, sam_template)
    assert done.answered == ["Marker Delete"] and done.removed == 1
    assert keys(aws) == [] and group_names(aws) == []
    assert [(r[0], r[2], r[3]) for r in requests_seen(sam_template)][2:] == [("Delete", "markers/two", None)]


def test_update_and_delete_carry_the_physical_id_the_create_answered(moto_server, sam_template):
    from ncap_iac.aws.clients import Aws
    from ncap_iac.emulator.changes import remove_all

    aws = Aws("us-east-1", moto_server, ("testing", "testing"))
    stack_id, _, _ = create(aws, sam_template)
    _, second, _ = update(aws, stack_id, sam_template)
    remove_all(second, aws, stack_id, sam_template)
    assert [r[:2] for r in requests_seen(sam_template)] == [["Create", None], ["Update", "marker-1"],
                                                            ["Delete", "marker-1"]]


def test_a_removed_resource_that_its_deletion_policy_keeps_is_left_alone(moto_server, sam_template):
    """A bucket policy kept with its bucket (DeletionPolicy Retain) outlives the stack."""
    from ncap_iac.aws.clients import Aws
    from ncap_iac.emulator.changes import Snapshot, complete, remove_all

    aws = Aws("us-east-1", moto_server, ("testing", "testing"))
    statement = {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                 "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::chg-bucket/*"}
    template = {"Resources": {
        "Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain", "Properties": {"BucketName": "chg-bucket"}},
        "BucketPolicy": {"Type": "AWS::S3::BucketPolicy", "DeletionPolicy": "Retain", "Properties": {
            "Bucket": {"Ref": "Bucket"}, "PolicyDocument": {"Version": "2012-10-17", "Statement": [statement]}}}}}
    stack_id = aws.cloudformation.create_stack(StackName="chg", TemplateBody=json.dumps(template))["StackId"]
    complete(Snapshot(), template, aws, stack_id, sam_template)
    assert json.loads(aws.s3.get_bucket_policy(Bucket="chg-bucket")["Policy"])["Statement"] == [statement]

    done = remove_all(template, aws, stack_id, sam_template)

    assert done.removed == 0
    assert json.loads(aws.s3.get_bucket_policy(Bucket="chg-bucket")["Policy"])["Statement"] == [statement]

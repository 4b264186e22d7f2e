"""Custom resources on the emulator: the request event CloudFormation would send for Create,
Update and Delete, and the real handler (here a tiny one, in a CodeUri folder of its own) run in
this process with the emulator's settings; an answer other than SUCCESS is a DeployError that
names the resource and gives the handler's reason."""
import json
from pathlib import Path

import pytest

from ncap_iac.aws.clients import Aws
from ncap_iac.emulator.context import StackContext
from ncap_iac.emulator.custom_resources import (
    Request,
    environment,
    event,
    is_custom,
    response_url,
    send,
    service_function,
)
from ncap_iac.errors import DeployError

ACCOUNT = "123456789012"
STACK_ID = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/lab/0a1b"
ENDPOINT = "http://localhost:4566"
FOLDERS = {"Type": "Custom::AffiliateFolders", "Properties": {
    "ServiceToken": {"Fn::GetAtt": ["FoldersFunction", "Arn"]},
    "BucketName": {"Ref": "PipelineBucket"}, "Affiliates": ["lab-a", "lab-b"], "Folders": ["inputs"]}}


def context(bucket="lab-bucket") -> StackContext:
    return StackContext("eu-west-1", ACCOUNT, "lab", {"FoldersFunction": "lab-folders", "PipelineBucket": bucket},
                        {"FoldersFunction": "AWS::Serverless::Function", "PipelineBucket": "AWS::S3::Bucket"})


FUNCTION_ARN = f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:lab-folders"


def test_a_create_request_is_the_event_cloudformation_sends():
    made = event(Request("Create", "AffiliateFolders", FOLDERS, context()), STACK_ID, ENDPOINT)
    assert made == {
        "RequestType": "Create", "ServiceToken": FUNCTION_ARN,
        "ResponseURL": f"{ENDPOINT}/cloudformation_eu-west-1/cfnresponse?stack={STACK_ID}",
        "StackId": STACK_ID, "RequestId": "ncap-create-AffiliateFolders", "LogicalResourceId": "AffiliateFolders",
        "ResourceType": "Custom::AffiliateFolders",
        "ResourceProperties": {"ServiceToken": FUNCTION_ARN, "BucketName": "lab-bucket",
                               "Affiliates": ["lab-a", "lab-b"], "Folders": ["inputs"]}}
    assert made["ResponseURL"] == response_url(ENDPOINT, "eu-west-1", STACK_ID)


def test_an_update_request_carries_the_physical_id_and_the_old_properties():
    old = {**FOLDERS, "Properties": {**FOLDERS["Properties"], "Affiliates": ["lab-a"]}}
    request = Request("Update", "AffiliateFolders", FOLDERS, context("new-bucket"), "folders-1", old,
                      context("old-bucket"))
    made = event(request, STACK_ID, ENDPOINT)
    assert (made["RequestType"], made["RequestId"], made["PhysicalResourceId"]) == \
        ("Update", "ncap-update-AffiliateFolders", "folders-1")
    assert made["ResourceProperties"]["BucketName"] == "new-bucket"
    assert made["ResourceProperties"]["Affiliates"] == ["lab-a", "lab-b"]
    # the old properties resolve against the stack as it was
    assert made["OldResourceProperties"] == {"ServiceToken": FUNCTION_ARN, "BucketName": "old-bucket",
                                             "Affiliates": ["lab-a"], "Folders": ["inputs"]}


def test_a_delete_request_without_a_known_physical_id_uses_the_logical_id():
    made = event(Request("Delete", "AffiliateFolders", FOLDERS, context()), STACK_ID, ENDPOINT)
    assert (made["RequestType"], made["RequestId"], made["PhysicalResourceId"]) == \
        ("Delete", "ncap-delete-AffiliateFolders", "AffiliateFolders")
    assert "OldResourceProperties" not in made
    given = event(Request("Delete", "AffiliateFolders", FOLDERS, context(), "folders-1"), STACK_ID, ENDPOINT)
    assert given["PhysicalResourceId"] == "folders-1"


def test_which_resources_are_custom_and_which_function_serves_them():
    assert is_custom(FOLDERS) and is_custom({"Type": "AWS::CloudFormation::CustomResource"})
    assert not is_custom({"Type": "AWS::S3::Bucket"}) and not is_custom({})
    assert service_function(FOLDERS, context(), Path("unused.json")) == "FoldersFunction"
    assert service_function({"Properties": {"ServiceToken": {"Fn::GetAtt": "UsersFunction.Arn"}}}, context(),
                            Path("unused.json")) == "UsersFunction"


def test_a_nested_templates_service_token_is_found_by_its_function_name(tmp_path):
    """In a lab's nested template the ServiceToken is a parameter: the ARN the parent passed."""
    template = tmp_path / "compiled_template.json"
    template.write_text(json.dumps({"Resources": {"UsersFunction": {"Type": "AWS::Serverless::Function",
                                                                      "Properties": {"FunctionName": "p-users"}}}}))
    passed = context().with_resources({"UsersFunctionArn": "arn:aws:lambda:us-east-1:123456789012:function:p-users"}, {})
    resource = {"Properties": {"ServiceToken": {"Ref": "UsersFunctionArn"}}}
    assert service_function(resource, passed, template) == "UsersFunction"
    with pytest.raises(DeployError, match="names no function of"):
        service_function({"Properties": {"ServiceToken": "arn:aws:lambda:us-east-1:1:function:other"}}, passed,
                         template)


def test_the_handlers_environment_is_the_emulators():
    assert environment(Aws("eu-west-1", ENDPOINT)) == {
        "AWS_ENDPOINT_URL": ENDPOINT, "AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-west-1"}
    assert environment(Aws("eu-west-1", ENDPOINT, ("AKIA1", "s3cret")))["AWS_SECRET_ACCESS_KEY"] == "s3cret"


# --- send(): the handler run in this process ----------------------------------------------------

HANDLER = '''import json, os


def handler(event, context):
    with open(os.environ["RECORD"], "w") as record:
        json.dump({"event": event, "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
                   "key": os.environ.get("AWS_ACCESS_KEY_ID"), "function": context.function_name}, record)
    answer = os.environ["ANSWER"]
    if answer == "raise":
        raise RuntimeError("the bucket is gone")
    if answer == "nothing":
        return None
    return {"Status": answer, "Reason": "lab-b: access denied" if answer == "FAILED" else "",
            "PhysicalResourceId": "folders-1"}
'''


@pytest.fixture
def sam_template(tmp_path, request):
    """A template whose FoldersFunction is a tiny handler (a module name of this test's own:
    handlers are imported by module name) that records the event and answers as told."""
    def make(answer: str):
        module = f"answer_{request.node.name.replace('[', '_').replace(']', '').replace('-', '_')}"
        code = tmp_path / "code"
        code.mkdir(exist_ok=True)
        (code / f"{module}.py").write_text(HANDLER)
        template = tmp_path / "template.json"
        template.write_text(json.dumps({"Resources": {"FoldersFunction": {
            "Type": "AWS::Serverless::Function", "Properties": {
                "CodeUri": "code", "Handler": f"{module}.handler", "FunctionName": "lab-folders",
                "Environment": {"Variables": {"RECORD": str(tmp_path / "record.json"), "ANSWER": answer}}}}}}))
        return template
    return make


def recorded(template) -> dict:
    return json.loads((template.parent / "record.json").read_text())


def test_a_successful_answer_is_reported_and_the_handler_got_the_request(sam_template):
    template = sam_template("SUCCESS")
    aws = Aws("eu-west-1", ENDPOINT, ("AKIAEMULATOR", "secret"))
    assert send(Request("Create", "AffiliateFolders", FOLDERS, context()), aws, STACK_ID, template) == \
        "folders-1"  # the physical id the handler answered
    seen = recorded(template)
    assert seen["event"] == event(Request("Create", "AffiliateFolders", FOLDERS, context()), STACK_ID, ENDPOINT)
    assert (seen["endpoint"], seen["key"], seen["function"]) == (ENDPOINT, "AKIAEMULATOR", "lab-folders")


@pytest.mark.parametrize("answer, reason", [
    pytest.param("FAILED", "lab-b: access denied", id="answers-failed"),
    pytest.param("raise", "the bucket is gone", id="raises"),
    pytest.param("nothing", "no answer", id="answers-nothing"),
])
def test_an_answer_other_than_success_is_an_error_naming_the_resource(sam_template, answer, reason):
    template = sam_template(answer)
    with pytest.raises(DeployError) as raised:
        send(Request("Update", "AffiliateFolders", FOLDERS, context(), "folders-1", FOLDERS, context()),
             Aws("eu-west-1", ENDPOINT), STACK_ID, template)
    assert str(raised.value) == f"custom resource AffiliateFolders (Update) failed on the emulator: {reason}"
    assert recorded(template)["event"]["RequestType"] == "Update"

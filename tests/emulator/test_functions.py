"""A Lambda handler of a compiled template run in this process: what function_spec reads from the
template (and the one-line errors when it cannot), the environment's precedence (template, then
the env-vars file's Parameters, then the function's own section, as `sam local invoke
--env-vars`), and the Invocation a call gives back (a result, or Lambda's error document)."""
import json
import os
import sys

import pytest

from ncap_iac.emulator.functions import Invocation, function_spec, invoke, read_template
from ncap_iac.errors import NcapError

HANDLER = '''import os, sys


def handler(event, context):
    if event.get("fail"):
        raise ValueError("bad event: " + event["fail"])
    return {"event": event, "GREETING": os.environ.get("GREETING"), "MODE": os.environ.get("MODE"),
            "region": os.environ.get("AWS_REGION"), "name": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
            "endpoint": os.environ.get("AWS_ENDPOINT_URL"), "profile": os.environ.get("AWS_PROFILE"),
            "s3_endpoint": os.environ.get("AWS_ENDPOINT_URL_S3"), "function": context.function_name,
            "memory": context.memory_limit_in_mb, "remaining_ms": context.get_remaining_time_in_millis(),
            "code_on_path": any(p.endswith("code") for p in sys.path)}
'''


def write_template(folder, resources: dict):
    path = folder / "compiled_template.json"
    path.write_text(json.dumps({"Resources": resources}))
    return path


def function(handler="echo.handler", code_uri="code", variables=None, **props):
    properties = {"Handler": handler, "CodeUri": code_uri, **props}
    if variables is not None:
        properties["Environment"] = {"Variables": variables}
    return {"Type": "AWS::Serverless::Function", "Properties": properties}


@pytest.fixture
def template(tmp_path, request):
    """A template with one function EchoFunction whose handler (a module of this test's own name)
    returns what it saw."""
    module = "echo_" + request.node.name.replace("[", "_").replace("]", "").replace("-", "_")
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / f"{module}.py").write_text(HANDLER)
    return write_template(tmp_path, {
        "EchoFunction": function(f"{module}.handler", variables={"GREETING": "hello", "MODE": "submit", "ON": True,
                                                                 "LIMIT": 5}, Timeout=30, MemorySize=256,
                                 FunctionName="lab-echo"),
        "Queue": {"Type": "AWS::SQS::Queue"}})


def test_the_spec_is_read_from_the_template(template):
    spec = function_spec(template, "EchoFunction", None)
    assert spec.code_dir == (template.parent / "code").resolve()
    assert spec.module.startswith("echo_") and spec.function == "handler"
    assert (spec.timeout, spec.memory, spec.name) == (30, 256, "lab-echo")
    assert spec.environment == {"GREETING": "hello", "MODE": "submit", "ON": "true", "LIMIT": "5"}


def test_defaults_of_a_bare_function_and_a_dotted_module(tmp_path):
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    path = write_template(tmp_path, {"Bare": function("pkg.mod.handler", "src")})
    spec = function_spec(path, "Bare", {})
    assert (spec.module, spec.function, spec.timeout, spec.memory, spec.name) == ("pkg.mod", "handler", 3, 128, "Bare")
    assert spec.environment == {}


@pytest.mark.parametrize("resources, logical_id, message", [
    pytest.param({"A": function(), "B": function(), "Q": {"Type": "AWS::SQS::Queue"}}, "Q",
                 "Q: no such function in {path} (functions: A, B)", id="not-a-function"),
    pytest.param({}, "Submit", "Submit: no such function in {path} (functions: none)", id="no-functions"),
    pytest.param({"F": function(handler="nodot")}, "F",
                 "F: needs a local CodeUri folder and a module.function Handler", id="handler-without-module"),
    pytest.param({"F": function(code_uri="missing")}, "F",
                 "F: needs a local CodeUri folder and a module.function Handler", id="code-uri-not-a-folder"),
    pytest.param({"F": function(code_uri="s3://bucket/code.zip")}, "F",
                 "F: needs a local CodeUri folder and a module.function Handler", id="code-uri-in-s3"),
])
def test_a_function_that_cannot_run_here_is_a_clear_error(tmp_path, resources, logical_id, message):
    (tmp_path / "code").mkdir()
    path = write_template(tmp_path, resources)
    with pytest.raises(NcapError) as raised:
        function_spec(path, logical_id, {})
    assert str(raised.value) == message.format(path=path)


def test_an_unreadable_template_is_one_line(tmp_path):
    with pytest.raises(NcapError, match=r"template not found$"):
        read_template(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(NcapError, match=r"bad.json: template is not valid JSON: "):
        read_template(tmp_path / "bad.json")
    (tmp_path / "odd.json").write_text(json.dumps({"Resources": ["not", "an", "object"]}))
    with pytest.raises(NcapError, match=r"EchoFunction: no such function .* \(functions: none\)"):
        function_spec(tmp_path / "odd.json", "EchoFunction", {})


def test_env_vars_override_the_template_function_section_last(template):
    env_vars = {"Parameters": {"GREETING": "from-parameters", "MODE": "fileset", "UNDECLARED": "x"},
                "EchoFunction": {"GREETING": "from-function", "ON": False},
                "OtherFunction": {"MODE": "not-mine"}}
    spec = function_spec(template, "EchoFunction", env_vars)
    assert spec.environment == {"GREETING": "from-function", "MODE": "fileset", "ON": "false", "LIMIT": "5"}


def test_values_computed_at_deploy_time_must_come_from_env_vars(tmp_path):
    (tmp_path / "code").mkdir()
    path = write_template(tmp_path, {"Submit": function(variables={
        "QUEUE_URL": {"Ref": "JobQueue"}, "TOPIC_ARN": {"Ref": "Topic"}, "MODE": "submit"})})
    with pytest.raises(NcapError) as raised:
        function_spec(path, "Submit", {})
    assert str(raised.value) == ("Submit: QUEUE_URL, TOPIC_ARN are computed at deploy time (Ref/GetAtt/Sub); "
                                 "give their values in --env-vars under \"Submit\"")
    given = function_spec(path, "Submit", {"Submit": {"QUEUE_URL": "https://q", "TOPIC_ARN": "arn:t"}})
    assert given.environment == {"QUEUE_URL": "https://q", "TOPIC_ARN": "arn:t", "MODE": "submit"}


@pytest.mark.parametrize("section", ["Parameters", "EchoFunction"])
def test_an_env_vars_section_that_is_not_an_object_is_a_clear_error(template, section):
    with pytest.raises(NcapError, match=f'^env-vars: "{section}" must be a JSON object of variable names and values$'):
        function_spec(template, "EchoFunction", {section: ["GREETING=hi"]})


def test_a_call_runs_with_the_functions_environment_and_leaves_this_process_as_it_was(template, monkeypatch):
    monkeypatch.setenv("GREETING", "outer")
    saved_env, saved_path = dict(os.environ), list(sys.path)
    spec = function_spec(template, "EchoFunction", None)
    outcome = invoke(spec, {"n": 1}, "eu-west-1")
    assert outcome.ok and outcome.error is None
    seen = outcome.result
    assert seen["event"] == {"n": 1} and (seen["GREETING"], seen["MODE"]) == ("hello", "submit")
    assert (seen["name"], seen["function"], seen["memory"]) == ("lab-echo", "lab-echo", 256)
    assert seen["code_on_path"] is True and 0 < seen["remaining_ms"] <= 30000
    assert dict(os.environ) == saved_env and sys.path == saved_path


def test_aws_settings_given_replace_this_processs_profile_and_service_endpoints(template, monkeypatch):
    monkeypatch.setenv("AWS_PROFILE", "someone")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://elsewhere")
    monkeypatch.delenv("AWS_REGION", raising=False)
    spec = function_spec(template, "EchoFunction", None)
    plain = invoke(spec, {}, "eu-west-1").result
    assert (plain["profile"], plain["s3_endpoint"], plain["region"]) == ("someone", "http://elsewhere", "eu-west-1")
    given = invoke(spec, {}, "eu-west-1", {"AWS_ENDPOINT_URL": "http://localhost:1", "AWS_REGION": "us-west-2"}).result
    assert (given["profile"], given["s3_endpoint"]) == (None, None)
    assert (given["endpoint"], given["region"]) == ("http://localhost:1", "us-west-2")
    assert os.environ["AWS_PROFILE"] == "someone" and os.environ["AWS_ENDPOINT_URL_S3"] == "http://elsewhere"


def test_a_handler_error_is_reported_as_lambda_reports_it(template):
    outcome = invoke(function_spec(template, "EchoFunction", None), {"fail": "no key"}, "eu-west-1")
    assert not outcome.ok and outcome.result is None
    error = outcome.as_json()
    assert (error["errorType"], error["errorMessage"]) == ("ValueError", "bad event: no key")
    assert isinstance(error["stackTrace"], list) and any("handler" in line for line in error["stackTrace"])
    assert json.loads(json.dumps(error)) == error  # what `ncap invoke` prints


def test_invocation_as_json_is_the_result_or_the_error():
    assert Invocation(result={"jobs": ["j1"]}).as_json() == {"jobs": ["j1"]}
    assert Invocation(result=None).ok and Invocation(result=None).as_json() is None
    failed = Invocation(error={"errorType": "KeyError", "errorMessage": "'x'", "stackTrace": []})
    assert not failed.ok and failed.as_json() == failed.error


def test_a_handler_that_cannot_be_loaded_is_a_clear_error(tmp_path):
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "present_module_xyz.py").write_text("x = 1\n")
    path = write_template(tmp_path, {"Gone": function("absent_module_xyz.handler"),
                                     "NoFunction": function("present_module_xyz.handler")})
    with pytest.raises(NcapError, match=r"^Gone: cannot load handler absent_module_xyz.handler from .*code: "):
        invoke(function_spec(path, "Gone", {}), {}, "us-east-1")
    with pytest.raises(NcapError, match=r"^NoFunction: cannot load handler present_module_xyz.handler from "):
        invoke(function_spec(path, "NoFunction", {}), {}, "us-east-1")


def test_two_templates_with_the_same_module_name_run_their_own_code(tmp_path):
    results = []
    for n in (1, 2):
        folder = tmp_path / f"pipeline{n}"
        (folder / "code").mkdir(parents=True)
        (folder / "code" / "same_name_handler_xyz.py").write_text(f"def handler(event, context):\n    return {n}\n")
        path = write_template(folder, {"F": function("same_name_handler_xyz.handler")})
        results.append(invoke(function_spec(path, "F", {}), {}, "us-east-1").result)
    assert results == [1, 2]


WHO = '''import boto3


def handler(event, context):
    return boto3.client("sts").get_caller_identity()["Arn"]
'''


def test_each_call_acts_with_the_credentials_it_is_given_not_the_first_calls(tmp_path, moto_server):
    """boto3's default session keeps the credentials it first found: a call given other keys must
    not act with a previous call's (two functions, two roles, one process)."""
    import boto3

    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "who.py").write_text(WHO)
    spec = function_spec(write_template(tmp_path, {"Who": function("who.handler")}), "Who", None)
    iam = boto3.client("iam", region_name="us-east-1")
    arns = {}
    for name in ("first", "second"):
        iam.create_user(UserName=name)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        settings = {"AWS_ENDPOINT_URL": moto_server, "AWS_REGION": "us-east-1",
                    "AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        arns[name] = invoke(spec, {}, "us-east-1", settings).result
    assert arns == {"first": "arn:aws:iam::123456789012:user/first", "second": "arn:aws:iam::123456789012:user/second"}

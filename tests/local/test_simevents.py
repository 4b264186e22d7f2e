"""The simulated events: the committed files in simevents/ are exactly what the functions make,
keys are encoded as S3 encodes them, and every event has the fields its handler reads."""
import json
import sys
from pathlib import Path
from urllib.parse import unquote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ncap_iac.errors import NcapError
from ncap_iac.local import simevents
from ncap_iac.local.simevents import SimEventError, cfn, ec2_state, encode_key, env_vars, s3_put

REPO = Path(__file__).resolve().parents[2]
SIMEVENTS = REPO / "simevents"
PIPELINES = REPO / "pipelines"
LAMBDA_ROOT = REPO / "lambda_repo"
if str(LAMBDA_ROOT) not in sys.path:
    sys.path.insert(0, str(LAMBDA_ROOT))

import folders  # noqa: E402  (lambda_repo is its own import root, as in Lambda)
import monitor  # noqa: E402

S3_EVENTS = {"s3_put_submit.json": ("ncap-dlc", "carcealab2/submissions/run1_submit.json"),
             "s3_put_submit_spaces_unicode.json": ("ncap-dlc", "carcealab2/submissions/Ñandú trial 2+3 submit.json"),
             "s3_put_fileset_mp4.json": ("cis-imu", "spine-clinic/inputs/patient7/walk01.mp4"),
             "s3_put_fileset_hpf.json": ("cis-imu", "spine-clinic/inputs/patient7/walk01.hpf")}
CFN_EVENTS = {"cfn_folders_create.json": "Create", "cfn_folders_update.json": "Update",
              "cfn_folders_delete.json": "Delete"}
EC2_EVENTS = {"ec2_state_running.json": "running", "ec2_state_terminated.json": "terminated"}
ENV_FILES = {"env_dlcmonitored1.json": "ncap-dlc", "env_cis_imu.json": "cis-imu"}


def committed(name):
    return json.loads((SIMEVENTS / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def templates():
    """{pipeline folder: compiled template}, as `ncap compile` makes them."""
    from ncap_iac.compiler import compile_config
    from ncap_iac.config import load

    return {name: compile_config(load(PIPELINES / name / "stack_config.json"), PIPELINES / name).template
            for name in set(ENV_FILES.values())}


# --- the committed files -------------------------------------------------------------------------

def test_committed_files_are_exactly_what_write_committed_makes(tmp_path):
    written = simevents.write_committed(tmp_path / "simevents", pipelines=PIPELINES)

    assert sorted(p.name for p in written) == sorted(p.name for p in SIMEVENTS.glob("*.json"))
    for path in written:
        assert (SIMEVENTS / path.name).read_text(encoding="utf-8") == path.read_text(encoding="utf-8"), (
            f"simevents/{path.name} differs: regenerate with `python -m ncap_iac.local.simevents simevents`")


def test_committed_files_are_the_ones_the_brief_lists():
    expected = set(S3_EVENTS) | set(CFN_EVENTS) | set(EC2_EVENTS) | set(ENV_FILES)
    assert {p.name for p in SIMEVENTS.glob("*.json")} == expected


def test_readme_describes_every_committed_file():
    readme = (SIMEVENTS / "README.md").read_text(encoding="utf-8")
    assert [p.name for p in sorted(SIMEVENTS.glob("*.json")) if p.name not in readme] == []


# --- S3 keys as S3 encodes them ------------------------------------------------------------------

@pytest.mark.parametrize("key, encoded", [
    pytest.param("lab/submissions/run1_submit.json", "lab/submissions/run1_submit.json", id="plain"),
    pytest.param("lab/sub missions/my run submit.json", "lab/sub+missions/my+run+submit.json", id="spaces"),
    pytest.param("lab/inputs/c++ 2+3.csv", "lab/inputs/c%2B%2B+2%2B3.csv", id="plus_signs"),
    pytest.param("lab/inputs/100% done.csv", "lab/inputs/100%25+done.csv", id="percent"),
    pytest.param("lab/inputs/already%20encoded%2B.csv", "lab/inputs/already%2520encoded%252B.csv",
                 id="percent_escapes_in_the_real_key"),
    pytest.param("lab/inputs/Ñandú/día 1.csv", "lab/inputs/%C3%91and%C3%BA/d%C3%ADa+1.csv", id="unicode"),
    pytest.param("lab/inputs/日本語 🐭.csv", "lab/inputs/%E6%97%A5%E6%9C%AC%E8%AA%9E+%F0%9F%90%AD.csv",
                 id="cjk_and_emoji"),
    pytest.param("lab/inputs/a=b:c;d,e?f&g.csv", "lab/inputs/a%3Db%3Ac%3Bd%2Ce%3Ff%26g.csv", id="reserved"),
])
def test_s3_put_encodes_the_key_like_s3_and_unquote_plus_gives_it_back(key, encoded):
    event_key = s3_put("b", key)["Records"][0]["s3"]["object"]["key"]

    assert event_key == encoded
    assert unquote_plus(event_key) == key


@given(st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=60))
def test_any_key_round_trips_through_unquote_plus(key):
    encoded = encode_key(key)
    assert unquote_plus(encoded) == key
    assert " " not in encoded and encoded.isascii()


def test_committed_s3_keys_decode_to_the_real_keys():
    for name, (_, key) in S3_EVENTS.items():
        assert unquote_plus(committed(name)["Records"][0]["s3"]["object"]["key"]) == key, name


# --- the fields the handlers read ----------------------------------------------------------------

def matches_rules(key, rules):
    wanted = {rule["Name"]: rule["Value"] for rule in rules}
    return key.startswith(wanted.get("prefix", "")) and key.endswith(wanted.get("suffix", ""))


@pytest.mark.parametrize("name", list(S3_EVENTS))
def test_committed_s3_events_reach_the_submit_function_of_their_pipeline(templates, name):
    pipeline, key = S3_EVENTS[name]
    record = committed(name)["Records"][0]
    env = committed([f for f, p in ENV_FILES.items() if p == pipeline][0])["SubmitFunction"]
    events = templates[pipeline]["Resources"]["SubmitFunction"]["Properties"]["Events"].values()

    assert (record["eventSource"], record["eventName"]) == ("aws:s3", "ObjectCreated:Put")
    assert record["s3"]["bucket"]["name"] == env["BUCKET_NAME"]
    assert isinstance(record["s3"]["object"]["size"], int) and record["eventTime"].endswith("Z")
    # S3 filters the encoded key; the handler reads the decoded one: both must match a rule.
    for candidate in (record["s3"]["object"]["key"], key):
        assert any(matches_rules(candidate, e["Properties"]["Filter"]["S3Key"]["Rules"]) for e in events)


@pytest.mark.parametrize("name", list(CFN_EVENTS))
def test_committed_cfn_events_are_read_by_the_folders_handler(name):
    event = committed(name)

    assert event["RequestType"] == CFN_EVENTS[name]
    assert event["ResponseURL"].startswith("https://")
    assert {"StackId", "RequestId", "LogicalResourceId", "ResourceType"} <= set(event)
    spec = folders.read_spec(event["ResourceProperties"])
    assert spec.bucket == "dlcmonitored1" and "carcealab2/inputs/" in spec.markers
    assert spec.empty_on_delete is False
    assert ("PhysicalResourceId" in event) == (event["RequestType"] != "Create")
    assert ("OldResourceProperties" in event) == (event["RequestType"] == "Update")


def test_committed_update_adds_a_lab():
    event = committed("cfn_folders_update.json")
    new, old = (folders.read_spec(event[k]) for k in ("ResourceProperties", "OldResourceProperties"))
    assert set(old.markers) < set(new.markers)


@pytest.mark.parametrize("name", list(EC2_EVENTS))
def test_committed_ec2_events_are_read_by_the_monitor_handler(name):
    event = committed(name)
    change = monitor.read_change(event)

    assert (event["source"], event["detail-type"]) == ("aws.ec2", "EC2 Instance State-change Notification")
    assert change.state == EC2_EVENTS[name] and change.instance_id == simevents.WORKER_INSTANCE
    assert monitor.record_key("logs/instances/", change).startswith("logs/instances/2026/01/15/")


@pytest.mark.parametrize("name", list(ENV_FILES))
def test_env_files_give_every_variable_the_template_declares(templates, name):
    resources = templates[ENV_FILES[name]]["Resources"]
    functions = {k: r for k, r in resources.items() if r["Type"] == "AWS::Serverless::Function"}
    env = committed(name)

    assert {"SubmitFunction", "FoldersFunction", "MonitorFunction"} <= set(env) == set(functions)
    for logical_id, resource in functions.items():
        declared = resource["Properties"].get("Environment", {}).get("Variables", {})
        assert set(env[logical_id]) == set(declared), logical_id
        assert all(isinstance(v, str) and "{" not in v for v in env[logical_id].values())


def test_env_files_point_at_the_pipelines_queue_and_topic():
    dlc, cis = committed("env_dlcmonitored1.json"), committed("env_cis_imu.json")

    assert dlc["SubmitFunction"]["QUEUE_URL"] == "https://sqs.us-east-1.amazonaws.com/123456789012/dlcmonitored1-jobs"
    assert cis["SubmitFunction"]["QUEUE_URL"].endswith("/cis-imu-calibration-jobs.fifo")
    assert dlc["SubmitFunction"]["TOPIC_ARN"] == "arn:aws:sns:us-east-1:123456789012:dlcmonitored1-notices"
    assert cis["MonitorFunction"] == {"BUCKET_NAME": "cis-imu-calibration", "INSTANCE_LOG_PREFIX": "logs/instances/",
                                      "WORKER_GROUP": "cis-imu-calibration-workers"}


# --- the functions ---------------------------------------------------------------------------------

def test_events_are_deterministic_and_differ_with_their_arguments():
    assert s3_put("b", "k") == s3_put("b", "k")
    assert s3_put("b", "k")["Records"][0]["s3"]["object"]["eTag"] != s3_put("b", "k2")["Records"][0]["s3"]["object"]["eTag"]
    assert ec2_state("i-0123456789abcdef0", "running")["id"] != ec2_state("i-0123456789abcdef0", "stopped")["id"]
    create, delete = cfn("Create", "Custom::X", {}), cfn("Delete", "Custom::X", {})
    assert create["RequestId"] != delete["RequestId"] and create["StackId"] == delete["StackId"]


def test_s3_put_takes_size_region_and_time():
    record = s3_put("b", "k", size=0, region="eu-west-2", time="2026-02-01T00:00:00.000Z")["Records"][0]

    assert (record["awsRegion"], record["eventTime"], record["s3"]["object"]["size"]) == (
        "eu-west-2", "2026-02-01T00:00:00.000Z", 0)


def test_cfn_fills_service_token_logical_id_and_defaults():
    update = cfn("Update", "Custom::AffiliateFolders", {"BucketName": "b"}, stack_name="s")

    assert update["LogicalResourceId"] == "AffiliateFolders"
    assert update["ServiceToken"] == update["ResourceProperties"]["ServiceToken"]
    assert update["ServiceToken"].startswith("arn:aws:lambda:us-east-1:123456789012:function:")
    assert update["OldResourceProperties"] == update["ResourceProperties"]
    assert update["PhysicalResourceId"].startswith("s-AffiliateFolders-")
    assert update["StackId"].startswith("arn:aws:cloudformation:us-east-1:123456789012:stack/s/")


def test_cfn_keeps_given_values():
    event = cfn("Update", "Custom::T", {"ServiceToken": "arn:x", "A": "1"}, {"A": "0"}, logical_id="Mine",
                physical_id="p-1", response_url="http://localhost:5000/cfnresponse")

    assert (event["ServiceToken"], event["LogicalResourceId"], event["PhysicalResourceId"], event["ResponseURL"]) == (
        "arn:x", "Mine", "p-1", "http://localhost:5000/cfnresponse")
    assert event["OldResourceProperties"] == {"ServiceToken": "arn:x", "A": "0"}


def test_ec2_state_shape():
    event = ec2_state("i-0123456789abcdef0", "stopped", region="eu-central-1", account="111122223333",
                      time="2026-03-01T10:00:00Z")

    assert event["resources"] == ["arn:aws:ec2:eu-central-1:111122223333:instance/i-0123456789abcdef0"]
    assert (event["region"], event["account"], event["time"]) == ("eu-central-1", "111122223333", "2026-03-01T10:00:00Z")
    assert event["detail"] == {"instance-id": "i-0123456789abcdef0", "state": "stopped"}


@pytest.mark.parametrize("make", [
    pytest.param(lambda: s3_put("", "k"), id="s3_empty_bucket"),
    pytest.param(lambda: s3_put("b", ""), id="s3_empty_key"),
    pytest.param(lambda: s3_put("b", "k", size=-1), id="s3_negative_size"),
    pytest.param(lambda: s3_put("b", "k", size=True), id="s3_bool_size"),
    pytest.param(lambda: cfn("Replace", "Custom::X", {}), id="cfn_unknown_request"),
    pytest.param(lambda: cfn("Create", "AWS::S3::Bucket", {}), id="cfn_not_custom"),
    pytest.param(lambda: cfn("Create", "Custom::X", {}, {"A": "1"}), id="cfn_old_properties_on_create"),
    pytest.param(lambda: cfn("Delete", "Custom::X", {}, {"A": "1"}), id="cfn_old_properties_on_delete"),
    pytest.param(lambda: cfn("Create", "Custom::X", {}, physical_id="p"), id="cfn_physical_id_on_create"),
    pytest.param(lambda: cfn("Create", "Custom::X", ["A"]), id="cfn_properties_not_an_object"),
    pytest.param(lambda: ec2_state("i-0123456789abcdef0", "exploded"), id="ec2_unknown_state"),
    pytest.param(lambda: ec2_state("", "running"), id="ec2_empty_instance_id"),
])
def test_bad_arguments_raise_a_clean_error(make):
    with pytest.raises(SimEventError) as raised:
        make()
    assert isinstance(raised.value, NcapError) and str(raised.value)


def test_env_vars_resolve_sub_and_refuse_values_they_cannot_place():
    """The same resolver as the emulator's: Fn::Sub works; a resource the template lacks, or an
    attribute no placeholder is known for, is a clean error naming it."""
    template = {"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {
        "Environment": {"Variables": {"X": {"Fn::Sub": "${AWS::Region}-x"}}}}}}}
    assert env_vars(template, region="eu-west-1") == {"F": {"X": "eu-west-1-x"}}
    template["Resources"]["F"]["Properties"]["Environment"]["Variables"]["X"] = {"Ref": "Missing"}
    with pytest.raises(SimEventError, match="Missing"):
        env_vars(template)
    template["Resources"]["Q"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}}
    template["Resources"]["F"]["Properties"]["Environment"]["Variables"]["X"] = {"Fn::GetAtt": ["Q", "Nope"]}
    with pytest.raises(SimEventError, match="Q.Nope"):
        env_vars(template)


def test_env_vars_resolve_pseudo_parameters_and_get_att():
    template = {"Resources": {
        "Q": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "q"}},
        "F": {"Type": "AWS::Serverless::Function", "Properties": {"Environment": {"Variables": {
            "R": {"Ref": "AWS::Region"}, "A": {"Fn::GetAtt": ["Q", "Arn"]}, "B": {"Fn::GetAtt": "Q.Arn"}, "N": 5}}}}}}

    assert env_vars(template, region="eu-west-1", account="111122223333") == {"F": {
        "A": "arn:aws:sqs:eu-west-1:111122223333:q", "B": "arn:aws:sqs:eu-west-1:111122223333:q",
        "N": "5", "R": "eu-west-1"}}

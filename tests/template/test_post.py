"""The post-processing function in the template: its code folder (the developer's, with the
product's wrapper added beside the template), its trigger, and a role that reaches each configured
lab's results and nothing else, decided as AWS decides (emulator.policy)."""
import json

import pytest

from ncap_iac import names
from ncap_iac.compiler import compile_config, compile_file
from ncap_iac.config import load
from ncap_iac.emulator.policy import Request, decide, parse_document
from ncap_iac.lambda_code import POST_FOLDER, POST_HANDLER

from conftest import FIXTURES, TESTS, example_config

SOURCE = FIXTURES / "valid" / "ncap-post.json"
BUCKET = "ncap-post"


@pytest.fixture(scope="module")
def compiled():
    return compile_config(load(SOURCE), SOURCE.parent)


def resources(compiled) -> dict:
    return compiled.template["Resources"]


def role_policy(compiled):
    [policy] = resources(compiled)[names.role(names.POST_FUNCTION)]["Properties"]["Policies"]
    text = json.dumps(policy["PolicyDocument"])
    for name, value in {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}.items():
        text = text.replace("${" + name + "}", value)
    document = json.loads(text)
    for statement in document["Statement"]:
        statement["Resource"] = [r["Fn::Sub"] if isinstance(r, dict) and "Fn::Sub" in r else
                                 "arn:aws:sqs:us-east-1:123456789012:ncap-post-trigger-dead" for r in statement["Resource"]]
    return parse_document(document)


def allows(compiled, action: str, resource: str) -> bool:
    return decide(Request(action, resource, {}), [role_policy(compiled)])


def test_a_config_without_a_post_function_has_none():
    template = compile_config(load(example_config("local-demo")), example_config("local-demo").parent).template
    assert not [k for k in template["Resources"] if k.startswith(names.POST_FUNCTION)]


def test_the_function_runs_the_wrapper_from_the_copied_folder_on_the_trigger(compiled):
    function = resources(compiled)[names.POST_FUNCTION]["Properties"]
    assert function["CodeUri"] == POST_FOLDER and function["Handler"] == POST_HANDLER
    assert function["FunctionName"] == "ncap-post-post"
    assert function["Environment"]["Variables"] == {"BUCKET_NAME": BUCKET, "RESULTS_FOLDER": "results",
                                                    "POST_HANDLER": "post.handler", "POST_TRIGGER": "end.txt"}
    [event] = function["Events"].values()
    assert event["Properties"]["Filter"] == {"S3Key": {"Rules": [{"Name": "suffix", "Value": "end.txt"}]}}
    assert event["Properties"]["Bucket"] == {"Ref": names.BUCKET}
    assert function["DeadLetterQueue"]["TargetArn"] == {"Fn::GetAtt": [names.TRIGGER_DEAD_LETTER_QUEUE, "Arn"]}
    assert function["Tags"] == {names.PIPELINE_TAG: BUCKET}
    assert "Metadata" not in resources(compiled)[names.POST_FUNCTION], "sam builds the developer's folder itself"


@pytest.mark.parametrize("lab", ["lab-a", "lab-b"])
def test_the_role_reads_and_writes_each_labs_results(compiled, lab):
    for action in ("s3:GetObject", "s3:PutObject"):
        assert allows(compiled, action, f"arn:aws:s3:::{BUCKET}/{lab}/results/job_1/process_results/end.txt")
        assert allows(compiled, action, f"arn:aws:s3:::{BUCKET}/{lab}/results/job_1/logs/status.json")


@pytest.mark.parametrize("key", ["lab-a/inputs/data.csv", "lab-a/configs/config.json",
                                 "lab-a/submissions/a_submit.json", "lab-a/logs/job_1/job_log.txt",
                                 "other-lab/results/job_1/end.txt", "ledger/2025-01/lab-a/x.json", "lab-a/results"])
@pytest.mark.parametrize("action", ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"])
def test_the_role_reaches_nothing_else_of_the_bucket(compiled, key, action):
    assert not allows(compiled, action, f"arn:aws:s3:::{BUCKET}/{key}")


@pytest.mark.parametrize("action, resource", [
    ("s3:ListBucket", f"arn:aws:s3:::{BUCKET}"),
    ("s3:DeleteObject", f"arn:aws:s3:::{BUCKET}/lab-a/results/job_1/end.txt"),
    ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:ncap-post-jobs"),
    ("sns:Publish", "arn:aws:sns:us-east-1:123456789012:ncap-post-notices"),
    ("secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:123456789012:secret:ncap/ncap-post/keys/alice"),
])
def test_the_role_has_no_queue_topic_secret_or_listing(compiled, action, resource):
    assert not allows(compiled, action, resource)


def test_failed_events_go_to_the_trigger_dead_letter_queue(compiled):
    assert allows(compiled, "sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:ncap-post-trigger-dead")


def test_compile_copies_the_developers_folder_with_the_wrapper_and_the_contract(tmp_path):
    folder = tmp_path / "pipeline"
    (folder / "post").mkdir(parents=True)
    (folder / "post" / "post.py").write_text("def handler(event, context):\n    return None\n")
    (folder / "post" / "helper.txt").write_text("data\n")
    (folder / "requirements.txt").write_text("numpy==2.2.0\n")
    doc = json.loads(SOURCE.read_text())
    doc["Lambda"].update(PostCodeUri="post", Requirements="requirements.txt")
    (folder / "stack_config.json").write_text(json.dumps(doc))
    compiled, target = compile_file(folder / "stack_config.json", tmp_path / "out/")
    copy = target.parent / POST_FOLDER
    files = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*") if p.is_file())
    assert {"post.py", "helper.txt", "ncap_post.py", "requirements.txt", "ncap_lambda/contract.py"} <= set(files)
    assert not [f for f in files if not (f in ("post.py", "helper.txt", "ncap_post.py", "requirements.txt")
                                         or f.startswith("ncap_lambda/"))]
    assert (copy / "requirements.txt").read_text() == "numpy==2.2.0\n"
    before = {f: (copy / f).stat().st_mtime_ns for f in files}
    (folder / "post" / "helper.txt").unlink()
    compile_file(folder / "stack_config.json", tmp_path / "out/")
    assert not (copy / "helper.txt").exists(), "a file gone from the developer's folder goes from the copy"
    assert all((copy / f).stat().st_mtime_ns == t for f, t in before.items() if f != "helper.txt"), \
        "files already equal are left alone"


def test_the_fixture_folder_is_the_tests_post_function():
    assert load(SOURCE).post.code_uri == TESTS / "fixtures" / "post_function"

"""Reading a config file: every way a file can be wrong gives one clear line; defaults and NCAP keys."""
import json

import pytest

from ncap_iac.config import load, load_document
from ncap_iac.config.schema import schema
from ncap_iac.errors import ConfigError

from conftest import REPO, example_config
from factories import minimal_config


@pytest.mark.parametrize("content, message", [
    pytest.param(b"", "file is empty", id="empty"),
    pytest.param(b"  \n\t", "file is empty", id="only-whitespace"),
    pytest.param(b'{"PipelineName": ', "not valid JSON", id="truncated-json"),
    pytest.param(b"\xff\xfe{}", "is not UTF-8 text", id="not-utf8"),
    pytest.param(b'{"a": 1, "a": 2}', "key 'a' appears twice", id="duplicate-key"),
    pytest.param(b'{"x": NaN}', "NaN is not a JSON number", id="nan"),
    pytest.param(b"[" * 100000 + b"]" * 100000, "nested too deeply", id="deep-nesting"),
])
def test_unreadable_file_gives_one_line(tmp_path, content, message):
    path = tmp_path / "stack_config.json"
    path.write_bytes(content)
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert len(caught.value.issues) == 1
    assert message in caught.value.issues[0].message


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(ConfigError, match="file not found"):
        load(tmp_path / "nope.json")
    with pytest.raises(ConfigError, match="is a folder"):
        load(tmp_path)


@pytest.mark.parametrize("value", [[], "text", 3, None, True], ids=json.dumps)
def test_json_of_the_wrong_kind_gives_one_line(tmp_path, value):
    with pytest.raises(ConfigError) as caught:
        load_document(value, tmp_path)
    assert [str(i) for i in caught.value.issues] == [
        f"(top level): expected object, got {_kind(value)} {json.dumps(value)}"]


def _kind(value):
    return {list: "array", str: "string", int: "integer", type(None): "null", bool: "boolean"}[type(value)]


def test_defaults_come_from_the_schema(tmp_path):
    config = load_document(minimal_config(), tmp_path)
    assert config.queue.max_receive_count == 3 and config.queue.fifo is False
    assert config.workers.instance_type == "p2.xlarge" and config.workers.min_size == 0
    assert config.retention.retain_bucket is True
    assert config.trigger.mode == "submit"
    assert [(s.queued_jobs, s.add_instances) for s in config.scaling.scale_out] == [(1, 1)]


def test_explicit_false_is_never_replaced_by_a_default(tmp_path):
    doc = minimal_config(DataRetention={"RetainBucketOnDelete": False},
                         Notifications={"NotifyLabs": False})
    config = load_document(doc, tmp_path)
    assert config.retention.retain_bucket is False
    assert config.notifications.notify_labs is False


def test_ncap_seed_config_maps_its_keys():
    config = load(example_config("ncap-dlc"))
    assert config.workers.ami == "ami-045deefcfb062fd2a"
    assert config.workers.security_groups == ("launch-wizard-34",)
    assert config.workers.key_name == "ta_testkey"
    assert config.workers.job_timeout == 172000  # SSM_TIMEOUT
    assert config.submit.timeout == 180  # EXECUTION_TIMEOUT
    assert config.submit.default_config_name == "config.yaml"
    assert config.workers.log_file == "lambda_log.txt"
    assert config.submit.code_uri is None  # "lambda_code" names NCAP's code: the product's functions replace it
    assert [n.path for n in config.notes] == ["Lambda.CodeUri"]
    assert [a.contact_email for a in config.affiliates] == [None, None]  # placeholder text, not emails


def test_ncap_unused_keys_are_warnings_not_errors():
    config = load(example_config("ncap-dlc"))
    warned = {w.path for w in config.warnings}
    assert {"Lambda.Launch", "Lambda.LambdaConfig.IAM_ROLE", "Lambda.LambdaConfig.WORKING_DIRECTORY",
            "UXData.Affiliates[0].UserInput", "UXData.Affiliates[1].ContactEmail"} <= warned


def test_published_schema_is_the_package_schema():
    published = REPO / "template_utils" / "stack_config.schema.json"
    assert json.loads(published.read_text()) == schema()


def test_schema_is_a_valid_json_schema():
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(schema())


def test_blank_template_is_valid():
    config = load(REPO / "template_utils" / "stack_config_template.json")
    assert config.pipeline_name == "my-pipeline"


def test_config_is_frozen(tmp_path):
    config = load_document(minimal_config(), tmp_path)
    with pytest.raises(AttributeError):
        config.region = "eu-west-1"


@pytest.mark.parametrize("code_uri, handler", [
    ("lambda_code", "submit_start.handler"), ("../lambda_code", "submit_start.handler_develop"),
    ("../lambda_repo", "submit_start.handler_log"), ("../../protocols", "submit_start.handler_log_dev"),
    ("../../protocols/dlc", "submit_start.handler_log_demo"), ("lambda_code", "submit_start.handler_ensemble"),
    ("../lambda_repo", "submit.handler"), ("lambda_code", "submit_start_legacy_v2.handler"),
])
def test_ncap_submit_code_is_replaced_by_the_products_with_one_note(tmp_path, code_uri, handler):
    config = load_document(minimal_config(Lambda={"CodeUri": code_uri, "Handler": handler}), tmp_path)
    assert (config.submit.code_uri, config.submit.handler) == (None, "submit_start.handler")
    assert [(n.path, "names NCAP's submit code" in n.message) for n in config.notes] == [("Lambda.CodeUri", True)]


def test_a_code_folder_of_the_configs_own_must_hold_its_handler(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "entry.py").write_text("def main(event, context):\n    return {}\n")
    config = load_document(minimal_config(Lambda={"CodeUri": "mine", "Handler": "entry.main"}), tmp_path)
    assert config.submit.code_uri == (tmp_path / "mine").resolve() and config.notes == ()
    with pytest.raises(ConfigError) as caught:
        load_document(minimal_config(Lambda={"CodeUri": "mine", "Handler": "entry.other"}), tmp_path)
    assert [str(i) for i in caught.value.issues] == [
        f"Lambda.Handler: folder 'mine' ({(tmp_path / 'mine').resolve()}) entry.py defines no other "
        f"(the handler entry.other)"]


def test_requirements_beside_the_config_are_recorded_else_a_note(tmp_path):
    doc = minimal_config(Lambda={"Requirements": "requirements.txt"})
    assert load_document(doc, tmp_path).requirements is None
    assert "is not a file beside the config" in load_document(doc, tmp_path).notes[0].message
    (tmp_path / "requirements.txt").write_text("numpy\n")
    assert load_document(doc, tmp_path).requirements == (tmp_path / "requirements.txt").resolve()

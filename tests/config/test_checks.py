"""Named checks that need configs made in code."""
import pytest

from ncap_iac.config import load_document
from ncap_iac.config.checks import PIPELINE_NAME_MAX
from ncap_iac.errors import ConfigError

from factories import many_labs_config, minimal_config


def _problems(doc, tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_document(doc, tmp_path)
    return [str(i) for i in caught.value.issues]


def test_lab_with_too_many_users_for_the_credentials_answer(tmp_path):
    problems = _problems(many_labs_config(1, 40), tmp_path)
    assert len(problems) == 1
    assert problems[0].startswith("UXData.Affiliates[0].UserNames: 40 users are too many for one lab")
    assert "4096" in problems[0]


def test_a_lab_of_twenty_users_fits(tmp_path):
    assert len(load_document(many_labs_config(1, 20), tmp_path).created_users) == 20


@pytest.mark.parametrize("name, fragment", [
    pytest.param("ab", "must be 3 to", id="too-short"),
    pytest.param("a" * (PIPELINE_NAME_MAX + 1), "must be 3 to", id="too-long"),
    pytest.param("9lives", "must start with a letter", id="starts-with-digit"),
    pytest.param("lab-", "must not end with a hyphen", id="ends-with-hyphen"),
    pytest.param("xn--lab", "reserved by S3", id="reserved-prefix"),
    pytest.param("lab.data", "only lowercase letters, digits and hyphens", id="dot"),
])
def test_pipeline_name_rules(tmp_path, name, fragment):
    problems = _problems(minimal_config(PipelineName=name), tmp_path)
    assert any(p.startswith("PipelineName: ") and fragment in p for p in problems), problems


def test_longest_pipeline_name_keeps_function_names_within_64(compile_doc):
    compiled = compile_doc(minimal_config(PipelineName="p" * PIPELINE_NAME_MAX))
    names = [r["Properties"]["FunctionName"] for r in compiled.template["Resources"].values()
             if r["Type"] == "AWS::Serverless::Function"]
    assert names and max(len(n) for n in names) == 64


def test_security_group_names_need_the_default_vpc(tmp_path):
    doc = minimal_config(Workers={"AMI": "ami-0123456789abcdef0", "Command": "x", "SecurityGroups": "web",
                                  "Subnets": ["subnet-0123456789abcdef0"]})
    assert _problems(doc, tmp_path) == [
        "Workers.SecurityGroups: security group names work only in the default VPC; with "
        "Workers.Subnets give ids (sg-...)"]


@pytest.mark.parametrize("trigger", [
    pytest.param({"Mode": "submit", "Suffixes": [".mp4", ".hpf"]}, id="submit-mode"),
    pytest.param({"Suffixes": [".mp4"]}, id="default-mode"),
])
def test_fileset_suffixes_in_submit_mode_are_refused(tmp_path, trigger):
    assert _problems(minimal_config(Trigger=trigger), tmp_path) == [
        'Trigger.Suffixes: only used with Mode "fileset"']


def test_suffixes_in_fileset_mode_load(tmp_path):
    config = load_document(minimal_config(Trigger={"Mode": "fileset", "Suffixes": [".mp4", ".hpf"]}), tmp_path)
    assert config.trigger.mode == "fileset" and tuple(config.trigger.suffixes) == (".mp4", ".hpf")

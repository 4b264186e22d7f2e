"""Named checks that need configs made in code."""
import pytest

from ncap_iac.config import load_document
from ncap_iac.config.checks import PIPELINE_NAME_MAX
from ncap_iac.errors import ConfigError

from factories import many_labs_config, minimal_config


def _issues(doc, tmp_path):
    """The problems of a config; [] when it loads."""
    try:
        load_document(doc, tmp_path)
    except ConfigError as error:
        return [str(i) for i in error.issues]
    return []


def _problems(doc, tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_document(doc, tmp_path)
    return [str(i) for i in caught.value.issues]


def test_a_lab_has_no_cap_on_its_users_below_iams(tmp_path):
    assert len(load_document(many_labs_config(1, 1000), tmp_path).created_users) == 1000


def test_more_users_than_iam_allows_per_account_are_refused_naming_the_limit(tmp_path):
    assert _issues(many_labs_config(10, 500), tmp_path) == []
    problems = _problems(many_labs_config(11, 455), tmp_path)
    assert problems == ["UXData.Affiliates: 5,005 users to create; IAM allows 5,000 users per account (5 too many)"]


def labs_with(*affiliates):
    return minimal_config(UXData={"Affiliates": [{"AffiliateName": name, "UserNames": list(users)}
                                                 for name, users in affiliates]})


def test_a_person_in_several_labs_is_one_user(tmp_path):
    config = load_document(labs_with(("lab-a", ["alice", "dev"]), ("lab-b", ["dev"])), tmp_path)
    assert config.created_users == ("alice", "dev") and config.labs_of("dev") == ("lab-a", "lab-b")


def test_an_eleventh_lab_of_one_person_is_refused_naming_the_user_the_limit_and_the_labs(tmp_path):
    assert _issues(labs_with(*[(f"lab{n}", ["dev"]) for n in range(10)]), tmp_path) == []
    problems = _problems(labs_with(*[(f"lab{n}", ["dev"]) for n in range(11)]), tmp_path)
    assert problems == ["UXData.Affiliates[10].UserNames[0]: user 'dev' would be in 11 labs (lab0, lab1, lab2, "
                        "lab3, lab4, lab5, lab6, lab7, lab8, lab9, lab10); IAM allows a user in at most 10 groups, "
                        "one per lab"]


@pytest.mark.parametrize("affiliates, fragment", [
    pytest.param([("lab-a", ["Alice"]), ("lab-b", ["alice"])], "differ only by case", id="case-across-labs"),
    pytest.param([("lab-a", ["alice", "ALICE"])], "listed twice in lab lab-a", id="twice-in-one-lab"),
])
def test_names_that_differ_only_by_case_are_refused(tmp_path, affiliates, fragment):
    problems = _problems(labs_with(*affiliates), tmp_path)
    assert len(problems) == 1 and fragment in problems[0]


def test_a_user_both_created_and_existing_is_refused(tmp_path):
    doc = labs_with(("lab-a", ["alice"]), ("lab-b", []))
    doc["UXData"]["Affiliates"][1]["ExistingUserNames"] = ["alice"]
    problems = _problems(doc, tmp_path)
    assert len(problems) == 1 and "both created by this pipeline and listed as existing" in problems[0]


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

"""Where the labs go: in the pipeline's one template while they fit (or in nested stacks when
they do not, and always for NCAP's STAGE websubstack), one nested template per lab, so that adding
a lab leaves every other lab's template byte for byte as it was and changes at most two of the
parent's other resources."""
import json

import pytest

from ncap_iac.lint import lint_template
from ncap_iac.template.limits import MAX_OUTPUTS, MAX_RESOURCES, MAX_TEMPLATE_BYTES, deployed_resource_count

from factories import many_labs_config, minimal_config


def labs_config(labs, users=2, **extra):
    return {**many_labs_config(labs, users), **extra}


def changed(old: dict, new: dict) -> dict:
    """{"added", "removed", "modified"}: the logical ids that differ between two templates."""
    o, n = old["Resources"], new["Resources"]
    return {"added": sorted(set(n) - set(o)), "removed": sorted(set(o) - set(n)),
            "modified": sorted(k for k in set(o) & set(n) if o[k] != n[k])}


def test_websubstack_puts_every_lab_in_a_nested_stack_of_its_own(compile_doc):
    compiled = compile_doc(labs_config(2, STAGE="websubstack"))
    resources = compiled.template["Resources"]
    stacks = {k: r for k, r in resources.items() if r["Type"] == "AWS::CloudFormation::Stack"}
    assert {k: r["Properties"]["TemplateURL"] for k, r in stacks.items()} == {
        "LabLab000": "labs/lab000.json", "LabLab001": "labs/lab001.json"}
    assert sorted(compiled.children) == ["labs/lab000.json", "labs/lab001.json"]
    assert resources["PipelineUsers"]["DependsOn"] == ["LabLab000", "LabLab001"]
    child = compiled.children["labs/lab000.json"]
    assert sorted(r["Type"] for r in child["Resources"].values()) == [
        "AWS::IAM::Group", "AWS::SNS::Subscription", "Custom::LabMembers"]  # no role: one job role serves every lab
    assert "Transform" not in child and sorted(child["Parameters"]) == ["TopicArn", "UsersFunctionArn"]
    assert not any(r["Type"] in ("AWS::IAM::Group", "Custom::LabMembers") for r in resources.values())


@pytest.mark.parametrize("stage", ["develop", "webdev"])
def test_develop_and_webdev_keep_labs_that_fit_in_the_one_template(compile_doc, stage):
    assert not compile_doc(labs_config(2, STAGE=stage)).nested


def test_an_unknown_stage_is_refused_listing_the_allowed_ones(tmp_path):
    from ncap_iac.config import load_document
    from ncap_iac.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        load_document(minimal_config(STAGE="production"), tmp_path)
    assert [str(i) for i in caught.value.issues] == [
        'STAGE: must be one of "develop", "webdev", "websubstack" (got "production")']


@pytest.mark.parametrize("stage", [None, "websubstack"], ids=["one-template", "nested"])
def test_adding_a_lab_changes_only_that_lab(compile_doc, stage):
    extra = {"STAGE": stage} if stage else {}
    before = compile_doc(labs_config(100 if stage else 20, **extra))
    doc = labs_config(100 if stage else 20, **extra)
    doc["UXData"]["Affiliates"].append({"AffiliateName": "newlab", "UserNames": ["newlab-u0", "lab000-user0"]})
    after = compile_doc(doc)
    difference = changed(before.template, after.template)
    assert len(difference["modified"]) <= 2 and set(difference["modified"]) <= {"AffiliateFolders", "PipelineUsers"}
    assert difference["removed"] == []
    if stage:
        assert difference["added"] == ["LabNewlab"]
        assert set(after.child_bodies) - set(before.child_bodies) == {"labs/newlab.json"}
        assert all(after.child_bodies[path] == body for path, body in before.child_bodies.items())
    else:
        assert difference["added"] == ["GroupNewlab", "MembersNewlab"]


def test_a_person_in_several_labs_is_listed_in_each_labs_members(compile_doc):
    doc = minimal_config(UXData={"Affiliates": [{"AffiliateName": "lab-a", "UserNames": ["alice", "dev"]},
                                                {"AffiliateName": "lab-b", "UserNames": ["dev"]}]})
    resources = compile_doc(doc).template["Resources"]
    assert resources["MembersLabA"]["Properties"]["Users"] == ["alice", "dev"]
    assert resources["MembersLabB"]["Properties"]["Users"] == ["dev"]
    assert not any(r["Type"] == "AWS::IAM::User" for r in resources.values())  # made by the users function


def test_a_large_lab_is_split_into_parts_the_first_of_which_holds_the_roster(compile_doc):
    resources = compile_doc(labs_config(1, 450)).template["Resources"]
    parts = sorted(k for k, r in resources.items() if r["Type"] == "Custom::LabMembers")
    assert parts == ["MembersLab000", "MembersLab000Part2", "MembersLab000Part3"]
    first = resources["MembersLab000"]
    assert first["DependsOn"] == ["MembersLab000Part2", "MembersLab000Part3"] and len(first["Properties"]["Roster"]) == 450
    assert sum(len(resources[p]["Properties"]["Users"]) for p in parts) == 450


def test_300_labs_of_16_users_compile_within_every_limit_and_lint_clean(compile_doc):
    compiled = compile_doc(labs_config(300, 16))
    assert compiled.nested and len(compiled.children) == 300
    for template, body in [(compiled.template, compiled.body), *((compiled.children[p], b)
                                                                  for p, b in compiled.child_bodies.items())]:
        assert deployed_resource_count(template) <= MAX_RESOURCES
        assert len(template.get("Outputs", {})) <= MAX_OUTPUTS and len(body.encode()) <= MAX_TEMPLATE_BYTES
    for template in (compiled.template, compiled.children["labs/lab000.json"], compiled.children["labs/lab299.json"]):
        assert [str(f) for f in lint_template(template, "us-east-1")] == []


def test_monitor_false_leaves_out_the_instance_monitor(compile_doc):
    doc = minimal_config(Lambda={"LambdaConfig": {"MONITOR": False}})
    resources = compile_doc(doc).template["Resources"]
    assert "MonitorFunction" not in resources and "MonitorFunction" in compile_doc(minimal_config()).template["Resources"]


def test_the_pipeline_version_reaches_the_submit_function_and_the_stack_tags(compile_doc):
    from ncap_iac.compiler import stack_tags

    compiled = compile_doc(minimal_config(PipelineVersion="2.3.1"))
    variables = compiled.template["Resources"]["SubmitFunction"]["Properties"]["Environment"]["Variables"]
    assert variables["PIPELINE_VERSION"] == "2.3.1"
    assert stack_tags(compiled.config) == {"ncap:pipeline": "test-pipeline", "PipelineVersion": "2.3.1"}


def test_one_bucket_wide_upload_rule_per_suffix_serves_every_lab(compile_doc):
    """Submissions and cancel requests, whatever the number of labs."""
    def rule(suffix):
        return {"Type": "S3", "Properties": {"Bucket": {"Ref": "PipelineBucket"}, "Events": ["s3:ObjectCreated:*"],
                                             "Filter": {"S3Key": {"Rules": [{"Name": "suffix", "Value": suffix}]}}}}
    submit = compile_doc(labs_config(3)).template["Resources"]["SubmitFunction"]["Properties"]["Events"]
    assert json.dumps(submit, sort_keys=True) == json.dumps(
        {"UploadSubmit": rule("submit.json"), "UploadCancel": rule("cancel.json")}, sort_keys=True)
    fileset = compile_doc(labs_config(3, Trigger={"Mode": "fileset", "Suffixes": [".mp4", ".hpf"]}))
    assert sorted(fileset.template["Resources"]["SubmitFunction"]["Properties"]["Events"]) == \
        ["UploadCancel", "UploadHpf", "UploadMp4"]

"""CloudFormation quotas: 50 labs of 5 users fit; a config beyond 500 resources or 1 MB is refused
with the limit and the excess named."""
import pytest

from ncap_iac.errors import TemplateLimitError
from ncap_iac.template.limits import MAX_RESOURCES, check_limits, deployed_resource_count

from factories import many_labs_config


def test_fifty_labs_of_five_users_compile_within_limits(compile_doc):
    compiled = compile_doc(many_labs_config(50, 5))
    assert len(compiled.config.created_users) == 250
    assert compiled.resource_count <= MAX_RESOURCES
    assert len(compiled.template["Outputs"]) <= 200


def test_labs_that_do_not_fit_one_template_go_into_nested_stacks(compile_doc):
    small, big = compile_doc(many_labs_config(100, 5)), compile_doc(many_labs_config(200, 5))
    assert not small.nested and big.nested and len(big.children) == 200
    assert big.resource_count == parent_count_for(200, compile_doc) <= 500


def test_more_labs_than_one_parent_can_hold_are_refused_with_the_excess(compile_doc):
    labs = 500
    with pytest.raises(TemplateLimitError) as caught:
        compile_doc(many_labs_config(labs, 1))
    expected = parent_count_for(labs, compile_doc)
    message = str(caught.value)
    assert message.startswith("the parent template (one nested stack per lab) exceeds CloudFormation's limits")
    assert f"{expected} resources" in message and f"({expected - 500} too many)" in message


def parent_count_for(labs, compile_doc):
    """The parent's count: what the pipeline shares, and one nested stack per lab."""
    one = compile_doc({**many_labs_config(1, 1), "STAGE": "websubstack"}).resource_count
    return one - 1 + labs


def test_template_over_one_megabyte_is_refused():
    template = {"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}, "Outputs": {}}
    body = "x" * 1_000_123
    with pytest.raises(TemplateLimitError, match=r"1,000,123 bytes; CloudFormation allows 1,000,000 \(123 bytes too many\)"):
        check_limits(template, body)


def test_too_many_outputs_is_refused():
    template = {"Resources": {}, "Outputs": {f"O{i}": {"Value": "v"} for i in range(201)}}
    with pytest.raises(TemplateLimitError, match=r"201 outputs; CloudFormation allows 200 \(1 too many\)"):
        check_limits(template, "{}")


def test_sam_events_are_counted_as_the_resources_they_become():
    function = {"Type": "AWS::Serverless::Function", "Properties": {"Events": {
        "A": {"Type": "S3"}, "B": {"Type": "EventBridgeRule"}}}}
    assert deployed_resource_count({"Resources": {"F": function}}) == 1 + 1 + 2


def test_five_pipelines_of_300_labs_declare_far_fewer_roles_than_an_accounts_quota(compile_doc):
    """IAM allows 1,000 roles per account by default. Every role of five pipelines of 300 labs,
    counted over every template (each lab's nested one included): one job role per pipeline
    serves all its labs, each session tagged with its lab."""
    roles = 0
    for position in range(5):
        compiled = compile_doc(many_labs_config(300, 2, name=f"pipeline-{position}"))
        assert compiled.nested and len(compiled.children) == 300
        for template in (compiled.template, *compiled.children.values()):
            roles += sum(1 for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role")
            # SAM functions without a Role of their own get one when the transform runs
            roles += sum(1 for r in template["Resources"].values()
                         if r["Type"] == "AWS::Serverless::Function" and "Role" not in r["Properties"])
    assert roles < 500, roles


def test_five_pipelines_of_300_labs_sharing_one_directory_make_no_user_and_few_roles(compile_doc):
    """The same account with the labs' people in one directory: every role of the five pipelines
    and the directory, over every template; no IAM user, group or users function for a person."""
    from ncap_iac.compiler import compile_directory
    from ncap_iac.config.directory import directory_from

    labs = [{"LabName": f"lab{a:03d}", "Admins": [f"pi{a:03d}@example.org"]} for a in range(300)]
    directory, _ = compile_directory(directory_from({"DirectoryName": "people", "REGION": "us-east-1",
                                                     "Labs": labs}))
    templates = [directory]
    for position in range(5):
        document = many_labs_config(300, 0, name=f"pipeline-{position}")
        document["Access"] = {"Directory": "people"}
        for entry, lab in zip(document["UXData"]["Affiliates"], labs, strict=True):
            entry["UserNames"] = [f"member@{lab['LabName']}.example.org"]
        compiled = compile_doc(document)
        assert compiled.config.created_users == ()
        templates += [compiled.template, *compiled.children.values()]
    types = [r["Type"] for t in templates for r in t["Resources"].values()]
    assert not {"AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::AccessKey"} & set(types)
    assert not any(r.get("Properties", {}).get("Handler") == "users.handler"
                   for t in templates for r in t["Resources"].values())
    roles = types.count("AWS::IAM::Role") + sum(
        1 for t in templates for r in t["Resources"].values()
        if r["Type"] == "AWS::Serverless::Function" and "Role" not in r["Properties"])
    assert roles < 500, roles
    assert types.count("AWS::IAM::Role") <= 5 * 6 + 2  # per pipeline: its functions', worker, job, member roles

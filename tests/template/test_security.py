"""The security stance, checked on every compiled template: least privilege written out, no
secret anywhere, labs confined to their own folders, data retained by default."""
import json
import re

import pytest

from ncap_iac.compiler import compile_config
from ncap_iac.config import load

from conftest import SOURCES_FOR_TOOLS
from factories import minimal_config

TEMPLATES = {name: compile_config(load(src), src.parent) for name, src in SOURCES_FOR_TOOLS.items()}
# ec2:DescribeInstances takes no resource-level permission: "*" is its only possible resource.
# take no resource-level permission: "*" is the only resource they accept
UNSCOPABLE_ACTIONS = {"ec2:DescribeInstances", "iam:ListUsers", "autoscaling:DescribeAutoScalingGroups"}


def _templates(compiled) -> list[dict]:
    """The parent (or only) template and each lab's nested one."""
    return [compiled.template, *compiled.children.values()]


def _resources(compiled) -> dict:
    return {logical_id: resource for template in _templates(compiled)
            for logical_id, resource in template["Resources"].items()}


def _policy_statements(compiled):
    for logical_id, resource in _resources(compiled).items():
        properties = resource.get("Properties", {})
        for policy in properties.get("Policies", []):
            for statement in policy["PolicyDocument"]["Statement"]:
                yield logical_id, statement
        if "PolicyDocument" in properties:
            for statement in properties["PolicyDocument"]["Statement"]:
                yield logical_id, statement


def _allows(compiled):
    return [(i, s) for i, s in _policy_statements(compiled) if s["Effect"] == "Allow"]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_no_wildcard_actions_and_no_unscoped_resources(name):
    for logical_id, statement in _allows(TEMPLATES[name]):
        assert all("*" not in action for action in statement["Action"]), (logical_id, statement)
        if statement["Resource"] == ["*"]:
            assert set(statement["Action"]) <= UNSCOPABLE_ACTIONS, (logical_id, statement)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_no_managed_policies(name):
    for text in (TEMPLATES[name].body, *TEMPLATES[name].child_bodies.values()):
        assert "ManagedPolicyArns" not in text and "AdministratorAccess" not in text
    assert all("Policies" not in r.get("Properties", {}) or isinstance(r["Properties"]["Policies"], list)
               for r in _resources(TEMPLATES[name]).values())


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_s3_resource_is_this_pipelines_bucket(name):
    compiled = TEMPLATES[name]
    bucket = compiled.config.pipeline_name
    for logical_id, statement in _allows(compiled):
        for resource in statement["Resource"]:
            text = json.dumps(resource)
            if ":s3:::" in text:
                assert re.search(rf":s3:::{re.escape(bucket)}(/|\")", text), (logical_id, text)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_lab_groups_reach_only_their_own_prefix(name):
    compiled = TEMPLATES[name]
    for affiliate in compiled.config.affiliates:
        group = _resources(compiled)[f"Group{_camel(affiliate.name)}"]
        for statement in group["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
            if statement["Action"] == ["iam:ChangePassword"]:
                continue
            for resource in statement["Resource"]:
                arn = resource["Fn::Sub"]
                assert arn.endswith(f":::{compiled.config.pipeline_name}") or \
                    f"{compiled.config.pipeline_name}/{affiliate.name}/" in arn
            prefixes = statement.get("Condition", {}).get("StringLike", {}).get("s3:prefix", [])
            assert all(p.startswith(f"{affiliate.name}/") for p in prefixes)
            if statement["Action"] == ["s3:ListBucket"]:
                assert prefixes, "listing must be limited to the lab's prefix"


def _camel(name):
    return "".join(p[:1].upper() + p[1:] for p in re.split(r"[^A-Za-z0-9]+", name))


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_no_secret_in_template_or_outputs(name):
    compiled = TEMPLATES[name]
    types = {r["Type"] for r in _resources(compiled).values()}
    assert "AWS::IAM::AccessKey" not in types  # keys go straight to Secrets Manager
    for body in (compiled.body, *compiled.child_bodies.values()):
        assert "SecretAccessKey" not in body
        assert not re.search(r"AKIA[0-9A-Z]{16}", body)
    for template in _templates(compiled):
        for output in template.get("Outputs", {}).values():
            assert "SecretString" not in json.dumps(output)


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_bucket_is_encrypted_private_versioned_and_tls_only(name):
    resources = TEMPLATES[name].template["Resources"]
    bucket = resources["PipelineBucket"]["Properties"]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    deny = resources["PipelineBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


@pytest.mark.parametrize("retain, policy", [(True, "Retain"), (False, "Delete")])
def test_bucket_is_retained_unless_the_config_opts_in(compile_doc, retain, policy):
    compiled = compile_doc(minimal_config(DataRetention={"RetainBucketOnDelete": retain}))
    bucket = compiled.template["Resources"]["PipelineBucket"]
    assert bucket["DeletionPolicy"] == bucket["UpdateReplacePolicy"] == policy
    folders = compiled.template["Resources"]["AffiliateFolders"]["Properties"]
    assert folders["EmptyBucketOnDelete"] == str(not retain).lower()


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_workers_require_imdsv2_and_encrypt_their_volume(name):
    data = TEMPLATES[name].template["Resources"]["WorkerLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    assert all(m["Ebs"]["Encrypted"] for m in data["BlockDeviceMappings"])


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_queues_are_encrypted(name):
    queues = [r for r in TEMPLATES[name].template["Resources"].values() if r["Type"] == "AWS::SQS::Queue"]
    assert len(queues) == 3 and all(q["Properties"]["SqsManagedSseEnabled"] for q in queues)


def test_user_data_quotes_the_command(compile_doc):
    hostile = "run.sh {} ; rm -rf / ; echo $(whoami) ${HOME} '\"`"
    compiled = compile_doc(minimal_config(Workers={"AMI": "ami-0123456789abcdef0", "Command": hostile}))
    data = compiled.template["Resources"]["WorkerLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    script = data["UserData"]["Fn::Base64"]["Fn::Sub"][0]
    exec_line = next(line for line in script.splitlines() if line.startswith("exec "))
    import shlex
    argv = shlex.split(exec_line.replace("${!", "${").replace("${JobQueue}", "URL"))
    assert argv[argv.index("--command") + 1] == hostile

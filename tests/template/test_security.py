"""The security stance, checked on every compiled template: least privilege written out, no
secret anywhere, labs confined to their own folders, data retained by default, the bucket's access
logged, notices encrypted."""
import json
import re

import pytest

from ncap_iac import names
from ncap_iac.template.storage import ACCESS_LOG_EXPIRY_DAYS

from conftest import compiled_goldens
from factories import minimal_config

TEMPLATES = compiled_goldens()
# actions that take no resource-level permission: "*" is their only resource
UNSCOPABLE_ACTIONS = {"ec2:DescribeInstances", "iam:ListUsers", "autoscaling:DescribeAutoScalingGroups",
                      "autoscaling:DescribeAutoScalingInstances", "ec2:DescribeSpotPriceHistory"}


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


def _listed(value) -> list:
    return value if isinstance(value, list) else [value]


def _role_statements(compiled):
    return [(i, s) for i, s in _allows(compiled) if _resources(compiled)[i]["Type"] == "AWS::IAM::Role"]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_no_wildcard_actions_and_no_unscoped_resources(name):
    for logical_id, statement in _allows(TEMPLATES[name]):
        assert all("*" not in action for action in statement["Action"]), (logical_id, statement)
        if statement["Resource"] == ["*"]:
            assert set(statement["Action"]) <= UNSCOPABLE_ACTIONS, (logical_id, statement)


# The one exception: an Image Builder build instance needs what AWS documents for it (its SSM agent,
# through which Image Builder drives the build, and Image Builder's own reads and logs), kept as the
# two AWS managed policies so that it follows AWS's changes to them; the build role's own rights
# (the artifacts of the image test, its spec) are written out beside them.
IMAGE_BUILD_POLICIES = [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"},
                        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/EC2InstanceProfileForImageBuilder"}]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_no_managed_policies(name):
    for text in (TEMPLATES[name].body, *TEMPLATES[name].child_bodies.values()):
        assert "AdministratorAccess" not in text
    for logical_id, resource in _resources(TEMPLATES[name]).items():
        managed = resource.get("Properties", {}).get("ManagedPolicyArns")
        assert managed is None or (logical_id, managed) == ("ImageBuildRole", IMAGE_BUILD_POLICIES), logical_id
    assert all("Policies" not in r.get("Properties", {}) or isinstance(r["Properties"]["Policies"], list)
               for r in _resources(TEMPLATES[name]).values())


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_s3_resource_is_this_pipelines_bucket_or_its_log_bucket(name):
    """...or, for the workers' instances, the artifact bucket's agent bundle and analysis code."""
    compiled = TEMPLATES[name]
    bucket, logs = compiled.config.pipeline_name, names.access_log_bucket_name(compiled.config.pipeline_name)
    for logical_id, statement in _allows(compiled):
        for resource in _listed(statement["Resource"]):
            text = json.dumps(resource)
            if ":s3:::${ArtifactBucket}/" in text:
                assert (logical_id, statement["Sid"], statement["Action"]) in (
                    ("WorkerRole", "InstallAgent", ["s3:GetObject"]),
                    ("ImageBuildRole", "InstallAgentForTest", ["s3:GetObject"])), text
            elif re.search(rf":s3:::{re.escape(logs)}(/|\")", text):
                # only the function that empties it on stack deletion, and the logging service
                assert logical_id in ("FoldersFunctionRole", "AccessLogBucketPolicy"), (logical_id, text)
            elif ":s3:::" in text:
                assert re.search(rf":s3:::{re.escape(bucket)}(/|\")", text), (logical_id, text)


@pytest.mark.parametrize("name", sorted(n for n in TEMPLATES if not TEMPLATES[n].config.uses_directory))
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
        assert not re.search(r"AKIA[0-9A-Z]{16}", body)
        # the one place a key's field is named: the user data's boot reads the instance role's own
        # credentials from the instance metadata service (never a value; nothing is printed)
        assert "SecretAccessKey" not in _without_user_data(body)
        assert body.count("SecretAccessKey") == body.count('keys[\\"SecretAccessKey\\"]') + \
            body.count('keys[\\\\\\"SecretAccessKey\\\\\\"]')  # in a component's JSON text: escaped twice
    for template in _templates(compiled):
        for output in template.get("Outputs", {}).values():
            assert "SecretString" not in json.dumps(output)


def _without_user_data(body: str) -> str:
    """The template without the scripts that carry the boot: user data, image components."""
    template = json.loads(body)
    for resource in template.get("Resources", {}).values():
        if resource["Type"] == "AWS::EC2::LaunchTemplate":
            resource["Properties"]["LaunchTemplateData"].pop("UserData")
        if resource["Type"] == "AWS::ImageBuilder::Component":
            resource["Properties"].pop("Data")
    return json.dumps(template)


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


@pytest.mark.parametrize("retain, policy", [(True, "Retain"), (False, "Delete")])
def test_access_logs_are_kept_exactly_when_the_lab_data_is(compile_doc, retain, policy):
    resources = compile_doc(minimal_config(DataRetention={"RetainBucketOnDelete": retain})).template["Resources"]
    for logical_id in ("AccessLogBucket", "AccessLogBucketPolicy"):
        assert resources[logical_id]["DeletionPolicy"] == resources[logical_id]["UpdateReplacePolicy"] == policy
    emptier = resources["AccessLogBucketEmptier"]
    assert emptier["Type"] == "Custom::BucketEmptier"
    assert emptier["Properties"]["BucketName"] == {"Ref": "AccessLogBucket"}
    assert emptier["Properties"]["EmptyBucketOnDelete"] == str(not retain).lower()


def test_log_bucket_goes_only_after_its_policy_and_the_policy_after_the_pipeline_bucket(compile_doc):
    """Deleted in reverse: the pipeline bucket, then the policy (no more log deliveries), then the
    emptier empties the log bucket, then the log bucket."""
    resources = compile_doc(minimal_config(DataRetention={"RetainBucketOnDelete": False})).template["Resources"]
    assert "AccessLogBucketPolicy" in resources["PipelineBucket"]["DependsOn"]
    assert resources["AccessLogBucketPolicy"]["DependsOn"] == ["AccessLogBucketEmptier"]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_pipeline_bucket_access_is_logged_into_the_log_bucket(name):
    compiled = TEMPLATES[name]
    resources = compiled.template["Resources"]
    assert resources["PipelineBucket"]["Properties"]["LoggingConfiguration"] == {
        "DestinationBucketName": {"Ref": "AccessLogBucket"},
        "LogFilePrefix": f"{compiled.config.pipeline_name}/"}
    unlogged = [i for i, r in _resources(compiled).items()
                if r["Type"] == "AWS::S3::Bucket" and "LoggingConfiguration" not in r["Properties"]]
    assert unlogged == ["AccessLogBucket"]  # a log bucket does not log into itself


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_log_bucket_is_sse_s3_encrypted_private_versioned_and_expires(name):
    compiled = TEMPLATES[name]
    logs = compiled.template["Resources"]["AccessLogBucket"]["Properties"]
    assert logs["BucketName"] == names.access_log_bucket_name(compiled.config.pipeline_name)
    assert logs["BucketEncryption"]["ServerSideEncryptionConfiguration"] == [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]  # access logging takes no SSE-KMS
    assert logs["PublicAccessBlockConfiguration"] == dict.fromkeys(
        ["BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"], True)
    assert logs["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert logs["VersioningConfiguration"] == {"Status": "Enabled"}
    expiry = [r for r in logs["LifecycleConfiguration"]["Rules"] if "ExpirationInDays" in r]
    assert [(r["ExpirationInDays"], r["Status"], "Prefix" in r) for r in expiry] == [
        (ACCESS_LOG_EXPIRY_DAYS, "Enabled", False)]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_only_the_logging_service_may_write_access_logs_for_this_bucket_and_account(name):
    compiled = TEMPLATES[name]
    pipeline, logs = compiled.config.pipeline_name, names.access_log_bucket_name(compiled.config.pipeline_name)
    policy = compiled.template["Resources"]["AccessLogBucketPolicy"]["Properties"]
    assert policy["Bucket"] == {"Ref": "AccessLogBucket"}
    allows = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    assert allows == [{
        "Sid": "AccessLogDelivery", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": ["s3:PutObject"], "Resource": {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{logs}/{pipeline}/*"},
        "Condition": {"StringEquals": {"aws:SourceArn": {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{pipeline}"},
                                       "aws:SourceAccount": {"Ref": "AWS::AccountId"}}}}]
    denies = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert [(d["Principal"], d["Action"], d["Condition"]) for d in denies] == [
        ("*", ["s3:*"], {"Bool": {"aws:SecureTransport": "false"}})]
    assert denies[0]["Resource"] == [{"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{logs}"},
                                     {"Fn::Sub": f"arn:${{AWS::Partition}}:s3:::{logs}/*"}]


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_topic_is_encrypted_with_a_rotating_key_of_its_own(name):
    compiled = TEMPLATES[name]
    resources = compiled.template["Resources"]
    assert resources["NotificationTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "NotificationTopicKey"}
    key = resources["NotificationTopicKey"]
    assert key["Type"] == "AWS::KMS::Key" and key["Properties"]["EnableKeyRotation"] is True
    assert resources["NotificationTopicKeyAlias"]["Properties"] == {
        "AliasName": f"alias/ncap/{compiled.config.pipeline_name}/notices",
        "TargetKeyId": {"Ref": "NotificationTopicKey"}}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_topic_key_policy_names_the_account_and_this_accounts_alarms_only(name):
    statements = TEMPLATES[name].template["Resources"]["NotificationTopicKey"]["Properties"]["KeyPolicy"]["Statement"]
    by_principal = {json.dumps(s["Principal"], sort_keys=True): s for s in statements}
    assert all(s["Effect"] == "Allow" for s in statements) and len(by_principal) == len(statements) == 2
    account = by_principal[json.dumps({"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}})]
    assert "kms:PutKeyPolicy" in account["Action"] and "kms:ScheduleKeyDeletion" in account["Action"]
    assert not any("*" in action for action in account["Action"])
    assert not {"kms:Encrypt", "kms:CreateGrant", "kms:ReEncryptFrom", "kms:ReEncryptTo"} & set(account["Action"])
    alarms = by_principal[json.dumps({"Service": "cloudwatch.amazonaws.com"})]
    assert sorted(alarms["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_every_publisher_may_use_the_topic_key_and_only_publishers_may(name):
    compiled = TEMPLATES[name]
    key_use = {"Action": ["kms:Decrypt", "kms:GenerateDataKey"],
               "Resource": [{"Fn::GetAtt": ["NotificationTopicKey", "Arn"]}]}
    publishers = {i for i, s in _role_statements(compiled) if "sns:Publish" in s["Action"]}
    key_users = {i for i, s in _role_statements(compiled) if any(a.startswith("kms:") for a in s["Action"])}
    assert publishers == key_users and {"WorkerRole", "SubmitFunctionRole"} <= publishers
    for logical_id, statement in _role_statements(compiled):
        if any(a.startswith("kms:") for a in statement["Action"]):
            assert {k: statement[k] for k in ("Action", "Resource")} == key_use, logical_id


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_workers_require_imdsv2_and_encrypt_their_volume(name):
    resources = TEMPLATES[name].template["Resources"]
    launches = [r for r in resources.values() if r["Type"] == "AWS::EC2::LaunchTemplate"]
    stages = TEMPLATES[name].config.worker_stages  # and a Spot stage's on-demand group has one of its own
    assert len(launches) == len(stages) + sum(s.workers.on_demand_fallback for s in stages)
    for launch in launches:
        data = launch["Properties"]["LaunchTemplateData"]
        assert data["MetadataOptions"]["HttpTokens"] == "required"
        assert all(m["Ebs"]["Encrypted"] for m in data["BlockDeviceMappings"])


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_queues_are_encrypted(name):
    queues = [r for r in TEMPLATES[name].template["Resources"].values() if r["Type"] == "AWS::SQS::Queue"]
    stages = TEMPLATES[name].config.worker_stages  # a job queue and its dead-letter queue each
    fallbacks = sum(s.workers.on_demand_fallback for s in stages)  # and the on-demand group's queue
    assert len(queues) == 2 * len(stages) + fallbacks + 1
    assert all(q["Properties"]["SqsManagedSseEnabled"] for q in queues)


def test_user_data_quotes_the_command(compile_doc):
    hostile = "run.sh {} ; rm -rf / ; echo $(whoami) ${HOME} '\"`"
    compiled = compile_doc(minimal_config(Workers={"AMI": "ami-0123456789abcdef0", "Command": hostile}))
    data = compiled.template["Resources"]["WorkerLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    script = data["UserData"]["Fn::Base64"]["Fn::Sub"][0]
    exec_line = next(line for line in script.splitlines() if line.startswith("exec "))
    import shlex
    argv = shlex.split(exec_line.replace("${!", "${").replace("${JobQueue}", "URL"))
    assert argv[argv.index("--command") + 1] == hostile


def _object_patterns(statement) -> list[str]:
    """The object keys an S3 statement's resources name (after `bucket/`), as IAM wildcards."""
    patterns = []
    for resource in _listed(statement["Resource"]):
        text = resource.get("Fn::Sub", "") if isinstance(resource, dict) else str(resource)
        if text.startswith("arn:${AWS::Partition}:s3:::") and "/" in text:
            patterns.append(text.split("/", 1)[1])
    return patterns


WRITES = {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:AbortMultipartUpload"}


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_workers_and_jobs_reach_only_their_labs_folders_and_never_write_a_submission(name):
    """The worker role reaches no lab's data (in S3 it may only add to the ledger); the job role,
    for a session tagged with a lab, names that lab and its folders exactly: no pattern matches
    another lab's key, and no write matches a submission or an input (IAM's `*` matches across
    `/`, so `*/results/*` would match `lab/submissions/results/x`); a session without the tag gets
    no pattern at all, and the role cannot be assumed without it."""
    from ncap_iac.emulator.conditions import matches
    from ncap_iac.lambda_repo.ncap_lambda.roles import LAB_TAG

    compiled = TEMPLATES[name]
    labs = [lab.name for lab in compiled.config.affiliates]
    statements = [(i, s) for i, s in _role_statements(compiled) if i in (names.INSTANCE_ROLE, names.JOB_ROLE)]
    assert {i for i, _ in statements} == {names.INSTANCE_ROLE, names.JOB_ROLE}
    trust = _resources(compiled)[names.JOB_ROLE]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert [t["Condition"] for t in trust] == [{"StringLike": {f"aws:RequestTag/{LAB_TAG}": "?*"},
                                                "ForAllValues:StringEquals": {"aws:TagKeys": [LAB_TAG]}}]
    for logical_id, statement in statements:
        actions = set(statement["Action"])
        if logical_id == names.INSTANCE_ROLE:  # S3: the ledger and its own agent and code, never a lab's folder
            if statement.get("Sid") == "InstallAgent":
                assert actions == {"s3:GetObject"}, statement
                assert all(re.fullmatch(r"\$\{AgentBundle\}|ncap/code/[0-9a-f]{64}\.zip", p)
                           for p in _object_patterns(statement)), statement
                assert all(r["Fn::Sub"].startswith("arn:${AWS::Partition}:s3:::${ArtifactBucket}/")
                           for r in statement["Resource"]), statement
            elif any(a.startswith("s3:") for a in actions):
                assert actions == {"s3:PutObject"} and statement["Sid"] == "RecordSpend", statement
                assert all(p.startswith("ledger/") for p in _object_patterns(statement)), statement
            continue
        patterns = [p.replace("${!", "${") for p in _object_patterns(statement)]  # as Fn::Sub leaves them
        if statement["Sid"] == "ReadLabInputs":
            assert all(any(matches(p, f"{lab}/inputs/x", {f"aws:principaltag/{LAB_TAG}": (lab,)}) for p in patterns)
                       for lab in labs), "each lab's session reads its own inputs"
        for pattern in patterns:
            assert pattern.startswith(f"${{aws:PrincipalTag/{LAB_TAG}}}/"), pattern
            assert not matches(pattern, f"{labs[0]}/inputs/x", {}), "an untagged session matches nothing"
            for lab in labs[:20]:
                session = {f"aws:principaltag/{LAB_TAG}": (lab,)}
                others = [f"{other}/inputs/x" for other in labs if other != lab] + ["other-lab/results/job_1/x"]
                assert not any(matches(pattern, key, session) for key in others), (lab, pattern)
                if actions & WRITES:
                    for key in (f"{lab}/submissions/x_submit.json", f"{lab}/inputs/a/results/job_1/b",
                                f"{lab}/submissions/results/job_1/x_submit.json", f"{lab}/configs/c.json"):
                        assert not matches(pattern, key, session), (pattern, key)

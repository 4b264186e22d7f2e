"""The embedded local cloud end to end: `ncap local up` as a real process, driven only through
boto3 with the credentials in local.json (a lab user's for everything a lab does; IAM is enforced
on the emulator), the way docs/architecture.md ("the data flow of a job") describes it.

Two clouds are shared by the tests of this module: one of a copy of pipelines/local-demo with 2
workers (the data flow, every resource of its template) and one of pipelines/cis-imu with no worker
(the fileset trigger; its COMMAND exists only on its AMI). Tests that stop a cloud or kill a part
of it start one of their own (`ncap local down`, the emulator dying), and so does the one that
cannot start (a worker dies).
"""
import importlib.util
import json
import os
import signal
import socket
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from cloud_helpers import (
    PIPELINES,
    CloudStartError,
    alive,
    descendants,
    keys_under,
    local_cloud,
    ncap,
    pipeline_copy,
    queue_counts,
    read_json,
    start_cloud,
    status_key,
    wait_gone,
    wait_status,
)

SAMPLE = PIPELINES / "local-demo" / "sample"
WORKERS = 2


def e2e_pipeline(document):
    """local-demo, plus a lab with console logins and an existing user taken into its group."""
    document["PipelineName"] = "ncap-e2e"
    document["UXData"]["Affiliates"][1].update(ConsoleLogin=True, ExistingUserNames=["dana"])


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    with local_cloud(pipeline_copy("local-demo", root / "pipeline", e2e_pipeline), root / "state",
                     workers=WORKERS) as running:
        yield running


@pytest.fixture(scope="module")
def imu(tmp_path_factory):
    """pipelines/cis-imu (fileset trigger, FIFO queue), no workers: jobs stay on the queue."""
    root = tmp_path_factory.mktemp("imu")
    with local_cloud(PIPELINES / "cis-imu", root / "state", workers=0) as running:
        yield running


@pytest.fixture
def own_cloud(tmp_path):
    """Starts a cloud of this test's own (a copy of pipelines/local-demo), for a test that stops it
    or kills a part of it: the shared clouds stay whole whatever order the tests run in."""
    started = []

    def start(workers: int = 0):
        cloud = start_cloud(pipeline_copy("local-demo", tmp_path / "pipeline"), tmp_path / "state", workers=workers)
        started.append(cloud)
        return cloud

    yield start
    for cloud in started:
        cloud.stop()


def summarize_module(pipeline_dir: Path):
    spec = importlib.util.spec_from_file_location("summarize", pipeline_dir / "analysis" / "summarize.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def expected_summary(cloud, csv_path: Path, config: dict) -> dict:
    module = summarize_module(cloud.pipeline_dir)
    return module.summarize(module.read_table(csv_path), config.get("columns"), int(config.get("precision", 3)))


def put(s3, bucket, key, body):
    s3.put_object(Bucket=bucket, Key=key, Body=body if isinstance(body, bytes) else body.encode())
    return key


def job_deliveries(cloud, job_id) -> list[dict]:
    """The worker agents' "job" decisions (one per message handled) for a job, from their logs."""
    found = []
    for log in sorted(cloud.state_dir.glob("worker-*.log")):
        for line in log.read_text(errors="replace").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict) and entry.get("decision") == "job" and entry.get("job_id") == job_id:
                found.append(entry)
    return found


def wait_for(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def router_queue(cloud):
    sqs = cloud.client("sqs")
    return sqs, sqs.get_queue_url(QueueName=f"{cloud.bucket}-local-s3-events")["QueueUrl"]


def wait_router_idle(cloud, timeout=20.0):
    """Every S3 event delivered so far has been handled (the router queue is empty)."""
    sqs, url = router_queue(cloud)
    wait_for(lambda: queue_counts(sqs, url) == (0, 0), timeout, "the S3 events handled")


# --- every resource of the translated template, through the AWS APIs ----------------------

def lambda_client(cloud):
    """moto 5.2.5 checks the signature of a body-less Lambda GET against the request's headers
    form-encoded (it signs `data`, not the empty body), so with IAM enforced every Lambda read
    fails with SignatureDoesNotMatch. Sending "{}" as the body of those GETs sidesteps it."""
    client = cloud.client("lambda")

    def with_body(request, **_):
        if request.method == "GET" and not request.data:
            request.data = b"{}"

    client.meta.events.register("before-sign.lambda", with_body)
    return client


class Resources:
    """Finds each resource of the translated template on the emulator, by type."""

    def __init__(self, cloud):
        from ncap_iac.translate import translate

        self.cloud, self.stack = cloud, cloud.info["stack_name"]
        compiled = json.loads((cloud.state_dir / "compiled_template.json").read_text())
        self.template = translate(compiled, cloud.info["region"], "s3://ncap-local-artifacts/x.zip")
        self.resources = self.template["Resources"]
        self.c = {name: cloud.client(name) for name in (
            "s3", "sqs", "sns", "iam", "logs", "events", "ec2", "autoscaling", "cloudwatch", "secretsmanager",
            "cloudformation", "kms")}
        self.c["lambda"] = lambda_client(cloud)
        summaries = self.c["cloudformation"].list_stack_resources(StackName=self.stack)["StackResourceSummaries"]
        self.physical = {s["LogicalResourceId"]: s.get("PhysicalResourceId")
                         for s in summaries if s["LogicalResourceId"]}

    def name(self, value):
        """A Ref to a resource named in the template -> its name (queues: the queue name)."""
        if isinstance(value, dict) and "Ref" in value:
            logical = value["Ref"]
            props = self.resources[logical].get("Properties", {})
            for key in ("BucketName", "QueueName", "GroupName", "UserName", "FunctionName", "TopicName",
                        "AutoScalingGroupName"):
                if key in props:
                    return props[key]
            return self.physical[logical]
        return value

    def resolved(self, value):
        """The template's intrinsic functions in `value` resolved as the emulator resolves them."""
        from ncap_iac.emulator.context import placeholder_context
        from ncap_iac.emulator.intrinsics import resolve

        account = self.cloud.client("sts").get_caller_identity()["Account"]
        return resolve(value, placeholder_context(self.template, self.cloud.info["region"], account, self.stack))

    def check(self, logical: str) -> str:
        kind = self.resources[logical]["Type"]
        props = self.resources[logical].get("Properties", {})
        method = getattr(self, "_" + kind.replace("::", "_").replace("Custom_", "custom_"), None)
        assert method, f"no check for {kind}: add one"
        return method(logical, props)

    def _AWS_S3_Bucket(self, logical, props):
        s3 = self.c["s3"]
        s3.head_bucket(Bucket=props["BucketName"])
        rule = s3.get_bucket_encryption(Bucket=props["BucketName"])["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        return f"bucket {props['BucketName']} (SSE AES256)"

    def _AWS_S3_BucketPolicy(self, logical, props):
        """The bucket's policy is the template's, whole (the emulator counts its requests as TLS,
        so the TLS-only Deny stands and never matches there)."""
        bucket = self.name(props["Bucket"])
        policy = json.loads(self.c["s3"].get_bucket_policy(Bucket=bucket)["Policy"])
        assert policy == self.resolved(props["PolicyDocument"])
        return f"policy of {bucket}: {[s.get('Sid') for s in policy['Statement']]} applied as written"

    def _AWS_SQS_Queue(self, logical, props):
        sqs = self.c["sqs"]
        url = sqs.get_queue_url(QueueName=props["QueueName"])["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert (attributes.get("FifoQueue") == "true") == bool(props.get("FifoQueue"))
        if "RedrivePolicy" in props:
            redrive = json.loads(attributes["RedrivePolicy"])
            assert int(redrive["maxReceiveCount"]) == props["RedrivePolicy"]["maxReceiveCount"]
        return f"queue {props['QueueName']}"

    def _AWS_SQS_QueuePolicy(self, logical, props):
        sqs, sids = self.c["sqs"], [s.get("Sid") for s in props["PolicyDocument"]["Statement"]]
        for queue in props["Queues"]:
            url = sqs.get_queue_url(QueueName=self.name(queue))["QueueUrl"]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]
            policy = json.loads(attributes["Policy"])
            assert [s.get("Sid") for s in policy["Statement"]] == sids
        return f"policy {sids} on {len(props['Queues'])} queues"

    def topic_arn(self, value):
        name = self.name(value)
        arns = [t["TopicArn"] for t in self.c["sns"].list_topics()["Topics"]]
        return next(a for a in arns if a.rsplit(":", 1)[1] == name)

    def _AWS_SNS_Topic(self, logical, props):
        arn = self.topic_arn({"Ref": logical})
        attributes = self.c["sns"].get_topic_attributes(TopicArn=arn)["Attributes"]
        assert attributes.get("KmsMasterKeyId") == self.physical[props["KmsMasterKeyId"]["Ref"]]
        return f"topic {arn} (encrypted with {attributes['KmsMasterKeyId']})"

    def _AWS_KMS_Key(self, logical, props):
        kms, key_id = self.c["kms"], self.physical[logical]
        metadata = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        assert metadata["Enabled"] and metadata["KeyManager"] == "CUSTOMER"
        assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is props["EnableKeyRotation"]
        policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
        assert [s["Sid"] for s in policy["Statement"]] == [s["Sid"] for s in props["KeyPolicy"]["Statement"]]
        return f"key {key_id} (rotation on)"

    def _AWS_KMS_Alias(self, logical, props):
        aliases = {a["AliasName"]: a for a in self.c["kms"].list_aliases()["Aliases"]}
        assert aliases[props["AliasName"]]["TargetKeyId"] == self.physical[props["TargetKeyId"]["Ref"]]
        return f"alias {props['AliasName']}"

    def _AWS_SNS_Subscription(self, logical, props):
        subscriptions = self.c["sns"].list_subscriptions_by_topic(TopicArn=self.topic_arn(props["TopicArn"]))
        match = [s for s in subscriptions["Subscriptions"]
                 if (s["Protocol"], s["Endpoint"]) == (props["Protocol"], props["Endpoint"])]
        assert len(match) == 1
        if "FilterPolicy" in props:
            attributes = self.c["sns"].get_subscription_attributes(SubscriptionArn=match[0]["SubscriptionArn"])
            assert json.loads(attributes["Attributes"]["FilterPolicy"]) == props["FilterPolicy"]
        return f"{props['Protocol']} {props['Endpoint']}"

    def _AWS_IAM_Group(self, logical, props):
        iam = self.c["iam"]
        iam.get_group(GroupName=props["GroupName"])
        policies = iam.list_group_policies(GroupName=props["GroupName"])["PolicyNames"]
        assert sorted(policies) == sorted(p["PolicyName"] for p in props.get("Policies", []))
        return f"group {props['GroupName']} {policies}"

    def _AWS_IAM_Role(self, logical, props):
        iam, name = self.c["iam"], self.physical[logical]
        iam.get_role(RoleName=name)
        policies = iam.list_role_policies(RoleName=name)["PolicyNames"]
        assert sorted(policies) == sorted(p["PolicyName"] for p in props.get("Policies", []))
        return f"role {name}"

    def _AWS_IAM_InstanceProfile(self, logical, props):
        profile = self.c["iam"].get_instance_profile(InstanceProfileName=self.physical[logical])["InstanceProfile"]
        assert [r["RoleName"] for r in profile["Roles"]] == [self.physical[r["Ref"]] for r in props["Roles"]]
        return f"instance profile {profile['InstanceProfileName']}"

    def _AWS_Lambda_Function(self, logical, props):
        functions = {f["FunctionName"]: f for f in self.c["lambda"].list_functions()["Functions"]}
        function = functions[props["FunctionName"]]
        assert function["Handler"] == props["Handler"] and function["Runtime"] == props["Runtime"]
        return f"function {props['FunctionName']} ({props['Runtime']})"

    def _AWS_Lambda_Permission(self, logical, props):
        function = self.name(props["FunctionName"])
        wanted = sum(1 for r in self.resources.values() if r["Type"] == "AWS::Lambda::Permission"
                     and self.name(r["Properties"]["FunctionName"]) == function
                     and r["Properties"]["Principal"] == props["Principal"])
        policy = json.loads(self.c["lambda"].get_policy(FunctionName=function)["Policy"])
        found = [s for s in policy["Statement"] if s["Principal"] == {"Service": props["Principal"]}
                 and s["Action"] == props["Action"]]
        assert len(found) == wanted
        return f"{props['Principal']} may invoke {function}"

    def _AWS_Logs_LogGroup(self, logical, props):
        groups = self.c["logs"].describe_log_groups(logGroupNamePrefix=props["LogGroupName"])["logGroups"]
        group = next(g for g in groups if g["logGroupName"] == props["LogGroupName"])
        assert group.get("retentionInDays") == props.get("RetentionInDays")
        return f"log group {props['LogGroupName']}"

    def _AWS_Events_Rule(self, logical, props):
        events, name = self.c["events"], self.physical[logical]
        rule = events.describe_rule(Name=name)
        assert json.loads(rule["EventPattern"]) == props["EventPattern"]
        targets = events.list_targets_by_rule(Rule=name)["Targets"]
        assert len(targets) == len(props["Targets"])
        return f"rule {name} -> {[t['Arn'].rsplit(':', 1)[1] for t in targets]}"

    def _AWS_EC2_LaunchTemplate(self, logical, props):
        found = self.c["ec2"].describe_launch_templates(LaunchTemplateNames=[props["LaunchTemplateName"]])
        assert len(found["LaunchTemplates"]) == 1
        return f"launch template {props['LaunchTemplateName']}"

    def _AWS_AutoScaling_AutoScalingGroup(self, logical, props):
        groups = self.c["autoscaling"].describe_auto_scaling_groups(
            AutoScalingGroupNames=[props["AutoScalingGroupName"]])["AutoScalingGroups"]
        assert len(groups) == 1
        assert (groups[0]["MinSize"], groups[0]["MaxSize"]) == (int(props["MinSize"]), int(props["MaxSize"]))
        return f"group {props['AutoScalingGroupName']} {props['MinSize']}-{props['MaxSize']}"

    def _AWS_AutoScaling_ScalingPolicy(self, logical, props):
        group = self.name(props["AutoScalingGroupName"])
        policies = self.c["autoscaling"].describe_policies(AutoScalingGroupName=group)["ScalingPolicies"]
        match = [p for p in policies if logical in p["PolicyName"]]
        assert len(match) == 1 and match[0]["AdjustmentType"] == props["AdjustmentType"]
        return f"policy {match[0]['PolicyName']}"

    def _AWS_CloudWatch_Alarm(self, logical, props):
        alarms = self.c["cloudwatch"].describe_alarms()["MetricAlarms"]
        match = [a for a in alarms if a["AlarmName"] == props.get("AlarmName") or logical in a["AlarmName"]]
        assert len(match) == 1 and match[0]["ComparisonOperator"] == props["ComparisonOperator"]
        assert len(match[0]["AlarmActions"]) == len(props.get("AlarmActions", []))
        return f"alarm {match[0]['AlarmName']}"

    def _custom_AffiliateFolders(self, logical, props):
        """The folders handler's effect: a marker object per lab and folder."""
        s3, bucket = self.c["s3"], self.name(props["BucketName"])
        markers = [f"{lab}/{folder}/" for lab in props["Affiliates"] for folder in props["Folders"]]
        for marker in markers:
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=marker, MaxKeys=1).get("Contents", [])
            assert [o["Key"] for o in listed] == [marker], marker
        return f"{len(markers)} folder markers"

    def _custom_BucketEmptier(self, logical, props):
        """Nothing to see until the stack is deleted: the bucket it would empty exists."""
        bucket = self.name(props["BucketName"])
        self.c["s3"].head_bucket(Bucket=bucket)
        return f"{bucket} emptied on stack deletion: {props['EmptyBucketOnDelete']}"

    def _custom_LabMembers(self, logical, props):
        """The users handler's effect: each user made under the pipeline's path with its access
        key in its own secret (and a console password where the lab has console logins), and in
        the lab's group with the lab's existing users."""
        iam, group = self.c["iam"], self.name(props["Group"])
        members = {u["UserName"] for u in iam.get_group(GroupName=group)["Users"]}
        assert set(props["Users"]) | set(props["ExistingUsers"]) <= members
        for user in props["Users"]:
            assert iam.get_user(UserName=user)["User"]["Path"] == props["UserPath"]
            secret = json.loads(self.c["secretsmanager"].get_secret_value(
                SecretId=props["SecretPrefix"] + user)["SecretString"])
            keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
            assert [k["AccessKeyId"] for k in keys] == [secret["AccessKeyId"]]
            assert self.cloud.info["users"][user]["access_key_id"] == secret["AccessKeyId"]
            if props["ConsoleLogin"] == "true":
                iam.get_login_profile(UserName=user)
        if "Roster" in props:
            assert {m.lower() for m in members} == {m.lower() for m in props["Roster"]}
        login = " with console logins" if props["ConsoleLogin"] == "true" else ""
        return f"{len(props['Users'])} users and {len(props['ExistingUsers'])} existing in {group}{login}"

    def _custom_PipelineUsers(self, logical, props):
        """Every user under the pipeline's path is one some lab lists."""
        pages = self.c["iam"].get_paginator("list_users").paginate(PathPrefix=props["UserPath"])
        found = {u["UserName"] for page in pages for u in page["Users"]}
        assert found == set(self.cloud.info["users"]), (found, set(self.cloud.info["users"]))
        return f"{len(found)} users under {props['UserPath']}"


def check_every_resource(cloud):
    resources = Resources(cloud)
    rows, missing = [], []
    for logical, resource in sorted(resources.resources.items(), key=lambda item: (item[1]["Type"], item[0])):
        try:
            rows.append((resource["Type"], logical, resources.check(logical)))
        except (AssertionError, ClientError, KeyError, StopIteration) as error:
            missing.append((resource["Type"], logical, f"{type(error).__name__}: {error}"))
    print(f"\n{len(rows)} of {len(resources.resources)} resources of {cloud.info['stack_name']} found:")
    for row in rows + missing:
        print("  ".join(row))
    assert not missing, missing
    return resources


# --- the tests -------------------------------------------------------------------------------

@pytest.mark.slow
def test_every_template_resource_exists(cloud):
    resources = check_every_resource(cloud)
    types = {r["Type"] for r in resources.resources.values()}
    from ncap_iac.emulator.provisioners import SKIPPED_TYPES

    # this pipeline exercises every type moto's CloudFormation skips, but a directory's (its user
    # pool and client, made by the local cloud of a pipeline with Access: tests/local/test_directory.py)
    # and a warm pool's (tests/local/test_spot.py)
    elsewhere = {t for t in SKIPPED_TYPES if t.startswith("AWS::Cognito::")} | {"AWS::AutoScaling::WarmPool"}
    assert set(SKIPPED_TYPES) - elsewhere <= types
    assert {"Custom::AffiliateFolders", "Custom::LabMembers", "Custom::PipelineUsers"} <= types


@pytest.mark.slow
def test_bucket_settings_match_the_template(cloud):
    """moto's CloudFormation ignores these bucket properties; gaps.bucket_settings applies them."""
    s3, resources = cloud.client("s3"), Resources(cloud)
    props = resources.resources["PipelineBucket"]["Properties"]
    bucket = props["BucketName"]
    assert s3.get_bucket_versioning(Bucket=bucket).get("Status") == props["VersioningConfiguration"]["Status"]
    assert s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"] == \
        props["PublicAccessBlockConfiguration"]
    assert s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"] == \
        props["OwnershipControls"]["Rules"]
    logs = resources.resources["AccessLogBucket"]["Properties"]["BucketName"]
    assert s3.get_bucket_logging(Bucket=bucket)["LoggingEnabled"] == {
        "TargetBucket": logs, "TargetPrefix": props["LoggingConfiguration"]["LogFilePrefix"]}
    assert [r["Expiration"] for r in s3.get_bucket_lifecycle_configuration(Bucket=logs)["Rules"]] == [
        {"Days": 365}, {"ExpiredObjectDeleteMarker": True}]


@pytest.mark.slow
def test_job_notices_reach_the_encrypted_topics_subscribers(cloud):
    """The worker (SUCCESS) and the submit function (REJECTED) publish to the topic encrypted with
    the pipeline's key; a queue subscribed to it receives both, with the lab's attribute."""
    sns, sqs = cloud.client("sns"), cloud.client("sqs")
    topic = cloud.client("cloudformation").describe_stacks(StackName=cloud.info["stack_name"])["Stacks"][0]
    arn = next(o["OutputValue"] for o in topic["Outputs"] if o["OutputKey"] == "NotificationTopicArn")
    assert sns.get_topic_attributes(TopicArn=arn)["Attributes"]["KmsMasterKeyId"]
    probe = sqs.create_queue(QueueName="notice-probe")["QueueUrl"]
    probe_arn = sqs.get_queue_attributes(QueueUrl=probe, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=probe_arn)
    s3, bucket, lab = cloud.client("s3", "alice"), cloud.bucket, cloud.affiliate_of("alice")
    data = put(s3, bucket, f"{lab}/inputs/notice.csv", (SAMPLE / "trial_01.csv").read_bytes())
    configname = put(s3, bucket, f"{lab}/configs/notice.json", json.dumps({"columns": ["speed_cm_s"]}))
    put(s3, bucket, f"{lab}/submissions/notice_submit.json",
        json.dumps({"dataname": data, "configname": configname, "timestamp": "notice-ok"}))
    put(s3, bucket, f"{lab}/submissions/notice_rejected_submit.json",
        json.dumps({"configname": configname, "timestamp": "notice-rejected"}))
    notices: dict = {}

    def both_arrived():
        for message in sqs.receive_message(QueueUrl=probe, MaxNumberOfMessages=10).get("Messages", []):
            envelope = json.loads(message["Body"])
            notices[envelope["Subject"]] = envelope["MessageAttributes"]["affiliate"]["Value"]
        return {"NCAP job notice-ok SUCCESS", "NCAP job notice-rejected REJECTED"} <= set(notices)

    wait_for(both_arrived, timeout=60, what="the SUCCESS and REJECTED notices")
    assert notices["NCAP job notice-ok SUCCESS"] == notices["NCAP job notice-rejected REJECTED"] == lab


@pytest.mark.slow
def test_valid_submission_succeeds_with_its_results(cloud):
    s3, bucket, lab = cloud.client("s3", "alice"), cloud.bucket, cloud.affiliate_of("alice")
    config = json.loads((SAMPLE / "config.json").read_text())
    data = put(s3, bucket, f"{lab}/inputs/trial_01.csv", (SAMPLE / "trial_01.csv").read_bytes())
    configname = put(s3, bucket, f"{lab}/configs/config.json", json.dumps(config))
    put(s3, bucket, f"{lab}/submissions/valid_submit.json",
        json.dumps({"dataname": data, "configname": configname, "timestamp": "valid-1"}))

    status = wait_status(s3, bucket, status_key(lab, "valid-1"))

    assert status["status"] == "SUCCESS", status
    assert status["submit_key"] == f"{lab}/submissions/valid_submit.json"
    assert status["datasets"][data]["status"] == "SUCCESS"
    summary = read_json(s3, bucket, f"{lab}/results/job_valid-1/process_results/summary.json")
    assert summary == expected_summary(cloud, SAMPLE / "trial_01.csv", config)
    assert "certificate.txt" in " ".join(keys_under(s3, bucket, f"{lab}/results/job_valid-1/logs/"))


@pytest.mark.slow
def test_a_list_of_datanames_fans_out_one_job_per_dataset(cloud):
    s3, bucket, lab = cloud.client("s3", "alice"), cloud.bucket, cloud.affiliate_of("alice")
    rows = (SAMPLE / "trial_01.csv").read_text().splitlines()
    sizes = {"part_a.csv": 10, "part_b.csv": 20, "part_c.csv": 30}
    datanames = [put(s3, bucket, f"{lab}/inputs/{name}", "\n".join(rows[:n + 1]) + "\n") for name, n in sizes.items()]
    configname = put(s3, bucket, f"{lab}/configs/fan.json", json.dumps({"columns": ["speed_cm_s"]}))
    put(s3, bucket, f"{lab}/submissions/fan_submit.json",
        json.dumps({"dataname": datanames, "configname": configname, "timestamp": "fan-1"}))

    status = wait_status(s3, bucket, status_key(lab, "fan-1"))

    assert status["status"] == "SUCCESS", status
    assert sorted(status["datasets"]) == sorted(datanames)
    for name, n in sizes.items():
        summary = read_json(s3, bucket, f"{lab}/results/job_fan-1/process_results/{name}/summary.json")
        assert summary["speed_cm_s"]["n"] == n, name  # each dataset ran on its own file
    wait_for(lambda: len(job_deliveries(cloud, "fan-1")) >= 3, what="the worker logs")
    handled = job_deliveries(cloud, "fan-1")
    assert sorted(d["dataset"] for d in handled) == sorted(datanames)  # one message per dataset
    assert {d["outcome"] for d in handled} == {"success"}


REJECTIONS = {
    "not-json": ("notjson_submit.json", b"{this is not json", "notjson", "not valid JSON"),
    "missing-dataname": ("nodata_submit.json", {"configname": "{lab}/configs/rej.json", "timestamp": "rej-nodata"},
                         "rej-nodata", 'no "dataname"'),
    "another-labs-key": ("other_submit.json", {"dataname": "lab-b/inputs/trial_01.csv",
                                               "configname": "{lab}/configs/rej.json", "timestamp": "rej-other"},
                         "rej-other", "not to lab lab-a"),
    "dot-dot": ("dots_submit.json", {"dataname": "{lab}/inputs/../configs/rej.json",
                                     "configname": "{lab}/configs/rej.json", "timestamp": "rej-dots"},
                "rej-dots", '".." or "." segment'),
    "missing-dataset": ("gone_submit.json", {"dataname": "{lab}/inputs/never-uploaded.csv",
                                             "configname": "{lab}/configs/rej.json", "timestamp": "rej-gone"},
                        "rej-gone", "not found: lab-a/inputs/never-uploaded.csv"),
    "missing-config": ("nocfg_submit.json", {"dataname": "{lab}/inputs/rej.csv", "timestamp": "rej-nocfg",
                                             "configname": "{lab}/configs/never-uploaded.json"},
                       "rej-nocfg", "not found: lab-a/configs/never-uploaded.json"),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(REJECTIONS))
def test_each_rejection_reason_is_rejected_with_nothing_run(cloud, case):
    s3, bucket, lab = cloud.client("s3", "alice"), cloud.bucket, cloud.affiliate_of("alice")
    name, document, job_id, reason = REJECTIONS[case]
    put(s3, bucket, f"{lab}/inputs/rej.csv", (SAMPLE / "trial_01.csv").read_bytes())
    put(s3, bucket, f"{lab}/configs/rej.json", "{}")
    body = document if isinstance(document, bytes) else json.dumps(document).replace("{lab}", lab).encode()
    put(s3, bucket, f"{lab}/submissions/{name}", body)

    status = wait_status(s3, bucket, status_key(lab, job_id))

    assert status["status"] == "REJECTED" and reason in status["reason"], status
    assert status["datasets"] == {} and status["queued"] is False
    sqs = cloud.client("sqs")
    assert queue_counts(sqs, cloud.info["queue_url"]) == (0, 0)  # nothing queued
    assert keys_under(s3, bucket, f"{lab}/results/job_{job_id}/") == [
        f"{lab}/results/job_{job_id}/logs/certificate.txt", f"{lab}/results/job_{job_id}/logs/status.json"]
    assert job_deliveries(cloud, job_id) == []  # no worker ever saw it


@pytest.mark.slow
def test_a_duplicated_event_runs_once(cloud):
    """S3 delivers events at least once: the same notification can arrive twice, even at once.
    Re-uploading the submit file would not simulate that (it is a new upload, with its own event),
    so the very notification is delivered again: an S3 ObjectCreated:Put event for the same object
    (same bucket, key and size; the handler reads the ETag from S3 itself) is put on the queue the
    local cloud routes the bucket's events through, twice right after the upload (racing the
    original delivery) and once more after the job ended. The job runs once: one message handled
    by one worker, status SUCCESS at attempt 1, unchanged by the late duplicate."""
    from ncap_iac.local.simevents import s3_put

    s3, bucket, lab = cloud.client("s3", "alice"), cloud.bucket, cloud.affiliate_of("alice")
    data = put(s3, bucket, f"{lab}/inputs/dup.csv", (SAMPLE / "trial_01.csv").read_bytes())
    configname = put(s3, bucket, f"{lab}/configs/dup.json", "{}")
    body = json.dumps({"dataname": data, "configname": configname, "timestamp": "dup-1"}).encode()
    submit_key = put(s3, bucket, f"{lab}/submissions/dup_submit.json", body)
    event = json.dumps(s3_put(bucket, submit_key, len(body), cloud.info["region"]))
    sqs, router = router_queue(cloud)
    for _ in range(2):
        sqs.send_message(QueueUrl=router, MessageBody=event)

    status = wait_status(s3, bucket, status_key(lab, "dup-1"))
    wait_for(lambda: job_deliveries(cloud, "dup-1"), what="the worker's log of the job")
    wait_router_idle(cloud)
    sqs.send_message(QueueUrl=router, MessageBody=event)
    # The router deletes an event only once the handler has returned, and the handler queues a
    # job before it returns: once the router queue is idle, a second job message would be on the
    # job queue or already in a worker's log (checked below).
    wait_router_idle(cloud)

    assert status["status"] == "SUCCESS" and status["datasets"][data]["attempt"] == 1
    assert read_json(s3, bucket, status_key(lab, "dup-1")) == status
    assert len(job_deliveries(cloud, "dup-1")) == 1
    assert queue_counts(sqs, cloud.info["queue_url"]) == (0, 0)
    trigger_dead = sqs.get_queue_url(QueueName=f"{bucket}-trigger-dead")["QueueUrl"]
    assert queue_counts(sqs, trigger_dead) == (0, 0)  # every delivery was handled without error


def test_without_port_the_emulator_binds_a_free_one_and_local_json_names_it(cloud):
    """No probe-then-bind race: `up` without --port starts the emulator on port 0, and the port it
    got (STATE/moto.port) is the one local.json's endpoint names."""
    args = Path(f"/proc/{cloud.pids['moto']}/cmdline").read_bytes().decode().split("\0")
    assert args[args.index("--port") + 1] == "0"
    assert int((cloud.state_dir / "moto.port").read_text()) == cloud.port
    assert cloud.info["endpoint_url"] == f"http://localhost:{cloud.port}"


def test_local_json_gives_each_function_its_environment_with_this_clouds_names(cloud):
    functions = cloud.info["functions"]
    assert functions["SubmitFunction"]["QUEUE_URL"] == cloud.info["queue_url"]
    assert functions["SubmitFunction"]["TOPIC_ARN"] == cloud.info["topic_arn"]
    assert functions["SubmitFunction"]["BUCKET_NAME"] == cloud.bucket
    for environment in functions.values():
        assert all(isinstance(value, str) for value in environment.values()), environment


def test_ncap_invoke_without_env_vars_runs_against_the_running_cloud(cloud, tmp_path):
    """`ncap invoke` with no --env-vars takes the running cloud's names and endpoint: the submit
    handler, given the very event of a submission the cloud already ran, reads that job's status
    from the cloud and queues nothing again."""
    from ncap_iac.local.simevents import s3_put

    s3, bucket, lab = cloud.client("s3", "alice"), cloud.bucket, cloud.affiliate_of("alice")
    data = put(s3, bucket, f"{lab}/inputs/inv.csv", (SAMPLE / "trial_01.csv").read_bytes())
    body = json.dumps({"dataname": data, "configname": put(s3, bucket, f"{lab}/configs/inv.json", "{}"),
                       "timestamp": "inv-1"}).encode()
    submit_key = put(s3, bucket, f"{lab}/submissions/inv_submit.json", body)
    assert wait_status(s3, bucket, status_key(lab, "inv-1"))["status"] == "SUCCESS"
    event = tmp_path / "event.json"
    event.write_text(json.dumps(s3_put(bucket, submit_key, len(body), cloud.info["region"])))

    invoked = ncap("invoke", "SubmitFunction", "--template", str(cloud.state_dir / "compiled_template.json"),
                   "--event", str(event), "--local-state", str(cloud.state_dir))

    assert invoked.returncode == 0, invoked.stderr
    assert f"using the local cloud at {cloud.info['endpoint_url']}" in invoked.stderr
    result = json.loads(invoked.stdout)
    assert result["duplicates"] == ["inv-1"] and result["jobs"] == [] and result["rejected"] == [], result
    sqs = cloud.client("sqs")
    assert queue_counts(sqs, cloud.info["queue_url"]) == (0, 0)
    assert len(job_deliveries(cloud, "inv-1")) == 1


def test_ncap_invoke_local_state_where_no_cloud_runs_is_a_clear_message(tmp_path):
    template = tmp_path / "compiled_template.json"
    template.write_text(json.dumps({"Resources": {"PipelineBucket": {"Properties": {"BucketName": "ncap-local-demo"}}}}))
    invoked = ncap("invoke", "SubmitFunction", "--template", str(template), "--local-state", str(tmp_path))
    assert invoked.returncode == 1
    assert invoked.stderr.strip() == (f"--local-state {tmp_path}: no local cloud of ncap-local-demo runs from "
                                      "there (start one with `ncap local up`)")


@pytest.mark.slow
def test_cli_submit_waits_downloads_and_status_lists(cloud, tmp_path):
    state = str(cloud.state_dir)
    submitted = ncap("local", "submit", str(cloud.pipeline_dir), "--user", "bob", "--data",
                     str(SAMPLE / "trial_01.csv"), "--config", str(SAMPLE / "config.json"), "--wait",
                     "--out", str(tmp_path), "--timeout", "60", "--state-dir", state)
    assert submitted.returncode == 0, submitted.stderr
    summary = next(tmp_path.glob("*/process_results/summary.json"))
    config = json.loads((SAMPLE / "config.json").read_text())
    assert json.loads(summary.read_text()) == expected_summary(cloud, SAMPLE / "trial_01.csv", config)
    listed = ncap("local", "status", str(cloud.pipeline_dir), "--state-dir", state)
    assert listed.returncode == 0
    job_id = summary.parent.parent.name
    assert any(job_id in line and "SUCCESS" in line for line in listed.stdout.splitlines()), listed.stdout


def test_status_lists_the_jobs_under_a_header_oldest_first_with_long_reasons_cut(cloud):
    """Jobs in the order they were submitted, one line each: a long reason is cut to one line with
    the status file that holds it whole."""
    bob = cloud.client("s3", "bob")
    missing = "lab-b/inputs/" + "a-very-long-name-" * 6 + ".csv"
    for job in ("order-1", "order-2"):
        put(bob, cloud.bucket, f"lab-b/submissions/{job}_submit.json",
            json.dumps({"dataname": missing, "configname": "lab-b/configs/none.json", "timestamp": job}))
        wait_status(bob, cloud.bucket, status_key("lab-b", job), timeout=30)
        time.sleep(1.1)  # S3 times are to the second
    listed = ncap("local", "status", str(cloud.pipeline_dir), "--state-dir", str(cloud.state_dir))
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["job", "lab", "status", "datasets", "submitted", "updated", "reason"]
    [first, second] = [n for n, line in enumerate(lines) for job in ("order-1", "order-2") if line.startswith(job)]
    assert first < second
    rejected = lines[first]
    assert " REJECTED " in rejected and "… (whole: s3://" in rejected
    assert rejected.endswith("/lab-b/results/job_order-1/logs/status.json)")
    # the submit function's decisions, in `up`'s output and its log
    for said in (cloud.output, (cloud.state_dir / "submit.log").read_text()):
        assert "submit: job order-1 REJECTED: " in said and "submit: job order-2 REJECTED: " in said


@pytest.mark.slow
def test_fileset_second_file_of_a_pair_starts_one_job(imu):
    """cis-imu: a job per recording when both its .mp4 and .hpf are in; nothing before the pair is
    complete; one job, queued once, also when a file of the pair is uploaded again (its event is
    handled as a duplicate: status.json, the lock, is not touched; the FIFO queue's deduplication
    alone would also hide a second send, so the queue count is not the only check). Its COMMAND
    lives on its AMI only, so this cloud has no workers: the job's message stays on the queue."""
    user = imu.users_of("spine-clinic")[0]
    s3, bucket, lab = imu.client("s3", user), imu.bucket, "spine-clinic"
    sqs = imu.client("sqs")
    video = put(s3, bucket, f"{lab}/inputs/rec-001.mp4", b"\x00video")
    wait_router_idle(imu)
    assert read_json(s3, bucket, status_key(lab, "rec-001")) is None
    assert queue_counts(sqs, imu.info["queue_url"]) == (0, 0)

    imu_data = put(s3, bucket, f"{lab}/inputs/rec-001.hpf", b"\x01imu")
    wait_status(s3, bucket, status_key(lab, "rec-001"), final=("QUEUED",))
    status = wait_for(lambda: (read_json(s3, bucket, status_key(lab, "rec-001")) or {}).get("queued") and
                      read_json(s3, bucket, status_key(lab, "rec-001")), what="the job marked queued")
    wait_router_idle(imu)
    put(s3, bucket, video, b"\x00video")  # the same file again: the same set, the same job
    wait_router_idle(imu)

    assert read_json(s3, bucket, status_key(lab, "rec-001")) == status
    assert status["status"] == "QUEUED" and list(status["datasets"]) == [video]
    assert queue_counts(sqs, imu.info["queue_url"]) == (1, 0)
    message = sqs.receive_message(QueueUrl=imu.info["queue_url"], MaxNumberOfMessages=10)["Messages"]
    assert len(message) == 1
    body = json.loads(message[0]["Body"])
    assert (body["job_id"], body["datanames"]) == ("rec-001", [video, imu_data])


@pytest.mark.slow
def test_every_template_resource_exists_fileset_pipeline(imu):
    check_every_resource(imu)


@pytest.mark.slow
def test_emulator_that_stops_responding_is_reported(own_cloud):
    """The emulator dies under the running cloud: `up` says so in one line, exits 1, stops the rest."""
    cloud = own_cloud(workers=0)
    watched = cloud.all_pids()
    os.kill(cloud.pids["moto"], signal.SIGKILL)
    cloud.process.wait(timeout=30)
    output = cloud.output
    assert cloud.process.returncode == 1
    assert "the AWS emulator exited" in output and "Traceback" not in output
    assert not wait_gone(watched, 10)
    assert not (cloud.state_dir / "local.json").exists()


@pytest.mark.slow
def test_an_emulator_busy_for_seconds_is_not_taken_for_dead(own_cloud):
    """An emulator that answers nothing for a while (assembling a GiB upload does that) is waited
    for: the cloud stays up and answers again."""
    cloud = own_cloud(workers=0)
    os.kill(cloud.pids["moto"], signal.SIGSTOP)
    try:
        time.sleep(6)
        assert cloud.process.poll() is None, cloud.output
    finally:
        os.kill(cloud.pids["moto"], signal.SIGCONT)
    assert cloud.client("s3").list_buckets()["Buckets"]
    assert cloud.process.poll() is None and "shutting down" not in cloud.output


# --- clear messages when it cannot start -------------------------------------------------------

def one_clear_line(result) -> str:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_port_taken_is_a_clear_message(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = ncap("local", "up", str(PIPELINES / "local-demo"), "--workers", "0", "--port", str(port),
                      "--state-dir", str(tmp_path / "state"))
    assert one_clear_line(result) == f"port {port} on 127.0.0.1 is taken; choose another with --port"


def test_pipeline_that_does_not_compile_is_a_clear_message(tmp_path):
    pipeline = pipeline_copy("local-demo", tmp_path / "pipeline", lambda d: d.update(PipelineName="Not_A_Name"))
    result = ncap("local", "up", str(pipeline), "--workers", "0", "--state-dir", str(tmp_path / "state"))
    line = one_clear_line(result)
    assert line.startswith("PipelineName: ") and "lowercase" in line
    assert not (tmp_path / "state" / "local.json").exists()


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text.encode() in (entry / "cmdline").read_bytes() and alive(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_worker_that_dies_at_start_up_is_a_clear_message(tmp_path):
    """A worker that cannot start: its instance finds no python3 (the cloud runs with a PATH that
    holds none, as an image without Python), so its user data says so on its console and stops
    before any agent starts. Honest and independent of the pipeline: no option of
    stack_config.json makes a valid pipeline's worker fail. `up` must say which worker died, in one
    line, exit 1, and leave nothing running."""
    state = tmp_path / "state"
    state.mkdir()
    (tmp_path / "no-python").mkdir()
    try:
        cloud = start_cloud(PIPELINES / "local-demo", state, workers=1, env={"PATH": str(tmp_path / "no-python")})
    except CloudStartError as error:  # noticed before local.json was written: `up` exited already
        output, code = (tmp_path / "state-up.log").read_text(), 1 if "exited 1 " in str(error) else str(error)
    else:  # noticed after (the worker took longer to die than `up` waits at start): `up` exits by itself
        try:
            code = cloud.process.wait(timeout=60)
            output = cloud.output
        finally:
            cloud.stop()
    assert code == 1
    assert "Traceback" not in output
    assert len([line for line in output.splitlines() if line.startswith("worker 0 exited")]) == 1, output
    assert "this image has no python3 of version 3.9 or later" in (state / "worker-0.log").read_text()
    assert not (state / "local.json").exists() and not (state / "pids.json").exists()
    assert wait_for(lambda: not processes_mentioning(str(state)), 10, "the cloud's processes gone")


# --- `ncap local down`, on a cloud of its own ------------------------------------------------

@pytest.mark.slow
def test_down_leaves_no_process_behind(own_cloud):
    """Every process the cloud runs (the pids it recorded, and everything below `up`) is gone
    after `ncap local down`, its state files are removed and its port is free."""
    cloud = own_cloud(workers=WORKERS)
    before = cloud.all_pids() | descendants(cloud.process.pid)
    recorded = {cloud.pids["up"], cloud.pids["moto"], *cloud.pids["workers"]}
    assert len(cloud.pids["workers"]) == WORKERS and recorded <= before

    result = cloud.down()

    assert result.returncode == 0, result.stderr
    assert "stopped the local cloud" in result.stdout
    cloud.process.wait(timeout=30)
    assert wait_gone(before, 5) == set()
    assert not (cloud.state_dir / "pids.json").exists() and not (cloud.state_dir / "local.json").exists()
    with socket.socket() as probe:  # the emulator's port is free again (for a server, which reuses
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # an address in TIME_WAIT)
        probe.bind(("127.0.0.1", cloud.port))
        probe.listen()

"""What moto's CloudFormation skips, made through the regular APIs: each provisioner's create,
update and delete against a moto server (checked through boto3, as a user would see them), find()
of one made before, and the completers of the buckets and keys moto makes but does not finish.
Removing what is already gone is never an error (a retried deletion must not fail)."""
import json

import pytest
from botocore.exceptions import ClientError

from ncap_iac.aws.clients import Aws
from ncap_iac.emulator.provisioners import (
    COMPLETERS,
    PROVISIONERS,
    SKIPPED_TYPES,
    alarm_name,
    scaling_policy_name,
)

STACK = "prov"
ACCOUNT = "123456789012"


@pytest.fixture
def aws(moto_server):
    return Aws("us-east-1", moto_server)


def provisioner(kind):
    return PROVISIONERS[kind]


def gone(call) -> str:
    """The error code of a call that must fail because its resource does not exist."""
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def policy(name, *actions, resource="*"):
    return {"PolicyName": name, "PolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": list(actions), "Resource": resource}]}}


def test_every_type_moto_skips_has_a_provisioner():
    assert set(SKIPPED_TYPES) == {
        "AWS::IAM::Group", "AWS::AutoScaling::ScalingPolicy", "AWS::CloudWatch::Alarm",
        "AWS::S3::BucketPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::Subscription",
        "AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::AutoScaling::WarmPool"}
    assert set(COMPLETERS) == {"AWS::S3::Bucket", "AWS::KMS::Key", "AWS::AutoScaling::AutoScalingGroup"}


def empty_group(aws, name: str):
    """A group of no instance on the emulator (as moto's CloudFormation makes one); its client."""
    autoscaling = aws.client("autoscaling")
    image = aws.client("ec2").describe_images()["Images"][0]["ImageId"]
    autoscaling.create_launch_configuration(LaunchConfigurationName=name, ImageId=image, InstanceType="t3.micro")
    autoscaling.create_auto_scaling_group(AutoScalingGroupName=name, LaunchConfigurationName=name,
                                          MinSize=0, MaxSize=4, AvailabilityZones=["us-east-1a"])
    return autoscaling


def test_a_groups_lifecycle_hooks_are_made_as_it_declares_them(aws):
    autoscaling = empty_group(aws, "hooked")
    props = {"AutoScalingGroupName": "hooked", "LifecycleHookSpecificationList": [
        {"LifecycleHookName": "WorkerTerminatingHook", "LifecycleTransition": "autoscaling:EC2_INSTANCE_TERMINATING",
         "HeartbeatTimeout": 180, "DefaultResult": "CONTINUE"},
        {"LifecycleHookName": "WorkerLaunchingHook", "LifecycleTransition": "autoscaling:EC2_INSTANCE_LAUNCHING",
         "HeartbeatTimeout": 900, "DefaultResult": "ABANDON"}]}
    COMPLETERS["AWS::AutoScaling::AutoScalingGroup"].create("WorkerGroup", props, aws, "stack")
    hooks = autoscaling.describe_lifecycle_hooks(AutoScalingGroupName="hooked")["LifecycleHooks"]
    assert {(h["LifecycleHookName"], h["LifecycleTransition"], h["HeartbeatTimeout"], h["DefaultResult"])
            for h in hooks} == {("WorkerTerminatingHook", "autoscaling:EC2_INSTANCE_TERMINATING", 180, "CONTINUE"),
                                ("WorkerLaunchingHook", "autoscaling:EC2_INSTANCE_LAUNCHING", 900, "ABANDON")}


def test_a_warm_pool_is_kept_beside_its_group_and_removed(aws):
    autoscaling = empty_group(aws, "workers")
    props = {"AutoScalingGroupName": "workers", "MinSize": 2, "MaxGroupPreparedCapacity": 2, "PoolState": "Stopped",
             "InstanceReusePolicy": {"ReuseOnScaleIn": True}}
    pools = provisioner("AWS::AutoScaling::WarmPool")
    pools.create("WorkerWarmPool", props, aws, "stack")
    found = autoscaling.describe_warm_pool(AutoScalingGroupName="workers")["WarmPoolConfiguration"]
    assert (found["MinSize"], found["MaxGroupPreparedCapacity"], found["PoolState"]) == (2, 2, "Stopped")
    pools.delete("WorkerWarmPool", props, aws, "stack")
    assert "WarmPoolConfiguration" not in autoscaling.describe_warm_pool(AutoScalingGroupName="workers")


def test_a_user_pool_and_its_client_are_made_found_changed_and_removed(aws):
    pool_props = {"UserPoolName": "people", "UsernameAttributes": ["email"], "AutoVerifiedAttributes": ["email"],
                  "MfaConfiguration": "OFF", "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": True}}
    pools = provisioner("AWS::Cognito::UserPool")
    pool = pools.create("UserPool", pool_props, aws, "stack")
    assert pools.find("UserPool", pool_props, aws, "stack") == pool
    cognito = aws.client("cognito-idp")
    assert cognito.describe_user_pool(UserPoolId=pool)["UserPool"]["AdminCreateUserConfig"][
        "AllowAdminCreateUserOnly"] is True
    changed = {**pool_props, "AdminCreateUserConfig": {"AllowAdminCreateUserOnly": False}}
    assert pools.apply_update("UserPool", pool_props, changed, aws, "stack") == pool
    assert cognito.describe_user_pool(UserPoolId=pool)["UserPool"]["AdminCreateUserConfig"][
        "AllowAdminCreateUserOnly"] is False
    clients = provisioner("AWS::Cognito::UserPoolClient")
    client_props = {"UserPoolId": pool, "ClientName": "cli", "GenerateSecret": False,
                    "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]}
    client = clients.create("UserPoolClient", client_props, aws, "stack")
    assert clients.find("UserPoolClient", client_props, aws, "stack") == client
    clients.delete("UserPoolClient", client_props, aws, "stack")
    assert clients.find("UserPoolClient", client_props, aws, "stack") is None
    pools.delete("UserPool", pool_props, aws, "stack")
    assert pools.find("UserPool", pool_props, aws, "stack") is None


# --- groups and membership ------------------------------------------------------------------

def group_policies(aws, group) -> dict:
    names = aws.iam.list_group_policies(GroupName=group)["PolicyNames"]
    return {n: aws.iam.get_group_policy(GroupName=group, PolicyName=n)["PolicyDocument"] for n in names}


def members(aws, group) -> list[str]:
    return sorted(u["UserName"] for u in aws.iam.get_group(GroupName=group)["Users"])


def test_a_group_is_made_with_its_policies_updated_and_deleted_with_its_members(aws):
    groups = provisioner("AWS::IAM::Group")
    old = {"GroupName": "prov-lab-a", "Path": "/ncap/prov/",
           "Policies": [policy("LabFolders", "s3:GetObject"), policy("Retired", "s3:ListBucket")]}
    assert groups.create("GroupLabA", old, aws, STACK) == "prov-lab-a"
    assert aws.iam.get_group(GroupName="prov-lab-a")["Group"]["Path"] == "/ncap/prov/"
    assert sorted(group_policies(aws, "prov-lab-a")) == ["LabFolders", "Retired"]
    assert groups.find("GroupLabA", old, aws, STACK) == "prov-lab-a"

    new = {**old, "Policies": [policy("LabFolders", "s3:GetObject", "s3:PutObject"), policy("Added", "sqs:*")]}
    assert groups.apply_update("GroupLabA", old, new, aws, STACK) == "prov-lab-a"
    found = group_policies(aws, "prov-lab-a")
    assert sorted(found) == ["Added", "LabFolders"], "the policy no longer in the template is removed"
    assert found["LabFolders"]["Statement"][0]["Action"] == ["s3:GetObject", "s3:PutObject"]

    aws.iam.create_user(UserName="alice")
    aws.iam.add_user_to_group(GroupName="prov-lab-a", UserName="alice")
    groups.delete("GroupLabA", new, aws, STACK)
    assert gone(lambda: aws.iam.get_group(GroupName="prov-lab-a")) == "NoSuchEntity"
    assert aws.iam.get_user(UserName="alice")["User"]["UserName"] == "alice", "the member itself stays"
    groups.delete("GroupLabA", new, aws, STACK)  # already gone: no error


# --- bucket and queue policies --------------------------------------------------------------

TLS_ONLY = {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": ["arn:aws:s3:::prov-bucket", "arn:aws:s3:::prov-bucket/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
OWN_ACCOUNT = {"Sid": "OwnAccountOnly", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
               "Resource": "arn:aws:s3:::prov-bucket/*",
               "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}}
READ = {"Sid": "Read", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::prov-bucket/*"}


def bucket_policy_sids(aws, bucket="prov-bucket") -> list[str] | None:
    try:
        return [s["Sid"] for s in json.loads(aws.s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]]
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchBucketPolicy"
        return None


def bucket_policy(*statements):
    return {"Bucket": "prov-bucket", "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)}}


def test_the_bucket_policy_is_applied_whole_and_its_tls_only_deny_never_matches(aws):
    policies = provisioner("AWS::S3::BucketPolicy")
    aws.s3.create_bucket(Bucket="prov-bucket")
    written = bucket_policy(TLS_ONLY, OWN_ACCOUNT, READ)
    assert policies.create("PipelineBucketPolicy", written, aws, STACK) == "prov-bucket"
    assert json.loads(aws.s3.get_bucket_policy(Bucket="prov-bucket")["Policy"]) == written["PolicyDocument"]
    # the emulator counts its plain-HTTP requests as TLS: the Deny on plain HTTP does not match
    aws.s3.put_object(Bucket="prov-bucket", Key="lab-a/inputs/x", Body=b"x")
    assert aws.s3.get_object(Bucket="prov-bucket", Key="lab-a/inputs/x")["Body"].read() == b"x"


def test_a_bucket_policy_without_conditions_is_applied_whole_and_updated_by_a_new_put(aws):
    policies = provisioner("AWS::S3::BucketPolicy")
    aws.s3.create_bucket(Bucket="prov-bucket")
    assert policies.create("PipelineBucketPolicy", bucket_policy(READ), aws, STACK) == "prov-bucket"
    assert bucket_policy_sids(aws) == ["Read"]
    assert policies.update is None  # an update puts the policy again
    renamed = {**READ, "Sid": "ReadAgain"}
    assert policies.apply_update("PipelineBucketPolicy", bucket_policy(READ), bucket_policy(READ, renamed),
                                 aws, STACK) == "prov-bucket"
    assert bucket_policy_sids(aws) == ["Read", "ReadAgain"]
    policies.delete("PipelineBucketPolicy", bucket_policy(READ), aws, STACK)
    assert bucket_policy_sids(aws) is None
    policies.delete("PipelineBucketPolicy", bucket_policy(READ), aws, STACK)  # already gone: no error


def queue_policy(aws, url):
    found = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {})
    return json.loads(found["Policy"]) if found.get("Policy") else None


def test_a_queue_policy_is_set_on_each_queue_as_written_and_removed(aws):
    policies = provisioner("AWS::SQS::QueuePolicy")
    urls = [aws.sqs.create_queue(QueueName=name)["QueueUrl"] for name in ("prov-jobs", "prov-dead")]
    document = {"Version": "2012-10-17", "Statement": [
        {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*",
         "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}
    props = {"Queues": urls, "PolicyDocument": document}
    assert policies.create("QueuesTlsOnly", props, aws, STACK) == ",".join(urls)
    assert [queue_policy(aws, url) for url in urls] == [document, document]
    aws.sqs.send_message(QueueUrl=urls[0], MessageBody="still usable")  # moto does not evaluate it
    policies.delete("QueuesTlsOnly", props, aws, STACK)
    assert [queue_policy(aws, url) for url in urls] == [None, None]
    aws.sqs.delete_queue(QueueUrl=urls[1])
    policies.delete("QueuesTlsOnly", props, aws, STACK)  # one queue already gone: no error


# --- scaling, alarms, subscriptions ---------------------------------------------------------

def worker_group(aws) -> str:
    template = aws.client("ec2").create_launch_template(LaunchTemplateName="prov-workers", LaunchTemplateData={
        "ImageId": "ami-12c6146b", "InstanceType": "t3.micro"})["LaunchTemplate"]["LaunchTemplateId"]
    aws.autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="prov-workers", MinSize=0, MaxSize=4, AvailabilityZones=["us-east-1a"],
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"})
    return "prov-workers"


def scaling_policies(aws, group="prov-workers") -> dict:
    return {p["PolicyName"]: p for p in aws.autoscaling.describe_policies(AutoScalingGroupName=group)["ScalingPolicies"]}


def test_a_scaling_policy_is_put_found_updated_and_deleted(aws):
    policies = provisioner("AWS::AutoScaling::ScalingPolicy")
    group = worker_group(aws)
    props = {"AutoScalingGroupName": group, "PolicyType": "StepScaling", "AdjustmentType": "ChangeInCapacity",
             "MetricAggregationType": "Maximum", "EstimatedInstanceWarmup": 300,
             "StepAdjustments": [{"MetricIntervalLowerBound": 0, "MetricIntervalUpperBound": 10, "ScalingAdjustment": 1},
                                 {"MetricIntervalLowerBound": 10, "ScalingAdjustment": 3}]}
    name = scaling_policy_name(STACK, "ScaleOutPolicy")
    assert name == "prov-ScaleOutPolicy"
    assert policies.find("ScaleOutPolicy", props, aws, STACK) is None
    arn = policies.create("ScaleOutPolicy", props, aws, STACK)
    made = scaling_policies(aws)[name]
    assert arn == made["PolicyARN"] and arn.startswith("arn:aws:autoscaling:us-east-1:")
    assert [s["ScalingAdjustment"] for s in made["StepAdjustments"]] == [1, 3]
    assert policies.find("ScaleOutPolicy", props, aws, STACK) == arn

    changed = {**props, "StepAdjustments": [{"MetricIntervalLowerBound": 0, "ScalingAdjustment": 2}]}
    policies.apply_update("ScaleOutPolicy", props, changed, aws, STACK)
    assert [s["ScalingAdjustment"] for s in scaling_policies(aws)[name]["StepAdjustments"]] == [2]
    assert list(scaling_policies(aws)) == [name], "an update replaces the policy, it adds none"

    policies.delete("ScaleOutPolicy", changed, aws, STACK)
    assert scaling_policies(aws) == {} and policies.find("ScaleOutPolicy", changed, aws, STACK) is None
    policies.delete("ScaleOutPolicy", changed, aws, STACK)  # already gone: no error


def test_a_scaling_policy_keeps_the_name_the_template_gives(aws):
    props = {"AutoScalingGroupName": worker_group(aws), "PolicyName": "named-by-template",
             "AdjustmentType": "ExactCapacity", "PolicyType": "SimpleScaling", "ScalingAdjustment": 0}
    arn = provisioner("AWS::AutoScaling::ScalingPolicy").create("ScaleInPolicy", props, aws, STACK)
    assert list(scaling_policies(aws)) == ["named-by-template"]
    assert provisioner("AWS::AutoScaling::ScalingPolicy").find("ScaleInPolicy", props, aws, STACK) == arn


ALARM = {"AlarmDescription": "jobs waiting", "Namespace": "AWS/SQS", "MetricName": "ApproximateNumberOfMessagesVisible",
         "Dimensions": [{"Name": "QueueName", "Value": "prov-jobs"}], "Statistic": "Maximum", "Period": 60,
         "EvaluationPeriods": 2, "Threshold": 10, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
         "TreatMissingData": "notBreaching", "AlarmActions": [f"arn:aws:sns:us-east-1:{ACCOUNT}:prov"]}


def alarms(aws) -> dict:
    return {a["AlarmName"]: a for a in aws.cloudwatch.describe_alarms()["MetricAlarms"]}


def test_an_alarm_is_put_under_the_stacks_name_for_it_updated_and_deleted(aws):
    alarm = provisioner("AWS::CloudWatch::Alarm")
    assert alarm_name(ALARM, "QueueBacklogAlarm", STACK) == "prov-QueueBacklogAlarm"
    assert alarm.create("QueueBacklogAlarm", ALARM, aws, STACK) == "prov-QueueBacklogAlarm"
    made = alarms(aws)["prov-QueueBacklogAlarm"]
    assert (made["Threshold"], made["EvaluationPeriods"], made["Period"]) == (10, 2, 60)
    assert made["AlarmActions"] == ALARM["AlarmActions"] and made["TreatMissingData"] == "notBreaching"
    assert alarm.find("QueueBacklogAlarm", ALARM, aws, STACK) == "prov-QueueBacklogAlarm"

    alarm.apply_update("QueueBacklogAlarm", ALARM, {**ALARM, "Threshold": 20}, aws, STACK)
    assert alarms(aws)["prov-QueueBacklogAlarm"]["Threshold"] == 20 and len(alarms(aws)) == 1

    alarm.delete("QueueBacklogAlarm", ALARM, aws, STACK)
    assert alarms(aws) == {}
    alarm.delete("QueueBacklogAlarm", ALARM, aws, STACK)  # already gone: no error


def test_an_alarm_keeps_the_name_the_template_gives(aws):
    props = {**ALARM, "AlarmName": "lab-backlog"}
    assert provisioner("AWS::CloudWatch::Alarm").create("QueueBacklogAlarm", props, aws, STACK) == "lab-backlog"
    assert list(alarms(aws)) == ["lab-backlog"]


def subscriptions(aws, topic) -> list[tuple]:
    return sorted((s["Protocol"], s["Endpoint"]) for s in aws.sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"])


def test_a_subscription_with_its_filter_is_made_moved_and_removed(aws):
    subscription = provisioner("AWS::SNS::Subscription")
    topic = aws.sns.create_topic(Name="prov-notices")["TopicArn"]
    other = aws.sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.org")["SubscriptionArn"]
    old = {"TopicArn": topic, "Protocol": "email", "Endpoint": "lab-a@example.org",
           "FilterPolicyScope": "MessageAttributes", "FilterPolicy": {"affiliate": ["lab-a"]}}
    arn = subscription.create("NoticesLabA", old, aws, STACK)
    attributes = aws.sns.get_subscription_attributes(SubscriptionArn=arn)["Attributes"]
    assert json.loads(attributes["FilterPolicy"]) == {"affiliate": ["lab-a"]}
    assert attributes["FilterPolicyScope"] == "MessageAttributes"
    assert subscriptions(aws, topic) == [("email", "lab-a@example.org"), ("email", "ops@example.org")]

    new = {**old, "Endpoint": "lab-a-new@example.org"}
    subscription.apply_update("NoticesLabA", old, new, aws, STACK)
    assert subscriptions(aws, topic) == [("email", "lab-a-new@example.org"), ("email", "ops@example.org")]

    subscription.delete("NoticesLabA", new, aws, STACK)
    assert subscriptions(aws, topic) == [("email", "ops@example.org")], "other subscriptions stay"
    assert other
    aws.sns.delete_topic(TopicArn=topic)
    subscription.delete("NoticesLabA", new, aws, STACK)  # its topic already gone: no error


# --- completers: users and buckets moto makes, finished ---------------------------------------

def test_a_bucket_gets_the_settings_moto_ignores(aws):
    bucket = COMPLETERS["AWS::S3::Bucket"]
    aws.s3.create_bucket(Bucket="prov-bucket")
    block = {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    props = {"BucketName": "prov-bucket", "VersioningConfiguration": {"Status": "Enabled"},
             "PublicAccessBlockConfiguration": block,
             "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
             "LifecycleConfiguration": {"Rules": [
                 {"Id": "AbortUploads", "Status": "Enabled", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}},
                 {"Id": "OldVersions", "Status": "Enabled", "Prefix": "lab-a/",
                  "NoncurrentVersionExpiration": {"NoncurrentDays": 30}}]}}
    assert bucket.create("PipelineBucket", props, aws, STACK) == "prov-bucket"
    s3 = aws.s3
    assert s3.get_bucket_versioning(Bucket="prov-bucket")["Status"] == "Enabled"
    assert s3.get_public_access_block(Bucket="prov-bucket")["PublicAccessBlockConfiguration"] == block
    assert s3.get_bucket_ownership_controls(Bucket="prov-bucket")["OwnershipControls"]["Rules"] == \
        [{"ObjectOwnership": "BucketOwnerEnforced"}]
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket="prov-bucket")["Rules"]}
    assert rules["AbortUploads"]["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    assert rules["OldVersions"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rules["OldVersions"]["Filter"] == {"Prefix": "lab-a/"}

    suspended = {"BucketName": "prov-bucket", "VersioningConfiguration": {"Status": "Suspended"}}
    bucket.apply_update("PipelineBucket", props, suspended, aws, STACK)  # an update applies them again
    assert s3.get_bucket_versioning(Bucket="prov-bucket")["Status"] == "Suspended"




def test_a_bucket_logs_into_a_bucket_whose_policy_lets_the_logging_service_write(aws):
    for name in ("prov-bucket", "prov-logs"):
        aws.s3.create_bucket(Bucket=name)
    delivery = {"Sid": "AccessLogDelivery", "Effect": "Allow", "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": ["s3:PutObject"], "Resource": "arn:aws:s3:::prov-logs/prov-bucket/*",
                "Condition": {"StringEquals": {"aws:SourceArn": "arn:aws:s3:::prov-bucket",
                                               "aws:SourceAccount": ACCOUNT}}}
    logged = {"BucketName": "prov-bucket", "LoggingConfiguration": {
        "DestinationBucketName": "prov-logs", "LogFilePrefix": "prov-bucket/"}}
    with pytest.raises(ClientError):  # as S3 does, moto refuses a target that does not let the service write
        COMPLETERS["AWS::S3::Bucket"].create("PipelineBucket", logged, aws, STACK)
    provisioner("AWS::S3::BucketPolicy").create("AccessLogBucketPolicy", {
        "Bucket": "prov-logs", "PolicyDocument": {"Version": "2012-10-17", "Statement": [delivery]}}, aws, STACK)

    COMPLETERS["AWS::S3::Bucket"].create("PipelineBucket", logged, aws, STACK)

    assert aws.s3.get_bucket_logging(Bucket="prov-bucket")["LoggingEnabled"] == {
        "TargetBucket": "prov-logs", "TargetPrefix": "prov-bucket/"}


def test_a_buckets_expiry_rules_are_applied(aws):
    aws.s3.create_bucket(Bucket="prov-logs")
    props = {"BucketName": "prov-logs", "LifecycleConfiguration": {"Rules": [
        {"Id": "Expire", "Status": "Enabled", "ExpirationInDays": 365,
         "NoncurrentVersionExpiration": {"NoncurrentDays": 30}},
        {"Id": "Markers", "Status": "Enabled", "ExpiredObjectDeleteMarker": True}]}}
    COMPLETERS["AWS::S3::Bucket"].create("AccessLogBucket", props, aws, STACK)
    rules = {r["ID"]: r for r in aws.s3.get_bucket_lifecycle_configuration(Bucket="prov-logs")["Rules"]}
    assert rules["Expire"]["Expiration"] == {"Days": 365}
    assert rules["Expire"]["NoncurrentVersionExpiration"]["NoncurrentDays"] == 30
    assert rules["Markers"]["Expiration"] == {"ExpiredObjectDeleteMarker": True}


def test_a_key_moto_made_gets_its_policy_as_text_so_that_it_can_be_described(aws):
    key_policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "AccountAdministers", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": ["kms:DescribeKey", "kms:PutKeyPolicy"], "Resource": "*"}]}
    template = {"Resources": {"TopicKey": {"Type": "AWS::KMS::Key", "Properties": {
        "EnableKeyRotation": True, "KeyPolicy": key_policy}}}}
    aws.cloudformation.create_stack(StackName=STACK, TemplateBody=json.dumps(template))
    key_id = aws.cloudformation.describe_stack_resources(StackName=STACK)["StackResources"][0]["PhysicalResourceId"]
    kms = aws.client("kms")
    with pytest.raises(ClientError):  # moto keeps the policy as an object its own API cannot read (a 500)
        kms.describe_key(KeyId=key_id)

    assert COMPLETERS["AWS::KMS::Key"].create("TopicKey", template["Resources"]["TopicKey"]["Properties"],
                                              aws, STACK) == key_id

    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    assert json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]) == key_policy
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is True

"""The pipeline's stack on the local cloud's emulator (local/stack.py), in this process on a moto
server: compiled, translated offline, created, finished by the emulator package; what `ncap local
up` says while it does so, and what the runtime then reads (outputs, a live context). The whole
cloud, as a process, is test_cloud.py."""
import json

from ncap_iac.aws.clients import Aws
from ncap_iac.config import load
from ncap_iac.local.stack import deploy

from cloud_helpers import PIPELINES


def test_deploy_creates_the_stack_and_says_what_differs_from_aws(moto_server, tmp_path):
    said = []
    config = load(PIPELINES / "local-demo" / "stack_config.json")
    aws = Aws(config.region, moto_server, ("testing", "testing"))
    stack = deploy(config, tmp_path, aws, said.append)

    assert said[0].startswith("compiled ncap-local-demo: ") and said[0].endswith(" resources")
    assert said[1] == "uploaded the worker agent bundle and the analysis code to s3://ncap-local-artifacts/ncap/"
    assert said[2] == "stack created on the emulator; answering its custom resources with the real handlers"
    assert said[3].startswith("created ") and said[3].endswith(" resources moto's CloudFormation skips (groups, "
                                                              "policies, alarms, ...)")
    assert int(said[3].split()[1]) >= 10
    # the template's parameters name what was uploaded: the agent bundle (and the analysis code the
    # launch template names itself)
    parameters = {p["ParameterKey"]: p["ParameterValue"]
                  for p in aws.cloudformation.describe_stacks(StackName=stack.stack_id)["Stacks"][0]["Parameters"]}
    assert parameters["ArtifactBucket"] == "ncap-local-artifacts"
    assert aws.s3.head_object(Bucket="ncap-local-artifacts", Key=parameters["AgentBundle"])["ContentLength"] > 0
    assert not [line for line in said if line.startswith("note:")]  # the bucket policy is applied whole
    assert aws.cloudformation.describe_stacks(StackName=stack.stack_id)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert stack.template_path == tmp_path / "compiled_template.json" and stack.template_path.is_file()
    assert stack.outputs["BucketName"] == "ncap-local-demo"
    assert stack.outputs["QueueUrl"].endswith("/ncap-local-demo-jobs")
    assert stack.outputs["NotificationTopicArn"].startswith("arn:aws:sns:us-east-1:123456789012:")
    # the runtime resolves the functions' environments against this context
    assert stack.context.get_att("TriggerDeadLetterQueue", "Arn").startswith("arn:aws:sqs:us-east-1:123456789012:")
    assert stack.context.ref("GroupLabA") == "ncap-local-demo-lab-a"
    assert [g["GroupName"] for g in aws.iam.list_groups()["Groups"]] == ["ncap-local-demo-lab-a",
                                                                        "ncap-local-demo-lab-b"]
    # moto applies resources in template order: the translated template lists dependencies first
    order = list(stack.template["Resources"])
    assert order.index("SubmitFunctionRole") < order.index("SubmitFunction")
    assert order.index("PipelineBucket") < order.index("AffiliateFolders")
    assert json.loads(stack.template_path.read_text())["Transform"] == "AWS::Serverless-2016-10-31"

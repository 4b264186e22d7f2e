"""ssm dynamic references, resolved as CloudFormation resolves them at each create or update (moto
keeps them as text): a parameter of the emulator's Parameter Store gives its value (a version
when one is named); a public AWS parameter moto lacks gives a stand-in image in the emulator's
EC2, the same each time; anything else that is missing is the emulator's error."""
import pytest

from ncap_iac.aws.clients import Aws
from ncap_iac.emulator.dynamic_references import resolve_dynamic_references

DLAMI = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id"
AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"


def test_references_are_replaced_by_the_parameters_values(moto_server):
    aws = Aws("us-east-1", moto_server, ("testing", "testing"))
    ssm = aws.client("ssm")
    ssm.put_parameter(Name="/mine/image", Value="ami-0123456789abcdef0", Type="String")
    ssm.put_parameter(Name="/mine/image", Value="ami-0fedcba9876543210", Type="String", Overwrite=True)
    template = {"Resources": {"T": {"Properties": {"LaunchTemplateData": {
        "ImageId": "{{resolve:ssm:" + AL2023 + "}}", "Other": ["{{resolve:ssm:/mine/image:1}}", "x"],
        "Newest": "{{resolve:ssm:/mine/image}}", "Plain": 3}}}}}
    data = resolve_dynamic_references(template, aws)["Resources"]["T"]["Properties"]["LaunchTemplateData"]
    assert data["ImageId"] == ssm.get_parameter(Name=AL2023)["Parameter"]["Value"]
    assert data["Other"] == ["ami-0123456789abcdef0", "x"] and data["Newest"] == "ami-0fedcba9876543210"
    assert data["Plain"] == 3


def test_a_public_parameter_the_emulator_lacks_is_a_stand_in_image(moto_server):
    aws = Aws("us-east-1", moto_server, ("testing", "testing"))
    first = resolve_dynamic_references("{{resolve:ssm:" + DLAMI + "}}", aws)
    assert first.startswith("ami-") and resolve_dynamic_references("{{resolve:ssm:" + DLAMI + "}}", aws) == first
    [image] = aws.client("ec2").describe_images(ImageIds=[first])["Images"]
    assert image["Name"] == "ncap stand-in for " + DLAMI


def test_a_missing_parameter_of_ones_own_is_an_error(moto_server):
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError, match="ParameterNotFound"):
        resolve_dynamic_references("{{resolve:ssm:/not/there}}", Aws("us-east-1", moto_server, ("testing", "testing")))

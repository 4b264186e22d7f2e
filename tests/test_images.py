"""The default image of each instance family (ncap_iac/images.py): NVIDIA GPU families get the Deep
Learning Base OSS Nvidia Driver GPU AMI of their architecture, every other family Amazon Linux 2023
of its architecture, and families neither serves are refused with the reason."""
import pytest

from ncap_iac.images import AL2023, DLAMI, default_image

SERVED = {
    "g4dn.xlarge": DLAMI.format(arch="x86_64"), "g5.2xlarge": DLAMI.format(arch="x86_64"),
    "g6e.xlarge": DLAMI.format(arch="x86_64"), "p4d.24xlarge": DLAMI.format(arch="x86_64"),
    "p5en.48xlarge": DLAMI.format(arch="x86_64"), "gr6.4xlarge": DLAMI.format(arch="x86_64"),
    "g5g.xlarge": DLAMI.format(arch="arm64"), "p6e-gb200.36xlarge": DLAMI.format(arch="arm64"),
    "t3.micro": AL2023.format(arch="x86_64"), "c7i.large": AL2023.format(arch="x86_64"),
    "m5.16xlarge": AL2023.format(arch="x86_64"), "u-6tb1.112xlarge": AL2023.format(arch="x86_64"),
    "m7g.large": AL2023.format(arch="arm64"), "c6gn.xlarge": AL2023.format(arch="arm64"),
    "t4g.small": AL2023.format(arch="arm64"), "x2gd.large": AL2023.format(arch="arm64"),
    "is4gen.large": AL2023.format(arch="arm64"), "a1.large": AL2023.format(arch="arm64"),
}
REFUSED = {"p2.xlarge": "K80", "p3.2xlarge": "V100", "p3dn.24xlarge": "V100", "g3.4xlarge": "M60",
           "g4ad.xlarge": "AMD", "inf2.xlarge": "accelerators", "trn1.2xlarge": "accelerators",
           "f1.2xlarge": "accelerators", "dl1.24xlarge": "accelerators", "mac2.metal": "accelerators",
           "g2.2xlarge": "does not list"}


@pytest.mark.parametrize("instance_type", sorted(SERVED))
def test_served_families_get_their_architectures_image(instance_type):
    found = default_image(instance_type)
    assert found.parameter == SERVED[instance_type]
    assert found.image_id == "{{resolve:ssm:" + SERVED[instance_type] + "}}"


@pytest.mark.parametrize("instance_type", sorted(REFUSED))
def test_other_families_are_refused_with_the_reason(instance_type):
    found = default_image(instance_type)
    assert isinstance(found, str) and found.startswith(instance_type + ": ") and REFUSED[instance_type] in found

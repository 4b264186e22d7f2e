"""The default image of a config without `Workers.AMI`: a current AWS image named by its public SSM
parameter, which the launch template resolves at each deploy (`{{resolve:ssm:...}}`), so that a
deploy picks up the parameter's newest image and nothing changes between deploys.

- GPU instances (NVIDIA): the Deep Learning Base OSS Nvidia Driver GPU AMI (Amazon Linux 2023),
  /aws/service/deeplearning/ami/{x86_64,arm64}/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id.
  Its release notes (AWS Deep Learning AMIs developer guide, release of 2026-09-01, NVIDIA driver
  595.91) list the instances it supports: G4dn, G5, G6, Gr6, Gr6f, G6e, G6f, G7, G7e, P4d, P4de, P5,
  P5e, P5en, P6-B200, P6-B300 on x86_64; G5g, P6e-GB200, P6e-GB300 on arm64.
- Every other instance: Amazon Linux 2023,
  /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{x86_64,arm64}.

Both have python3 (3.9 on Amazon Linux 2023, 3.12 on the DLAMI), which is all the user data needs.
Not served, and refused with the reason: P2 (NVIDIA K80; the last driver for it is the 470 branch),
P3, P3dn and G3 (V100 and M60: the DLAMIs that still carry a driver for them run Amazon Linux 2,
whose support ended on 2026-06-30; the last, release 71.6 of 2026-01-02, lists P3, P3dn and G3),
and instances whose accelerators are not NVIDIA GPUs (AMD G4ad, Inferentia, Trainium, Gaudi, FPGAs,
video transcoding, Mac): those need an AMI of their own."""
from __future__ import annotations

import re
from dataclasses import dataclass

AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{arch}"
DLAMI = "/aws/service/deeplearning/ami/{arch}/base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id"
ROOT_DEVICE = "/dev/xvda"  # both images' root device

NVIDIA_X86 = {"g4dn", "g5", "g6", "gr6", "gr6f", "g6e", "g6f", "g7", "g7e", "p4d", "p4de", "p5", "p5e", "p5en",
              "p6-b200", "p6-b300"}
NVIDIA_ARM = {"g5g", "p6e-gb200", "p6e-gb300"}
REFUSED = {
    "p2": "its NVIDIA K80 needs a driver of the 470 branch or older, which no current AWS image carries",
    "p3": "its NVIDIA V100 is supported only by Deep Learning AMIs on Amazon Linux 2, whose support has ended",
    "p3dn": "its NVIDIA V100 is supported only by Deep Learning AMIs on Amazon Linux 2, whose support has ended",
    "g3": "its NVIDIA M60 is supported only by Deep Learning AMIs on Amazon Linux 2, whose support has ended",
    "g3s": "its NVIDIA M60 is supported only by Deep Learning AMIs on Amazon Linux 2, whose support has ended",
    "g4ad": "its GPU is AMD's, for which the default images carry no driver",
}
OTHER_ACCELERATORS = re.compile(r"^(inf|trn|dl|f|vt)\d|^mac")  # Inferentia, Trainium, Gaudi, FPGA, transcoding, Mac
OTHER_GPUS = re.compile(r"^(p|g|gr)\d")
GRAVITON = re.compile(r"^[a-z]+\d+[a-z]*g[a-z]*$")  # a g after the generation: m7g, c6gn, t4g, x2gd, im4gn, is4gen
FAMILY = re.compile(r"^(?P<family>[a-z0-9-]+?)\.(?P<size>[a-z0-9-]+)$")


@dataclass(frozen=True)
class DefaultImage:
    parameter: str  # the public SSM parameter holding the image id
    what: str  # the image, in words

    @property
    def image_id(self) -> str:
        """The launch template's ImageId: resolved by CloudFormation at each deploy."""
        return "{{resolve:ssm:" + self.parameter + "}}"


def family(instance_type: str) -> str:
    found = FAMILY.match(instance_type)
    return found.group("family") if found else instance_type


def is_arm(instance_family: str) -> bool:
    """A Graviton family (arm64)."""
    return instance_family == "a1" or GRAVITON.match(instance_family) is not None


def default_image(instance_type: str) -> DefaultImage | str:
    """The default image for an instance type, or why there is none."""
    name = family(instance_type)
    if name in REFUSED:
        return f"{instance_type}: {REFUSED[name]}"
    if name in NVIDIA_X86 or name in NVIDIA_ARM:
        arch = "arm64" if name in NVIDIA_ARM else "x86_64"
        return DefaultImage(DLAMI.format(arch=arch), f"the Deep Learning Base OSS Nvidia Driver GPU AMI "
                                                     f"(Amazon Linux 2023, {arch})")
    if OTHER_GPUS.match(name):
        return f"{instance_type}: a GPU family the default GPU image does not list as supported"
    if OTHER_ACCELERATORS.match(name):
        return f"{instance_type}: its accelerators need drivers the default images do not carry"
    arch = "arm64" if is_arm(name) else "x86_64"
    return DefaultImage(AL2023.format(arch=arch), f"Amazon Linux 2023 ({arch})")

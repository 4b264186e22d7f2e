#!/bin/bash
# The workers' image: runs as root on the parent image when the image is built (ncap deploy), then
# the new image is tested by running the pipeline's command on sample/. Install here what the
# analysis needs beyond the parent image. The default parent is Amazon Linux 2023 (dnf), or the
# NVIDIA Deep Learning AMI on Amazon Linux 2023 for GPU instance types.
set -euo pipefail

python3 --version
# dnf install -y python3-numpy

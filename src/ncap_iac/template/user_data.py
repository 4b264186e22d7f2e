"""Each stage's user data: the script EC2 runs as root when it boots an instance of the stage's
group, and the local cloud runs to boot its own instances. In order:

1. finds a python3 of version 3.9 or later on the image (without one it says so on the console
   and stops: no agent starts);
2. makes the jobs' unprivileged user and rejects that user's packets to the instance metadata
   service (no firewall tool: it stops, so that no job ever runs unfenced);
3. installs the agent bundle and the pipeline's analysis code from the artifact bucket
   (instance_boot.py, with the instance role's credentials; each archive checked against the
   SHA-256 its key names), skipping what the image already holds;
4. starts the agent, with the analysis folder as the command's folder.

Every value is quoted; nothing from a submission ever reaches this script."""
from __future__ import annotations

import shlex
from importlib import resources

from troposphere import Base64, Ref, Sub

from .. import names
from ..bundle.code import code_key, code_sha256
from ..config.model import StackConfig, Stage
from ..lambda_repo.ncap_lambda.roles import job_role_path
from .agent import JOB_USER, PRICE_AT_DEPLOY, agent_arguments

ROOT = "/opt/ncap"  # where the agent and the code go on an instance (NCAP_ROOT on the local cloud)
USER_DATA_LIMIT = 16 * 1024  # EC2: user data of at most 16 KB, before base64

FIND_PYTHON = """\
python=""
for candidate in python3 python3.13 python3.12 python3.11 python3.10 python3.9; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 9))'; then
    python=$(command -v "$candidate")
    break
  fi
done
if [ -z "$python" ]; then
  echo "ncap: this image has no python3 of version 3.9 or later: the worker agent cannot start" >&2
  exit 1
fi
"""

# The analysis runs as JOB_USER, made here, whose packets to the instance metadata service (and so
# to the instance role's credentials) are rejected by the firewall (iptables, else nft), else by a
# policy routing rule for that user (iproute2's `ip rule ... uidrange ... prohibit`, on images that
# carry neither firewall tool); the agent stays root for the rest. With none of the three the script
# stops before the agent starts, so that no job ever runs unfenced.
JOB_USER_SETUP = f"""\
id {JOB_USER} >/dev/null 2>&1 || useradd --system --user-group --create-home --home-dir /var/lib/{JOB_USER} \\
  --shell /usr/sbin/nologin {JOB_USER}
if command -v iptables >/dev/null; then
  iptables -I OUTPUT -d 169.254.169.254 -m owner --uid-owner {JOB_USER} -j REJECT
  if command -v ip6tables >/dev/null; then
    ip6tables -I OUTPUT -d fd00:ec2::254 -m owner --uid-owner {JOB_USER} -j REJECT || true
  fi
elif command -v nft >/dev/null; then
  nft add table inet ncap
  nft add chain inet ncap output '{{ type filter hook output priority 0; }}'
  nft add rule inet ncap output meta skuid {JOB_USER} ip daddr 169.254.169.254 reject
  nft add rule inet ncap output meta skuid {JOB_USER} ip6 daddr fd00:ec2::254 reject
elif command -v ip >/dev/null; then
  job_uid=$(id -u {JOB_USER})
  ip rule add uidrange "$job_uid-$job_uid" to 169.254.169.254/32 prohibit
  ip -6 rule add uidrange "$job_uid-$job_uid" to fd00:ec2::254/128 prohibit || true
else
  echo "ncap: none of iptables, nft or ip: cannot keep jobs from the instance metadata service" >&2
  exit 1
fi
"""


def boot_program() -> str:
    """instance_boot.py as the user data carries it: its module docstring left out."""
    text = resources.files(__package__).joinpath("instance_boot.py").read_text("utf-8")
    start = text.index('"""', 3) + 3
    return "# ncap instance boot (ncap_iac/template/instance_boot.py)" + text[start:]


def stage_code_key(stage: Stage) -> str | None:
    """The artifact bucket key of the stage's analysis code (None: it has none)."""
    code = stage.workers.code
    return code_key(code_sha256(code.path, code.under)) if code else None


# With a warm pool an instance is stopped after its first boot and started again when the group
# needs it, and EC2 runs the user data at the first boot only: the script copies itself to
# cloud-init's per-boot scripts, so that every later boot fences the jobs' user again (the firewall
# rules do not survive a stop) and starts the agent. Every step is safe to run again.
PER_BOOT = """\
boot_scripts=${!NCAP_BOOT_SCRIPTS:-/var/lib/cloud/scripts/per-boot}
if [ "$0" != "$boot_scripts/ncap-worker" ]; then
  mkdir -p "$boot_scripts"
  install -m 0700 "$0" "$boot_scripts/ncap-worker"
fi
"""


def script(config: StackConfig, stage: Stage, next_stage: Stage | None, on_demand: bool = False) -> str:
    """The user data's text, with the Fn::Sub names ${JobQueue}, ${Topic}, ${JobRoles},
    ${NextQueue}, ${OnDemandQueue}, ${ArtifactBucket}, ${AgentBundle} and ${AWS::Region} in it.
    `on_demand`: for the instances of a Spot stage's on-demand group."""
    key = stage_code_key(stage)
    which = f" stage {stage.name}" if stage.name else ""
    group = ", its on-demand group" if on_demand else ""
    return ("#!/bin/bash\n"
            f"# Boots an instance of the ncap worker agent of pipeline {config.pipeline_name}{which}{group}: "
            "the jobs'\n"
            "# user fenced off the instance metadata service, the agent and the analysis installed from the\n"
            "# artifact bucket (each checked against its SHA-256), then the agent.\n"
            "set -eu\n"
            f"root=${{!NCAP_ROOT:-{ROOT}}}\n"
            f"{PER_BOOT if has_warm_pool(stage, on_demand) else ''}"
            f"{FIND_PYTHON}{JOB_USER_SETUP}"
            f'"$python" - "$root" "${{AWS::Region}}" "${{{names.ARTIFACT_BUCKET_PARAMETER}}}" '
            f'"${{{names.AGENT_BUNDLE_PARAMETER}}}" {shlex.quote(key or "")} <<\'NCAP_BOOT\'\n'
            f"{boot_program()}NCAP_BOOT\n"
            f'PATH="$root/agent/$(basename "${{{names.AGENT_BUNDLE_PARAMETER}}}" .zip)/bin:$PATH"\n'
            "export PATH\n"
            f"exec {_agent_line(config, stage, next_stage, key, on_demand)}\n")


def _agent_line(config: StackConfig, stage: Stage, next_stage: Stage | None, key: str | None,
                on_demand: bool) -> str:
    argv = [stage.workers.agent_command,
            *agent_arguments(config, "@QUEUE@", "@TOPIC@", "@ROLES@", stage, next_stage, "@NEXT@", on_demand,
                             "@ON_DEMAND@", has_warm_pool(stage, on_demand))]
    line = " ".join(shlex.quote(a) for a in argv).replace("${", "${!")
    line = line.replace("@QUEUE@", "${OnDemandQueue}" if on_demand else "${JobQueue}")
    line = line.replace("@TOPIC@", "${Topic}").replace("@ROLES@", "${JobRoles}")
    line = line.replace("@NEXT@", "${NextQueue}").replace("@ON_DEMAND@", "${OnDemandQueue}")
    line = line.replace(PRICE_AT_DEPLOY, f"${{{names.price_parameter(stage.workers.instance_type)}}}")
    if key:  # ncap/code/SHA.zip is unpacked into $root/code/SHA
        line += f' --command-dir "$root/code/{key.rsplit("/", 1)[1].removesuffix(".zip")}"'
    return f"{line} --run-as {JOB_USER}"


def user_data(config: StackConfig, stage: Stage, next_stage: Stage | None, on_demand: bool = False) -> Base64:
    values = {"JobQueue": Ref(names.in_stage(names.JOB_QUEUE, stage.name)), "Topic": Ref(names.TOPIC),
              "JobRoles": Sub(job_roles_prefix() + job_role_path(config.pipeline_name))}
    if next_stage is not None:
        values["NextQueue"] = Ref(names.in_stage(names.JOB_QUEUE, next_stage.name))
    if stage.workers.on_demand_fallback:
        values["OnDemandQueue"] = Ref(names.on_demand(names.in_stage(names.JOB_QUEUE, stage.name)))
    if on_demand:
        del values["JobQueue"]
    return Base64(Sub(script(config, stage, next_stage, on_demand), **values))


def has_warm_pool(stage: Stage, on_demand: bool) -> bool:
    """AWS keeps a warm pool only beside a group with no Spot instances: a Spot stage's pool is its
    on-demand group's."""
    return stage.scaling.warm_pool is not None and on_demand == stage.workers.on_demand_fallback


def job_roles_prefix() -> str:
    """The ARN prefix of the labs' job roles, as a Sub string (the agent's --job-roles)."""
    return "arn:${AWS::Partition}:iam::${AWS::AccountId}:role"

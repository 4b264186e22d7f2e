"""The local cloud's instances, booted as EC2 boots them: the user data of the group's launch
template, as deployed on the emulator, run as a script with what EC2 gives an instance (its
metadata service: id, region, the worker role's credentials; see metadata.py) and the emulator as
its AWS endpoint. The script is the same one AWS runs; what differs is said here and in the docs:

- the steps that would change this machine get stand-ins: `useradd`, `iptables`, `ip6tables` and
  `nft` are scripts that say what they were asked and do nothing, and the agent runs its jobs as
  the developer's own user (NCAP_LOCAL_CLOUD: --run-as stands in);
- each instance's /opt/ncap is a folder of its own under the local cloud's state folder
  (NCAP_ROOT), and its home and temporary folders too;
- the agent's heartbeat, long poll and grace are short (NCAP_AGENT_*), so that a stopped or killed
  worker's job comes back within seconds;
- cloud-init's per-boot scripts (where a warm pool's user data puts itself) are a folder of the
  instance's own (NCAP_BOOT_SCRIPTS);
- an instance of a Spot group is "spot" in its metadata, and `ncap local interrupt` gives it the
  Spot interruption notice (a marker file in the state folder's interruptions/, read by the
  metadata service; interrupted() tells the fleet, which then lets the group replace it)."""
from __future__ import annotations

import base64
import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..aws.clients import Aws
from ..emulator import services
from .identities import Identities
from .metadata import Instance, MetadataService

STAND_INS = ("useradd", "iptables", "ip6tables", "nft")
AGENT_TIMINGS = {"NCAP_AGENT_HEARTBEAT": "10", "NCAP_AGENT_POLL_SECONDS": "2", "NCAP_AGENT_GRACE": "10",
                 "NCAP_AGENT_LOG_SECONDS": "2", "NCAP_AGENT_WATCH_SECONDS": "1"}
KEPT = ("PATH", "LANG", "LC_ALL", "TZ", "SYSTEMROOT")
STAND_IN_NOTE = ("instances boot by their launch template's user data; useradd, iptables, ip6tables and nft are "
                 "stand-ins there (this machine's users and firewall are left alone), and jobs run as your own user")


def user_data(aws: Aws, group: str) -> str:
    """The user data script of the group's launch template version, as EC2 would run it."""
    autoscaling, ec2 = aws.client("autoscaling"), aws.client("ec2")
    [found] = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
    spec = found.get("LaunchTemplate") or \
        found["MixedInstancesPolicy"]["LaunchTemplate"]["LaunchTemplateSpecification"]
    version = str(spec.get("Version") or "$Latest")
    asked = {"LaunchTemplateId": spec["LaunchTemplateId"]} if spec.get("LaunchTemplateId") else \
        {"LaunchTemplateName": spec["LaunchTemplateName"]}
    versions = ec2.describe_launch_template_versions(
        **asked, Versions=[version if version.isdigit() or version.startswith("$") else "$Latest"])
    data = versions["LaunchTemplateVersions"][0]["LaunchTemplateData"]
    return base64.b64decode(data["UserData"]).decode("utf-8")


def interruption_marker(folder: Path, instance_id: str) -> Path:
    return folder / "interruptions" / instance_id


def interrupt(folder: Path, instance_id: str) -> None:
    """Give the instance the Spot interruption notice (`ncap local interrupt`)."""
    marker = interruption_marker(folder, instance_id)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text(datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), encoding="utf-8")


def interrupted(folder: Path, instance_id: str) -> bool:
    return interruption_marker(folder, instance_id).exists()


def interruption_notice(folder: Path, instance_id: str) -> str | None:
    """The instance-action document EC2 serves once it has decided to reclaim a Spot instance: the
    action and the time it happens, two minutes after the notice."""
    marker = interruption_marker(folder, instance_id)
    try:
        noticed = datetime.strptime(marker.read_text(encoding="utf-8").strip(), "%Y-%m-%dT%H:%M:%SZ")
    except (OSError, ValueError):
        return None
    when = (noticed + timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return json.dumps({"action": "terminate", "time": when})


def write_stand_ins(folder: Path) -> Path:
    """The stand-in tools, in `folder`/stand-ins (first on the instances' PATH)."""
    tools = folder / "stand-ins"
    tools.mkdir(parents=True, exist_ok=True)
    for tool in STAND_INS:
        path = tools / tool
        path.write_text(f'#!/bin/sh\necho "ncap local: stand-in: {tool} $* (not run on this machine)"\n')
        path.chmod(0o755)
    return tools


class Booter:
    """Boots instances of one stage's group: each a process running the user data."""

    def __init__(self, aws: Aws, identities: Identities, metadata: MetadataService, folder: Path, group: str,
                 role_arn: str, instance_type: str, life_cycle: str = "on-demand"):
        self.aws, self.identities, self.metadata, self.folder = aws, identities, metadata, folder.resolve()
        self.group, self.role_arn, self.instance_type = group, role_arn, instance_type
        self.life_cycle = life_cycle
        self.stand_ins = write_stand_ins(self.folder)

    def boot(self, instance_id: str, log: Path) -> subprocess.Popen:
        """Run the group's user data as instance `instance_id`, its console going to `log`."""
        home = self.folder / "instances" / instance_id
        for part in ("root", "home", "tmp"):
            (home / part).mkdir(parents=True, exist_ok=True)
        script = home / "user-data"
        script.write_text(user_data(self.aws, self.group), encoding="utf-8")
        script.chmod(0o700)
        self.metadata.add(Instance(instance_id, self.instance_type, self.role_arn.rsplit("/", 1)[1],
                                   lambda: self._credentials(instance_id), lambda: self._lifecycle(instance_id),
                                   lambda: self._launched(instance_id), self.life_cycle,
                                   interruption=lambda: interruption_notice(self.folder, instance_id)))
        return subprocess.Popen([str(script)], cwd=home, env=self._environment(instance_id, home),
                                stdin=subprocess.DEVNULL, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                                start_new_session=True)  # Ctrl-C reaches `up`, which stops them in order

    def _environment(self, instance_id: str, home: Path) -> dict[str, str]:
        kept = {name: os.environ[name] for name in KEPT if name in os.environ}
        return {**kept, "PATH": f"{self.stand_ins}{os.pathsep}{kept.get('PATH', os.defpath)}",
                "HOME": str(home / "home"), "TMPDIR": str(home / "tmp"), "NCAP_ROOT": str(home / "root"),
                "NCAP_BOOT_SCRIPTS": str(home / "boot-scripts"),
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": self.metadata.endpoint(instance_id),
                "AWS_ENDPOINT_URL": self.aws.endpoint or "", "NCAP_LOCAL_CLOUD": "1", **AGENT_TIMINGS}

    def _credentials(self, instance_id: str) -> dict:
        """The worker role's keys, assumed as EC2 assumes them for the instance profile."""
        found = services.role_credentials(self.aws.endpoint or "", self.aws.region, self.identities.service_keys,
                                          self.role_arn, instance_id)
        return {"AccessKeyId": found["AWS_ACCESS_KEY_ID"], "SecretAccessKey": found["AWS_SECRET_ACCESS_KEY"],
                "SessionToken": found["AWS_SESSION_TOKEN"],
                "Expiration": datetime.fromisoformat(found["AWS_CREDENTIAL_EXPIRATION"].replace("Z", "+00:00"))}

    def _launched(self, instance_id: str) -> str:
        """When the group launched the instance, as the emulator's EC2 records it."""
        found = self.aws.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
        return found[0]["Instances"][0]["LaunchTime"].strftime("%Y-%m-%dT%H:%M:%SZ")

    def _lifecycle(self, instance_id: str) -> str:
        """InService while the group has the instance in service, else Terminated."""
        found = self.aws.client("autoscaling").describe_auto_scaling_instances(
            InstanceIds=[instance_id])["AutoScalingInstances"]
        mine = [i for i in found if i.get("AutoScalingGroupName") == self.group]
        return "InService" if mine and mine[0].get("LifecycleState") == "InService" else "Terminated"

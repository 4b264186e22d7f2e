"""The instance the agent runs on, as its auto scaling group sees it.

- Scale-in protection: on while a job runs, off when the agent is idle, so that the group's
  scale-in takes idle instances and never one with a running job. Changes are applied in order by
  one thread, the latest wish winning; a failure is logged and tried again at the next change.
- Interruption notices: a Spot interruption notice or the group's terminating lifecycle hook means
  the instance goes away soon; the agent then returns its running jobs to the queue at once and,
  for the lifecycle hook, lets the termination go on. Both are read from the instance metadata
  service (IMDSv2: EC2's, or the local cloud's stand-in for its instances); an agent given its
  instance id by hand asks the group's own record of the instance (gone from the group, or
  Terminating).
- The launch time (the identity document's pendingTime), from which the ledger books the
  instance's bill when it goes; whether it is a Spot instance (instance-life-cycle) and its zone,
  which price its time (spot_price.py), and its type (a group of several types).
- A group with a warm pool (--launching-hook): an instance starts into the pool first. The agent
  takes no job while the instance's target lifecycle state is the pool's (Warmed:*); it continues
  the launching lifecycle action once it is ready, both on the way into the pool and on the way
  out of it into service (the group runs the hook each time), then serves. An instance sent back
  to the pool is a notice like a termination: the agent stops taking jobs and returns any running
  one (scale-in protection means there is none), and starts over to wait until it is in service
  again. An instance launched from an older version of the group's launch template (it stood in
  the pool while a deploy changed the template) abandons its launch instead of continuing it: the
  group terminates it and launches one from the current version."""
from __future__ import annotations

import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime, timezone

from .aws import describe
from .log import decision

IMDS = "http://169.254.169.254"
WARMED = "Warmed:"  # the target lifecycle states of a warm pool's instances: Warmed:Stopped, ...
WARM_POOL = "warm-pool"  # the notice of an instance headed back to the warm pool
IMDS_TIMEOUT = 2.0
TOKEN_SECONDS = 21600


class Metadata:
    """IMDSv2 reads (a session token, renewed when refused), from AWS_EC2_METADATA_SERVICE_ENDPOINT
    when it is set (as botocore reads it: the local cloud's instances have a stand-in), else EC2's."""

    def __init__(self, base: str | None = None):
        self.base = (base or os.environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or IMDS).rstrip("/")
        self._token: str | None = None

    def get(self, path: str) -> str | None:
        """The text at `path`; None when the service says there is none (404)."""
        for _ in range(2):
            request = urllib.request.Request(self.base + path, headers={"X-aws-ec2-metadata-token": self.token()})
            try:
                with urllib.request.urlopen(request, timeout=IMDS_TIMEOUT) as reply:
                    return reply.read().decode()
            except urllib.error.HTTPError as error:
                if error.code == 404:
                    return None
                if error.code != 401:
                    raise
                self._token = None  # expired: take a new one
        return None

    def token(self) -> str:
        if self._token is None:
            request = urllib.request.Request(self.base + "/latest/api/token", method="PUT",
                                             headers={"X-aws-ec2-metadata-token-ttl-seconds": str(TOKEN_SECONDS)})
            with urllib.request.urlopen(request, timeout=IMDS_TIMEOUT) as reply:
                self._token = reply.read().decode()
        return self._token


def launch_time(metadata: Metadata) -> datetime | None:
    """When the instance was launched: the identity document's pendingTime (None if unreadable)."""
    try:
        document = json.loads(metadata.get("/latest/dynamic/instance-identity/document") or "{}")
        return datetime.strptime(document["pendingTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (OSError, ValueError, KeyError, TypeError) as error:
        decision("launch-time-unknown", logging.WARNING, error=describe(error))
        return None


def spot_zone(metadata: Metadata) -> str | None:
    """The availability zone of a Spot instance (its instance-life-cycle is "spot"); None for an
    on-demand one, or when the metadata cannot be read (its time is then priced on demand)."""
    try:
        if (metadata.get("/latest/meta-data/instance-life-cycle") or "").strip() != "spot":
            return None
        return (metadata.get("/latest/meta-data/placement/availability-zone") or "").strip() or None
    except OSError as error:
        decision("life-cycle-unknown", logging.WARNING, error=describe(error))
        return None


def metadata_notice(metadata: Metadata) -> str | None:
    """"spot" (an interruption notice), "warm-pool" (going back to the group's warm pool),
    "terminating" (the group is terminating the instance) or None."""
    if metadata.get("/latest/meta-data/spot/instance-action") is not None:
        return "spot"
    state = (metadata.get("/latest/meta-data/autoscaling/target-lifecycle-state") or "").strip()
    if state.startswith(WARMED):
        return WARM_POOL
    return "terminating" if state and state not in ("InService", "Standby") else None


def instance_type(metadata: Metadata) -> str | None:
    """This instance's type (a group of several types launches any of them); None unknown."""
    try:
        return (metadata.get("/latest/meta-data/instance-type") or "").strip() or None
    except OSError as error:
        decision("instance-type-unknown", logging.WARNING, error=describe(error))
        return None


def metadata_target_state(metadata: Metadata) -> Callable[[], str]:
    def read() -> str:
        return (metadata.get("/latest/meta-data/autoscaling/target-lifecycle-state") or "").strip()
    return read


def group_notice(autoscaling, instance_id: str, group: str) -> str | None:
    """"terminating" when the group no longer has the instance in service, else None."""
    found = autoscaling.describe_auto_scaling_instances(InstanceIds=[instance_id])["AutoScalingInstances"]
    mine = [entry for entry in found if entry.get("AutoScalingGroupName") == group]
    if not mine or str(mine[0].get("LifecycleState", "")).startswith("Terminat"):
        return "terminating"
    return None


class Instance:
    """This agent's instance in its group: protection and notices."""

    def __init__(self, autoscaling, instance_id: str, group: str, lifecycle_hook: str | None,
                 notice: Callable[[], str | None], launched: datetime | None = None,
                 spot_zone: str | None = None, instance_type: str | None = None,
                 launching_hook: str | None = None, target_state: Callable[[], str] | None = None):
        self.autoscaling, self.instance_id, self.group = autoscaling, instance_id, group
        self.launched = launched  # when EC2 launched the instance (its bill starts): None unknown
        self.spot_zone = spot_zone  # a Spot instance's availability zone; None: on demand (or unknown)
        self.instance_type = instance_type  # as the metadata service says; None: unknown
        self.launching_hook, self._target_state = launching_hook, target_state
        self.lifecycle_hook, self._notice = lifecycle_hook, notice
        self._wanted: bool | None = None
        self._applied: bool | None = None
        self._changed = threading.Condition()
        threading.Thread(target=self._apply_protection, name="protection", daemon=True).start()

    def protect(self, on: bool) -> None:
        """Ask for scale-in protection on or off (applied in the background, in order)."""
        with self._changed:
            self._wanted = on
            self._changed.notify()

    def settle(self, timeout: float = 10.0) -> None:
        """Wait (at most `timeout` seconds) until the last wish is applied."""
        with self._changed:
            self._changed.wait_for(lambda: self._wanted == self._applied, timeout)

    def notice(self) -> str | None:
        try:
            return self._notice()
        except Exception as error:  # a blip reading the notice: look again next time
            decision("notice-check-failed", logging.WARNING, error=describe(error))
            return None

    def continue_termination(self, tries: int = 1) -> None:
        """Let the group's terminating lifecycle hook go on (the running jobs are back on the queue);
        `tries`, a second apart, for a termination this agent asked for a moment ago."""
        if not self.lifecycle_hook:
            return
        for attempt in range(1, tries + 1):
            try:
                self.autoscaling.complete_lifecycle_action(
                    LifecycleHookName=self.lifecycle_hook, AutoScalingGroupName=self.group,
                    InstanceId=self.instance_id, LifecycleActionResult="CONTINUE")
                decision("termination-continued", instance=self.instance_id, hook=self.lifecycle_hook)
                return
            except Exception as error:  # no hook waiting (Spot, or a scale-in without the hook)
                if attempt == tries:
                    decision("termination-not-continued", logging.INFO, error=describe(error))
                else:
                    time.sleep(1.0)

    def wait_in_service(self, stopping: threading.Event, poll_seconds: float) -> bool:
        """With a launching hook: continue it once ready, and wait while the instance is headed for
        the warm pool (its target lifecycle state Warmed:*), so that no job starts there. True once
        the instance is headed for service; False when the agent is stopped first."""
        if not self.launching_hook or self._target_state is None:
            return True
        continued = None
        while not stopping.is_set():
            try:
                state = self._target_state()
            except Exception as error:  # a blip: ask again
                decision("lifecycle-state-unread", logging.WARNING, error=describe(error))
                state = ""
            if state and state != continued:
                if self.stale():
                    self._continue_launch(state, "ABANDON")
                    return False
                self._continue_launch(state)
                continued = state
            if state == "InService":
                return True
            if state.startswith(WARMED) and continued == state:
                decision("warm-pool-waiting", instance=self.instance_id, state=state)
            stopping.wait(poll_seconds)
        return False

    def _continue_launch(self, state: str, result: str = "CONTINUE") -> None:
        try:
            self.autoscaling.complete_lifecycle_action(
                LifecycleHookName=self.launching_hook, AutoScalingGroupName=self.group,
                InstanceId=self.instance_id, LifecycleActionResult=result)
            decision("launch-continued" if result == "CONTINUE" else "launch-abandoned", instance=self.instance_id,
                     hook=self.launching_hook, state=state)
        except Exception as error:  # no launch waiting on the hook (already continued)
            decision("launch-not-continued", logging.INFO, state=state, error=describe(error))

    def stale(self) -> bool:
        """Launched from another version of the launch template than the group's now; False when
        either cannot be read (a blip must not cost an instance)."""
        try:
            mine = self.autoscaling.describe_auto_scaling_instances(InstanceIds=[self.instance_id])
            [group] = self.autoscaling.describe_auto_scaling_groups(
                AutoScalingGroupNames=[self.group])["AutoScalingGroups"]
        except Exception as error:
            decision("template-version-unread", logging.WARNING, error=describe(error))
            return False
        launched = [(i.get("LaunchTemplate") or {}).get("Version") for i in mine.get("AutoScalingInstances", [])]
        current = (group.get("LaunchTemplate") or {}).get("Version")
        if not launched or not launched[0] or not current or not str(current).isdigit():
            return False
        if str(launched[0]) != str(current):
            decision("stale-instance", logging.WARNING, instance=self.instance_id, launched_version=launched[0],
                     group_version=current)
            return True
        return False

    def leave_group(self) -> bool:
        """Idle: terminate this instance and lower the group's desired capacity by one, so that
        capacity comes down job by job and never takes a busy instance. False when the group may
        not shrink (at its minimum) or the call failed: the agent then stays and polls on."""
        try:
            self.autoscaling.terminate_instance_in_auto_scaling_group(InstanceId=self.instance_id,
                                                                      ShouldDecrementDesiredCapacity=True)
        except Exception as error:
            decision("stays-in-group", logging.INFO, instance=self.instance_id, error=describe(error))
            return False
        decision("left-group", instance=self.instance_id, group=self.group)
        return True

    def _apply_protection(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._wanted != self._applied)
                wanted = self._wanted
            applied = self._set_protection(bool(wanted))
            with self._changed:
                if applied:
                    self._applied = wanted
                self._changed.notify_all()
                if not applied:
                    self._changed.wait(5.0)  # try again in a while, or at the next change

    def _set_protection(self, on: bool) -> bool:
        try:
            self.autoscaling.set_instance_protection(InstanceIds=[self.instance_id], AutoScalingGroupName=self.group,
                                                     ProtectedFromScaleIn=on)
            decision("scale-in-protection", instance=self.instance_id, protected=on)
            return True
        except Exception as error:
            decision("protection-failed", logging.WARNING, error=describe(error), protected=on)
            return False

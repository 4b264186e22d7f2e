"""Auto Scaling as AWS answers it, where moto differs: a TerminateInstanceInAutoScalingGroup that
lowers the desired capacity below the group's minimum is refused (ValidationError), as AWS
refuses it, rather than done. The agent's idle exit relies on that refusal to stay at MinSize.
CompleteLifecycleAction, which moto lacks, is answered (install_lifecycle_actions)."""
from __future__ import annotations

from typing import Any


def install() -> None:
    """Patch moto's Auto Scaling backend (idempotent)."""
    from moto.autoscaling.models import AutoScalingBackend

    if getattr(AutoScalingBackend.terminate_instance, "ncap_min_size", False):
        return
    terminate = AutoScalingBackend.terminate_instance

    def terminate_instance(self: Any, instance_id: str, should_decrement: bool) -> Any:
        from moto.autoscaling.exceptions import ValidationError

        group = next((g for g in self.autoscaling_groups.values()
                      if any(s.instance.id == instance_id for s in g.instance_states)), None)
        if group is not None and should_decrement and group.desired_capacity - 1 < group.min_size:
            raise ValidationError(f"Currently, desiredSize equals minSize ({group.min_size}). Terminating instance "
                                  "without replacement will violate group's min size constraint. Either set "
                                  "shouldDecrementDesiredCapacity flag to false or lower group's min size.")
        return terminate(self, instance_id, should_decrement)

    terminate_instance.ncap_min_size = True  # type: ignore[attr-defined]
    AutoScalingBackend.terminate_instance = terminate_instance  # type: ignore[method-assign]
    install_lifecycle_actions()


def install_lifecycle_actions() -> None:
    """CompleteLifecycleAction, which moto lacks, answered as AWS answers an instance waiting on the
    hook: accepted when the group has the hook and the instance; else refused (ValidationError, "No
    active Lifecycle Action found"). moto keeps no Pending:Wait or Terminating:Wait state, so the
    instance's place in its life is not checked, and nothing waits on the answer."""
    from moto.autoscaling.responses import AutoScalingResponse

    if hasattr(AutoScalingResponse, "complete_lifecycle_action"):
        return

    def complete_lifecycle_action(self: Any) -> Any:
        from moto.autoscaling.exceptions import ValidationError
        from moto.core.responses import EmptyResult

        group_name, hook = self._get_param("AutoScalingGroupName"), self._get_param("LifecycleHookName")
        instance_id = self._get_param("InstanceId")
        backend = self.autoscaling_backend
        hooks = backend.describe_lifecycle_hooks(as_name=group_name, lifecycle_hook_names=[hook])
        group = backend.autoscaling_groups.get(group_name)
        members = {state.instance.id for state in group.instance_states} if group else set()
        if not hooks or instance_id not in members:
            raise ValidationError(f"No active Lifecycle Action found with instance ID {instance_id}")
        return EmptyResult()

    AutoScalingResponse.complete_lifecycle_action = complete_lifecycle_action  # type: ignore[attr-defined]

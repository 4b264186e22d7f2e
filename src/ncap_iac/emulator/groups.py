"""Auto Scaling as AWS answers it, where moto differs: a TerminateInstanceInAutoScalingGroup that
lowers the desired capacity below the group's minimum is refused (ValidationError), as AWS
refuses it, rather than done. The agent's idle exit relies on that refusal to stay at MinSize."""
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

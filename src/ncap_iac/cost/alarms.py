"""The queue's CloudWatch datapoints and the two alarms of the worker group, as the template makes them.

Rules modelled, with their sources:
- SQS sends its queue metrics to CloudWatch at one-minute intervals (Amazon SQS Developer Guide,
  "Monitoring Amazon SQS queues using CloudWatch"). An alarm with Statistic Maximum and Period P
  compares, once per period, that period's datapoint, the Maximum of the queue's count over it
  (CloudWatch User Guide, "Alarm evaluation"). The model takes the Maximum of the count over the
  whole period; a message taken the instant it arrived is never counted. Periods are aligned to the
  clock, trace time 0 being a period start.
- The datapoint of a period is only there some time after the period ends; the alarm acts
  Policy.metric_delay_s after the period's end.
- An alarm goes to ALARM when its last EvaluationPeriods datapoints all breach (DatapointsToAlarm
  defaults to EvaluationPeriods), and back to OK on the first datapoint that does not ("Alarm
  evaluation"; the worked example in the re:Post article below).
- While an alarm stays in ALARM, CloudWatch invokes its Auto Scaling action again at each evaluation
  (AWS re:Post knowledge center, "cloudwatch-alarms-trigger-actions": "If an alarm is in a specified
  state, then the CloudWatch alarm continuously activates the Amazon EC2 Auto Scaling actions").
- Missing data: SQS stops sending metrics for a queue idle six hours; the idle alarm treats missing
  data as breaching and the scale-out alarm as not breaching, which is what a count of 0 does here.
- The step adjustment is the step whose range holds the metric value (as-scaling-simple-step, "Step
  adjustments for step scaling"): the template's steps start at each ScaleOut QueuedJobs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class QueueMetrics:
    """Per-period Maximum of the queue's visible messages and messages in flight (jobs running)."""

    period: int
    visible: int = 0
    in_flight: int = 0
    since: float = 0.0
    peaks: dict[int, tuple[int, int]] = field(default_factory=dict)

    def advance(self, now: float) -> None:
        """Count the present values from the last change up to now (a zero-length stretch counts nothing)."""
        if now > self.since and (self.visible or self.in_flight):
            for k in range(int(self.since // self.period), math.ceil(now / self.period)):
                visible, in_flight = self.peaks.get(k, (0, 0))
                self.peaks[k] = (max(visible, self.visible), max(in_flight, self.in_flight))
        self.since = max(self.since, now)

    def observe(self, visible: int, in_flight: int) -> None:
        """The values from now on (call advance(now) first)."""
        self.visible, self.in_flight = visible, in_flight

    def datapoint(self, k: int) -> tuple[int, int]:
        """(Maximum visible, Maximum in flight) of period k, once it is over; each period is read once."""
        return self.peaks.pop(k, (0, 0))


@dataclass
class Alarm:
    """An alarm that is in ALARM while its last `periods` datapoints all breached."""

    periods: int
    streak: int = 0

    def update(self, breaching: bool) -> bool:
        """Take the next datapoint; True while the alarm is in ALARM (its action runs again)."""
        self.streak = self.streak + 1 if breaching else 0
        return self.streak >= self.periods


def step_adjustment(steps: tuple[tuple[int, int], ...], value: int) -> int:
    """Instances to add for a metric value: the step with the highest threshold the value reaches."""
    chosen = 0
    for threshold, add in steps:
        if value >= threshold:
            chosen = add
    return chosen

"""The capacity model, on cases worked out by hand from the AWS rules it follows.

Throughout: boot B = 180 s, the submit function acts L = 2 s after the upload, periods of 60 s whose
datapoint the alarm acts on 60 s after the period ends, warm-up 300 s, price $0.90/h.
"""
from __future__ import annotations

import itertools

import pytest

from ncap_iac.cost.policy import Policy
from ncap_iac.cost.simulate import simulate
from ncap_iac.cost.trace import Job
from ncap_iac.cost.workload import ncap_trace
from ncap_iac.errors import NcapError

B, L, PRICE = 180.0, 2.0, 0.90
OLD = Policy(max_size=10)
ON_SUBMIT = Policy(max_size=10, request_on_submit=True)
PER_JOB = Policy(mode="per-job", max_size=10)


def jobs(*durations: float, at: float = 0.0) -> tuple[Job, ...]:
    return tuple(Job(at, "lab", d) for d in durations)


def launches(result) -> list[float]:
    return sorted(span.launched for span in result.instances)


@pytest.mark.parametrize("policy", [pytest.param(ON_SUBMIT, id="queue, request on submit"),
                                    pytest.param(PER_JOB, id="one instance per job")])
def test_one_job_alone_pays_its_boot_and_run_and_waits_for_the_boot(policy):
    result = simulate(jobs(1000.0), policy, B)
    assert result.cost_usd >= (B + 1000.0) * PRICE / 3600
    assert result.wait_p50_s == result.wait_p95_s == pytest.approx(L + B)
    assert result.lower_bound_usd == pytest.approx(1000.0 * PRICE / 3600)
    assert result.max_instances == 1


def test_forty_jobs_on_ten_instances_run_in_four_waves_on_reused_instances():
    result = simulate(jobs(*[1000.0] * 40), ON_SUBMIT, B)
    waits = sorted(result.waits)
    for wave in range(4):  # the wave's instances come up after one boot, then go from job to job
        assert waits[wave * 10:(wave + 1) * 10] == [pytest.approx(L + B + wave * 1000.0)] * 10
    assert result.max_instances == 10 and len(result.instances) == 10


def test_forty_jobs_one_instance_each_pay_a_boot_per_wave():
    result = simulate(jobs(*[1000.0] * 40), PER_JOB, B)
    waits = sorted(result.waits)
    for wave in range(4):  # each wave waits for its predecessors' runs and its own boot
        assert waits[wave * 10:(wave + 1) * 10] == [pytest.approx(L + (wave + 1) * B + wave * 1000.0)] * 10
    assert result.max_instances == 10 and len(result.instances) == 40


@pytest.mark.parametrize("submit_s", [0.0, 30.0, 57.0])
def test_alarm_policy_requests_nothing_before_a_whole_period_has_ended(submit_s):
    result = simulate(jobs(600.0, at=submit_s), OLD, B)
    period_end = (submit_s + L) // 60 * 60 + 60
    assert launches(result)[0] >= period_end
    assert result.waits[0] >= OLD.period_seconds + B


def test_alarm_policy_adds_one_instance_per_warm_up_while_jobs_stay_queued():
    result = simulate(jobs(*[20000.0] * 5), OLD, B)
    starts = launches(result)
    assert len(starts) == 5  # one per job, none extra: each alarm repeat within a warm-up adds nothing
    for earlier, later in itertools.pairwise(starts):
        assert OLD.warmup_seconds <= later - earlier < OLD.warmup_seconds + OLD.period_seconds
    assert max(result.waits) >= 4 * OLD.warmup_seconds + B


def test_the_step_is_chosen_from_the_number_of_queued_jobs():
    policy = Policy(max_size=10, scale_out=((1, 1), (10, 5)))
    result = simulate(jobs(*[20000.0] * 12), policy, B)
    first = launches(result)[:5]
    assert first == [first[0]] * 5 and launches(result)[5] >= first[0] + policy.warmup_seconds


def test_alarm_policy_scales_in_only_after_the_idle_minutes():
    result = simulate(jobs(600.0), OLD, B)
    (run,), (span,) = result.runs, result.instances
    idle = OLD.scale_in_after_idle_minutes * 60
    assert run.end + idle <= span.until <= run.end + idle + 2 * OLD.period_seconds + OLD.metric_delay_s


def test_scale_in_never_terminates_a_busy_worker():
    """The idle alarm acts at 420 s on the idle period [300, 360); job b started at 402 on the same
    instance, which is protected until b ends and only then terminated."""
    policy = Policy(max_size=10, request_on_submit=True, scale_in_after_idle_minutes=1)
    trace = (Job(0.0, "lab", 100.0), Job(400.0, "lab", 500.0))
    result = simulate(trace, policy, B)
    (span,) = result.instances
    b = result.runs[1]
    assert b.instance == span.id and b.start == pytest.approx(402.0)
    assert span.until == pytest.approx(b.end)


def test_idle_exit_brings_capacity_down_job_by_job():
    durations = (1000.0, 2000.0, 3000.0, 4000.0, 5000.0)
    policy = Policy(max_size=10, request_on_submit=True, idle_exit_seconds=60.0)
    result = simulate(jobs(*durations), policy, B)
    ends = {run.instance: run.end for run in result.runs}
    assert all(span.until == pytest.approx(ends[span.id] + 60.0) for span in result.instances)
    after_peak = [s.instances for s in result.series if s.t > L + B]
    assert after_peak == [4, 3, 2, 1, 0]


def test_idle_exit_never_ends_a_running_job():
    policy = Policy(max_size=2, request_on_submit=True, idle_exit_seconds=0.0)
    trace = jobs(300.0, 900.0, 400.0, 50.0, 2000.0, 10.0) + jobs(700.0, 100.0, at=1500.0)
    result = simulate(trace, policy, B)
    spans = {span.id: span for span in result.instances}
    for run in result.runs:
        assert spans[run.instance].launched + B <= run.start and run.end <= spans[run.instance].until
    assert len(result.runs) == len(trace)


@pytest.mark.parametrize("concurrency, instances", [(1, 10), (2, 5)])
def test_two_jobs_per_instance_halve_the_instances_for_simultaneous_jobs(concurrency, instances):
    policy = Policy(max_size=20, request_on_submit=True, concurrency=concurrency, idle_exit_seconds=60.0)
    result = simulate(jobs(*[1000.0] * 10), policy, B)
    assert result.max_instances == len(result.instances) == instances
    assert result.waits == pytest.approx([L + B] * 10)


@pytest.mark.parametrize("policy", [
    pytest.param(Policy(max_size=4), id="old alarms"),
    pytest.param(Policy(mode="per-job", max_size=4), id="per job"),
    pytest.param(Policy(max_size=4, request_on_submit=True, idle_exit_seconds=30.0), id="request and idle exit"),
    pytest.param(Policy(max_size=4, scale_out=((1, 1), (5, 8))), id="a step larger than the group"),
])
def test_max_size_holds_at_all_times(policy):
    result = simulate(ncap_trace(seed=3, days=10), policy, B)
    assert max(sample.instances for sample in result.series) == result.max_instances == 4
    assert len(result.runs) == result.jobs


@pytest.mark.parametrize("policy", [pytest.param(PER_JOB, id="per job"),
                                    pytest.param(Policy(request_on_submit=True, idle_exit_seconds=0.0), id="queue")])
def test_billing_has_a_60_second_minimum(policy):
    result = simulate(jobs(5.0), policy, boot_seconds=0.0)
    assert result.instance_hours == pytest.approx(60 / 3600)
    assert result.cost_usd == pytest.approx(60 * PRICE / 3600)
    assert result.idle_usd == pytest.approx(55 * PRICE / 3600)


def test_min_size_instances_are_there_from_the_start_and_stay():
    policy = Policy(min_size=1, max_size=4, request_on_submit=True, idle_exit_seconds=30.0)
    result = simulate(jobs(1000.0, 1000.0, at=3600.0), policy, B)
    assert result.instances[0].launched == 0.0
    assert result.waits == pytest.approx([L, L + B])  # the first job finds the warm instance
    assert result.series[-1].instances == 1  # idle exit stops at min_size
    assert min(sample.instances for sample in result.series) == 1


def test_the_same_inputs_give_the_same_result():
    trace = ncap_trace(seed=11, days=7)
    assert simulate(trace, OLD, B) == simulate(trace, OLD, B)


@pytest.mark.parametrize("settings, message", [
    ({"mode": "spot"}, "mode must be one of"),
    ({"min_size": 3, "max_size": 2}, "min_size <= max_size"),
    ({"concurrency": 0}, "concurrency"),
    ({"mode": "per-job", "concurrency": 2}, "one instance per job"),
    ({"scale_out": ((5, 1), (2, 3))}, "thresholds rising"),
    ({"idle_exit_seconds": -1.0}, "finite and >= 0"),
])
def test_a_policy_that_makes_no_sense_is_refused(settings, message):
    with pytest.raises(NcapError, match=message):
        Policy(**settings)


def test_no_jobs_or_a_negative_boot_is_refused():
    with pytest.raises(NcapError, match="no jobs"):
        simulate((), OLD, B)
    with pytest.raises(NcapError, match="boot seconds"):
        simulate(jobs(1.0), OLD, -1.0)


# --- the ledger against the bill ---------------------------------------------------------------------

def test_an_instances_bill_is_shared_by_the_labs_in_proportion_to_their_run_time():
    """One instance (concurrency 1, idle exit long) runs lab a's 600 s job, then lab b's 200 s one:
    its whole bill (boot and idle included) is split 3:1."""
    policy = Policy(max_size=1, request_on_submit=True, idle_exit_seconds=1000.0)
    trace = (Job(0.0, "a", 600.0), Job(0.0, "b", 200.0))
    result = simulate(trace, policy, B)
    [span] = result.instances
    by_lab = dict(result.ledger_by_lab)
    assert by_lab["a"] == pytest.approx(3 * by_lab["b"])
    assert result.ledger_usd == pytest.approx(result.billed_usd) == pytest.approx(span.billed_s * PRICE / 3600)


def test_on_ncaps_trace_the_ledger_adds_up_to_the_bill_within_one_percent():
    """The default policy (capacity asked for on submit, idle exit) over the 30-day NCAP-shaped trace:
    every instance it starts runs a job, so the ledger is the bill; an instance that ran no job
    would be billed and in no lab's ledger."""
    trace = ncap_trace(7)
    result = simulate(trace, Policy(max_size=10, request_on_submit=True, idle_exit_seconds=30.0), B)
    assert result.billed_usd == result.cost_usd
    assert result.ledger_usd == pytest.approx(result.billed_usd, rel=0.01)
    assert set(dict(result.ledger_by_lab)) == {job.lab for job in trace}
    as_json = result.as_json()
    assert as_json["billed_usd"] == round(result.billed_usd, 4) and as_json["ledger_usd"] == round(result.ledger_usd, 4)

"""The capacity model, on cases worked out by hand from the AWS rules it follows.

Throughout: boot B = 180 s, the submit function acts L = 2 s after the upload, periods of 60 s whose
datapoint the alarm acts on 60 s after the period ends, warm-up 300 s, price $0.90/h.
"""
from __future__ import annotations

import itertools

import pytest

from ncap_iac.cost import simulate as simulate_module
from ncap_iac.cost.fleet import Spot, WarmPool
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


# --- Spot and warm pools -----------------------------------------------------------------------------

ON_DEMAND = Policy(max_size=10, request_on_submit=True, idle_exit_seconds=30.0)
ALWAYS = 1000.0  # interruptions per instance-hour: a Spot run of 1000 s is interrupted (mean 3.6 s) for any seed


def spot(ratio: float = 0.3, per_hour: float = 0.0, **settings) -> Spot:
    return Spot(price_ratio=ratio, interruptions_per_hour=per_hour, **settings)


def runs_of(result, job: int) -> list:
    return [run for run in result.runs if run.job == job]


def test_without_interruptions_spot_pays_the_ratio_of_the_same_runs_on_demand():
    trace = ncap_trace(seed=3, days=7)
    on_demand = simulate(trace, ON_SUBMIT, B)
    on_spot = simulate(trace, ON_SUBMIT, B, spot(0.3))
    assert on_spot.runs == on_demand.runs and on_spot.waits == on_demand.waits
    assert on_spot.cost_usd == pytest.approx(0.3 * on_demand.cost_usd)
    assert on_spot.idle_usd == pytest.approx(0.3 * on_demand.idle_usd)
    assert on_spot.lower_bound_usd == on_demand.lower_bound_usd  # the on-demand floor, Spot or not
    assert on_spot.capacity.interruptions == on_spot.capacity.jobs_lost == 0


def test_a_job_interrupted_max_interruptions_times_runs_next_on_the_on_demand_group():
    result = simulate(jobs(1000.0), ON_DEMAND, 0.0, spot(per_hour=ALWAYS, max_interruptions=2))
    spans = {s.id: s for s in result.instances}
    first, second, third = runs_of(result, 0)
    assert first.interrupted and second.interrupted and not third.interrupted
    assert spans[first.instance].rate == spans[second.instance].rate == 0.3  # Spot
    assert spans[third.instance].rate == 1.0 and third.end - third.start == 1000.0  # on-demand, run whole
    figures = result.capacity
    assert (figures.on_demand_fallbacks, figures.most_interruptions, figures.jobs_lost) == (1, 2, 0)
    assert dict(figures.finished_on) == {"spot": 0, "on-demand": 1} and figures.fallen_back_on_spot == 0


def test_max_interruptions_zero_sends_a_job_to_on_demand_at_its_first_interruption():
    result = simulate(jobs(1000.0), ON_DEMAND, 0.0, spot(per_hour=ALWAYS, max_interruptions=0))
    assert [run.interrupted for run in runs_of(result, 0)] == [True, False]
    assert result.capacity.on_demand_fallbacks == 1


def test_spot_true_queues_interrupted_jobs_on_spot_again_until_they_finish():
    """No on-demand group: every run is on Spot, the last one whole."""
    result = simulate(jobs(600.0), ON_DEMAND, 0.0, spot(per_hour=10.0, max_interruptions=None, seed=4))
    runs, spans = runs_of(result, 0), {s.id: s for s in result.instances}
    assert all(spans[run.instance].rate == 0.3 for run in runs)
    assert [run.interrupted for run in runs] == [True] * (len(runs) - 1) + [False]
    assert result.capacity.most_interruptions == len(runs) - 1 >= 1
    assert result.capacity.on_demand_fallbacks == 0 and dict(result.capacity.finished_on)["spot"] == 1


def test_an_interrupted_job_goes_to_the_back_of_the_queue_as_a_new_message():
    """One instance at most: job 0 is interrupted first and queued behind jobs 1 and 2."""
    policy = Policy(max_size=1, request_on_submit=True, idle_exit_seconds=30.0)
    result = simulate(jobs(1000.0, 1000.0, 1000.0), policy, 0.0, spot(per_hour=ALWAYS, max_interruptions=5))
    order = [run.job for run in sorted(result.runs, key=lambda r: r.start)]
    assert order[:4] == [0, 1, 2, 0]


def test_the_group_replaces_an_interrupted_instance_at_the_notice_and_bills_it_to_the_notices_end():
    result = simulate(jobs(1000.0), ON_DEMAND, 0.0, spot(per_hour=ALWAYS, max_interruptions=2))
    first = runs_of(result, 0)[0]
    interrupted = next(s for s in result.instances if s.id == first.instance)
    assert interrupted.until == pytest.approx(first.end + 120.0)  # the two-minute notice
    assert any(s.launched == first.end and s.rate == 0.3 for s in result.instances)  # its replacement
    assert interrupted.free and interrupted.billed_s == 0.0  # EC2 interrupted it in its first hour: no charge


def test_interrupted_instances_are_free_only_in_their_first_hour():
    result = simulate(ncap_trace(seed=3, days=7), ON_SUBMIT, B, spot(per_hour=0.5, max_interruptions=2, seed=1))
    spans = {s.id: s for s in result.instances}
    interrupted = [spans[run.instance] for run in result.runs if run.interrupted]
    early = [s for s in interrupted if s.until - s.launched < 3600.0]
    late = [s for s in interrupted if s.until - s.launched >= 3600.0]
    assert early and late  # this seed has both
    assert all(s.free and s.billed_s == 0.0 for s in early)
    assert all(not s.free and s.billed_s == s.until - s.launched for s in late)
    assert result.cost_usd == pytest.approx(sum(s.billed_s * s.rate for s in spans.values()) * PRICE / 3600)
    assert result.capacity.jobs_lost == 0 and len([r for r in result.runs if not r.interrupted]) == result.jobs


def test_on_demand_base_capacity_makes_the_first_instances_on_demand_and_uninterrupted():
    result = simulate(jobs(1000.0, 1000.0), ON_DEMAND, 0.0, spot(per_hour=ALWAYS, max_interruptions=2,
                                                                  on_demand_base=1))
    spans = {s.id: s for s in result.instances}
    whole = [run for run in result.runs if not run.interrupted]
    assert len(whole) == 2 and any(spans[run.instance].rate == 1.0 and spans[run.instance].id == 0 for run in whole)
    assert spans[0].rate == 1.0 and not spans[0].free


def test_the_same_seed_gives_the_same_result_and_another_seed_other_interruptions():
    trace = ncap_trace(seed=7)
    once = simulate(trace, ON_SUBMIT, B, spot(per_hour=0.05, seed=0))
    assert once == simulate(trace, ON_SUBMIT, B, spot(per_hour=0.05, seed=0))
    assert once.capacity.interruptions != simulate(trace, ON_SUBMIT, B, spot(per_hour=0.05, seed=1)).capacity.interruptions


def test_a_warm_pool_start_takes_the_warm_start_seconds_not_a_boot():
    pool = WarmPool(size=2, warm_start_s=40.0, volume_gib=100, gb_month_usd=0.08)
    result = simulate(jobs(1000.0, 1000.0, 1000.0, at=1000.0), ON_DEMAND, B, warm_pool=pool)
    assert sorted(result.waits) == pytest.approx([L + 40.0, L + 40.0, L + B])  # two from the pool, one booted
    taken = [s for s in result.instances if s.stints]
    assert len(taken) == 4  # the two taken and the two launched into the pool to refill it
    for s in taken[:2]:  # initialised at 0 for a boot, stopped, then in service from the take
        assert s.stints[0] == (0.0, B) and s.stints[1][0] == pytest.approx(1000.0 + L)
    refills = [s for s in taken if s.stints[0][0] > 0]
    assert [s.stints for s in refills] == [((1000.0 + L, 1000.0 + L + B),)] * 2


def test_a_warm_pools_volumes_cost_size_times_gib_times_price_over_the_span():
    pool = WarmPool(size=4, volume_gib=100, gb_month_usd=0.08)
    result = simulate(ncap_trace(seed=3, days=7), ON_SUBMIT, B, warm_pool=pool)
    figures = result.capacity
    assert figures.span_s >= max(run.end for run in result.runs)
    assert figures.warm_pool_volume_usd == pytest.approx(4 * 100 * 0.08 * figures.span_s / (30 * 86400))
    instances = sum(s.billed_s * s.rate for s in result.instances) * PRICE / 3600
    assert result.cost_usd == pytest.approx(instances + figures.warm_pool_volume_usd)


def test_with_spot_over_types_the_warm_pool_belongs_to_the_on_demand_group():
    pool = WarmPool(size=1, volume_gib=100, gb_month_usd=0.08)
    result = simulate(jobs(1000.0, at=1000.0), ON_DEMAND, 0.0, spot(per_hour=ALWAYS, max_interruptions=1), pool)
    first, second = runs_of(result, 0)
    spans = {s.id: s for s in result.instances}
    assert spans[first.instance].rate == 0.3 and not spans[first.instance].stints  # Spot: never from the pool
    assert spans[second.instance].rate == 1.0 and spans[second.instance].stints  # on-demand, from the pool
    assert second.start == pytest.approx(first.end + 40.0)  # the warm start


@pytest.mark.parametrize("settings, message", [
    ({"spot": Spot(0.3, max_interruptions=None), "warm_pool": WarmPool(1)}, "no warm pool for a group of Spot"),
    ({"spot": Spot(0.3)}, "queue-driven group only"),
])
def test_spot_true_with_a_warm_pool_and_spot_with_per_job_launches_are_refused(settings, message):
    policy = PER_JOB if "queue-driven" in message else ON_SUBMIT
    with pytest.raises(NcapError, match=message):
        simulate(jobs(1.0), policy, B, **settings)


def test_without_spot_or_a_warm_pool_the_figures_are_those_of_the_cost_table():
    """docs/cost.md's default row (benchmarks/scaling.py): 313 jobs, 1.088x, p95 182 s, lower bound $188.34."""
    result = simulate(ncap_trace(7), Policy(max_size=100, request_on_submit=True, idle_exit_seconds=30.0), B)
    assert result.capacity is None and "interruptions" not in result.as_json()
    assert (result.jobs, round(result.cost_ratio, 3), result.wait_p95_s) == (313, 1.088, L + B)
    assert round(result.lower_bound_usd, 2) == 188.34


def test_a_job_spot_never_lets_finish_is_counted_lost_when_the_simulation_stops(monkeypatch):
    """Spot true, interrupted every few seconds, a 1000 s job: it never finishes; with the horizon an hour
    after the last submission, the simulation stops there and says so."""
    monkeypatch.setattr(simulate_module, "HORIZON_S", 3600.0)
    result = simulate(jobs(1000.0, 10.0), ON_DEMAND, 0.0, spot(per_hour=ALWAYS, max_interruptions=None))
    figures = result.capacity
    assert figures.jobs_lost == 1 and dict(figures.finished_on) == {"spot": 1, "on-demand": 0}  # the 10 s job did
    assert figures.span_s == 3600.0 and figures.interruptions > 100
    assert max(run.end for run in result.runs) == 3600.0  # the lost job's last run, cut where the simulation stopped

"""`ncap cost simulate` on the local demo pipeline, through register() on a fresh parser."""
from __future__ import annotations

import argparse
import json
import sys

import pytest

from ncap_iac.config import load
from ncap_iac.cost.commands import register
from ncap_iac.cost.policy import policy_from_config
from ncap_iac.cost.result import SPOT_KEYS, SUMMARY_KEYS
from ncap_iac.cost.simulate import simulate
from ncap_iac.cost.trace import read_trace
from ncap_iac.cost.workload import ncap_trace, write_csv
from ncap_iac.errors import NcapError

from conftest import example_config

DEMO = example_config("local-demo")
LABELS = ("cost:", "idle cost:", "instance-hours:", "most instances:", "wait p50:", "wait p95:", "lower bound:")


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="ncap")
    common = argparse.ArgumentParser(add_help=False)
    handlers = register(parser.add_subparsers(dest="command", required=True), common)
    args = parser.parse_args(argv)
    return handlers[args.command](args)


@pytest.fixture
def trace(tmp_path):
    path = tmp_path / "week.csv"
    write_csv(ncap_trace(seed=2, days=7), path)
    return path


def test_the_policy_is_the_one_the_config_deploys():
    config = load(DEMO)
    policy = policy_from_config(config, 0.0104)
    assert (policy.mode, policy.min_size, policy.max_size, policy.hourly_price_usd) == ("queue", 0, 2, 0.0104)
    assert policy.scale_in_after_idle_minutes == 5 and policy.period_seconds == config.scaling.period_seconds
    assert policy.scale_out == tuple((s.queued_jobs, s.add_instances) for s in config.scaling.scale_out)
    assert policy.request_on_submit is True  # the submit function asks
    assert policy.idle_exit_seconds == config.scaling.worker_idle_exit_seconds == 30  # the agent's --idle-exit
    assert policy_from_config(config).hourly_price_usd == 0.0104  # t3.micro in us-east-1, from the price table


def test_prints_each_figure_on_its_own_labelled_line(trace, capsys):
    assert run(["cost", "simulate", str(DEMO.parent), "--trace", str(trace)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("ncap-local-demo: ")
    assert [line.split("  ")[0] for line in lines[1:]] == list(LABELS)


def test_json_has_the_summary_keys_and_the_figures_of_the_config(trace, capsys):
    assert run(["cost", "simulate", str(DEMO), "--trace", str(trace), "--json", "--boot-seconds", "90"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert tuple(sorted(printed)) == tuple(sorted(SUMMARY_KEYS))
    expected = simulate(read_trace(trace), policy_from_config(load(DEMO)), 90.0).as_json()
    assert printed == expected and printed["max_instances"] <= 2 and printed["hourly_price_usd"] == 0.0104


def test_the_hourly_price_flag_overrides_the_configs(trace, capsys):
    assert run(["cost", "simulate", str(DEMO), "--trace", str(trace), "--json", "--hourly-price", "0.9"]) == 0
    assert json.loads(capsys.readouterr().out)["hourly_price_usd"] == 0.9


def test_plot_writes_a_png(trace, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    target = tmp_path / "week.png"
    assert run(["cost", "simulate", str(DEMO.parent), "--trace", str(trace), "--plot", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {target}" in capsys.readouterr().err


def test_plot_without_matplotlib_says_how_to_install_it(trace, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(NcapError, match=r"pip install 'ncap-iac\[plot\]'"):
        run(["cost", "simulate", str(DEMO.parent), "--trace", str(trace), "--plot", str(tmp_path / "x.png")])


def test_a_bad_trace_is_the_error_the_cli_prints(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("submit_s,lab,duration_s\n0,lab-a,long\n")
    with pytest.raises(NcapError, match=r"bad.csv: line 2: duration_s is not a number"):
        run(["cost", "simulate", str(DEMO.parent), "--trace", str(bad)])


# --- Spot and warm pools ------------------------------------------------------------------------------

@pytest.fixture
def spot_pipeline(tmp_path):
    """The local demo on g4dn.xlarge, Spot over two types with the on-demand fallback, and a warm pool of 2."""
    doc = json.loads(DEMO.read_text())
    doc.pop("$schema", None)
    doc["Workers"].update({"InstanceType": "g4dn.xlarge", "MaxSize": 20, "VolumeSizeGiB": 100,
                           "Spot": {"InstanceTypes": ["g4dn.xlarge", "g5.xlarge"]}})
    doc["Scaling"]["WarmPool"] = {"Size": 2}
    folder = tmp_path / "spot"
    folder.mkdir()
    (folder / "stack_config.json").write_text(json.dumps(doc))
    return folder


def test_json_with_spot_and_a_warm_pool_adds_their_figures(spot_pipeline, trace, capsys):
    argv = ["cost", "simulate", str(spot_pipeline), "--trace", str(trace), "--json", "--spot-price-ratio", "0.3",
            "--interruptions-per-hour", "0.5", "--seed", "1", "--warm-start-seconds", "30"]
    assert run(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed) == set(SUMMARY_KEYS) | set(SPOT_KEYS)
    assert printed["spot_price_ratio"] == 0.3 and printed["interruptions"] > 0 and printed["jobs_lost"] == 0
    assert printed["fallen_back_jobs_finished_on_spot"] == 0 and printed["most_interruptions_of_a_job"] <= 2
    assert set(printed["interrupted_jobs_finished_on"]) == {"spot", "on-demand"}
    assert printed["warm_pool_volume_usd"] > 0
    assert run(argv) == 0 and json.loads(capsys.readouterr().out) == printed  # the same seed, the same figures


def test_the_report_says_what_spot_and_the_warm_pool_did(spot_pipeline, trace, capsys):
    assert run(["cost", "simulate", str(spot_pipeline), "--trace", str(trace), "--interruptions-per-hour", "0.5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    labels = [line.split("  ")[0] for line in lines[1:]]
    assert labels == [*LABELS, "spot:", "interruptions:", "interrupted jobs:", "warm pool:", "note:"]
    assert "after 2 interruptions a job goes to the on-demand group" in lines[8]
    assert "$0.08 per GB-month" in lines[11] and "g4dn.xlarge in us-east-1" in lines[12]


def test_estimate_takes_the_same_flags(spot_pipeline, capsys):
    argv = ["cost", "estimate", str(spot_pipeline), "--jobs-per-month", "100", "--minutes", "30", "--json",
            "--spot-price-ratio", "0.4"]
    assert run(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["spot_price_ratio"] == 0.4 and printed["interruptions"] == 0
    assert printed["cost_usd"] - printed["warm_pool_volume_usd"] < printed["lower_bound_usd"]


@pytest.mark.parametrize("flag, value", [
    ("--spot-price-ratio", "0"), ("--spot-price-ratio", "1.5"), ("--spot-price-ratio", "cheap"),
    ("--interruptions-per-hour", "-1"), ("--interruptions-per-hour", "nan"), ("--seed", "-1"), ("--seed", "1.5"),
    ("--warm-start-seconds", "-5"), ("--warm-start-seconds", "inf"),
])
def test_a_bad_value_is_an_argparse_error_naming_the_flag(spot_pipeline, trace, capsys, flag, value):
    with pytest.raises(SystemExit) as stopped:
        run(["cost", "simulate", str(spot_pipeline), "--trace", str(trace), flag, value])
    assert stopped.value.code == 2
    assert f"argument {flag}:" in capsys.readouterr().err


def test_spot_flags_on_an_on_demand_pipeline_are_refused(trace):
    with pytest.raises(NcapError, match=r"--spot-price-ratio: the pipeline's workers are on-demand"):
        run(["cost", "simulate", str(DEMO), "--trace", str(trace), "--spot-price-ratio", "0.3"])

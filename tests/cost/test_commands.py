"""`ncap cost simulate` on the local demo pipeline, through register() on a fresh parser."""
from __future__ import annotations

import argparse
import json
import sys

import pytest

from ncap_iac.config import load
from ncap_iac.cost.commands import register
from ncap_iac.cost.policy import policy_from_config
from ncap_iac.cost.result import SUMMARY_KEYS
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

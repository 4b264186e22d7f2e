"""Fixture configs per scenario: invalid ones report exactly the expected JSON paths, each with the
expected message, typos get "did you mean", valid ones load.

NAME.expected lists one problem a line: its JSON path, a tab, and a fragment of the message that
must appear in what is reported at that path."""
from pathlib import Path

import pytest

from ncap_iac.config import load
from ncap_iac.errors import ConfigError

from conftest import FIXTURES


def _cases(kind: str) -> list[Path]:
    return sorted((FIXTURES / kind).glob("*.json"))


def _expected(path: Path) -> list[tuple[str, str]]:
    lines = path.with_suffix(".expected").read_text().splitlines()
    return [tuple((line.split("\t") + [""])[:2]) for line in lines if line.strip()]


@pytest.mark.parametrize("path", _cases("invalid"), ids=lambda p: p.stem)
def test_invalid_config_reports_exactly_the_expected_paths(path):
    with pytest.raises(ConfigError) as caught:
        load(path)
    assert sorted(caught.value.paths) == sorted(p for p, _ in _expected(path))


@pytest.mark.parametrize("path", _cases("invalid") + _cases("typo"), ids=lambda p: f"{p.parent.name}-{p.stem}")
def test_each_expected_problem_carries_its_message(path):
    """Every expected line names a message fragment, and the problem reported at that path says
    it: a check that reported the right path for the wrong reason, or a message made vague, fails."""
    with pytest.raises(ConfigError) as caught:
        load(path)
    expected = _expected(path)
    assert all(fragment.strip() for _, fragment in expected), f"{path.with_suffix('.expected')}: a line without a message"
    unmatched = list(caught.value.issues)
    for expected_path, fragment in expected:
        found = next((i for i in unmatched if i.path == expected_path and fragment in i.message), None)
        assert found, (expected_path, fragment, [str(i) for i in caught.value.issues if i.path == expected_path])
        unmatched.remove(found)
    assert unmatched == []


@pytest.mark.parametrize("path", _cases("typo"), ids=lambda p: p.stem)
def test_typo_gets_did_you_mean(path):
    with pytest.raises(ConfigError) as caught:
        load(path)
    reported = {(i.path, i.message) for i in caught.value.issues}
    assert sorted(p for p, _ in reported) == sorted(p for p, _ in _expected(path))
    for expected_path, hint in _expected(path):
        assert any(p == expected_path and hint in m for p, m in reported), (expected_path, hint)


@pytest.mark.parametrize("path", _cases("valid"), ids=lambda p: p.stem)
def test_valid_config_loads(path):
    config = load(path)
    assert config.pipeline_name == path.stem


def test_every_problem_is_reported_once_in_path_order():
    with pytest.raises(ConfigError) as caught:
        load(FIXTURES / "invalid" / "bad-values.json")
    paths = caught.value.paths
    assert paths == sorted(paths) and len(paths) == len(set(paths))

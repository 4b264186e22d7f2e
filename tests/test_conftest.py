"""The suite's own rule for tests that need an external tool (sam CLI, actionlint, ...): skipped
on a developer's machine without it, but a failure under CI, where a skip would hide a check."""
import pytest

from conftest import find_tool, require_tool


def test_a_found_tool_is_returned_as_its_path(tmp_path):
    assert require_tool("tool", tmp_path / "tool") == str(tmp_path / "tool")


def test_a_missing_tool_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=r"^frob is not installed \(`make test` installs it\)$"):
        require_tool("frob", None)


def test_a_missing_tool_fails_under_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="frob is not installed .*CI is set, so a missing tool fails"):
        require_tool("frob", None, "pip install frob")


def test_find_tool_looks_beside_python_and_on_path(monkeypatch, tmp_path):
    import sys
    from pathlib import Path

    monkeypatch.setenv("PATH", str(tmp_path))
    assert find_tool("no-such-tool-anywhere") is None
    beside = Path(sys.executable)
    assert find_tool(beside.name) == str(beside)  # not on PATH, but in the venv's bin folder
    (tmp_path / "only-on-path").write_text("#!/bin/sh\n")
    (tmp_path / "only-on-path").chmod(0o755)
    assert find_tool("only-on-path") == str(tmp_path / "only-on-path")

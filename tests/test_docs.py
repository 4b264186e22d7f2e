"""The documentation: the references are what docs/generate.py writes from the JSON Schema and the
parsers today; the MkDocs site builds with --strict (a broken link, or a page left out of the
navigation, fails it); every shell block of the guides marked `<!-- runnable -->` runs, line by
line, in a fresh folder; the README keeps to its size and its two set-up commands; every NCAP_*
variable a command gets is in the analysis developer's guide."""
import importlib.util
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO, find_tool, require_tool

DOCS = REPO / "docs"


def generator():
    spec = importlib.util.spec_from_file_location("generate", DOCS / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["config.md", "cli.md"])
def test_the_references_are_current(name, monkeypatch):
    made = {"config.md": generator().config_reference, "cli.md": generator().cli_reference}[name]()
    assert (DOCS / "reference" / name).read_text() == made, "run `make docs` (docs/generate.py) and commit"


def test_every_config_key_is_in_the_reference():
    from ncap_iac.config.schema import schema

    text = (DOCS / "reference" / "config.md").read_text()
    workers = schema()["$defs"]["Workers"]["properties"]
    assert all(f"| `{key}` |" in text for key in workers)


def test_the_site_builds_strictly(tmp_path):
    mkdocs = require_tool("mkdocs", find_tool("mkdocs"))
    built = subprocess.run([mkdocs, "build", "--strict", "--site-dir", str(tmp_path / "site")], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "site" / "reference" / "config" / "index.html").is_file()


def runnable_blocks() -> list[tuple[str, list[str]]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for block in re.findall(r"<!-- runnable -->\n```[a-z]*\n(.*?)```", page.read_text(), re.DOTALL):
            found.append((page.name, [line for line in block.splitlines() if line.strip() and not line.startswith("#")]))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("page, lines", runnable_blocks(), ids=[page for page, _ in runnable_blocks()])
def test_the_runnable_blocks_run(page, lines, tmp_path):
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    for line in lines:
        done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{page}: {line}\n{done.stdout}\n{done.stderr}"


def test_there_are_runnable_blocks():
    assert [page for page, _ in runnable_blocks()] == ["index.md"]


def test_the_readme_is_short_and_names_the_two_set_up_commands():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) < 160
    setup = readme.split("## Set up on a fresh machine", 1)[1].split("```", 2)[1]
    assert [line.split()[0] for line in setup.strip().splitlines() if not line.startswith(" ")] == ["make", "make"]
    assert [line.split()[:2] for line in setup.strip().splitlines() if not line.startswith(" ")] == [
        ["make", "demo"], ["make", "test"]]


def test_every_ncap_variable_a_command_gets_is_documented():
    source = (REPO / "src" / "ncap_iac" / "worker" / "workspace.py").read_text()
    given = set(re.findall(r"\b(NCAP_[A-Z_]+)=", source))
    guide = (DOCS / "analysis-developer.md").read_text()
    assert given and {name for name in given if name not in guide} == set()

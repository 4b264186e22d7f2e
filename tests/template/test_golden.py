"""Every example pipeline and valid fixture compiles to its reviewed golden template.
After an intended change: `make goldens` and review `git diff tests/goldens`."""
import json

import pytest

from ncap_iac.compiler import compile_config, compile_directory
from ncap_iac.config import load
from ncap_iac.config.directory import load_directory

from conftest import TESTS, directory_golden_sources, golden_sources

SOURCES = golden_sources()
DIRECTORIES = directory_golden_sources()


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_compiles_to_golden(name):
    source = SOURCES[name]
    compiled = compile_config(load(source), source.parent)
    golden = json.loads((TESTS / "goldens" / f"{name}.json").read_text())
    assert compiled.template == golden, f"{name} differs from its golden: run `make goldens` and review the diff"
    stored = sorted(p.relative_to(TESTS / "goldens" / name).as_posix()
                    for p in (TESTS / "goldens" / name).rglob("*.json"))
    assert stored == sorted(compiled.children), f"{name}: its nested templates differ from the goldens'"
    for path, child in compiled.children.items():
        assert child == json.loads((TESTS / "goldens" / name / path).read_text()), f"{name}/{path} differs"


@pytest.mark.parametrize("name", sorted(SOURCES))
def test_output_is_deterministic(name):
    source = SOURCES[name]
    first = compile_config(load(source), source.parent).body
    second = compile_config(load(source), source.parent).body
    assert first == second
    assert first == json.dumps(json.loads(first), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_every_golden_has_a_source():
    stored = {p.stem for p in (TESTS / "goldens").glob("*.json")}
    assert stored == set(SOURCES) | set(DIRECTORIES)


@pytest.mark.parametrize("name", sorted(DIRECTORIES))
def test_directory_compiles_to_golden_deterministically(name):
    template, body = compile_directory(load_directory(DIRECTORIES[name]))
    assert template == json.loads((TESTS / "goldens" / f"{name}.json").read_text()), \
        f"{name} differs from its golden: run `make goldens` and review the diff"
    assert compile_directory(load_directory(DIRECTORIES[name]))[1] == body

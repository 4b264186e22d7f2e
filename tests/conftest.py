import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"
sys.path.insert(0, str(TESTS))  # factories, fuzz
import fuzz  # noqa: E402,F401  (loads the hypothesis profile: derandomized unless NCAP_FUZZ is set)

FIXTURES = TESTS / "fixtures" / "configs"
FIXTURE_PIPELINES = TESTS / "fixtures" / "pipelines"
DIRECTORY_EXAMPLES = sorted(p.parent.name for p in (REPO / "pipelines").glob("*/stack_config.json")
                            if '"DirectoryName"' in p.read_text())  # directories of people and labs
EXAMPLES = sorted(p.parent.name for p in (REPO / "pipelines").glob("*/stack_config.json")
                  if p.parent.name not in DIRECTORY_EXAMPLES)  # pipelines


def example_config(name: str) -> Path:
    return REPO / "pipelines" / name / "stack_config.json"


def golden_sources() -> dict[str, Path]:
    """Every config with a golden template: the example pipelines, the valid fixtures, and the
    fixture pipelines (folders with files beside their config: analysis, image setup, sample)."""
    sources = {f"pipeline-{name}": example_config(name) for name in EXAMPLES}
    sources.update({f"fixture-{p.stem}": p for p in sorted((FIXTURES / "valid").glob("*.json"))})
    sources.update({f"fixture-{p.parent.name}": p for p in sorted(FIXTURE_PIPELINES.glob("*/stack_config.json"))})
    return sources


def directory_golden_sources() -> dict[str, Path]:
    """Every directory config with a golden template (the example directories)."""
    return {f"directory-{name}": example_config(name) for name in DIRECTORY_EXAMPLES}


@pytest.fixture
def compile_doc(tmp_path):
    """Compile an in-memory config as if it were written to tmp_path/stack_config.json."""
    from ncap_iac.compiler import compile_config
    from ncap_iac.config import load_document

    def run(doc: dict):
        return compile_config(load_document(doc, tmp_path), tmp_path)

    return run


def find_tool(name: str) -> str | None:
    """An executable beside this Python (the venv's bin folder, with the pinned version) or on
    PATH, else None."""
    return shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)


def require_tool(name: str, path: str | Path | None, hint: str = "`make test` installs it") -> str:
    """`path` when the tool was found. A missing tool skips the test on a developer's machine,
    but fails it when the environment variable CI is set: a CI run must not pass with a check
    silently left out."""
    if path:
        return str(path)
    message = f"{name} is not installed ({hint})"
    if os.environ.get("CI"):
        pytest.fail(f"{message}; CI is set, so a missing tool fails the test instead of skipping it",
                    pytrace=False)
    pytest.skip(message)


# The examples and valid fixtures that the external tools check.
SOURCES_FOR_TOOLS = golden_sources()


def compiled_goldens() -> dict:
    """Every golden source compiled (once per test process): name -> Compiled."""
    global _COMPILED
    if _COMPILED is None:
        from ncap_iac.compiler import compile_config
        from ncap_iac.config import load

        _COMPILED = {name: compile_config(load(src), src.parent) for name, src in SOURCES_FOR_TOOLS.items()}
    return _COMPILED


_COMPILED = None


@pytest.fixture(scope="session")
def moto_endpoint():
    """A real moto server (the local cloud's emulator) on localhost for this test session:
    http://localhost:PORT."""
    from ncap_iac.emulator.server import endpoint_of, threaded_server

    server = threaded_server()
    try:
        yield endpoint_of(server)
    finally:
        server.stop()


@pytest.fixture
def moto_server(moto_endpoint, monkeypatch):
    """The session's moto server, emptied for this test; boto3 in this process and in child
    processes (through the environment) talks to it with fake credentials."""
    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).read()
    for name, value in {"AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
                        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_endpoint


def pytest_collection_modifyitems(items):
    """Property-based tests carry the `property` mark (`make fuzz` runs them alone)."""
    for item in items:
        if getattr(getattr(item, "obj", None), "is_hypothesis_test", False):
            item.add_marker(pytest.mark.property)

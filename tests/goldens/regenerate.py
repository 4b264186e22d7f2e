#!/usr/bin/env python3
"""Rewrite the golden templates from the example pipelines and valid fixtures, so that a change to
the compiler shows up as a reviewable diff: `make goldens && git diff tests/goldens`."""
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

from ncap_iac.compiler import compile_config, compile_directory  # noqa: E402
from ncap_iac.config import load  # noqa: E402
from ncap_iac.config.directory import load_directory  # noqa: E402

from conftest import directory_golden_sources, golden_sources  # noqa: E402


def main() -> int:
    for name, source in golden_sources().items():
        compiled = compile_config(load(source), source.parent)
        target = TESTS / "goldens" / f"{name}.json"
        changed = not target.exists() or target.read_text() != compiled.body
        target.write_text(compiled.body)
        print(f"{'updated' if changed else 'same   '} {target.relative_to(TESTS.parent)}")
        children = TESTS / "goldens" / name
        for stale in children.rglob("*.json") if children.is_dir() else []:
            stale.unlink()
        for path, body in compiled.child_bodies.items():
            (children / path).parent.mkdir(parents=True, exist_ok=True)
            (children / path).write_text(body)
    for name, source in directory_golden_sources().items():
        _, body = compile_directory(load_directory(source))
        target = TESTS / "goldens" / f"{name}.json"
        changed = not target.exists() or target.read_text() != body
        target.write_text(body)
        print(f"{'updated' if changed else 'same   '} {target.relative_to(TESTS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""NCAP's entry point, kept for its workflow: `python template_utils/config_handler.py
path/to/stack_config.json` writes compiled_template.json (and samconfig.toml) beside the config.
It does exactly what `ncap compile` does."""
import sys
from pathlib import Path

try:
    from ncap_iac.cli import main
except ImportError:  # run from a checkout without installing: use the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from ncap_iac.cli import main
try:
    import jsonschema  # noqa: F401
    import troposphere  # noqa: F401
except ImportError as missing:
    sys.exit(f"config_handler.py: {missing.name} is not installed; run it with the project's "
             "environment (.venv/bin/python, made by `make demo`) or `pip install -e .` first")

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) >= 2 else 2)
    sys.exit(main(["compile", *sys.argv[1:]]))

#!/usr/bin/env python3
"""The pipeline's analysis: replace this with your own.

The worker agent runs it for each dataset with the job's files in its environment:
NCAP_INPUT_PATH (the dataset), NCAP_CONFIG_PATH (the config submitted with it, if any) and
NCAP_OUTPUT_DIR (everything written there becomes the job's results). It runs as an unprivileged
user, in a folder holding analysis/ as it sits beside stack_config.json. Try it on the sample:
    ncap sample sample --command "python3 analysis/run.py" --command-dir .
"""
import json
import os
import sys
from pathlib import Path


def main() -> int:
    data = Path(os.environ["NCAP_INPUT_PATH"])
    config_path = os.environ.get("NCAP_CONFIG_PATH")
    config = json.loads(Path(config_path).read_text(encoding="utf-8")) if config_path else {}
    text = data.read_text(encoding="utf-8", errors="replace")
    words = text.split()
    summary = {"dataset": data.name, "lines": len(text.splitlines()), "words": len(words),
               "longest_word": max(words, key=len) if words else None,
               "label": config.get("label", "unlabelled")}
    out = Path(os.environ["NCAP_OUTPUT_DIR"])
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"{data.name}: {summary['lines']} lines, {summary['words']} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())

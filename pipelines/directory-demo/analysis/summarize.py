#!/usr/bin/env python3
"""The local demo's analysis: per-column statistics of a CSV of numbers.

Run by the worker agent with the job's local paths in the environment:
NCAP_INPUT_PATH (the dataset), NCAP_CONFIG_PATH (a JSON config: {"columns": [...], "precision": N})
and NCAP_OUTPUT_DIR (where everything written is uploaded as the job's results).
"""
import csv
import json
import os
import statistics
import sys
from pathlib import Path


def read_table(path: Path) -> dict[str, list[float]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows:
        raise ValueError(f"{path.name}: no data rows")
    return {name: [float(row[name]) for row in rows] for name in rows[0]}


def summarize(columns: dict[str, list[float]], wanted: list[str] | None, precision: int) -> dict:
    chosen = wanted or sorted(columns)
    missing = [c for c in chosen if c not in columns]
    if missing:
        raise ValueError(f"columns not in the data: {', '.join(missing)}")
    return {name: {"n": len(columns[name]),
                   "mean": round(statistics.fmean(columns[name]), precision),
                   "stdev": round(statistics.pstdev(columns[name]), precision),
                   "min": min(columns[name]), "max": max(columns[name])} for name in chosen}


def main() -> int:
    data = Path(os.environ["NCAP_INPUT_PATH"])
    config = json.loads(Path(os.environ["NCAP_CONFIG_PATH"]).read_text(encoding="utf-8"))
    out = Path(os.environ["NCAP_OUTPUT_DIR"])
    result = summarize(read_table(data), config.get("columns"), int(config.get("precision", 3)))
    (out / "summary.json").write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"summarized {len(result)} columns of {data.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

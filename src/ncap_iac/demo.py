"""`make demo`: compile and lint every pipeline under a folder, then print what each declares."""
from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path

from .errors import NcapError

COLUMNS = ("pipeline", "labs", "users", "trigger", "workers", "functions", "queues", "alarms",
           "IAM", "resources", "cfn-lint", "seconds")


def summarize(config_path: Path) -> dict:
    from .compiler import compile_file
    from .lint import lint_template

    started = time.perf_counter()
    compiled, _ = compile_file(config_path)
    findings = lint_template(compiled.template, compiled.config.region)
    types = Counter(r["Type"] for r in compiled.template["Resources"].values())
    config = compiled.config
    return {
        "pipeline": config.pipeline_name, "labs": len(config.affiliates),
        "users": len(config.created_users), "trigger": config.trigger.mode,
        "workers": f"0-{config.workers.max_size} {config.workers.instance_type}",
        "functions": types["AWS::Serverless::Function"],
        "queues": types["AWS::SQS::Queue"], "alarms": types["AWS::CloudWatch::Alarm"],
        "IAM": sum(n for t, n in types.items() if t.startswith("AWS::IAM::")),
        "resources": compiled.resource_count,
        "cfn-lint": "clean" if not findings else f"{len(findings)} findings",
        "seconds": f"{time.perf_counter() - started:.2f}",
    }


def table(rows: list[dict]) -> str:
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in COLUMNS}
    lines = ["  ".join(c.ljust(widths[c]) for c in COLUMNS),
             "  ".join("-" * widths[c] for c in COLUMNS)]
    lines += ["  ".join(str(r[c]).ljust(widths[c]) for c in COLUMNS) for r in rows]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    root = Path(argv[0] if argv else "pipelines")
    configs = sorted(root.glob("*/stack_config.json"))
    if not configs:
        print(f"no pipelines found: {root}/*/stack_config.json", file=sys.stderr)
        return 1
    rows, failed = [], 0
    for path in configs:
        print(f"compiling and linting {path} ...", flush=True)
        try:
            rows.append(summarize(path))
        except NcapError as exc:
            failed += 1
            print("\n".join(f"  {line}" for line in exc.lines()), file=sys.stderr)
    if rows:
        print("\n" + table(rows))
        print("\nEach template is compiled_template.json beside its stack_config.json.")
    return 1 if failed or any(r["cfn-lint"] != "clean" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

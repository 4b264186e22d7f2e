#!/usr/bin/env python3
"""Stand-in for the pipeline's GPU inference stage: reads the preprocessing stage's outputs (the
folder NCAP_INPUT_PATH holds: frames.json and imu_per_frame.csv) and writes one pose estimate
per frame and a summary. The "model" is arithmetic on the IMU samples, so that the example runs
on any machine.
"""
import csv
import json
import math
import os
import sys
from pathlib import Path


def main() -> int:
    folder = Path(os.environ["NCAP_INPUT_PATH"])
    out = Path(os.environ["NCAP_OUTPUT_DIR"])
    try:
        frames = json.loads((folder / "frames.json").read_text(encoding="utf-8"))
        with (folder / "imu_per_frame.csv").open(newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, ValueError) as error:
        print(f"cannot read the preprocessing outputs in {folder}: {error}", file=sys.stderr)
        return 2
    poses = []
    for row in rows:
        ax, ay, az = (float(row[k]) for k in ("ax", "ay", "az"))
        poses.append({"frame": int(row["frame"]),
                      "pitch": round(math.degrees(math.atan2(ax, math.hypot(ay, az))), 2),
                      "roll": round(math.degrees(math.atan2(ay, az)), 2)})
    (out / "poses.json").write_text(json.dumps(poses, indent=1) + "\n", encoding="utf-8")
    summary = {"frames": len(frames), "poses": len(poses),
               "mean_pitch": round(sum(p["pitch"] for p in poses) / max(len(poses), 1), 2)}
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"inferred {len(poses)} poses")
    return 0


if __name__ == "__main__":
    sys.exit(main())

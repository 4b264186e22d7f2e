#!/usr/bin/env python3
"""Stand-in for the pipeline's CPU preprocessing stage: reads one recording (a .mp4 video and the
.hpf file of IMU samples recorded with it) and writes what inference needs: the video's frame
index and the IMU samples resampled to one row per frame.

The worker agent gives the recording's files in NCAP_INPUT_DIR and uploads everything written to
NCAP_OUTPUT_DIR, which becomes the inference stage's NCAP_INPUT_PATH. The "video" here is any
file: its frames are taken as fixed-size chunks of it, so that the example runs anywhere.
"""
import csv
import hashlib
import json
import os
import sys
from pathlib import Path

FRAME_BYTES = 64
FRAMES_PER_SECOND = 30.0


def frames(video: Path) -> list[dict]:
    data = video.read_bytes()
    return [{"frame": n, "t": round(n / FRAMES_PER_SECOND, 4),
             "digest": hashlib.sha256(data[start:start + FRAME_BYTES]).hexdigest()[:12]}
            for n, start in enumerate(range(0, len(data), FRAME_BYTES))]


def imu_samples(hpf: Path) -> list[tuple[float, float, float, float]]:
    """(t, ax, ay, az) rows of the .hpf file (a CSV with those columns)."""
    with hpf.open(newline="", encoding="utf-8") as handle:
        return [(float(r["t"]), float(r["ax"]), float(r["ay"]), float(r["az"])) for r in csv.DictReader(handle)]


def nearest(samples: list, t: float) -> tuple:
    return min(samples, key=lambda sample: abs(sample[0] - t))


def main() -> int:
    inputs = Path(os.environ["NCAP_INPUT_DIR"])
    out = Path(os.environ["NCAP_OUTPUT_DIR"])
    videos, imus = sorted(inputs.glob("*.mp4")), sorted(inputs.glob("*.hpf"))
    if len(videos) != 1 or len(imus) != 1:
        print(f"expected one .mp4 and one .hpf, got {[p.name for p in inputs.iterdir()]}", file=sys.stderr)
        return 2
    index, samples = frames(videos[0]), imu_samples(imus[0])
    if not samples:
        print(f"{imus[0].name}: no IMU samples", file=sys.stderr)
        return 2
    (out / "frames.json").write_text(json.dumps(index, indent=1) + "\n", encoding="utf-8")
    with (out / "imu_per_frame.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["frame", "ax", "ay", "az"])
        for entry in index:
            writer.writerow([entry["frame"], *nearest(samples, entry["t"])[1:]])
    print(f"preprocessed {videos[0].name}: {len(index)} frames, {len(samples)} IMU samples")
    return 0


if __name__ == "__main__":
    sys.exit(main())

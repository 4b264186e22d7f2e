"""Job traces: a CSV file with the header `submit_s,lab,duration_s` (other columns are ignored).

submit_s is when the lab's submit file arrived, in seconds from the start of the trace; duration_s
is how long the job ran once it had an instance. A trace that cannot be read whole is refused with
one line naming the file and the line, so a bad row is never silently dropped from a cost figure.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import NcapError

COLUMNS = ("submit_s", "lab", "duration_s")


@dataclass(frozen=True)
class Job:
    """One job of a trace: submitted at submit_s for lab, running duration_s once started."""

    submit_s: float
    lab: str
    duration_s: float


def read_trace(path: str | Path) -> tuple[Job, ...]:
    """The jobs of the trace at path, sorted by submit time (ties keep the file's order)."""
    path = Path(path)
    reader = csv.DictReader(io.StringIO(_text(path), newline=""))
    try:
        _check_header(path, reader.fieldnames)
        jobs = [_job(path, reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise NcapError(f"{path}: line {reader.line_num}: not valid CSV ({exc})") from None
    if not jobs:
        raise NcapError(f"{path}: no jobs: the file has a header but no rows")
    return tuple(sorted(jobs, key=lambda job: job.submit_s))


def _text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise NcapError(f"{path}: no such trace file") from None
    except OSError as exc:
        raise NcapError(f"{path}: cannot read the trace ({exc.strerror or exc})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise NcapError(f"{path}: line {line}: not UTF-8 text; a trace is a CSV file") from None


def _check_header(path: Path, header: Sequence[str] | None) -> None:
    if not header:
        raise NcapError(f"{path}: line 1: empty; expected the header {','.join(COLUMNS)}")
    names = [name.strip() for name in header]
    missing = [column for column in COLUMNS if column not in names]
    if missing:
        raise NcapError(f"{path}: line 1: missing column(s) {', '.join(missing)}; "
                        f"the header needs {','.join(COLUMNS)}")


def _job(path: Path, line: int, row: dict) -> Job:
    values = {name.strip(): value for name, value in row.items() if name is not None}
    submit_s = _seconds(path, line, "submit_s", values.get("submit_s"))
    lab = (values.get("lab") or "").strip()
    if not lab:
        raise NcapError(f"{path}: line {line}: lab is empty")
    return Job(submit_s=submit_s, lab=lab, duration_s=_seconds(path, line, "duration_s", values.get("duration_s")))


def _seconds(path: Path, line: int, column: str, text: str | None) -> float:
    """A finite, non-negative number of seconds, or a one-line error naming the column."""
    if text is None or not text.strip():
        raise NcapError(f"{path}: line {line}: {column} is missing")
    try:
        value = float(text)
    except ValueError:
        raise NcapError(f"{path}: line {line}: {column} is not a number: {text.strip()!r}") from None
    if not math.isfinite(value):
        raise NcapError(f"{path}: line {line}: {column} must be a finite number, got {text.strip()!r}")
    if value < 0:
        raise NcapError(f"{path}: line {line}: {column} must not be negative, got {text.strip()!r}")
    return value

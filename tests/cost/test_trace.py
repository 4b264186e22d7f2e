"""Reading job traces: good files become sorted jobs; every kind of bad file is one clear line naming
the file and the line, so that no row is silently left out of a cost figure."""
from __future__ import annotations

import pytest

from ncap_iac.cost.trace import Job, read_trace
from ncap_iac.cost.workload import ncap_trace, write_csv
from ncap_iac.errors import NcapError


def write(tmp_path, content: bytes | str, name: str = "trace.csv"):
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def test_rows_come_back_sorted_by_submit_time_with_extra_columns_ignored(tmp_path):
    path = write(tmp_path, "\ufefflab,duration_s,submit_s,note\n"
                           "lab-b, 60 ,120,second\n"
                           "lab-a,30,0,first\n"
                           "\n"
                           "lab-c,90,120,third\n")
    assert read_trace(path) == (Job(0.0, "lab-a", 30.0), Job(120.0, "lab-b", 60.0), Job(120.0, "lab-c", 90.0))


def test_a_written_trace_reads_back_unchanged(tmp_path):
    jobs = ncap_trace(seed=5, days=7)
    write_csv(jobs, tmp_path / "week.csv")
    assert read_trace(tmp_path / "week.csv") == jobs


HEADER = "submit_s,lab,duration_s\n"
BAD = [
    ("missing column", "submit_s,lab\n0,a\n", "line 1: missing column(s) duration_s"),
    ("empty file", "", "line 1: empty; expected the header submit_s,lab,duration_s"),
    ("header only", HEADER, "no jobs"),
    ("not a number", HEADER + "0,a,10\nsoon,a,10\n", "line 3: submit_s is not a number: 'soon'"),
    ("negative duration", HEADER + "0,a,-5\n", "line 2: duration_s must not be negative"),
    ("nan", HEADER + "0,a,1\n1,a,2\n2,a,nan\n", "line 4: duration_s must be a finite number"),
    ("infinite submit time", HEADER + "inf,a,1\n", "line 2: submit_s must be a finite number"),
    ("empty lab", HEADER + "0, ,1\n", "line 2: lab is empty"),
    ("short row", HEADER + "0,a\n", "line 2: duration_s is missing"),
    ("json, not csv", '{"jobs": [1, 2]}\n', "line 1: missing column(s)"),
    ("latin-1 text", HEADER.encode() + "0,labé,1\n".encode("latin-1"), "line 2: not UTF-8 text"),
    ("an image", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "line 1: not UTF-8 text"),
]


@pytest.mark.parametrize("content, expected", [pytest.param(c, e, id=name) for name, c, e in BAD])
def test_a_bad_trace_is_one_line_naming_the_file_and_the_line(tmp_path, content, expected):
    path = write(tmp_path, content)
    with pytest.raises(NcapError) as caught:
        read_trace(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message
    assert "\n" not in message


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(NcapError, match="no such trace file"):
        read_trace(tmp_path / "absent.csv")


def test_a_folder_is_not_a_trace(tmp_path):
    with pytest.raises(NcapError, match="cannot read the trace"):
        read_trace(tmp_path)

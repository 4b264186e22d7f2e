"""S3 transfers: each result object is written once; a re-run with the same bytes adds no version;
different bytes are replaced and logged; links are never followed; failures are TransferErrors."""
import os

import pytest

from ncap_iac.worker.storage import TransferError, download, local_names, output_files, upload_outputs

from .helpers import BUCKET, cloud, decisions  # noqa: F401

PREFIX = "labA/results/job_1/process_results/"


def outputs(folder, files):
    for name, content in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(content)
    return folder


def test_a_rerun_with_the_same_bytes_adds_no_version(cloud, tmp_path):
    folder = outputs(tmp_path, {"a.txt": b"A", "sub/b.bin": b"B" * 1000})
    first = upload_outputs(cloud.s3, BUCKET, PREFIX, folder)
    again = upload_outputs(cloud.s3, BUCKET, PREFIX, folder)
    assert (first.stored, first.skipped, again.stored, again.skipped) == (2, 0, 0, 2)
    assert cloud.versions(PREFIX) == {PREFIX + "a.txt": 1, PREFIX + "sub/b.bin": 1}
    assert cloud.get(PREFIX + "sub/b.bin") == b"B" * 1000


def test_different_bytes_replace_the_object_and_say_so(cloud, decisions, tmp_path):
    upload_outputs(cloud.s3, BUCKET, PREFIX, outputs(tmp_path, {"a.txt": b"first"}))
    replaced = upload_outputs(cloud.s3, BUCKET, PREFIX, outputs(tmp_path, {"a.txt": b"second"}))
    assert replaced.replaced == 1 and cloud.get(PREFIX + "a.txt") == b"second"
    assert [line["key"] for line in decisions.named("result-replaced")] == [PREFIX + "a.txt"]


def test_links_are_not_followed(tmp_path, decisions):
    (tmp_path / "secret").write_text("host file")
    out = tmp_path / "out"
    outputs(out, {"real.txt": b"x"})
    os.symlink(tmp_path / "secret", out / "link.txt")
    os.symlink(tmp_path, out / "linked-dir")
    assert [suffix for _, suffix in output_files(out)] == ["real.txt"]
    assert [line["file"] for line in decisions.named("output-skipped")] == ["link.txt"]


def test_local_names_stay_distinct():
    assert local_names(["l/inputs/a/x.csv", "l/inputs/b/x.csv", "l/inputs/y.csv"]) == ["x.csv", "1_x.csv", "y.csv"]


def test_a_missing_input_is_a_transfer_error(cloud, tmp_path):
    with pytest.raises(TransferError, match="cannot download labA/inputs/gone.csv: NoSuchKey"):
        download(cloud.s3, BUCKET, "labA/inputs/gone.csv", tmp_path / "x")


def test_a_cancelled_download_stops_between_chunks(cloud, tmp_path):
    import threading

    from ncap_iac.worker.storage import CHUNK, Cancelled

    cloud.put("labA/inputs/big.bin", b"x" * (3 * CHUNK))
    cancelled = threading.Event()
    cancelled.set()
    with pytest.raises(Cancelled):
        download(cloud.s3, BUCKET, "labA/inputs/big.bin", tmp_path / "big.bin", cancelled)
    assert (tmp_path / "big.bin").stat().st_size == 0
    download(cloud.s3, BUCKET, "labA/inputs/big.bin", tmp_path / "big.bin", threading.Event())
    assert (tmp_path / "big.bin").stat().st_size == 3 * CHUNK


def test_an_upload_refused_by_s3_is_a_transfer_error(cloud, tmp_path):
    folder = outputs(tmp_path, {"a.txt": b"A"})
    with pytest.raises(TransferError, match="cannot upload other-bucket-prefix/a.txt"):
        upload_outputs(cloud.s3, "no-such-bucket", "other-bucket-prefix/", folder)

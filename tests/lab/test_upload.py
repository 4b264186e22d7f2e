"""`ncap lab upload` against a moto server: a small file in one put, a large one in parts; an
upload interrupted part way resumes, sending only the parts S3 lacks (as ListParts tells), and
the object is the file, byte for byte; a changed file starts over."""
import hashlib
import os

import pytest

from ncap_iac.lab import upload as uploads
from ncap_iac.lab.access import Folders, Lab

BUCKET = "lab-pipeline"
MiB = 1024 * 1024


class Failing:
    """An S3 client whose upload_part fails for one part number (a dropped network)."""

    def __init__(self, s3, fail_on: int | None):
        self.s3, self.fail_on, self.parts = s3, fail_on, []

    def upload_part(self, **kwargs):
        if kwargs["PartNumber"] == self.fail_on:
            raise ConnectionError("the network dropped")
        self.parts.append(kwargs["PartNumber"])
        return self.s3.upload_part(**kwargs)

    def __getattr__(self, name):
        return getattr(self.s3, name)


@pytest.fixture
def s3(moto_server, monkeypatch, tmp_path):
    import boto3

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(uploads, "PART_BYTES", 5 * MiB)  # S3's smallest part, to keep the files small
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    return client


def a_file(path, mebibytes: int):
    with open(path, "wb") as out:
        for block in range(mebibytes):
            out.write(hashlib.sha256(f"{path.name}{block}".encode()).digest() * 32768)
    return path


def stored(s3, key: str) -> bytes:
    return s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_a_small_file_goes_in_one_put_with_its_version(s3, tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("a\n1\n")
    done = uploads.upload(Lab(s3, BUCKET, "labA", Folders()), path, "labA/inputs/x.csv", quiet=True)
    assert done.version and stored(s3, done.key) == b"a\n1\n" and done.resumed_parts == 0


def test_an_interrupted_upload_resumes_with_only_the_missing_parts(s3, tmp_path):
    path = a_file(tmp_path / "big.bin", 18)  # four parts of 5 MiB
    failing = Failing(s3, fail_on=3)
    with pytest.raises(ConnectionError):
        uploads.upload(Lab(failing, BUCKET, "labA", Folders()), path, "labA/inputs/big.bin", quiet=True)
    sent_before = set(failing.parts)
    again = Failing(s3, fail_on=None)
    done = uploads.upload(Lab(again, BUCKET, "labA", Folders()), path, "labA/inputs/big.bin", quiet=True)
    assert done.resumed_parts == len(sent_before) >= 1
    assert set(again.parts) == {1, 2, 3, 4} - sent_before, "only what S3 lacked was sent again"
    assert stored(s3, "labA/inputs/big.bin") == path.read_bytes()
    assert not list((tmp_path / "cache" / "ncap" / "uploads").iterdir()), "a finished upload leaves no record"


def test_a_file_changed_since_the_interruption_starts_over(s3, tmp_path):
    path = a_file(tmp_path / "big.bin", 12)
    with pytest.raises(ConnectionError):
        uploads.upload(Lab(Failing(s3, fail_on=2), BUCKET, "labA", Folders()), path, "labA/inputs/big.bin", quiet=True)
    a_file(path, 13)
    os.utime(path, ns=(1, 1))
    done = uploads.upload(Lab(s3, BUCKET, "labA", Folders()), path, "labA/inputs/big.bin", quiet=True)
    assert done.resumed_parts == 0 and stored(s3, "labA/inputs/big.bin") == path.read_bytes()


def test_a_file_needing_more_than_ten_thousand_parts_gets_bigger_ones():
    assert uploads.part_size(10 * MiB) == uploads.PART_BYTES
    size = 500 * 1024 ** 3
    assert -(-size // uploads.part_size(size)) <= uploads.MAX_PARTS

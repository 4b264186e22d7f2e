"""The user data's boot (template/instance_boot.py), piece by piece, against a moto server with IAM
enforced (the emulator checks each request's SigV4 signature and the caller's policies, as S3
does): the signed GET of a role session that may read the object succeeds, a wrong key or a
session without the right is refused; an archive whose bytes are not the ones its key names is
never unpacked; a missing object fails at once; an entry cannot leave its folder; what is installed
is not fetched again."""
import hashlib
import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from ncap_iac.local.metadata import Instance, MetadataService
from ncap_iac.template import instance_boot

from emulator.conftest import ACCOUNT, REGION, allow, enforced  # noqa: F401  (fixture: enforced)

BUCKET = "ncap-boot-artifacts"


def archive_bytes(files: dict) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return data.getvalue()


@pytest.fixture
def world(enforced, monkeypatch):
    """The bucket with a good archive (under its own SHA-256) and a lying one, a role that may read
    the good one only, and a metadata service serving that role's session to instance i-boot."""
    good = archive_bytes({"analysis/run.py": "print('ok')\n"})
    good_key = f"ncap/code/{hashlib.sha256(good).hexdigest()}.zip"
    liar_key = f"ncap/code/{'0' * 64}.zip"
    enforced.bucket(BUCKET)
    s3 = enforced.client("s3")
    s3.put_object(Bucket=BUCKET, Key=good_key, Body=good)
    s3.put_object(Bucket=BUCKET, Key=liar_key, Body=good)
    trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    objects = [f"arn:aws:s3:::{BUCKET}/{key}" for key in (good_key, liar_key, "ncap/code/missing.zip")]
    role = enforced.role("worker", trust, allow("s3:GetObject", objects))
    metadata = MetadataService(REGION, ACCOUNT)
    monkeypatch.setenv("AWS_ENDPOINT_URL", enforced.endpoint)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", metadata.endpoint("i-boot"))
    monkeypatch.setattr(instance_boot, "TRIES", 2)

    def session():
        key, secret, token = enforced.assume(enforced.admin, role, "i-boot")
        return {"AccessKeyId": key, "SecretAccessKey": secret, "SessionToken": token,
                "Expiration": datetime.now(UTC) + timedelta(hours=1)}

    metadata.add(Instance("i-boot", "t3.micro", "worker", session, lambda: "InService"))
    yield {"good": good_key, "liar": liar_key, "bytes": good}
    metadata.stop()


def test_a_signed_get_with_the_instance_roles_session_downloads_the_object(world, tmp_path):
    target = tmp_path / "a.zip"
    instance_boot.download(REGION, BUCKET, world["good"], str(target))
    assert target.read_bytes() == world["bytes"]


def test_a_wrong_secret_is_refused_by_the_signature_check(world, tmp_path, monkeypatch):
    real = instance_boot.credentials
    monkeypatch.setattr(instance_boot, "credentials", lambda: {**real(), "SecretAccessKey": "not-the-secret"})
    with pytest.raises(SystemExit, match="403"):
        instance_boot.download(REGION, BUCKET, world["good"], str(tmp_path / "a.zip"))


def test_bytes_that_are_not_the_keys_hash_are_refused(world, tmp_path):
    with pytest.raises(SystemExit, match="has SHA-256 [0-9a-f]{64}, not 0{64}"):
        instance_boot.install(str(tmp_path / "root"), "code", REGION, BUCKET, world["liar"], instance_boot.make_code)
    assert not (tmp_path / "root" / "code" / ("0" * 64)).exists()
    assert list((tmp_path / "root" / "code").iterdir()) == [], "the scratch folder is gone too"


def test_a_missing_object_fails_saying_it_may_be_missing(world, tmp_path):
    """S3 answers 403, not 404, for a missing key to a reader without s3:ListBucket (the worker
    role has none): tried again for a while (a new role's rights take time to arrive), then said."""
    with pytest.raises(SystemExit, match="403.*S3 answers 403 for a missing object too"):
        instance_boot.download(REGION, BUCKET, "ncap/code/missing.zip", str(tmp_path / "a.zip"))


def test_an_object_the_role_may_not_read_is_refused(world, tmp_path, enforced):
    enforced.client("s3").put_object(Bucket=BUCKET, Key="ncap/other.zip", Body=b"x")
    with pytest.raises(SystemExit, match="403"):
        instance_boot.download(REGION, BUCKET, "ncap/other.zip", str(tmp_path / "a.zip"))


def test_what_is_installed_is_unpacked_readable_and_not_fetched_again(world, tmp_path, capsys):
    root = tmp_path / "root"
    folder = instance_boot.install(str(root), "code", REGION, BUCKET, world["good"], instance_boot.make_code)
    assert (root / "code" / world["good"].split("/")[-1][:-4] / "analysis" / "run.py").read_text() == "print('ok')\n"
    assert oct((root / "code").stat().st_mode & 0o777) == "0o755"
    assert instance_boot.install(str(root), "code", REGION, BUCKET, world["good"], instance_boot.make_code) == folder
    said = capsys.readouterr().out
    assert said.count("installed from s3://") == 1 and "is on this image already" in said


def test_an_archive_with_an_entry_that_leaves_its_folder_is_refused(tmp_path):
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as opened:
        opened.writestr(zipfile.ZipInfo("ok.txt"), "fine")
        opened.writestr(zipfile.ZipInfo("../../escaped.txt"), "evil")
    with pytest.raises(SystemExit, match="entry ../../escaped.txt leaves its folder"):
        instance_boot.make_code(str(archive), str(tmp_path / "code"))
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()


def test_s3s_address_on_aws_is_the_buckets_regional_name():
    assert instance_boot.object_url("eu-west-1", "ncap-artifacts-1-eu-west-1", "ncap/agent/a.zip") == (
        "https://ncap-artifacts-1-eu-west-1.s3.eu-west-1.amazonaws.com/ncap/agent/a.zip",
        "ncap-artifacts-1-eu-west-1.s3.eu-west-1.amazonaws.com")
    assert instance_boot.object_url("cn-north-1", "my.bucket", "k")[0] == "https://s3.cn-north-1.amazonaws.com.cn/my.bucket/k"


def test_the_boot_refuses_a_wrong_command_line():
    with pytest.raises(SystemExit, match="usage"):
        instance_boot.main(["only", "two"])

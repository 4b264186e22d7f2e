"""Packaging in Python (--method changeset and the local cloud): reproducible archives, uploaded
once under their content hash, CodeUri rewritten; the code alone when requirements are not asked."""
import zipfile

import pytest

from ncap_iac.aws import artifacts
from ncap_iac.aws.clients import Aws
from ncap_iac.errors import NcapError


@pytest.fixture
def code(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    folder = tmp_path / "code"
    (folder / "pkg" / "__pycache__").mkdir(parents=True)
    (folder / "handler.py").write_text("def handler(event, context):\n    return 1\n")
    (folder / "pkg" / "__init__.py").write_text("")
    (folder / "pkg" / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"junk")
    return folder


def template(code_uri, runtime="python3.12"):
    function = {"Type": "AWS::Serverless::Function", "Properties": {"CodeUri": code_uri, "Runtime": runtime}}
    return {"Resources": {"A": function, "B": {**function, "Properties": dict(function["Properties"])}}}


def test_the_archive_is_reproducible_and_leaves_caches_out(code):
    said = []
    first = artifacts.code_archive(code, "3.12", said.append)
    assert zipfile.ZipFile(first).namelist() == ["handler.py", "pkg/__init__.py"]
    data = first.read_bytes()
    first.unlink()
    assert artifacts.code_archive(code, "3.12", said.append).read_bytes() == data
    assert artifacts.code_archive(code, "3.12", said.append) == first
    assert said[-1] == f"code of code for python3.12: unchanged, using {first}"


def test_code_is_uploaded_once_and_every_code_uri_points_at_it(code, moto_server):
    aws = Aws("us-east-1")
    said = []
    aws.s3.create_bucket(Bucket="arts")
    packaged = artifacts.package_functions(template("code"), code.parent, "pipe", aws, "arts", said.append)
    uris = {r["Properties"]["CodeUri"] for r in packaged["Resources"].values()}
    assert len(uris) == 1 and uris.pop().startswith("s3://arts/pipe/")
    assert sum(line.startswith("uploading ") for line in said) == 1
    artifacts.package_functions(template("code"), code.parent, "pipe", aws, "arts", said.append)
    assert said[-1].endswith("is already uploaded")


def test_only_python_functions_are_packaged_in_python(code, moto_server):
    with pytest.raises(NcapError, match="A: runtime nodejs20.x: only python3.x functions"):
        artifacts.package_functions(template("code", "nodejs20.x"), code.parent, "p", Aws("us-east-1"), "b", print)


def test_small_templates_go_as_a_body():
    assert artifacts.template_source(None, "{}", "b", "p", print) == {"TemplateBody": "{}"}


def test_without_requirements_the_archive_is_the_code_alone(code):
    (code / "requirements.txt").write_text("definitely-not-a-package-ncap==0\n")
    archive = artifacts.code_archive(code, "3.12", print, requirements=False)
    assert zipfile.ZipFile(archive).namelist() == ["handler.py", "pkg/__init__.py", "requirements.txt"]

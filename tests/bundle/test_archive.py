"""Reproducible archives: the same files give the same bytes, so an archive's SHA-256 is its name
(the key in the artifact bucket, and what an instance checks after download)."""
import hashlib
import io
import zipfile

from ncap_iac.bundle.archive import folder_entries, save_zip, write_zip
from ncap_iac.bundle.code import code_key, code_sha256, save_code


def make_folder(root):
    (root / "analysis" / "lib").mkdir(parents=True)
    (root / "analysis" / "run.py").write_text("print('hi')\n")
    (root / "analysis" / "lib" / "util.py").write_text("X = 1\n")
    (root / "analysis" / "tool.sh").write_text("#!/bin/sh\necho tool\n")
    (root / "analysis" / "tool.sh").chmod(0o755)
    (root / "analysis" / "__pycache__").mkdir()
    (root / "analysis" / "__pycache__" / "run.cpython-311.pyc").write_bytes(b"\0cached")
    (root / "analysis" / ".git").mkdir()
    (root / "analysis" / ".git" / "HEAD").write_text("ref\n")
    return root / "analysis"


def test_the_same_files_give_the_same_bytes_and_the_hash_names_them(tmp_path):
    folder = make_folder(tmp_path)
    first, second = io.BytesIO(), io.BytesIO()
    assert write_zip(folder_entries(folder, "analysis"), first) == write_zip(folder_entries(folder, "analysis"), second)
    assert first.getvalue() == second.getvalue()
    assert hashlib.sha256(first.getvalue()).hexdigest() == write_zip(folder_entries(folder, "analysis"))
    saved = tmp_path / "out" / "code.zip"
    assert save_code(folder, "analysis", saved) == code_sha256(folder, "analysis")
    assert saved.read_bytes() == first.getvalue()


def test_entries_are_named_as_beside_the_config_without_caches_and_keep_the_executable_bit(tmp_path):
    folder = make_folder(tmp_path)
    data = io.BytesIO()
    write_zip(folder_entries(folder, "analysis"), data)
    archive = zipfile.ZipFile(data)
    assert archive.namelist() == ["analysis/lib/util.py", "analysis/run.py", "analysis/tool.sh"]
    modes = {info.filename: info.external_attr >> 16 for info in archive.infolist()}
    assert modes == {"analysis/lib/util.py": 0o644, "analysis/run.py": 0o644, "analysis/tool.sh": 0o755}
    assert {info.date_time for info in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.compress_type for info in archive.infolist()} == {zipfile.ZIP_STORED}


def test_a_changed_file_or_mode_changes_the_key_and_an_untouched_time_does_not(tmp_path):
    folder = make_folder(tmp_path)
    before = code_key(code_sha256(folder, "analysis"))
    assert before.startswith("ncap/code/") and before.endswith(".zip") and len(before) == len("ncap/code/.zip") + 64
    (folder / "run.py").touch()
    assert code_key(code_sha256(folder, "analysis")) == before
    (folder / "run.py").write_text("print('changed')\n")
    changed = code_key(code_sha256(folder, "analysis"))
    assert changed != before
    (folder / "run.py").chmod(0o755)
    assert code_key(code_sha256(folder, "analysis")) != changed


def test_a_deflated_archive_is_reproducible_too(tmp_path):
    folder = make_folder(tmp_path)
    one, two = tmp_path / "one.zip", tmp_path / "two.zip"
    assert save_zip(folder_entries(folder), one, compress=True) == save_zip(folder_entries(folder), two, compress=True)
    assert one.read_bytes() == two.read_bytes()
    assert zipfile.ZipFile(one).testzip() is None

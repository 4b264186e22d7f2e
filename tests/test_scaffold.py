"""`ncap init`: a new pipeline folder, named after its folder or --name, written only into a missing
or empty folder; what it writes validates without a warning (the wheel test runs it whole, from a
folder of its own, to SUCCESS on the local cloud)."""
import json

import pytest

from ncap_iac.cli import main
from ncap_iac.config import load
from ncap_iac.errors import NcapError
from ncap_iac.scaffold import init, pipeline_name


def test_the_pipeline_is_named_after_its_folder_unless_told(tmp_path):
    assert pipeline_name(tmp_path / "Spike Sorting_v2", None) == "spike-sorting-v2"
    assert pipeline_name(tmp_path / "x", "my-pipe") == "my-pipe"
    with pytest.raises(NcapError, match="give one with --name"):
        pipeline_name(tmp_path / "9", None)


def test_what_init_writes_loads_without_a_warning_and_ignores_what_must_not_be_committed(tmp_path):
    written = init(tmp_path / "new", "new-pipe")
    names = sorted(p.relative_to(tmp_path / "new").as_posix() for p in written)
    assert names == [".gitignore", "analysis/run.py", "image/setup.sh", "sample/config.json", "sample/notes.txt",
                     "stack_config.json", "stack_config.schema.json"]
    config = load(tmp_path / "new" / "stack_config.json")
    assert config.pipeline_name == "new-pipe" and not config.warnings
    assert config.workers.image.setup[0].name == "image/setup.sh" and config.workers.code.under == "analysis"
    ignored = (tmp_path / "new" / ".gitignore").read_text().split()
    assert {"*.credentials", ".ncap/", "ncap-results/"} <= set(ignored)
    assert (tmp_path / "new" / "image" / "setup.sh").stat().st_mode & 0o111


def test_init_refuses_a_folder_that_holds_anything(tmp_path, capsys):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.md").write_text("mine")
    assert main(["init", str(tmp_path / "taken")]) == 1
    assert "is not an empty folder" in capsys.readouterr().err
    assert [p.name for p in (tmp_path / "taken").iterdir()] == ["notes.md"]
    assert main(["init", str(tmp_path / "fresh"), "--name", "fresh-one"]) == 0
    assert json.loads((tmp_path / "fresh" / "stack_config.json").read_text())["PipelineName"] == "fresh-one"

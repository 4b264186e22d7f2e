"""`ncap diff` into lab nested stacks, on the emulator: a pipeline of 130 labs (each in a nested
stack) is deployed; one lab's roster changes; the diff shows that lab's stack modified and, under
it, the lab's own resource that changes, and names no other lab."""
import json
import re

import pytest

from deploy_helpers import ARTIFACTS, deploy, emulator, ncap, pipeline_copy  # noqa: F401  (fixtures: emulator)

LABS = 130

pytestmark = pytest.mark.slow


def many_labs(document):
    document["STAGE"] = "websubstack"  # NCAP's: each lab in a nested stack (130 labs would fit one template)
    document["UXData"]["Affiliates"] = [{"AffiliateName": f"lab{n:03d}", "UserNames": [f"lab{n:03d}-user"],
                                         "ContactEmail": f"lab{n:03d}@example.org"} for n in range(LABS)]


def test_a_roster_change_in_one_lab_of_130_shows_that_lab_and_its_resource_only(capsys, tmp_path, emulator,
                                                                                 monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = pipeline_copy(tmp_path, "local-demo", many_labs)
    code, out, err = deploy(capsys, folder)
    assert code == 0, err
    assert f"nested templates: uploaded {LABS}" in out

    config = json.loads((folder / "stack_config.json").read_text())
    config["UXData"]["Affiliates"][57]["UserNames"].append("lab057-guest")
    (folder / "stack_config.json").write_text(json.dumps(config, indent=2))
    code, out, err = ncap(capsys, "diff", folder, "--s3-bucket", ARTIFACTS)
    assert code == 0, err
    lines = out.splitlines()
    [stack_line] = [line for line in lines if re.match(r"^  [~!] Modify\s+LabLab057\s", line)]
    at = lines.index(stack_line)
    assert lines[at + 1].strip() == "lab lab057: 1 to modify"
    assert re.match(r"^      ~ Modify\s+MembersLab057\s+Custom::LabMembers\s+\[Roster, Users\]", lines[at + 2]), lines[at + 2]
    named = set(re.findall(r"\blab\d{3}\b", out.lower()))
    assert named == {"lab057"}, named
    assert "nothing was deployed" in out

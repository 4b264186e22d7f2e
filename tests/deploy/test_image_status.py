"""`ncap image status` of a pipeline deployed by change set on the emulator, which answers built
images with stand-ins (moto has no Image Builder): each stage's image, when it was made and where it
comes from; redeploying a changed setup moves the workers to a new image, and deploying the old
config again (the rollback) brings the first one back; a pipeline not deployed is one clear line."""
import json
import shutil

from conftest import FIXTURE_PIPELINES
from deploy_helpers import deploy, emulator, ncap, pipeline_copy  # noqa: F401  (fixtures: emulator)


def status(capsys, folder) -> list[dict]:
    code, out, err = ncap(capsys, "image", "status", folder, "--json")
    assert code == 0, err
    return json.loads(out)


def test_image_status_follows_the_setup_and_a_rollback(capsys, tmp_path, emulator, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "image-build"
    shutil.copytree(FIXTURE_PIPELINES / "image-build", folder)
    code, out, err = deploy(capsys, folder)
    assert code == 0, err
    [first] = status(capsys, folder)
    assert first["stage"] == "(the pipeline)" and first["image_id"].startswith("ami-")
    assert first["source"].startswith("built from the pipeline folder (image/setup.sh, image/check.sh on ssm:")
    assert first["name"].startswith("ncap stand-in image image-build/1.") and first["created"] != "unknown"

    setup = folder / "image" / "setup.sh"
    original = setup.read_text()
    setup.write_text(original + "dnf clean all\n")
    assert deploy(capsys, folder)[0] == 0
    [second] = status(capsys, folder)
    assert second["image_id"] != first["image_id"] and second["name"] != first["name"]

    setup.write_text(original)
    assert deploy(capsys, folder)[0] == 0
    [rolled_back] = status(capsys, folder)
    assert rolled_back["image_id"] == first["image_id"]

    code, out, err = ncap(capsys, "image", "status", folder)
    assert code == 0 and out.splitlines()[0].split() == ["stage", "image", "made", "source"]


def test_the_default_image_and_an_undeployed_pipeline(capsys, tmp_path, emulator, monkeypatch):
    monkeypatch.chdir(tmp_path)
    demo = pipeline_copy(tmp_path, "local-demo")
    code, out, err = ncap(capsys, "image", "status", demo)
    assert code == 1 and err.strip() == "there is no stack ncap-local-demo in us-east-1 at " + emulator + \
        ": deploy it first"
    assert deploy(capsys, demo)[0] == 0
    [found] = status(capsys, demo)
    assert found["source"] == "the default image, /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    assert found["image_id"].startswith("ami-")

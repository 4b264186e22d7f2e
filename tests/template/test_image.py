"""Workers.Image: what the Image Builder resources mean, beyond the golden. The launch template
starts from the built image; versions follow content (the same setup gives the same bytes, a
changed script new component and recipe versions, while a changed analysis or a new agent leaves
the image alone); the build profile reads only what the test needs; and the component's test
phase, a script AWS runs on an instance of the new image, is run here for real against a moto
server and the metadata service stand-in: it installs the agent, the analysis and the sample from
the artifact bucket and runs the command on the sample; a failing command fails it."""
import json
import os
import re
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from ncap_iac.compiler import compile_config
from ncap_iac.config import load, load_document
from ncap_iac.errors import ConfigError
from ncap_iac.local.instances import write_stand_ins
from ncap_iac.local.metadata import Instance, MetadataService
from ncap_iac.template.image import semantic_version

from conftest import FIXTURE_PIPELINES

SOURCE = FIXTURE_PIPELINES / "image-build"
IMAGE_TYPES = ("AWS::ImageBuilder::Component", "AWS::ImageBuilder::ImageRecipe",
               "AWS::ImageBuilder::InfrastructureConfiguration", "AWS::ImageBuilder::Image")


@pytest.fixture
def pipeline(tmp_path):
    shutil.copytree(SOURCE, tmp_path / "p")
    return tmp_path / "p"


def compiled(folder):
    return compile_config(load(folder / "stack_config.json"), folder)


def resources(folder) -> dict:
    return compiled(folder).template["Resources"]


def test_the_workers_start_from_the_built_image_of_the_default_parent():
    found = resources(SOURCE)
    assert {r["Type"] for r in found.values()} >= set(IMAGE_TYPES)
    data = found["WorkerLaunchTemplate"]["Properties"]["LaunchTemplateData"]
    assert data["ImageId"] == {"Fn::GetAtt": ["WorkerImage", "ImageId"]}
    recipe = found["ImageRecipe"]["Properties"]
    assert recipe["ParentImage"] == ("ssm:/aws/service/deeplearning/ami/x86_64/"
                                     "base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id")
    assert recipe["Components"] == [{"ComponentArn": {"Fn::GetAtt": ["ImageSetupComponent", "Arn"]}}]
    assert recipe["BlockDeviceMappings"][0]["Ebs"]["Encrypted"] is True
    infrastructure = found["ImageBuildInfrastructure"]["Properties"]
    assert infrastructure["InstanceTypes"] == ["g4dn.xlarge"]
    assert infrastructure["InstanceMetadataOptions"] == {"HttpTokens": "required", "HttpPutResponseHopLimit": 1}
    image = found["WorkerImage"]
    assert image["Properties"]["ImageTestsConfiguration"]["ImageTestsEnabled"] is True
    assert image["DependsOn"] == ["ImageTestSpec"]


def test_the_setup_scripts_run_in_order_then_the_test():
    document = json.loads(resources(SOURCE)["ImageSetupComponent"]["Properties"]["Data"])
    build, test = document["phases"]
    assert [s["name"] for s in build["steps"]] == ["Setup1", "Setup2"]
    assert build["steps"][0]["inputs"]["commands"] == [(SOURCE / "image" / "setup.sh").read_text()]
    assert build["steps"][1]["inputs"]["commands"] == [(SOURCE / "image" / "check.sh").read_text()]
    assert test["name"] == "test" and "--image-test /ncap/image-build/image-test us-east-1 ncap-job" in \
        test["steps"][0]["inputs"]["commands"][0]


def versions(found: dict) -> tuple[str, str]:
    return found["ImageSetupComponent"]["Properties"]["Version"], found["ImageRecipe"]["Properties"]["Version"]


def test_compiling_twice_gives_the_same_bytes_and_a_changed_setup_new_versions(pipeline):
    first, again = compiled(pipeline).body, compiled(pipeline).body
    assert first == again
    before = json.loads(first)["Resources"]
    (pipeline / "image" / "setup.sh").write_text((pipeline / "image" / "setup.sh").read_text() + "dnf clean all\n")
    after = resources(pipeline)
    assert all(re.fullmatch(r"1\.\d+\.\d+", v) for v in versions(before) + versions(after))
    assert versions(after)[0] != versions(before)[0] and versions(after)[1] != versions(before)[1]
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {"ImageSetupComponent", "ImageRecipe"}


def test_a_changed_analysis_leaves_the_image_alone(pipeline):
    before = resources(pipeline)
    (pipeline / "analysis" / "count.py").write_text("print('changed')\n")
    after = resources(pipeline)
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"ImageTestSpec", "WorkerLaunchTemplate", "WorkerRole", "ImageBuildRole"}


def test_semantic_versions_stay_within_image_builders_bounds():
    for text in ("", "x", "setup" * 1000):
        assert all(int(node) < 2 ** 30 for node in semantic_version(text).split("."))


def test_the_build_profile_reads_the_tests_artifacts_and_spec_only():
    role = resources(SOURCE)["ImageBuildRole"]["Properties"]
    [policy] = role["Policies"]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert set(statements) == {"InstallAgentForTest", "ReadTestSpec"}
    assert statements["InstallAgentForTest"]["Action"] == ["s3:GetObject"]
    keys = [r["Fn::Sub"].split("${ArtifactBucket}/")[1] for r in statements["InstallAgentForTest"]["Resource"]]
    assert keys[0] == "${AgentBundle}" and all(re.fullmatch(r"ncap/code/[0-9a-f]{64}\.zip", k) for k in keys[1:])
    assert statements["ReadTestSpec"]["Action"] == ["ssm:GetParameter"]
    assert statements["ReadTestSpec"]["Resource"][0]["Fn::Sub"].endswith(":parameter/ncap/image-build/image-test")


@pytest.mark.parametrize("change, path, message", [
    (lambda d, _: d["Workers"].update(AMI="ami-0123456789abcdef0"), "Workers.AMI", "give the AMI there"),
    (lambda d, _: d["Workers"]["Image"].update(Setup=["image/missing.sh"]), "Workers.Image.Setup[0]", "not found"),
    (lambda d, _: d["Workers"].update(InstanceType="p3.2xlarge"), "Workers.Image.ParentImage", "no default image"),
    (lambda _, folder: shutil.rmtree(folder / "sample"), "Workers.Image", "tested by running the command"),
], ids=["with-ami", "missing-script", "no-default-parent", "no-sample"])
def test_an_image_that_cannot_be_built_is_refused_at_its_key(pipeline, change, path, message):
    doc = json.loads((pipeline / "stack_config.json").read_text())
    change(doc, pipeline)
    with pytest.raises(ConfigError) as raised:
        load_document(doc, pipeline)
    assert path in raised.value.paths and message in str(raised.value)


def test_a_stage_of_its_own_builds_its_own_image_tested_on_its_own_sample(pipeline):
    doc = json.loads((pipeline / "stack_config.json").read_text())
    image = doc["Workers"].pop("Image")
    doc["Stages"] = [{"Name": "prepare", "Workers": {"InstanceType": "c7i.large"}},
                     {"Name": "model", "Workers": {"Image": image}}]
    (pipeline / "sample" / "model").mkdir()
    (pipeline / "sample" / "model" / "prepared.txt").write_text("x\n")
    config = load_document(doc, pipeline)
    assert config.stages[0].workers.image is None and config.stages[1].workers.image.sample == pipeline / "sample" / "model"
    found = compile_config(config, pipeline).template["Resources"]
    assert "WorkerImageModel" in found and "WorkerImage" not in found and "WorkerImagePrepare" not in found
    assert found["ImageRecipeModel"]["Properties"]["Name"] == "image-build-model"
    spec = found["ImageTestSpecModel"]["Properties"]
    assert spec["Name"] == "/ncap/image-build/model/image-test" and '"one_dataset": true' in spec["Value"]["Fn::Sub"]
    assert found["WorkerLaunchTemplatePrepare"]["Properties"]["LaunchTemplateData"]["ImageId"].startswith("{{resolve:ssm:")


def test_ncap_compile_runs_shellcheck_on_the_setup_scripts(pipeline, capsys):
    from ncap_iac.cli import main

    shutil.which("shellcheck") or pytest.fail("shellcheck is not installed (`make test` installs it)")
    (pipeline / "image" / "check.sh").write_text('#!/bin/bash\necho "$(\n')
    assert main(["compile", str(pipeline / "stack_config.json")]) == 1
    err = capsys.readouterr().err
    assert "error: shellcheck ERROR SC" in err and "image/check.sh:" in err
    assert not (pipeline / "compiled_template.json").exists()


# --- the test phase, run for real ---------------------------------------------------------------

def phase_script(found: dict) -> str:
    return json.loads(found["ImageSetupComponent"]["Properties"]["Data"])["phases"][1]["steps"][0]["inputs"][
        "commands"][0]


def render(text: str, values: dict) -> str:
    return re.sub(r"\$\{(?!!)([^}]+)\}", lambda m: values[m.group(1)], text).replace("${!", "${")


@pytest.fixture
def build_instance(moto_server, tmp_path):
    """The artifact bucket with the agent, the analysis and the sample; the metadata service."""
    from ncap_iac.aws.clients import Aws
    from ncap_iac.aws.worker_artifacts import upload_worker_artifacts

    aws = Aws("us-east-1", moto_server, ("testing", "testing"))
    aws.s3.create_bucket(Bucket="artifacts")
    metadata = MetadataService("us-east-1", "123456789012")
    keys = {"AccessKeyId": "testing", "SecretAccessKey": "testing", "SessionToken": "testing",
            "Expiration": datetime.now(UTC) + timedelta(hours=1)}
    metadata.add(Instance("i-test", "g4dn.xlarge", "image-build", lambda: keys, lambda: "InService"))
    yield aws, metadata, lambda config: upload_worker_artifacts(aws, "artifacts", config.artifact_folders, print)
    metadata.stop()


def run_test_phase(pipeline, build_instance, tmp_path) -> subprocess.CompletedProcess:
    aws, metadata, upload = build_instance
    config = load(pipeline / "stack_config.json")
    found = compile_config(config, pipeline).template["Resources"]
    parameters = upload(config)
    spec = found["ImageTestSpec"]["Properties"]
    aws.client("ssm").put_parameter(Name=spec["Name"], Type="String", Value=render(spec["Value"]["Fn::Sub"], parameters))
    script = tmp_path / "test-phase.sh"
    script.write_text(phase_script(found))
    env = {"PATH": f"{write_stand_ins(tmp_path)}:{os.environ['PATH']}", "HOME": str(tmp_path), "TMPDIR": str(tmp_path),
           "AWS_ENDPOINT_URL": aws.endpoint, "AWS_EC2_METADATA_SERVICE_ENDPOINT": metadata.endpoint("i-test"),
           "NCAP_LOCAL_CLOUD": "1"}
    return subprocess.run(["/bin/bash", str(script)], env=env, capture_output=True, text=True, timeout=180)


@pytest.mark.slow
def test_the_test_phase_installs_from_the_bucket_and_runs_the_command_on_the_sample(pipeline, build_instance, tmp_path):
    done = run_test_phase(pipeline, build_instance, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "ncap boot: agent " in done.stdout and "ncap boot: sample " in done.stdout
    assert "data.txt: ok" in done.stdout and "1 of 1 dataset(s) succeeded" in done.stdout
    [output] = list(tmp_path.glob("ncap-image-test-*/output/data.txt/lines.txt"))
    assert output.read_text() == "3\n"


@pytest.mark.slow
def test_a_command_that_fails_on_the_sample_fails_the_test_phase(pipeline, build_instance, tmp_path):
    (pipeline / "analysis" / "count.py").write_text("raise SystemExit(3)\n")
    done = run_test_phase(pipeline, build_instance, tmp_path)
    assert done.returncode == 1 and "data.txt: FAILED (3)" in done.stdout, done.stdout + done.stderr

"""Workers.CodeUri: the analysis folder the command runs in, shipped to every instance. Default:
the config's analysis/ folder when there is one; a CodeUri that is not a folder is an error at its
path (a stage's at the stage's)."""
import pytest

from ncap_iac.compiler import compile_config
from ncap_iac.config import load_document
from ncap_iac.errors import ConfigError
from ncap_iac.template.user_data import stage_code_key

from factories import minimal_config


def test_without_codeuri_the_analysis_folder_is_taken_when_there_is_one(tmp_path):
    assert load_document(minimal_config(), tmp_path).workers.code is None
    (tmp_path / "analysis").mkdir()
    code = load_document(minimal_config(), tmp_path).workers.code
    assert code.path == (tmp_path / "analysis").resolve() and code.under == "analysis"


def test_a_codeuri_is_unpacked_where_it_sits_beside_the_config(tmp_path):
    (tmp_path / "src" / "pipeline").mkdir(parents=True)
    (tmp_path.parent / f"{tmp_path.name}-shared").mkdir()
    doc = minimal_config(Workers={"AMI": "ami-0123456789abcdef0", "Command": "x", "CodeUri": "src/pipeline"})
    assert load_document(doc, tmp_path).workers.code.under == "src/pipeline"
    doc["Workers"]["CodeUri"] = f"../{tmp_path.name}-shared"
    assert load_document(doc, tmp_path).workers.code.under == f"{tmp_path.name}-shared"
    doc["Workers"]["CodeUri"] = "."
    assert load_document(doc, tmp_path).workers.code.under == ""


@pytest.mark.parametrize("where", ["top", "stage"])
def test_a_codeuri_that_is_not_a_folder_is_an_error_at_its_path(tmp_path, where):
    (tmp_path / "run.py").write_text("")
    doc = minimal_config()
    if where == "top":
        doc["Workers"]["CodeUri"] = "run.py"
    else:
        doc["Stages"] = [{"Name": "one", "Workers": {"CodeUri": "missing"}}]
    with pytest.raises(ConfigError) as raised:
        load_document(doc, tmp_path)
    path = "Workers.CodeUri" if where == "top" else "Stages[0].Workers.CodeUri"
    assert raised.value.paths == [path] and "not found next to the config" in raised.value.lines()[0]


def test_changing_a_file_of_the_analysis_changes_the_launch_template_and_what_the_workers_may_read(tmp_path):
    (tmp_path / "analysis").mkdir()
    (tmp_path / "analysis" / "run.py").write_text("print(1)\n")

    def compiled():
        config = load_document(minimal_config(), tmp_path)
        return config, compile_config(config, tmp_path).template["Resources"]

    config, before = compiled()
    key = stage_code_key(config.worker_stages[0])
    user_data = before["WorkerLaunchTemplate"]["Properties"]["LaunchTemplateData"]["UserData"]["Fn::Base64"]["Fn::Sub"][0]
    assert key in user_data
    (tmp_path / "analysis" / "run.py").write_text("print(2)\n")
    config, after = compiled()
    changed = stage_code_key(config.worker_stages[0])
    assert changed != key
    assert before["WorkerLaunchTemplate"] != after["WorkerLaunchTemplate"]
    read = next(s for s in after["WorkerRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
                if s["Sid"] == "InstallAgent")
    prefix = "arn:${AWS::Partition}:s3:::${ArtifactBucket}/"
    assert [r["Fn::Sub"] for r in read["Resource"]] == [prefix + "${AgentBundle}", prefix + changed]

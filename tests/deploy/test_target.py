"""The pipeline a shipping command acts on: a folder holding stack_config.json, or a clean error."""
from deploy_helpers import assert_clean_failure, cli


def test_a_folder_without_a_config_is_a_clean_error(tmp_path):
    assert_clean_failure(cli("build", tmp_path), f"{tmp_path}: not a pipeline folder: it has no stack_config.json")
    assert_clean_failure(cli("deploy", tmp_path / "nope", "--yes"),
                         f"{tmp_path / 'nope'}: no such folder (expected a pipeline folder holding stack_config.json)")

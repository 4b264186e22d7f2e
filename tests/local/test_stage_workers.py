"""How many workers each stage gets on the local cloud: --workers for each, --workers-per-stage
NAME=N for one; a stage the pipeline does not have, or a malformed NAME=N, is one clear error."""
import pytest

from ncap_iac.config import load
from ncap_iac.errors import NcapError
from ncap_iac.local.workers import stage_workers

from cloud_helpers import PIPELINES, ncap


def test_each_stage_gets_workers_unless_it_has_a_number_of_its_own():
    config = load(PIPELINES / "cis-two-stage" / "stack_config.json")
    assert stage_workers(config, 2, {}) == {"preprocess": 2, "inference": 2}
    assert stage_workers(config, 2, {"inference": 0}) == {"preprocess": 2, "inference": 0}
    with pytest.raises(NcapError, match="no stage infer .the stages: preprocess, inference"):
        stage_workers(config, 2, {"infer": 1})


def test_a_pipeline_of_one_stage_has_no_stage_to_name():
    config = load(PIPELINES / "local-demo" / "stack_config.json")
    assert stage_workers(config, 3, {}) == {None: 3}
    with pytest.raises(NcapError, match="the pipeline has one stage"):
        stage_workers(config, 3, {"preprocess": 1})


def test_a_malformed_stage_count_is_refused_by_the_command_line():
    run = ncap("local", "up", str(PIPELINES / "cis-two-stage"), "--workers-per-stage", "inference")
    assert run.returncode == 2 and "expected NAME=N" in run.stderr and "Traceback" not in run.stderr

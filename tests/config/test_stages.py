"""Stages in the config (config/stages.py): each stage's Workers, Queue and Scaling are merged
over the top-level sections; names are unique and short enough for the names made from them;
a stage's own problems are reported at the stage; a config without Stages is one unnamed stage."""
import pytest

from ncap_iac.config import load_document
from ncap_iac.errors import ConfigError

from factories import minimal_config


def staged(*stages, **top):
    doc = minimal_config(Workers={"AMI": "ami-0123456789abcdef0", "InstanceType": "c5.xlarge"},
                         Queue={"Fifo": True, "VisibilityTimeout": 300}, **top)
    doc["Stages"] = list(stages)
    return doc


TWO = ({"Name": "preprocess", "Workers": {"Command": "pre.sh", "MaxSize": 8}},
       {"Name": "inference", "Workers": {"Command": "infer.sh", "InstanceType": "p2.xlarge"},
        "Queue": {"VisibilityTimeout": 600}, "Scaling": {"WorkerIdleExitSeconds": 0}})


def problems(doc, tmp_path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_document(doc, tmp_path)
    return [str(i) for i in caught.value.issues]


def test_each_stage_is_its_own_sections_merged_over_the_top_level_ones(tmp_path):
    config = load_document(staged(*TWO), tmp_path)
    first, second = config.worker_stages
    assert (first.name, second.name) == ("preprocess", "inference")
    assert (first.workers.command, first.workers.instance_type, first.workers.max_size) == ("pre.sh", "c5.xlarge", 8)
    assert (second.workers.command, second.workers.instance_type, second.workers.max_size) == ("infer.sh", "p2.xlarge", 4)
    assert first.workers.ami == second.workers.ami == "ami-0123456789abcdef0"
    assert (first.queue.fifo, first.queue.visibility_timeout) == (True, 300)
    assert (second.queue.fifo, second.queue.visibility_timeout) == (True, 600)
    assert (first.scaling.worker_idle_exit_seconds, second.scaling.worker_idle_exit_seconds) == (30, 0)
    assert config.workers == first.workers and config.queue == first.queue


def test_a_config_without_stages_is_one_unnamed_stage(tmp_path):
    config = load_document(minimal_config(), tmp_path)
    assert config.stages == ()
    [only] = config.worker_stages
    assert only.name is None and only.workers == config.workers and only.scaling == config.scaling


def test_stage_names_are_unique_without_hyphens_and_case(tmp_path):
    doc = staged({"Name": "pre-process", "Workers": {"Command": "a"}}, {"Name": "PreProcess", "Workers": {"Command": "b"}})
    assert problems(doc, tmp_path) == [
        "Stages[1].Name: 'PreProcess' is the same stage name as 'pre-process' (names are compared without "
        "hyphens and case)"]


def test_a_stage_name_is_letters_digits_and_single_hyphens(tmp_path):
    found = problems(staged({"Name": "pre_process", "Workers": {"Command": "a"}}), tmp_path)
    assert found == ["Stages[0].Name: must be letters, digits and single hyphens, e.g. preprocess (got \"pre_process\")"]


def test_a_stage_name_that_makes_the_queue_name_too_long_is_refused(tmp_path):
    doc = staged({"Name": "x" * 32, "Workers": {"Command": "a"}}, PipelineName="p" * 40)
    [found] = problems(doc, tmp_path)
    assert found.startswith("Stages[0].Name: '" + "x" * 32 + "' makes the queue name") and "(80)" in found


def test_a_stage_problem_is_reported_at_the_stage(tmp_path):
    doc = staged({"Name": "preprocess", "Workers": {"Command": "a", "MinSize": 5, "MaxSize": 2}},
                 {"Name": "inference"})
    assert problems(doc, tmp_path) == [
        "Stages[0].Workers.MinSize: MinSize 5 is greater than MaxSize 2",
        "Stages[1].Workers.Command: required key is missing: the analysis command the workers run "
        "(or Lambda.LambdaConfig.COMMAND)"]


def test_the_top_level_workers_need_no_command_when_every_stage_has_one(tmp_path):
    assert load_document(staged(*TWO), tmp_path).worker_stages[1].workers.command == "infer.sh"

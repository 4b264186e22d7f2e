"""Workers.Spot as an object (Spot over several instance types with a bounded number of
interruptions) and Scaling.WarmPool: what the loaded config holds, and the configs refused."""
import pytest

from ncap_iac.config import load_document
from ncap_iac.config.model import SpotTypes, WarmPool
from ncap_iac.errors import ConfigError

from factories import minimal_config


def spot_config(spot, **workers) -> dict:
    doc = minimal_config()
    del doc["Workers"]["AMI"]
    doc["Workers"].update(Spot=spot, **workers)
    return doc


def problems(doc, tmp_path) -> str:
    with pytest.raises(ConfigError) as raised:
        load_document(doc, tmp_path)
    return str(raised.value)


def test_spot_true_keeps_one_type_and_no_fallback(tmp_path):
    workers = load_document(spot_config(True, InstanceType="g4dn.xlarge"), tmp_path).workers
    assert workers.spot is True and workers.spot_types is None and not workers.on_demand_fallback


def test_spot_over_types_takes_the_first_listed_as_the_workers_type_with_the_defaults(tmp_path):
    workers = load_document(spot_config({"InstanceTypes": ["g5.xlarge", "g4dn.xlarge"]}), tmp_path).workers
    assert workers.instance_type == "g5.xlarge" and workers.spot is True
    assert workers.spot_types == SpotTypes(("g5.xlarge", "g4dn.xlarge"), max_interruptions=2, on_demand_base=0)
    assert workers.on_demand_fallback


def test_a_given_instance_type_goes_first_among_the_spot_types(tmp_path):
    doc = spot_config({"InstanceTypes": ["g5.xlarge", "g4dn.xlarge"], "MaxInterruptions": 0,
                       "OnDemandBaseCapacity": 1}, InstanceType="g4dn.xlarge")
    spot = load_document(doc, tmp_path).workers.spot_types
    assert spot == SpotTypes(("g4dn.xlarge", "g5.xlarge"), max_interruptions=0, on_demand_base=1)


def test_a_given_instance_type_missing_from_the_list_is_refused(tmp_path):
    message = problems(spot_config({"InstanceTypes": ["g5.xlarge"]}, InstanceType="g4dn.xlarge"), tmp_path)
    assert "Workers.Spot.InstanceTypes: must include Workers.InstanceType g4dn.xlarge" in message


def test_gpu_and_non_gpu_types_together_are_refused_naming_the_types(tmp_path):
    message = problems(spot_config({"InstanceTypes": ["g4dn.xlarge", "c5.xlarge", "g5.xlarge"]}), tmp_path)
    assert "mixes GPU and non-GPU types: g4dn.xlarge, g5.xlarge with NVIDIA GPUs, c5.xlarge without" in message


def test_two_architectures_together_are_refused_naming_the_types(tmp_path):
    message = problems(spot_config({"InstanceTypes": ["c5.xlarge", "c7g.xlarge"]}), tmp_path)
    assert "mixes architectures: c7g.xlarge (arm64) with c5.xlarge (x86_64)" in message


def test_a_listed_type_without_a_default_image_is_refused_unless_the_config_gives_an_ami(tmp_path):
    assert "no default image for p3.2xlarge" in problems(
        spot_config({"InstanceTypes": ["g4dn.xlarge", "p3.2xlarge"]}), tmp_path)
    doc = spot_config({"InstanceTypes": ["g4dn.xlarge", "p3.2xlarge"]}, AMI="ami-0123456789abcdef0")
    assert load_document(doc, tmp_path).workers.spot_types.instance_types == ("g4dn.xlarge", "p3.2xlarge")


def test_schema_bounds_of_the_spot_object_are_enforced(tmp_path):
    message = problems(spot_config({"InstanceTypes": [], "MaxInterruptions": 11, "Other": 1}), tmp_path)
    assert "Workers.Spot" in message


def test_a_stage_may_use_spot_over_types_of_its_own(tmp_path):
    doc = minimal_config(Stages=[{"Name": "first"}, {"Name": "second", "Workers": {
        "InstanceType": "g5.xlarge", "Spot": {"InstanceTypes": ["g5.xlarge", "g6.xlarge"]}}}])
    first, second = load_document(doc, tmp_path).stages
    assert first.workers.spot_types is None
    assert second.workers.spot_types.instance_types == ("g5.xlarge", "g6.xlarge")


def test_a_warm_pool_is_read_with_stopped_as_its_default_state(tmp_path):
    doc = minimal_config(Scaling={"WarmPool": {"Size": 2}})
    assert load_document(doc, tmp_path).scaling.warm_pool == WarmPool(2, "Stopped")
    doc = minimal_config(Scaling={"WarmPool": {"Size": 1, "State": "Hibernated"}})
    assert load_document(doc, tmp_path).scaling.warm_pool == WarmPool(1, "Hibernated")
    assert load_document(minimal_config(), tmp_path).scaling.warm_pool is None


def test_a_warm_pool_beside_a_spot_only_group_is_refused_as_aws_refuses_it(tmp_path):
    doc = spot_config(True, InstanceType="g4dn.xlarge")
    doc["Scaling"] = {"WarmPool": {"Size": 2}}
    assert "Scaling.WarmPool: AWS keeps no warm pool for a group of Spot instances" in problems(doc, tmp_path)


def test_a_warm_pool_larger_than_the_group_is_refused(tmp_path):
    doc = minimal_config(Scaling={"WarmPool": {"Size": 5}})
    doc["Workers"]["MaxSize"] = 3
    assert "Scaling.WarmPool.Size: 5 is more than Workers.MaxSize 3" in problems(doc, tmp_path)


def test_a_stage_name_ending_in_on_demand_is_refused_as_its_resources_would_collide(tmp_path):
    doc = minimal_config(Stages=[{"Name": "a", "Workers": {"InstanceType": "g5.xlarge", "Spot": {
        "InstanceTypes": ["g5.xlarge"]}}}, {"Name": "a-On-Demand"}])
    assert "Stages[1].Name: 'a-On-Demand' ends in -on-demand" in problems(doc, tmp_path)


def test_a_warm_pool_beside_spot_over_types_is_warned_about_where_it_serves(tmp_path):
    doc = spot_config({"InstanceTypes": ["g4dn.xlarge"]})
    doc["Scaling"] = {"WarmPool": {"Size": 1}}
    [warning] = [w for w in load_document(doc, tmp_path).warnings if w.path == "Scaling.WarmPool"]
    assert "the pool is the on-demand group's" in warning.message and "no warm start" in warning.message
    assert not [w for w in load_document(minimal_config(Scaling={"WarmPool": {"Size": 1}}), tmp_path).warnings
                if w.path == "Scaling.WarmPool"]

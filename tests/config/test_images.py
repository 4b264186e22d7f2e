"""Workers.AMI may be left out: the default image for the instance type is used (at each stage, for
that stage's type), with the images' root device; a family without one is refused at Workers.AMI; a
placeholder AMI id is a warning."""
import pytest

from ncap_iac.compiler import compile_config
from ncap_iac.config import load_document
from ncap_iac.errors import ConfigError

from factories import minimal_config


def without_ami(**workers):
    doc = minimal_config()
    del doc["Workers"]["AMI"]
    doc["Workers"].update(workers)
    return doc


def test_without_an_ami_the_launch_template_resolves_the_default_image_at_each_deploy(tmp_path):
    config = load_document(without_ami(InstanceType="g5.xlarge"), tmp_path)
    data = compile_config(config, tmp_path).template["Resources"]["WorkerLaunchTemplate"]["Properties"][
        "LaunchTemplateData"]
    assert data["ImageId"] == ("{{resolve:ssm:/aws/service/deeplearning/ami/x86_64/"
                               "base-oss-nvidia-driver-gpu-amazon-linux-2023/latest/ami-id}}")
    assert data["BlockDeviceMappings"][0]["DeviceName"] == "/dev/xvda"


def test_an_ami_of_ones_own_keeps_ubuntus_root_device_unless_told(tmp_path):
    assert load_document(minimal_config(), tmp_path).workers.root_device_name == "/dev/sda1"
    told = minimal_config()
    told["Workers"]["RootDeviceName"] = "/dev/xvda"
    assert load_document(told, tmp_path).workers.root_device_name == "/dev/xvda"


def test_the_default_instance_type_has_no_default_image_and_says_why(tmp_path):
    with pytest.raises(ConfigError) as raised:
        load_document(without_ami(), tmp_path)
    assert raised.value.paths == ["Workers.AMI"]
    assert "p2.xlarge" in str(raised.value) and "K80" in str(raised.value)


def test_each_stage_is_checked_for_its_own_instance_type(tmp_path):
    doc = without_ami(InstanceType="c5.xlarge")
    doc["Stages"] = [{"Name": "cpu"}, {"Name": "old-gpu", "Workers": {"InstanceType": "p3.2xlarge"}},
                     {"Name": "gpu", "Workers": {"InstanceType": "g4dn.xlarge"}}]
    with pytest.raises(ConfigError) as raised:
        load_document(doc, tmp_path)
    assert raised.value.paths == ["Stages[1].Workers.AMI"]


def test_a_placeholder_ami_is_a_warning(tmp_path):
    doc = minimal_config()
    doc["Workers"]["AMI"] = "ami-00000000000000000"
    [warning] = [w for w in load_document(doc, tmp_path).warnings if w.path == "Workers.AMI"]
    assert "placeholder" in warning.message
    assert not [w for w in load_document(minimal_config(), tmp_path).warnings if w.path == "Workers.AMI"]

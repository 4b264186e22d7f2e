"""A directory's config: the example loads with its defaults; every problem is reported at once;
a pipeline's Access section makes its UserNames invitations (email addresses) and refuses what
only IAM users have."""
import pytest

from ncap_iac.config import load_document
from ncap_iac.config.directory import directory_from, load_directory
from ncap_iac.errors import ConfigError

from conftest import example_config
from factories import minimal_config


def test_the_example_directory_loads():
    config = load_directory(example_config("lab-directory"))
    assert (config.name, config.region, config.mfa, config.self_sign_up) == ("lab-directory", "us-east-1",
                                                                            "OPTIONAL", True)
    assert config.domains == ("example.org", "edu")
    assert [(lab.name, lab.admins) for lab in config.labs] == [("lab-a", ("pi-a@example.org",)),
                                                                ("lab-b", ("pi-b@example.org",))]


def test_defaults_of_a_smallest_directory():
    config = directory_from({"DirectoryName": "people", "REGION": "eu-west-1", "Labs": []})
    assert (config.self_sign_up, config.domains, config.mfa, config.password_minimum_length) == (
        True, (), "OPTIONAL", 12)


def test_every_problem_of_a_directory_config_at_once():
    with pytest.raises(ConfigError) as raised:
        directory_from({"DirectoryName": "People!", "REGION": "mars-1", "Mfa": "ON", "Colour": "red",
                        "Portal": {"Origin": "http://labs.example.org"}, "Mail": {"From": "not-an-address"},
                        "Labs": [{"LabName": "Lab_A", "Admins": ["not-an-email"]}, {"LabName": "lab-b"},
                                 {"LabName": "lab-b"}]})
    text = "\n".join(raised.value.lines())
    for expected in ("DirectoryName", "REGION: not an AWS region", "Mfa", "unknown key 'Colour'", "Portal.Origin",
                     "Mail.From: not an email address",
                     "Labs[0].LabName: lowercase", "Labs[0].Admins[0]: not an email address",
                     "Labs[2].LabName: lab 'lab-b' is listed twice"):
        assert expected in text, (expected, text)


def test_a_document_that_is_not_an_object_is_one_clear_problem():
    with pytest.raises(ConfigError, match="not of type 'object'"):
        directory_from(["DirectoryName"])


def test_access_makes_usernames_invitations_and_refuses_iam_user_settings(tmp_path):
    document = minimal_config(Access={"Directory": "people"})
    document["UXData"]["Affiliates"] = [
        {"AffiliateName": "lab-a", "UserNames": ["ann@example.org"]},
        {"AffiliateName": "lab-b", "UserNames": []},
    ]
    config = load_document(document, tmp_path)
    assert config.directory == "people" and config.uses_directory and config.created_users == ()
    bad = minimal_config(Access={"Directory": "people"})
    bad["UXData"]["Affiliates"] = [{"AffiliateName": "Lab.A", "UserNames": ["alice"],
                                    "ExistingUserNames": ["bob"], "ConsoleLogin": True}]
    with pytest.raises(ConfigError) as raised:
        load_document(bad, tmp_path)
    text = "\n".join(raised.value.lines())
    for expected in ("AffiliateName: a lab of a directory", "UserNames[0]: with Access, UserNames are the email",
                     "ExistingUserNames: ExistingUserNames is about IAM users", "ConsoleLogin"):
        assert expected in text, (expected, text)
    with pytest.raises(ConfigError, match="Access.Directory"):
        load_document(minimal_config(Access={"Directory": "Not A Name"}), tmp_path)

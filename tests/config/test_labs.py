"""Named checks of the labs and their users (config/labs.py), each shown to be there: a config
that breaks only that rule is refused with its message at its path, and the nearest config that
keeps the rule loads."""
import pytest

from ncap_iac.config import load_document
from ncap_iac.errors import ConfigError

from factories import minimal_config


def two_labs(first_users, second_users, key="UserNames"):
    return minimal_config(UXData={"Affiliates": [{"AffiliateName": "lab-a", "UserNames": first_users},
                                                 {"AffiliateName": "lab-b", key: second_users}]})


def problems(doc, tmp_path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_document(doc, tmp_path)
    return [str(i) for i in caught.value.issues]


@pytest.mark.parametrize("first, second", [
    pytest.param("a.b", "a-b", id="dot-and-hyphen"),
    pytest.param("ann_lee", "ann.lee", id="underscore-and-dot"),
    pytest.param("x+y", "xY", id="plus-and-case"),
])
def test_user_names_differing_in_punctuation_are_two_users(tmp_path, first, second):
    """Users are made by the lab's members resource, not one resource each: names that only a
    resource id would have confused are two IAM users."""
    config = load_document(two_labs([first], [second]), tmp_path)
    assert sorted(config.created_users) == sorted([first, second])


def test_within_one_lab_too(tmp_path):
    config = load_document(two_labs(["a.b", "a-b"], ["bob"]), tmp_path)
    assert sorted(config.created_users) == ["a-b", "a.b", "bob"]


def test_names_differing_only_by_case_are_refused(tmp_path):
    assert problems(two_labs(["Ann"], ["ann"]), tmp_path) == [
        "UXData.Affiliates[1].UserNames[0]: 'ann' and 'Ann' (at UXData.Affiliates[0].UserNames[0]) differ only "
        "by case: IAM ignores case, so they would be one user; spell it the same everywhere"]


def test_the_same_users_in_different_words_load(tmp_path):
    config = load_document(two_labs(["a.b"], ["a.c"]), tmp_path)
    assert sorted(config.created_users) == ["a.b", "a.c"]


def test_an_existing_user_makes_no_resource_and_cannot_collide(tmp_path):
    """ExistingUserNames are not created (no User resource), so only created users' ids count."""
    config = load_document(two_labs(["a.b"], ["a-b"], key="ExistingUserNames"), tmp_path)
    assert list(config.created_users) == ["a.b"]

import json
import types

import boto3
import pytest

import credentials

PREFIX = "ncap/lab-pipeline/keys/"
LAB_A, LAB_B = "lab-a", "lab-b"
ALLOWED_ACTIONS = {"iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:ListAccessKeys",
                   "secretsmanager:CreateSecret", "secretsmanager:DeleteSecret",
                   "secretsmanager:DescribeSecret", "secretsmanager:PutSecretValue",
                   "secretsmanager:TagResource"}


def properties(users, lab=LAB_A, prefix=PREFIX):
    return {"Lab": lab, "Users": users, "SecretPrefix": prefix}


@pytest.fixture
def iam(aws):
    client = boto3.client("iam")
    for user in ("user21", "ta.test-key", "carcea_lab"):
        client.create_user(UserName=user, Path="/ncap/lab-pipeline/")
    return client


@pytest.fixture
def secrets(aws):
    return boto3.client("secretsmanager")


@pytest.fixture
def actions(monkeypatch):
    """The set of "service:Operation" calls the handler makes (its clients only)."""
    seen = set()

    def client(service):
        made = boto3.client(service)
        made.meta.events.register("before-call", lambda model, **_: seen.add(f"{service}:{model.name}"))
        return made
    monkeypatch.setattr(credentials, "boto3", types.SimpleNamespace(client=client))
    return seen


def key_ids(iam, user):
    return [key["AccessKeyId"] for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]


def stored(secrets, user):
    return json.loads(secrets.get_secret_value(SecretId=PREFIX + user)["SecretString"])


def owner_tag(secrets, user):
    tags = secrets.describe_secret(SecretId=PREFIX + user).get("Tags", [])
    return {tag["Key"]: tag["Value"] for tag in tags}.get("ncap:lab")


def secret_names(secrets):
    return sorted(entry["Name"] for entry in secrets.list_secrets()["SecretList"])


def assert_one_working_key(iam, secrets, user):
    """The user has exactly one access key, and its secret holds that key."""
    (key_id,) = key_ids(iam, user)
    value = stored(secrets, user)
    assert (value["AccessKeyId"], value["UserName"], bool(value["SecretAccessKey"])) == (key_id, user, True)


def create(make_event, context, users, lab=LAB_A):
    return credentials.handler(make_event("Create", properties(users, lab), logical_id=lab), context)


def update(make_event, context, users, old_users, lab=LAB_A, old_lab=None):
    event = make_event("Update", properties(users, lab), old=properties(old_users, old_lab or lab),
                       physical_id=PREFIX + (old_lab or lab), logical_id=lab)
    return credentials.handler(event, context)


def delete(make_event, context, users, lab=LAB_A):
    event = make_event("Delete", properties(users, lab), physical_id=PREFIX + lab, logical_id=lab)
    return credentials.handler(event, context)


@pytest.mark.parametrize("user, attribute", [
    pytest.param("user21", "SecretArnUser21", id="letters_and_digits"),
    pytest.param("ta.test-key", "SecretArnTaTestKey", id="dot_and_dash"),
    pytest.param("carcea__lab", "SecretArnCarceaLab", id="run_of_underscores"),
    pytest.param("labUser", "SecretArnLabUser", id="inner_capital_kept"),
])
def test_attribute_name_is_secret_arn_plus_camel_case(user, attribute):
    assert credentials.attribute_name(user) == attribute


def test_create_gives_each_user_one_key_stored_in_its_secret(iam, secrets, make_event, response_server, context):
    create(make_event, context, ["user21", "ta.test-key"])

    body = response_server.last()
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", PREFIX + LAB_A)
    for user, attribute in (("user21", "SecretArnUser21"), ("ta.test-key", "SecretArnTaTestKey")):
        assert_one_working_key(iam, secrets, user)
        assert owner_tag(secrets, user) == LAB_A
        assert body["Data"][attribute] == secrets.describe_secret(SecretId=PREFIX + user)["ARN"]
    assert sorted(body["Data"]) == ["SecretArnTaTestKey", "SecretArnUser21"]


def test_two_labs_of_one_stack_get_different_physical_ids(iam, secrets, make_event, response_server, context):
    create(make_event, context, ["user21"], lab=LAB_A)
    create(make_event, context, ["carcea_lab"], lab=LAB_B)

    ids = [answer["body"]["PhysicalResourceId"] for answer in response_server.received]
    assert ids == [PREFIX + LAB_A, PREFIX + LAB_B]
    assert [owner_tag(secrets, "user21"), owner_tag(secrets, "carcea_lab")] == [LAB_A, LAB_B]


def test_create_without_a_lab_answers_failed(iam, secrets, make_event, response_server, context):
    credentials.handler(make_event("Create", {"Users": ["user21"], "SecretPrefix": PREFIX}), context)

    assert response_server.last()["Status"] == "FAILED"
    assert "property Lab" in response_server.last()["Reason"]
    assert secret_names(secrets) == [] and key_ids(iam, "user21") == []


def test_secret_key_never_reaches_the_logs_or_the_answer(iam, secrets, make_event, response_server, context,
                                                         caplog, decisions):
    create(make_event, context, ["user21"])

    secret_key = stored(secrets, "user21")["SecretAccessKey"]
    key_id = stored(secrets, "user21")["AccessKeyId"]
    assert "create-access-key" in [line["decision"] for line in decisions()]
    assert secret_key not in caplog.text and key_id not in caplog.text
    raw_answer = response_server.received[-1]["raw"].decode()
    assert secret_key not in raw_answer and key_id not in raw_answer


def test_repeated_create_leaves_one_key_per_user_the_one_in_the_secret(iam, secrets, make_event, response_server,
                                                                       context):
    create(make_event, context, ["user21"])
    first_key = stored(secrets, "user21")["AccessKeyId"]
    first_arn = response_server.last()["Data"]["SecretArnUser21"]

    create(make_event, context, ["user21"])

    assert_one_working_key(iam, secrets, "user21")
    assert stored(secrets, "user21")["AccessKeyId"] != first_key
    assert response_server.last()["Data"]["SecretArnUser21"] == first_arn


def test_create_for_a_missing_user_answers_failed(aws, make_event, response_server, context):
    create(make_event, context, ["nobody"])

    assert response_server.last()["Status"] == "FAILED"
    assert "NoSuchEntity" in response_server.last()["Reason"]


def test_update_adds_and_removes_users_and_keeps_the_others_keys(iam, secrets, make_event, response_server, context):
    create(make_event, context, ["user21", "ta.test-key"])
    kept_key = key_ids(iam, "user21")
    kept_arn = response_server.last()["Data"]["SecretArnUser21"]

    update(make_event, context, ["user21", "carcea_lab"], ["user21", "ta.test-key"])

    body = response_server.last()
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", PREFIX + LAB_A)
    assert key_ids(iam, "user21") == kept_key
    assert key_ids(iam, "ta.test-key") == []
    assert_one_working_key(iam, secrets, "carcea_lab")
    assert secret_names(secrets) == [PREFIX + "carcea_lab", PREFIX + "user21"]
    assert body["Data"] == {"SecretArnUser21": kept_arn,
                            "SecretArnCarceaLab": secrets.describe_secret(SecretId=PREFIX + "carcea_lab")["ARN"]}
    iam.delete_user(UserName="ta.test-key")


def test_update_recreates_a_lost_secret_with_a_single_new_key(iam, secrets, make_event, response_server, context):
    create(make_event, context, ["user21"])
    secrets.delete_secret(SecretId=PREFIX + "user21", ForceDeleteWithoutRecovery=True)

    update(make_event, context, ["user21"], ["user21"])

    assert response_server.last()["Status"] == "SUCCESS"
    assert_one_working_key(iam, secrets, "user21")
    assert owner_tag(secrets, "user21") == LAB_A


@pytest.mark.parametrize("order", ["old-lab-first", "new-lab-first"])
def test_a_user_moved_between_labs_ends_with_one_key_in_a_secret_of_the_new_lab(
        iam, secrets, make_event, response_server, context, decisions, actions, order):
    create(make_event, context, ["user21", "ta.test-key"], lab=LAB_A)
    create(make_event, context, ["carcea_lab"], lab=LAB_B)
    old_lab = lambda: update(make_event, context, ["ta.test-key"], ["user21", "ta.test-key"], lab=LAB_A)
    new_lab = lambda: update(make_event, context, ["carcea_lab", "user21"], ["carcea_lab"], lab=LAB_B)

    answers = [old_lab(), new_lab()] if order == "old-lab-first" else [new_lab(), old_lab()]

    assert [answer["Status"] for answer in answers] == ["SUCCESS", "SUCCESS"]
    assert_one_working_key(iam, secrets, "user21")
    assert owner_tag(secrets, "user21") == LAB_B
    by_lab = {answer["PhysicalResourceId"]: answer["Data"] for answer in answers}
    assert sorted(by_lab[PREFIX + LAB_A]) == ["SecretArnTaTestKey"]
    assert by_lab[PREFIX + LAB_B]["SecretArnUser21"] == secrets.describe_secret(SecretId=PREFIX + "user21")["ARN"]
    skipped = order == "new-lab-first"
    assert ("leave-user-to-other-lab" in [line["decision"] for line in decisions()]) == skipped
    assert "secretsmanager:DescribeSecret" in actions and actions <= ALLOWED_ACTIONS


def test_a_lab_retiring_the_user_while_the_new_lab_stores_its_key_leaves_it_alone(
        iam, secrets, make_event, response_server, context, monkeypatch):
    """The new lab tags the secret before making the key, so a retire landing in between skips."""
    create(make_event, context, ["user21", "ta.test-key"], lab=LAB_A)
    create(make_event, context, ["carcea_lab"], lab=LAB_B)
    store, interleaved = credentials.store_secret, []

    def store_after_old_lab_update(secrets_client, name, value, lab):
        if name == PREFIX + "user21" and not interleaved:
            interleaved.append(update(make_event, context, ["ta.test-key"], ["user21", "ta.test-key"], lab=LAB_A))
        return store(secrets_client, name, value, lab)
    monkeypatch.setattr(credentials, "store_secret", store_after_old_lab_update)

    answer = update(make_event, context, ["carcea_lab", "user21"], ["carcea_lab"], lab=LAB_B)

    assert [interleaved[0]["Status"], answer["Status"]] == ["SUCCESS", "SUCCESS"]
    assert_one_working_key(iam, secrets, "user21")
    assert owner_tag(secrets, "user21") == LAB_B


def test_delete_of_a_lab_leaves_a_user_another_lab_now_owns(iam, secrets, make_event, response_server, context):
    create(make_event, context, ["user21", "ta.test-key"], lab=LAB_A)
    update(make_event, context, ["user21"], [], lab=LAB_B)
    arn = response_server.last()["Data"]["SecretArnUser21"]

    delete(make_event, context, ["user21", "ta.test-key"], lab=LAB_A)

    assert response_server.last()["Status"] == "SUCCESS"
    assert_one_working_key(iam, secrets, "user21")
    assert (owner_tag(secrets, "user21"), secrets.describe_secret(SecretId=PREFIX + "user21")["ARN"]) == (LAB_B, arn)
    assert key_ids(iam, "ta.test-key") == [] and secret_names(secrets) == [PREFIX + "user21"]


def test_delete_without_a_lab_retires_only_users_no_lab_has_tagged(iam, secrets, make_event, response_server,
                                                                     context):
    """The per-stack resource of earlier templates is deleted after the per-lab ones took its users."""
    create(make_event, context, ["user21"], lab=LAB_A)
    secrets.create_secret(Name=PREFIX + "ta.test-key", SecretString="{}")
    iam.create_access_key(UserName="ta.test-key")

    credentials.handler(make_event("Delete", {"Users": ["user21", "ta.test-key"], "SecretPrefix": PREFIX},
                                   physical_id=PREFIX), context)

    assert (response_server.last()["Status"], response_server.last()["PhysicalResourceId"]) == ("SUCCESS", PREFIX)
    assert_one_working_key(iam, secrets, "user21")
    assert key_ids(iam, "ta.test-key") == [] and secret_names(secrets) == [PREFIX + "user21"]


@pytest.mark.parametrize("change, reason", [
    pytest.param({"prefix": "ncap/other/keys/"}, "SecretPrefix cannot change", id="secret_prefix"),
    pytest.param({"lab": LAB_B}, "Lab cannot change", id="lab"),
])
def test_update_refuses_to_change_what_makes_the_physical_id(iam, secrets, make_event, response_server, context,
                                                             change, reason):
    create(make_event, context, ["user21"])
    first_key = key_ids(iam, "user21")

    credentials.handler(make_event("Update", properties(["user21"], **change), old=properties(["user21"]),
                                   physical_id=PREFIX + LAB_A), context)

    body = response_server.last()
    assert (body["Status"], body["PhysicalResourceId"]) == ("FAILED", PREFIX + LAB_A)
    assert reason in body["Reason"]
    assert key_ids(iam, "user21") == first_key
    assert owner_tag(secrets, "user21") == LAB_A


def test_delete_removes_every_key_and_secret_so_the_users_can_go(iam, secrets, make_event, response_server, context):
    create(make_event, context, ["user21", "ta.test-key"])
    iam.create_access_key(UserName="user21")

    delete(make_event, context, ["user21", "ta.test-key"])

    assert response_server.last()["Status"] == "SUCCESS"
    assert secret_names(secrets) == []
    for user in ("user21", "ta.test-key"):
        assert key_ids(iam, user) == []
        iam.delete_user(UserName=user)


def test_delete_of_users_and_secrets_already_gone_succeeds(aws, make_event, response_server, context):
    delete(make_event, context, ["gone-user"])

    assert response_server.last()["Status"] == "SUCCESS"
    assert response_server.last()["PhysicalResourceId"] == PREFIX + LAB_A


@pytest.mark.parametrize("users", [
    pytest.param(["lab.a", "lab-a"], id="two_users_one_attribute"),
    pytest.param(["---"], id="no_letters_or_digits"),
])
def test_users_without_an_attribute_of_their_own_answer_failed(iam, secrets, make_event, response_server,
                                                               context, users):
    create(make_event, context, users)

    assert response_server.last()["Status"] == "FAILED"
    assert "no attribute name of its own" in response_server.last()["Reason"]
    assert secret_names(secrets) == []

import json

import boto3
import pytest

import credentials

PREFIX = "ncap/lab-pipeline/keys/"


def properties(users, prefix=PREFIX):
    return {"Users": users, "SecretPrefix": prefix}


@pytest.fixture
def iam(aws):
    client = boto3.client("iam")
    for user in ("user21", "ta.test-key", "carcea_lab"):
        client.create_user(UserName=user, Path="/ncap/lab-pipeline/")
    return client


@pytest.fixture
def secrets(aws):
    return boto3.client("secretsmanager")


def key_ids(iam, user):
    return [key["AccessKeyId"] for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]


def stored(secrets, user):
    return json.loads(secrets.get_secret_value(SecretId=PREFIX + user)["SecretString"])


def secret_names(secrets):
    return sorted(entry["Name"] for entry in secrets.list_secrets()["SecretList"])


def create(make_event, context, users):
    return credentials.handler(make_event("Create", properties(users)), context)


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
    assert (body["Status"], body["PhysicalResourceId"]) == ("SUCCESS", PREFIX)
    for user, attribute in (("user21", "SecretArnUser21"), ("ta.test-key", "SecretArnTaTestKey")):
        (key_id,) = key_ids(iam, user)
        assert stored(secrets, user)["AccessKeyId"] == key_id
        assert stored(secrets, user)["UserName"] == user
        assert body["Data"][attribute] == secrets.describe_secret(SecretId=PREFIX + user)["ARN"]
    assert sorted(body["Data"]) == ["SecretArnTaTestKey", "SecretArnUser21"]


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

    (key_id,) = key_ids(iam, "user21")
    assert key_id != first_key
    assert stored(secrets, "user21")["AccessKeyId"] == key_id
    assert response_server.last()["Data"]["SecretArnUser21"] == first_arn


def test_create_for_a_missing_user_answers_failed(aws, make_event, response_server, context):
    create(make_event, context, ["nobody"])

    assert response_server.last()["Status"] == "FAILED"
    assert "NoSuchEntity" in response_server.last()["Reason"]


def test_update_adds_and_removes_users_and_keeps_the_others_keys(iam, secrets, make_event, response_server, context):
    create(make_event, context, ["user21", "ta.test-key"])
    kept_key = key_ids(iam, "user21")
    kept_arn = response_server.last()["Data"]["SecretArnUser21"]
    event = make_event("Update", properties(["user21", "carcea_lab"]),
                       old=properties(["user21", "ta.test-key"]), physical_id=PREFIX)

    credentials.handler(event, context)

    body = response_server.last()
    assert body["Status"] == "SUCCESS"
    assert key_ids(iam, "user21") == kept_key
    assert key_ids(iam, "ta.test-key") == []
    assert stored(secrets, "carcea_lab")["AccessKeyId"] == key_ids(iam, "carcea_lab")[0]
    assert secret_names(secrets) == [PREFIX + "carcea_lab", PREFIX + "user21"]
    assert body["Data"] == {"SecretArnUser21": kept_arn,
                            "SecretArnCarceaLab": secrets.describe_secret(SecretId=PREFIX + "carcea_lab")["ARN"]}
    iam.delete_user(UserName="ta.test-key")


def test_update_recreates_a_lost_secret_with_a_single_new_key(iam, secrets, make_event, response_server, context):
    create(make_event, context, ["user21"])
    secrets.delete_secret(SecretId=PREFIX + "user21", ForceDeleteWithoutRecovery=True)

    credentials.handler(make_event("Update", properties(["user21"]), old=properties(["user21"]),
                                   physical_id=PREFIX), context)

    assert response_server.last()["Status"] == "SUCCESS"
    assert key_ids(iam, "user21") == [stored(secrets, "user21")["AccessKeyId"]]


def test_update_refuses_to_change_the_secret_prefix(iam, secrets, make_event, response_server, context):
    create(make_event, context, ["user21"])
    first_key = key_ids(iam, "user21")

    credentials.handler(make_event("Update", properties(["user21"], prefix="ncap/other/keys/"),
                                   old=properties(["user21"]), physical_id=PREFIX), context)

    assert response_server.last()["Status"] == "FAILED"
    assert "SecretPrefix cannot change" in response_server.last()["Reason"]
    assert key_ids(iam, "user21") == first_key


def test_delete_removes_every_key_and_secret_so_the_users_can_go(iam, secrets, make_event, response_server, context):
    create(make_event, context, ["user21", "ta.test-key"])
    iam.create_access_key(UserName="user21")

    credentials.handler(make_event("Delete", properties(["user21", "ta.test-key"]), physical_id=PREFIX), context)

    assert response_server.last()["Status"] == "SUCCESS"
    assert secret_names(secrets) == []
    for user in ("user21", "ta.test-key"):
        assert key_ids(iam, user) == []
        iam.delete_user(UserName=user)


def test_delete_of_users_and_secrets_already_gone_succeeds(aws, make_event, response_server, context):
    credentials.handler(make_event("Delete", properties(["gone-user"]), physical_id=PREFIX), context)

    assert response_server.last()["Status"] == "SUCCESS"
    assert response_server.last()["PhysicalResourceId"] == PREFIX


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

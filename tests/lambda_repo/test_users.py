"""The users function: a person in several labs is one IAM user with one key, made once; an
update never rotates a key; a user leaves a lab's group when the lab stops listing it and is
deleted only when no lab of the pipeline lists it; nothing secret reaches a log or an answer."""
import json
import types

import boto3
import pytest

import users

PIPELINE = "lab-pipeline"
PATH = f"/ncap/{PIPELINE}/"
KEYS, CONSOLE = f"ncap/{PIPELINE}/keys/", f"ncap/{PIPELINE}/console/"
ALLOWED_ACTIONS = {
    "iam:CreateUser", "iam:GetUser", "iam:DeleteUser", "iam:ListUsers", "iam:ListAccessKeys",
    "iam:CreateAccessKey", "iam:DeleteAccessKey", "iam:GetLoginProfile", "iam:CreateLoginProfile",
    "iam:DeleteLoginProfile", "iam:ListGroupsForUser", "iam:AddUserToGroup", "iam:RemoveUserFromGroup",
    "iam:GetGroup", "secretsmanager:CreateSecret", "secretsmanager:DescribeSecret",
    "secretsmanager:PutSecretValue", "secretsmanager:DeleteSecret", "secretsmanager:TagResource"}


@pytest.fixture
def iam(aws):
    client = boto3.client("iam")
    for lab in ("lab-a", "lab-b"):
        client.create_group(GroupName=f"{PIPELINE}-{lab}", Path=PATH)
    client.create_group(GroupName="other-pipeline-lab", Path="/ncap/other-pipeline/")
    return client


@pytest.fixture
def secrets(aws):
    return boto3.client("secretsmanager")


@pytest.fixture
def actions(monkeypatch):
    """The "service:Operation" calls the handler makes (its own clients only)."""
    seen = set()

    def client(service):
        made = boto3.client(service)
        made.meta.events.register("before-call", lambda model, **_: seen.add(f"{service}:{model.name}"))
        return made
    monkeypatch.setattr(users, "boto3", types.SimpleNamespace(client=client))
    return seen


def members(lab, created=(), existing=(), console=False, roster=True):
    props = {"Group": f"{PIPELINE}-{lab}", "Users": list(created), "ExistingUsers": list(existing),
             "UserPath": PATH, "SecretPrefix": KEYS, "ConsolePrefix": CONSOLE,
             "ConsoleLogin": str(console).lower()}
    if roster:
        props["Roster"] = [*created, *existing]
    return props


def cleanup_props():
    return {"UserPath": PATH, "GroupPath": PATH, "SecretPrefix": KEYS, "ConsolePrefix": CONSOLE, "Generation": "1"}


def send(make_event, context, request, props, old=None, kind="Custom::LabMembers", logical_id="MembersLabA"):
    event = make_event(request, props, old=old, logical_id=logical_id,
                       physical_id=None if request == "Create" else f"{logical_id}-id")
    event["ResourceType"] = kind
    return users.handler(event, context)


def group_members(iam, lab):
    return sorted(u["UserName"] for u in iam.get_group(GroupName=f"{PIPELINE}-{lab}")["Users"])


def key_ids(iam, user):
    return [k["AccessKeyId"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]]


def stored_key(secrets, user):
    return json.loads(secrets.get_secret_value(SecretId=KEYS + user)["SecretString"])


def user_names(iam):
    return sorted(u["UserName"] for u in iam.list_users()["Users"])


def test_create_makes_each_user_with_one_key_in_its_secret_and_joins_the_group(iam, secrets, make_event,
                                                                                response_server, context):
    iam.create_user(UserName="senior-pi", Path="/")
    answer = send(make_event, context, "Create", members("lab-a", ["alice", "bob"], existing=["senior-pi"]))
    assert answer["Status"] == "SUCCESS" and answer["Data"] == {}
    assert user_names(iam) == ["alice", "bob", "senior-pi"]
    assert group_members(iam, "lab-a") == ["alice", "bob", "senior-pi"]
    for user in ("alice", "bob"):
        assert iam.get_user(UserName=user)["User"]["Path"] == PATH
        (key_id,) = key_ids(iam, user)
        assert stored_key(secrets, user)["AccessKeyId"] == key_id
    assert key_ids(iam, "senior-pi") == []  # an existing user only joins the group


def test_a_person_in_two_labs_is_one_user_with_one_key_in_both_groups(iam, secrets, make_event,
                                                                       response_server, context):
    send(make_event, context, "Create", members("lab-a", ["alice", "dev"]))
    first_key = stored_key(secrets, "dev")["AccessKeyId"]
    send(make_event, context, "Create", members("lab-b", ["dev", "carol"]), logical_id="MembersLabB")
    assert user_names(iam) == ["alice", "carol", "dev"]
    assert key_ids(iam, "dev") == [first_key] and stored_key(secrets, "dev")["AccessKeyId"] == first_key
    assert group_members(iam, "lab-a") == ["alice", "dev"] and group_members(iam, "lab-b") == ["carol", "dev"]


def test_an_update_never_rotates_a_key_and_removed_users_only_leave_the_group(iam, secrets, make_event,
                                                                              response_server, context):
    send(make_event, context, "Create", members("lab-a", ["alice", "bob"]))
    keys = {user: key_ids(iam, user) for user in ("alice", "bob")}
    send(make_event, context, "Update", members("lab-a", ["alice", "carol"]), old=members("lab-a", ["alice", "bob"]))
    assert key_ids(iam, "alice") == keys["alice"]
    assert group_members(iam, "lab-a") == ["alice", "carol"]
    assert key_ids(iam, "bob") == keys["bob"] and "bob" in user_names(iam)  # deleted by PipelineUsers only


def test_a_user_of_that_name_outside_the_pipeline_is_refused(iam, secrets, make_event, response_server, context):
    iam.create_user(UserName="alice", Path="/admins/")
    answer = send(make_event, context, "Create", members("lab-a", ["alice"]))
    assert answer["Status"] == "FAILED" and "exists outside this pipeline (path /admins/)" in answer["Reason"]
    assert key_ids(iam, "alice") == [] and group_members(iam, "lab-a") == []


def test_the_roster_removes_members_the_lab_no_longer_lists(iam, secrets, make_event, response_server, context):
    send(make_event, context, "Create", members("lab-a", ["alice", "bob"]))
    iam.create_user(UserName="stray", Path="/")
    iam.add_user_to_group(GroupName=f"{PIPELINE}-lab-a", UserName="stray")
    part = members("lab-a", [], roster=False)  # another part of the lab, without the roster
    send(make_event, context, "Update", part, old=part, logical_id="MembersLabAPart2")
    assert group_members(iam, "lab-a") == ["alice", "bob", "stray"]
    send(make_event, context, "Update", {**members("lab-a", ["alice", "bob"]), "Roster": ["alice", "bob"]},
         old=members("lab-a", ["alice", "bob"]))
    assert group_members(iam, "lab-a") == ["alice", "bob"]


def test_a_console_login_is_made_once_with_its_password_in_a_secret(iam, secrets, make_event,
                                                                   response_server, context):
    send(make_event, context, "Create", members("lab-a", ["alice"], console=True))
    password = json.loads(secrets.get_secret_value(SecretId=CONSOLE + "alice")["SecretString"])["password"]
    assert len(password) == users.PASSWORD_LENGTH and iam.get_login_profile(UserName="alice")
    send(make_event, context, "Update", members("lab-a", ["alice"], console=True),
         old=members("lab-a", ["alice"], console=True))
    again = json.loads(secrets.get_secret_value(SecretId=CONSOLE + "alice")["SecretString"])["password"]
    assert again == password


def test_a_key_left_pending_by_a_crashed_request_is_taken_over(iam, secrets, make_event, response_server,
                                                               context, monkeypatch):
    monkeypatch.setattr(users, "PENDING_WAIT_S", 0)
    iam.create_user(UserName="alice", Path=PATH)
    secrets.create_secret(Name=KEYS + "alice", SecretString="{}", Tags=[{"Key": users.KEY_TAG, "Value": "pending"}])
    send(make_event, context, "Create", members("lab-a", ["alice"]))
    (key_id,) = key_ids(iam, "alice")
    assert stored_key(secrets, "alice")["AccessKeyId"] == key_id


def test_a_key_whose_secret_was_lost_is_replaced_by_one_key(iam, secrets, make_event, response_server, context):
    send(make_event, context, "Create", members("lab-a", ["alice"]))
    secrets.delete_secret(SecretId=KEYS + "alice", ForceDeleteWithoutRecovery=True)
    send(make_event, context, "Update", members("lab-a", ["alice"]), old=members("lab-a", ["alice"]))
    (key_id,) = key_ids(iam, "alice")
    assert stored_key(secrets, "alice")["AccessKeyId"] == key_id


def test_a_removed_lab_deletes_its_users_that_no_other_lab_lists(iam, secrets, make_event, response_server,
                                                                  context):
    iam.create_user(UserName="senior-pi", Path="/")
    send(make_event, context, "Create", members("lab-a", ["alice", "dev"], existing=["senior-pi"]))
    send(make_event, context, "Create", members("lab-b", ["dev"]), logical_id="MembersLabB")
    dev_key = key_ids(iam, "dev")
    send(make_event, context, "Delete", members("lab-a", ["alice", "dev"], existing=["senior-pi"]))
    assert group_members(iam, "lab-a") == [] and user_names(iam) == ["dev", "senior-pi"]
    assert key_ids(iam, "dev") == dev_key  # still in lab-b: kept, key and all
    assert sorted(s["Name"] for s in secrets.list_secrets()["SecretList"]) == [KEYS + "dev"]
    send(make_event, context, "Delete", members("lab-b", ["dev"]), logical_id="MembersLabB")
    assert user_names(iam) == ["senior-pi"]


def test_pipeline_users_deletes_exactly_the_users_no_lab_of_the_pipeline_lists(iam, secrets, make_event,
                                                                              response_server, context):
    send(make_event, context, "Create", members("lab-a", ["alice", "bob"], console=True))
    iam.add_user_to_group(GroupName="other-pipeline-lab", UserName="bob")  # another pipeline's group
    iam.create_user(UserName="someone-else", Path="/")
    send(make_event, context, "Update", members("lab-a", ["alice"]), old=members("lab-a", ["alice", "bob"]))
    answer = send(make_event, context, "Update", cleanup_props(), old=cleanup_props(), kind="Custom::PipelineUsers",
                  logical_id="PipelineUsers")
    assert answer["Status"] == "SUCCESS"
    assert user_names(iam) == ["alice", "someone-else"]
    names = sorted(s["Name"] for s in secrets.list_secrets()["SecretList"])
    assert names == [CONSOLE + "alice", KEYS + "alice"]
    send(make_event, context, "Delete", cleanup_props(), kind="Custom::PipelineUsers", logical_id="PipelineUsers")
    assert user_names(iam) == ["someone-else"] and secrets.list_secrets()["SecretList"] == []


def test_an_earlier_templates_credentials_resource_is_let_go_without_change(iam, secrets, make_event,
                                                                            response_server, context):
    send(make_event, context, "Create", members("lab-a", ["alice"]))
    answer = send(make_event, context, "Delete", {"Lab": "lab-a", "Users": ["alice"], "SecretPrefix": KEYS},
                  kind="Custom::UserCredentials", logical_id="CredentialsLabA")
    assert answer["Status"] == "SUCCESS" and key_ids(iam, "alice") and stored_key(secrets, "alice")


def test_no_secret_reaches_the_logs_or_the_answer(iam, secrets, make_event, response_server, context, caplog,
                                                  decisions):
    send(make_event, context, "Create", members("lab-a", ["alice"], console=True))
    key = stored_key(secrets, "alice")
    password = json.loads(secrets.get_secret_value(SecretId=CONSOLE + "alice")["SecretString"])["password"]
    assert "create-access-key" in [line["decision"] for line in decisions()]
    raw = response_server.received[-1]["raw"].decode()
    for value in (key["SecretAccessKey"], key["AccessKeyId"], password):
        assert value not in caplog.text and value not in raw


def test_the_function_uses_only_the_actions_its_role_allows(iam, secrets, make_event, response_server, context,
                                                            actions):
    send(make_event, context, "Create", members("lab-a", ["alice"], existing=[], console=True))
    send(make_event, context, "Update", members("lab-a", []), old=members("lab-a", ["alice"]))
    send(make_event, context, "Update", cleanup_props(), old=cleanup_props(), kind="Custom::PipelineUsers")
    assert actions and actions <= ALLOWED_ACTIONS, actions - ALLOWED_ACTIONS


def test_an_unknown_resource_type_answers_failed(iam, secrets, make_event, response_server, context):
    answer = send(make_event, context, "Create", members("lab-a", ["alice"]), kind="Custom::Nope")
    assert answer["Status"] == "FAILED" and "unknown resource type" in answer["Reason"]

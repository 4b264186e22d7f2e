"""The directory function against an in-process moto: each action of its URL as a signed-in
person asks it (the access token checked by Cognito), the refusals, the pre sign-up rule and the
labs resource. The credentials it hands out are tested for what IAM lets them do on the local
cloud (tests/local/test_directory.py); here, that they are a session of the registered role,
tagged with the lab, for an hour at most."""
import json

import boto3
import pytest

import directory
from ncap_lambda import people

DIRECTORY = "lab-directory"
PASSWORD = "Correct-horse1"


@pytest.fixture
def pool(aws, monkeypatch):
    cognito = boto3.client("cognito-idp")
    pool_id = cognito.create_user_pool(PoolName=DIRECTORY, UsernameAttributes=["email"],
                                       AutoVerifiedAttributes=["email"])["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(UserPoolId=pool_id, ClientName="people", ExplicitAuthFlows=[
        "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    monkeypatch.setenv("USER_POOL_ID", pool_id)
    monkeypatch.setenv("CLIENT_ID", client_id)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("DIRECTORY", DIRECTORY)
    monkeypatch.setattr(directory, "_CLIENTS", {})
    for lab in ("lab-a", "lab-b"):
        for group in (lab, people.admins_group(lab), people.requests_group(lab)):
            cognito.create_group(UserPoolId=pool_id, GroupName=group)
    return {"cognito": cognito, "id": pool_id, "client": client_id}


def person(pool, email, groups=()):
    """A confirmed person's access token (their email verified, as confirming the code does); in
    `groups`."""
    cognito = pool["cognito"]
    cognito.sign_up(ClientId=pool["client"], Username=email, Password=PASSWORD,
                    UserAttributes=[{"Name": "email", "Value": email}])
    cognito.admin_confirm_sign_up(UserPoolId=pool["id"], Username=email)
    cognito.admin_update_user_attributes(UserPoolId=pool["id"], Username=email,
                                         UserAttributes=[{"Name": "email_verified", "Value": "true"}])
    for group in groups:
        cognito.admin_add_user_to_group(UserPoolId=pool["id"], Username=email, GroupName=group)
    return cognito.initiate_auth(ClientId=pool["client"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": email, "PASSWORD": PASSWORD})["AuthenticationResult"]["AccessToken"]


def ask(token, action, **fields):
    """(status, answer) of a function URL request."""
    event = {"version": "2.0", "headers": {"authorization": f"Bearer {token}"} if token else {},
             "body": json.dumps({"action": action, **fields}), "isBase64Encoded": False,
             "requestContext": {"http": {"method": "POST", "path": "/"}}}
    answer = directory.handler(event, None)
    return answer["statusCode"], json.loads(answer["body"])


def groups_of(pool, email):
    return sorted(g["GroupName"] for g in pool["cognito"].admin_list_groups_for_user(
        UserPoolId=pool["id"], Username=email)["Groups"])


def register(pipeline, labs, role_arn, **more):
    boto3.client("ssm").put_parameter(
        Name=people.registration_name(DIRECTORY, pipeline), Type="String", Overwrite=True,
        Value=json.dumps({"bucket": pipeline, "region": "us-east-1", "labs": labs, "role_arn": role_arn,
                          "folders": {"inputs": "inputs"}, **more}))


def member_role(pipeline):
    return boto3.client("iam").create_role(
        RoleName=people.member_role_name(pipeline), Path=people.role_path(DIRECTORY),
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}))["Role"]["Arn"]


def test_a_request_without_a_valid_token_is_refused_401(pool):
    assert ask(None, "labs") == (401, {"error": "sign in first (ncap lab login)"})
    status, answer = ask("not-a-token", "labs")
    assert status == 401 and "sign in again" in answer["error"]


def test_a_token_of_another_user_pool_is_refused_even_for_a_name_of_ours(pool):
    """Cognito's GetUser accepts a token of any pool; the function accepts only its own pool's and
    client's, and reads the person from its pool by the token's subject."""
    person(pool, "victim@example.org", ["lab-a", "lab-a.admins"])
    cognito = pool["cognito"]
    other = cognito.create_user_pool(PoolName="attacker")["UserPool"]["Id"]
    client = cognito.create_user_pool_client(UserPoolId=other, ClientName="x", ExplicitAuthFlows=[
        "ALLOW_USER_PASSWORD_AUTH"])["UserPoolClient"]["ClientId"]
    cognito.sign_up(ClientId=client, Username="victim@example.org", Password=PASSWORD)
    cognito.admin_confirm_sign_up(UserPoolId=other, Username="victim@example.org")
    token = cognito.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "victim@example.org", "PASSWORD": PASSWORD})["AuthenticationResult"]["AccessToken"]
    assert ask(token, "members", lab="lab-a") == (401, {"error": "sign in again: that token is not one of this "
                                                                 "directory's"})
    id_token = cognito.initiate_auth(ClientId=pool["client"], AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "victim@example.org", "PASSWORD": PASSWORD})["AuthenticationResult"]["IdToken"]
    assert ask(id_token, "labs")[0] == 401  # an ID token is not an access token
    assert ask("a.b", "labs")[0] == 401


@pytest.mark.parametrize("body, status, text", [
    ("{not json", 400, "not JSON"), ("[1]", 400, "JSON object"), ('{"action": "fly"}', 400, "unknown action"),
    ("x" * 20000, 400, "too large")])
def test_a_malformed_request_gets_one_clear_line(pool, body, status, text):
    token = person(pool, "ann@example.org")
    answer = directory.handler({"headers": {"Authorization": f"Bearer {token}"}, "body": body}, None)
    assert answer["statusCode"] == status and text in json.loads(answer["body"])["error"]


def test_requests_and_approvals_are_emailed_from_the_directorys_address(pool, monkeypatch):
    ses = boto3.client("ses")
    ses.verify_email_identity(EmailAddress="labs@example.org")
    monkeypatch.setenv("MAIL_FROM", "labs@example.org")
    admin = person(pool, "pi-a@example.org", ["lab-a", "lab-a.admins"])
    ann = person(pool, "ann@example.org")
    ask(ann, "join", lab="lab-a")
    ask(admin, "approve", lab="lab-a", email="ann@example.org")
    from moto.backends import get_backend

    sent = get_backend("ses")["123456789012"]["us-east-1"].sent_messages
    assert [(m.source, m.destinations["ToAddresses"], m.subject) for m in sent] == [
        ("labs@example.org", ["pi-a@example.org"], "ann@example.org asks to join lab-a"),
        ("labs@example.org", ["ann@example.org"], "You are a member of lab-a")]
    monkeypatch.setenv("MAIL_FROM", "unverified@example.org")  # refused by SES: the request still succeeds
    assert ask(admin, "remove", lab="lab-a", email="ann@example.org")[1]["state"] == "removed"


def test_join_approve_and_labs_with_their_pipelines(pool):
    register("pipe-one", ["lab-a", "lab-b"], member_role("pipe-one"))
    register("pipe-two", ["lab-b"], member_role("pipe-two"))
    ann = person(pool, "ann@example.org")
    admin = person(pool, "pi-a@example.org", ["lab-a", "lab-a.admins"])
    assert ask(ann, "labs") == (200, {"email": "ann@example.org", "labs": [], "others": ["lab-a", "lab-b"]})
    assert ask(ann, "join", lab="lab-a") == (200, {"lab": "lab-a", "state": "requested"})
    assert ask(ann, "join", lab="lab-z")[0] == 404
    assert ask(ann, "approve", lab="lab-a", email="ann@example.org") == (
        403, {"error": "only an admin of lab-a can do that"})
    assert ask(admin, "approve", lab="lab-a", email="ANN@example.org") == (
        200, {"lab": "lab-a", "email": "ann@example.org", "state": "member"})
    assert groups_of(pool, "ann@example.org") == ["lab-a"]
    status, answer = ask(ann, "labs")
    assert answer["labs"] == [{"lab": "lab-a", "roles": ["member"], "pipelines": ["pipe-one"]}]
    assert answer["others"] == ["lab-b"]


def test_refuse_and_remove_and_what_admins_see(pool):
    admin = person(pool, "pi-a@example.org", ["lab-a", "lab-a.admins"])
    ann = person(pool, "ann@example.org")
    ask(ann, "join", lab="lab-a")
    assert ask(admin, "members", lab="lab-a")[1]["members"] == [
        {"email": "ann@example.org", "roles": ["requested"], "status": "CONFIRMED"},
        {"email": "pi-a@example.org", "roles": ["member", "admin"], "status": "CONFIRMED"}]
    assert ask(admin, "refuse", lab="lab-a", email="ann@example.org")[1]["state"] == "refused"
    assert groups_of(pool, "ann@example.org") == []
    assert ask(admin, "refuse", lab="lab-a", email="ann@example.org")[0] == 404
    assert ask(admin, "invite", lab="lab-a", email="ann@example.org")[1]["state"] == "member"
    assert ask(admin, "remove", lab="lab-a", email="pi-a@example.org")[0] == 403  # admins come from the config
    assert ask(admin, "remove", lab="lab-a", email="ann@example.org")[1]["state"] == "removed"
    assert ask(admin, "remove", lab="lab-a", email="ann@example.org")[0] == 404
    assert ask(ann, "members", lab="lab-a")[0] == 403


def test_an_invitation_of_a_new_address_makes_the_person_a_member(pool):
    admin = person(pool, "pi-a@example.org", ["lab-a", "lab-a.admins"])
    assert ask(admin, "invite", lab="lab-a", email="new@example.org") == (
        200, {"lab": "lab-a", "email": "new@example.org", "state": "invited"})
    user = pool["cognito"].admin_get_user(UserPoolId=pool["id"], Username="new@example.org")
    assert user["UserStatus"] == "FORCE_CHANGE_PASSWORD" and groups_of(pool, "new@example.org") == ["lab-a"]
    assert ask(admin, "invite", lab="lab-a", email="not an email")[0] == 400


def test_credentials_are_an_hour_of_the_registered_role_tagged_with_the_lab(pool, monkeypatch):
    arn = member_role("pipe-one")
    register("pipe-one", ["lab-a"], arn)
    ann = person(pool, "ann@example.org", ["lab-a"])
    asked = {}
    real = directory.aws("sts").assume_role

    def assume_role(**kwargs):
        asked.update(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(directory.aws("sts"), "assume_role", assume_role)
    status, answer = ask(ann, "credentials", lab="lab-a", pipeline="pipe-one")
    assert status == 200 and answer["bucket"] == "pipe-one" and answer["session_token"]
    assert asked["RoleArn"] == arn and asked["Tags"] == [{"Key": "ncap-lab", "Value": "lab-a"}]
    assert asked["DurationSeconds"] == 3600 and asked["RoleSessionName"] == "ann@example.org"


def test_credentials_tell_the_labs_budget_from_the_registration(pool):
    """The lab's own budget, else the common one; none (null); not said by an older registration."""
    arn = member_role("pipe-one")
    pool["cognito"].create_group(UserPoolId=pool["id"], GroupName="lab-c")
    ann = person(pool, "ann@example.org", ["lab-a", "lab-b", "lab-c"])
    register("pipe-one", ["lab-a", "lab-b", "lab-c"], arn,
             budgets_usd={"common": 50.0, "labs": {"lab-b": 7.5, "lab-c": None}})
    budgets = {lab: ask(ann, "credentials", lab=lab, pipeline="pipe-one")[1]["budget_usd"]
               for lab in ("lab-a", "lab-b", "lab-c")}
    assert budgets == {"lab-a": 50.0, "lab-b": 7.5, "lab-c": None}
    register("pipe-one", ["lab-a"], arn)  # written before budgets were registered
    status, answer = ask(ann, "credentials", lab="lab-a", pipeline="pipe-one")
    assert status == 200 and "budget_usd" not in answer


def test_credentials_are_refused_outside_the_persons_labs_and_the_pipelines_labs(pool):
    one = member_role("pipe-one")
    register("pipe-one", ["lab-a"], one)
    register("pipe-rogue", ["lab-b"], "arn:aws:iam::123456789012:role/admin")  # not on the directory's path
    register("pipe-borrow", ["lab-b"], one)  # another pipeline's member role
    ann = person(pool, "ann@example.org", ["lab-a", "lab-b.requests"])
    assert ask(ann, "credentials", lab="lab-b", pipeline="pipe-one")[1]["error"].startswith(
        "you are not a member of lab-b")
    assert ask(ann, "credentials", lab="lab-a", pipeline="pipe-two") == (
        404, {"error": "pipeline pipe-two does not serve lab-a"})
    pool["cognito"].admin_add_user_to_group(UserPoolId=pool["id"], Username="ann@example.org", GroupName="lab-b")
    assert ask(ann, "credentials", lab="lab-b", pipeline="pipe-rogue")[0] == 404
    assert ask(ann, "credentials", lab="lab-b", pipeline="pipe-borrow")[0] == 404


@pytest.mark.parametrize("email, allowed", [("a@mit.edu", True), ("a@example.org", True),
                                            ("a@lab.example.org", True), ("a@gmail.com", False),
                                            ("a@notedu", False)])
def test_pre_sign_up_admits_only_the_directorys_domains(email, allowed):
    event = {"triggerSource": "PreSignUp_SignUp", "request": {"userAttributes": {"email": email}}}
    if allowed:
        assert directory.pre_sign_up(event, ["edu", "example.org"]) is event
    else:
        with pytest.raises(directory.Refused, match="ask a lab admin to invite you"):
            directory.pre_sign_up(event, ["edu", "example.org"])
    invited = {"triggerSource": "PreSignUp_AdminCreateUser", "request": {"userAttributes": {"email": email}}}
    assert directory.pre_sign_up(invited, ["edu"]) is invited
    assert directory.pre_sign_up(event, []) is event  # no domains: anyone may sign up


def test_the_labs_resource_makes_groups_invites_admins_and_follows_the_config(pool, make_event, response_server,
                                                                             context):
    cognito = pool["cognito"]
    labs = [{"Name": "lab-c", "Admins": ["pi-c@example.org"]}]
    directory.handler(make_event("Create", {"Labs": labs}), context)
    assert response_server.last()["Status"] == "SUCCESS"
    assert groups_of(pool, "pi-c@example.org") == ["lab-c", "lab-c.admins"]
    assert cognito.admin_get_user(UserPoolId=pool["id"], Username="pi-c@example.org")["UserStatus"] == \
        "FORCE_CHANGE_PASSWORD"
    later = [{"Name": "lab-c", "Admins": ["pi-d@example.org"]}, {"Name": "lab-d", "Admins": []}]
    directory.handler(make_event("Update", {"Labs": later}, old={"Labs": labs}, physical_id="x"), context)
    assert response_server.last()["Status"] == "SUCCESS"
    assert groups_of(pool, "pi-c@example.org") == ["lab-c"]  # no longer an admin, still a member
    directory.handler(make_event("Update", {"Labs": []}, old={"Labs": later}, physical_id="x"), context)
    names = {g["GroupName"] for g in cognito.list_groups(UserPoolId=pool["id"])["Groups"]}
    assert not names & {"lab-c", "lab-c.admins", "lab-d", "lab-d.requests"}


def test_the_portal_files_and_settings_are_written_into_its_bucket(pool, make_event, response_server, context,
                                                                   tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html>")
    (site / "app.js").write_text("console.log(1)")
    monkeypatch.setattr(directory, "PORTAL_SITE", str(site))
    boto3.client("s3").create_bucket(Bucket="portal-bucket")
    settings = {"directory": DIRECTORY, "region": "us-east-1", "user_pool_id": pool["id"], "client_id": "c",
                "api_url": "https://x.lambda-url.us-east-1.on.aws/"}
    event = make_event("Create", {"Bucket": "portal-bucket", "Build": "abc", "Settings": settings})
    event["ResourceType"] = "Custom::PortalFiles"
    directory.handler(event, context)
    assert response_server.last()["Status"] == "SUCCESS"
    s3 = boto3.client("s3")
    stored = {o["Key"] for o in s3.list_objects_v2(Bucket="portal-bucket")["Contents"]}
    assert stored == {"index.html", "app.js", "settings.json"}
    assert s3.head_object(Bucket="portal-bucket", Key="app.js")["ContentType"].startswith("text/javascript")
    assert json.loads(s3.get_object(Bucket="portal-bucket", Key="settings.json")["Body"].read()) == settings

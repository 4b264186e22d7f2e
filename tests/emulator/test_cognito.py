"""Cognito on the emulator as AWS runs it: a sign-up's code is emailed (caught in the mail
folder) and only that code confirms; an invitation emails a temporary password; the pool's pre
sign-up trigger refuses addresses outside its domains; the public API needs no AWS signature while
IAM is enforced, the admin API still does; SES emails and SNS email subscriptions are caught too."""
import json

import boto3
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.exceptions import ClientError

from ncap_iac.emulator import cognito

from .conftest import REGION

PASSWORD = "Correct-horse1"


@pytest.fixture
def mail(tmp_path):
    cognito.catch_mail(tmp_path)
    yield lambda: [json.loads(line) for line in (tmp_path / cognito.MAIL_FILE).read_text().splitlines()] \
        if (tmp_path / cognito.MAIL_FILE).exists() else []
    cognito.catch_mail(None)


def public(endpoint):
    """A client without AWS credentials, as a lab member's command line or browser has."""
    return boto3.client("cognito-idp", endpoint_url=endpoint, region_name=REGION,
                        config=Config(signature_version=UNSIGNED))


def make_pool(admin, domains=None, function_env=None):
    settings = {}
    if domains is not None:
        lam = admin.client("lambda")
        role = admin.client("iam").create_role(RoleName="trigger", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        arn = lam.create_function(FunctionName="sign-up", Runtime="python3.12", Role=role, Handler="x.handler",
                                  Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
                                  Environment={"Variables": {"SIGN_UP_DOMAINS": ",".join(domains)}})["FunctionArn"]
        settings["LambdaConfig"] = {"PreSignUp": arn}
    idp = admin.client("cognito-idp")
    pool = idp.create_user_pool(PoolName="people", UsernameAttributes=["email"], AutoVerifiedAttributes=["email"],
                                **settings)["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=pool, ClientName="cli", ExplicitAuthFlows=[
        "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
    return pool, client


def code_of(message):
    return message["body"].rsplit(" ", 1)[-1]


def test_only_the_emailed_code_confirms_a_sign_up(enforced, mail):
    pool, client = make_pool(enforced)
    person = public(enforced.endpoint)
    answer = person.sign_up(ClientId=client, Username="ann@example.org", Password=PASSWORD,
                            UserAttributes=[{"Name": "email", "Value": "ann@example.org"}])
    assert answer["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL" and not answer["UserConfirmed"]
    [message] = mail()
    assert message["to"] == "ann@example.org" and message["kind"] == "verification"
    code = code_of(message)
    assert len(code) == 6 and code.isdigit()
    wrong = "000000" if code != "000000" else "111111"
    with pytest.raises(ClientError) as raised:
        person.confirm_sign_up(ClientId=client, Username="ann@example.org", ConfirmationCode=wrong)
    assert raised.value.response["Error"]["Code"] == "CodeMismatchException"
    with pytest.raises(ClientError, match="UserNotConfirmedException"):
        person.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH",
                             AuthParameters={"USERNAME": "ann@example.org", "PASSWORD": PASSWORD})
    person.confirm_sign_up(ClientId=client, Username="ann@example.org", ConfirmationCode=code)
    tokens = person.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "ann@example.org", "PASSWORD": PASSWORD})["AuthenticationResult"]
    attributes = person.get_user(AccessToken=tokens["AccessToken"])["UserAttributes"]
    assert {"Name": "email_verified", "Value": "true"} in attributes


def test_an_invitation_emails_a_temporary_password_that_must_be_changed(enforced, mail):
    pool, client = make_pool(enforced)
    enforced.client("cognito-idp").admin_create_user(
        UserPoolId=pool, Username="pi@example.org", DesiredDeliveryMediums=["EMAIL"],
        UserAttributes=[{"Name": "email", "Value": "pi@example.org"}, {"Name": "email_verified", "Value": "true"}])
    [message] = mail()
    assert message["kind"] == "invitation" and message["to"] == "pi@example.org"
    temporary = message["body"].split("temporary password ")[1].split(";")[0]
    answer = public(enforced.endpoint).initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "pi@example.org", "PASSWORD": temporary})
    assert answer["ChallengeName"] == "NEW_PASSWORD_REQUIRED"
    enforced.client("cognito-idp").admin_create_user(UserPoolId=pool, Username="quiet@example.org",
                                                     MessageAction="SUPPRESS")
    assert len(mail()) == 1


def test_the_pre_sign_up_trigger_refuses_other_domains(enforced, mail):
    pool, client = make_pool(enforced, domains=["edu", "example.org"])
    person = public(enforced.endpoint)
    with pytest.raises(ClientError) as raised:
        person.sign_up(ClientId=client, Username="eve@gmail.com", Password=PASSWORD)
    assert raised.value.response["Error"]["Code"] == "UserLambdaValidationException"
    assert "ask a lab admin to invite you" in raised.value.response["Error"]["Message"]
    assert mail() == []
    person.sign_up(ClientId=client, Username="ann@mit.edu", Password=PASSWORD,
                   UserAttributes=[{"Name": "email", "Value": "ann@mit.edu"}])
    assert [m["to"] for m in mail()] == ["ann@mit.edu"]


def test_the_admin_api_still_needs_a_signature_and_a_policy(enforced):
    pool, _ = make_pool(enforced)
    with pytest.raises(ClientError):
        public(enforced.endpoint).list_users(UserPoolId=pool)
    nobody = enforced.user("nobody")
    with pytest.raises(ClientError) as raised:
        enforced.client("cognito-idp", nobody).list_users(UserPoolId=pool)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    arn = f"arn:aws:cognito-idp:{REGION}:123456789012:userpool/{pool}"
    reader = enforced.user("reader", {"Effect": "Allow", "Action": "cognito-idp:ListUsers", "Resource": arn})
    assert enforced.client("cognito-idp", reader).list_users(UserPoolId=pool)["Users"] == []
    other = enforced.user("other", {"Effect": "Allow", "Action": "cognito-idp:ListUsers",
                                    "Resource": f"arn:aws:cognito-idp:{REGION}:123456789012:userpool/other"})
    with pytest.raises(ClientError):
        enforced.client("cognito-idp", other).list_users(UserPoolId=pool)


def test_ses_emails_and_sns_email_subscriptions_are_caught(moto_server, mail):
    ses = boto3.client("ses", region_name=REGION)
    ses.verify_email_identity(EmailAddress="labs@example.org")
    ses.send_email(Source="labs@example.org", Destination={"ToAddresses": ["ann@example.org", "bob@uni.edu"]},
                   Message={"Subject": {"Data": "Hello"}, "Body": {"Text": {"Data": "the text"}}})
    sns = boto3.client("sns", region_name=REGION)
    topic = sns.create_topic(Name="notices")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="lab-a@example.org")
    sns.publish(TopicArn=topic, Subject="job 1 SUCCESS", Message="done")
    assert [(m["to"], m["subject"], m["body"], m["kind"]) for m in mail()] == [
        ("ann@example.org", "Hello", "the text", "notice"), ("bob@uni.edu", "Hello", "the text", "notice"),
        ("lab-a@example.org", "job 1 SUCCESS", "done", "notice")]


def test_a_cognito_target_header_lets_no_other_request_through(enforced):
    """moto lets through any request naming a public Cognito operation in X-Amz-Target; the
    emulator lets through Cognito's own requests only."""
    enforced.bucket("secret-bucket", "lab-a/results/job_1/answer.json")
    nobody = enforced.user("nobody")
    s3 = enforced.client("s3", nobody)
    s3.meta.events.register("before-sign.s3", lambda request, **_: request.headers.__setitem__(
        "X-Amz-Target", "AWSCognitoIdentityProviderService.GetUser"))
    with pytest.raises(ClientError) as raised:
        s3.get_object(Bucket="secret-bucket", Key="lab-a/results/job_1/answer.json")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    anonymous = boto3.client("s3", endpoint_url=enforced.endpoint, region_name=REGION,
                             config=Config(signature_version=UNSIGNED))
    with pytest.raises(ClientError):
        anonymous.get_object(Bucket="secret-bucket", Key="lab-a/results/job_1/answer.json")


def test_a_closed_pool_refuses_sign_up_and_a_confirmed_person_is_not_confirmed_again(enforced, mail):
    idp = enforced.client("cognito-idp")
    closed = idp.create_user_pool(PoolName="closed", UsernameAttributes=["email"],
                                  AdminCreateUserConfig={"AllowAdminCreateUserOnly": True})["UserPool"]["Id"]
    client = idp.create_user_pool_client(UserPoolId=closed, ClientName="cli")["UserPoolClient"]["ClientId"]
    with pytest.raises(ClientError, match="SignUp is not permitted"):
        public(enforced.endpoint).sign_up(ClientId=client, Username="ann@example.org", Password=PASSWORD)
    pool, client = make_pool(enforced)
    person = public(enforced.endpoint)
    idp.admin_create_user(UserPoolId=pool, Username="pi@example.org", MessageAction="SUPPRESS")
    with pytest.raises(ClientError) as raised:  # an invited person has no code to confirm
        person.confirm_sign_up(ClientId=client, Username="pi@example.org", ConfirmationCode="123456")
    assert raised.value.response["Error"]["Code"] == "NotAuthorizedException"
    person.sign_up(ClientId=client, Username="ann@example.org", Password=PASSWORD,
                   UserAttributes=[{"Name": "email", "Value": "ann@example.org"}])
    code = code_of(mail()[-1])
    person.confirm_sign_up(ClientId=client, Username="ann@example.org", ConfirmationCode=code)
    with pytest.raises(ClientError, match="Current status is CONFIRMED"):
        person.confirm_sign_up(ClientId=client, Username="ann@example.org", ConfirmationCode=code)


def test_an_expired_access_token_is_refused(enforced, mail, monkeypatch):
    import time as real_time
    import types

    pool, client = make_pool(enforced)
    person = public(enforced.endpoint)
    person.sign_up(ClientId=client, Username="ann@example.org", Password=PASSWORD,
                   UserAttributes=[{"Name": "email", "Value": "ann@example.org"}])
    person.confirm_sign_up(ClientId=client, Username="ann@example.org", ConfirmationCode=code_of(mail()[-1]))
    token = person.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH", AuthParameters={
        "USERNAME": "ann@example.org", "PASSWORD": PASSWORD})["AuthenticationResult"]["AccessToken"]
    assert person.get_user(AccessToken=token)["Username"]
    later = types.SimpleNamespace(time=lambda: real_time.time() + 7200, strftime=real_time.strftime,
                                  gmtime=real_time.gmtime)
    monkeypatch.setattr(cognito, "time", later)  # two hours on: past the token's hour
    with pytest.raises(ClientError, match="Access Token has expired"):
        person.get_user(AccessToken=token)


def signed_up(enforced, mail, email="ann@example.org", prevent=None):
    pool, client = make_pool(enforced)
    if prevent:
        enforced.client("cognito-idp").update_user_pool_client(
            UserPoolId=pool, ClientId=client, PreventUserExistenceErrors=prevent,
            ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    person = public(enforced.endpoint)
    person.sign_up(ClientId=client, Username=email, Password=PASSWORD, UserAttributes=[{"Name": "email", "Value": email}])
    person.confirm_sign_up(ClientId=client, Username=email, ConfirmationCode=code_of(mail()[-1]))
    return pool, client, person


def sign_in(person, client, email, password):
    return person.initiate_auth(ClientId=client, AuthFlow="USER_PASSWORD_AUTH",
                                AuthParameters={"USERNAME": email, "PASSWORD": password})


def error_code(call):
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value.response["Error"]["Code"]


def test_a_forgotten_password_is_reset_only_with_the_emailed_code(enforced, mail):
    pool, client, person = signed_up(enforced, mail)
    answer = person.forgot_password(ClientId=client, Username="ann@example.org")
    assert answer["CodeDeliveryDetails"] == {"Destination": "a***@e***", "DeliveryMedium": "EMAIL",
                                             "AttributeName": "email"}
    message = mail()[-1]
    assert (message["to"], message["kind"]) == ("ann@example.org", "password-reset")
    code = code_of(message)
    assert len(code) == 6 and code.isdigit()
    assert code not in json.dumps(answer)  # the answer does not carry it (moto's header did)
    wrong = "000000" if code != "000000" else "111111"

    def confirm(given, password="New-horse-22"):
        return lambda: person.confirm_forgot_password(ClientId=client, Username="ann@example.org",
                                                      ConfirmationCode=given, Password=password)

    assert error_code(confirm(wrong)) == "CodeMismatchException"
    assert error_code(confirm("moto-confirmation-code:123456")) == "CodeMismatchException"
    assert error_code(confirm(code, password="short")) == "InvalidPasswordException"
    sign_in(person, client, "ann@example.org", PASSWORD)  # nothing changed yet
    confirm(code)()
    assert sign_in(person, client, "ann@example.org", "New-horse-22")["AuthenticationResult"]["AccessToken"]
    assert error_code(lambda: sign_in(person, client, "ann@example.org", PASSWORD)) == "NotAuthorizedException"
    assert error_code(confirm(code, password="Other-horse-33")) == "CodeMismatchException"  # used once


def test_a_password_reset_code_expires_after_an_hour(enforced, mail, monkeypatch):
    import time as real_time
    import types

    _, client, person = signed_up(enforced, mail)
    person.forgot_password(ClientId=client, Username="ann@example.org")
    first = code_of(mail()[-1])
    person.forgot_password(ClientId=client, Username="ann@example.org")  # a new code replaces the first
    code = code_of(mail()[-1])
    if first != code:
        assert error_code(lambda: person.confirm_forgot_password(
            ClientId=client, Username="ann@example.org", ConfirmationCode=first,
            Password="New-horse-22")) == "CodeMismatchException"
    later = types.SimpleNamespace(time=lambda: real_time.time() + 3601, strftime=real_time.strftime,
                                  gmtime=real_time.gmtime)
    monkeypatch.setattr(cognito, "time", later)
    assert error_code(lambda: person.confirm_forgot_password(
        ClientId=client, Username="ann@example.org", ConfirmationCode=code,
        Password="New-horse-22")) == "ExpiredCodeException"
    sign_in(person, client, "ann@example.org", PASSWORD)


def test_who_gets_no_password_reset_code(enforced, mail):
    pool, client, person = signed_up(enforced, mail, prevent="ENABLED")
    sent = len(mail())
    # an unknown address is answered as a known one is, when the client hides who exists
    answer = person.forgot_password(ClientId=client, Username="nobody@example.org")
    assert answer["CodeDeliveryDetails"]["DeliveryMedium"] == "EMAIL"
    assert error_code(lambda: person.confirm_forgot_password(
        ClientId=client, Username="nobody@example.org", ConfirmationCode="123456",
        Password="New-horse-22")) == "CodeMismatchException"
    # an invited person who never signed in, and one who never verified the address
    enforced.client("cognito-idp").admin_create_user(UserPoolId=pool, Username="pi@example.org",
                                                     MessageAction="SUPPRESS")
    assert error_code(lambda: person.forgot_password(ClientId=client, Username="pi@example.org")) == \
        "NotAuthorizedException"
    person.sign_up(ClientId=client, Username="bob@example.org", Password=PASSWORD,
                   UserAttributes=[{"Name": "email", "Value": "bob@example.org"}])
    sent += 1
    assert error_code(lambda: person.forgot_password(ClientId=client, Username="bob@example.org")) == \
        "InvalidParameterException"
    assert len(mail()) == sent
    # without PreventUserExistenceErrors, an unknown address is named as such
    _, open_client = make_pool(enforced)
    assert error_code(lambda: person.forgot_password(ClientId=open_client, Username="nobody@example.org")) == \
        "UserNotFoundException"

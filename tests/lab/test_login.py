"""The login a lab member keeps: settings read from a file or an https URL with a clear line for
anything else; the login saved owner-only and refreshed when about to expire; logout forgets it.
Against an in-process moto Cognito (its public API, unsigned, as the command line calls it)."""
import json
import os
import stat
import time

import boto3
import pytest

from ncap_iac.errors import NcapError
from ncap_iac.lab import login

PASSWORD = "Correct-horse1"


@pytest.fixture
def settings(tmp_path, monkeypatch):
    from moto import mock_aws

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        idp = boto3.client("cognito-idp", region_name="us-east-1")
        pool = idp.create_user_pool(PoolName="people", UsernameAttributes=["email"])["UserPool"]["Id"]
        client = idp.create_user_pool_client(UserPoolId=pool, ClientName="cli", ExplicitAuthFlows=[
            "ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])["UserPoolClient"]["ClientId"]
        idp.admin_create_user(UserPoolId=pool, Username="ann@example.org", TemporaryPassword="Temporary-1x",
                              MessageAction="SUPPRESS")
        found = {"directory": "people", "region": "us-east-1", "user_pool_id": pool, "client_id": client,
                 "api_url": "https://directory.example.org/"}
        path = tmp_path / "directory.json"
        path.write_text(json.dumps(found))
        yield str(path)


def test_settings_must_be_a_directorys(tmp_path):
    with pytest.raises(NcapError, match="no such file"):
        login.read_settings(str(tmp_path / "missing.json"))
    (tmp_path / "other.json").write_text('{"directory": "x"}')
    with pytest.raises(NcapError, match="missing region, user_pool_id, client_id, api_url"):
        login.read_settings(str(tmp_path / "other.json"))
    with pytest.raises(NcapError, match="only https URLs"):
        login.read_settings("http://example.org/directory.json")


def test_a_temporary_password_is_changed_at_the_first_login_and_the_login_is_owner_only(settings):
    read = login.read_settings(settings)
    with pytest.raises(NcapError, match="temporary password"):
        login.login(read, "ann@example.org", "Temporary-1x")
    found = login.login(read, "ann@example.org", "Temporary-1x", new_password=lambda: "A-new-password-9")
    mode = stat.S_IMODE(os.stat(login.login_file()).st_mode)
    assert mode == 0o600 and stat.S_IMODE(os.stat(login.login_file().parent).st_mode) == 0o700
    assert login.current().access_token == found.access_token
    with pytest.raises(NcapError, match="wrong email or password"):
        login.login(read, "ann@example.org", "Temporary-1x")
    assert login.login(read, "ann@example.org", "A-new-password-9").email == "ann@example.org"


def test_a_login_about_to_expire_is_refreshed_and_logout_forgets_it(settings):
    read = login.read_settings(settings)
    first = login.login(read, "ann@example.org", "Temporary-1x", new_password=lambda: "A-new-password-9")
    first.expires_at = time.time() + 10  # within the refresh margin
    first.save()
    again = login.current()
    assert again.expires_at > time.time() + 600 and again.refresh_token == first.refresh_token
    assert login.logout() == "ann@example.org" and not login.logged_in()
    assert login.logout() is None
    with pytest.raises(NcapError, match="not logged in"):
        login.current()


@pytest.mark.parametrize("change, message", [
    ({"api_url": "http://directory.example.org/"}, "api_url must be https"),
    ({"api_url": "http://localhost.evil.example/"}, "api_url must be https"),
    ({"cognito_endpoint": "https://cognito.example.org/"}, "cognito_endpoint is for a local cloud only"),
    ({"user_pool_id": "eu-west-1_abc"}, "is not in us-east-1"),
    ({"client_id": 7}, "missing client_id")])
def test_settings_that_would_send_a_password_or_token_astray_are_refused(tmp_path, change, message):
    good = {"directory": "people", "region": "us-east-1", "user_pool_id": "us-east-1_abc", "client_id": "c",
            "api_url": "https://x.lambda-url.us-east-1.on.aws/"}
    path = tmp_path / "s.json"
    path.write_text(json.dumps({**good, **change}))
    with pytest.raises(NcapError, match=message):
        login.read_settings(str(path))
    with pytest.raises(NcapError, match="only https URLs"):
        login.read_settings("http://localhost.evil.example/directory.json")


@pytest.mark.parametrize("document", [{"expires_at": "soon"}, {"credentials": None}, {"credentials": {"p/l": 3}},
                                      {"settings": {"region": 1}}])
def test_a_login_file_of_the_wrong_shape_is_one_clear_line(settings, document):
    read = login.read_settings(settings)
    found = login.login(read, "ann@example.org", "Temporary-1x", new_password=lambda: "A-new-password-9")
    login.login_file().write_text(json.dumps({**found.__dict__, **document}))
    with pytest.raises(NcapError, match="not a login this version of ncap wrote"):
        login.current()

"""A lab member's login to a directory: sign up, verify, sign in (with a new password when the
first one was temporary), and the short-lived lab credentials the directory hands out.

The directory's sign-in settings (its user pool, app client, region and the directory function's
URL) come from a file or an https URL: `ncap deploy` of the directory prints where, and the local
cloud writes `directory.json` in its state folder. The login (tokens, and each lab's credentials
until they expire) is kept owner-only in `$XDG_CONFIG_HOME/ncap/login.json` (default
~/.config/ncap) and refreshed from its refresh token. Cognito's sign-up and sign-in calls take no
AWS credentials."""
from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import NcapError

SETTINGS_KEYS = ("directory", "region", "user_pool_id", "client_id", "api_url")
REFRESH_MARGIN_SECONDS = 300  # tokens are renewed this long before they expire
CREDENTIALS_MARGIN_SECONDS = 900  # and lab credentials this long (botocore's own margin for renewing)
CREDENTIAL_KEYS = ("access_key_id", "secret_access_key", "session_token", "expiration", "bucket")
TIMEOUT_SECONDS = 30


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "ncap"


def login_file() -> Path:
    return config_home() / "login.json"


LOOPBACK = ("127.0.0.1", "localhost", "::1")


def is_safe_url(url: Any) -> bool:
    """https anywhere, or http to this machine only (a local cloud): where a password or a token
    may be sent."""
    from urllib.parse import urlsplit

    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return bool(host) and (parts.scheme == "https" or (parts.scheme == "http" and host in LOOPBACK))


class _NoDowngrade(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not is_safe_url(newurl):
            raise NcapError(f"--settings: redirected to {newurl}, which is not https")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def read_settings(source: str) -> dict:
    """The directory's sign-in settings from a file or an https URL (http only on this machine)."""
    import http.client

    try:
        if "://" in source:
            if not is_safe_url(source):
                raise NcapError(f"--settings {source}: only https URLs (or http on this machine, or a file)")
            with urllib.request.build_opener(_NoDowngrade).open(source, timeout=TIMEOUT_SECONDS) as answer:
                text = answer.read().decode("utf-8")
        else:
            text = Path(source).read_text(encoding="utf-8")
        settings = json.loads(text)
    except FileNotFoundError:
        raise NcapError(f"--settings {source}: no such file (the directory's sign-in settings: `ncap deploy` of "
                        "the directory prints where they are; a local cloud writes directory.json)") from None
    except (OSError, ValueError, urllib.error.URLError, http.client.HTTPException) as error:
        raise NcapError(f"--settings {source}: cannot be read as the directory's sign-in settings ({error})") from None
    missing = [k for k in SETTINGS_KEYS if not isinstance(settings, dict) or not isinstance(settings.get(k), str)
               or not settings.get(k)]
    if missing:
        raise NcapError(f"--settings {source}: not a directory's sign-in settings (missing {', '.join(missing)})")
    if not is_safe_url(settings["api_url"]):
        raise NcapError(f"--settings {source}: api_url must be https (or http on this machine)")
    endpoint = settings.get("cognito_endpoint")
    if endpoint is not None and (not is_safe_url(endpoint) or not str(endpoint).startswith(("http://127.0.0.1",
                                                                                          "http://localhost"))):
        raise NcapError(f"--settings {source}: cognito_endpoint is for a local cloud only (http on this machine)")
    if not settings["user_pool_id"].startswith(settings["region"] + "_"):
        raise NcapError(f"--settings {source}: the user pool {settings['user_pool_id']} is not in {settings['region']}")
    return {k: settings[k] for k in (*SETTINGS_KEYS, "cognito_endpoint") if settings.get(k)}


def cognito(settings: dict):
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    return boto3.client("cognito-idp", region_name=settings["region"], endpoint_url=settings.get("cognito_endpoint"),
                        config=Config(signature_version=UNSIGNED, retries={"mode": "standard", "max_attempts": 4}),
                        aws_access_key_id="none", aws_secret_access_key="none")


def _refusal(error: Exception, what: str) -> NcapError:
    """One clear line for a Cognito error."""
    from botocore.exceptions import ClientError, EndpointConnectionError

    if isinstance(error, EndpointConnectionError):
        return NcapError(f"{what}: cannot reach the directory ({error})")
    if not isinstance(error, ClientError):
        return NcapError(f"{what}: {error}")
    code, message = error.response["Error"].get("Code", ""), error.response["Error"].get("Message", "")
    if code == "UserLambdaValidationException":
        message = message.split("failed with error ", 1)[-1].rstrip(".")
    texts = {"UsernameExistsException": "this email has signed up already: verify it (ncap lab verify) or log in",
             "CodeMismatchException": "that code is not the one sent: check the email and try again",
             "ExpiredCodeException": "that code has expired: ask for a new one (ncap lab signup again)",
             "UserNotConfirmedException": "verify your email first (ncap lab verify --code CODE)",
             "NotAuthorizedException": "wrong email or password" if "password" in message.lower() else message,
             "UserNotFoundException": "wrong email or password",
             "LimitExceededException": "too many attempts: wait a few minutes"}
    return NcapError(f"{what}: {texts.get(code, message or code)}")


def signup(settings: dict, email: str, password: str) -> dict:
    email = email.strip().lower()
    try:
        answer = cognito(settings).sign_up(ClientId=settings["client_id"], Username=email, Password=password,
                                           UserAttributes=[{"Name": "email", "Value": email}])
    except Exception as error:
        raise _refusal(error, "sign-up") from None
    return {"email": email, "confirmed": answer.get("UserConfirmed", False),
            "code_sent_to": (answer.get("CodeDeliveryDetails") or {}).get("Destination")}


def verify(settings: dict, email: str, code: str) -> None:
    email = email.strip().lower()
    try:
        cognito(settings).confirm_sign_up(ClientId=settings["client_id"], Username=email, ConfirmationCode=code)
    except Exception as error:
        raise _refusal(error, "verify") from None


@dataclass
class Login:
    settings: dict
    email: str
    access_token: str
    refresh_token: str
    expires_at: float
    credentials: dict  # "pipeline/lab" -> the directory's answer, until it expires

    def save(self) -> None:
        path = login_file()
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            tmp = path.with_name(f".{path.name}.tmp")
            descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                json.dump(self.__dict__, handle, indent=1, sort_keys=True)
            os.replace(tmp, path)
        except OSError as error:
            raise NcapError(f"{path}: cannot keep the login there ({error.strerror}); set XDG_CONFIG_HOME to a "
                            "folder of yours") from None

    @classmethod
    def read(cls, path: Path) -> Login:
        """The saved login; NcapError for a file this version did not write."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
            found = cls(**document)
        except FileNotFoundError:
            raise NcapError("not logged in: ncap lab login --settings S --email E") from None
        except (OSError, ValueError, TypeError):
            raise NcapError(f"{path}: not a login this version of ncap wrote; log in again") from None
        kinds = (isinstance(found.settings, dict) and all(isinstance(found.settings.get(k), str) for k in SETTINGS_KEYS)
                 and all(isinstance(v, str) for v in (found.email, found.access_token, found.refresh_token))
                 and isinstance(found.expires_at, (int, float)) and isinstance(found.credentials, dict)
                 and all(isinstance(v, dict) for v in found.credentials.values()))
        if not kinds:
            raise NcapError(f"{path}: not a login this version of ncap wrote; log in again")
        return found


def login(settings: dict, email: str, password: str, new_password=None, mfa_code=None) -> Login:
    """Sign in; `new_password()` is asked for when the password was a temporary one, `mfa_code()`
    when the person turned MFA on."""
    client = cognito(settings)
    email = email.strip().lower()
    try:
        answer = client.initiate_auth(ClientId=settings["client_id"], AuthFlow="USER_PASSWORD_AUTH",
                                      AuthParameters={"USERNAME": email, "PASSWORD": password})
        while "ChallengeName" in answer:
            answer = _challenge(client, settings, email, answer, new_password, mfa_code)
    except NcapError:
        raise
    except Exception as error:
        raise _refusal(error, "login") from None
    result = answer["AuthenticationResult"]
    found = Login(settings, email.lower(), result["AccessToken"], result["RefreshToken"],
                  time.time() + int(result.get("ExpiresIn", 3600)), {})
    found.save()
    return found


def _challenge(client, settings: dict, email: str, answer: dict, new_password, mfa_code) -> dict:
    name = answer["ChallengeName"]
    username = (answer.get("ChallengeParameters") or {}).get("USERNAME", email)
    if name == "NEW_PASSWORD_REQUIRED":
        if new_password is None:
            raise NcapError("login: this was a temporary password; give a new one (NCAP_NEW_PASSWORD or the terminal)")
        responses = {"USERNAME": username, "NEW_PASSWORD": new_password()}
    elif name == "SOFTWARE_TOKEN_MFA":
        if mfa_code is None:
            raise NcapError("login: give the code of your authenticator app (NCAP_MFA_CODE or the terminal)")
        responses = {"USERNAME": username, "SOFTWARE_TOKEN_MFA_CODE": mfa_code()}
    else:
        raise NcapError(f"login: the directory asks for {name}, which ncap lab does not answer")
    return client.respond_to_auth_challenge(ClientId=settings["client_id"], ChallengeName=name,
                                            Session=answer.get("Session", ""), ChallengeResponses=responses)


def current() -> Login:
    """The saved login, its tokens refreshed when they are about to expire."""
    found = Login.read(login_file())
    if found.expires_at - REFRESH_MARGIN_SECONDS < time.time():
        try:
            answer = cognito(found.settings).initiate_auth(
                ClientId=found.settings["client_id"], AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": found.refresh_token})["AuthenticationResult"]
        except Exception as error:
            raise NcapError(f"the login has expired or was signed out ({_refusal(error, 'refresh')}): "
                            "ncap lab login again") from None
        found.access_token, found.expires_at = answer["AccessToken"], time.time() + int(answer.get("ExpiresIn", 3600))
        found.save()
    return found


def logged_in() -> bool:
    return login_file().exists()


def logout() -> str | None:
    """Sign out everywhere (every token of the person is revoked: GlobalSignOut, and this login's
    refresh token), then forget the login; the email, or None when there was no login."""
    path = login_file()
    if not path.exists():
        return None
    try:
        found = Login.read(path)
    except NcapError:
        path.unlink(missing_ok=True)
        return "the saved login"
    client = cognito(found.settings)
    for revoke in (lambda: client.global_sign_out(AccessToken=found.access_token),
                   lambda: client.revoke_token(Token=found.refresh_token, ClientId=found.settings["client_id"])):
        try:
            revoke()
        except Exception:  # the login is forgotten whatever the directory answers
            pass
    path.unlink(missing_ok=True)
    return found.email


def call(found: Login, action: str, **fields: Any) -> dict:
    """One request to the directory function, as the signed-in person."""
    import http.client

    body = json.dumps({"action": action, **fields}).encode("utf-8")
    try:
        request = urllib.request.Request(found.settings["api_url"], data=body, method="POST", headers={
            "Content-Type": "application/json", "Authorization": f"Bearer {found.access_token}"})
        with urllib.request.build_opener(_NoDowngrade).open(request, timeout=TIMEOUT_SECONDS) as answer:
            document = json.loads(answer.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        try:
            text = json.loads(error.read().decode("utf-8")).get("error") or error.reason
        except (ValueError, AttributeError, OSError):
            text = error.reason
        raise NcapError(f"{action}: {text}") from None
    except (OSError, ValueError, http.client.HTTPException) as error:
        raise NcapError(f"{action}: cannot reach the directory at {found.settings['api_url']} ({error})") from None
    if not isinstance(document, dict):
        raise NcapError(f"{action}: the directory's answer is not what this version of ncap expects")
    return document


def lab_credentials(found: Login, lab: str, pipeline: str) -> dict:
    """Credentials for `lab`'s folders of `pipeline` (an hour at most), reused until they expire."""
    key = f"{pipeline}/{lab}"
    cached = found.credentials.get(key)
    if cached and _seconds_left(cached.get("expiration")) > CREDENTIALS_MARGIN_SECONDS:
        return cached
    fresh = call(found, "credentials", lab=lab, pipeline=pipeline)
    if not all(isinstance(fresh.get(k), str) and fresh.get(k) for k in CREDENTIAL_KEYS):
        raise NcapError("credentials: the directory's answer is not what this version of ncap expects")
    found.credentials = {k: v for k, v in found.credentials.items() if _seconds_left(v.get("expiration")) > 0}
    found.credentials[key] = fresh
    found.save()
    return fresh


def _seconds_left(expiration: Any) -> float:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(expiration).replace("Z", "+00:00")).timestamp() - time.time()
    except ValueError:
        return 0.0

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
REFRESH_MARGIN_SECONDS = 300  # tokens and credentials are renewed this long before they expire
TIMEOUT_SECONDS = 30


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "ncap"


def login_file() -> Path:
    return config_home() / "login.json"


def read_settings(source: str) -> dict:
    """The directory's sign-in settings from a file or an https URL."""
    try:
        if source.startswith("https://") or source.startswith("http://127.0.0.1") or \
                source.startswith("http://localhost"):
            with urllib.request.urlopen(source, timeout=TIMEOUT_SECONDS) as answer:
                text = answer.read().decode("utf-8")
        elif source.startswith("http://"):
            raise NcapError(f"--settings {source}: only https URLs (or a file)")
        else:
            text = Path(source).read_text(encoding="utf-8")
        settings = json.loads(text)
    except FileNotFoundError:
        raise NcapError(f"--settings {source}: no such file (the directory's sign-in settings: `ncap deploy` of "
                        "the directory prints where they are; a local cloud writes directory.json)") from None
    except (OSError, ValueError, urllib.error.URLError) as error:
        raise NcapError(f"--settings {source}: cannot be read as the directory's sign-in settings ({error})") from None
    missing = [k for k in SETTINGS_KEYS if not isinstance(settings, dict) or not settings.get(k)]
    if missing:
        raise NcapError(f"--settings {source}: not a directory's sign-in settings (missing {', '.join(missing)})")
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
    try:
        answer = cognito(settings).sign_up(ClientId=settings["client_id"], Username=email, Password=password,
                                           UserAttributes=[{"Name": "email", "Value": email}])
    except Exception as error:
        raise _refusal(error, "sign-up") from None
    return {"email": email, "confirmed": answer.get("UserConfirmed", False),
            "code_sent_to": (answer.get("CodeDeliveryDetails") or {}).get("Destination")}


def verify(settings: dict, email: str, code: str) -> None:
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
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.tmp")
        descriptor = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            json.dump(self.__dict__, handle, indent=1, sort_keys=True)
        os.replace(tmp, path)


def login(settings: dict, email: str, password: str, new_password=None, mfa_code=None) -> Login:
    """Sign in; `new_password()` is asked for when the password was a temporary one, `mfa_code()`
    when the person turned MFA on."""
    client = cognito(settings)
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
    path = login_file()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        found = Login(**document)
    except FileNotFoundError:
        raise NcapError("not logged in: ncap lab login --settings S --email E") from None
    except (OSError, ValueError, TypeError):
        raise NcapError(f"{path}: not a login this version of ncap wrote; log in again") from None
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
    """Forget the login, after asking the directory to revoke its refresh token (so that a copy of
    the file signs in nowhere); the email, or None when there was no login."""
    path = login_file()
    if not path.exists():
        return None
    try:
        found = Login(**json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        path.unlink(missing_ok=True)
        return "the saved login"
    try:
        cognito(found.settings).revoke_token(Token=found.refresh_token, ClientId=found.settings["client_id"])
    except Exception:
        pass
    path.unlink(missing_ok=True)
    return found.email


def call(found: Login, action: str, **fields: Any) -> dict:
    """One request to the directory function, as the signed-in person."""
    body = json.dumps({"action": action, **fields}).encode("utf-8")
    request = urllib.request.Request(found.settings["api_url"], data=body, method="POST", headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {found.access_token}"})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:
            return json.loads(answer.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        try:
            text = json.loads(error.read().decode("utf-8")).get("error") or error.reason
        except (ValueError, AttributeError):
            text = error.reason
        raise NcapError(f"{action}: {text}") from None
    except (OSError, ValueError) as error:
        raise NcapError(f"{action}: cannot reach the directory at {found.settings['api_url']} ({error})") from None


def lab_credentials(found: Login, lab: str, pipeline: str) -> dict:
    """Credentials for `lab`'s folders of `pipeline` (an hour at most), reused until they expire."""
    key = f"{pipeline}/{lab}"
    cached = found.credentials.get(key)
    if cached and _seconds_left(cached.get("expiration")) > REFRESH_MARGIN_SECONDS:
        return cached
    fresh = call(found, "credentials", lab=lab, pipeline=pipeline)
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

"""Cognito user pools on the emulator as AWS runs them, where moto differs.

- AWS emails a code to a person who signs up, and ConfirmSignUp accepts only that code; moto sends
  nothing and accepts any code. Here a sign-up gets a random six-digit code, caught as an email in
  the mail folder, and ConfirmSignUp checks it (CodeMismatchException).
- AWS emails an invited person (AdminCreateUser) a temporary password; here the temporary password
  is drawn at random and caught as an email (unless MessageAction is SUPPRESS).
- AWS emails a code for a forgotten password (ForgotPassword) to the person's verified address,
  and ConfirmForgotPassword sets the new password only with that code, within its hour, once; moto
  emails nothing, returns the code in a header of its own and accepts any other code. Here the code
  is six random digits caught as an email, a wrong one answers CodeMismatchException, an old one
  ExpiredCodeException, a password outside the pool's policy InvalidPasswordException; an invited
  person who never signed in, or one without a verified address, gets no code (as on AWS); with the
  client's PreventUserExistenceErrors an unknown address is answered as a known one would be.
- AWS runs the pool's pre sign-up trigger; moto does not. Here the trigger's rule (its function's
  SIGN_UP_DOMAINS, the product's own trigger) is applied, and a refusal answers
  UserLambdaValidationException as AWS does.
- The pool's public API (sign-up, sign-in, a signed-in person's own requests) takes no AWS
  signature on AWS; IAM enforcement leaves those requests to Cognito's own checks (enforce.py).
- The other emails the product sends are caught too: SES's (the directory's notices of requests
  and approvals) and those of SNS email subscriptions (job notices to a lab's contact).

Each email is one JSON line of `mail.jsonl` in the mail folder: when, to, subject, body, kind."""
from __future__ import annotations

import json
import os
import secrets
import string
import threading
import time
from pathlib import Path
from typing import Any

# Cognito's API a person calls without AWS credentials (authenticated by a token, a code or a password)
PUBLIC_ACTIONS = frozenset({
    "SignUp", "ConfirmSignUp", "ResendConfirmationCode", "InitiateAuth", "RespondToAuthChallenge",
    "GetUser", "ForgotPassword", "ConfirmForgotPassword", "ChangePassword", "GlobalSignOut", "RevokeToken",
    "AssociateSoftwareToken", "VerifySoftwareToken", "SetUserMFAPreference", "GetUserAttributeVerificationCode",
    "VerifyUserAttribute", "UpdateUserAttributes", "DeleteUser"})
TARGET_PREFIX = "AWSCognitoIdentityProviderService."
MAIL_FILE = "mail.jsonl"
RESET_CODE_SECONDS = 3600  # AWS: a forgotten password's code is valid for an hour
_LOCK = threading.Lock()
_STATE: dict[str, Any] = {"mail_dir": None}


def with_cors(app: Any) -> Any:
    """The WSGI app with Cognito's CORS as AWS has it: a browser page of any origin may call the
    pool's API (its preflight names X-Amz-Target), which moto's server leaves to S3's rules."""
    def answer(environ: dict, start_response: Any) -> Any:
        origin = environ.get("HTTP_ORIGIN")
        asked = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "").lower()
        if origin and environ.get("REQUEST_METHOD") == "OPTIONS" and "x-amz-target" in asked:
            start_response("200 OK", [("Access-Control-Allow-Origin", origin), ("Access-Control-Allow-Methods", "POST"),
                                      ("Access-Control-Allow-Headers", asked), ("Access-Control-Max-Age", "600"),
                                      ("Content-Length", "0")])
            return [b""]
        if origin and str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(TARGET_PREFIX):
            def start(status: str, headers: list, *rest: Any) -> Any:
                kept = [(k, v) for k, v in headers if k.lower() != "access-control-allow-origin"]
                return start_response(status, [*kept, ("Access-Control-Allow-Origin", origin)], *rest)
            return app(environ, start)
        return app(environ, start_response)

    return answer


def is_public(headers: Any) -> bool:
    target = str((headers or {}).get("X-Amz-Target", ""))
    return target.startswith(TARGET_PREFIX) and target[len(TARGET_PREFIX):] in PUBLIC_ACTIONS


def catch_mail(mail_dir: Path | None) -> None:
    """Emails go to `mail_dir` from now on (None: nowhere)."""
    _STATE["mail_dir"] = mail_dir


def install() -> None:
    """Patch moto's Cognito (idempotent)."""
    from moto.cognitoidp.models import CognitoIdpBackend
    from moto.cognitoidp.responses import CognitoIdpResponse

    if getattr(CognitoIdpBackend.sign_up, "ncap_patched", False):
        return
    from moto.ses.models import SESBackend
    from moto.sns.models import Subscription

    patches = [(CognitoIdpBackend, "sign_up", _signing_up(CognitoIdpBackend.sign_up)),
               (CognitoIdpResponse, "get_user", _checking_expiry(CognitoIdpResponse.get_user)),
               (SESBackend, "send_email", _mailing(SESBackend.send_email)),
               (Subscription, "publish", _notifying(Subscription.publish)),
               (CognitoIdpResponse, "confirm_sign_up", _checking_code(CognitoIdpResponse.confirm_sign_up)),
               (CognitoIdpBackend, "admin_create_user", _inviting(CognitoIdpBackend.admin_create_user)),
               (CognitoIdpBackend, "forgot_password", _forgot_password),
               (CognitoIdpBackend, "confirm_forgot_password", _confirm_forgot_password)]
    for owner, name, replacement in patches:
        replacement.ncap_patched = True
        setattr(owner, name, replacement)


def send_mail(to: str, subject: str, body: str, kind: str) -> None:
    folder = _STATE["mail_dir"]
    if folder is None:
        return
    line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "to": to, "subject": subject,
                       "body": body, "kind": kind}, sort_keys=True)
    with _LOCK:
        Path(folder).mkdir(parents=True, exist_ok=True, mode=0o700)
        # owner-only: the emails hold codes and temporary passwords
        descriptor = os.open(Path(folder) / MAIL_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def _email(user: Any) -> str:
    return str(user.attribute_lookup.get("email", user.username))


def _pool_of_client(backend: Any, client_id: str) -> Any:
    return next((pool for pool in backend.user_pools.values() if client_id in pool.clients), None)


def _signing_up(sign_up):
    def signing_up(backend, client_id, username, password, attributes):
        from moto.cognitoidp.exceptions import NotAuthorizedError

        pool = _pool_of_client(backend, client_id)
        if pool is not None:
            if (pool.extended_config.get("AdminCreateUserConfig") or {}).get("AllowAdminCreateUserOnly"):
                raise NotAuthorizedError("SignUp is not permitted for this user pool")
            _pre_sign_up(backend, pool, client_id, username, attributes)
        user, details = sign_up(backend, client_id, username, password, attributes)
        code = "".join(secrets.choice(string.digits) for _ in range(6))
        user.confirmation_code = code
        send_mail(_email(user), "Your verification code", f"Your verification code is {code}", "verification")
        return user, {"Destination": _masked(_email(user)), "DeliveryMedium": "EMAIL", "AttributeName": "email"}

    return signing_up


def _masked(email: str) -> str:
    name, _, domain = email.partition("@")
    return f"{name[:1]}***@{domain[:1]}***"


def _pre_sign_up(backend: Any, pool: Any, client_id: str, username: str, attributes: list) -> None:
    """The product's pre sign-up rule, with its function's SIGN_UP_DOMAINS."""
    from moto.awslambda.models import lambda_backends
    from moto.core.exceptions import JsonRESTError

    from ..lambda_repo.ncap_lambda.people import sign_up_refusal

    arn = (pool.extended_config.get("LambdaConfig") or {}).get("PreSignUp")
    if not arn:
        return
    try:
        function = lambda_backends[backend.account_id][backend.region_name].get_function(arn)
    except Exception:
        raise JsonRESTError("UserLambdaValidationException", "PreSignUp invocation failed: no such function") \
            from None
    variables = (function.environment_vars or {}) if hasattr(function, "environment_vars") else {}
    domains = [d for d in str(variables.get("SIGN_UP_DOMAINS", "")).split(",") if d]
    email = {a["Name"]: a["Value"] for a in attributes or []}.get("email", username)
    refusal = sign_up_refusal({"triggerSource": "PreSignUp_SignUp", "userPoolId": pool.id,
                               "request": {"userAttributes": {"email": email}}}, domains)
    if refusal:
        raise JsonRESTError("UserLambdaValidationException", f"PreSignUp failed with error {refusal}.")


def _checking_code(confirm_sign_up):
    def checking(response):
        from moto.cognitoidp.exceptions import CodeMismatchException

        backend = response._get_region_agnostic_backend()._find_backend_for_clientid(response._get_param("ClientId"))
        pool = _pool_of_client(backend, response._get_param("ClientId"))
        user = pool._get_user(response._get_param("Username")) if pool is not None else None
        from moto.cognitoidp.exceptions import NotAuthorizedError

        expected = getattr(user, "confirmation_code", None)
        if user is not None and str(getattr(user.status, "value", user.status)) != "UNCONFIRMED":
            raise NotAuthorizedError(f"User cannot be confirmed. Current status is "
                                     f"{getattr(user.status, 'value', user.status)}")
        if user is not None and (not expected or response._get_param("ConfirmationCode") != expected):
            raise CodeMismatchException("Invalid verification code provided, please try again.")
        answer = confirm_sign_up(response)
        if user is not None:
            user.confirmation_code = None
            user.update_attributes([{"Name": "email_verified", "Value": "true"}])
        return answer

    return checking


def _checking_expiry(get_user):
    """GetUser refuses an access token past its expiry, as AWS does (moto keeps any token it issued)."""
    def checking(response):
        import base64

        from moto.cognitoidp.exceptions import NotAuthorizedError

        token = str(response._get_param("AccessToken") or "")
        parts = token.split(".") + ["", ""]
        try:
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        except (ValueError, UnicodeDecodeError):
            claims = {}
        if isinstance(claims, dict) and isinstance(claims.get("exp"), int) and claims["exp"] < time.time():
            raise NotAuthorizedError("Access Token has expired")
        return get_user(response)

    return checking


def _code() -> str:
    return "".join(secrets.choice(string.digits) for _ in range(6))


def _hides_unknown(pool: Any, client_id: str) -> bool:
    client = pool.clients.get(client_id)
    return getattr(client, "extended_config", {}).get("PreventUserExistenceErrors") == "ENABLED"


def _pool_and_user(backend: Any, client_id: str, username: str) -> tuple[Any, Any]:
    from moto.cognitoidp.exceptions import ResourceNotFoundError

    pool = _pool_of_client(backend, client_id)
    if pool is None:
        raise ResourceNotFoundError(client_id)
    return pool, pool._get_user(username)


def _forgot_password(backend: Any, client_id: str, username: str) -> tuple[None, dict[str, Any]]:
    """ForgotPassword as AWS answers it: a code emailed to the verified address (none returned)."""
    from moto.cognitoidp.exceptions import InvalidParameterException, NotAuthorizedError, UserNotFoundError

    pool, user = _pool_and_user(backend, client_id, username)
    recovery = pool.extended_config.get("AccountRecoverySetting")
    if user is None:
        if not _hides_unknown(pool, client_id):
            raise UserNotFoundError("Username/client id combination not found.")
        return None, {"CodeDeliveryDetails": _by_email(username if "@" in username else username + "@example.com")}
    status = str(getattr(user.status, "value", user.status))
    if status == "FORCE_CHANGE_PASSWORD":
        raise NotAuthorizedError("User password cannot be reset in the current state.")
    mechanisms = [m.get("Name") for m in (recovery or {}).get("RecoveryMechanisms") or []]
    if mechanisms == ["admin_only"]:
        raise NotAuthorizedError("Contact administrator to reset password.")
    if user.attribute_lookup.get("email_verified") != "true" or "email" not in user.attribute_lookup or \
            (mechanisms and "verified_email" not in mechanisms):  # the emulator sends no text messages
        raise InvalidParameterException("Cannot reset password for the user as there is no registered/verified "
                                        "email or phone_number")
    code = _code()
    user.reset_code, user.reset_expires = code, time.time() + RESET_CODE_SECONDS
    send_mail(_email(user), "Your password reset code", f"Your password reset code is {code}", "password-reset")
    return None, {"CodeDeliveryDetails": _by_email(_email(user))}


def _by_email(address: str) -> dict[str, str]:
    return {"Destination": _masked(address), "DeliveryMedium": "EMAIL", "AttributeName": "email"}


def _confirm_forgot_password(backend: Any, client_id: str, username: str, password: str,
                             confirmation_code: str) -> None:
    """ConfirmForgotPassword as AWS checks it: the emailed code, within its hour, once."""
    from moto.cognitoidp.exceptions import CodeMismatchException, ExpiredCodeException, UserNotFoundError
    from moto.cognitoidp.models import UserStatus

    pool, user = _pool_and_user(backend, client_id, username)
    if user is None:
        if _hides_unknown(pool, client_id):
            raise CodeMismatchException("Invalid verification code provided, please try again.")
        raise UserNotFoundError("Username/client id combination not found.")
    expected = getattr(user, "reset_code", None)
    if not expected or not secrets.compare_digest(str(confirmation_code or ""), expected):
        raise CodeMismatchException("Invalid verification code provided, please try again.")
    if time.time() > getattr(user, "reset_expires", 0.0):
        user.reset_code = None
        raise ExpiredCodeException("Invalid code provided, please request a code again.")
    backend._validate_password(pool.id, password)  # InvalidPasswordException; the code stays usable
    user.password, user.status, user.reset_code = password, UserStatus.CONFIRMED, None


def _inviting(admin_create_user):
    def inviting(backend, user_pool_id, username, message_action, temporary_password, attributes):
        password = temporary_password or _temporary_password()
        user = admin_create_user(backend, user_pool_id, username, message_action, password, attributes)
        if message_action != "SUPPRESS":
            send_mail(_email(user), "Your invitation",
                      f"You are invited. Sign in as {_email(user)} with the temporary password {password}; "
                      "you will be asked for a new one.", "invitation")
        return user

    return inviting


def _mailing(send_email):
    """SES: each recipient of a sent email gets it in the mail folder."""
    def mailing(backend, source, subject, body, destinations):
        message = send_email(backend, source, subject, body, destinations)
        for address in [a for addresses in destinations.values() for a in addresses]:
            send_mail(address, subject, body, "notice")
        return message

    return mailing


def _notifying(publish):
    """SNS: an email subscription of a topic gets each message in the mail folder (its
    confirmation click is taken as given)."""
    def notifying(subscription, message, message_id, subject=None, *args, **kwargs):
        publish(subscription, message, message_id, subject, *args, **kwargs)
        if subscription.protocol in ("email", "email-json"):
            send_mail(subscription.endpoint, subject or "AWS Notification Message", message, "notice")

    return notifying


def _temporary_password() -> str:
    """One that meets any password policy the product writes: upper, lower, digits, 16 long."""
    alphabet = string.ascii_letters + string.digits
    while True:
        word = "".join(secrets.choice(alphabet) for _ in range(16))
        if any(c.isupper() for c in word) and any(c.islower() for c in word) and any(c.isdigit() for c in word):
            return word

"""A directory's config: the people and labs that pipelines with `Access` share, its own small
stack (a Cognito user pool, its labs, the directory function). A folder's stack_config.json is a
directory's when it has `DirectoryName` (a pipeline's has `PipelineName`).

    {"DirectoryName": "lab-directory", "REGION": "us-east-1",
     "SignUp": {"SelfSignUp": true, "Domains": ["edu"]},
     "Mfa": "OPTIONAL", "PasswordMinimumLength": 12, "Mail": {"From": "labs@example.org"},
     "Labs": [{"LabName": "lab-a", "Admins": ["pi-a@example.org"]}]}

`Mail.From` (optional): an address verified in Amazon SES, from which the directory tells a lab's
admins of a request to join and a person of an approval, refusal or removal.

Every problem is reported at once (ConfigError)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError, Issue
from ..lambda_repo.ncap_lambda.people import LAB_NAME
from ..regions import REGIONS
from .document import EMAIL
from .load import read_document
from .schema import did_you_mean

NAME = r"^[a-z0-9][a-z0-9-]{0,39}$"
MFA = ("OFF", "OPTIONAL")  # ON would need an enrolment at the first sign-in, which ncap lab does not offer yet
MAX_LABS = 3000  # Cognito: 10,000 groups per pool, three per lab
SCHEMA: dict = {
    "type": "object", "additionalProperties": False, "required": ["DirectoryName", "REGION", "Labs"],
    "properties": {
        "$schema": {"type": "string"}, "$comment": {"type": "string"},
        "DirectoryName": {"type": "string", "pattern": NAME},
        "REGION": {"type": "string"},
        "SignUp": {"type": "object", "additionalProperties": False, "properties": {
            "SelfSignUp": {"type": "boolean"},
            "Domains": {"type": "array", "items": {"type": "string", "pattern": r"^[A-Za-z0-9.-]+$"}}}},
        "Mfa": {"type": "string", "enum": list(MFA)},
        "PasswordMinimumLength": {"type": "integer", "minimum": 8, "maximum": 99},
        "Mail": {"type": "object", "additionalProperties": False, "required": ["From"], "properties": {
            "From": {"type": "string"}}},
        "Portal": {"type": "object", "additionalProperties": False, "required": ["Origin"], "properties": {
            "Origin": {"type": "string", "pattern": r"^https://[a-z0-9.-]+(:[0-9]+)?$"}}},
        "Labs": {"type": "array", "maxItems": MAX_LABS, "items": {
            "type": "object", "additionalProperties": False, "required": ["LabName"], "properties": {
                "LabName": {"type": "string"}, "$comment": {"type": "string"},
                "Admins": {"type": "array", "items": {"type": "string"}}}}},
    },
}


@dataclass(frozen=True)
class Lab:
    name: str
    admins: tuple[str, ...]


@dataclass(frozen=True)
class DirectoryConfig:
    name: str
    region: str
    labs: tuple[Lab, ...]
    self_sign_up: bool = True
    domains: tuple[str, ...] = ()  # empty: any address may sign up by itself
    mfa: str = "OPTIONAL"
    password_minimum_length: int = 12
    mail_from: str | None = None  # Mail.From: the SES identity the directory's notices come from
    portal_origin: str | None = None  # Portal.Origin: where the lab portal is served (https://...)
    source: Path | None = None


def is_directory(doc: Any) -> bool:
    return isinstance(doc, dict) and "DirectoryName" in doc and "PipelineName" not in doc


def load_directory(path: str | Path) -> DirectoryConfig:
    path = Path(path)
    return directory_from(read_document(path), path)


def directory_from(doc: Any, source: Path | None = None) -> DirectoryConfig:
    issues = _schema_issues(doc)
    if isinstance(doc, dict):
        issues += list(_checks(doc))
    if issues:
        raise ConfigError(sorted(dict.fromkeys(issues), key=lambda i: i.path))
    sign_up = doc.get("SignUp") or {}
    return DirectoryConfig(
        name=doc["DirectoryName"], region=doc["REGION"],
        labs=tuple(Lab(e["LabName"], tuple(sorted({a.lower() for a in e.get("Admins", [])})))
                   for e in doc["Labs"]),
        self_sign_up=sign_up.get("SelfSignUp", True),
        domains=tuple(d.lower().lstrip(".") for d in sign_up.get("Domains", [])),
        mfa=doc.get("Mfa", "OPTIONAL"), password_minimum_length=doc.get("PasswordMinimumLength", 12),
        mail_from=(doc.get("Mail") or {}).get("From"), portal_origin=(doc.get("Portal") or {}).get("Origin"),
        source=source)


def _schema_issues(doc: Any) -> list[Issue]:
    import jsonschema

    found = []
    for error in jsonschema.Draft202012Validator(SCHEMA).iter_errors(doc):
        path = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in error.absolute_path).replace(".[", "[")
        message = error.message
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = error.schema.get("properties", {})
            extra = [k for k in error.instance if k not in allowed]
            message = "; ".join(f"unknown key {k!r}{did_you_mean(k, list(allowed))}" for k in extra)
        found.append(Issue(path or "(top level)", message))
    return found


def _checks(doc: dict):
    if isinstance(doc.get("REGION"), str) and doc["REGION"] not in REGIONS:
        yield Issue("REGION", f"not an AWS region this product knows: {doc['REGION']!r}")
    sender = (doc.get("Mail") or {}).get("From") if isinstance(doc.get("Mail"), dict) else None
    if isinstance(sender, str) and not EMAIL.fullmatch(sender):
        yield Issue("Mail.From", f"not an email address: {sender!r}")
    seen: set[str] = set()
    labs = doc.get("Labs")
    for index, entry in enumerate(labs if isinstance(labs, list) else []):
        if not isinstance(entry, dict):
            continue
        name = entry.get("LabName")
        if isinstance(name, str):
            if not LAB_NAME.fullmatch(name):
                yield Issue(f"Labs[{index}].LabName", "lowercase letters, digits and '-' (at most 63), starting "
                                                      f"with a letter or digit (got {name!r})")
            elif name in seen:
                yield Issue(f"Labs[{index}].LabName", f"lab {name!r} is listed twice")
            seen.add(name)
        admins = entry.get("Admins")
        for position, email in enumerate(admins if isinstance(admins, list) else []):
            if isinstance(email, str) and not EMAIL.fullmatch(email):
                yield Issue(f"Labs[{index}].Admins[{position}]", f"not an email address: {email!r}")

"""The directory of people and labs, as its stack, its function and the pipelines that use it
name things: standard library only, like roles.py.

A lab is three groups of the directory's Cognito user pool: its members (`LAB`), its admins
(`LAB.admins`, members too) and the people asking to join (`LAB.requests`). A pipeline that uses
the directory registers itself in an SSM parameter under the directory's path (its bucket, labs,
folders and the one role its lab members' sessions take), and makes that role on the directory's
IAM path, trusting the directory function's role only. The function hands a signed-in member of a
lab a session of that role tagged with the lab (`ncap-lab`), which IAM confines to the lab's
folders; one role per pipeline, however many labs and people."""
import hashlib
import re

from .roles import LAB_TAG, ROLE_NAME_LIMIT

__all__ = ["LAB_TAG", "ADMINS", "REQUESTS", "LAB_NAME", "domain_allowed", "sign_up_refusal", "admins_group",
           "requests_group", "role_path", "member_role_name", "function_name", "registration_path",
           "registration_name", "lab_of_group", "portal_origin_parameter"]

ADMINS = ".admins"
REQUESTS = ".requests"
LAB_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")  # a lab's folder name: no dots, so the groups stay apart
SESSION_SECONDS = 3600  # a lab member's credentials last an hour at most, then are renewed


def admins_group(lab):
    return lab + ADMINS


def requests_group(lab):
    return lab + REQUESTS


def lab_of_group(group):
    """(lab, "member" | "admin" | "requested") of a directory group name."""
    if group.endswith(ADMINS):
        return group[: -len(ADMINS)], "admin"
    if group.endswith(REQUESTS):
        return group[: -len(REQUESTS)], "requested"
    return group, "member"


def role_path(directory):
    """The IAM path of the roles the directory function may hand out sessions of."""
    return f"/ncap-directory/{directory}/"


def member_role_name(pipeline):
    """One per pipeline (role names are unique in an account: a long one ends in a digest)."""
    name = f"{pipeline}-members"
    if len(name) <= ROLE_NAME_LIMIT:
        return name
    return f"{pipeline[:43]}-members-{hashlib.sha256(pipeline.encode()).hexdigest()[:10]}"


def function_name(directory):
    return f"{directory}-directory"


def registration_path(directory):
    return f"/ncap-directory/{directory}/pipelines/"


def registration_name(directory, pipeline):
    return registration_path(directory) + pipeline


def portal_origin_parameter(directory):
    """The SSM parameter holding the directory's portal origin (https://...), which the pipelines'
    buckets name in their CORS rules."""
    return f"/ncap-directory/{directory}/portal-origin"


def domain_allowed(email, domains):
    """True when `email`'s domain is one of `domains` or below one (`edu` admits `mit.edu`); any
    address when `domains` is empty."""
    domain = email.rsplit("@", 1)[-1].lower()
    return not domains or any(domain == d or domain.endswith("." + d) for d in domains)


def sign_up_refusal(event, domains):
    """Why the pre sign-up trigger refuses this event, or None. Invitations
    (PreSignUp_AdminCreateUser) are always let through."""
    if event.get("triggerSource") != "PreSignUp_SignUp":
        return None
    email = ((event.get("request") or {}).get("userAttributes") or {}).get("email", "")
    if domain_allowed(email, domains):
        return None
    return f"sign-up is open to addresses of {', '.join(domains)}; ask a lab admin to invite you"

"""Named checks of the labs (affiliates) and their users: names IAM and S3 accept, unique names
(IAM ignores case), ids that do not collide, and what CloudFormation's answer limits allow."""
from __future__ import annotations

import re
from collections.abc import Iterator

from .. import names
from ..errors import Issue
from ..regions import partition
from .document import affiliate_path, affiliates, items

AFFILIATE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
IAM_USER_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
RESERVED_AFFILIATE_NAMES = ("logs",)


def check_affiliates(doc: dict) -> Iterator[Issue]:
    pipeline = str(doc["PipelineName"]) if isinstance(doc.get("PipelineName"), str) else ""
    seen: dict[str, int] = {}
    ids: dict[str, str] = {}
    for index, entry in affiliates(doc):
        name = entry.get("AffiliateName")
        if not isinstance(name, str):
            continue
        path = affiliate_path(index, "AffiliateName")
        if not AFFILIATE_NAME.fullmatch(name):
            yield Issue(path, "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter "
                              f"or digit (got {name!r})")
            continue
        if name.lower() in RESERVED_AFFILIATE_NAMES:
            yield Issue(path, f"'{name}' is reserved: the bucket's top-level {name}/ folder holds "
                              "the pipeline's own records")
        if len(names.group_name(pipeline, name)) > 128:
            yield Issue(path, f"IAM group name '{names.group_name(pipeline, name)}' would exceed 128 characters")
        yield from _unique(seen, ids, name, index, path, names.group(name), "affiliate")


def _unique(seen: dict, ids: dict, name: str, index: int, path: str, logical: str, what: str):
    folded = name.lower()
    if folded in seen:
        yield Issue(path, f"duplicate {what} name '{name}' (IAM names ignore case; "
                          f"first used at index {seen[folded]})")
    elif logical in ids:
        yield Issue(path, f"{what} name '{name}' and '{ids[logical]}' map to the same "
                          f"resource id {logical}; rename one")
    seen.setdefault(folded, index)
    ids.setdefault(logical, name)


def check_user_names(doc: dict) -> Iterator[Issue]:
    seen: dict[str, str] = {}
    ids: dict[str, str] = {}
    for index, entry in affiliates(doc):
        for key in ("UserNames", "ExistingUserNames"):
            for position, user in enumerate(items(entry.get(key))):
                if isinstance(user, str):
                    path = affiliate_path(index, f"{key}[{position}]")
                    yield from _check_user(user, path, seen, ids, created=key == "UserNames")


def _check_user(user: str, path: str, seen: dict, ids: dict, created: bool) -> Iterator[Issue]:
    if not IAM_USER_NAME.fullmatch(user):
        yield Issue(path, "IAM user names are 1-64 letters, digits or + = , . @ _ - "
                          f"(got {user!r})")
        return
    folded = user.lower()
    if folded in seen:
        yield Issue(path, f"duplicate user name '{user}' (IAM user names are unique per account "
                          f"and ignore case; also at {seen[folded]})")
    elif created and names.user(user) in ids:
        yield Issue(path, f"user names '{user}' and '{ids[names.user(user)]}' map to the same "
                          f"resource id {names.user(user)}; rename one")
    seen.setdefault(folded, path)
    if created:
        ids.setdefault(names.user(user), user)


CUSTOM_RESOURCE_ANSWER_BYTES = 4096  # CloudFormation's limit on a custom resource's response
ANSWER_OVERHEAD_BYTES = 700  # status, ids, stack ARN, request id: generous upper bound


def check_credentials_answer_size(doc: dict) -> Iterator[Issue]:
    """Each lab's credentials resource answers with one secret ARN per user; CloudFormation
    refuses an answer over 4096 bytes."""
    pipeline = str(doc["PipelineName"]) if isinstance(doc.get("PipelineName"), str) else ""
    region = str(doc["REGION"]) if isinstance(doc.get("REGION"), str) else "us-east-1"
    for index, entry in affiliates(doc):
        users = [u for u in items(entry.get("UserNames")) if isinstance(u, str)]
        size = ANSWER_OVERHEAD_BYTES + sum(len(names.secret_arn_attribute(u)) + 6 + len(
            f"arn:{partition(region)}:secretsmanager:{region}:123456789012:secret:ncap/{pipeline}/keys/{u}-AbCdEf")
            for u in users)
        if size > CUSTOM_RESOURCE_ANSWER_BYTES:
            yield Issue(affiliate_path(index, "UserNames"),
                        f"{len(users)} users are too many for one lab: the answer listing their "
                        f"secrets would be about {size} bytes and CloudFormation accepts "
                        f"{CUSTOM_RESOURCE_ANSWER_BYTES}; move some users to another lab")


def check_affiliate_has_users(doc: dict) -> Iterator[Issue]:
    for index, entry in affiliates(doc):
        if not items(entry.get("UserNames")) and not items(entry.get("ExistingUserNames")) \
                and isinstance(entry.get("UserNames", []), list):
            yield Issue(affiliate_path(index, "UserNames"),
                        "the lab needs at least one user (UserNames or ExistingUserNames)")

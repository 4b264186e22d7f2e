"""Named checks of the labs (affiliates) and their users: names IAM and S3 accept, unique lab names
and ids, one spelling per person (IAM ignores case), and IAM's limits on groups per user and users
per account."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from .. import names
from ..errors import Issue
from .access import uses_directory
from .document import affiliate_path, affiliates, items

AFFILIATE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
IAM_USER_NAME = re.compile(r"^[A-Za-z0-9+=,.@_-]{1,64}$")
RESERVED_AFFILIATE_NAMES = ("logs", "ledger")  # the pipeline's own top-level folders
MAX_GROUPS_PER_USER = 10  # IAM: groups a user can be in
MAX_USERS_PER_ACCOUNT = 5000  # IAM: users per account


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
    """A person may be in several labs (created once, in each lab's group); a name is spelled the
    same everywhere (IAM ignores case), is created or existing, never both, and is in at most
    IAM's 10 groups. People of a pipeline with Access are the directory's, not IAM users."""
    if uses_directory(doc):
        return
    people: dict[str, Person] = {}
    for index, entry in affiliates(doc):
        in_lab: set[str] = set()
        for key in ("UserNames", "ExistingUserNames"):
            for position, user in enumerate(items(entry.get(key))):
                if isinstance(user, str):
                    path = affiliate_path(index, f"{key}[{position}]")
                    yield from _check_user(user, path, people, in_lab, key == "UserNames", _lab(entry, index))
    yield from _check_user_count(people)


@dataclass
class Person:
    spelling: str
    created: bool
    first: str  # where it is first listed
    labs: list[str]


def _lab(entry: dict, index: int) -> str:
    name = entry.get("AffiliateName")
    return name if isinstance(name, str) else f"lab {index}"


def _check_user(user: str, path: str, people: dict, in_lab: set, created: bool, lab: str) -> Iterator[Issue]:
    if not IAM_USER_NAME.fullmatch(user):
        yield Issue(path, f"IAM user names are 1-64 letters, digits or + = , . @ _ - (got {user!r})")
        return
    folded, known = user.lower(), people.get(user.lower())
    if folded in in_lab:
        yield Issue(path, f"user '{user}' is listed twice in lab {lab}")
        return
    in_lab.add(folded)
    if known is None:
        people[folded] = Person(user, created, path, [lab])
        return
    yield from _same_person(user, path, known, created)
    known.labs.append(lab)
    if len(known.labs) == MAX_GROUPS_PER_USER + 1:
        yield Issue(path, f"user '{user}' would be in {len(known.labs)} labs ({', '.join(known.labs)}); IAM "
                          f"allows a user in at most {MAX_GROUPS_PER_USER} groups, one per lab")


def _same_person(user: str, path: str, known: Person, created: bool) -> Iterator[Issue]:
    if user != known.spelling:
        yield Issue(path, f"'{user}' and '{known.spelling}' (at {known.first}) differ only by case: IAM "
                          f"ignores case, so they would be one user; spell it the same everywhere")
    elif created != known.created:
        yield Issue(path, f"user '{user}' is both created by this pipeline and listed as existing (also at "
                          f"{known.first}); list it under UserNames in every lab, or ExistingUserNames in every lab")


def _check_user_count(people: dict) -> Iterator[Issue]:
    created = sum(1 for person in people.values() if person.created)
    if created > MAX_USERS_PER_ACCOUNT:
        yield Issue("UXData.Affiliates", f"{created:,} users to create; IAM allows {MAX_USERS_PER_ACCOUNT:,} "
                                         f"users per account ({created - MAX_USERS_PER_ACCOUNT:,} too many)")


def check_affiliate_has_users(doc: dict) -> Iterator[Issue]:
    if uses_directory(doc):  # its members join through the directory
        return
    for index, entry in affiliates(doc):
        if not items(entry.get("UserNames")) and not items(entry.get("ExistingUserNames")) \
                and isinstance(entry.get("UserNames", []), list):
            yield Issue(affiliate_path(index, "UserNames"),
                        "the lab needs at least one user (UserNames or ExistingUserNames)")

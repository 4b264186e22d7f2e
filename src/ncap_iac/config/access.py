"""Named checks of a pipeline whose labs sign in to a directory (Access.Directory): its labs are
the directory's labs (folder names the directory accepts), each lab's UserNames are the email
addresses invited to it, and nothing of IAM users (existing users, console passwords) applies."""
from __future__ import annotations

from collections.abc import Iterator

from ..errors import Issue
from ..lambda_repo.ncap_lambda.people import LAB_NAME
from .document import EMAIL, affiliate_path, affiliates, items, obj


def uses_directory(doc: dict) -> bool:
    return bool(obj(doc.get("Access")))


def check_access(doc: dict) -> Iterator[Issue]:
    if not uses_directory(doc):
        return
    for index, entry in affiliates(doc):
        name = entry.get("AffiliateName")
        if isinstance(name, str) and not LAB_NAME.fullmatch(name):
            yield Issue(affiliate_path(index, "AffiliateName"),
                        "a lab of a directory is named with lowercase letters, digits and '-' (at most 63), "
                        f"starting with a letter or digit (got {name!r})")
        for position, user in enumerate(items(entry.get("UserNames"))):
            if isinstance(user, str) and not EMAIL.fullmatch(user):
                yield Issue(affiliate_path(index, f"UserNames[{position}]"),
                            f"with Access, UserNames are the email addresses invited to the lab (got {user!r})")
        for key in ("ExistingUserNames", "ConsoleLogin"):
            if key in entry:
                yield Issue(affiliate_path(index, key),
                            f"{key} is about IAM users, which a pipeline with Access does not make; remove it")

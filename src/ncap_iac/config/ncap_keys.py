"""What NCAP keys this product does not use mean here: accepted with a warning, never silently."""
from __future__ import annotations

from typing import Any

from ..errors import Issue
from .document import EMAIL, affiliate_path, affiliates, obj

UNUSED_NCAP_KEYS = {
    ("Lambda", "Launch"): "NCAP marks it not implemented; ignored",
    ("Lambda", "LambdaConfig", "IAM_ROLE"): "ignored: the stack creates a least-privilege instance role",
    ("Lambda", "LambdaConfig", "WORKING_DIRECTORY"): "NCAP marks it as not working; ignored "
                                                      "(the command runs in the job's working folder)",
}
UNUSED_AFFILIATE_KEYS = ("UserInput", "PipelinePath", "PipelineDir")


def warnings(doc: dict) -> list[Issue]:
    found = []
    for path, why in UNUSED_NCAP_KEYS.items():
        node: Any = doc
        for key in path:
            node = obj(node).get(key) if key != path[-1] else node
        if path[-1] in obj(node):
            found.append(Issue(".".join(path), why))
    for index, entry in affiliates(doc):
        found += [Issue(affiliate_path(index, key), "NCAP marks it not implemented; ignored")
                  for key in UNUSED_AFFILIATE_KEYS if key in entry]
        email = entry.get("ContactEmail")
        if isinstance(email, str) and not EMAIL.fullmatch(email):
            found.append(Issue(affiliate_path(index, "ContactEmail"),
                               "not an email address, so this lab gets no notices"))
    return found

"""The config's own Lambda code: its CodeUri folder must hold the submit handler it names, and
its Requirements file is for that code (or the post-processing function's); what NCAP's own code
names mean here is said in notes."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import Issue
from ..lambda_code import SUBMIT_HANDLER, handler_problem, names_ncap_code, names_ncap_handler, product_code
from . import document, post
from .schema import default


def code_uri_issues(doc: dict, base_dir: Path) -> list[Issue]:
    code_uri, handler = code_settings(doc)
    if not isinstance(code_uri, str) or not isinstance(handler, str) or not code_uri:
        return []  # the schema reports these
    if names_ncap_code(code_uri):
        problem = None if names_ncap_handler(handler) else handler_problem(product_code(), handler)
        return [Issue("Lambda.Handler", f"the product's submit code {problem}")] if problem else []
    folder = _folder(base_dir, code_uri)
    if isinstance(folder, Issue):
        return [folder]
    problem = handler_problem(folder, handler)
    return [Issue("Lambda.Handler", f"folder '{code_uri}' ({folder}) {problem}")] if problem else []


def code_settings(doc: dict) -> tuple[Any, Any]:
    section = document.obj(doc.get("Lambda"))
    return (section.get("CodeUri", default("Lambda", "CodeUri")),
            section.get("Handler", default("Lambda", "Handler")))


def _folder(base_dir: Path, code_uri: str) -> Path | Issue:
    """The config's own code folder, or the Issue that says why it is unusable."""
    try:
        folder = (base_dir / code_uri).resolve()
        found = folder.is_dir()
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        return Issue("Lambda.CodeUri", f"not a usable folder path ({why}; {len(code_uri)} characters)")
    if not found:
        return Issue("Lambda.CodeUri", f"folder '{code_uri}' not found next to the config ({base_dir})")
    return folder


def requirements(doc: dict, base_dir: Path) -> Path | None:
    given = document.obj(doc.get("Lambda")).get("Requirements")
    if not isinstance(given, str):
        return None
    try:
        path = (base_dir / given).resolve()
        return path if path.is_file() else None
    except (OSError, ValueError):
        return None


def requirements_notes(doc: dict, base_dir: Path) -> list[Issue]:
    given = document.obj(doc.get("Lambda")).get("Requirements")
    if not isinstance(given, str) or (post.configured(doc) and requirements(doc, base_dir)):
        return []  # a post-processing function's requirements
    if requirements(doc, base_dir) is None:
        return [Issue("Lambda.Requirements", f"'{given}' is not a file beside the config; the product's functions "
                                             f"bring their own requirements")]
    return [Issue("Lambda.Requirements", f"'{given}' is for code of the config's own; the product's functions bring "
                                         f"their own requirements")]


def code_notes(doc: dict) -> list[Issue]:
    section = document.obj(doc.get("Lambda"))
    code_uri, handler = code_settings(doc)
    if "CodeUri" in section and isinstance(code_uri, str) and names_ncap_code(code_uri):
        return [Issue("Lambda.CodeUri", f"'{code_uri}' with handler '{handler}' names NCAP's submit code: "
                                        f"the product's own submit function ({SUBMIT_HANDLER}) replaces it")]
    return []

"""The product's Lambda code (lambda_repo/, installed as ncap_iac.lambda_repo) and the folders a
config's Lambda.CodeUri may name.

A compiled template's functions take their code from a folder beside the template, CODE_FOLDER,
which `ncap compile` fills with a copy of the product's code: the template folder is then whole
by itself (what `sam build`, `sam package` and the local cloud read), the template names no path
of the machine it was compiled on (the same config compiles to the same bytes everywhere), and a
pipeline repository needs no checkout of this project. A config whose CodeUri names a folder of
its own (not NCAP's) keeps that folder for the submit function, referenced relative to the
template."""
from __future__ import annotations

import ast
import os
import re
import shutil
from functools import lru_cache
from importlib import resources
from pathlib import Path

CODE_FOLDER = "ncap_functions"
SUBMIT_HANDLER = "submit_start.handler"
SKIPPED = {"__pycache__", ".pytest_cache", ".aws-sam"}
# NCAP's own submit code, as real NCAP configs name it: the product's submit function replaces it.
NCAP_FOLDER = re.compile(r"^(\.\./)*(lambda_code|lambda_repo|protocols)(/[^/]+)*$")
HANDLER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
NCAP_HANDLER = re.compile(r"^(submit_start(_legacy_\w+)?|submit)\.handler(_\w+)?$")


@lru_cache(maxsize=1)
def product_code() -> Path:
    """The folder of the product's Lambda code, wherever the package is installed."""
    return Path(str(resources.files("ncap_iac.lambda_repo")))


def names_ncap_code(code_uri: str) -> bool:
    """True when a CodeUri is one of the folders NCAP pipelines use for NCAP's own code."""
    return NCAP_FOLDER.fullmatch(os.path.normpath(code_uri).replace(os.sep, "/").strip("/")) is not None \
        if code_uri.strip() else False


def names_ncap_handler(handler: str) -> bool:
    return NCAP_HANDLER.fullmatch(handler) is not None


def code_files(folder: Path) -> list[Path]:
    """Every file of a code folder, sorted, without caches and compiled bytecode."""
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".pyc"
                  and not SKIPPED.intersection(p.relative_to(folder).parts))


def handler_problem(folder: Path, handler: str) -> str | None:
    """Why `folder` cannot run `module.function`, or None. The module is read, never imported; a
    handler that is not module.function at all is the schema's to report."""
    if not HANDLER.fullmatch(handler):
        return None
    module, _, function = handler.rpartition(".")
    path = folder.joinpath(*module.split(".")).with_suffix(".py")
    try:
        tree = ast.parse(path.read_bytes())
    except FileNotFoundError:
        return f"has no {path.relative_to(folder).as_posix()} for the handler {handler}"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"cannot read {path.name} for the handler {handler}: {exc}"
    defined = {node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}
    defined |= {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                if isinstance(t, ast.Name)}
    return None if function in defined else f"{path.name} defines no {function} (the handler {handler})"


def copy_beside(template_dir: Path) -> Path:
    """Make template_dir/CODE_FOLDER an exact copy of the product's code; files already equal are
    left alone (so their times stay, and `sam build` caches stay valid). Returns the folder."""
    source, target = product_code(), template_dir / CODE_FOLDER
    wanted = {p.relative_to(source): p for p in code_files(source)}
    if target.exists():
        for stale in code_files(target):
            if stale.relative_to(target) not in wanted:
                stale.unlink()
    for relative, path in wanted.items():
        copy = target / relative
        data = path.read_bytes()
        if not copy.is_file() or copy.read_bytes() != data:
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(data)
            shutil.copymode(path, copy)
    return target

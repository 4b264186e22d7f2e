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
# The post-processing function's code beside the template: a copy of the developer's folder with
# the product's wrapper (POST_MODULE, its handler POST_HANDLER) and job contract package added.
POST_FOLDER = "ncap_post_function"
POST_MODULE = "ncap_post"
POST_HANDLER = f"{POST_MODULE}.handler"
CONTRACT_PACKAGE = "ncap_lambda"
POST_RESERVED = (f"{POST_MODULE}.py", CONTRACT_PACKAGE)  # names the copy takes for the product's code
REQUIREMENTS = "requirements.txt"
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
    package = path.with_suffix("") / "__init__.py"
    path = package if not path.is_file() and package.is_file() else path
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
    source = product_code()
    return _mirror(template_dir / CODE_FOLDER, {p.relative_to(source): p for p in code_files(source)})


def copy_post_beside(template_dir: Path, code_uri: Path, requirements: Path | None) -> Path:
    """Make template_dir/POST_FOLDER the developer's folder plus the product's wrapper and job
    contract package (and `requirements` as requirements.txt, when given), as copy_beside does."""
    product = product_code()
    wanted = {p.relative_to(code_uri): p for p in code_files(code_uri)}
    wanted[Path(f"{POST_MODULE}.py")] = product / f"{POST_MODULE}.py"
    wanted.update({p.relative_to(product): p for p in code_files(product / CONTRACT_PACKAGE)})
    if requirements is not None:
        wanted[Path(REQUIREMENTS)] = requirements
    return _mirror(template_dir / POST_FOLDER, wanted)


def _mirror(target: Path, wanted: dict[Path, Path]) -> Path:
    """target holds exactly `wanted` (relative path -> source file); equal files are not rewritten."""
    if target.exists():
        for stale in code_files(target):
            if stale.relative_to(target) not in wanted:
                stale.unlink()
    for relative, path in sorted(wanted.items()):
        copy = target / relative
        data = path.read_bytes()
        if not copy.is_file() or copy.read_bytes() != data:
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(data)
            shutil.copymode(path, copy)
    return target

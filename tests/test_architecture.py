"""The import graph (every import, function-level ones included) keeps the layers of
docs/architecture.md: arrows point one way, deploy/ and local/ never import each other, the worker
stands alone, and the Lambda code never imports the package around it."""
import ast
from pathlib import Path

import pytest

from conftest import REPO

SOURCE = REPO / "src"
FOUNDATION = ("ncap_iac.errors", "ncap_iac.names", "ncap_iac.regions", "ncap_iac.prices", "ncap_iac.lambda_code",
              "ncap_iac.lambda_repo", "ncap_iac.bundle", "ncap_iac.images")
COMPILER = ("ncap_iac.compiler", "ncap_iac.translate", "ncap_iac.lint")
# layer -> what its modules may import (besides themselves and the package's own __init__)
ALLOWED = {
    "ncap_iac.config": FOUNDATION,
    "ncap_iac.template": FOUNDATION + ("ncap_iac.config",),
    "ncap_iac.compiler": FOUNDATION + ("ncap_iac.config", "ncap_iac.template") + COMPILER,
    "ncap_iac.translate": FOUNDATION,
    "ncap_iac.lint": FOUNDATION,
    "ncap_iac.aws": FOUNDATION,
    "ncap_iac.emulator": FOUNDATION + ("ncap_iac.aws",),
    "ncap_iac.cost": FOUNDATION + ("ncap_iac.config", "ncap_iac.template") + COMPILER,
    "ncap_iac.deploy": FOUNDATION + ("ncap_iac.config", "ncap_iac.template", "ncap_iac.aws",
                                     "ncap_iac.emulator") + COMPILER,
    "ncap_iac.local": FOUNDATION + ("ncap_iac.config", "ncap_iac.template", "ncap_iac.aws",
                                    "ncap_iac.emulator") + COMPILER,
    "ncap_iac.worker": FOUNDATION,
    "ncap_iac.lab": FOUNDATION,  # the lab member's client of the job contract
    "ncap_iac.lambda_code": ("ncap_iac.lambda_repo",),
    "ncap_iac.names": (),
    "ncap_iac.regions": (),
    "ncap_iac.prices": (),
    "ncap_iac.errors": (),
    "ncap_iac.lambda_repo": (),
    "ncap_iac.bundle": ("ncap_iac.errors",),
    "ncap_iac.images": (),
    "ncap_iac.portal": (),  # the lab portal's built files (from portal/), no Python of its own
    "ncap_iac.scaffold": FOUNDATION + ("ncap_iac.config",),  # files in, archives out: what ships to the instances
}


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, module: str) -> set[str]:
    """Every module `path` imports, anywhere in it, as absolute names."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: len(module.split(".")) - node.level + (1 if is_package else 0)]
                base = ".".join(anchor + ([node.module] if node.module else []))
            found.add(base)
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return found


def graph(root: Path) -> dict[str, set[str]]:
    return {module_name(p, root): imports(p, module_name(p, root)) for p in sorted(root.rglob("*.py"))}


def layer_of(module: str) -> str | None:
    for layer in sorted(ALLOWED, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    return None


def violations(edges: dict[str, set[str]]) -> list[str]:
    found = []
    for module, targets in sorted(edges.items()):
        layer = layer_of(module)
        if layer is None:
            continue  # the command line, the demo: the top, free to import every layer
        for target in sorted(t for t in targets if t.startswith("ncap_iac.") and t != "ncap_iac.__init__"):
            owner = layer_of(target) or target  # unlayered: the top (ncap_iac.cli, ncap_iac.demo)
            ok = owner == layer or owner in ALLOWED[layer]
            if not ok:
                found.append(f"{module} imports {target}")
    return found


def test_every_import_follows_the_layers():
    edges = graph(SOURCE)
    assert len(edges) > 80  # the whole package was read
    assert violations(edges) == []


def test_the_lambda_code_never_imports_the_package():
    edges = graph(REPO / "lambda_repo")
    assert edges and not [f"{m} imports {t}" for m, ts in edges.items() for t in ts if t.startswith("ncap_iac")]


@pytest.mark.parametrize("module, source, wrong", [
    ("deploy/x.py", "def f():\n    from ..local import cloud\n", "ncap_iac.deploy.x imports ncap_iac.local"),
    ("local/x.py", "from ncap_iac.deploy.cfn import Poll\n", "ncap_iac.local.x imports ncap_iac.deploy.cfn"),
    ("config/x.py", "from .. import template\n", "ncap_iac.config.x imports ncap_iac.template"),
    ("template/x.py", "import ncap_iac.local.stack\n", "ncap_iac.template.x imports ncap_iac.local.stack"),
    ("worker/x.py", "from ..aws.clients import Aws\n", "ncap_iac.worker.x imports ncap_iac.aws"),
    ("emulator/x.py", "from .. import cli\n", "ncap_iac.emulator.x imports ncap_iac.cli"),
])
def test_a_wrong_arrow_is_found(tmp_path, module, source, wrong):
    path = tmp_path / "ncap_iac" / module
    path.parent.mkdir(parents=True)
    path.write_text(source)
    assert any(v.startswith(wrong) for v in violations(graph(tmp_path))), violations(graph(tmp_path))

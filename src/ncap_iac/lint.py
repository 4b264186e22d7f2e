"""cfn-lint, through its Python API, as the gate every compiled template passes.

Rules ignored for every template are listed here, each with its reason; there are none today.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from .errors import NcapError

IGNORED_RULES: dict[str, str] = {}


@dataclass(frozen=True)
class Finding:
    rule: str
    level: str  # error, warning or informational
    message: str
    where: str

    def __str__(self) -> str:
        return f"{self.level.upper()} {self.rule} {self.where}: {self.message}"


def lint_template(template: dict, region: str) -> list[Finding]:
    from cfnlint.api import ManualArgs, lint
    from cfnlint.exceptions import InvalidRegionException

    args = ManualArgs(regions=[region], ignore_checks=sorted(IGNORED_RULES))
    try:
        matches = lint(json.dumps(template), config=args)
    except InvalidRegionException:
        raise NcapError(f"--region: cfn-lint does not know the region '{region}'") from None
    return [_finding(m) for m in matches]


def _finding(match) -> Finding:
    level = str(getattr(match.rule, "severity", "error")).lower()
    path = "/".join(str(p) for p in (getattr(match, "path", None) or []))
    return Finding(match.rule.id, level, match.message, path or f"line {match.linenumber}")


# The image setup scripts (Workers.Image.Setup), read by shellcheck --------------------------------

SHELLCHECK_LEVELS = {"error": "error", "warning": "warning", "info": "informational", "style": "informational"}


def setup_script_findings(config) -> list[Finding] | None:
    """shellcheck's findings on every stage's image setup scripts (each once); None when shellcheck
    is not installed (Debian: apt-get install shellcheck)."""
    import shutil

    scripts = {(script.name, script.text) for stage in config.worker_stages if stage.workers.image
               for script in stage.workers.image.setup}
    if not scripts:
        return []
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        return None
    return [finding for name, text in sorted(scripts) for finding in _shellcheck(shellcheck, name, text)]


def _shellcheck(shellcheck: str, name: str, text: str) -> list[Finding]:
    import subprocess

    shell = [] if text.startswith("#!") else ["--shell=bash"]  # Image Builder runs them with bash
    done = subprocess.run([shellcheck, "--format=json1", *shell, "-"], input=text, capture_output=True, text=True,
                          timeout=120)
    if done.returncode not in (0, 1):
        raise NcapError(f"shellcheck could not read {name}: {done.stderr.strip() or done.returncode}")
    comments = json.loads(done.stdout or '{"comments": []}')["comments"]
    return [Finding(f"SC{c['code']}", SHELLCHECK_LEVELS.get(c["level"], "error"), c["message"],
                    f"{name}:{c['line']}:{c['column']}") for c in comments]

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

"""The error types the library raises for problems a user can fix."""
from __future__ import annotations

from dataclasses import dataclass


class NcapError(Exception):
    """Base class: the CLI prints these as clean messages and exits 1."""

    def lines(self) -> list[str]:
        return [str(self)]


@dataclass(frozen=True)
class Issue:
    """One problem in a config: where it is (a JSON path) and what is wrong."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class ConfigError(NcapError):
    """Every problem found in one config, reported together."""

    def __init__(self, issues: list[Issue] | list[tuple[str, str]]):
        self.issues = [i if isinstance(i, Issue) else Issue(*i) for i in issues]
        super().__init__("\n".join(str(i) for i in self.issues))

    def lines(self) -> list[str]:
        return [str(i) for i in self.issues]

    @property
    def paths(self) -> list[str]:
        return [i.path for i in self.issues]


class TemplateLimitError(NcapError):
    """The compiled template would exceed a CloudFormation quota."""


class DeployError(NcapError):
    """A deployment step failed (raised by ncap_iac.deploy)."""

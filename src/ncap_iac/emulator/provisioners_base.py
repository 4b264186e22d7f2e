"""What a provisioner is: the create, update, delete and find of one resource type made through
the regular AWS APIs; and the error codes that mean "already gone"."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..aws.errors import aws_errors, error_code

GONE = ("NoSuchEntity", "ResourceNotFoundException", "NotFound", "NoSuchBucketPolicy",
        "AWS.SimpleQueueService.NonExistentQueue", "ValidationError")


@dataclass(frozen=True)
class Provisioner:
    """Each function takes the logical id, the resolved properties (old and new for an update),
    the emulator's Aws and the stack's name."""

    create: Callable[[str, dict, Any, str], str]  # -> the physical id
    update: Callable[[str, dict, dict, Any, str], str] | None = None  # None: create again (a put)
    delete: Callable[[str, dict, Any, str], None] | None = None  # None: nothing to remove
    find: Callable[[str, dict, Any, str], str | None] | None = None  # the physical id of one made before

    def apply_update(self, logical_id: str, old: dict, new: dict, aws: Any, stack: str) -> str:
        if self.update is None:
            return self.create(logical_id, new, aws, stack)
        return self.update(logical_id, old, new, aws, stack)


def ignore_gone(action: Callable[[], Any]) -> None:
    try:
        action()
    except aws_errors() as exc:
        if error_code(exc) not in GONE:
            raise

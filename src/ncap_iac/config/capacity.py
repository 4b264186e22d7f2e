"""NCAP's capacity keys and what they mean here: DEPLOY_LIMIT (most instances at once) is
Workers.MaxSize; LAUNCH false (jobs launch no instances, for testing) makes the group's MaxSize 0,
so that jobs wait in the queue. Named checks and the helpers load.py builds the model with."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..errors import Issue
from .document import lambda_config, obj
from .schema import default

WHOLE_TEXT = re.compile(r"^[0-9]{1,4}$")  # NCAP's "100": a whole number written as a string


def whole(value: Any) -> int | None:
    """A JSON integer, or one written as a string ("100"); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    return int(value) if isinstance(value, str) and WHOLE_TEXT.fullmatch(value) else None


def launches(doc: dict) -> bool:
    """False when NCAP's LAUNCH says jobs launch no instances."""
    return lambda_config(doc).get("LAUNCH") is not False


def configured_max_size(doc: dict) -> int | None:
    """Workers.MaxSize, else DEPLOY_LIMIT, else the schema's default (before LAUNCH is applied)."""
    workers, ncap = obj(doc.get("Workers")), lambda_config(doc)
    if "MaxSize" in workers:
        return whole(workers["MaxSize"]) if isinstance(workers["MaxSize"], int) else None
    if "DEPLOY_LIMIT" in ncap:
        return whole(ncap["DEPLOY_LIMIT"])
    return int(default("Workers", "MaxSize"))


def max_size(doc: dict) -> int:
    """The group's MaxSize as compiled: 0 when LAUNCH is false."""
    return (configured_max_size(doc) or 0) if launches(doc) else 0


def check_capacity(doc: dict) -> Iterator[Issue]:
    workers, ncap = obj(doc.get("Workers")), lambda_config(doc)
    given, limit = workers.get("MaxSize"), whole(ncap.get("DEPLOY_LIMIT"))
    if isinstance(given, int) and limit is not None and given != limit:
        yield Issue("Workers.MaxSize", f"{given} differs from Lambda.LambdaConfig.DEPLOY_LIMIT {limit} "
                                       f"(both are the most instances at once); set it in one place")
    low = workers.get("MinSize")
    if not launches(doc) and isinstance(low, int) and low > 0:
        yield Issue("Workers.MinSize", f"keeps {low} instance{'s' if low != 1 else ''} running, but "
                                       "Lambda.LambdaConfig.LAUNCH is false (jobs launch no instances): "
                                       "set MinSize 0, or LAUNCH true")


def notes(doc: dict) -> list[Issue]:
    """What DEPLOY_LIMIT and LAUNCH mean here, said once when the config uses them."""
    ncap, found = lambda_config(doc), []
    limit = whole(ncap.get("DEPLOY_LIMIT"))
    if limit is not None:
        found.append(Issue("Lambda.LambdaConfig.DEPLOY_LIMIT", f"the worker group's MaxSize: at most {limit} "
                                                                "instances at once"))
    if not launches(doc):
        found.append(Issue("Lambda.LambdaConfig.LAUNCH", "false: the worker group's MaxSize is 0, so no "
                                                         "instance starts and jobs wait in the queue"))
    return found

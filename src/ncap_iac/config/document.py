"""Reading the raw config document without assuming its shape: the named checks run on documents
the schema may have refused, so that every problem is reported in one run."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$")
NUMERIC_TEXT = re.compile(r"^[0-9]{1,7}(\.[0-9]{1,2})?$")  # NCAP's "300": a number written as a string


def obj(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def items(value: Any) -> list:
    return value if isinstance(value, list) else []


def integer(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def number(value: Any) -> float | None:
    """A JSON number, or NCAP's number written as a string ("300"), as a float; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and NUMERIC_TEXT.fullmatch(value):
        return float(value)
    return None


def lambda_config(doc: dict) -> dict:
    return obj(obj(doc.get("Lambda")).get("LambdaConfig"))


def affiliates(doc: dict) -> Iterator[tuple[int, dict]]:
    for index, entry in enumerate(items(obj(doc.get("UXData")).get("Affiliates"))):
        if isinstance(entry, dict):
            yield index, entry


def affiliate_path(index: int, key: str) -> str:
    return f"UXData.Affiliates[{index}].{key}"

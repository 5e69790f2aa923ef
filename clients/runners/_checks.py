"""Argument checks shared by the runner constructors."""

from __future__ import annotations

from collections.abc import Sequence

from fewlat.exceptions import invalid_parameter

__all__ = ["check_choice", "check_count"]


def check_count(value: object, name: str, owner: str) -> int:
    """``value`` as an int >= 1, or raise InvalidParameterError."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise invalid_parameter(name, owner, "an int >= 1", value)
    return value


def check_choice(value: object, name: str, owner: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``, or raise InvalidParameterError."""
    if value not in choices:
        raise invalid_parameter(name, owner, f"one of {', '.join(map(repr, choices))}", value)
    return str(value)

"""What both console scripts share: turning fewlat errors into one-line exits."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from fewlat.exceptions import FewlatError

__all__ = [
    "EXIT_INPUT_ERROR",
    "fail",
    "friendly_errors",
    "make_app",
    "progress_bar",
    "split_ints",
    "split_list",
]

#: exit status of a command rejected for bad input (typer uses 2 for bad usage)
EXIT_INPUT_ERROR = 1

P = ParamSpec("P")
R = TypeVar("R")


def make_app(name: str, help_text: str) -> typer.Typer:
    """A typer app with fewlat's CLI conventions: help on no args, no tracebacks."""
    return typer.Typer(
        name=name,
        help=help_text,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    print(f"error: {message}", file=sys.stderr)
    return typer.Exit(EXIT_INPUT_ERROR)


def friendly_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Decorate a command so fewlat and OS errors exit non-zero with one line, no traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except FewlatError as err:
            raise fail(str(err)) from None
        except OSError as err:
            where = f" {err.filename!r}" if err.filename else ""
            raise fail(f"{err.strerror or err}{where}") from None

    return wrapper


def progress_bar() -> Progress:
    """The rich progress bar of every long command, drawn on stderr so stdout stays clean
    for CSV and JSON. It is erased when done, so an error stays one line, and left out
    when stderr is not a terminal (logs, tests)."""
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[note]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


def split_list(value: str | None) -> list[str]:
    """``"a,b, c"`` → ``["a", "b", "c"]``; None or empty → []."""
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def split_ints(value: str, option: str, *, minimum: int = 1) -> list[int]:
    """``"3,5,10"`` → ``[3, 5, 10]``; each value an int ≥ ``minimum``.

    Raises:
        typer.BadParameter: anything else (typer prints it as a usage error).
    """
    try:
        values = [int(v) for v in split_list(value)]
    except ValueError:
        values = []
    if not values or min(values) < minimum:
        raise typer.BadParameter(
            f"{value!r} is not a comma-separated list of ints >= {minimum}", param_hint=option
        )
    return values

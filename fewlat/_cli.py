"""What both console scripts share: turning fewlat errors into one-line exits."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
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


class _LineProgress(Progress):
    """The progress of a command whose stderr is a log, not a terminal: one plain line
    each time a task passes another tenth, instead of a redrawn bar."""

    def __init__(self) -> None:
        super().__init__(disable=True)
        self._tenths: dict[TaskID, int] = {}

    def update(self, task_id: TaskID, **fields: Any) -> None:
        super().update(task_id, **fields)
        self._report(task_id)

    def advance(self, task_id: TaskID, advance: float = 1) -> None:
        super().advance(task_id, advance)
        self._report(task_id)

    def _report(self, task_id: TaskID) -> None:
        task = self._tasks[task_id]
        if not task.total:
            return
        tenth = int(10 * min(task.completed / task.total, 1.0))
        if tenth > self._tenths.get(task_id, 0):
            self._tenths[task_id] = tenth
            note = task.fields.get("note", "")
            print(
                f"{task.description}: {10 * tenth}% ({task.completed:g}/{task.total:g}) {note}",
                file=sys.stderr,
                flush=True,
            )


def progress_bar() -> Progress:
    """The rich progress bar of every long command, drawn on stderr so stdout stays clean
    for CSV and JSON. It is erased when done, so an error stays one line. When stderr is
    not a terminal (a log, nohup, a test), a plain line per tenth of each task instead."""
    console = Console(stderr=True)
    if not console.is_terminal:
        return _LineProgress()
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[note]}"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
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

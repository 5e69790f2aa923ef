"""The machine a runner times on: what it is (for ``devices.json``) and CPU pinning."""

from __future__ import annotations

import contextlib
import os
import platform
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from fewlat.exceptions import invalid_parameter

__all__ = ["describe_host", "pinned_to"]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe_host() -> dict[str, Any]:
    """CPU model, core counts, OS and Python of this machine."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "machine": platform.machine(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


@contextlib.contextmanager
def pinned_to(cpus: Sequence[int] | None) -> Iterator[None]:
    """Pin this process to ``cpus`` for the duration (no-op for ``None``).

    Raises:
        InvalidParameterError: pinning is not supported here, or ``cpus`` names
            CPUs this process may not use.
    """
    if cpus is None:
        yield
        return
    if not hasattr(os, "sched_setaffinity"):
        raise invalid_parameter("pin_cpus", "Runner", "None on this OS (no affinity)", cpus)
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, set(cpus))
    except (OSError, ValueError, TypeError) as err:
        raise invalid_parameter(
            "pin_cpus", "Runner", f"CPU ids among {sorted(before)}", list(cpus)
        ) from err
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)

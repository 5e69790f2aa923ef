"""Build a runner from command-line style options (``--runner ort --threads 2 …``)."""

from __future__ import annotations

import os
from collections.abc import Sequence

from fewlat.clients.runners._base import Runner
from fewlat.clients.runners._mnn import MnnRunner
from fewlat.clients.runners._mock import MockRunner
from fewlat.clients.runners._onnxruntime import OnnxRuntimeRunner
from fewlat.clients.runners._table import TableRunner
from fewlat.clients.runners._timing import TimingMethod
from fewlat.exceptions import invalid_parameter

__all__ = ["RUNNER_KINDS", "default_device_name", "make_runner"]

#: the names ``--runner`` accepts
RUNNER_KINDS = ("ort", "mnn", "table", "mock")


def make_runner(
    kind: str,
    *,
    threads: int = 1,
    optimization: str = "all",
    provider: str = "cpu",
    precision: str = "normal",
    api: str = "session",
    table: str | os.PathLike[str] | None = None,
    table_device: str | None = None,
    method: TimingMethod | None = None,
    pin_cpus: Sequence[int] | None = None,
) -> Runner:
    """A runner of ``kind`` with the options that apply to it (others are ignored).

    Raises:
        InvalidParameterError: an unknown kind, or ``table`` without ``table_device``.
        MissingDependencyError: the runtime is not installed (with the pip command).
        TableError: the table root or device does not exist.
    """
    if kind == "ort":
        return OnnxRuntimeRunner(
            threads=threads,
            optimization=optimization,
            provider=provider,
            method=method,
            pin_cpus=pin_cpus,
        )
    if kind == "mnn":
        return MnnRunner(
            threads=threads, precision=precision, api=api, method=method, pin_cpus=pin_cpus
        )
    if kind == "table":
        if table is None or table_device is None:
            raise invalid_parameter(
                "table", "the 'table' runner", "given with --table ROOT --table-device D", table
            )
        return TableRunner(table, table_device)
    if kind == "mock":
        return MockRunner(method=method, pin_cpus=pin_cpus)
    raise invalid_parameter("runner", "make_runner", f"one of {', '.join(RUNNER_KINDS)}", kind)


def default_device_name(runner: Runner, host: str) -> str:
    """A device name that says what measured it, e.g. ``myhost-ort-1t-optall``."""
    settings = runner.settings
    if settings["runtime"] == "table":
        return str(settings["device"])
    parts = [host, runner.kind]
    if "threads" in settings:
        parts.append(f"{settings['threads']}t")
    if settings.get("optimization") not in (None, "all"):
        parts.append(f"opt{settings['optimization']}")
    if settings.get("precision") not in (None, "normal"):
        parts.append(f"{settings['precision']}prec")
    if settings.get("provider") not in (None, "cpu"):
        parts.append(str(settings["provider"]))
    return "-".join(parts)

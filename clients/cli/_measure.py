"""``fewlat-client measure``: time archs of a space on this board into a latency table."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from fewlat._cli import fail, friendly_errors, progress_bar
from fewlat.clients import measure_table, plan_archs, read_arch_file
from fewlat.clients.cli._options import (
    MinSecondsOption,
    OptimizationOption,
    PassesOption,
    PinCpusOption,
    PrecisionOption,
    ProviderOption,
    TableDeviceOption,
    TableOption,
    ThreadsOption,
    runner_from_options,
)
from fewlat.clients.runners import RUNNER_KINDS, TimingMethod, default_device_name
from fewlat.spaces import SPACE_NAMES, get_space

__all__ = ["measure"]


@friendly_errors
def measure(
    runner: Annotated[str, typer.Option(help=f"Runtime: {', '.join(RUNNER_KINDS)}.")],
    space: Annotated[str, typer.Option(help=f"Search space: {', '.join(SPACE_NAMES)}.")],
    out: Annotated[Path, typer.Option(help="Table root to create or extend (format v1).")],
    count: Annotated[
        int | None,
        typer.Option(
            help="Measure the first N archs of the space: the supernet, then a seeded "
            "sample. A larger N later adds archs."
        ),
    ] = None,
    archs: Annotated[
        Path | None, typer.Option(help="File with one arch per line (# comments allowed).")
    ] = None,
    device_name: Annotated[
        str | None, typer.Option(help="Column name (default: HOST-RUNNER-THREADS…).")
    ] = None,
    threads: ThreadsOption = 1,
    optimization: OptimizationOption = "all",
    provider: ProviderOption = "cpu",
    precision: PrecisionOption = "normal",
    table: TableOption = None,
    table_device: TableDeviceOption = None,
    passes: PassesOption = TimingMethod.passes,
    min_seconds: MinSecondsOption = TimingMethod.min_seconds,
    pin_cpus: PinCpusOption = None,
    seed: Annotated[int, typer.Option(help="Seed of the arch sample and the inputs.")] = 0,
) -> None:
    """Measure archs of a space on this board and write or extend a latency table.

    Resumable: run it again after a kill and it measures only the missing cells.
    """
    if (count is None) == (archs is None):
        raise fail("give exactly one of --count N or --archs FILE.")
    spec = get_space(space)
    planned = (
        plan_archs(spec.name, count, seed=seed)
        if count is not None
        else read_arch_file(archs, space)
    )
    timer = runner_from_options(
        runner,
        threads=threads,
        optimization=optimization,
        provider=provider,
        precision=precision,
        table=table,
        table_device=table_device,
        passes=passes,
        min_seconds=min_seconds,
        pin_cpus=pin_cpus,
        seed=seed,
    )
    device = device_name or default_device_name(timer, socket.gethostname().split(".")[0])
    with progress_bar() as progress:  # measure_table checks that ``out`` is writable first
        task = progress.add_task(f"{spec.name} on {device}", total=len(planned), note="")
        result = measure_table(
            {device: timer},
            spec.name,
            planned,
            out,
            on_block=lambda done, total: progress.update(task, completed=done, total=total),
        )
    measured = int((~np.isnan(result.column(device))).sum())
    typer.echo(f"{out / spec.name}: {measured} archs of {spec.name} measured on {device!r}.")

"""``fewlat-client calibrate``: time this board's calibration suite and submit it to a server."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from fewlat._cli import fail, friendly_errors, progress_bar
from fewlat.clients._base import DEFAULT_SERVER
from fewlat.clients._results import CalibrationReport
from fewlat.clients.cli._options import (
    DeviceOption,
    JsonOption,
    MinSecondsOption,
    OptimizationOption,
    PassesOption,
    PinCpusOption,
    PrecisionOption,
    ProviderOption,
    ServerOption,
    TableDeviceOption,
    TableOption,
    ThreadsOption,
    TlsCaOption,
    TokenFileOption,
    connect,
    runner_from_options,
)
from fewlat.clients.runners import RUNNER_KINDS, TimingMethod
from fewlat.spaces import SPACE_NAMES

__all__ = ["calibrate"]


def _print_report(report: CalibrationReport) -> None:
    table = Table(box=box.SIMPLE, show_header=False, title="calibration", title_justify="left")
    table.add_column("field", style="bold")
    table.add_column("value")
    loo = f"{100 * report.loo_error:.1f}%" if report.shots >= 3 else "n/a (needs 3 shots)"
    table.add_row("device", report.device)
    table.add_row("suite version", report.suite_version)
    table.add_row("shots", str(report.shots))
    table.add_row("leave-one-out error", loo)
    table.add_row("anchor", f"{report.anchor_ms:.4g} ms")
    table.add_row("checkpoint version", report.checkpoint_version)
    Console().print(table)


@friendly_errors
def calibrate(
    device: DeviceOption,
    space: Annotated[str, typer.Option(help=f"Search space: {', '.join(SPACE_NAMES)}.")] = "nb201",
    shots: Annotated[
        int, typer.Option(help="Suite models to time, anchor first: 1 … the suite's size.")
    ] = 10,
    runner: Annotated[str, typer.Option(help=f"Runtime: {', '.join(RUNNER_KINDS)}.")] = "ort",
    threads: ThreadsOption = 1,
    optimization: OptimizationOption = "all",
    provider: ProviderOption = "cpu",
    precision: PrecisionOption = "normal",
    table: TableOption = None,
    table_device: TableDeviceOption = None,
    passes: PassesOption = TimingMethod.passes,
    min_seconds: MinSecondsOption = TimingMethod.min_seconds,
    pin_cpus: PinCpusOption = None,
    description: Annotated[
        str | None,
        typer.Option(help="Device description when it is new (default: the runner's settings)."),
    ] = None,
    server: ServerOption = DEFAULT_SERVER,
    token_file: TokenFileOption = None,
    tls_ca: TlsCaOption = None,
    json_out: JsonOption = False,
) -> None:
    """Time the first K models of the space's calibration suite on this board and submit them.

    The server then adapts its predictor to the device, and predict and score answer for it.
    """
    if shots < 1:  # before building a runtime or calling the server
        raise fail(f"--shots must be at least 1 (the anchor); got {shots}.")
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
    )
    with connect(server, token_file, tls_ca) as client, progress_bar() as bar:
        task = bar.add_task(f"calibrating {device}", total=None, note="fetching the suite")

        def on_progress(done: int, total: int) -> None:
            if done < total:  # one interleaved block: the bar pulses while it runs
                bar.update(task, note=f"timing {total} {space} suite models")
            else:
                bar.update(task, completed=done, total=total, note="adapting the predictor")

        report = client.calibrate(
            device,
            runner=timer,
            space=space,
            shots=shots,
            description=description or "",
            on_progress=on_progress,
        )
        bar.update(task, note="done")
    if json_out:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print_report(report)

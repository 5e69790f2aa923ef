"""``fewlat-client calibrate``: time this board's calibration suite and submit it to a server.

Also the pieces every server-facing command shares: the connection options,
:func:`connect` and the option types.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import grpc
import typer
from rich import box
from rich.console import Console
from rich.table import Table

from fewlat._cli import fail, friendly_errors, progress_bar
from fewlat.clients._client import DEFAULT_SERVER, TOKEN_ENV, Client
from fewlat.clients._results import CalibrationReport
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
)
from fewlat.clients.runners import RUNNER_KINDS, TimingMethod, make_runner
from fewlat.spaces import SPACE_NAMES

__all__ = [
    "DeviceOption",
    "JsonOption",
    "ServerOption",
    "TlsCaOption",
    "TokenFileOption",
    "calibrate",
    "connect",
]

DeviceOption = Annotated[str, typer.Option(help="Device name on the server, e.g. pi5-ort-4t.")]
ServerOption = Annotated[str, typer.Option(help="HOST:PORT of `fewlat serve`.")]
TokenFileOption = Annotated[
    Path | None,
    typer.Option(help=f"File holding the bearer token (default: ${TOKEN_ENV} when set)."),
]
TlsCaOption = Annotated[
    Path | None, typer.Option(help="CA certificate (PEM) of a TLS server; plaintext otherwise.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print the answer as JSON.")]


def _read_token(token_file: Path | None) -> str | None:
    """The token in ``token_file``; None when no file is given (the SDK then reads the env)."""
    if token_file is None:
        return None
    token = token_file.read_text().strip()
    if not token:
        raise fail(f"--token-file {token_file} is empty; put the bearer token in it.")
    return token


@contextlib.contextmanager
def connect(
    server: str, token_file: Path | None, tls_ca: Path | None, timeout_s: float = 60.0
) -> Iterator[Client]:
    """A :class:`Client` for a command; gRPC failures with no fewlat class (deadline,
    internal error) become one ``error:`` line too."""
    if tls_ca is not None and not tls_ca.is_file():
        raise fail(f"--tls-ca {tls_ca} does not exist; give the server's CA certificate (PEM).")
    client = Client(server, token=_read_token(token_file), tls_ca=tls_ca, timeout_s=timeout_s)
    try:
        yield client
    except grpc.RpcError as err:
        code = err.code() if callable(getattr(err, "code", None)) else None
        name = code.name if code is not None else "error"
        details = err.details() if callable(getattr(err, "details", None)) else err
        raise fail(
            f"the call to the fewlat server at {server} failed ({name}): {details}"
        ) from None
    finally:
        client.close()


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
    cpus = [int(c) for c in pin_cpus.split(",")] if pin_cpus else None
    timer = make_runner(
        runner,
        threads=threads,
        optimization=optimization,
        provider=provider,
        precision=precision,
        table=table,
        table_device=table_device,
        method=TimingMethod(passes=passes, min_seconds=min_seconds),
        pin_cpus=cpus,
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

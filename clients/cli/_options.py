"""What the ``fewlat-client`` commands share: option types, the runner they build, and
:func:`connect` (a :class:`Client` whose failures end the command with one line)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import grpc
import typer

from fewlat._cli import fail, split_ints
from fewlat.clients._base import TOKEN_ENV
from fewlat.clients._client import Client
from fewlat.clients.runners import Runner, TimingMethod, make_runner

__all__ = [
    "DeviceOption",
    "JsonOption",
    "MinSecondsOption",
    "OptimizationOption",
    "PassesOption",
    "PinCpusOption",
    "PrecisionOption",
    "ProviderOption",
    "ServerOption",
    "TableDeviceOption",
    "TableOption",
    "ThreadsOption",
    "TlsCaOption",
    "TokenFileOption",
    "connect",
    "runner_from_options",
]

ThreadsOption = Annotated[int, typer.Option(min=1, help="Runtime threads.")]
OptimizationOption = Annotated[
    str, typer.Option(help="ort graph optimisation: all, extended, basic, disabled.")
]
ProviderOption = Annotated[str, typer.Option(help="ort execution provider: cpu, cuda.")]
PrecisionOption = Annotated[str, typer.Option(help="mnn precision: normal, low, high.")]
TableOption = Annotated[Path | None, typer.Option(help="Table root for --runner table.")]
TableDeviceOption = Annotated[
    str | None, typer.Option(help="Device column replayed by --runner table.")
]
PassesOption = Annotated[
    int, typer.Option(min=1, help="Interleaved timing passes, each in a fresh session.")
]
MinSecondsOption = Annotated[float, typer.Option(min=0.0, help="Least timed seconds per model.")]
PinCpusOption = Annotated[
    str | None, typer.Option(help="Pin to these CPUs while timing, e.g. 0 or 0,1.")
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


def runner_from_options(
    runner: str,
    *,
    threads: int,
    optimization: str,
    provider: str,
    precision: str,
    table: Path | None,
    table_device: str | None,
    passes: int,
    min_seconds: float,
    pin_cpus: str | None,
    seed: int = 0,
) -> Runner:
    """The runner the runner options describe (``--pin-cpus 0,1`` → CPUs 0 and 1).

    Raises:
        typer.BadParameter: a ``--pin-cpus`` that is not a list of CPU ids.
        The errors of :func:`fewlat.clients.runners.make_runner`.
    """
    return make_runner(
        runner,
        threads=threads,
        optimization=optimization,
        provider=provider,
        precision=precision,
        table=table,
        table_device=table_device,
        method=TimingMethod(passes=passes, min_seconds=min_seconds, seed=seed),
        pin_cpus=split_ints(pin_cpus, "--pin-cpus", minimum=0) if pin_cpus else None,
    )

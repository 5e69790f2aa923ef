"""``fewlat serve`` and ``fewlat token add``."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError

from fewlat._cli import fail, friendly_errors, split_list
from fewlat.service._auth import add_token
from fewlat.service._logging import configure_logging
from fewlat.service._server import Server
from fewlat.service._settings import Settings

__all__ = ["serve_command", "token_add_command"]


def settings_from(**flags: object) -> Settings:
    """Settings from ``FEWLAT_*`` variables, overridden by the flags that were given."""
    try:
        return Settings(**{k: v for k, v in flags.items() if v is not None})
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in err.errors()
        )
        raise fail(f"bad server settings: {problems}") from None


@friendly_errors
def serve_command(
    address: Annotated[
        str | None, typer.Option("--address", help="HOST:PORT to listen on [127.0.0.1:50051].")
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Store URL [sqlite file in the user data dir].")
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="Checkpoint folder [the shipped one].")
    ] = None,
    auth_token_file: Annotated[
        Path | None,
        typer.Option("--auth-token-file", help="Hashed tokens (fewlat token add); none: no auth."),
    ] = None,
    tls_cert: Annotated[Path | None, typer.Option("--tls-cert", help="PEM certificate.")] = None,
    tls_key: Annotated[Path | None, typer.Option("--tls-key", help="PEM private key.")] = None,
    train_data: Annotated[
        str | None,
        typer.Option("--train-data", help="Table roots pooled by StartMetaTrain, comma-separated."),
    ] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="RPC threads [16].")] = None,
    log_json: Annotated[
        bool | None, typer.Option("--log-json/--log-text", help="Log format [text].")
    ] = None,
) -> None:
    """Serve the fewlat gRPC API until interrupted (Ctrl-C / SIGTERM drain in-flight calls).

    Every flag is also a FEWLAT_* environment variable (e.g. FEWLAT_ADDRESS).
    """
    settings = settings_from(
        address=address,
        db=db,
        checkpoint=checkpoint,
        auth_token_file=auth_token_file,
        tls_cert=tls_cert,
        tls_key=tls_key,
        train_data=split_list(train_data) if train_data is not None else None,
        workers=workers,
        log_json=log_json,
    )
    configure_logging(json_lines=settings.log_json)
    server = Server(settings).start()
    typer.echo(f"fewlat serving on {server.address} (checkpoint {server.host.version})", err=True)
    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    stopping.wait()
    server.stop()


@friendly_errors
def token_add_command(
    principal: Annotated[str, typer.Argument(help="Who the token is for, e.g. lab-pi-farm.")],
    file: Annotated[Path, typer.Option("--file", help="Token file (created if missing).")],
) -> None:
    """Make a bearer token for PRINCIPAL: its hash goes into FILE, the token is printed once."""
    typer.echo(add_token(file, principal))

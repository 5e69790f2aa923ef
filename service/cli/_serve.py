"""``fewlat serve`` and ``fewlat token add``."""

from __future__ import annotations

import inspect
import signal
import threading
from pathlib import Path
from typing import Annotated, get_origin

import typer
from pydantic import ValidationError
from pydantic_core import PydanticUndefined

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


#: flags spelled otherwise than ``--NAME/--no-NAME`` (public contract, DESIGN.md §7)
_BOOL_FLAGS = {"log_json": "--log-json/--log-text"}


def _help(name: str) -> str:
    """The field's docstring as one line of help, with its default when it has a plain one."""
    field = Settings.model_fields[name]
    text = " ".join((field.description or "").replace("``", "").split())
    default = field.default
    if default not in (None, [], PydanticUndefined) and "default" not in text:
        text += f" (default: {default})"
    return text


def _flag(name: str) -> inspect.Parameter:
    """A keyword parameter ``name`` whose typer option is the settings field of that name.

    Every flag defaults to None (not given): then the ``FEWLAT_*`` variable or the
    field's own default applies.
    """
    annotation = Settings.model_fields[name].annotation
    flag = name.replace("_", "-")
    if annotation is bool:
        decl, kind = _BOOL_FLAGS.get(name, f"--{flag}/--no-{flag}"), bool
    else:
        decl = f"--{flag}"
        kind = str if get_origin(annotation) is list else annotation  # lists: comma-separated
    help_text = _help(name) + (" Comma-separated." if get_origin(annotation) is list else "")
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[kind | None, typer.Option(decl, help=help_text)],
    )


def _serve(**flags: object) -> None:
    """Serve the fewlat gRPC API until interrupted (Ctrl-C / SIGTERM drain in-flight calls).

    Every flag is also a FEWLAT_* environment variable (e.g. FEWLAT_ADDRESS).
    """
    settings = settings_from(
        **{
            name: split_list(value)
            if isinstance(value, str) and get_origin(Settings.model_fields[name].annotation) is list
            else value
            for name, value in flags.items()
        }
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


#: one flag per :class:`Settings` field, made from the field (type, docstring), so the
#: flags and the ``FEWLAT_*`` variables cannot drift apart
serve_command = friendly_errors(_serve)
serve_command.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [_flag(name) for name in Settings.model_fields]
)


@friendly_errors
def token_add_command(
    principal: Annotated[str, typer.Argument(help="Who the token is for, e.g. lab-pi-farm.")],
    file: Annotated[Path, typer.Option("--file", help="Token file (created if missing).")],
) -> None:
    """Make a bearer token for PRINCIPAL: its hash goes into FILE, the token is printed once."""
    typer.echo(add_token(file, principal))

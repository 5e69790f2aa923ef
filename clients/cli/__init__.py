"""The ``fewlat-client`` command line run on a board (a thin layer over the SDK)."""

from typing import Annotated

import typer

import fewlat

__all__ = ["app", "main"]

app = typer.Typer(
    name="fewlat-client",
    help="fewlat client: measure models on this board and talk to a fewlat server.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Print the version.")] = False,
) -> None:
    if version:
        typer.echo(f"fewlat-client {fewlat.__version__}")
        raise typer.Exit()


def main() -> None:
    """Console-script entry point."""
    app()

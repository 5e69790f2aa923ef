"""The ``fewlat-client`` command line run on a board (a thin layer over the SDK)."""

from typing import Annotated

import typer

import fewlat
from fewlat._cli import make_app
from fewlat.clients.cli._calibrate import calibrate
from fewlat.clients.cli._measure import measure
from fewlat.clients.cli._predict import predict, score

__all__ = ["app", "main"]

app = make_app(
    "fewlat-client", "fewlat client: measure models on this board and talk to a fewlat server."
)


app.command("measure")(measure)
app.command("calibrate")(calibrate)
app.command("predict")(predict)
app.command("score")(score)


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

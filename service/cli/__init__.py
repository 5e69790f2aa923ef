"""The ``fewlat`` admin command line (a thin layer over the library)."""

import typer

from fewlat.service.cli._models import export, inspect

__all__ = ["app", "main"]

app = typer.Typer(
    name="fewlat",
    help="fewlat: few-shot latency prediction for unseen devices.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("inspect")(inspect)
app.command("export")(export)


def main() -> None:
    """Console-script entry point."""
    app()

"""The ``fewlat`` admin command line (a thin layer over the library)."""

from fewlat._cli import make_app
from fewlat.service.cli._models import export, inspect

__all__ = ["app", "main"]

app = make_app("fewlat", "fewlat: few-shot latency prediction for unseen devices.")
app.command("inspect")(inspect)
app.command("export")(export)


def main() -> None:
    """Console-script entry point."""
    app()

"""The ``fewlat`` admin command line (a thin layer over the library)."""

from fewlat._cli import make_app
from fewlat.service.cli._eval import eval_command, predict_table_command
from fewlat.service.cli._models import export, inspect
from fewlat.service.cli._train import meta_train_command, suite_command

__all__ = ["app", "main"]

app = make_app("fewlat", "fewlat: few-shot latency prediction for unseen devices.")
app.command("inspect")(inspect)
app.command("export")(export)
app.command("meta-train")(meta_train_command)
app.command("suite")(suite_command)
app.command("eval")(eval_command)
app.command("predict-table")(predict_table_command)


def main() -> None:
    """Console-script entry point."""
    app()

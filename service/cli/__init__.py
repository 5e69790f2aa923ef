"""The ``fewlat`` admin command line (a thin layer over the library)."""

import typer

from fewlat._cli import make_app
from fewlat.service.cli._common import cv_fold_dir, default_cache_dir, kept_on_disk
from fewlat.service.cli._demo import demo_command
from fewlat.service.cli._eval import eval_command, predict_table_command
from fewlat.service.cli._models import export, inspect
from fewlat.service.cli._serve import serve_command, token_add_command
from fewlat.service.cli._train import meta_train_command, suite_command

# the folders the commands keep built graphs and CV fold checkpoints in, for scripts
# (benchmarks/) that share them
__all__ = ["app", "cv_fold_dir", "default_cache_dir", "kept_on_disk", "main"]

app = make_app("fewlat", "fewlat: few-shot latency prediction for unseen devices.")
app.command("inspect")(inspect)
app.command("export")(export)
app.command("meta-train")(meta_train_command)
app.command("suite")(suite_command)
app.command("eval")(eval_command)
app.command("predict-table")(predict_table_command)
app.command("serve")(serve_command)
app.command("demo")(demo_command)
token_app = typer.Typer(help="Bearer tokens of a server.", no_args_is_help=True)
token_app.command("add")(token_add_command)
app.add_typer(token_app, name="token")


def main() -> None:
    """Console-script entry point."""
    app()

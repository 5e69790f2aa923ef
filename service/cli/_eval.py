"""``fewlat eval`` and ``fewlat predict-table``: offline few-shot evaluation and prediction."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from fewlat._cli import fail, friendly_errors
from fewlat._files import replace_atomically
from fewlat.meta.evaluation import DeviceRun, evaluate, mean_scores, plot_evaluation
from fewlat.meta.predictor import EXECUTIONS, MetaPredictor, load_checkpoint, runs_eagerly
from fewlat.meta.tables import LatencyTable, read_table, space_folder
from fewlat.service.cli._common import (
    checkpoint_suite,
    cv_fold_dir,
    kept_on_disk,
    pooled_table,
    progress_bar,
    split_ints,
    split_list,
    training_progress,
)
from fewlat.service.handlers import cross_validate

__all__ = ["eval_command", "predict_table_command"]

_Checkpoint = Annotated[
    Path | None, typer.Option("--checkpoint", help="Checkpoint folder (default: the shipped one).")
]
_CacheDir = Annotated[Path | None, typer.Option("--cache-dir", help="Graph cache folder.")]
_Execution = Annotated[
    str,
    typer.Option(
        "--execution",
        help="Which model the devices ran: auto (fewlat-measured devices ran fewlat's ONNX, "
        "others the eager reference code, as HELP's did), onnx or eager.",
    ),
]


def _check_execution(value: str) -> None:
    if value not in EXECUTIONS:
        raise typer.BadParameter(
            f"must be one of {', '.join(EXECUTIONS)}", param_hint="--execution"
        )


def _read(root: Path, space: str) -> LatencyTable:
    folder = space_folder(root, space)
    if folder is None:
        raise fail(f"{root} has no {space!r} table (expected {root}/{space}/latency_ms.csv).")
    return read_table(root, folder)


def _training_roots(meta: MetaPredictor, roots: list[str]) -> list[str]:
    """--train-data, else the checkpoint's recorded roots that exist here."""
    return roots or [r for r in meta.info_.get("data_roots", []) if Path(r).is_dir()]


def _train_table(meta: MetaPredictor, space: str, roots: list[str]) -> LatencyTable | None:
    """The checkpoint's training devices of ``space``, for the device-mix baseline."""
    table = pooled_table(roots, space)
    if table is None:
        return None
    trained = meta.info_.get("manifest", {}).get(space, {}).get("devices", table.devices)
    keep = [d for d in table.devices if d in trained]
    return table.select_devices(keep) if keep else None


def _print_summary(rows: list[dict], space: str) -> None:
    shots = sorted({r["shots"] for r in rows})
    table = Table(title=f"{space}: mean over {len({r['device'] for r in rows})} devices")
    table.add_column("method")
    for k in shots:
        table.add_column(f"ρ K={k}", justify="right")
        table.add_column(f"MAPE K={k}", justify="right")
    rho, error = mean_scores(rows, "spearman"), mean_scores(rows, "mape")
    for method in rho:
        cells = [c for k in shots for c in (f"{rho[method][k]:.3f}", f"{error[method][k]:.1%}")]
        table.add_row(method, *cells)
    Console().print(table)
    cover = [r["coverage"] for r in rows if "coverage" in r]
    if cover:
        Console().print(f"fewlat 80% interval coverage: {np.mean(cover):.2f}")


@friendly_errors
def eval_command(
    data: Annotated[Path, typer.Option("--data", help="Table root with the devices to score.")],
    space: Annotated[str, typer.Option("--space", help="Search space.")],
    devices: Annotated[str, typer.Option("--devices", help="a,b or all.")] = "all",
    shots: Annotated[str, typer.Option("--shots", help="K values, e.g. 3,5,10.")] = "3,5,10",
    checkpoint: _Checkpoint = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write results JSON.")] = None,
    plot: Annotated[Path | None, typer.Option("--plot", help="Write a PNG figure.")] = None,
    allow_seen: Annotated[
        bool, typer.Option("--allow-seen", help="Score devices the checkpoint was trained on.")
    ] = False,
    train_data: Annotated[
        str, typer.Option("--train-data", help="Roots for the device-mix baseline.")
    ] = "",
    execution: _Execution = "auto",
    cv: Annotated[
        int | None,
        typer.Option("--cv", min=2, help="Cross-validate: FOLDS device folds, each retrained."),
    ] = None,
    cv_steps: Annotated[
        int | None, typer.Option("--cv-steps", min=1, help="Steps per fold (default: recipe's).")
    ] = None,
    cache_dir: _CacheDir = None,
) -> None:
    """Score devices few-shot: fewlat and every baseline, on the same queries.

    With --cv FOLDS, every device is scored by a model meta-trained with the
    checkpoint's recipe on all training devices except its fold's.
    """

    _check_execution(execution)
    ks = split_ints(shots, "--shots")
    meta = load_checkpoint(checkpoint)
    name = checkpoint_suite(meta, space, max(ks))
    table = _read(data, name)
    chosen = table.devices if devices == "all" else tuple(split_list(devices))
    unknown = [d for d in chosen if d not in table.devices]
    if unknown:
        raise fail(f"{', '.join(unknown)} not in {data}/{name}; it has {', '.join(table.devices)}.")
    seen = set(meta.info_.get("manifest", {}).get(name, {}).get("devices", []))
    if cv is None and seen & set(chosen) and not allow_seen:
        raise fail(
            f"{', '.join(sorted(seen & set(chosen)))} were in the checkpoint's training data, "
            "so their scores would not measure unseen devices. Pass --allow-seen to score "
            "them anyway, or use --cv FOLDS."
        )
    roots = _training_roots(meta, split_list(train_data))
    with kept_on_disk(meta.cache, cache_dir), progress_bar() as bar:
        task = bar.add_task("evaluating", total=len(chosen), note="")

        def on_device(device: str) -> None:
            bar.update(task, advance=1, note=device)

        if cv is None:
            train = _train_table(meta, name, roots)
            rows, runs = evaluate(
                meta, table, chosen, ks, train_table=train, execution=execution,
                on_device=on_device,
            )  # fmt: skip
        else:
            rows, runs = _cross_validate(
                meta, roots, table, chosen, cv, ks, cv_steps, execution, bar, on_device,
                cache_dir,
            )  # fmt: skip
    if not rows:
        raise fail("no device had its suite anchor measured; nothing to score.")
    _print_summary(rows, name)
    if json_out is not None:
        json_out.write_text(json.dumps({"space": name, "results": rows}, indent=1))
    if plot is not None:
        plot_evaluation(rows, runs, name, plot)


def _cross_validate(
    meta: MetaPredictor,
    roots: list[str],
    table: LatencyTable,
    devices: Sequence[str],
    folds: int,
    ks: list[int],
    steps: int | None,
    execution: str,
    bar: Progress,
    on_device: Callable[[str], None],
    cache_dir: Path | None,
) -> tuple[list[dict], list[DeviceRun]]:
    if not roots:
        raise fail(
            "--cv retrains per fold and needs the training data: pass --train-data ROOT[,ROOT…]."
        )
    pooled = {space: pooled_table(roots, space) for space in meta.suites_}
    return cross_validate(
        meta,
        {space: t for space, t in pooled.items() if t is not None},
        table,
        devices,
        folds,
        ks,
        fold_dir=cv_fold_dir(cache_dir),
        steps=steps,
        execution=execution,
        on_progress=training_progress(bar),
        on_device=on_device,
    )


@friendly_errors
def predict_table_command(
    data: Annotated[Path, typer.Option("--data", help="Table root holding the device.")],
    space: Annotated[str, typer.Option("--space", help="Search space.")],
    device: Annotated[str, typer.Option("--device", help="The device's column.")],
    shots: Annotated[int, typer.Option("--shots", min=1, help="Suite entries to use.")],
    out: Annotated[Path, typer.Option("--out", help="CSV to write.")],
    checkpoint: _Checkpoint = None,
    execution: _Execution = "auto",
    cache_dir: _CacheDir = None,
) -> None:
    """Predict every arch of the table for DEVICE from its first K suite rows only.

    Writes idx,predicted_ms,low_ms,high_ms (the interval is 80%).
    """

    _check_execution(execution)
    meta = load_checkpoint(checkpoint)
    name = checkpoint_suite(meta, space, shots)
    suite = meta.suites_[name]
    table = _read(data, name)
    if device not in table.devices:
        raise fail(f"{device!r} is not a column of {data}/{name}.")
    column = table.column(device)
    timings = [
        float(column[table.row_of(a)]) if a in table else float("nan") for a in suite[:shots]
    ]
    if not np.isfinite(timings[0]):
        raise fail(
            f"{device} has no measurement of the suite anchor {suite[0]!r}; "
            "measure it first (`fewlat suite --space ...` lists the suite)."
        )
    with kept_on_disk(meta.cache, cache_dir), progress_bar() as bar:
        bar.add_task("predicting", total=None, note=f"{len(table)} archs")
        eager = runs_eagerly(table, device, execution)
        device_predictor = meta.adapt({name: timings}, eager=eager)
        prediction = device_predictor.predict_archs(name, list(table.archs))
    text = io.StringIO()
    writer = csv.writer(text)  # CRLF line ends, as before and as write_table
    writer.writerow(["idx", "predicted_ms", "low_ms", "high_ms"])
    for i, p, lo, hi in zip(
        table.idx.tolist(), prediction.latency_ms, prediction.low_ms, prediction.high_ms,
        strict=True,
    ):  # fmt: skip
        writer.writerow([i, f"{p:.6g}", f"{lo:.6g}", f"{hi:.6g}"])
    out.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(out, text.getvalue())
    Console(stderr=True).print(
        f"wrote {len(table)} predictions to {out} (suite {name}, {shots} shots)"
    )

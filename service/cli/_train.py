"""``fewlat meta-train`` and ``fewlat suite``."""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fewlat._cli import fail, friendly_errors
from fewlat.hwdesc import SELECTION_METHODS, CalibrationSuite, build_suite
from fewlat.meta.predictor import (
    DEVICE_STATE_LIMIT,
    GraphCache,
    IntervalScales,
    TrainConfig,
    load_checkpoint,
    meta_train,
    save_checkpoint,
)
from fewlat.service.cli._common import (
    checkpoint_suite,
    kept_on_disk,
    pooled_table,
    progress_bar,
    split_list,
    training_progress,
)

__all__ = ["DEFAULT_TRAIN_SPACES", "meta_train_command", "suite_command"]

#: spaces meta-trained on by default (zoo and resnet_prune are kept as unseen spaces)
DEFAULT_TRAIN_SPACES = ("nb201", "fbnet", "ofa_mbv3")


@friendly_errors
def meta_train_command(
    data: Annotated[str, typer.Option("--data", help="Table roots, comma-separated.")],
    out: Annotated[Path, typer.Option("--out", help="Checkpoint folder to write.")],
    spaces: Annotated[
        str, typer.Option("--spaces", help="Spaces to train on, comma-separated.")
    ] = ",".join(DEFAULT_TRAIN_SPACES),
    exclude_devices: Annotated[
        str, typer.Option("--exclude-devices", help="Devices never trained on, comma-separated.")
    ] = "",
    seed: Annotated[int, typer.Option("--seed", help="Seeds weights and every draw.")] = 0,
    steps: Annotated[int, typer.Option("--steps", min=1, help="Meta-training steps.")] = (
        TrainConfig.steps
    ),
    max_archs: Annotated[
        int, typer.Option("--max-archs", min=2, help="Query archs kept per space.")
    ] = TrainConfig.max_archs,
    suite_method: Annotated[
        str, typer.Option("--suite-method", help=f"One of {', '.join(SELECTION_METHODS)}.")
    ] = "greedy",
    baseline: Annotated[
        bool, typer.Option(help="Also train the pooled gnn-finetune baseline network.")
    ] = True,
    cache_dir: Annotated[
        Path | None, typer.Option("--cache-dir", help="Graph cache folder.")
    ] = None,
) -> None:
    """Meta-train the predictor on pooled tables and write a checkpoint.

    Resumable: progress is kept in OUT.partial/ and a rerun of the same command
    continues from the last save; OUT.partial/ is removed once OUT is written.
    """
    roots = [Path(r) for r in split_list(data)]
    names = split_list(spaces)
    if not roots:
        raise fail("--data needs at least one table root.")
    if suite_method == "help":
        raise fail("--suite-method help is for comparisons only (benchmarks/suite_choice.py).")
    missing = [str(r) for r in roots if not r.is_dir()]
    if missing:
        raise fail(f"table root(s) not found: {', '.join(missing)}")
    console = Console(stderr=True)
    tables = {}
    for name in names:
        table = pooled_table(roots, name)
        if table is None:
            raise fail(f"no --data root has a {name!r} table; drop it from --spaces.")
        tables[name] = table
    excluded = split_list(exclude_devices)
    known = {d for t in tables.values() for d in t.devices}
    unknown = sorted(set(excluded) - known)
    if unknown:
        console.print(f"note: --exclude-devices names no device of the data: {', '.join(unknown)}")
    if excluded:
        tables = {
            n: t.select_devices([d for d in t.devices if d not in excluded])
            for n, t in tables.items()
        }
    config = replace(TrainConfig(), steps=steps, seed=seed, max_archs=max_archs)
    cache = GraphCache(config.model.levels)
    partial = out.with_name(out.name + ".partial")
    with kept_on_disk(cache, cache_dir), progress_bar() as bar:
        suites = []
        task = bar.add_task("choosing suites", total=len(tables), note="")
        for name, table in tables.items():
            suites.append(build_suite(table, method=suite_method, seed=seed).to_dict())
            bar.update(task, advance=1, note=name)
        graphs = bar.add_task("building graphs", total=None, note="")

        meta = meta_train(
            tables,
            suites,
            config,
            cache=cache,
            exclude_devices=excluded,
            resume_dir=partial,
            baseline=baseline,
            on_progress=training_progress(bar),
            on_graph=lambda n: bar.update(graphs, advance=n),
        )
    meta.info_["data_roots"] = [str(r) for r in roots]  # as given: relative to where it ran
    save_checkpoint(meta, out)
    shutil.rmtree(partial, ignore_errors=True)  # finished: nothing left to resume
    _print_metrics(console, meta.info_["metrics"]["held_out_calibration_devices"])
    state = meta.info_["largest_device_state"]
    console.print(
        f"training health: {meta.info_['skipped_steps']} skipped steps; largest device state "
        f"{state['value']:.1f} ({state['device']}, {state['space']}, K={state['shots']}; "
        f"{'DRIFTED: ' if state['value'] > DEVICE_STATE_LIMIT else ''}"
        f"adaptation stalls past {DEVICE_STATE_LIMIT:.0f})"
    )
    if meta.intervals_ is not None:
        console.print(_outside_line(meta.intervals_))
    console.print(f"wrote {out}")


def _outside_line(scales: IntervalScales) -> str:
    """The printed factor of the 80% interval outside a suite's space, and where it came from."""
    factor = math.exp(scales.outside_half_width())
    how = (
        "fitted on the calibration devices"
        if scales.outside is not None
        else "default: no calibration device has two spaces"
    )
    return f"80% interval outside a suite's space: ×/÷ {factor:.2f} ({how})"


def _print_metrics(console: Console, metrics: dict) -> None:
    table = Table(title="held-out calibration devices (mean over devices)")
    table.add_column("space")
    table.add_column("K", justify="right")
    table.add_column("ρ", justify="right")
    table.add_column("MAPE", justify="right")
    for space, by_k in metrics.items():
        for k, row in by_k.items():
            table.add_row(space, k[1:], f"{row['spearman']:.3f}", f"{row['mape']:.1%}")
    console.print(table)


@friendly_errors
def suite_command(
    space: Annotated[str, typer.Option("--space", help="Search space.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="Checkpoint folder (default: shipped).")
    ] = None,
) -> None:
    """Print the ordered calibration suite of a space: position, arch, sha256."""
    meta = load_checkpoint(checkpoint)
    name = checkpoint_suite(meta, space)
    suite = CalibrationSuite.from_dict(next(s for s in meta.info_["suites"] if s["space"] == name))
    if as_json:
        typer.echo(json.dumps(suite.to_dict(), indent=2))
        return
    table = Table(title=f"{suite.version} ({suite.method})")
    table.add_column("position", justify="right")
    table.add_column("arch")
    table.add_column("sha256")
    for entry in suite.entries:
        table.add_row(str(entry.position), entry.arch, entry.sha256[:16] + "…")
    Console().print(table)

"""Device-level cross-validation: each fold's devices are left out of suite choice and training.

Folds are every device name (training data and evaluated table together),
sorted, dealt round-robin, so the same fold models serve every space. For
each fold, the suites are rebuilt and a model meta-trained with the
checkpoint's recipe on every training device except the fold's (in every
space), then the fold's evaluated devices are scored. Fold checkpoints are
kept under ``fold_dir`` by a hash of everything they depend on, so later runs
(and other spaces) reuse them.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from fewlat.hwdesc import build_suite
from fewlat.meta.evaluation import DeviceCase, DeviceRun, device_case, evaluate
from fewlat.meta.features import FEATURE_SCHEMA_VERSION
from fewlat.meta.predictor import (
    CHECKPOINT_FORMAT,
    RECIPE_VERSION,
    GraphCache,
    MetaPredictor,
    Progress,
    TrainConfig,
    Watch,
    load_checkpoint,
    meta_train,
    save_checkpoint,
    table_hash,
)
from fewlat.meta.tables import LatencyTable

__all__ = [
    "BENCHMARK_FOLD_STEPS",
    "cross_validate",
    "cv_spearman",
    "fold_model",
    "fold_models",
    "folds_of",
    "held_out_cases",
]

#: training steps of the fold networks behind the benchmarks' CV figures (half the
#: recipe's; ``fewlat eval --cv`` trains the recipe's full count unless ``--cv-steps``)
BENCHMARK_FOLD_STEPS = TrainConfig.steps // 2


def folds_of(devices: Sequence[str], folds: int) -> list[list[str]]:
    """Sorted device names dealt round-robin into ``folds`` groups (empty ones dropped)."""
    names = sorted(devices)
    return [g for g in (names[i::folds] for i in range(folds)) if g]


def fold_model(
    tables: Mapping[str, LatencyTable],
    config: TrainConfig,
    held: Sequence[str],
    *,
    fold_dir: Path,
    cache: GraphCache,
    baseline: bool,
    on_progress: Progress | None = None,
    watch: Watch | None = None,
) -> MetaPredictor:
    """The recipe ``config`` meta-trained on ``tables`` without the devices ``held``
    (in any space), with suites rebuilt from the kept devices: loaded from
    ``fold_dir`` when a fold with the same inputs was trained before, else trained
    (resumably) and kept there.

    Args:
        baseline: also train the pooled ``gnn-finetune`` network.
        on_progress, watch: passed to :func:`meta_train` (called only when it trains).
    """
    kept = {s: t.select_devices([d for d in t.devices if d not in held]) for s, t in tables.items()}
    key = hashlib.sha256(
        json.dumps(
            [
                config.to_dict(),
                baseline,
                CHECKPOINT_FORMAT,
                RECIPE_VERSION,
                FEATURE_SCHEMA_VERSION,
                sorted(held),
                {s: table_hash(t) for s, t in kept.items()},
            ],
            sort_keys=True,
        ).encode()
    ).hexdigest()[:16]
    folder = fold_dir / key
    if (folder / "config.json").is_file():
        return load_checkpoint(folder, cache=cache)
    suites = [build_suite(t, seed=config.seed).to_dict() for t in kept.values()]
    partial = fold_dir / f"{key}.partial"
    meta = meta_train(
        kept,
        suites,
        config,
        exclude_devices=list(held),
        cache=cache,
        resume_dir=partial,
        baseline=baseline,
        on_progress=on_progress,
        watch=watch,
    )
    save_checkpoint(meta, folder)
    shutil.rmtree(partial, ignore_errors=True)  # finished: nothing left to resume
    return meta


def fold_models(
    recipe: MetaPredictor,
    train_tables: Mapping[str, LatencyTable],
    devices: Sequence[str],
    folds: int,
    *,
    fold_dir: Path,
    steps: int | None = None,
    on_progress: Progress | None = None,
) -> Iterator[tuple[list[str], MetaPredictor]]:
    """Yield ``(fold devices, model trained without them)`` for each fold that holds
    one of ``devices`` (trained on first use, then loaded from ``fold_dir``)."""
    config = recipe.config if steps is None else replace(recipe.config, steps=steps)
    names = set(devices) | {d for t in train_tables.values() for d in t.devices}
    for i, held in enumerate(folds_of(sorted(names), folds)):
        if not set(held) & set(devices):
            continue

        def progress(phase: str, step: int, total: int, loss: float, i: int = i) -> None:
            if on_progress is not None:
                on_progress(f"fold {i + 1} {phase}", step, total, loss)

        yield held, fold_model(
            train_tables, config, held, fold_dir=fold_dir, cache=recipe.cache,
            baseline=recipe.baseline_ is not None, on_progress=progress,
        )  # fmt: skip


def held_out_cases(
    recipe: MetaPredictor,
    train_tables: Mapping[str, LatencyTable],
    tables: Sequence[LatencyTable],
    folds: int,
    *,
    fold_dir: Path,
    steps: int | None = None,
) -> Iterator[tuple[MetaPredictor, LatencyTable, str, DeviceCase]]:
    """Every scorable device of ``tables`` with the fold model that never saw it:
    ``(fold model, table, device, its case)``, fold by fold (each fold model loaded once)."""
    devices = sorted({d for t in tables for d in t.devices})
    models = fold_models(recipe, train_tables, devices, folds, fold_dir=fold_dir, steps=steps)
    for held, meta in models:
        for table in tables:
            for device in [d for d in table.devices if d in held]:
                case = device_case(meta, table, device)
                if case is not None:
                    yield meta, table, device, case


def cross_validate(
    recipe: MetaPredictor,
    train_tables: Mapping[str, LatencyTable],
    table: LatencyTable,
    devices: Sequence[str],
    folds: int,
    shots: Sequence[int],
    *,
    fold_dir: Path,
    steps: int | None = None,
    execution: str = "auto",
    on_progress: Progress | None = None,
    on_device: Callable[[str], None] | None = None,
) -> tuple[list[dict], list[DeviceRun]]:
    """Score ``devices`` of ``table``, each by a model that never saw it.

    Args:
        recipe: the checkpoint whose training recipe is repeated per fold.
        train_tables: ``{space: pooled table}`` the recipe trains on.
        table: the evaluation table (one space).
        devices: devices of ``table`` to score.
        folds: number of device folds.
        shots: the K values.
        fold_dir: where fold checkpoints are kept.
        steps: override the recipe's step count (quicker, weaker folds).
        execution: see :func:`fewlat.meta.predictor.runs_eagerly`.

    Returns:
        The rows and runs of :func:`fewlat.meta.evaluation.evaluate`, all folds
        together; each row also has its ``fold``.
    """
    rows: list[dict] = []
    runs: list[DeviceRun] = []
    models = fold_models(
        recipe, train_tables, devices, folds, fold_dir=fold_dir, steps=steps,
        on_progress=on_progress,
    )  # fmt: skip
    for i, (held, meta) in enumerate(models):
        train = train_tables.get(table.space)
        if train is not None:
            train = train.select_devices([d for d in train.devices if d not in held])
        fold_rows, fold_runs = evaluate(
            meta,
            table,
            [d for d in devices if d in held],
            shots,
            train_table=train,
            execution=execution,
            on_device=on_device,
        )
        rows += [{**r, "fold": i} for r in fold_rows]
        runs += fold_runs
    return rows, runs


def cv_spearman(
    recipe: MetaPredictor,
    tables: Mapping[str, LatencyTable],
    folds: int,
    *,
    fold_dir: Path,
    shots: Sequence[int] = (3, 5, 10),
    steps: int | None = None,
    on_progress: Progress | None = None,
) -> dict:
    """Cross-validated mean Spearman ρ of ``recipe`` on every device of ``tables``.

    Each space's devices are scored by the fold models that never saw them
    (:func:`cross_validate`, the tables serving as both training pool and
    evaluation table).

    Returns:
        ``{"folds", "shots", "spearman": mean over spaces, "spaces": {space:
        {"spearman": mean over devices and K, "devices": count}}}``; spaces whose
        devices could not be scored are left out, and ``spearman`` is None when
        none could.
    """
    spaces = {}
    for space in recipe.suites_:
        table = tables.get(space)
        if table is None:
            continue
        rows, _ = cross_validate(
            recipe, tables, table, list(table.devices), folds, shots,
            fold_dir=fold_dir, steps=steps, on_progress=on_progress,
        )  # fmt: skip
        mine = [r["spearman"] for r in rows if r["method"] == "fewlat"]
        if mine:
            spaces[space] = {
                "spearman": float(np.mean(mine)),
                "devices": len({r["device"] for r in rows}),
            }
    overall = float(np.mean([s["spearman"] for s in spaces.values()])) if spaces else None
    return {"folds": folds, "shots": list(shots), "spearman": overall, "spaces": spaces}

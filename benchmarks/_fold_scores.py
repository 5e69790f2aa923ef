"""Shared by the benchmarks that score variants on the CV's fold networks
(``adapt_steps.py``, ``device_basis.py``, ``blend_weights.py``, ``residual_mix.py``):
their options, the fold networks' own training devices, and mean Spearman ρ per
(space, variant, K)."""

from __future__ import annotations

import argparse
import copy
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np

from fewlat.meta.evaluation import DeviceCase
from fewlat.meta.predictor import MetaPredictor, load_checkpoint, runs_eagerly
from fewlat.meta.tables import LatencyTable, read_pool
from fewlat.service.cli import cv_fold_dir
from fewlat.service.handlers import BENCHMARK_FOLD_STEPS, held_out_cases

#: (space, variant, K) → one Spearman ρ per held-out device
Scores = dict[tuple[str, str, int], list[float]]
#: the shot counts the fold benchmarks score, as the CV's table
SHOTS = (3, 5, 10)


def fold_parser(doc: str, out: str) -> argparse.ArgumentParser:
    """A parser with the options every fold benchmark takes: ``--data``, ``--spaces``,
    ``--folds``, ``--steps`` (the CV's) and ``--out`` (default ``out``)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/help,data/measured")
    parser.add_argument("--spaces", default="nb201,fbnet,ofa_mbv3")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=BENCHMARK_FOLD_STEPS, help="the CV's steps")
    parser.add_argument("--out", type=Path, default=Path(out))
    return parser


def recipe_and_tables(data: str) -> tuple[MetaPredictor, dict[str, LatencyTable]]:
    """The shipped checkpoint (its recipe trains the folds) and each of its suites'
    spaces pooled from the comma-separated ``data`` roots."""
    recipe = load_checkpoint()
    return recipe, {s: read_pool(data.split(","), s) for s in recipe.suites_}


def arch_halves(table: LatencyTable) -> np.ndarray:
    """The seeded split of a table's archs (rows) into half A (True: fitted on) and half B
    (scored), the same for every device and every benchmark that fits on one half."""
    return np.random.default_rng(0).random(len(table)) < 0.5


def candidate_recipe(
    recipe: MetaPredictor, *, node_prices: int | None = None, **changes: object
) -> MetaPredictor:
    """A copy of ``recipe`` (the same networks and cache) whose training recipe has the
    given :class:`TrainConfig` fields ``changes`` and, if given, ``ModelConfig.node_prices``:
    its fold networks are a candidate recipe's (``recipe`` itself is not changed)."""
    config = replace(recipe.config, **changes)
    if node_prices is not None:
        config = replace(config, model=replace(config.model, node_prices=node_prices))
    candidate = copy.copy(recipe)
    candidate.config = config
    return candidate


def space_cases(
    recipe: MetaPredictor, train: dict[str, LatencyTable], space: str, folds: int, steps: int
) -> Iterator[tuple[MetaPredictor, str, DeviceCase]]:
    """``(fold network, device, its case)`` for every device of ``space``, each with the
    fold network of ``cv_report.py`` that never saw it (kept under the cache folder)."""
    cases = held_out_cases(
        recipe, train, [train[space]], folds, fold_dir=cv_fold_dir(), steps=steps
    )
    for meta, _, device, case in cases:
        yield meta, device, case


def manifest_log_ms(meta: MetaPredictor, table: LatencyTable, eager: bool) -> dict[str, np.ndarray]:
    """``{device: log ms of every arch of table}`` for each device of the fold network's
    training manifest that measured its suite's anchor, adapted on its whole suite
    (as the kind of device it is); the archs' graphs as a device of kind ``eager`` ran them."""
    space, suite = table.space, list(meta.suites_[table.space])
    graphs = meta.cache.for_archs(space, table.archs, eager=eager)
    found = {}
    for device in [d for d in meta.info_["manifest"][space]["devices"] if d in table.devices]:
        timings = [table.lookup_ms(a, device) for a in suite]
        if not np.isfinite(timings[0]):
            continue
        adapted = meta.adapt({space: timings}, eager=runs_eagerly(table, device))
        found[device] = np.log(adapted.predict(graphs).latency_ms)
    return found


def print_space(scores: Scores, space: str, shots: tuple[int, ...], width: int = 22) -> None:
    """One line per variant of ``space``, in first-scored order: mean ρ at each K."""
    for name in dict.fromkeys(m for s, m, _ in scores if s == space):
        cells = "  ".join(
            f"K={k}: {np.mean(scores[(space, name, k)]):.3f} ({len(scores[(space, name, k)])})"
            for k in shots
        )
        print(f"{space:9s} {name:{width}s} {cells}", flush=True)


def write_scores(
    scores: Scores,
    path: Path,
    folds: int,
    steps: int,
    *,
    mape: Scores | None = None,
    **extra: object,
) -> None:
    """``{"folds", "steps", "rows": [{space, method, shots, spearman (mean), devices}],
    **extra}``; with ``mape`` (one MAPE per device, keyed as ``scores``) each row also
    has ``median_mape``, the median over the devices."""
    rows = [
        {"space": s, "method": m, "shots": k, "spearman": float(np.mean(v)), "devices": len(v)}
        for (s, m, k), v in scores.items()
    ]
    if mape is not None:
        for row in rows:
            row["median_mape"] = float(np.median(mape[(row["space"], row["method"], row["shots"])]))
    path.parent.mkdir(parents=True, exist_ok=True)
    result = {"folds": folds, "steps": steps, "rows": rows, **extra}
    path.write_text(json.dumps(result, indent=1))

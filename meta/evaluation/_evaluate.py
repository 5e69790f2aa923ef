"""Few-shot evaluation of one space's devices: fewlat and every baseline on the same queries.

Protocol (DESIGN.md §6): for each device and each K, the first K suite
entries are the shots; the queries are every arch of the table that the
device measured and that is not in the suite.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from fewlat.meta.evaluation._baselines import device_mix, flops_scaled, ridge_features
from fewlat.meta.metrics import acc_within, kendall, mape, spearman
from fewlat.meta.predictor import GraphSet, MetaPredictor, runs_eagerly
from fewlat.meta.tables import LatencyTable

__all__ = [
    "ALL_METHODS",
    "DeviceCase",
    "DeviceRun",
    "device_case",
    "evaluate",
    "mean_scores",
    "mix_inputs",
    "score",
]

#: every method ``evaluate`` reports, fewlat first
ALL_METHODS = ("fewlat", "meta-only", "gnn-finetune", "zero-shot", "device-mix", "ridge", "flops")


@dataclass(frozen=True)
class DeviceRun:
    """One device at one K: measured and predicted ms per method (for tables and plots)."""

    device: str
    shots: int
    measured_ms: np.ndarray
    predicted_ms: dict[str, np.ndarray]
    low_ms: np.ndarray
    high_ms: np.ndarray


@dataclass(frozen=True)
class DeviceCase:
    """One device's evaluation data under the protocol above.

    Attributes:
        shots_ms: ``[len(suite)]`` the device's suite timings (NaN: not measured).
        measured_ms: ``[Q]`` its timings of the query archs.
        archs: the query archs (the table's archs it measured, suite excluded).
        eager: whether it ran the eager reference models.
        graphs: the query archs' graphs from ``meta.cache``.
    """

    shots_ms: np.ndarray
    measured_ms: np.ndarray
    archs: list[str]
    eager: bool
    graphs: GraphSet


def device_case(
    meta: MetaPredictor, table: LatencyTable, device: str, execution: str = "auto"
) -> DeviceCase | None:
    """The shots and queries of ``device`` in ``table``, or None when it cannot be
    scored (no anchor timing, or fewer than two query archs)."""
    column = table.column(device)
    suite_rows = [table.row_of(a) if a in table else -1 for a in meta.suites_[table.space]]
    shots_ms = np.array([column[r] if r >= 0 else np.nan for r in suite_rows])
    query = np.setdiff1d(np.flatnonzero(np.isfinite(column) & (column > 0)), suite_rows)
    if not np.isfinite(shots_ms[0]) or len(query) < 2:
        return None
    archs = [table.archs[r] for r in query]
    eager = runs_eagerly(table, device, execution)
    graphs = meta.cache.for_archs(table.space, archs, eager=eager)
    return DeviceCase(shots_ms, column[query], archs, eager, graphs)


def score(measured_ms: np.ndarray, predicted_ms: np.ndarray) -> dict[str, float | int]:
    """The metrics of DESIGN.md §6 for one device."""
    error = mape(measured_ms, predicted_ms)
    return {
        "spearman": spearman(measured_ms, predicted_ms),
        "kendall": kendall(measured_ms, predicted_ms),
        "mape": error,
        "acc5": acc_within(measured_ms, predicted_ms, 0.05),
        "acc10": acc_within(measured_ms, predicted_ms, 0.10),
        "mean_accuracy": 1.0 - error,
        "n": len(measured_ms),
    }


def mean_scores(rows: Sequence[dict], metric: str) -> dict[str, dict[int, float]]:
    """``{method: {K: mean of metric over devices}}`` of :func:`evaluate` rows, methods
    in :data:`ALL_METHODS` order, K ascending."""
    out: dict[str, dict[int, float]] = {}
    for method in [m for m in ALL_METHODS if any(r["method"] == m for r in rows)]:
        mine = [r for r in rows if r["method"] == method]
        out[method] = {
            k: float(np.mean([r[metric] for r in mine if r["shots"] == k]))
            for k in sorted({r["shots"] for r in mine})
        }
    return out


def mix_inputs(
    train: LatencyTable | None, device: str, archs: Sequence[str], suite: Sequence[str]
) -> tuple[np.ndarray, np.ndarray] | None:
    """The inputs of :func:`device_mix`: the training devices' log ms of ``archs``
    ``[Q, T]`` and of ``suite`` ``[S, T]``, ``device``'s own column left out and only
    devices that measured all of them kept; None when none did (or no ``train``)."""
    if train is None or any(a not in train for a in [*archs, *suite]):
        return None
    cols = [i for i, d in enumerate(train.devices) if d != device]
    rows = [train.row_of(a) for a in [*suite, *archs]]
    lat = train.latency_ms[np.ix_(rows, cols)]
    keep = np.isfinite(lat).all(axis=0) & (lat > 0).all(axis=0)
    if not keep.any():
        return None
    log = np.log(lat[:, keep])
    return log[len(suite) :], log[: len(suite)]


def evaluate(
    meta: MetaPredictor,
    table: LatencyTable,
    devices: Sequence[str],
    shots: Sequence[int],
    *,
    train_table: LatencyTable | None = None,
    execution: str = "auto",
    on_device: Callable[[str], None] | None = None,
) -> tuple[list[dict], list[DeviceRun]]:
    """Score ``devices`` of ``table`` at each K with fewlat and every baseline.

    Args:
        meta: the meta-trained predictor (its suite for ``table.space`` is used).
        table: the evaluation table.
        devices: columns of ``table`` to score.
        shots: the K values.
        train_table: pooled training data of the space for the ``device-mix``
            baseline (the evaluated device's own column is never used); None
            skips that baseline.
        execution: which model each device ran, one of ``EXECUTIONS``
            (``auto``: decided per device, :func:`runs_eagerly`).
        on_device: progress callback, called with each device name when done.

    Returns:
        ``(rows, runs)``: one JSON-ready row per (device, K, method) with the
        keys of DESIGN.md §7 plus ``coverage`` for fewlat, and the raw runs.
    """
    space = table.space
    suite = meta.suites_[space]
    rows_out: list[dict] = []
    runs: list[DeviceRun] = []
    for device in devices:
        case = device_case(meta, table, device, execution)
        if case is None:
            if on_device:
                on_device(device)
            continue
        shot_ms, measured, graphs, eager = case.shots_ms, case.measured_ms, case.graphs, case.eager
        shot_graphs = meta.cache.for_archs(space, suite, eager=eager)
        mix = mix_inputs(train_table, device, case.archs, suite)
        for k in shots:
            timings = shot_ms[:k].tolist()
            predicted: dict[str, np.ndarray] = {}
            adapted = meta.adapt({space: timings}, eager=eager)
            fewlat = adapted.predict(graphs, suite=space)
            predicted["fewlat"] = fewlat.latency_ms
            for method, part in adapted.parts().items():  # its two networks, when it has two
                if method != "fewlat":
                    predicted[method] = part.predict(graphs).latency_ms
            zero_shot = meta.adapt({space: timings}, method="zero-shot", eager=eager)
            predicted["zero-shot"] = zero_shot.predict(graphs).latency_ms
            if mix is not None:
                predicted["device-mix"] = device_mix(mix[0], mix[1][:k], shot_ms[:k])
            predicted["ridge"] = ridge_features(
                graphs.graph_attr, shot_graphs.graph_attr[:k], shot_ms[:k]
            )
            predicted["flops"] = flops_scaled(graphs.macs, shot_graphs.macs[:k], shot_ms[:k])
            for method, values in predicted.items():
                row = {"device": device, "shots": k, "method": method, **score(measured, values)}
                if method == "fewlat":
                    inside = (measured >= fewlat.low_ms) & (measured <= fewlat.high_ms)
                    row["coverage"] = float(inside.mean())
                rows_out.append(row)
            runs.append(DeviceRun(device, k, measured, predicted, fewlat.low_ms, fewlat.high_ms))
        if on_device:
            on_device(device)
    return rows_out, runs

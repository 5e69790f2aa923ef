"""Choosing a suite from pooled training data: the anchor, then the references.

**Anchor.** The space's supernet when every pooled device measured it, else
the largest-MACs arch that every pooled device measured.

**References (``greedy``).** Let ``Y[a, d] = log(latency of a on d / anchor on d)``
over the archs every device measured. A suite prefix S reveals a device d well
when ``Y[:, d]`` can be predicted from ``Y[S, d]`` by one linear map learned on
the *other* devices (ridge, leave-one-device-out). Starting from the anchor,
the greedy algorithm adds, one at a time, the candidate that most lowers the
leave-one-device-out error, each device's error divided by its own variance
so that fast and slow devices count alike. Each prefix is therefore chosen
for what its K timings reveal, which is what K-shot calibration uses. Ties go
to the lower table row; the result depends only on the data.

``random`` draws the references uniformly from the same candidates (seeded);
``help`` takes HELP's fixed reference indices (``help_reference_idx.json``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fewlat.exceptions import TableError, invalid_parameter
from fewlat.meta.tables import LatencyTable

__all__ = [
    "SELECTION_METHODS",
    "choose_anchor",
    "complete_rows",
    "lodo_predictions",
    "reveal_error",
    "select_references",
]

SELECTION_METHODS = ("greedy", "random", "help")
_RIDGE = 1e-2
_MAX_CANDIDATES = 400


def complete_rows(table: LatencyTable, devices: Sequence[str]) -> np.ndarray:
    """Rows of ``table`` with a positive latency on every one of ``devices``."""
    cols = [table.devices.index(d) for d in devices]
    lat = table.latency_ms[:, cols]
    return np.flatnonzero((np.isfinite(lat) & (lat > 0)).all(axis=1))


def choose_anchor(table: LatencyTable, macs: Sequence[float] | None = None) -> int:
    """Row of the anchor: the supernet if every device has it, else the largest-MACs
    complete row.

    Args:
        table: the pooled table.
        macs: MACs of every table row (needed only when the supernet is not complete).

    Raises:
        TableError: no arch is measured on every device.
    """
    from fewlat.spaces import get_space

    complete = complete_rows(table, table.devices)
    if len(complete) == 0:
        raise TableError(
            f"No {table.space} arch is measured on all {len(table.devices)} devices; "
            "a suite anchor needs one (drop sparse devices with --exclude-devices)."
        )
    supernet = get_space(table.space).supernet()
    if supernet in table and table.row_of(supernet) in complete:
        return table.row_of(supernet)
    if macs is None:
        raise invalid_parameter("macs", "choose_anchor", "MACs per row", None)
    macs = np.asarray(macs, dtype=np.float64)
    return int(complete[np.argmax(macs[complete])])


def _log_ratios(table: LatencyTable, anchor: int, rows: np.ndarray) -> np.ndarray:
    lat = table.latency_ms
    return np.log(lat[rows]) - np.log(lat[anchor])[None, :]


def lodo_predictions(y: np.ndarray, shots: np.ndarray) -> np.ndarray:
    """Leave-one-device-out predictions of ``y`` from its rows ``shots``.

    Args:
        y: ``[A, D]`` log ratios to the anchor, every cell measured.
        shots: rows of ``y`` that are known (the references).

    Returns:
        ``[A, D]``: column j predicted from ``y[shots, j]`` by a ridge map
        fitted on every other column.
    """
    d = y.shape[1]
    x = np.concatenate([np.ones((1, d)), y[shots]], axis=0)  # [1+k, D]
    out = np.empty_like(y)
    for j in range(d):
        keep = np.arange(d) != j
        xt = x[:, keep]
        coef = np.linalg.solve(xt @ xt.T + _RIDGE * np.eye(len(x)), xt @ y[:, keep].T)
        out[:, j] = x[:, j] @ coef
    return out


def reveal_error(y: np.ndarray, shots: np.ndarray) -> float:
    """Mean leave-one-device-out error of predicting ``y`` from rows ``shots``
    (:func:`lodo_predictions`), each device's error divided by its variance (1 − R²)."""
    errors = ((lodo_predictions(y, shots) - y) ** 2).mean(axis=0) / (y.var(axis=0) + 1e-12)
    return float(np.mean(errors))


def select_references(
    table: LatencyTable,
    anchor: int,
    count: int,
    *,
    method: str = "greedy",
    seed: int = 0,
    help_rows: Sequence[int] | None = None,
) -> list[int]:
    """Rows of ``count`` references, in suite order (anchor excluded).

    Args:
        table: pooled table of the space.
        anchor: the anchor's row.
        count: how many references (suite length − 1).
        method: one of :data:`SELECTION_METHODS`.
        seed: for ``random``, and for subsampling candidates when there are many.
        help_rows: for ``help``, HELP's reference rows.

    Raises:
        InvalidParameterError: an unknown method, or ``help`` without rows.
        TableError: fewer complete archs than references asked for.
    """
    if method not in SELECTION_METHODS:
        raise invalid_parameter(
            "method", "select_references", f"one of {SELECTION_METHODS}", method
        )
    if method == "help":
        if help_rows is None:
            raise invalid_parameter("help_rows", "select_references", "HELP's rows", None)
        return [r for r in help_rows if r != anchor][:count]
    complete = complete_rows(table, table.devices)
    complete = complete[complete != anchor]
    if len(complete) < count:
        raise TableError(
            f"{table.space}: only {len(complete)} archs are measured on every device; "
            f"{count} references are needed."
        )
    rng = np.random.default_rng(seed)
    if method == "random":
        return sorted(rng.choice(complete, size=count, replace=False).tolist())
    y = _log_ratios(table, anchor, complete)
    candidates = np.arange(len(complete))
    if len(candidates) > _MAX_CANDIDATES:
        candidates = np.sort(rng.choice(candidates, size=_MAX_CANDIDATES, replace=False))
    chosen: list[int] = []
    for _ in range(count):
        best, best_error = -1, np.inf
        for c in candidates:
            if c in chosen:
                continue
            error = reveal_error(y, np.array([*chosen, c]))
            if error < best_error - 1e-12:
                best, best_error = int(c), error
        chosen.append(best)
    return [int(complete[c]) for c in chosen]

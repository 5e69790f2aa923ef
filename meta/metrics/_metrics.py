"""The metrics themselves, on 1-D arrays of milliseconds (reference first, estimate second)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from fewlat.exceptions import invalid_parameter

__all__ = ["acc_within", "kendall", "mape", "median_relative_error", "spearman"]


def _pair(y_ms: ArrayLike, p_ms: ArrayLike, owner: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y_ms, dtype=np.float64).reshape(-1)
    p = np.asarray(p_ms, dtype=np.float64).reshape(-1)
    if y.shape != p.shape or y.size < 2:
        raise invalid_parameter(
            "p_ms", owner, f"as long as y_ms ({y.size}), with at least 2 values", p.size
        )
    for name, values in (("y_ms", y), ("p_ms", p)):
        if not np.all(np.isfinite(values)):
            raise invalid_parameter(
                name, owner, "finite values (drop unmeasured cells first)", "NaN or inf"
            )
    return y, p


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks from 0 with ties given their average rank."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(values.size)
    ranks[order] = np.arange(values.size)
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    if np.any(counts > 1):
        sums = np.bincount(inverse, weights=ranks)
        ranks = (sums / counts)[inverse]
    return ranks


def spearman(y_ms: ArrayLike, p_ms: ArrayLike) -> float:
    """Spearman rank correlation ρ (ties averaged); NaN when either side is constant.

    Raises:
        InvalidParameterError: lengths differ, fewer than 2 values, or a non-finite value.
    """
    y, p = _pair(y_ms, p_ms, "spearman")
    ry, rp = _ranks(y), _ranks(p)
    ry, rp = ry - ry.mean(), rp - rp.mean()
    denominator = np.sqrt((ry * ry).sum() * (rp * rp).sum())
    return float((ry * rp).sum() / denominator) if denominator > 0 else float("nan")


def kendall(y_ms: ArrayLike, p_ms: ArrayLike, *, max_pairs_n: int = 4000) -> float:
    """Kendall τ-b; above ``max_pairs_n`` values it uses an evenly spaced subsample.

    Raises:
        InvalidParameterError: as :func:`spearman`.
    """
    y, p = _pair(y_ms, p_ms, "kendall")
    if y.size > max_pairs_n:
        keep = np.linspace(0, y.size - 1, max_pairs_n).astype(np.int64)
        y, p = y[keep], p[keep]
    dy = np.sign(y[:, None] - y[None, :])
    dp = np.sign(p[:, None] - p[None, :])
    upper = np.triu_indices(y.size, k=1)
    dy, dp = dy[upper], dp[upper]
    concordance = float((dy * dp).sum())
    denominator = np.sqrt(float(np.count_nonzero(dy)) * float(np.count_nonzero(dp)))
    return concordance / denominator if denominator > 0 else float("nan")


def _relative_error(y_ms: ArrayLike, p_ms: ArrayLike, owner: str) -> np.ndarray:
    y, p = _pair(y_ms, p_ms, owner)
    if np.any(y <= 0):
        raise invalid_parameter("y_ms", owner, "latencies > 0 ms", float(y.min()))
    return np.abs(p - y) / y


def mape(y_ms: ArrayLike, p_ms: ArrayLike) -> float:
    """Mean absolute percentage error, as a ratio (0.05 = 5%).

    Raises:
        InvalidParameterError: as :func:`spearman`, or a reference latency <= 0.
    """
    return float(_relative_error(y_ms, p_ms, "mape").mean())


def median_relative_error(y_ms: ArrayLike, p_ms: ArrayLike) -> float:
    """Median of |p − y| / y, as a ratio.

    Raises:
        InvalidParameterError: as :func:`mape`.
    """
    return float(np.median(_relative_error(y_ms, p_ms, "median_relative_error")))


def acc_within(y_ms: ArrayLike, p_ms: ArrayLike, tolerance: float) -> float:
    """Share of estimates with |p − y| / y <= ``tolerance`` (Acc@5% is ``tolerance=0.05``).

    Raises:
        InvalidParameterError: as :func:`mape`, or ``tolerance`` <= 0.
    """
    if not tolerance > 0:
        raise invalid_parameter("tolerance", "acc_within", "a ratio > 0", tolerance)
    return float((_relative_error(y_ms, p_ms, "acc_within") <= tolerance + 1e-12).mean())

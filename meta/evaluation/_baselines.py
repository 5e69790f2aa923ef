"""The baselines of DESIGN.md §6, each fitted on one device's K shots only.

Each returns predicted milliseconds for the query models.
"""

from __future__ import annotations

import numpy as np

__all__ = ["device_mix", "flops_scaled", "ridge_features"]


def flops_scaled(query_macs: np.ndarray, shot_macs: np.ndarray, shot_ms: np.ndarray) -> np.ndarray:
    """MACs times the median ms-per-MAC of the measured shots."""
    ok = np.isfinite(shot_ms)
    scale = np.median(shot_ms[ok] / np.maximum(shot_macs[ok], 1.0))
    return np.maximum(query_macs, 1.0) * scale


def _ridge(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, float]:
    """Ridge with an unpenalised intercept, solved in the dual (rows ≤ columns is fine)."""
    mean_x, mean_y = x.mean(axis=0), y.mean()
    xc = x - mean_x
    coef = xc.T @ np.linalg.solve(xc @ xc.T + alpha * np.eye(len(x)), y - mean_y)
    return coef, mean_y - mean_x @ coef


def ridge_features(
    query_features: np.ndarray, shot_features: np.ndarray, shot_ms: np.ndarray, alpha: float = 1.0
) -> np.ndarray:
    """Ridge from graph features (log MACs, params, bytes …) to log ms, fitted on the shots."""
    ok = np.isfinite(shot_ms)
    coef, intercept = _ridge(shot_features[ok] * 20.0, np.log(shot_ms[ok]), alpha)
    return np.exp(query_features * 20.0 @ coef + intercept)


def device_mix(
    query_log_ms: np.ndarray, shot_log_ms: np.ndarray, shot_ms: np.ndarray, alpha: float = 0.1
) -> np.ndarray:
    """Ridge over training devices' log latencies of the same archs, fitted on the shots.

    Args:
        query_log_ms: ``[Q, T]`` log ms of the queries on T training devices.
        shot_log_ms: ``[K, T]`` log ms of the shots on those devices.
        shot_ms: ``[K]`` the target device's shots (NaN = not measured).
    """
    ok = np.isfinite(shot_ms)
    coef, intercept = _ridge(shot_log_ms[ok], np.log(shot_ms[ok]), alpha)
    return np.exp(query_log_ms @ coef + intercept)

"""Offline few-shot evaluation: fewlat against the baselines of DESIGN.md §6, and its plot.

Device-level cross-validation, which also rebuilds suites (:mod:`fewlat.hwdesc`), lives
in :mod:`fewlat.service.handlers` (``hwdesc`` depends on ``meta``, not the reverse)."""

from fewlat.meta.evaluation._baselines import device_mix, flops_scaled, ridge_features
from fewlat.meta.evaluation._evaluate import (
    ALL_METHODS,
    DeviceCase,
    DeviceRun,
    device_case,
    evaluate,
    mean_scores,
    mix_inputs,
    score,
)
from fewlat.meta.evaluation._plot import plot_evaluation

__all__ = [
    "ALL_METHODS",
    "DeviceCase",
    "DeviceRun",
    "device_case",
    "device_mix",
    "evaluate",
    "flops_scaled",
    "mean_scores",
    "mix_inputs",
    "plot_evaluation",
    "ridge_features",
    "score",
]

"""Offline few-shot evaluation: fewlat against the baselines of DESIGN.md §6, device-level
cross-validation, and the plot."""

from fewlat.meta.evaluation._baselines import device_mix, flops_scaled, ridge_features
from fewlat.meta.evaluation._cv import cross_validate, cv_spearman, fold_models, folds_of
from fewlat.meta.evaluation._evaluate import ALL_METHODS, DeviceRun, evaluate, mean_scores, score
from fewlat.meta.evaluation._plot import plot_evaluation

__all__ = [
    "ALL_METHODS",
    "DeviceRun",
    "cross_validate",
    "cv_spearman",
    "device_mix",
    "evaluate",
    "flops_scaled",
    "fold_models",
    "folds_of",
    "mean_scores",
    "plot_evaluation",
    "ridge_features",
    "score",
]

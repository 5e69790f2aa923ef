"""Latency-prediction metrics of DESIGN.md §6 (rank correlation, relative error).

Example::

    from fewlat.meta.metrics import spearman, mape, acc_within
    spearman(measured_ms, predicted_ms), mape(measured_ms, predicted_ms), acc_within(y, p, 0.10)
"""

from fewlat.meta.metrics._metrics import acc_within, kendall, mape, median_relative_error, spearman

__all__ = ["acc_within", "kendall", "mape", "median_relative_error", "spearman"]

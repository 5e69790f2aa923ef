"""One timed model on one device: the :class:`Measurement` record and its statistics."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fewlat.exceptions import invalid_parameter

__all__ = ["Measurement", "summarize"]


@dataclass(frozen=True)
class Measurement:
    """The timing of one model on one runner configuration (DESIGN.md §3).

    Attributes:
        median_ms: median latency of the timed runs, milliseconds; the value
            that goes into a latency table.
        p10_ms: 10th percentile of the timed runs, milliseconds.
        p90_ms: 90th percentile of the timed runs, milliseconds.
        mean_ms: mean of the timed runs, milliseconds.
        cv: coefficient of variation (standard deviation / mean) of the timed runs.
        n: number of timed runs behind the statistics.
        warmup_runs: untimed runs before timing started.
        attempts: how many times the model was timed (1 + re-measurements
            after a CV above the threshold).
        noisy: the CV stayed above the threshold after every attempt.
        settings: the runner's settings (runtime, threads, …) that produced it.
    """

    median_ms: float
    p10_ms: float
    p90_ms: float
    mean_ms: float
    cv: float
    n: int
    warmup_runs: int = 0
    attempts: int = 1
    noisy: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict."""
        return {
            "median_ms": self.median_ms,
            "p10_ms": self.p10_ms,
            "p90_ms": self.p90_ms,
            "mean_ms": self.mean_ms,
            "cv": self.cv,
            "n": self.n,
            "warmup_runs": self.warmup_runs,
            "attempts": self.attempts,
            "noisy": self.noisy,
            "settings": dict(self.settings),
        }


def summarize(
    samples_ms: Sequence[float],
    *,
    warmup_runs: int = 0,
    attempts: int = 1,
    noisy: bool = False,
    settings: Mapping[str, Any] | None = None,
) -> Measurement:
    """Reduce timed runs (milliseconds) to a :class:`Measurement`.

    Raises:
        InvalidParameterError: no samples, or a sample that is not finite and > 0.
    """
    values = np.asarray(samples_ms, dtype=np.float64).reshape(-1)
    if values.size == 0 or not np.all(np.isfinite(values) & (values > 0)):
        raise invalid_parameter(
            "samples_ms", "summarize", "at least one finite timing > 0 ms", samples_ms
        )
    mean = float(values.mean())
    p10, median, p90 = (float(v) for v in np.percentile(values, [10, 50, 90]))
    return Measurement(
        median_ms=median,
        p10_ms=p10,
        p90_ms=p90,
        mean_ms=mean,
        cv=float(values.std() / mean),
        n=int(values.size),
        warmup_runs=warmup_runs,
        attempts=attempts,
        noisy=noisy,
        settings=dict(settings or {}),
    )

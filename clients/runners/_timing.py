"""The timing method every real runner applies (README "Timing method").

1. Inputs come from the model's input shapes with a fixed seed; creating the
   session is not timed.
2. Warm up until stable: windows of ``warmup_window`` runs, until the median of
   one window is within ``warmup_tolerance`` of the one before, with at least
   ``warmup_min_runs`` runs and at most ``warmup_max_seconds``.
3. Time until there are at least ``min_runs`` runs *and* ``min_seconds``,
   capped at ``max_seconds``. A campaign splits this over ``passes``
   interleaved passes, round-robin over a block of models, with one untimed
   run before each model's turn, so that drift of the machine does not bias one model.
   With ``reload_each_pass`` each model is loaded again, and warmed up again,
   in every pass, so its median spans ``passes`` sessions. Runtimes whose
   idle sessions disturb others (multi-threaded onnxruntime) always keep one
   model loaded at a time.
4. A model whose CV is above ``cv_threshold`` is timed again, up to
   ``max_attempts`` in all; the attempt with the lowest CV is kept and flagged
   ``noisy`` if it is still above the threshold.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from fewlat.clients.runners._checks import check_count
from fewlat.clients.runners._measurement import Measurement, summarize
from fewlat.exceptions import invalid_parameter

__all__ = ["Clock", "Session", "TimingMethod", "time_block"]

#: a monotonic clock in seconds, e.g. ``time.perf_counter``
Clock = Callable[[], float]


@dataclass(frozen=True)
class TimingMethod:
    """Parameters of the timing method (times in seconds, thresholds as ratios).

    Raises:
        InvalidParameterError: a count below 1, a negative time, or a ratio <= 0.
    """

    warmup_min_runs: int = 3
    warmup_window: int = 3
    warmup_tolerance: float = 0.05
    warmup_max_seconds: float = 2.0
    min_runs: int = 10
    min_seconds: float = 0.2
    max_seconds: float = 10.0
    passes: int = 3
    reload_each_pass: bool = False
    cv_threshold: float = 0.15
    max_attempts: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("warmup_min_runs", "warmup_window", "min_runs", "passes", "max_attempts"):
            check_count(getattr(self, name), name, "TimingMethod")
        if not isinstance(self.reload_each_pass, bool):
            raise invalid_parameter(
                "reload_each_pass", "TimingMethod", "True or False", self.reload_each_pass
            )
        for name in ("warmup_max_seconds", "min_seconds", "max_seconds"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise invalid_parameter(name, "TimingMethod", "a finite number >= 0 (s)", value)
        for name in ("warmup_tolerance", "cv_threshold"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise invalid_parameter(name, "TimingMethod", "a finite ratio > 0", value)

    def as_dict(self) -> dict[str, Any]:
        """The parameters as a JSON-ready dict (recorded in ``devices.json``)."""
        return asdict(self)


def _timed(run: Callable[[], None], clock: Clock) -> float:
    start = clock()
    run()
    return (clock() - start) * 1e3


def _warm_up(run: Callable[[], None], clock: Clock, method: TimingMethod) -> int:
    """Run untimed windows until two consecutive window medians agree; return the run count."""
    runs, previous, start = 0, None, clock()
    while True:
        window = [_timed(run, clock) for _ in range(method.warmup_window)]
        runs += len(window)
        current = float(np.median(window))
        stable = previous is not None and abs(current - previous) <= (
            method.warmup_tolerance * previous
        )
        if (stable and runs >= method.warmup_min_runs) or (
            clock() - start >= method.warmup_max_seconds and runs >= method.warmup_min_runs
        ):
            return runs
        previous = current


def _collect(
    run: Callable[[], None], clock: Clock, min_runs: int, min_seconds: float, max_seconds: float
) -> list[float]:
    """Time runs until ``min_runs`` and ``min_seconds`` are both reached (or ``max_seconds``)."""
    samples: list[float] = []
    start = clock()
    while True:
        samples.append(_timed(run, clock))
        elapsed = clock() - start
        if (len(samples) >= min_runs and elapsed >= min_seconds) or elapsed >= max_seconds:
            return samples


@dataclass
class Session:
    """A model loaded by a runtime: ``run()`` does one inference, ``close()`` frees it."""

    run: Callable[[], None]
    close: Callable[[], None] = lambda: None


def _finish(
    run: Callable[[], None],
    samples: list[float],
    warmup: int,
    method: TimingMethod,
    clock: Clock,
    settings: dict[str, Any] | None,
) -> Measurement:
    """Summarise the passes; re-time while the CV is above the threshold, then flag."""
    best = summarize(samples, warmup_runs=warmup, settings=settings)
    attempts = 1
    while best.cv > method.cv_threshold and attempts < method.max_attempts:
        attempts += 1
        run()
        again = summarize(
            _collect(run, clock, method.min_runs, method.min_seconds, method.max_seconds),
            warmup_runs=warmup,
            settings=settings,
        )
        best = min(best, again, key=lambda m: m.cv)
    return replace(best, attempts=attempts, noisy=best.cv > method.cv_threshold)


def time_block(
    openers: Sequence[Callable[[], Session]],
    method: TimingMethod,
    *,
    clock: Clock,
    settings: dict[str, Any] | None = None,
    exclusive: bool = False,
) -> list[Measurement]:
    """Time a block of models with interleaved passes (see the module docstring).

    Args:
        openers: one callable per model that loads it (untimed) and returns its
            :class:`Session`.
        method: the timing parameters.
        clock: the clock that times the runs, in seconds.
        settings: runner settings copied into every :class:`Measurement`.
        exclusive: keep one model loaded at a time, loading it again (and
            warming it up again) in every pass. For runtimes whose idle
            sessions disturb the one being timed, e.g. multi-threaded
            onnxruntime, whose per-session worker threads spin.

    Returns:
        One :class:`Measurement` per model, in order.

    Raises:
        Whatever an opener raises; every session opened here is closed.
    """
    count = len(openers)
    live: list[Session] = []
    warmups = [0] * count
    samples: list[list[float]] = [[] for _ in range(count)]
    results: list[Measurement] = []
    per_pass_runs = math.ceil(method.min_runs / method.passes)
    per_pass = (method.min_seconds / method.passes, method.max_seconds / method.passes)
    try:
        if not exclusive:
            for open_model in openers:
                live.append(open_model())
            warmups = [_warm_up(session.run, clock, method) for session in live]
        for turn in range(method.passes):
            last = turn == method.passes - 1
            for i in range(count):
                session = openers[i]() if exclusive else live[i]
                try:
                    if exclusive:
                        warmups[i] += _warm_up(session.run, clock, method)
                    else:
                        session.run()  # one untimed run: the previous model left caches cold
                    samples[i] += _collect(session.run, clock, per_pass_runs, *per_pass)
                    if last:
                        results.append(
                            _finish(session.run, samples[i], warmups[i], method, clock, settings)
                        )
                finally:
                    if exclusive:
                        session.close()
    finally:
        for session in live:
            session.close()
    return results

"""The timing method, run for real on MockRunner's simulated clock and on recorded callables."""

from __future__ import annotations

import numpy as np
import pytest

from fewlat.clients.runners import MockRunner, TimingMethod, summarize, time_block
from fewlat.exceptions import InvalidParameterError
from tests.clients.conftest import BIG, NB201


def test_summarize_statistics() -> None:
    samples = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]
    m = summarize(samples, warmup_runs=3, settings={"runtime": "x"})
    assert m.median_ms == 5.5 and m.mean_ms == 5.5 and m.n == 10
    assert m.p10_ms == pytest.approx(1.9) and m.p90_ms == pytest.approx(9.1)
    assert m.cv == pytest.approx(np.std(samples) / 5.5)
    assert m.warmup_runs == 3 and m.settings == {"runtime": "x"}
    for bad in ([], [1.0, 0.0], [1.0, float("nan")]):
        with pytest.raises(InvalidParameterError, match="samples_ms"):
            summarize(bad)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"min_runs": 0},
        {"passes": 0},
        {"min_seconds": -1.0},
        {"cv_threshold": 0.0},
        {"warmup_tolerance": float("nan")},
        {"max_attempts": 1.5},
    ],
)
def test_bad_timing_parameters(kwargs) -> None:
    with pytest.raises(InvalidParameterError, match="TimingMethod"):
        TimingMethod(**kwargs)


def test_median_matches_the_simulated_device() -> None:
    runner = MockRunner(noise_cv=0.02, method=TimingMethod(min_seconds=0.05))
    model = NB201.to_onnx(BIG, with_weights=True)
    m = runner.measure(model)
    assert m.median_ms == pytest.approx(runner.latency_ms(model), rel=0.03)
    assert not m.noisy and m.attempts == 1
    assert m.n >= 10 and m.n * m.median_ms >= 0.9 * 50  # ≥ min_seconds of timed runs


def test_warm_up_outlasts_the_cold_runs() -> None:
    method = TimingMethod(warmup_min_runs=1, warmup_window=2)
    m = MockRunner(cold_runs=3, cold_factor=10.0, noise_cv=0.0, method=method).measure(
        space="nb201", arch=BIG
    )
    # windows of 2: [cold, cold] [cold, warm] [warm, warm] [warm, warm]: stable after 8
    assert m.warmup_runs >= 8
    assert m.cv < 1e-9  # no cold run leaked into the timed runs


def test_noisy_model_is_re_measured_then_flagged() -> None:
    method = TimingMethod(cv_threshold=0.05, max_attempts=3, min_seconds=0.01)
    m = MockRunner(noise_cv=0.5, method=method).measure(space="nb201", arch=BIG)
    assert m.attempts == 3 and m.noisy and m.cv > 0.05
    quiet = MockRunner(noise_cv=0.001, method=method).measure(space="nb201", arch=BIG)
    assert quiet.attempts == 1 and not quiet.noisy


def test_passes_interleave_round_robin_over_the_block() -> None:
    log: list[str] = []
    now = [0.0]

    def clock() -> float:
        return now[0]

    def make(name: str, ms: float):
        def run() -> None:
            log.append(name)
            now[0] += ms / 1e3

        return run

    method = TimingMethod(warmup_min_runs=1, warmup_window=1, min_runs=4, min_seconds=0.0, passes=2)
    a, b = time_block([make("a", 1.0), make("b", 2.0)], method, clock=clock)
    assert a.median_ms == pytest.approx(1.0) and b.median_ms == pytest.approx(2.0)
    assert a.n == b.n == 4
    # warm-up a, warm-up b, then pass 1: a (1 untimed + 2 timed), b; pass 2: a, b
    timed = log[log.index("b") :]
    timed = timed[timed.index("a") :]
    runs = "".join(timed)
    assert runs == "aaabbbaaabbb"


def test_max_seconds_caps_a_slow_model() -> None:
    method = TimingMethod(min_runs=1000, min_seconds=0.0, max_seconds=0.05, passes=1)
    m = MockRunner(noise_cv=0.0, method=method).measure(space="nb201", arch=BIG)
    assert m.n < 1000 and m.n * m.median_ms == pytest.approx(50, rel=0.1)

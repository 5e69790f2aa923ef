"""The timing method, run for real on MockRunner's simulated clock and on recorded callables."""

from __future__ import annotations

import numpy as np
import pytest

from fewlat.clients.runners import MockRunner, Session, TimingMethod, summarize, time_block
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
        {"reload_each_pass": 1},
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


class _Recorder:
    """Simulated models that log every run, open and close on one simulated clock."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.now_s = 0.0
        self.open_now = 0
        self.most_open = 0

    def clock(self) -> float:
        return self.now_s

    def opener(self, name: str, ms: float):
        def open_model() -> Session:
            self.log.append(f"open {name}")
            self.open_now += 1
            self.most_open = max(self.most_open, self.open_now)

            def run() -> None:
                self.log.append(name)
                self.now_s += ms / 1e3

            def close() -> None:
                self.open_now -= 1

            return Session(run, close)

        return open_model


METHOD = TimingMethod(warmup_min_runs=1, warmup_window=1, min_runs=4, min_seconds=0.0, passes=2)


def test_passes_interleave_round_robin_over_the_block() -> None:
    rec = _Recorder()
    a, b = time_block([rec.opener("a", 1.0), rec.opener("b", 2.0)], METHOD, clock=rec.clock)
    assert a.median_ms == pytest.approx(1.0) and b.median_ms == pytest.approx(2.0)
    assert a.n == b.n == 4
    # both loaded, warmed up (two windows of one run), then per pass: 1 untimed + 2 timed each
    assert rec.log[:2] == ["open a", "open b"]
    assert "".join(rec.log[2:]) == "aabb" + "aaabbb" + "aaabbb"
    assert rec.open_now == 0 and rec.most_open == 2


def test_exclusive_mode_keeps_one_model_loaded_at_a_time() -> None:
    rec = _Recorder()
    openers = [rec.opener("a", 1.0), rec.opener("b", 2.0)]
    a, b = time_block(openers, METHOD, clock=rec.clock, exclusive=True)
    assert a.median_ms == pytest.approx(1.0) and b.median_ms == pytest.approx(2.0)
    assert rec.most_open == 1 and rec.open_now == 0
    assert [e for e in rec.log if e.startswith("open")] == ["open a", "open b"] * 2
    assert a.warmup_runs == 4  # warmed up again after every load


def test_sessions_are_closed_when_a_model_fails_to_load() -> None:
    rec = _Recorder()

    def broken() -> Session:
        raise RuntimeError("cannot load")

    with pytest.raises(RuntimeError):
        time_block([rec.opener("a", 1.0), broken], METHOD, clock=rec.clock)
    assert rec.open_now == 0


def test_max_seconds_caps_a_slow_model() -> None:
    method = TimingMethod(min_runs=1000, min_seconds=0.0, max_seconds=0.05, passes=1)
    m = MockRunner(noise_cv=0.0, method=method).measure(space="nb201", arch=BIG)
    assert m.n < 1000 and m.n * m.median_ms == pytest.approx(50, rel=0.1)


def test_reload_each_pass_loads_every_model_once_per_pass() -> None:
    opened: list[str] = []

    class Counting(MockRunner):
        def _open(self, model):
            opened.append(model.arch)
            return super()._open(model)

    method = TimingMethod(passes=3, reload_each_pass=True, min_seconds=0.001)
    Counting(method=method).measure(space="nb201", arch=BIG)
    assert opened == [BIG] * 3
    opened.clear()
    Counting(method=TimingMethod(passes=3, min_seconds=0.001)).measure(space="nb201", arch=BIG)
    assert opened == [BIG]

"""``MockRunner``: a simulated device for tests, timed by the real method on a simulated clock."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from fewlat.clients.runners._base import ModelInput, Runner, Session
from fewlat.clients.runners._checks import check_count
from fewlat.clients.runners._inputs import prepare_model
from fewlat.clients.runners._timing import TimingMethod
from fewlat.exceptions import invalid_parameter

__all__ = ["MockRunner"]


class MockRunner(Runner):
    """A device whose latency is ``overhead_ms + ms_per_gmac × GMACs`` of the model.

    Runs advance a simulated clock instead of sleeping, so the timing method
    (warm-up, passes, re-measuring) runs for real and fast. The first
    ``cold_runs`` runs of each model take ``cold_factor`` times longer, and each
    run gets log-normal noise of spread ``noise_cv`` (seeded).

    Args:
        ms_per_gmac: milliseconds per 10⁹ multiply-accumulates (default 10).
        overhead_ms: fixed cost per run, milliseconds (default 0.05).
        noise_cv: relative noise of one run (default 0.02).
        cold_runs: slow runs at the start of each model (default 2).
        cold_factor: how much slower those are (default 3).
        seed: seed of the noise (default 0).
        method, pin_cpus: as :class:`Runner`.

    Raises:
        InvalidParameterError: a negative or non-finite parameter.
    """

    kind = "mock"

    def __init__(
        self,
        *,
        ms_per_gmac: float = 10.0,
        overhead_ms: float = 0.05,
        noise_cv: float = 0.02,
        cold_runs: int = 2,
        cold_factor: float = 3.0,
        seed: int = 0,
        method: TimingMethod | None = None,
        pin_cpus: Sequence[int] | None = None,
    ) -> None:
        super().__init__(method=method, pin_cpus=pin_cpus)
        for name, value in (
            ("ms_per_gmac", ms_per_gmac),
            ("overhead_ms", overhead_ms),
            ("noise_cv", noise_cv),
            ("cold_factor", cold_factor),
        ):
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
                raise invalid_parameter(name, "MockRunner", "a finite number >= 0", value)
        self.ms_per_gmac = float(ms_per_gmac)
        self.overhead_ms = float(overhead_ms)
        self.noise_cv = float(noise_cv)
        self.cold_runs = (
            cold_runs if cold_runs == 0 else check_count(cold_runs, "cold_runs", "MockRunner")
        )
        self.cold_factor = float(cold_factor)
        self.seed = seed
        self._rng = np.random.default_rng(seed)
        self._now_s = 0.0

    @property
    def settings(self) -> dict[str, Any]:
        return {
            "runtime": "mock",
            "version": "1",
            "ms_per_gmac": self.ms_per_gmac,
            "overhead_ms": self.overhead_ms,
            "noise_cv": self.noise_cv,
        }

    def clock(self) -> float:  # type: ignore[override]
        """The simulated time, in seconds."""
        return self._now_s

    def latency_ms(self, model_bytes: bytes) -> float:
        """The noise-free latency of a model on this simulated device, milliseconds."""
        from fewlat.meta.graph import encode

        return self.overhead_ms + self.ms_per_gmac * encode(model_bytes).macs / 1e9

    def _open(self, model: ModelInput) -> Session:
        onnx_bytes = model.onnx_bytes()
        prepare_model(onnx_bytes)  # the same input checks as a real runtime
        base_ms = self.latency_ms(onnx_bytes)
        done = [0]

        def run() -> None:
            factor = self.cold_factor if done[0] < self.cold_runs else 1.0
            noise = float(np.exp(self._rng.normal(0.0, self.noise_cv)))
            self._now_s += base_ms * factor * noise / 1e3
            done[0] += 1

        return Session(run)

"""The hardware descriptor of a device: a function of its suite timings only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fewlat.exceptions import invalid_parameter
from fewlat.hwdesc._suite import CalibrationSuite
from fewlat.meta.predictor import MAX_SHOTS, descriptor_vector

__all__ = ["Descriptor"]


@dataclass(frozen=True)
class Descriptor:
    """What a device's suite timings say about it (DESIGN.md §3).

    Attributes:
        suite_version: the suite the timings are of.
        log_anchor_ms: natural log of the anchor's milliseconds.
        log_ratios: ``log(ref_k ms / anchor ms)`` for k = 1 … 9 (0 where missing).
        mask: 1 where the shot was measured, per suite position (anchor first).
    """

    suite_version: str
    log_anchor_ms: float
    log_ratios: np.ndarray
    mask: np.ndarray

    @classmethod
    def from_timings(
        cls, suite: CalibrationSuite, latency_ms: Sequence[float | None]
    ) -> Descriptor:
        """Build from the first K timings of ``suite`` (None/NaN = not measured).

        Raises:
            InvalidParameterError: more timings than the suite, a missing anchor,
                or a timing that is not positive.
        """
        ms = [np.nan if v is None else float(v) for v in latency_ms]
        if len(ms) > len(suite):
            raise invalid_parameter(
                "latency_ms",
                "Descriptor.from_timings",
                f"at most {len(suite)} timings for suite {suite.version}",
                len(ms),
            )
        vector = descriptor_vector(ms, 0, 1)
        return cls(
            suite_version=suite.version,
            log_anchor_ms=float(np.log(ms[0])),
            log_ratios=vector[1:MAX_SHOTS].copy(),
            mask=vector[MAX_SHOTS : 2 * MAX_SHOTS].copy(),
        )

    def summary(self) -> dict[str, float | int | str]:
        """Short JSON-ready summary: anchor ms, shots measured, spread of the ratios."""
        measured = self.log_ratios[self.mask[1:] > 0]
        return {
            "suite_version": self.suite_version,
            "anchor_ms": float(np.exp(self.log_anchor_ms)),
            "shots": int(self.mask.sum()),
            "ratio_min": float(np.exp(measured.min())) if len(measured) else 1.0,
            "ratio_max": float(np.exp(measured.max())) if len(measured) else 1.0,
        }

"""80% prediction intervals whose width follows how predictable each device is.

A device's *shot error* is the root mean square, over its measured shots after
the anchor, of log(predicted / measured) for that shot when it is left out of
the adaptation (and of the descriptor). Devices whose own shots are predicted
badly are predicted badly elsewhere too (Spearman over the CV's devices between
a device's shot error and its 80th-percentile query error, recipe 6: 0.89–0.96 at
K=10, 0.71–0.93 at K=5, only 0.09–0.55 at K=3; ``benchmarks/intervals.py``), so the
interval's log half-width at K shots is::

    scale[K] * sqrt(shot_error**2 + floor[K]**2)

``floor[K]`` (half the median shot error at K) keeps a device whose few shots
happen to agree from getting a near-zero interval. ``scale[K]`` is the 80th
percentile of ``|log residual| / sqrt(shot_error**2 + floor[K]**2)`` over the
queries of devices held out of training, with equally many queries per device
and all spaces pooled: pooling gives each K several times more calibration
devices than one space has, and replayed on the CV's networks it lands every
space's mean coverage at 0.77–0.85 (means over 200 stratified calibration draws).

A model outside the answering suite's space (a device calibrated on FBNet
asked about an NB201 arch) is predicted far worse, and mostly in scale, which
the device's shot error does not show. Its interval has one log half-width,
``outside``: the 80th percentile of ``|log residual|`` of the held-out devices
that have more than one space, each adapted on one space's whole suite and
predicting the other spaces' queries, equally many per (device, suite, space).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["DEFAULT_HALF_WIDTH", "DEFAULT_OUTSIDE_HALF_WIDTH", "IntervalScales", "ShotRecord"]

#: log half-width without calibration data (a checkpoint trained on too few devices): ±22%
DEFAULT_HALF_WIDTH = 0.2
#: log half-width outside the suite's space without calibration data (checkpoints older
#: than the field, or without held-out devices in two spaces): a factor of 2 (0.69); the
#: recipe-5 networks fitted 0.61–0.87 (the four CV folds and the shipped one, 0.785)
DEFAULT_OUTSIDE_HALF_WIDTH = float(np.log(2.0))
_QUERIES_PER_DEVICE = 400


@dataclass(frozen=True)
class ShotRecord:
    """One held-out device adapted on its first ``shots`` suite timings.

    Attributes:
        shots: K, the timings it was adapted on.
        shot_error: its leave-one-shot-out RMS log error (NaN: fewer than two
            measured shots).
        abs_log_errors: ``|log predicted − log measured|`` of its query models.
    """

    shots: int
    shot_error: float
    abs_log_errors: np.ndarray


def _spread(shot_error: float, floor: float) -> float:
    error = shot_error if np.isfinite(shot_error) else 0.0
    spread = float(np.hypot(error, floor))
    return spread if spread > 0 else 1.0


@dataclass(frozen=True)
class IntervalScales:
    """Per-K scale and floor of the interval (index K−1), and the log half-width
    outside the suite's space (None: not fitted), fitted by :meth:`fit`."""

    scale: tuple[float, ...]
    floor: tuple[float, ...]
    outside: float | None = None

    def outside_half_width(self) -> float:
        """Log half-width of the 80% interval of a model outside the answering
        suite's space (:data:`DEFAULT_OUTSIDE_HALF_WIDTH` when not fitted)."""
        return DEFAULT_OUTSIDE_HALF_WIDTH if self.outside is None else self.outside

    def half_width(self, shots: int, shot_error: float) -> float:
        """Log half-width of the 80% interval for a device adapted on ``shots``
        timings with leave-one-out RMS log error ``shot_error`` (NaN: unknown).
        K beyond the fitted range uses the last fitted K."""
        i = min(max(shots, 1), len(self.scale)) - 1
        return self.scale[i] * _spread(shot_error, self.floor[i])

    @classmethod
    def fit(
        cls,
        records: Sequence[ShotRecord],
        coverage: float = 0.8,
        seed: int = 0,
        outside: Sequence[np.ndarray] = (),
    ) -> IntervalScales | None:
        """Fit scale and floor for K = 1 … the largest K of ``records``.

        Args:
            records: held-out devices adapted on their own space's suite.
            coverage: the share of models the interval should hold.
            seed: seeds the draws of equally many queries per record.
            outside: ``|log residual|`` arrays, one per (device, suite, other
                space), for :attr:`outside` (empty: left None).

        Returns:
            None when ``records`` is empty; a K without records reuses the
            previous K's values.
        """
        if not records:
            return None
        rng = np.random.default_rng(seed)

        def drawn(errors: np.ndarray) -> np.ndarray:
            if len(errors) > _QUERIES_PER_DEVICE:
                return rng.choice(errors, _QUERIES_PER_DEVICE, replace=False)
            return errors

        scale: list[float] = []
        floor: list[float] = []
        for k in range(1, max(r.shots for r in records) + 1):
            mine = [r for r in records if r.shots == k and len(r.abs_log_errors)]
            if not mine:
                scale.append(scale[-1] if scale else DEFAULT_HALF_WIDTH)
                floor.append(floor[-1] if floor else 0.0)
                continue
            errors = [r.shot_error for r in mine if np.isfinite(r.shot_error)]
            floor_k = 0.5 * float(np.median(errors)) if errors else 0.0
            scores = [drawn(r.abs_log_errors) / _spread(r.shot_error, floor_k) for r in mine]
            scale.append(float(np.quantile(np.concatenate(scores), coverage)))
            floor.append(floor_k)
        far = [drawn(e) for e in outside if len(e)]
        width = float(np.quantile(np.concatenate(far), coverage)) if far else None
        return cls(tuple(scale), tuple(floor), width)

    def to_dict(self) -> dict:
        """JSON-ready form (checkpoint ``config.json``)."""
        out: dict = {"scale": list(self.scale), "floor": list(self.floor)}
        if self.outside is not None:
            out["outside"] = self.outside
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> IntervalScales:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: the lists are missing, empty, of different lengths or negative,
                or ``outside`` (optional) is not a number >= 0.
        """
        try:
            scale, floor = tuple(map(float, data["scale"])), tuple(map(float, data["floor"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"interval scales need 'scale' and 'floor' lists: {exc}") from exc
        if not scale or len(scale) != len(floor) or min(scale + floor) < 0:
            raise ValueError("interval scale and floor must be equally long, non-empty, >= 0")
        outside = data.get("outside")
        if outside is not None and not (isinstance(outside, int | float) and outside >= 0):
            raise ValueError(f"the interval's outside half-width must be >= 0, got {outside!r}")
        return cls(scale, floor, None if outside is None else float(outside))

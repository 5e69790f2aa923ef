"""What the handlers answer: plain dataclasses that ``service._convert`` turns into messages."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["CalibrationReport", "DeviceView", "PredictionView"]


@dataclass(frozen=True)
class DeviceView:
    """A device as ``GetDevice`` / ``ListDevices`` show it."""

    name: str
    description: str
    labels: dict[str, str]
    status: str  # "registered" or "calibrated"
    shots: dict[str, int]
    loo_error: float
    calibrated_at_s: float
    registered_at_s: float
    checkpoint_version: str
    measurement_count: int


@dataclass(frozen=True)
class CalibrationReport:
    """The answer to ``SubmitCalibration`` (also stored for idempotent resubmissions).

    Attributes:
        loo_error: median over references of |predicted / measured - 1| when each is
            predicted from the other shots (0 under 3 shots); loo_errors: each one.
        descriptor: :meth:`fewlat.hwdesc.Descriptor.summary`.
        stored: measurements this request stored (0 when it was a resubmission).
    """

    device: str
    suite_version: str
    checkpoint_version: str
    shots: int
    loo_error: float
    loo_errors: list[float]
    descriptor: dict[str, Any]
    stored: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PredictionView:
    """One answered model: milliseconds with the 80% interval, what answered, and the
    model's space ("" for model bytes of no recognised space)."""

    latency_ms: float
    low_ms: float
    high_ms: float
    suite: str
    suite_version: str
    checkpoint_version: str
    space: str

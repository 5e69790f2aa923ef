"""What the SDK returns: frozen dataclasses, and their converters from ``fewlat.v1`` messages.

No protobuf type leaves :class:`fewlat.clients.Client`; every answer is one of
these records. Times are milliseconds (``_ms``) or seconds since the Unix
epoch (``_at_s``); errors are fractions (0.05 = 5%).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, TypeVar

from fewlat.exceptions import SuiteMismatchError
from fewlat.v1 import fewlat_pb2

__all__ = [
    "CalibrationReport",
    "DeviceInfo",
    "JobInfo",
    "PredictionResult",
    "SuiteInfo",
    "SuiteModel",
    "device_from_proto",
    "job_from_proto",
    "prediction_from_proto",
    "report_from_proto",
    "suite_from_proto",
]

_T = TypeVar("_T")


@dataclass(frozen=True)
class DeviceInfo:
    """A device as the server knows it.

    Attributes:
        name: the device name.
        description: free-form hardware and runtime description.
        labels: free-form key/value labels.
        status: ``"registered"`` (no calibration yet) or ``"calibrated"``.
        shots: per space, the shots of its last calibration.
        loo_error: leave-one-out error of the suite timings, a fraction; 0 when unknown.
        calibrated_at_s: time of the last calibration, seconds since the epoch; 0 when never.
        registered_at_s: time of registration, seconds since the epoch.
        checkpoint_version: the meta-model checkpoint the device was adapted with.
        measurement_count: measurements stored for the device (calibration and extra).
    """

    name: str
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    status: str = "registered"
    shots: dict[str, int] = field(default_factory=dict)
    loo_error: float = 0.0
    calibrated_at_s: float = 0.0
    registered_at_s: float = 0.0
    checkpoint_version: str = ""
    measurement_count: int = 0

    @property
    def calibrated(self) -> bool:
        """Whether the device can answer predictions."""
        return self.status == "calibrated"

    def as_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class SuiteModel:
    """One model of a calibration suite.

    Attributes:
        position: 0 for the anchor (the supernet), then 1, 2, …
        arch: the canonical arch string in the suite's space.
        sha256: hex SHA-256 of ``onnx_bytes`` as the server states it.
        onnx_bytes: the serialised ONNX model a board times (with weights).
    """

    position: int
    arch: str
    sha256: str
    onnx_bytes: bytes = field(repr=False)


@dataclass(frozen=True)
class SuiteInfo:
    """The ordered calibration suite of a space, or its first entries; "K shots" are
    the first K entries.

    Attributes:
        space: the registered space name.
        version: content-derived version, e.g. ``nb201-3f2a9c0d1b7e``.
        entries: the models fetched, anchor first.
        size: how many entries the whole suite has (``entries`` may hold fewer).
        checkpoint_version: the serving checkpoint the suite belongs to.
    """

    space: str
    version: str
    entries: tuple[SuiteModel, ...]
    size: int
    checkpoint_version: str = ""

    @property
    def archs(self) -> tuple[str, ...]:
        """Arch strings of :attr:`entries`, in suite order."""
        return tuple(e.arch for e in self.entries)


@dataclass(frozen=True)
class CalibrationReport:
    """The server's answer to a calibration.

    Attributes:
        device: the calibrated device.
        suite_version: the suite version the timings belong to.
        checkpoint_version: the checkpoint the predictor was adapted from.
        shots: how many suite models were timed.
        loo_error: median leave-one-out error over the references, a fraction
            (0.05 = 5%); 0 under 3 shots.
        loo_errors: the leave-one-out error of each reference, fractions.
        anchor_ms: the anchor's (supernet's) latency, milliseconds.
        ratio_min: the smallest reference / anchor latency ratio.
        ratio_max: the largest reference / anchor latency ratio.
        stored: measurements the request stored (0 on an idempotent resubmission).
    """

    device: str
    suite_version: str
    checkpoint_version: str
    shots: int
    loo_error: float = 0.0
    loo_errors: tuple[float, ...] = ()
    anchor_ms: float = 0.0
    ratio_min: float = 0.0
    ratio_max: float = 0.0
    stored: int = 0

    def as_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict."""
        return {**asdict(self), "loo_errors": list(self.loo_errors)}


@dataclass(frozen=True)
class PredictionResult:
    """A predicted latency with its 80% interval.

    Attributes:
        latency_ms: the predicted latency, milliseconds.
        low_ms: lower end of the 80% interval, milliseconds.
        high_ms: upper end of the 80% interval, milliseconds.
        suite: the space whose calibration answered.
        suite_version: that calibration suite's version.
        checkpoint_version: the checkpoint the device predictor was adapted from.
        space: the model's search space: an arch's own, or the one ONNX bytes were
            recognised as; "" for bytes of no recognised space (they get the wider
            interval of models outside the answering suite's space).
    """

    latency_ms: float
    low_ms: float
    high_ms: float
    suite: str
    suite_version: str = ""
    checkpoint_version: str = ""
    space: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict."""
        return asdict(self)


@dataclass(frozen=True)
class JobInfo:
    """A background meta-training job.

    Attributes:
        id: the job id.
        state: ``"queued"``, ``"running"``, ``"succeeded"`` or ``"failed"``.
        progress: 0 … 1.
        phase: what the job is doing now.
        message: a human-readable note (the error of a failed job).
        promoted: whether the new checkpoint replaced the serving one.
        checkpoint_version: the checkpoint the job produced, when it has.
        started_at_s: start time, seconds since the epoch; 0 while queued.
        finished_at_s: end time, seconds since the epoch; 0 while unfinished.
    """

    id: str
    state: str
    progress: float = 0.0
    phase: str = ""
    message: str = ""
    promoted: bool = False
    checkpoint_version: str = ""
    started_at_s: float = 0.0
    finished_at_s: float = 0.0

    @property
    def done(self) -> bool:
        """Whether the job has finished, successfully or not."""
        return self.state in ("succeeded", "failed")

    def as_dict(self) -> dict[str, Any]:
        """The record as a JSON-ready dict."""
        return asdict(self)


def device_from_proto(msg: fewlat_pb2.Device) -> DeviceInfo:
    """A ``fewlat.v1.Device`` as a :class:`DeviceInfo`."""
    return DeviceInfo(
        name=msg.name,
        description=msg.description,
        labels=dict(msg.labels),
        status=msg.status,
        shots={k: int(v) for k, v in msg.shots.items()},
        loo_error=msg.loo_error,
        calibrated_at_s=msg.calibrated_at_s,
        registered_at_s=msg.registered_at_s,
        checkpoint_version=msg.checkpoint_version,
        measurement_count=int(msg.measurement_count),
    )


def suite_from_proto(parts: Sequence[fewlat_pb2.CalibrationSuite]) -> SuiteInfo:
    """The streamed parts of a ``fewlat.v1.CalibrationSuite`` (one entry each) as one
    :class:`SuiteInfo`, entries in position order.

    Raises:
        SuiteMismatchError: no parts, or parts of different suite versions.
    """
    if not parts:
        raise SuiteMismatchError("The server sent an empty calibration suite.")
    first = parts[0]
    versions = sorted({p.version for p in parts})
    if len(versions) > 1:
        raise SuiteMismatchError(
            f"The server sent parts of several suite versions ({', '.join(versions)}) in one "
            "answer; the serving checkpoint changed while it was sent. Run it again."
        )
    entries = sorted((e for p in parts for e in p.entries), key=lambda e: e.position)
    return SuiteInfo(
        space=first.space,
        version=first.version,
        entries=tuple(
            SuiteModel(e.position, e.arch, e.sha256, bytes(e.onnx_bytes)) for e in entries
        ),
        size=int(first.size) or len(entries),
        checkpoint_version=first.checkpoint_version,
    )


def report_from_proto(msg: fewlat_pb2.CalibrationReport) -> CalibrationReport:
    """A ``fewlat.v1.CalibrationReport`` as a :class:`CalibrationReport`."""
    return CalibrationReport(
        device=msg.device,
        suite_version=msg.suite_version,
        checkpoint_version=msg.checkpoint_version,
        shots=int(msg.shots),
        loo_error=msg.loo_error,
        loo_errors=tuple(msg.loo_errors),
        anchor_ms=msg.descriptor.anchor_ms,
        ratio_min=msg.descriptor.ratio_min,
        ratio_max=msg.descriptor.ratio_max,
        stored=int(msg.stored),
    )


def _same_fields(cls: type[_T], msg: Any) -> _T:
    """``cls`` built from the message fields of the same names (scalar fields only)."""
    return cls(**{f.name: getattr(msg, f.name) for f in fields(cls)})


def prediction_from_proto(msg: fewlat_pb2.Prediction) -> PredictionResult:
    """A ``fewlat.v1.Prediction`` as a :class:`PredictionResult`."""
    return _same_fields(PredictionResult, msg)


def job_from_proto(msg: fewlat_pb2.Job) -> JobInfo:
    """A ``fewlat.v1.Job`` as a :class:`JobInfo`."""
    return _same_fields(JobInfo, msg)

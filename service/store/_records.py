"""Frozen records that :class:`~fewlat.service.store.Store` returns and accepts.

They are plain data built from a row inside the session that read it, so no ORM
object (and no lazy load) ever escapes the store. Each read builds fresh dicts
and lists: changing them changes nothing in the database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

__all__ = [
    "ArchTiming",
    "CalibrationRecord",
    "CalibrationSummary",
    "CheckpointRecord",
    "DeviceRecord",
    "DeviceSummary",
    "JobRecord",
    "MeasurementRecord",
]


@dataclass(frozen=True, kw_only=True)
class DeviceRecord:
    """A registered device (board).

    Attributes:
        name: the unique device name, e.g. ``raspi4-ort-4t``.
        description: free text (default: ``""``).
        labels: free ``str → str`` tags, e.g. ``{"soc": "bcm2711"}``.
        owner: the auth principal that registered it, or ``None`` without auth.
        registered_at_s: when it was registered, seconds since the epoch.
    """

    name: str
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    owner: str | None = None
    registered_at_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class MeasurementRecord:
    """One timing of one model on one device.

    Build one with at least ``kind``, ``latency_ms`` and either ``space`` + ``arch``
    or ``sha256`` to pass to :meth:`Store.add_measurements`; the store fills
    ``id``, ``device``, ``request_id`` and (when 0) ``created_at_s``.

    Attributes:
        kind: ``"calibration"`` (a suite model) or ``"extra"`` (any other model).
        latency_ms: the median latency, milliseconds; finite and > 0.
        space: the search-space name, with ``arch`` (default: ``None``).
        arch: the canonical arch string in ``space`` (default: ``None``).
        sha256: hex digest of the ONNX bytes that were timed (default: ``None``).
        position: the model's position in the calibration suite (default: ``None``).
        suite_version: the suite version, e.g. ``nb201-3f2a9c0d1b7e`` (default: ``None``).
        p10_ms: 10th percentile latency, milliseconds (default: ``None``).
        p90_ms: 90th percentile latency, milliseconds (default: ``None``).
        repeats: timed runs behind the median (default: ``1``).
        warmup_runs: untimed runs before them (default: ``0``).
        cv: coefficient of variation of the timed runs (default: ``None``).
        runner: the runner's self-description, e.g. ``{"name": "ort", "threads": 4}``.
        device: the device name; filled by the store (default: ``""``).
        request_id: the submission it came with; filled by the store (default: ``""``).
        id: the row id; filled by the store (default: ``None``).
        created_at_s: seconds since the epoch; 0 means "when stored" (default: ``0.0``).
    """

    kind: str
    latency_ms: float
    space: str | None = None
    arch: str | None = None
    sha256: str | None = None
    position: int | None = None
    suite_version: str | None = None
    p10_ms: float | None = None
    p90_ms: float | None = None
    repeats: int = 1
    warmup_runs: int = 0
    cv: float | None = None
    runner: dict[str, Any] = field(default_factory=dict)
    device: str = ""
    request_id: str = ""
    id: int | None = None
    created_at_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class CalibrationRecord:
    """The adapted predictor state of one device in one search space.

    Attributes:
        device: the device name.
        space: the search-space name.
        suite_version: the version of the suite whose timings were used.
        checkpoint_version: the meta-trained checkpoint that was adapted.
        shots: how many suite models (K) were used.
        timings_ms: the suite timings in suite order, milliseconds; ``None`` for a missing shot.
        loo_error: leave-one-out relative error of the adapted predictor, or
            ``None`` when it is undefined (fewer than two shots).
        report: free JSON summary for the caller (default: ``{}``).
        state: opaque safetensors bytes of the adapted state; not shown by ``repr``.
        calibrated_at_s: seconds since the epoch; 0 means "when saved" (default: ``0.0``).
    """

    device: str
    space: str
    suite_version: str
    checkpoint_version: str
    shots: int
    timings_ms: list[float | None]
    loo_error: float | None
    report: dict[str, Any] = field(default_factory=dict)
    state: bytes = field(default=b"", repr=False)
    calibrated_at_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class CalibrationSummary:
    """A calibration without its timings, report and adapted state (which may be large).

    Attributes:
        space: the search-space name.
        suite_version: the version of the suite whose timings were used.
        checkpoint_version: the meta-trained checkpoint that was adapted.
        shots: how many suite models (K) were used.
        loo_error: leave-one-out relative error, or ``None`` when undefined.
        calibrated_at_s: seconds since the epoch.
    """

    space: str
    suite_version: str
    checkpoint_version: str
    shots: int
    loo_error: float | None
    calibrated_at_s: float


@dataclass(frozen=True, kw_only=True)
class DeviceSummary:
    """A device with what ``GetDevice`` / ``ListDevices`` show of it.

    Attributes:
        device: the registered device.
        calibrations: its calibrations, ordered by space (empty when it has none).
        measurement_count: how many timings of it are stored.
    """

    device: DeviceRecord
    calibrations: list[CalibrationSummary] = field(default_factory=list)
    measurement_count: int = 0


class ArchTiming(NamedTuple):
    """One stored timing of an arch: the columns that pool it into a latency table.

    Attributes:
        device: the device name.
        space: the search-space name.
        arch: the canonical arch string in ``space``.
        latency_ms: the median latency of the row, milliseconds.
        runner: the runner's self-description, e.g. ``{"runtime": "onnx"}``.
    """

    device: str
    space: str
    arch: str
    latency_ms: float
    runner: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class CheckpointRecord:
    """A meta-trained predictor checkpoint.

    Attributes:
        version: the unique checkpoint version.
        path: where its files are.
        created_at_s: when it was added, seconds since the epoch.
        metrics: free JSON evaluation metrics, e.g. ``{"spearman": 0.93}``.
        active: whether the server predicts with it; at most one is.
    """

    version: str
    path: str
    created_at_s: float
    metrics: dict[str, Any]
    active: bool


@dataclass(frozen=True, kw_only=True)
class JobRecord:
    """A long-running server job.

    Attributes:
        id: uuid4 hex.
        kind: what it does, e.g. ``"meta-train"``.
        state: ``"queued"``, ``"running"``, ``"succeeded"`` or ``"failed"``.
        progress: share done, 0 … 1.
        phase: the current step, free text.
        message: the last human-readable news, e.g. an error.
        promoted: whether its checkpoint became the active one.
        checkpoint_version: the checkpoint it produced, or ``""``.
        params: the JSON parameters it was started with.
        started_at_s: when it was created, seconds since the epoch.
        finished_at_s: when it succeeded or failed, or ``None``.
    """

    id: str
    kind: str
    state: str
    progress: float
    phase: str
    message: str
    promoted: bool
    checkpoint_version: str
    params: dict[str, Any]
    started_at_s: float
    finished_at_s: float | None

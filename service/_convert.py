"""Converters between ``fewlat.v1`` messages and the handlers' plain values (both ways)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable

from fewlat.exceptions import InvalidMeasurementError
from fewlat.hwdesc import CalibrationSuite
from fewlat.service.handlers import CalibrationReport, DeviceView, PredictionView
from fewlat.service.store import JobRecord, MeasurementRecord
from fewlat.v1 import fewlat_pb2 as pb

__all__ = [
    "device_message",
    "job_message",
    "measurement_records",
    "prediction_message",
    "report_message",
    "suite_message",
    "suite_records",
]


def device_message(view: DeviceView) -> pb.Device:
    return pb.Device(**dataclasses.asdict(view))


def suite_message(
    suite: CalibrationSuite, position: int, onnx: bytes, sha256: str, checkpoint_version: str
) -> pb.CalibrationSuite:
    entry = suite.entries[position]
    return pb.CalibrationSuite(
        space=suite.space,
        version=suite.version,
        entries=[pb.SuiteEntry(position=position, arch=entry.arch, sha256=sha256, onnx_bytes=onnx)],
        checkpoint_version=checkpoint_version,
        size=len(suite),
    )


def report_message(report: CalibrationReport) -> pb.CalibrationReport:
    fields = report.to_dict()
    fields["descriptor"] = pb.DescriptorSummary(
        **{k: v for k, v in report.descriptor.items() if k != "suite_version"}
    )
    return pb.CalibrationReport(**fields)


def prediction_message(view: PredictionView) -> pb.Prediction:
    return pb.Prediction(**dataclasses.asdict(view))


def job_message(job: JobRecord) -> pb.Job:
    return pb.Job(
        id=job.id,
        state=job.state,
        progress=job.progress,
        phase=job.phase,
        message=job.message,
        promoted=job.promoted,
        checkpoint_version=job.checkpoint_version,
        started_at_s=job.started_at_s,
        finished_at_s=job.finished_at_s or 0.0,
    )


def _runner(timing: pb.Timing, where: str) -> dict:
    if not timing.runner_json:
        return {}
    try:
        runner = json.loads(timing.runner_json)
    except ValueError:
        runner = None
    if not isinstance(runner, dict):
        raise InvalidMeasurementError(f"{where}: runner_json must be a JSON object.")
    return runner


def _record(timing: pb.Timing, where: str, **fields) -> MeasurementRecord:
    return MeasurementRecord(
        latency_ms=timing.latency_ms,
        p10_ms=timing.p10_ms or None,
        p90_ms=timing.p90_ms or None,
        repeats=timing.repeats or 1,  # 0: not given
        warmup_runs=timing.warmup_runs,
        cv=timing.cv or None,
        runner=_runner(timing, where),
        **fields,
    )


def suite_records(measurements: Iterable[pb.SuiteMeasurement]) -> list[MeasurementRecord]:
    """Suite timings as records (device, space and arch are filled in by the handler)."""
    return [
        _record(
            m.timing,
            f"suite position {m.position}",
            kind="calibration",
            position=m.position,
            sha256=m.sha256 or None,
        )
        for m in measurements
    ]


def measurement_records(measurements: Iterable[pb.Measurement]) -> list[MeasurementRecord]:
    """Extra measurements as records; a model given as bytes is kept as its SHA-256."""
    rows = []
    for i, m in enumerate(measurements):
        sha256 = hashlib.sha256(m.model_bytes).hexdigest() if m.model_bytes else m.sha256
        rows.append(
            _record(
                m.timing,
                f"measurement {i}",
                kind="extra",
                space=m.space or None,
                arch=m.arch or None,
                sha256=sha256 or None,
            )
        )
    return rows

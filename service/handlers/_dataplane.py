"""``DataPlane``: the logic behind every RPC (the servicer only converts).

Order of work in ``submit_calibration``: check the request, store the timings
durably, then adapt; a request id seen before returns the first answer and
stores nothing.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence

import numpy as np

from fewlat.exceptions import (
    InvalidMeasurementError,
    PermissionDeniedError,
    SuiteMismatchError,
    invalid_parameter,
)
from fewlat.hwdesc import CalibrationSuite, Descriptor
from fewlat.service.handlers._predictors import (
    EXECUTION_LABEL,
    PredictorHost,
    PredictQuery,
    runs_eagerly,
)
from fewlat.service.handlers._views import CalibrationReport, DeviceView, PredictionView
from fewlat.service.store import (
    CalibrationRecord,
    DeviceRecord,
    DeviceSummary,
    MeasurementRecord,
    Store,
    check_latency,
)

__all__ = ["DataPlane"]


class DataPlane:
    """Devices, suites, calibration, prediction and measurements.

    Args:
        store: the durable store.
        host: the serving checkpoint and adapted predictors.
        max_batch_models: most models one prediction request may carry.
    """

    def __init__(self, store: Store, host: PredictorHost, *, max_batch_models: int = 4096):
        self.store = store
        self.host = host
        self.max_batch_models = max_batch_models

    # --- devices --------------------------------------------------------------------

    def register_device(
        self,
        name: str,
        *,
        description: str = "",
        labels: dict[str, str] | None = None,
        principal: str | None = None,
    ) -> DeviceView:
        """Create ``name``, or return it unchanged if it exists (idempotent).

        Raises:
            InvalidParameterError: a bad name or labels.
        """
        labels = dict(labels or {})
        execution = labels.get(EXECUTION_LABEL, "onnx")
        if execution not in ("onnx", "eager"):
            raise invalid_parameter(
                f"labels[{EXECUTION_LABEL!r}]", "RegisterDevice", "'onnx' or 'eager'", execution
            )
        record, _ = self.store.register_device(
            name, description=description, labels=labels, owner=principal
        )
        return self._view(self.store.device_summary(record.name))

    def get_device(self, name: str) -> DeviceView:
        """Raises: UnknownDeviceError."""
        return self._view(self.store.device_summary(name))

    def list_devices(self) -> list[DeviceView]:
        """Every registered device, by name: a fixed number of queries, no adapted state."""
        return [self._view(s) for s in self.store.device_summaries()]

    @staticmethod
    def _view(summary: DeviceSummary) -> DeviceView:
        record, calibrations = summary.device, summary.calibrations
        latest = max(calibrations, key=lambda c: c.calibrated_at_s, default=None)
        return DeviceView(
            name=record.name,
            description=record.description,
            labels=dict(record.labels),
            status="calibrated" if calibrations else "registered",
            shots={c.space: c.shots for c in calibrations},
            loo_error=max((c.loo_error or 0.0 for c in calibrations), default=0.0),
            calibrated_at_s=latest.calibrated_at_s if latest else 0.0,
            registered_at_s=record.registered_at_s,
            checkpoint_version=latest.checkpoint_version if latest else "",
            measurement_count=summary.measurement_count,
        )

    def _owned(self, name: str, principal: str | None) -> DeviceRecord:
        record = self.store.get_device(name)
        if record.owner is not None and principal is not None and record.owner != principal:
            raise PermissionDeniedError(
                f"device {name!r} belongs to another token; it may predict on it but not "
                "change its calibration or measurements. Register a device of your own."
            )
        return record

    # --- suites ---------------------------------------------------------------------

    def suite(self, space: str, shots: int = 0) -> CalibrationSuite:
        """The calibration suite of ``space`` (all entries, or the first ``shots``).

        Raises:
            UnknownSpaceError: no suite for that space.
            InvalidParameterError: ``shots`` outside 0 … len(suite).
        """
        suite = self.host.catalog.for_space(space)
        if not 0 <= shots <= len(suite):
            raise invalid_parameter(
                "shots", "GetCalibrationSuite", f"an int from 0 (all) to {len(suite)}", shots
            )
        return suite

    def suite_model(self, suite: CalibrationSuite, position: int) -> tuple[bytes, str]:
        """ONNX bytes and SHA-256 of one suite entry."""
        return self.host.catalog.model(suite, position)

    # --- calibration ----------------------------------------------------------------

    def submit_calibration(
        self,
        device: str,
        suite_version: str,
        measurements: Sequence[MeasurementRecord],
        *,
        request_id: str | None = None,
        principal: str | None = None,
    ) -> CalibrationReport:
        """Store suite timings durably, adapt the device, return the report.

        Args:
            measurements: one per timed suite entry, ``position`` set (0 = anchor).

        Raises:
            UnknownDeviceError, PermissionDeniedError: the device.
            SuiteMismatchError: a version that is not served, or a model hash that is not
                the suite's model at that position.
            InvalidMeasurementError: no anchor, a repeated or out-of-range position, or a
                latency that is not finite and > 0.
        """
        record = self._owned(device, principal)
        previous = self._first_answer(request_id)
        if previous is not None:
            return previous
        suite = self.host.catalog.for_version(suite_version)
        timings = self._suite_timings(suite, measurements)
        rows = [
            dataclasses.replace(
                m,
                kind="calibration",
                space=suite.space,
                arch=suite.entries[m.position].arch,
                suite_version=suite.version,
            )
            for m in measurements
        ]
        stored = self.store.add_measurements(
            device, rows, request_id=request_id or None, kind="calibration"
        )
        if stored == 0:  # a concurrent twin with the same request id stored it first
            previous = self._first_answer(request_id)
            if previous is not None:
                return previous
        eager = runs_eagerly(record.labels)
        adapted = self.host.adapt(suite.space, timings, eager=eager)
        # each reference predicted without it: |predicted / measured − 1|, from 2 of them
        errors = [abs(math.expm1(e)) for e in adapted.shot_errors(suite.space)]
        errors = errors if len(errors) >= 2 else []
        report = CalibrationReport(
            device=device,
            suite_version=suite.version,
            checkpoint_version=self.host.version,
            shots=int(np.isfinite(timings).sum()),
            loo_error=float(np.median(errors)) if errors else 0.0,
            loo_errors=errors,
            descriptor=Descriptor.from_timings(suite, timings).summary(),
            stored=stored,
        )
        self.store.save_calibration(
            CalibrationRecord(
                device=device,
                space=suite.space,
                suite_version=suite.version,
                checkpoint_version=self.host.version,
                shots=report.shots,
                timings_ms=[None if math.isnan(t) else t for t in timings],
                loo_error=report.loo_error,
                report=report.to_dict(),
                state=adapted.state_bytes(suite.space),
                calibrated_at_s=time.time(),
            )
        )
        self.host.forget(device)
        if request_id:
            self.store.set_submission_response(request_id, {**report.to_dict(), "stored": 0})
        return report

    def _first_answer(self, request_id: str | None) -> CalibrationReport | None:
        """The report already given to ``request_id`` (``stored`` 0), or None."""
        previous = self.store.submission_response(request_id) if request_id else None
        return CalibrationReport(**{**previous, "stored": 0}) if previous else None

    def _suite_timings(
        self, suite: CalibrationSuite, measurements: Sequence[MeasurementRecord]
    ) -> list[float]:
        positions = [m.position for m in measurements]
        if any(p is None or not 0 <= p < len(suite) for p in positions):
            raise InvalidMeasurementError(
                f"suite positions go from 0 to {len(suite) - 1}; got {positions}."
            )
        if len(set(positions)) != len(positions):
            raise InvalidMeasurementError(f"a suite position is timed twice: {positions}.")
        if 0 not in positions:
            raise InvalidMeasurementError(
                "the anchor (position 0, the supernet) must be timed: every prediction is "
                "relative to it."
            )
        timings = [math.nan] * (max(positions) + 1)
        for m in measurements:
            latency_ms = check_latency(m.latency_ms, "latency_ms", f"suite position {m.position}")
            if m.sha256 and not self.host.catalog.accepts(suite, m.position, m.sha256):
                raise SuiteMismatchError(
                    f"suite position {m.position}: the timed model's SHA-256 {m.sha256[:12]}… "
                    f"is not that entry of {suite.version}; time the bytes that "
                    "GetCalibrationSuite sends."
                )
            timings[m.position] = latency_ms
        return timings

    # --- prediction -----------------------------------------------------------------

    def predict(
        self,
        device: str,
        *,
        models: Sequence[bytes] = (),
        space: str | None = None,
        archs: Sequence[str] = (),
    ) -> list[PredictionView]:
        """Latency of ONNX models and/or arch strings of ``space`` on ``device``, in that
        order (models first).

        Raises:
            UnknownDeviceError, NotCalibratedError: the device.
            InvalidParameterError: nothing to predict, archs without a space, or more
                than ``max_batch_models`` models.
            InvalidModelError, ModelTooLargeError, InvalidArchError, UnknownSpaceError:
                a model.
        """
        count = len(models) + len(archs)
        if count == 0 or count > self.max_batch_models:
            raise invalid_parameter(
                "models", "Predict", f"1 to {self.max_batch_models} models or archs", count
            )
        if archs and not space:
            raise invalid_parameter("space", "Predict", "set when archs are given", space)
        answer = self.host.predict(PredictQuery(device, tuple(models), space, tuple(archs)))
        versions = {s: self.host.catalog.for_space(s).version for s in set(answer.suites)}
        return [
            PredictionView(
                float(ms), float(lo), float(hi), s, versions[s], self.host.version, of or ""
            )
            for ms, lo, hi, s, of in zip(
                answer.latency_ms,
                answer.low_ms,
                answer.high_ms,
                answer.suites,
                answer.spaces,
                strict=True,
            )
        ]

    # --- extra measurements ---------------------------------------------------------

    def submit_measurements(
        self,
        device: str,
        measurements: Sequence[MeasurementRecord],
        *,
        request_id: str | None = None,
        principal: str | None = None,
    ) -> tuple[int, int]:
        """Store measurements that grow the pool; returns (stored, pool size).

        Raises:
            UnknownDeviceError, PermissionDeniedError: the device.
            InvalidMeasurementError: a latency that is not finite and > 0, or a row with
                neither (space, arch) nor a model.
            InvalidArchError, UnknownSpaceError: an arch its space rejects.
        """
        self._owned(device, principal)
        from fewlat.spaces import get_space

        rows = []
        for i, m in enumerate(measurements):
            arch, space = m.arch, m.space
            if space and arch:
                spec = get_space(space)
                space, arch = spec.name, spec.canonical(arch)
            elif not m.sha256:
                raise InvalidMeasurementError(
                    f"measurement {i}: give (space, arch) or the model's bytes/SHA-256."
                )
            rows.append(dataclasses.replace(m, kind="extra", space=space, arch=arch))
        stored = self.store.add_measurements(
            device, rows, request_id=request_id or None, kind="measurements"
        )
        return stored, self.store.count_measurements()

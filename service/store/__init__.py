"""The durable store of a fewlat server: one SQL database behind one :class:`Store`.

It holds what the server must not forget across restarts: registered devices,
every submitted timing (at most once per client request id), the adapted
predictor state of each device and space, the meta-trained checkpoints (one of
them active) and long-running jobs. SQLite (WAL, ``synchronous=FULL``: a write
is on disk before the method returns) is the default; a PostgreSQL URL works
where its driver is installed. Every public method is one transaction and is
safe to call from a thread pool. Records come back as frozen dataclasses (and
:class:`ArchTiming` named tuples).

Tables: ``meta`` (schema version), ``devices``, ``submissions``,
``measurements``, ``calibrations``, ``checkpoints``, ``jobs``.

Example::

    from fewlat.service.store import MeasurementRecord, Store

    timings = [("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+…", 4.12), …]  # suite order
    with Store("sqlite:///state/fewlat.db") as store:  # a relative path; //// for an absolute one
        device, created = store.register_device("raspi4-ort-4t", labels={"soc": "bcm2711"})
        rows = [MeasurementRecord(kind="calibration", space="nb201", arch=arch,
                                  position=i, latency_ms=ms)
                for i, (arch, ms) in enumerate(timings)]
        store.add_measurements(device.name, rows, request_id="c0ffee", kind="calibration")
        store.add_measurements(device.name, rows, request_id="c0ffee", kind="calibration")  # → 0
        store.count_measurements(device.name)  # len(rows)
"""

from __future__ import annotations

from fewlat.service.store._records import (
    ArchTiming,
    CalibrationRecord,
    CalibrationSummary,
    CheckpointRecord,
    DeviceRecord,
    DeviceSummary,
    JobRecord,
    MeasurementRecord,
)
from fewlat.service.store._schema import SCHEMA_VERSION
from fewlat.service.store._store import (
    JOB_FIELDS,
    JOB_STATES,
    MEASUREMENT_KINDS,
    SUBMISSION_KINDS,
    Store,
    check_latency,
)

__all__ = [
    "JOB_FIELDS",
    "JOB_STATES",
    "MEASUREMENT_KINDS",
    "SCHEMA_VERSION",
    "SUBMISSION_KINDS",
    "ArchTiming",
    "CalibrationRecord",
    "CalibrationSummary",
    "CheckpointRecord",
    "DeviceRecord",
    "DeviceSummary",
    "JobRecord",
    "MeasurementRecord",
    "Store",
    "check_latency",
]

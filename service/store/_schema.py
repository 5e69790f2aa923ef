"""The store's tables as SQLAlchemy 2.0 declarative ORM classes.

These classes never leave :mod:`fewlat.service.store`: each row's ``record()``
turns it into a frozen record of ``_records.py`` before its session closes.
The SQL is portable (SQLite and PostgreSQL): no dialect-specific types or DDL.
Times are seconds since the epoch (``*_s``), latencies milliseconds (``*_ms``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from fewlat.service.store._records import (
    CalibrationRecord,
    CheckpointRecord,
    DeviceRecord,
    JobRecord,
    MeasurementRecord,
)

__all__ = [
    "NAME_LENGTH",
    "SCHEMA_VERSION",
    "Base",
    "CalibrationRow",
    "CheckpointRow",
    "DeviceRow",
    "JobRow",
    "MeasurementRow",
    "MetaRow",
    "SubmissionRow",
]

#: the version of this schema; a database written by a newer one is refused
SCHEMA_VERSION = 1

#: the longest device name, request id, space name or version string
NAME_LENGTH = 200

_JSON = sa.JSON(none_as_null=True)


class Base(DeclarativeBase):
    """The declarative base of every store table."""


class MetaRow(Base):
    """One key/value fact about the database itself, e.g. ``schema_version``."""

    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[str] = mapped_column(sa.Text)


class DeviceRow(Base):
    """A registered device (board)."""

    __tablename__ = "devices"

    name: Mapped[str] = mapped_column(sa.String(NAME_LENGTH), primary_key=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")
    labels: Mapped[dict[str, str]] = mapped_column(_JSON)
    owner: Mapped[str | None] = mapped_column(sa.String(NAME_LENGTH), nullable=True)
    registered_at_s: Mapped[float] = mapped_column(sa.Double)

    def record(self) -> DeviceRecord:
        """This row as a frozen record."""
        return DeviceRecord(
            name=self.name,
            description=self.description,
            labels=dict(self.labels or {}),
            owner=self.owner,
            registered_at_s=self.registered_at_s,
        )


class SubmissionRow(Base):
    """One accepted batch of measurements, keyed by the client's request id."""

    __tablename__ = "submissions"

    request_id: Mapped[str] = mapped_column(sa.String(NAME_LENGTH), primary_key=True)
    device: Mapped[str] = mapped_column(sa.ForeignKey("devices.name"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    created_at_s: Mapped[float] = mapped_column(sa.Double)
    response: Mapped[dict[str, Any] | None] = mapped_column(_JSON, nullable=True)


class MeasurementRow(Base):
    """One timing of one model on one device."""

    __tablename__ = "measurements"
    __table_args__ = (sa.Index("ix_measurements_device_kind", "device", "kind"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    device: Mapped[str] = mapped_column(sa.ForeignKey("devices.name"))
    request_id: Mapped[str] = mapped_column(sa.ForeignKey("submissions.request_id"), nullable=False)
    kind: Mapped[str] = mapped_column(sa.String(32))
    space: Mapped[str | None] = mapped_column(sa.String(NAME_LENGTH), nullable=True)
    arch: Mapped[str | None] = mapped_column(sa.Text, nullable=True)
    sha256: Mapped[str | None] = mapped_column(sa.String(64), nullable=True)
    position: Mapped[int | None] = mapped_column(sa.Integer, nullable=True)
    suite_version: Mapped[str | None] = mapped_column(sa.String(NAME_LENGTH), nullable=True)
    latency_ms: Mapped[float] = mapped_column(sa.Double)
    p10_ms: Mapped[float | None] = mapped_column(sa.Double, nullable=True)
    p90_ms: Mapped[float | None] = mapped_column(sa.Double, nullable=True)
    repeats: Mapped[int] = mapped_column(sa.Integer)
    warmup_runs: Mapped[int] = mapped_column(sa.Integer)
    cv: Mapped[float | None] = mapped_column(sa.Double, nullable=True)
    runner: Mapped[dict[str, Any]] = mapped_column(_JSON)
    created_at_s: Mapped[float] = mapped_column(sa.Double)

    def record(self) -> MeasurementRecord:
        """This row as a frozen record."""
        return MeasurementRecord(
            id=self.id,
            device=self.device,
            request_id=self.request_id,
            kind=self.kind,
            space=self.space,
            arch=self.arch,
            sha256=self.sha256,
            position=self.position,
            suite_version=self.suite_version,
            latency_ms=self.latency_ms,
            p10_ms=self.p10_ms,
            p90_ms=self.p90_ms,
            repeats=self.repeats,
            warmup_runs=self.warmup_runs,
            cv=self.cv,
            runner=dict(self.runner or {}),
            created_at_s=self.created_at_s,
        )


class CalibrationRow(Base):
    """The adapted predictor state of one device in one search space."""

    __tablename__ = "calibrations"

    device: Mapped[str] = mapped_column(sa.ForeignKey("devices.name"), primary_key=True)
    space: Mapped[str] = mapped_column(sa.String(NAME_LENGTH), primary_key=True)
    suite_version: Mapped[str] = mapped_column(sa.String(NAME_LENGTH))
    checkpoint_version: Mapped[str] = mapped_column(sa.String(NAME_LENGTH))
    shots: Mapped[int] = mapped_column(sa.Integer)
    timings_ms: Mapped[list[float | None]] = mapped_column(_JSON)
    loo_error: Mapped[float | None] = mapped_column(sa.Double, nullable=True)
    report: Mapped[dict[str, Any]] = mapped_column(_JSON)
    state: Mapped[bytes] = mapped_column(sa.LargeBinary)
    calibrated_at_s: Mapped[float] = mapped_column(sa.Double)

    def record(self) -> CalibrationRecord:
        """This row as a frozen record."""
        return CalibrationRecord(
            device=self.device,
            space=self.space,
            suite_version=self.suite_version,
            checkpoint_version=self.checkpoint_version,
            shots=self.shots,
            timings_ms=list(self.timings_ms or []),
            loo_error=self.loo_error,
            report=dict(self.report or {}),
            state=bytes(self.state),
            calibrated_at_s=self.calibrated_at_s,
        )


class CheckpointRow(Base):
    """A meta-trained predictor checkpoint known to the server."""

    __tablename__ = "checkpoints"

    version: Mapped[str] = mapped_column(sa.String(NAME_LENGTH), primary_key=True)
    path: Mapped[str] = mapped_column(sa.Text)
    created_at_s: Mapped[float] = mapped_column(sa.Double)
    metrics: Mapped[dict[str, Any]] = mapped_column(_JSON)
    active: Mapped[bool] = mapped_column(sa.Boolean, default=False)

    def record(self) -> CheckpointRecord:
        """This row as a frozen record."""
        return CheckpointRecord(
            version=self.version,
            path=self.path,
            created_at_s=self.created_at_s,
            metrics=dict(self.metrics or {}),
            active=bool(self.active),
        )


class JobRow(Base):
    """A long-running server job, e.g. a meta-training run."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[str] = mapped_column(sa.String(16), index=True)
    progress: Mapped[float] = mapped_column(sa.Double, default=0.0)
    phase: Mapped[str] = mapped_column(sa.Text, default="")
    message: Mapped[str] = mapped_column(sa.Text, default="")
    promoted: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    checkpoint_version: Mapped[str] = mapped_column(sa.String(NAME_LENGTH), default="")
    params: Mapped[dict[str, Any]] = mapped_column(_JSON)
    started_at_s: Mapped[float] = mapped_column(sa.Double)
    finished_at_s: Mapped[float | None] = mapped_column(sa.Double, nullable=True)

    def record(self) -> JobRecord:
        """This row as a frozen record."""
        return JobRecord(
            id=self.id,
            kind=self.kind,
            state=self.state,
            progress=self.progress,
            phase=self.phase,
            message=self.message,
            promoted=bool(self.promoted),
            checkpoint_version=self.checkpoint_version,
            params=dict(self.params or {}),
            started_at_s=self.started_at_s,
            finished_at_s=self.finished_at_s,
        )

"""``Store``: the server's durable state in one SQL database (SQLite or PostgreSQL)."""

from __future__ import annotations

import json
import math
import os
import re
import reprlib
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, select, update
from sqlalchemy.exc import ArgumentError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from fewlat.exceptions import (
    InvalidMeasurementError,
    InvalidParameterError,
    MissingDependencyError,
    NotCalibratedError,
    UnknownDeviceError,
    UnknownJobError,
    invalid_parameter,
)
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
from fewlat.service.store._schema import (
    NAME_LENGTH,
    SCHEMA_VERSION,
    Base,
    CalibrationRow,
    CheckpointRow,
    DeviceRow,
    JobRow,
    MeasurementRow,
    MetaRow,
    SubmissionRow,
)

__all__ = [
    "JOB_FIELDS",
    "JOB_STATES",
    "MEASUREMENT_KINDS",
    "SUBMISSION_KINDS",
    "Store",
    "check_latency",
]

#: what ``Store.add_measurements(kind=…)`` accepts
SUBMISSION_KINDS = ("calibration", "measurements")
#: what ``MeasurementRecord.kind`` accepts
MEASUREMENT_KINDS = ("calibration", "extra")
#: the states of a job, in lifecycle order
JOB_STATES = ("queued", "running", "succeeded", "failed")
#: the job fields that ``Store.update_job`` may change
JOB_FIELDS = (
    "state",
    "progress",
    "phase",
    "message",
    "promoted",
    "checkpoint_version",
    "finished_at_s",
)

_FINISHED = ("succeeded", "failed")
_EXAMPLE_URL = "sqlite:////var/lib/fewlat/fewlat.db"
_NAME_RE = re.compile(rf"[A-Za-z0-9._\-+()]{{1,{NAME_LENGTH}}}")
_NAME_RULE = f"1 to {NAME_LENGTH} characters of letters, digits and ._-+() (no spaces)"
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_SCHEMA_KEY = "schema_version"
_PASSWORD_RE = re.compile(r"(://[^/@:]*:)[^@/]*@")
_REPR = reprlib.Repr()
_REPR.maxstring = 120
_REPR.maxother = 120
_DEVICE = "a device name (str)"


class Store:
    """The durable state of a fewlat server: devices, measurements, calibrations,
    checkpoints and jobs, in one SQL database.

    Every public method is one transaction, committed before it returns, and is
    safe to call from many threads at once. Records go in and come out as frozen
    dataclasses (or :class:`ArchTiming` named tuples); no ORM object leaves the
    store. Times are seconds since the epoch (``*_s``), latencies milliseconds
    (``*_ms``).

    Args:
        url: an SQLAlchemy database URL. ``sqlite:///path/to/fewlat.db`` (a
            relative path) or ``sqlite:////abs/path/fewlat.db`` is the default
            kind; its folder is created. ``postgresql+psycopg://user:pw@host/db``
            works where the ``psycopg`` driver is installed.

    Raises:
        InvalidParameterError: ``url`` is not a usable database URL, the database
            cannot be opened, or it was written by a newer schema version.
        MissingDependencyError: the URL's database driver is not installed.
    """

    def __init__(self, url: str) -> None:
        self._engine = _create_engine(url)
        self._sessions = sessionmaker(self._engine, expire_on_commit=False)
        try:
            self._prepare_schema()
        except InvalidParameterError:
            self._engine.dispose()
            raise
        except OperationalError as err:
            self._engine.dispose()
            raise InvalidParameterError(
                f"cannot open the database {self.url}: {err.orig}. "
                f"Check the URL, e.g. {_EXAMPLE_URL!r}."
            ) from err

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The database URL, with any password shown as ``***``."""
        return self._engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Close every pooled connection. A later call would open new ones."""
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def _prepare_schema(self) -> None:
        """Refuse a newer schema, create missing tables and record the schema version."""
        if sa.inspect(self._engine).has_table(MetaRow.__tablename__):
            with self._sessions.begin() as session:
                row = session.get(MetaRow, _SCHEMA_KEY)
                found = None if row is None else row.value
            if found is not None:
                self._check_schema_version(found)
        try:
            Base.metadata.create_all(self._engine)
        except OperationalError:
            # another process created the same tables between the check and the CREATE
            Base.metadata.create_all(self._engine)
        try:
            with self._sessions.begin() as session:
                if session.get(MetaRow, _SCHEMA_KEY) is None:
                    session.add(MetaRow(key=_SCHEMA_KEY, value=str(SCHEMA_VERSION)))
        except IntegrityError:
            pass  # another process wrote it first
        # Version 1 is the first schema: an older database cannot exist yet. Migrations go here.

    def _check_schema_version(self, found: str) -> None:
        try:
            version = int(found)
        except ValueError:
            version = None
        if version is None or version > SCHEMA_VERSION:
            raise InvalidParameterError(
                f"the database {self.url} was written by store schema version {found!r}, "
                f"but this fewlat reads versions up to {SCHEMA_VERSION}. Upgrade fewlat "
                f"(`pip install -U fewlat`) or use another database URL."
            )

    # -- devices ---------------------------------------------------------------------------

    def register_device(
        self,
        name: str,
        *,
        description: str = "",
        labels: Mapping[str, str] | None = None,
        owner: str | None = None,
    ) -> tuple[DeviceRecord, bool]:
        """Register a device, or return the one already registered under ``name``.

        Idempotent: registering a name again (even from two threads at once)
        changes nothing and returns the stored record with ``created=False``.

        Args:
            name: 1 to 200 letters, digits and ``._-+()``, no spaces.
            description: free text (default: ``""``).
            labels: free ``str → str`` tags (default: ``None``, no labels).
            owner: the auth principal registering it (default: ``None``).

        Returns:
            ``(record, created)``: the stored device and whether this call created it.

        Raises:
            InvalidParameterError: a bad name, description, labels or owner.
        """
        owner_name = "Store.register_device"
        _check_str(name, "name", owner_name, pattern=_NAME_RE, what=_NAME_RULE)
        _check_str(description, "description", owner_name, min_length=0, max_length=None)
        if labels is None:
            labels = {}
        if not isinstance(labels, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
        ):
            raise invalid_parameter("labels", owner_name, "a dict of str to str", _Short(labels))
        _check_str(owner, "owner", owner_name, optional=True)
        try:
            with self._sessions.begin() as session:
                row = session.get(DeviceRow, name)
                if row is not None:
                    return row.record(), False
                row = DeviceRow(
                    name=name,
                    description=description,
                    labels=dict(labels),
                    owner=owner,
                    registered_at_s=time.time(),
                )
                session.add(row)
                session.flush()
                return row.record(), True
        except IntegrityError:
            # another thread or process registered the same name between our read and insert
            return self.get_device(name), False

    def get_device(self, name: str) -> DeviceRecord:
        """The registered device ``name``.

        Raises:
            UnknownDeviceError: no device of that name is registered.
        """
        with self._sessions.begin() as session:
            return _require_device(session, name).record()

    def list_devices(self) -> list[DeviceRecord]:
        """Every registered device, ordered by name (code-point order on every backend)."""
        with self._sessions.begin() as session:
            return [row.record() for row in _by_name(session.scalars(select(DeviceRow)))]

    def device_summary(self, name: str) -> DeviceSummary:
        """The device ``name`` with its calibrations (without their state) and its
        measurement count, in three queries.

        Raises:
            UnknownDeviceError: no device of that name is registered.
        """
        with self._sessions.begin() as session:
            (summary,) = _summaries(session, [_require_device(session, name)], name)
            return summary

    def device_summaries(self) -> list[DeviceSummary]:
        """Every registered device, ordered by name (code-point order on every backend),
        with its calibrations (without their state) and its measurement count.

        Three queries whatever the number of devices; no adapted state is read.
        """
        with self._sessions.begin() as session:
            return _summaries(session, _by_name(session.scalars(select(DeviceRow))), None)

    # -- submissions and measurements ------------------------------------------------------

    def add_measurements(
        self,
        device: str,
        rows: Sequence[MeasurementRecord],
        *,
        request_id: str | None = None,
        kind: str,
    ) -> int:
        """Store a batch of timings of one device, at most once per ``request_id``.

        The submission and every row go in one transaction that is committed
        (and, for SQLite, synced to disk) before this returns. If a submission
        with ``request_id`` was already stored, by an earlier call or by a
        concurrent one, nothing is stored and 0 is returned.

        Args:
            device: a registered device name.
            rows: the timings; each needs ``kind``, ``latency_ms`` (finite, > 0)
                and ``space`` + ``arch`` or ``sha256``. Their ``device``,
                ``request_id`` and ``id`` are filled by the store.
            request_id: the client's idempotency key, 1 to 200 characters
                (default: ``None``, a fresh uuid4 hex).
            kind: ``"calibration"`` or ``"measurements"``.

        Returns:
            How many rows were stored: ``len(rows)``, or 0 for a resubmission.

        Raises:
            UnknownDeviceError: ``device`` is not registered.
            InvalidMeasurementError: a timing that is not finite and > 0; the
                message names the row. Nothing is stored.
            InvalidParameterError: any other bad argument or row field.
        """
        owner = "Store.add_measurements"
        _check_str(device, "device", owner, min_length=0, max_length=None, what=_DEVICE)
        if kind not in SUBMISSION_KINDS:
            raise invalid_parameter("kind", owner, f"one of {SUBMISSION_KINDS}", kind)
        _check_str(request_id, "request_id", owner, optional=True)
        if request_id is None:
            request_id = uuid.uuid4().hex
        if isinstance(rows, str | bytes) or not isinstance(rows, Sequence) or not rows:
            raise invalid_parameter(
                "rows", owner, "a non-empty sequence of MeasurementRecord", _Short(rows)
            )
        now_s = time.time()
        values = [
            _measurement_values(i, row, device, request_id, now_s) for i, row in enumerate(rows)
        ]
        try:
            with self._sessions.begin() as session:
                _require_device(session, device)
                if session.get(SubmissionRow, request_id) is not None:
                    return 0
                session.add(
                    SubmissionRow(
                        request_id=request_id,
                        device=device,
                        kind=kind,
                        created_at_s=now_s,
                        response=None,
                    )
                )
                session.flush()  # claims the request id before the rows go in
                session.execute(sa.insert(MeasurementRow), values)
                return len(values)
        except IntegrityError:
            # a concurrent call with the same request id committed between our read and insert
            if self._has_submission(request_id):
                return 0
            raise

    def _has_submission(self, request_id: str) -> bool:
        with self._sessions.begin() as session:
            return session.get(SubmissionRow, request_id) is not None

    def submission_response(self, request_id: str) -> dict[str, Any] | None:
        """The response saved for a submission, to answer its resubmission alike.

        Returns:
            The dict given to :meth:`set_submission_response`, or ``None`` when the
            submission has none yet or ``request_id`` is not stored.
        """
        with self._sessions.begin() as session:
            row = session.get(SubmissionRow, request_id)
            return None if row is None or row.response is None else dict(row.response)

    def set_submission_response(self, request_id: str, response: Mapping[str, Any]) -> None:
        """Save the response of a stored submission (replacing any earlier one).

        Raises:
            InvalidParameterError: ``request_id`` is not a stored submission, or
                ``response`` is not a JSON-serialisable dict.
        """
        owner = "Store.set_submission_response"
        body = _json_dict(response, "response", owner)
        with self._sessions.begin() as session:
            row = session.get(SubmissionRow, request_id)
            if row is None:
                raise invalid_parameter(
                    "request_id",
                    owner,
                    "the id of a submission stored by add_measurements",
                    request_id,
                )
            row.response = body

    def measurements(
        self,
        *,
        device: str | None = None,
        kind: str | None = None,
        space: str | None = None,
    ) -> list[MeasurementRecord]:
        """Stored timings, ordered by id (the order they were stored in).

        Args:
            device: only this device's (default: ``None``, every device's). An
                unknown device gives an empty list.
            kind: only ``"calibration"`` or only ``"extra"`` rows (default: ``None``).
            space: only rows of this search space (default: ``None``).

        Raises:
            InvalidParameterError: ``kind`` is not ``None`` or one of those two.
        """
        if kind is not None and kind not in MEASUREMENT_KINDS:
            raise invalid_parameter(
                "kind", "Store.measurements", f"None or one of {MEASUREMENT_KINDS}", kind
            )
        query = select(MeasurementRow).order_by(MeasurementRow.id)
        if device is not None:
            query = query.where(MeasurementRow.device == device)
        if kind is not None:
            query = query.where(MeasurementRow.kind == kind)
        if space is not None:
            query = query.where(MeasurementRow.space == space)
        with self._sessions.begin() as session:
            return [row.record() for row in session.scalars(query)]

    def arch_timings(self, spaces: Sequence[str]) -> list[ArchTiming]:
        """The timings of archs of ``spaces`` (rows with a space and an arch), ordered
        by id: only the columns that pool them, not whole measurement records.

        Args:
            spaces: the search-space names to read; an empty sequence reads nothing.
        """
        query = (
            select(
                MeasurementRow.device,
                MeasurementRow.space,
                MeasurementRow.arch,
                MeasurementRow.latency_ms,
                MeasurementRow.runner,
            )
            .where(
                MeasurementRow.space.in_(list(spaces)),
                MeasurementRow.arch.is_not(None),
                MeasurementRow.arch != "",
            )
            .order_by(MeasurementRow.id)
        )
        with self._sessions.begin() as session:
            return [
                ArchTiming(device, space, arch, latency_ms, dict(runner or {}))
                for device, space, arch, latency_ms, runner in session.execute(query)
            ]

    def count_measurements(self, device: str | None = None) -> int:
        """How many timings are stored, of ``device`` or (default: ``None``) of all devices."""
        query = select(sa.func.count()).select_from(MeasurementRow)
        if device is not None:
            query = query.where(MeasurementRow.device == device)
        with self._sessions.begin() as session:
            return int(session.scalar(query) or 0)

    # -- calibrations ----------------------------------------------------------------------

    def save_calibration(self, record: CalibrationRecord) -> None:
        """Store the adapted state of a device in a space, replacing an earlier one.

        ``record.calibrated_at_s == 0`` is stored as the time of this call.

        Raises:
            UnknownDeviceError: ``record.device`` is not registered.
            InvalidMeasurementError: a timing in ``timings_ms`` that is neither
                ``None`` nor finite and > 0.
            InvalidParameterError: any other bad field.
        """
        values = _calibration_values(record)
        key = (values["device"], values["space"])
        for attempt in range(2):
            try:
                with self._sessions.begin() as session:
                    _require_device(session, record.device)
                    row = session.get(CalibrationRow, key)
                    if row is None:
                        session.add(CalibrationRow(**values))
                    else:
                        for name, value in values.items():
                            setattr(row, name, value)
                return
            except IntegrityError:
                # a concurrent save inserted the same key first: the retry updates it
                if attempt:
                    raise

    def calibrations(self, device: str) -> list[CalibrationRecord]:
        """Every stored calibration of ``device``, ordered by space.

        Raises:
            UnknownDeviceError: ``device`` is not registered.
        """
        with self._sessions.begin() as session:
            _require_device(session, device)
            rows = session.scalars(
                select(CalibrationRow)
                .where(CalibrationRow.device == device)
                .order_by(CalibrationRow.space)
            )
            return [row.record() for row in rows]

    def get_calibration(self, device: str, space: str) -> CalibrationRecord:
        """The stored calibration of ``device`` in ``space``.

        Raises:
            UnknownDeviceError: ``device`` is not registered.
            NotCalibratedError: the device has no calibration in ``space`` yet.
        """
        with self._sessions.begin() as session:
            _require_device(session, device)
            row = session.get(CalibrationRow, (device, space))
            if row is None:
                raise NotCalibratedError(
                    f"device {device!r} has no calibration in space {space!r} yet; "
                    f"calibrate it with `fewlat-client calibrate --device {device} --space {space}`"
                )
            return row.record()

    # -- checkpoints -----------------------------------------------------------------------

    def add_checkpoint(
        self, version: str, path: str | os.PathLike[str], metrics: Mapping[str, Any]
    ) -> None:
        """Record a checkpoint, inactive. Adding a known version again changes nothing.

        Args:
            version: the unique version, 1 to 200 characters.
            path: where its files are.
            metrics: free JSON evaluation metrics.

        Raises:
            InvalidParameterError: a bad version, path or metrics.
        """
        owner = "Store.add_checkpoint"
        _check_str(version, "version", owner)
        if not isinstance(path, str | os.PathLike):
            raise invalid_parameter("path", owner, "a str or path", path)
        body = _json_dict(metrics, "metrics", owner)
        try:
            with self._sessions.begin() as session:
                if session.get(CheckpointRow, version) is None:
                    session.add(
                        CheckpointRow(
                            version=version,
                            path=os.fspath(path),
                            created_at_s=time.time(),
                            metrics=body,
                            active=False,
                        )
                    )
        except IntegrityError:
            pass  # a concurrent call added the same version

    def activate_checkpoint(self, version: str) -> None:
        """Make ``version`` the one active checkpoint; every other one becomes inactive.

        Raises:
            InvalidParameterError: ``version`` was never added.
        """
        with self._sessions.begin() as session:
            if session.get(CheckpointRow, version) is None:
                known = list(session.scalars(select(CheckpointRow.version)))
                raise invalid_parameter(
                    "version",
                    "Store.activate_checkpoint",
                    f"a version added with add_checkpoint (known: {known})",
                    version,
                )
            # one statement, so two concurrent activations still leave exactly one active
            session.execute(
                update(CheckpointRow).values(active=CheckpointRow.version == version),
                execution_options={"synchronize_session": False},
            )

    def active_checkpoint(self) -> CheckpointRecord | None:
        """The active checkpoint, or ``None`` when none was activated."""
        with self._sessions.begin() as session:
            row = session.scalars(
                select(CheckpointRow).where(CheckpointRow.active == sa.true()).limit(1)
            ).first()
            return None if row is None else row.record()

    def checkpoints(self) -> list[CheckpointRecord]:
        """Every recorded checkpoint, oldest first."""
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(CheckpointRow).order_by(CheckpointRow.created_at_s, CheckpointRow.version)
            )
            return [row.record() for row in rows]

    # -- jobs ------------------------------------------------------------------------------

    def create_job(self, kind: str, params: Mapping[str, Any] | None = None) -> JobRecord:
        """Record a new job in state ``queued``, started now.

        Args:
            kind: what it does, 1 to 64 characters, e.g. ``"meta-train"``.
            params: its JSON parameters (default: ``None``, no parameters).

        Raises:
            InvalidParameterError: a bad kind or params.
        """
        owner = "Store.create_job"
        _check_str(kind, "kind", owner, max_length=64)
        body = _json_dict(params, "params", owner)
        with self._sessions.begin() as session:
            row = JobRow(
                id=uuid.uuid4().hex,
                kind=kind,
                state="queued",
                progress=0.0,
                phase="",
                message="",
                promoted=False,
                checkpoint_version="",
                params=body,
                started_at_s=time.time(),
                finished_at_s=None,
            )
            session.add(row)
            session.flush()
            return row.record()

    def update_job(self, job_id: str, /, **fields: Any) -> JobRecord:
        """Change some fields of a job and return it as stored.

        Moving to ``succeeded`` or ``failed`` stamps ``finished_at_s`` with now
        unless it is given or already set.

        Args:
            job_id: the job's id.
            **fields: any of ``state`` (one of :data:`JOB_STATES`), ``progress``
                (0 … 1), ``phase``, ``message``, ``checkpoint_version`` (str),
                ``promoted`` (bool), ``finished_at_s`` (float or ``None``).

        Raises:
            UnknownJobError: no job has that id.
            InvalidParameterError: an unknown field or a bad value.
        """
        changes = _job_changes(fields)
        with self._sessions.begin() as session:
            row = _require_job(session, job_id)
            for name, value in changes.items():
                setattr(row, name, value)
            if row.state in _FINISHED and "finished_at_s" not in changes:
                row.finished_at_s = row.finished_at_s or time.time()
            session.flush()
            return row.record()

    def get_job(self, job_id: str) -> JobRecord:
        """The job ``job_id``.

        Raises:
            UnknownJobError: no job has that id.
        """
        with self._sessions.begin() as session:
            return _require_job(session, job_id).record()

    def unfinished_jobs(self) -> list[JobRecord]:
        """Jobs still ``queued`` or ``running``, oldest first, e.g. to fail them after a restart."""
        with self._sessions.begin() as session:
            rows = session.scalars(
                select(JobRow)
                .where(JobRow.state.in_(("queued", "running")))
                .order_by(JobRow.started_at_s, JobRow.id)
            )
            return [row.record() for row in rows]


# -- engine ----------------------------------------------------------------------------------


def _create_engine(url: str) -> sa.Engine:
    """An engine for ``url``; SQLite gets its folder and the durability PRAGMAs."""
    expected = (
        f"an SQLAlchemy database URL such as {_EXAMPLE_URL!r} "
        "or 'postgresql+psycopg://user:password@host/fewlat'"
    )
    if not isinstance(url, str) or not url.strip():
        raise invalid_parameter("url", "Store", expected, url)
    try:
        parsed = sa.make_url(url)
    except ArgumentError as err:
        raise invalid_parameter("url", "Store", f"{expected} ({err})", _mask(url)) from err
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if not database or database == ":memory:" or parsed.query.get("mode") == "memory":
            raise invalid_parameter(
                "url",
                "Store",
                "a SQLite file, not an in-memory database (neither durable nor shared "
                f"between threads), e.g. {_EXAMPLE_URL!r}",
                shown,
            )
        if not database.startswith("file:"):
            folder = Path(database).parent
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise InvalidParameterError(
                    f"cannot create the folder {str(folder)!r} of the SQLite database {shown}: "
                    f"{err.strerror}. Use a writable path, e.g. {_EXAMPLE_URL!r}."
                ) from err
        engine = _engine_or_raise(parsed, shown, expected, {"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    return _engine_or_raise(parsed, shown, expected, {}, pool_pre_ping=True)


def _engine_or_raise(
    parsed: sa.URL, shown: str, expected: str, connect_args: dict[str, Any], **kwargs: Any
) -> sa.Engine:
    try:
        return sa.create_engine(parsed, connect_args=connect_args, **kwargs)
    except ArgumentError as err:  # includes NoSuchModuleError: an unknown dialect
        raise invalid_parameter("url", "Store", f"{expected} ({err})", shown) from err
    except ImportError as err:
        raise MissingDependencyError(
            f"the database driver of {parsed.drivername!r} is not installed ({err}). "
            "Install it, e.g. `pip install 'fewlat[postgres]'` (psycopg) for postgresql+psycopg://…"
        ) from err


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    """Set the durability PRAGMAs on every new SQLite connection."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA busy_timeout=5000")  # first: switching to WAL may wait on a lock
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")  # WAL + FULL: a commit is on disk when acked
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def _mask(url: str) -> str:
    return _PASSWORD_RE.sub(r"\1***@", url)


# -- validation ------------------------------------------------------------------------------


def check_latency(value: object, field: str, where: str, *, note: str = "") -> float:
    """``value`` as a float if it is a timing: a real number (not a bool), finite and > 0.

    The one latency check of the service: the store and the data plane both call it.

    Args:
        value: the timing to check, milliseconds.
        field: its name in the message, e.g. ``"latency_ms"``.
        where: what it belongs to, e.g. ``"suite position 3"``.
        note: text appended to the message, e.g. ``" Nothing was stored."``.

    Raises:
        InvalidMeasurementError: ``value`` is not a finite number of milliseconds > 0.
    """
    if not (_is_real(value) and value > 0):  # type: ignore[operator]
        raise InvalidMeasurementError(
            f"{where} has {field}={value!r}; a timing must be a number of milliseconds, "
            f"finite and > 0.{note}"
        )
    return float(value)  # type: ignore[arg-type]


class _Short:
    """A possibly large value shown by its shortened repr in a parameter error."""

    __slots__ = ("text",)

    def __init__(self, value: object) -> None:
        self.text = _REPR.repr(value)

    def __repr__(self) -> str:
        return self.text


def _check_str(
    value: object,
    param: str,
    owner: str,
    *,
    min_length: int = 1,
    max_length: int | None = NAME_LENGTH,
    pattern: re.Pattern[str] | None = None,
    optional: bool = False,
    what: str = "a str",
    label: str = "",
) -> None:
    """Raise the parameter error unless ``value`` is a str of ``min_length`` to
    ``max_length`` characters (``None``: no upper limit) that ``pattern`` (when given)
    matches whole, or is ``None`` when ``optional``.

    The message says ``what`` is expected, with the length rule unless ``pattern``
    (whose rule ``what`` then states) and with `` [label]`` when ``label`` is given.
    """
    if optional and value is None:
        return
    if pattern is not None:
        ok = isinstance(value, str) and pattern.fullmatch(value) is not None
        expected = what
    else:
        ok = (
            isinstance(value, str)
            and min_length <= len(value)
            and (max_length is None or len(value) <= max_length)
        )
        if max_length is not None:
            expected = f"{what} of {min_length} to {max_length} characters"
        elif min_length > 0:
            expected = f"{what} of at least {min_length} character{'s' * (min_length > 1)}"
        else:
            expected = what
    if not ok:
        if optional:
            expected = f"None or {expected}"
        if label:
            expected = f"{expected} [{label}]"
        raise invalid_parameter(param, owner, expected, _Short(value))


def _is_real(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _is_count(value: object, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _json_dict(value: object, param: str, owner: str) -> dict[str, Any]:
    """A deep, JSON-normalised copy of a dict; refuses what JSON (or PostgreSQL) cannot hold."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise invalid_parameter(param, owner, "a JSON object (dict)", _Short(value))
    try:
        return json.loads(json.dumps(dict(value), allow_nan=False))
    except (TypeError, ValueError) as err:
        raise invalid_parameter(
            param, owner, f"a JSON-serialisable dict without NaN ({err})", _Short(value)
        ) from err


def _row_label(index: int, row: MeasurementRecord) -> str:
    parts = [f"row {index}"]
    if row.arch is not None:
        parts.append(f"arch {_REPR.repr(row.arch)}")
    if row.position is not None:
        parts.append(f"position {row.position}")
    if row.arch is None and row.sha256 is not None:
        parts.append(f"sha256 {str(row.sha256)[:12]}…")
    return parts[0] + (f" ({', '.join(parts[1:])})" if len(parts) > 1 else "")


def _measurement_values(
    index: int, row: object, device: str, request_id: str, now_s: float
) -> dict[str, Any]:
    """The column values of one submitted row, after checking every field."""
    owner = "Store.add_measurements"
    if not isinstance(row, MeasurementRecord):
        raise invalid_parameter(f"rows[{index}]", owner, "a MeasurementRecord", _Short(row))
    label = _row_label(index, row)
    where = f"{label} of {owner}"

    def bad(field: str, expected: str, got: object) -> InvalidParameterError:
        return invalid_parameter(
            f"rows[{index}].{field}", owner, f"{expected} [{label}]", _Short(got)
        )

    def check_str(field: str, **rule: Any) -> None:
        _check_str(getattr(row, field), f"rows[{index}].{field}", owner, label=label, **rule)

    for field in ("latency_ms", "p10_ms", "p90_ms"):
        value = getattr(row, field)
        if value is not None or field == "latency_ms":
            check_latency(value, field, where, note=" Nothing was stored.")
    if row.device not in ("", device):
        raise bad("device", f"'' or {device!r} (the device of the call)", row.device)
    if row.kind not in MEASUREMENT_KINDS:
        raise bad("kind", f"one of {MEASUREMENT_KINDS}", row.kind)
    check_str("space", optional=True, what="a space name")
    check_str("arch", optional=True, max_length=None, what="an arch string")
    if row.arch is not None and not row.space:
        raise bad("arch", "None or an arch string given with its space", row.arch)
    sha256 = row.sha256
    if sha256 is not None:
        if not isinstance(sha256, str) or _SHA256_RE.fullmatch(sha256.lower()) is None:
            raise bad("sha256", "None or 64 hex digits", sha256)
        sha256 = sha256.lower()
    if row.arch is None and sha256 is None:
        raise bad("arch", "given (with space) when sha256 is not", row.arch)
    if row.position is not None and not _is_count(row.position, 0):
        raise bad("position", "None or an int >= 0", row.position)
    check_str("suite_version", optional=True)
    if not _is_count(row.repeats, 1):
        raise bad("repeats", "an int >= 1", row.repeats)
    if not _is_count(row.warmup_runs, 0):
        raise bad("warmup_runs", "an int >= 0", row.warmup_runs)
    if row.cv is not None and not (_is_real(row.cv) and row.cv >= 0):
        raise bad("cv", "None or a finite float >= 0", row.cv)
    if not (_is_real(row.created_at_s) and row.created_at_s >= 0):
        raise bad("created_at_s", "seconds since the epoch, 0 for now", row.created_at_s)
    return {
        "device": device,
        "request_id": request_id,
        "kind": row.kind,
        "space": row.space,
        "arch": row.arch,
        "sha256": sha256,
        "position": row.position,
        "suite_version": row.suite_version,
        "latency_ms": float(row.latency_ms),
        "p10_ms": None if row.p10_ms is None else float(row.p10_ms),
        "p90_ms": None if row.p90_ms is None else float(row.p90_ms),
        "repeats": row.repeats,
        "warmup_runs": row.warmup_runs,
        "cv": None if row.cv is None else float(row.cv),
        "runner": _json_dict(row.runner, f"rows[{index}].runner", owner),
        "created_at_s": float(row.created_at_s) or now_s,
    }


def _calibration_values(record: object) -> dict[str, Any]:
    """The column values of a calibration, after checking every field."""
    owner = "Store.save_calibration"
    if not isinstance(record, CalibrationRecord):
        raise invalid_parameter("record", owner, "a CalibrationRecord", _Short(record))
    _check_str(record.device, "record.device", owner, min_length=0, max_length=None, what=_DEVICE)
    for field in ("space", "suite_version", "checkpoint_version"):
        _check_str(getattr(record, field), f"record.{field}", owner)
    if not _is_count(record.shots, 1):
        raise invalid_parameter("record.shots", owner, "an int >= 1", record.shots)
    timings = record.timings_ms
    if isinstance(timings, str | bytes) or not isinstance(timings, Sequence):
        raise invalid_parameter(
            "record.timings_ms", owner, "a list of float or None", _Short(timings)
        )
    where = f"{owner} (device {record.device!r}, space {record.space!r})"
    for i, value in enumerate(timings):
        if value is not None:
            check_latency(
                value,
                f"timings_ms[{i}]",
                where,
                note=" None marks a missing shot. Nothing was stored.",
            )
    if record.loo_error is not None and not (_is_real(record.loo_error) and record.loo_error >= 0):
        raise invalid_parameter(
            "record.loo_error", owner, "None or a finite float >= 0", record.loo_error
        )
    if not isinstance(record.state, bytes | bytearray | memoryview):
        raise invalid_parameter("record.state", owner, "bytes (safetensors)", _Short(record.state))
    if not (_is_real(record.calibrated_at_s) and record.calibrated_at_s >= 0):
        raise invalid_parameter(
            "record.calibrated_at_s",
            owner,
            "seconds since the epoch, 0 for now",
            record.calibrated_at_s,
        )
    return {
        "device": record.device,
        "space": record.space,
        "suite_version": record.suite_version,
        "checkpoint_version": record.checkpoint_version,
        "shots": record.shots,
        "timings_ms": [None if t is None else float(t) for t in timings],
        "loo_error": None if record.loo_error is None else float(record.loo_error),
        "report": _json_dict(record.report, "record.report", owner),
        "state": bytes(record.state),
        "calibrated_at_s": float(record.calibrated_at_s) or time.time(),
    }


def _job_changes(fields: Mapping[str, Any]) -> dict[str, Any]:
    """Checked values of the job fields to change."""
    owner = "Store.update_job"
    unknown = sorted(set(fields) - set(JOB_FIELDS))
    if unknown:
        raise InvalidParameterError(
            f"Store.update_job got unknown field(s) {unknown}; it can change {list(JOB_FIELDS)}."
        )
    changes = dict(fields)
    if "state" in changes and changes["state"] not in JOB_STATES:
        raise invalid_parameter("state", owner, f"one of {JOB_STATES}", changes["state"])
    if "progress" in changes:
        progress = changes["progress"]
        if not (_is_real(progress) and 0 <= progress <= 1):
            raise invalid_parameter("progress", owner, "a float in [0, 1]", progress)
        changes["progress"] = float(progress)
    for name in ("phase", "message", "checkpoint_version"):
        if name in changes:
            _check_str(changes[name], name, owner, min_length=0, max_length=None)
    if "promoted" in changes and not isinstance(changes["promoted"], bool):
        raise invalid_parameter("promoted", owner, "a bool", changes["promoted"])
    if "finished_at_s" in changes:
        finished = changes["finished_at_s"]
        if finished is not None and not (_is_real(finished) and finished >= 0):
            raise invalid_parameter(
                "finished_at_s", owner, "None or seconds since the epoch", finished
            )
        changes["finished_at_s"] = None if finished is None else float(finished)
    return changes


# -- rows ↔ records -------------------------------------------------------------------------


def _require_device(session: Session, name: str) -> DeviceRow:
    row = session.get(DeviceRow, name) if isinstance(name, str) else None
    if row is None:
        raise UnknownDeviceError(
            f"device {name!r} is not registered; register it with "
            f"`fewlat-client calibrate --device {name}`"
        )
    return row


def _require_job(session: Session, job_id: str) -> JobRow:
    row = session.get(JobRow, job_id) if isinstance(job_id, str) else None
    if row is None:
        raise UnknownJobError(
            f"job {job_id!r} is not known to this server; a job id comes from the reply "
            "of the call that started the job"
        )
    return row


def _by_name(rows: Iterable[DeviceRow]) -> list[DeviceRow]:
    """Rows in code-point order of the name. SQL ``ORDER BY`` would follow the database's
    collation, which differs between SQLite (binary) and PostgreSQL (usually a locale's)."""
    return sorted(rows, key=lambda row: row.name)


def _summaries(
    session: Session, devices: Sequence[DeviceRow], name: str | None
) -> list[DeviceSummary]:
    """``devices`` with their calibrations and measurement counts: two more queries,
    for ``name`` only or (``None``) for every device, that never read the state column."""
    calibrations = select(
        CalibrationRow.device,
        CalibrationRow.space,
        CalibrationRow.suite_version,
        CalibrationRow.checkpoint_version,
        CalibrationRow.shots,
        CalibrationRow.loo_error,
        CalibrationRow.calibrated_at_s,
    ).order_by(CalibrationRow.device, CalibrationRow.space)
    counts = select(MeasurementRow.device, sa.func.count()).group_by(MeasurementRow.device)
    if name is not None:
        calibrations = calibrations.where(CalibrationRow.device == name)
        counts = counts.where(MeasurementRow.device == name)
    by_device: dict[str, list[CalibrationSummary]] = {}
    for device, space, suite, checkpoint, shots, loo, at_s in session.execute(calibrations):
        by_device.setdefault(device, []).append(
            CalibrationSummary(
                space=space,
                suite_version=suite,
                checkpoint_version=checkpoint,
                shots=shots,
                loo_error=loo,
                calibrated_at_s=at_s,
            )
        )
    counted = {device: int(n) for device, n in session.execute(counts)}
    return [
        DeviceSummary(
            device=row.record(),
            calibrations=by_device.get(row.name, []),
            measurement_count=counted.get(row.name, 0),
        )
        for row in devices
    ]

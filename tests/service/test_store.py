"""``fewlat.service.store``: a real SQLite file per test, threads, and a SIGKILLed writer."""

from __future__ import annotations

import math
import os
import re
import select
import signal
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

import fewlat.service.store as store_pkg
from fewlat.exceptions import (
    InvalidMeasurementError,
    InvalidParameterError,
    MissingDependencyError,
    NotCalibratedError,
    UnknownDeviceError,
    UnknownJobError,
)
from fewlat.service.store import (
    SCHEMA_VERSION,
    ArchTiming,
    CalibrationRecord,
    MeasurementRecord,
    Store,
    check_latency,
)
from fewlat.service.store._schema import Base
from tests.conftest import REPO

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"
SHA = "ab" * 32


def _url(tmp_path: Path, name: str = "fewlat.db") -> str:
    return f"sqlite:///{tmp_path / name}"


def _rows(n: int, start_ms: float = 1.0) -> list[MeasurementRecord]:
    return [
        MeasurementRecord(
            kind="calibration",
            space="nb201",
            arch=f"{ARCH}#{i}",
            position=i,
            suite_version="nb201-3f2a9c0d1b7e",
            latency_ms=start_ms + i,
            p10_ms=start_ms + i - 0.1,
            p90_ms=start_ms + i + 0.1,
            repeats=20,
            warmup_runs=5,
            cv=0.02,
            runner={"name": "ort", "threads": 4},
        )
        for i in range(n)
    ]


def _race(n_threads: int, fn: Callable[[], Any]) -> list[Any]:
    """Run ``fn`` in ``n_threads`` threads released at once; re-raise the first error."""
    barrier = threading.Barrier(n_threads)
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work() -> None:
        barrier.wait()
        try:
            value = fn()
        except BaseException as err:
            with lock:
                errors.append(err)
        else:
            with lock:
                results.append(value)

    threads = [threading.Thread(target=work) for _ in range(n_threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    if errors:
        raise errors[0]
    assert len(results) == n_threads
    return results


class _Statements:
    """Every SQL statement the store's engine sends while the block runs."""

    def __init__(self, store: Store) -> None:
        self._engine = store._engine
        self.sent: list[str] = []

    def _on_execute(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.sent.append(statement)

    def __enter__(self) -> list[str]:
        event.listen(self._engine, "before_cursor_execute", self._on_execute)
        return self.sent

    def __exit__(self, *_exc: object) -> None:
        event.remove(self._engine, "before_cursor_execute", self._on_execute)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store(store_url) as opened:
        opened.register_device("board")
        yield opened


# -- package and engine ----------------------------------------------------------------------


def test_all_names_exist() -> None:
    assert sorted(store_pkg.__all__) == sorted(
        [
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
    )
    for name in store_pkg.__all__:
        assert hasattr(store_pkg, name)


def test_sqlite_is_wal_full_sync_with_foreign_keys(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'folder' / 'fewlat.db'}"
    with Store(url) as store:
        assert (tmp_path / "new" / "folder" / "fewlat.db").is_file()
        with store._engine.connect() as conn:  # the store's own pooled connection
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    # WAL is a property of the file: a plain connection sees it too
    with sqlite3.connect(tmp_path / "new" / "folder" / "fewlat.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {
        "meta",
        "devices",
        "submissions",
        "measurements",
        "calibrations",
        "checkpoints",
        "jobs",
    }


def test_url_is_shown_without_password(tmp_path: Path) -> None:
    with Store(_url(tmp_path)) as store:
        assert store.url == _url(tmp_path)
        assert repr(store) == f"Store({_url(tmp_path)!r})"
    # without psycopg: the install hint; with it: no server to reach. Neither shows the password.
    with pytest.raises((MissingDependencyError, InvalidParameterError)) as info:
        Store("postgresql+psycopg://fewlat:s3cret@127.0.0.1:1/fewlat")
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("url", ["", "not a url", "nosuchdb://x/y", "sqlite://", 42])
def test_bad_url_says_what_and_shows_an_example(url: Any) -> None:
    with pytest.raises(InvalidParameterError) as info:
        Store(url)
    message = str(info.value)
    assert "'url' parameter of Store" in message
    assert "sqlite:///" in message


def test_the_tables_compile_for_postgresql() -> None:
    """No SQLite-only DDL: every table and index renders for the PostgreSQL dialect."""
    dialect = postgresql.dialect()
    for table in Base.metadata.sorted_tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        assert f"CREATE TABLE {table.name}" in ddl
        for index in table.indexes:
            assert "CREATE INDEX" in str(CreateIndex(index).compile(dialect=dialect))
    measurements = str(CreateTable(Base.metadata.tables["measurements"]).compile(dialect=dialect))
    assert "DOUBLE PRECISION" in measurements and "JSON" in measurements
    assert "BYTEA" in str(
        CreateTable(Base.metadata.tables["calibrations"]).compile(dialect=dialect)
    )


def test_data_survives_close_and_reopen(store_url: str, tmp_path: Path) -> None:
    with Store(store_url) as store:
        store.register_device("board", description="Pi 4", labels={"soc": "bcm2711"}, owner="ann")
        store.add_measurements("board", _rows(3), request_id="r1", kind="calibration")
        store.add_checkpoint("v1", tmp_path / "ckpt", {"spearman": 0.9})
        store.activate_checkpoint("v1")
        job = store.create_job("meta-train", {"seed": 0})
    with Store(store_url) as store:
        device = store.get_device("board")
        assert (device.description, device.labels, device.owner) == (
            "Pi 4",
            {"soc": "bcm2711"},
            "ann",
        )
        stored = store.measurements(device="board")
        assert [m.latency_ms for m in stored] == [1.0, 2.0, 3.0]
        assert stored[0].runner == {"name": "ort", "threads": 4}
        assert stored[0].request_id == "r1" and stored[0].device == "board"
        assert (stored[0].p10_ms, stored[0].p90_ms, stored[0].repeats) == (0.9, 1.1, 20)
        assert stored[0].created_at_s > 0 and stored[0].id is not None
        active = store.active_checkpoint()
        assert active is not None and active.version == "v1"
        assert active.path == str(tmp_path / "ckpt")
        assert store.get_job(job.id).params == {"seed": 0}


# -- schema version --------------------------------------------------------------------------


def test_a_database_of_a_newer_schema_is_refused(tmp_path: Path) -> None:
    Store(_url(tmp_path)).close()
    with sqlite3.connect(tmp_path / "fewlat.db") as raw:
        (value,) = raw.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
        assert value == str(SCHEMA_VERSION)
        raw.execute(
            "UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),)
        )
    with pytest.raises(InvalidParameterError) as info:
        Store(_url(tmp_path))
    message = str(info.value)
    assert f"schema version '{SCHEMA_VERSION + 1}'" in message
    assert f"up to {SCHEMA_VERSION}" in message and "Upgrade fewlat" in message


# -- devices ---------------------------------------------------------------------------------


def test_register_is_idempotent(store_url: str) -> None:
    with Store(store_url) as store:
        first, created = store.register_device("raspi4-ort-4t", description="one")
        assert created and first.name == "raspi4-ort-4t" and first.registered_at_s > 0
        again, created = store.register_device("raspi4-ort-4t", description="two", owner="x")
        assert not created
        assert again == first  # unchanged: the second description and owner are ignored
        assert [d.name for d in store.list_devices()] == ["raspi4-ort-4t"]


def test_concurrent_registration_of_one_name_creates_it_once(store_url: str) -> None:
    with Store(store_url) as store:
        results = _race(8, lambda: store.register_device("jetson-nano(trt)+fp16"))
        assert sum(created for _, created in results) == 1
        assert all(record == results[0][0] for record, _ in results)  # one row, read back
        assert [d.name for d in store.list_devices()] == ["jetson-nano(trt)+fp16"]


def test_list_devices_is_ordered_by_name(store_url: str) -> None:
    with Store(store_url) as store:
        for name in ["pixel2", "a.b_c-1", "Zed"]:
            store.register_device(name)
        assert [d.name for d in store.list_devices()] == ["Zed", "a.b_c-1", "pixel2"]


def _old_view(store: Store, name: str) -> dict[str, Any]:
    """What GetDevice showed before device summaries: a query per calibration and count."""
    record, calibrations = store.get_device(name), store.calibrations(name)
    latest = max(calibrations, key=lambda c: c.calibrated_at_s, default=None)
    return {
        "name": record.name,
        "description": record.description,
        "labels": record.labels,
        "status": "calibrated" if calibrations else "registered",
        "shots": {c.space: c.shots for c in calibrations},
        "loo_error": max((c.loo_error or 0.0 for c in calibrations), default=0.0),
        "calibrated_at_s": latest.calibrated_at_s if latest else 0.0,
        "registered_at_s": record.registered_at_s,
        "checkpoint_version": latest.checkpoint_version if latest else "",
        "measurement_count": store.count_measurements(name),
    }


def _add_devices(store: Store, first: int, last: int) -> None:
    """Devices ``dev-first`` … ``dev-last-1``, most calibrated in one or two spaces."""
    for i in range(first, last):
        name = f"dev-{i:02d}"
        store.register_device(name, labels={"i": str(i)})
        if i % 5 == 4:
            continue  # registered only
        store.add_measurements(name, _rows(1 + i % 3), kind="calibration")
        state = bytes([i]) * 200_000  # a big adapted state that the listing must not read
        for space in ("nb201", "fbnet")[: 1 + i % 2]:
            store.save_calibration(
                _calibration(
                    device=name,
                    space=space,
                    shots=3 + i,
                    loo_error=None if i % 3 == 0 else 0.01 * i,
                    checkpoint_version=f"v{i}-{space}",
                    state=state,
                    calibrated_at_s=1000.0 + i + (space == "fbnet"),
                )
            )


def test_listing_devices_costs_constant_queries_and_reads_no_state(store: Store) -> None:
    from dataclasses import asdict

    from fewlat.service.handlers import DataPlane

    plane = DataPlane(store, host=None)  # type: ignore[arg-type]  # listing needs no predictor
    counts = {}
    for first, last in ((0, 2), (2, 20)):
        _add_devices(store, first, last)
        with _Statements(store) as sent:
            summaries = store.device_summaries()
        with _Statements(store) as sent_by_plane:
            views = plane.list_devices()
        counts[last] = (len(sent), len(sent_by_plane))
        for statement in sent + sent_by_plane:
            assert re.search(r"\bstate\b", statement) is None, statement
        assert [s.device.name for s in summaries] == ["board"] + [
            f"dev-{i:02d}" for i in range(last)
        ]
        for view in views:
            assert asdict(view) == _old_view(store, view.name)  # what GetDevice showed before
            with _Statements(store) as sent_one:
                assert plane.get_device(view.name) == view
            assert len(sent_one) == 3 and not any(re.search(r"\bstate\b", s) for s in sent_one)
    assert counts[2] == counts[20] == (3, 3)  # devices, calibrations, measurement counts
    with _Statements(store) as sent:  # the check sees a read of the state when there is one
        store.calibrations("dev-01")
    assert any(re.search(r"\bstate\b", statement) for statement in sent)
    assert views[0].status == "registered" and views[0].measurement_count == 0
    dev1 = next(v for v in views if v.name == "dev-01")
    assert dev1.shots == {"fbnet": 4, "nb201": 4} and dev1.checkpoint_version == "v1-fbnet"
    assert (dev1.calibrated_at_s, dev1.measurement_count) == (1002.0, 2)
    with pytest.raises(UnknownDeviceError, match="'ghost'"):
        store.device_summary("ghost")


@pytest.mark.parametrize("name", ["", "has space", "a/b", "é", "x" * 201, None, 3])
def test_bad_device_names_are_rejected(store: Store, name: Any) -> None:
    with pytest.raises(InvalidParameterError, match=r"'name' parameter of Store\.register_device"):
        store.register_device(name)
    assert [d.name for d in store.list_devices()] == ["board"]


def test_unknown_device_errors_carry_the_name(store: Store) -> None:
    with pytest.raises(UnknownDeviceError) as info:
        store.get_device("ghost-7")
    assert str(info.value) == (
        "device 'ghost-7' is not registered; register it with "
        "`fewlat-client calibrate --device ghost-7`"
    )
    with pytest.raises(UnknownDeviceError, match="'ghost-7'"):
        store.add_measurements("ghost-7", _rows(1), request_id="r", kind="calibration")
    with pytest.raises(UnknownDeviceError, match="'ghost-7'"):
        store.calibrations("ghost-7")
    assert store.count_measurements() == 0
    assert store.submission_response("r") is None


# -- measurements ----------------------------------------------------------------------------


def test_add_measurements_is_idempotent_by_request_id(store: Store) -> None:
    assert store.add_measurements("board", _rows(3), request_id="req-1", kind="calibration") == 3
    assert store.add_measurements("board", _rows(3), request_id="req-1", kind="calibration") == 0
    assert store.count_measurements("board") == 3
    assert store.add_measurements("board", _rows(2), kind="measurements") == 2  # fresh id
    assert store.count_measurements() == 5
    ids = {m.request_id for m in store.measurements()}
    assert "req-1" in ids and len(ids) == 2


def test_concurrent_resubmission_stores_once(store: Store) -> None:
    results = _race(
        8, lambda: store.add_measurements("board", _rows(4), request_id="dup", kind="calibration")
    )
    assert sorted(results) == [0] * 7 + [4]
    assert store.count_measurements("board") == 4


def test_distinct_concurrent_submissions_all_store(store: Store) -> None:
    counter = iter(range(100))
    lock = threading.Lock()

    def submit() -> int:
        with lock:
            i = next(counter)
        return store.add_measurements("board", _rows(2), request_id=f"r{i}", kind="calibration")

    assert _race(8, submit) == [2] * 8
    assert store.count_measurements("board") == 16


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, 0.0, 0, True, "3"])
def test_a_bad_latency_raises_and_stores_nothing(store: Store, bad: Any) -> None:
    rows = _rows(3)
    rows[1] = MeasurementRecord(
        kind="calibration", space="nb201", arch=ARCH, position=1, latency_ms=bad
    )
    with pytest.raises(InvalidMeasurementError) as info:
        store.add_measurements("board", rows, request_id="bad", kind="calibration")
    message = str(info.value)
    assert "row 1" in message and "position 1" in message and ARCH[:20] in message
    assert f"latency_ms={bad!r}" in message
    assert store.count_measurements() == 0
    assert store.submission_response("bad") is None
    # the request id was not used up: a corrected resubmission is stored
    assert store.add_measurements("board", _rows(3), request_id="bad", kind="calibration") == 3


def test_bad_percentile_is_an_invalid_measurement(store: Store) -> None:
    row = MeasurementRecord(kind="extra", sha256=SHA, latency_ms=2.0, p90_ms=-1.0)
    with pytest.raises(
        InvalidMeasurementError, match=r"row 0 \(sha256 abababababab…\).*p90_ms=-1.0"
    ):
        store.add_measurements("board", [row], kind="measurements")
    assert store.count_measurements() == 0


@pytest.mark.parametrize(
    ("row", "field"),
    [
        (MeasurementRecord(kind="calibration", latency_ms=1.0), "arch"),
        (MeasurementRecord(kind="calibration", arch=ARCH, latency_ms=1.0), "arch"),
        (MeasurementRecord(kind="other", sha256=SHA, latency_ms=1.0), "kind"),
        (MeasurementRecord(kind="extra", sha256="xyz", latency_ms=1.0), "sha256"),
        (MeasurementRecord(kind="extra", sha256=SHA, latency_ms=1.0, repeats=0), "repeats"),
        (MeasurementRecord(kind="extra", sha256=SHA, latency_ms=1.0, position=-1), "position"),
        (MeasurementRecord(kind="extra", sha256=SHA, latency_ms=1.0, device="other"), "device"),
        (
            MeasurementRecord(kind="extra", sha256=SHA, latency_ms=1.0, runner={"x": math.nan}),
            "runner",
        ),
    ],
)
def test_bad_row_fields_are_rejected(store: Store, row: MeasurementRecord, field: str) -> None:
    with pytest.raises(InvalidParameterError, match=rf"'rows\[0\]\.{field}' parameter"):
        store.add_measurements("board", [row], kind="measurements")
    assert store.count_measurements() == 0


def test_bad_call_arguments_are_rejected(store: Store) -> None:
    with pytest.raises(InvalidParameterError, match="'kind' parameter"):
        store.add_measurements("board", _rows(1), kind="calib")
    with pytest.raises(InvalidParameterError, match="'rows' parameter"):
        store.add_measurements("board", [], kind="calibration")
    with pytest.raises(InvalidParameterError, match="'request_id' parameter"):
        store.add_measurements("board", _rows(1), request_id="", kind="calibration")
    with pytest.raises(InvalidParameterError, match=r"'kind' parameter of Store\.measurements"):
        store.measurements(kind="calib")


def test_sha256_rows_are_stored_lowercase(store: Store) -> None:
    row = MeasurementRecord(kind="extra", sha256=SHA.upper(), latency_ms=7.5)
    store.add_measurements("board", [row], kind="measurements")
    (stored,) = store.measurements(kind="extra")
    assert (stored.sha256, stored.arch, stored.space, stored.latency_ms) == (SHA, None, None, 7.5)


def test_measurement_filters(store: Store) -> None:
    store.register_device("other")
    store.add_measurements("board", _rows(2), kind="calibration")
    store.add_measurements("other", _rows(1, start_ms=9.0), kind="calibration")
    extra = MeasurementRecord(kind="extra", space="fbnet", arch="skip-" * 21 + "skip", latency_ms=3)
    store.add_measurements("board", [extra], kind="measurements")
    assert [m.latency_ms for m in store.measurements()] == [1.0, 2.0, 9.0, 3.0]
    assert [m.latency_ms for m in store.measurements(device="board")] == [1.0, 2.0, 3.0]
    assert [m.latency_ms for m in store.measurements(kind="extra")] == [3.0]
    assert [m.latency_ms for m in store.measurements(space="nb201")] == [1.0, 2.0, 9.0]
    assert store.measurements(device="nobody") == []
    assert (store.count_measurements(), store.count_measurements("other")) == (4, 1)


def test_arch_timings_select_only_the_pooled_columns(store: Store) -> None:
    store.register_device("other")
    store.add_measurements("board", _rows(2), kind="calibration")
    extra = [
        MeasurementRecord(kind="extra", sha256=SHA, latency_ms=8.0),  # no arch: not pooled
        MeasurementRecord(
            kind="extra", space="fbnet", arch="skip", latency_ms=3.0, runner={"runtime": "mnn"}
        ),
    ]
    store.add_measurements("other", extra, kind="measurements")
    store.add_measurements("board", _rows(1, start_ms=5.0), kind="calibration")
    with _Statements(store) as sent:
        timings = store.arch_timings(["nb201", "fbnet"])
    assert timings == [
        ArchTiming("board", "nb201", f"{ARCH}#0", 1.0, {"name": "ort", "threads": 4}),
        ArchTiming("board", "nb201", f"{ARCH}#1", 2.0, {"name": "ort", "threads": 4}),
        ArchTiming("other", "fbnet", "skip", 3.0, {"runtime": "mnn"}),
        ArchTiming("board", "nb201", f"{ARCH}#0", 5.0, {"name": "ort", "threads": 4}),
    ]
    (statement,) = sent
    assert not any(column in statement for column in ("p10_ms", "sha256", "request_id", "cv"))
    assert [t.latency_ms for t in store.arch_timings(["fbnet"])] == [3.0]
    assert store.arch_timings([]) == []


@pytest.mark.parametrize("good", [1, 0.5, 1e-300, 3.25])
def test_check_latency_accepts_finite_positive_numbers(good: Any) -> None:
    value = check_latency(good, "latency_ms", "row 0")
    assert value == good and type(value) is float


@pytest.mark.parametrize("bad", [math.nan, -math.inf, -1.0, 0, True, "3", None])
def test_check_latency_names_what_was_wrong(bad: Any) -> None:
    with pytest.raises(InvalidMeasurementError) as info:
        check_latency(bad, "p90_ms", "suite position 4", note=" Nothing was stored.")
    assert str(info.value) == (
        f"suite position 4 has p90_ms={bad!r}; a timing must be a number of milliseconds, "
        "finite and > 0. Nothing was stored."
    )


def test_large_bad_values_are_shortened_in_messages(store: Store) -> None:
    with pytest.raises(InvalidParameterError) as info:
        store.add_measurements("board", ["not a record"] * 10_000, kind="measurements")
    assert "'rows[0]' parameter of Store.add_measurements" in str(info.value)
    with pytest.raises(InvalidParameterError) as info:
        store.register_device("big", labels={str(i): i for i in range(10_000)})
    message = str(info.value)
    assert "'labels' parameter of Store.register_device must be a dict of str to str" in message
    assert "'0': 0" in message and len(message) < 500
    with pytest.raises(InvalidParameterError) as info:
        store.create_job("meta-train", {"x": "y" * 100_000, "n": math.nan})
    assert "'params' parameter of Store.create_job" in str(info.value)
    assert len(str(info.value)) < 1000


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda s: s.register_device("ok", description=3),
            "The 'description' parameter of Store.register_device must be a str. Got 3 instead.",
        ),
        (
            lambda s: s.register_device("ok", owner=""),
            "The 'owner' parameter of Store.register_device must be None or a str of 1 to "
            "200 characters. Got '' instead.",
        ),
        (
            lambda s: s.add_checkpoint("", "/p", {}),
            "The 'version' parameter of Store.add_checkpoint must be a str of 1 to 200 "
            "characters. Got '' instead.",
        ),
        (
            lambda s: s.create_job("k" * 65),
            "The 'kind' parameter of Store.create_job must be a str of 1 to 64 characters. "
            f"Got {'k' * 65!r} instead.",
        ),
        (
            lambda s: s.add_measurements(
                "board",
                [MeasurementRecord(kind="extra", space="", arch="a", latency_ms=1.0)],
                kind="measurements",
            ),
            "The 'rows[0].space' parameter of Store.add_measurements must be None or a space "
            "name of 1 to 200 characters [row 0 (arch 'a')]. Got '' instead.",
        ),
        (
            lambda s: s.save_calibration(_calibration(suite_version=7)),
            "The 'record.suite_version' parameter of Store.save_calibration must be a str of "
            "1 to 200 characters. Got 7 instead.",
        ),
    ],
)
def test_string_parameters_share_one_rule(store: Store, call: Callable, message: str) -> None:
    with pytest.raises(InvalidParameterError) as info:
        call(store)
    assert str(info.value) == message


def test_submission_response_round_trip(store: Store) -> None:
    store.add_measurements("board", _rows(1), request_id="r1", kind="calibration")
    assert store.submission_response("r1") is None
    store.set_submission_response("r1", {"stored": 1, "loo_error": 0.05, "archs": ["a"]})
    assert store.submission_response("r1") == {"stored": 1, "loo_error": 0.05, "archs": ["a"]}
    with pytest.raises(InvalidParameterError, match="'request_id' parameter"):
        store.set_submission_response("never", {"stored": 0})
    with pytest.raises(InvalidParameterError, match="'response' parameter"):
        store.set_submission_response("r1", {"x": object()})


# -- calibrations ----------------------------------------------------------------------------


def _calibration(**changes: Any) -> CalibrationRecord:
    fields: dict[str, Any] = {
        "device": "board",
        "space": "nb201",
        "suite_version": "nb201-3f2a9c0d1b7e",
        "checkpoint_version": "v1",
        "shots": 3,
        "timings_ms": [1.5, None, 2.5],
        "loo_error": 0.04,
        "report": {"mape": 0.04},
        "state": b"\x00safetensors\xff" * 10,
    }
    fields.update(changes)
    return CalibrationRecord(**fields)


def test_calibration_upsert_replaces(store: Store) -> None:
    store.save_calibration(_calibration())
    store.save_calibration(_calibration(space="fbnet", shots=5, timings_ms=[1.0] * 5))
    store.save_calibration(
        _calibration(shots=5, timings_ms=[1.0, 2.0, 3.0, 4.0, 5.0], state=b"new")
    )
    saved = store.calibrations("board")
    assert [(c.space, c.shots) for c in saved] == [("fbnet", 5), ("nb201", 5)]
    nb201 = saved[1]
    assert nb201.state == b"new" and nb201.timings_ms == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert nb201.calibrated_at_s > 0 and nb201.report == {"mape": 0.04}
    assert store.get_calibration("board", "nb201") == nb201
    assert "state" not in repr(nb201)  # the opaque bytes are not printed


def test_calibration_keeps_missing_shots_and_bytes_exactly(store: Store) -> None:
    state = bytes(range(256)) * 4
    store.save_calibration(_calibration(state=state, loo_error=None, calibrated_at_s=123.5))
    (saved,) = store.calibrations("board")
    assert saved.timings_ms == [1.5, None, 2.5]
    assert (saved.state, saved.loo_error, saved.calibrated_at_s) == (state, None, 123.5)


def test_calibration_errors(store: Store) -> None:
    with pytest.raises(UnknownDeviceError, match="'ghost'"):
        store.save_calibration(_calibration(device="ghost"))
    with pytest.raises(InvalidMeasurementError, match=r"timings_ms\[1\].*-2\.0"):
        store.save_calibration(_calibration(timings_ms=[1.0, -2.0, None]))
    with pytest.raises(NotCalibratedError, match="--device board --space nb201"):
        store.get_calibration("board", "nb201")
    assert store.calibrations("board") == []


# -- checkpoints -----------------------------------------------------------------------------


def test_checkpoint_activation_keeps_exactly_one_active(store: Store) -> None:
    assert store.active_checkpoint() is None
    for version in ["v1", "v2", "v3"]:
        store.add_checkpoint(version, f"/ckpt/{version}", {"spearman": 0.9})
    store.add_checkpoint("v1", "/elsewhere", {})  # idempotent: unchanged
    assert [c.path for c in store.checkpoints()] == ["/ckpt/v1", "/ckpt/v2", "/ckpt/v3"]
    assert not any(c.active for c in store.checkpoints())
    for version in ["v2", "v1", "v3", "v3"]:
        store.activate_checkpoint(version)
        assert [c.version for c in store.checkpoints() if c.active] == [version]
        active = store.active_checkpoint()
        assert active is not None and active.version == version
    with pytest.raises(InvalidParameterError, match=r"known: \['v1', 'v2', 'v3'\]"):
        store.activate_checkpoint("v9")
    assert [c.version for c in store.checkpoints() if c.active] == ["v3"]


def test_concurrent_activations_leave_one_active(store: Store) -> None:
    versions = [f"v{i}" for i in range(8)]
    for version in versions:
        store.add_checkpoint(version, "/p", {})
    pending = iter(versions)
    lock = threading.Lock()

    def activate() -> None:
        with lock:
            version = next(pending)
        store.activate_checkpoint(version)

    _race(8, activate)
    assert len([c for c in store.checkpoints() if c.active]) == 1


# -- jobs ------------------------------------------------------------------------------------


def test_job_lifecycle(store: Store) -> None:
    job = store.create_job("meta-train", {"spaces": ["nb201"], "seed": 0})
    assert (job.state, job.progress, job.promoted, job.finished_at_s) == (
        "queued",
        0.0,
        False,
        None,
    )
    assert len(job.id) == 32 and job.started_at_s > 0
    running = store.update_job(job.id, state="running", phase="epoch 1/10", progress=0.1)
    assert (running.state, running.phase, running.progress) == ("running", "epoch 1/10", 0.1)
    other = store.create_job("eval")
    assert [j.id for j in store.unfinished_jobs()] == [job.id, other.id]
    done = store.update_job(
        job.id, state="succeeded", progress=1.0, promoted=True, checkpoint_version="v2"
    )
    assert done.finished_at_s is not None and done.finished_at_s >= done.started_at_s
    assert (done.promoted, done.checkpoint_version) == (True, "v2")
    assert store.get_job(job.id) == done
    assert [j.id for j in store.unfinished_jobs()] == [other.id]
    failed = store.update_job(other.id, state="failed", message="server restarted")
    assert failed.message == "server restarted" and failed.finished_at_s is not None
    assert store.unfinished_jobs() == []


def test_job_errors(store: Store) -> None:
    job = store.create_job("meta-train")
    with pytest.raises(InvalidParameterError, match=r"unknown field\(s\) \['colour'\]"):
        store.update_job(job.id, colour="red")
    with pytest.raises(InvalidParameterError, match="'state' parameter"):
        store.update_job(job.id, state="paused")
    with pytest.raises(InvalidParameterError, match="'progress' parameter"):
        store.update_job(job.id, progress=1.5)
    with pytest.raises(UnknownJobError) as info:
        store.get_job("0" * 32)
    assert "'00000000000000000000000000000000'" in str(info.value)
    with pytest.raises(UnknownJobError):
        store.update_job("nope", state="running")
    assert store.get_job(job.id).state == "queued"


# -- durability ------------------------------------------------------------------------------

# The writer imports the store alone: a stub parent package skips fewlat.service's
# __init__ (the server and the predictor, seconds of imports) to keep this test fast.
_WRITER = """
import importlib.util, sys, time, types
spec = importlib.util.find_spec("fewlat.service")
stub = types.ModuleType("fewlat.service")
stub.__path__ = list(spec.submodule_search_locations)
sys.modules["fewlat.service"] = stub
from fewlat.service.store import MeasurementRecord, Store
store = Store(sys.argv[1])
store.register_device("board")
rows = [MeasurementRecord(kind="calibration", space="nb201", arch=f"a{i}", position=i,
                          latency_ms=1.0 + i) for i in range(5)]
n = store.add_measurements("board", rows, request_id="acked-1", kind="calibration")
print("acked", n, flush=True)
time.sleep(60)
"""


def test_acknowledged_rows_survive_sigkill(tmp_path: Path) -> None:
    url = _url(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, url],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "the writer did not acknowledge within 30 s"
        line = proc.stdout.readline()  # type: ignore[union-attr]
        os.kill(proc.pid, signal.SIGKILL)
        assert line.strip() == "acked 5", proc.stderr.read()  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert proc.returncode == -signal.SIGKILL
    with Store(url) as store:
        stored = store.measurements(device="board")
        assert [m.latency_ms for m in stored] == [1.0, 2.0, 3.0, 4.0, 5.0]
        assert {m.request_id for m in stored} == {"acked-1"}
        assert (
            store.add_measurements("board", _rows(1), request_id="acked-1", kind="calibration") == 0
        )

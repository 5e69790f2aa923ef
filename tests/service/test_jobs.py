"""``StartMetaTrain`` / ``GetJob``: background meta-training jobs over a real channel."""

from __future__ import annotations

import time

import grpc
import pytest

from fewlat.service import Server
from fewlat.v1 import fewlat_pb2 as pb
from tests.conftest import MEASURED
from tests.service.conftest import settings_for, stub_for


def _finished(stub, job_id: str, timeout_s: float) -> pb.Job:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = stub.GetJob(pb.GetJobRequest(id=job_id))
        if job.state in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} did not finish in {timeout_s} s")


def test_a_job_without_pooled_data_fails_and_says_why(stub) -> None:
    job = stub.StartMetaTrain(pb.StartMetaTrainRequest(steps=2))
    assert job.state == "queued" and job.id
    done = _finished(stub, job.id, 30)
    assert done.state == "failed" and "no pooled data" in done.message
    assert done.finished_at_s >= done.started_at_s > 0 and not done.promoted
    with pytest.raises(grpc.RpcError) as info:
        stub.StartMetaTrain(pb.StartMetaTrainRequest(cv_folds=1))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cv_folds" in info.value.details() and ">= 2 device folds" in info.value.details()


def test_held_out_and_cv_scores_read_the_checkpoint_metrics() -> None:
    from fewlat.meta.predictor import load_checkpoint
    from fewlat.service.handlers._jobs import cv_score, held_out_score

    shipped = load_checkpoint()
    score = held_out_score(shipped)
    assert score is not None and 0.5 < score < 1.0  # a real checkpoint has held-out metrics
    assert cv_score(shipped) is None  # the shipped one records no CV


@pytest.mark.slow
def test_a_job_promotes_by_cross_validated_rho_and_records_it(tmp_path) -> None:
    with Server(settings_for(tmp_path, train_data=[str(MEASURED)])) as server:
        stub = stub_for(server.address)
        job = stub.StartMetaTrain(pb.StartMetaTrainRequest(steps=4, seed=1, cv_folds=2))
        done = _finished(stub, job.id, 3600)
        assert done.state == "succeeded", done.message
        assert "has no cross-validated ρ" in done.message  # the shipped one has none
        record = {c.version: c for c in server.store.checkpoints()}[done.checkpoint_version]
        cv = record.metrics["cv"]
        assert cv["folds"] == 2 and 0.0 < cv["spearman"] <= 1.0 and cv["spaces"]


@pytest.mark.slow
def test_a_job_trains_on_the_pool_and_reports_its_verdict(tmp_path) -> None:
    with Server(settings_for(tmp_path, train_data=[str(MEASURED)])) as server:
        stub = stub_for(server.address)
        job = stub.StartMetaTrain(pb.StartMetaTrainRequest(steps=4, seed=1))
        done = _finished(stub, job.id, 1800)
        assert done.state == "succeeded", done.message
        assert done.progress == 1.0 and "held-out ρ" in done.message
        assert done.checkpoint_version
        record = {c.version: c for c in server.store.checkpoints()}[done.checkpoint_version]
        assert record.active == done.promoted
        assert (server.host.version == done.checkpoint_version) == done.promoted


def test_a_promoted_checkpoint_is_served_after_restart(tmp_path) -> None:
    import json
    import shutil

    from fewlat.meta.predictor import DEFAULT_CHECKPOINT, checkpoint_version
    from fewlat.service.store import Store

    promoted = tmp_path / "promoted"
    shutil.copytree(DEFAULT_CHECKPOINT, promoted)
    config = json.loads((promoted / "config.json").read_text())
    config["intervals"]["scale"] = [0.3] * 10
    (promoted / "config.json").write_text(json.dumps(config))
    version = checkpoint_version(promoted)
    with Store(settings_for(tmp_path).db) as store:
        store.add_checkpoint(version, str(promoted), {"held_out_spearman": 0.9})
        store.activate_checkpoint(version)
    with Server(settings_for(tmp_path)) as server:
        assert server.host.version == version
    with Server(settings_for(tmp_path, checkpoint=DEFAULT_CHECKPOINT)) as server:
        assert server.host.version != version  # --checkpoint still wins


def test_store_devices_join_the_pool_as_onnx_or_eager_by_their_labels(tmp_path) -> None:
    from fewlat.meta.predictor import runs_eagerly
    from fewlat.service.handlers import add_store_measurements
    from fewlat.service.store import MeasurementRecord, Store
    from fewlat.spaces import get_space

    archs = get_space("nb201").sample(__import__("numpy").random.default_rng(0), 3)
    with Store(settings_for(tmp_path).db) as store:
        store.register_device("onnx-board")
        store.register_device("eager-board", labels={"execution": "eager"})
        for device in ("onnx-board", "eager-board"):
            rows = [
                MeasurementRecord(kind="extra", space="nb201", arch=a, latency_ms=1.0 + i)
                for i, a in enumerate(archs)
            ]
            store.add_measurements(device, rows, kind="measurements")
        (table,) = add_store_measurements(store, {"nb201": None}, ["nb201"]).values()
    assert set(table.devices) == {"onnx-board", "eager-board"} and len(table) == 3
    assert not runs_eagerly(table, "onnx-board")
    assert runs_eagerly(table, "eager-board")


def test_pooling_reads_the_pooled_columns_only_and_keeps_medians_and_runtimes(tmp_path) -> None:
    import numpy as np
    from sqlalchemy import event

    from fewlat.service.handlers import add_store_measurements
    from fewlat.service.store import MeasurementRecord, Store
    from fewlat.spaces import get_space

    archs = get_space("nb201").sample(np.random.default_rng(1), 2)
    with Store(settings_for(tmp_path).db) as store:
        store.register_device("board")
        rows = [
            MeasurementRecord(kind="extra", sha256="ab" * 32, latency_ms=99.0),  # not pooled
            MeasurementRecord(kind="extra", space="nb201", arch=archs[0], latency_ms=1.0),
            MeasurementRecord(
                kind="extra",
                space="nb201",
                arch=archs[0],
                latency_ms=3.0,
                runner={"runtime": "mnn"},  # not the first pooled row: not the device's runtime
            ),
            MeasurementRecord(kind="extra", space="nb201", arch=archs[1], latency_ms=4.0),
            MeasurementRecord(
                kind="extra", space="fbnet", arch="skip-" * 21 + "skip", latency_ms=5
            ),
        ]
        store.add_measurements("board", rows, kind="measurements")
        sent: list[str] = []

        def on_execute(_conn, _cursor, statement, *_args) -> None:
            sent.append(statement)

        event.listen(store._engine, "before_cursor_execute", on_execute)
        try:
            pooled = add_store_measurements(store, {"nb201": None}, ["nb201"])
        finally:
            event.remove(store._engine, "before_cursor_execute", on_execute)
    (table,) = pooled.values()
    assert table.devices == ("board",) and len(table) == 2
    column = dict(zip(table.archs, table.column("board"), strict=True))
    assert column == {archs[0]: 2.0, archs[1]: 4.0}  # the median of the repeated arch
    assert table.device_info["board"] == {"source": "fewlat store", "runtime": "onnx"}
    (measurements, _devices) = sent
    assert "p10_ms" not in measurements and "sha256" not in measurements

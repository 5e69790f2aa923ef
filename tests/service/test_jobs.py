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
        stub.StartMetaTrain(pb.StartMetaTrainRequest(cv_folds=4))
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cv_folds" in info.value.details()


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

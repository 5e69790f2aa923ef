"""``fewlat serve`` in its own process, killed with SIGKILL right after an acknowledged write."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from fewlat.service import Server
from fewlat.service.store import Store
from fewlat.v1 import fewlat_pb2 as pb
from tests.service.conftest import calibrate, settings_for, stub_for


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_serving(address: str, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    health = health_pb2_grpc.HealthStub(grpc.insecure_channel(address))
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read().decode()
        try:
            status = health.Check(health_pb2.HealthCheckRequest(), timeout=1).status
            if status == health_pb2.HealthCheckResponse.SERVING:
                return
        except grpc.RpcError:
            time.sleep(0.2)
    raise AssertionError("fewlat serve did not come up")


def test_acknowledged_calibration_survives_sigkill(tmp_path) -> None:
    address = f"127.0.0.1:{_free_port()}"
    db = f"sqlite:///{tmp_path / 'fewlat.db'}"
    process = subprocess.Popen(
        [sys.executable, "-m", "fewlat.service.cli", "serve", "--address", address, "--db", db],
        stderr=subprocess.PIPE,
    )
    try:
        _wait_serving(address, process)
        stub = stub_for(address)
        report = calibrate(stub, "board", request_id="kill-1")
        extra = stub.SubmitMeasurements(
            pb.SubmitMeasurementsRequest(
                device="board",
                measurements=[pb.Measurement(sha256="cd" * 32, timing=pb.Timing(latency_ms=2.5))],
            )
        )
        os.kill(process.pid, signal.SIGKILL)  # right after the acknowledgement
    finally:
        process.kill()
        process.wait()
    assert report.stored == 5 and extra.stored == 1
    with Store(db) as store:
        rows = store.measurements(device="board")
        assert [r.position for r in rows if r.kind == "calibration"] == [0, 1, 2, 3, 4]
        assert [r.latency_ms for r in rows if r.kind == "extra"] == [2.5]
    with Server(settings_for(tmp_path)) as server:  # and the restarted server answers
        again = calibrate(stub_for(server.address), "board", request_id="kill-1")
        assert again.stored == 0 and again.suite_version == report.suite_version
        assert server.store.count_measurements("board") == 6


def _descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (Linux /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads the process tree from /proc")
def test_served_batches_use_encoder_workers_that_stop_with_the_server(tmp_path) -> None:
    import numpy as np

    from fewlat.spaces import get_space

    nb201 = get_space("nb201")
    models = [nb201.to_onnx(a) for a in nb201.sample(np.random.default_rng(4), 12)]
    address = f"127.0.0.1:{_free_port()}"
    db = f"sqlite:///{tmp_path / 'fewlat.db'}"
    command = [sys.executable, "-m", "fewlat.service.cli", "serve", "--address", address]
    process = subprocess.Popen(
        [*command, "--db", db, "--encode-workers", "2"], stderr=subprocess.PIPE
    )
    try:
        _wait_serving(address, process)
        stub = stub_for(address)
        calibrate(stub, "board")
        answers = list(
            stub.PredictBatch(iter([pb.PredictBatchRequest(device="board", models=models)]))
        )
        workers = _descendants(process.pid)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        process.wait()
    assert len(workers) >= 2  # the encoder workers (and the forkserver that made them)
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers), "encoder workers outlived the server"
    with Server(settings_for(tmp_path, encode_workers=0)) as server:  # in-process encoding
        expected = list(
            stub_for(server.address).PredictBatch(
                iter([pb.PredictBatchRequest(device="board", models=models)])
            )
        )
    got = [p.latency_ms for a in answers for p in a.predictions]
    want = [p.latency_ms for a in expected for p in a.predictions]
    assert len(got) == 12 and np.allclose(got, want, rtol=1e-5)

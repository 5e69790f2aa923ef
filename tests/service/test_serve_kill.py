"""``fewlat serve`` in its own process, killed with SIGKILL right after an acknowledged write."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import grpc
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

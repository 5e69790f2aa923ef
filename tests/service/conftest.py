"""Layered fixtures: settings → server on a real localhost port → stub over a real channel."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest

from fewlat.service import Server, Settings
from fewlat.v1 import fewlat_pb2 as pb
from fewlat.v1 import fewlat_pb2_grpc as pb_grpc
from tests.service.postgres import PostgresCluster, postgres_cluster

#: timings (ms) of the first 5 nb201 suite entries used by the server tests
TIMINGS_MS = (9.0, 4.0, 6.0, 5.0, 7.0)


def settings_for(tmp_path: Path, **overrides: object) -> Settings:
    """Settings of a server on a free localhost port with its own SQLite file."""
    overrides.setdefault("db", f"sqlite:///{tmp_path / 'fewlat.db'}")
    # in-process encoding: worker processes would cost each test server seconds to start;
    # tests that are about the workers ask for them
    overrides.setdefault("encode_workers", 0)
    return Settings(address="127.0.0.1:0", **overrides)


def stub_for(address: str, token: str | None = None) -> pb_grpc.FewlatStub:
    channel = grpc.insecure_channel(
        address, options=[("grpc.max_receive_message_length", 64 * 2**20)]
    )
    stub = pb_grpc.FewlatStub(channel)
    if token is None:
        return stub

    class Authed:  # every call carries the bearer token
        def __getattr__(self, name: str) -> Callable:
            method = getattr(stub, name)
            return lambda request, **kw: method(
                request, metadata=[("authorization", f"Bearer {token}")], **kw
            )

    return Authed()  # type: ignore[return-value]


def calibrate(
    stub: pb_grpc.FewlatStub,
    device: str,
    timings_ms=TIMINGS_MS,
    request_id: str = "",
    space: str = "nb201",
) -> pb.CalibrationReport:
    """Register ``device`` and submit ``timings_ms`` for the first suite entries."""
    stub.RegisterDevice(pb.RegisterDeviceRequest(name=device))
    parts = list(
        stub.GetCalibrationSuite(
            pb.GetCalibrationSuiteRequest(space=space, shots=len(timings_ms), without_onnx=True)
        )
    )
    return stub.SubmitCalibration(
        pb.SubmitCalibrationRequest(
            device=device,
            suite_version=parts[0].version,
            request_id=request_id,
            measurements=[
                pb.SuiteMeasurement(
                    position=p.entries[0].position,
                    sha256=p.entries[0].sha256,
                    timing=pb.Timing(latency_ms=ms, repeats=10),
                )
                for p, ms in zip(parts, timings_ms, strict=True)
            ],
        )
    )


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    """A private PostgreSQL server for the session; tests that need it skip without one."""
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each backend: a SQLite file, or a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fewlat.db'}"
    return request.getfixturevalue("postgres").new_database()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A server with auth off on a fresh SQLite file."""
    with Server(settings_for(tmp_path)) as running:
        yield running


@pytest.fixture
def stub(server: Server) -> pb_grpc.FewlatStub:
    return stub_for(server.address)

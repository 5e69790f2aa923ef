"""``AsyncClient`` against a real ``fewlat.service.Server`` over localhost: the same answers
and errors as the sync ``Client``, and many calls in flight on one event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from fewlat.clients import AsyncClient, Client
from fewlat.clients.runners import Measurement, TableRunner
from fewlat.exceptions import (
    AuthenticationError,
    InvalidParameterError,
    NotCalibratedError,
    ServiceUnavailableError,
    UnknownDeviceError,
)
from fewlat.meta.tables import read_table
from fewlat.service import Server, Settings, add_token
from fewlat.spaces import get_space
from tests.conftest import MEASURED

NB201 = get_space("nb201")
TABLE_DEVICE = read_table(MEASURED, "nb201").devices[0]
BOARD = "async-board"
ARCHS = NB201.sample(np.random.default_rng(3), 24)


def _settings(folder: Path, **extra) -> Settings:
    return Settings(
        address="127.0.0.1:0", db=f"sqlite:///{folder}/fewlat.db", encode_workers=0, **extra
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(_settings(tmp_path_factory.mktemp("aserver"))) as running:
        yield running


@pytest.fixture(autouse=True)
def _no_ambient_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEWLAT_TOKEN", raising=False)


def test_calibrate_then_predict_like_the_sync_client(server: Server) -> None:
    models = [NB201.to_onnx(a) for a in ARCHS[:4]]

    async def session():
        async with AsyncClient(server.address, timeout_s=120) as client:
            report = await client.calibrate(
                BOARD, runner=TableRunner(MEASURED, TABLE_DEVICE), space="nb201", shots=3
            )
            one = await client.predict(BOARD, space="nb201", arch=ARCHS[0])
            by_bytes = await client.predict(BOARD, models[0])
            many = await client.predict_many(BOARD, models, space="nb201", archs=ARCHS, chunk=5)
            gathered = await asyncio.gather(
                *(client.predict(BOARD, space="nb201", arch=a) for a in ARCHS)
            )
            return report, one, by_bytes, many, gathered, await client.devices()

    report, one, by_bytes, many, gathered, devices = asyncio.run(session())
    assert report.device == BOARD and report.shots == 3 and report.stored == 3
    assert [d.name for d in devices] == [BOARD] and devices[0].status == "calibrated"
    with Client(server.address, timeout_s=120) as sync:
        expected = [
            sync.predict(BOARD, space="nb201", arch=ARCHS[0]),
            sync.predict(BOARD, models[0]),
            *sync.predict_many(BOARD, models, space="nb201", archs=ARCHS),
        ]
    assert len(many) == len(models) + len(ARCHS)
    # float32 forward passes over differently composed batches agree to ~1e-6
    for got, want in zip([one, by_bytes, *many], expected, strict=True):
        assert (got.suite, got.suite_version, got.checkpoint_version) == (
            want.suite,
            want.suite_version,
            want.checkpoint_version,
        )
        assert (got.latency_ms, got.low_ms, got.high_ms) == pytest.approx(
            (want.latency_ms, want.low_ms, want.high_ms), rel=1e-5
        )
    assert [r.latency_ms for r in gathered] == pytest.approx(
        [r.latency_ms for r in many[4:]], rel=1e-5
    )
    assert one.low_ms < one.latency_ms < one.high_ms and one.suite == "nb201"


def test_errors_are_the_fewlat_exceptions(server: Server) -> None:
    async def failures() -> list[BaseException]:
        async with AsyncClient(server.address) as client:
            await client.register("registered-only")
            calls = [
                client.device("no-such-board"),
                client.predict("registered-only", space="nb201", arch=ARCHS[0]),
                client.suite("nb201", shots=-1),
                client.predict_many("x", archs=ARCHS),  # archs without a space
            ]
            return await asyncio.gather(*calls, return_exceptions=True)

    unknown, uncalibrated, bad_shots, no_space = asyncio.run(failures())
    assert isinstance(unknown, UnknownDeviceError) and "no-such-board" in str(unknown)
    assert isinstance(uncalibrated, NotCalibratedError)
    assert isinstance(bad_shots, InvalidParameterError) and "'shots'" in str(bad_shots)
    assert isinstance(no_space, InvalidParameterError) and "'space'" in str(no_space)


def test_submit_measurements_stores_once_per_request_id(server: Server) -> None:
    m = Measurement(2.0, 1.5, 2.5, 2.0, 0.1, 20, settings={"runtime": "x"})

    async def submit() -> tuple[int, int]:
        async with AsyncClient(server.address) as client:
            await client.register("extra-board")
            rows = [("nb201", ARCHS[0], m), (NB201.to_onnx(ARCHS[1]), m)]
            first = await client.submit_measurements("extra-board", rows, request_id="r1")
            again = await client.submit_measurements("extra-board", rows, request_id="r1")
            return first, again

    assert asyncio.run(submit()) == (2, 0)


def test_unreachable_server_and_missing_token(tmp_path: Path) -> None:
    token_file = tmp_path / "tokens"
    add_token(token_file, "ann")

    async def attempt(address: str) -> BaseException:
        async with AsyncClient(address, timeout_s=5) as client:
            try:
                await client.devices()
            except Exception as err:
                return err
        raise AssertionError("the call should have failed")

    with Server(_settings(tmp_path, auth_token_file=token_file)) as secured:
        missing = asyncio.run(attempt(secured.address))
    assert isinstance(missing, AuthenticationError) and "FEWLAT_TOKEN" in str(missing)
    unreachable = asyncio.run(attempt(secured.address))  # the server has stopped
    assert isinstance(unreachable, ServiceUnavailableError)
    assert "fewlat serve" in str(unreachable)

"""The committed generated code matches what ``proto/generate.py`` writes today."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.conftest import REPO

GENERATED = ("fewlat_pb2.py", "fewlat_pb2.pyi", "fewlat_pb2_grpc.py")


def _load_generator():
    spec = importlib.util.spec_from_file_location("generate", REPO / "proto" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", GENERATED)
def test_committed_code_is_fresh(tmp_path: Path, name: str) -> None:
    pytest.importorskip("grpc_tools")
    _load_generator().generate(tmp_path)
    fresh = (tmp_path / "fewlat" / "v1" / name).read_text()
    committed = (REPO / "proto" / "fewlat" / "v1" / name).read_text()
    assert committed == fresh, f"{name} is stale: run `python proto/generate.py`"


def test_service_lists_every_rpc() -> None:
    from fewlat.v1 import fewlat_pb2

    methods = {m.name for m in fewlat_pb2.DESCRIPTOR.services_by_name["Fewlat"].methods}
    assert methods == {
        "RegisterDevice",
        "GetCalibrationSuite",
        "SubmitCalibration",
        "Predict",
        "PredictBatch",
        "SubmitMeasurements",
        "ListDevices",
        "GetDevice",
        "StartMetaTrain",
        "GetJob",
    }

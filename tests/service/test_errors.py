"""Every status code of the error table, with its details, over a real channel; auth on."""

from __future__ import annotations

import math

import grpc
import pytest

from fewlat.service import Server, add_token
from fewlat.spaces import get_space
from fewlat.v1 import fewlat_pb2 as pb
from tests.service.conftest import calibrate, settings_for, stub_for

ARCH = get_space("nb201").supernet()


def _fails(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def _predict(stub, device: str, **model) -> pb.Prediction:
    return stub.Predict(pb.PredictRequest(device=device, **model))


def test_invalid_argument_bad_onnx_bad_arch_bad_timings(stub) -> None:
    calibrate(stub, "board")
    code, details = _fails(lambda: _predict(stub, "board", model_bytes=b"not onnx"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "ONNX" in details
    code, details = _fails(
        lambda: _predict(stub, "board", arch=pb.ArchRef(space="nb201", arch="|bogus~0|"))
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "bogus" in details
    for bad in (0.0, -1.0, math.nan, math.inf):
        code, details = _fails(lambda bad=bad: calibrate(stub, "board", (bad, 4.0, 5.0)))
        assert code == grpc.StatusCode.INVALID_ARGUMENT
        assert "position 0" in details and "finite and > 0" in details
    code, details = _fails(lambda: _predict(stub, "board"))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "models" in details


def test_not_found_unknown_device(stub) -> None:
    code, details = _fails(
        lambda: _predict(stub, "ghost", arch=pb.ArchRef(space="nb201", arch=ARCH))
    )
    assert code == grpc.StatusCode.NOT_FOUND
    assert "'ghost' is not registered" in details and "fewlat-client calibrate" in details
    code, _ = _fails(lambda: stub.GetDevice(pb.GetDeviceRequest(name="ghost")))
    assert code == grpc.StatusCode.NOT_FOUND
    code, _ = _fails(lambda: stub.GetJob(pb.GetJobRequest(id="no-such-job")))
    assert code == grpc.StatusCode.NOT_FOUND


def test_failed_precondition_not_calibrated_and_suite_mismatch(stub, server) -> None:
    stub.RegisterDevice(pb.RegisterDeviceRequest(name="fresh"))
    code, details = _fails(
        lambda: _predict(stub, "fresh", arch=pb.ArchRef(space="nb201", arch=ARCH))
    )
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "not calibrated yet" in details and "--device fresh" in details
    request = pb.SubmitCalibrationRequest(
        device="fresh",
        suite_version="nb201-000000000000",
        measurements=[pb.SuiteMeasurement(position=0, timing=pb.Timing(latency_ms=5.0))],
    )
    code, details = _fails(lambda: stub.SubmitCalibration(request))
    assert code == grpc.StatusCode.FAILED_PRECONDITION
    assert "nb201-000000000000" in details and "GetCalibrationSuite" in details
    version = server.plane.suite("nb201").version
    wrong_model = pb.SubmitCalibrationRequest(
        device="fresh",
        suite_version=version,
        measurements=[
            pb.SuiteMeasurement(position=0, sha256="ab" * 32, timing=pb.Timing(latency_ms=5.0))
        ],
    )
    code, details = _fails(lambda: stub.SubmitCalibration(wrong_model))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "position 0" in details
    assert server.store.count_measurements("fresh") == 0  # nothing stored on refusal


def test_resource_exhausted_over_the_size_limit(tmp_path) -> None:
    with Server(settings_for(tmp_path, max_model_bytes=4096)) as server:
        stub = stub_for(server.address)
        calibrate(stub, "board")
        model = get_space("nb201").to_onnx(ARCH, with_weights=True)
        code, details = _fails(lambda: _predict(stub, "board", model_bytes=model))
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "4,096 bytes" in details


def test_auth_tokens_and_device_ownership(tmp_path) -> None:
    tokens = tmp_path / "tokens"
    alice, bob = add_token(tokens, "alice"), add_token(tokens, "bob")
    assert alice not in tokens.read_text()  # only hashes are stored
    with Server(settings_for(tmp_path, auth_token_file=tokens)) as server:
        anonymous = stub_for(server.address)
        code, details = _fails(lambda: anonymous.ListDevices(pb.ListDevicesRequest()))
        assert code == grpc.StatusCode.UNAUTHENTICATED and "FEWLAT_TOKEN" in details
        code, details = _fails(
            lambda: stub_for(server.address, "wrong").ListDevices(pb.ListDevicesRequest())
        )
        assert code == grpc.StatusCode.UNAUTHENTICATED and "not known" in details
        calibrate(stub_for(server.address, alice), "alices-board")
        as_bob = stub_for(server.address, bob)
        answer = _predict(as_bob, "alices-board", arch=pb.ArchRef(space="nb201", arch=ARCH))
        assert answer.latency_ms > 0  # others may predict ...
        code, details = _fails(lambda: calibrate(as_bob, "alices-board"))
        assert code == grpc.StatusCode.PERMISSION_DENIED  # ... but not recalibrate
        assert "belongs to another token" in details
        extra = pb.SubmitMeasurementsRequest(
            device="alices-board",
            measurements=[pb.Measurement(space="nb201", arch=ARCH, timing=pb.Timing(latency_ms=1))],
        )
        code, _ = _fails(lambda: as_bob.SubmitMeasurements(extra))
        assert code == grpc.StatusCode.PERMISSION_DENIED
        assert server.store.get_device("alices-board").owner == "alice"

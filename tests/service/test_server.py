"""The gRPC API end to end over a real localhost channel, with a real SQLite store
(and a real PostgreSQL one where the machine has PostgreSQL)."""

from __future__ import annotations

import hashlib
import math
import threading

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from fewlat.service import SERVICE_NAME, Server
from fewlat.spaces import get_space
from fewlat.v1 import fewlat_pb2 as pb
from tests.service.conftest import TIMINGS_MS, calibrate, settings_for, stub_for

ARCHS = get_space("nb201").sample(__import__("numpy").random.default_rng(7), 40)


def _assert_same_prediction(a: pb.Prediction, b: pb.Prediction) -> None:
    """Equal but for float32 rounding: a model scored alone or among others in one forward
    pass (the colours a batch holds set the summation order) differs by ~1e-7 relative."""
    assert (a.suite, a.suite_version, a.checkpoint_version) == (
        b.suite,
        b.suite_version,
        b.checkpoint_version,
    )
    for field in ("latency_ms", "low_ms", "high_ms"):
        assert math.isclose(getattr(a, field), getattr(b, field), rel_tol=1e-6), field


def _code(call) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def test_health_and_reflection(server: Server) -> None:
    channel = grpc.insecure_channel(server.address)
    health = health_pb2_grpc.HealthStub(channel)
    for name in ("", SERVICE_NAME):
        status = health.Check(health_pb2.HealthCheckRequest(service=name)).status
        assert status == health_pb2.HealthCheckResponse.SERVING
    reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
    answers = reflection.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {s.name for a in answers for s in a.list_services_response.service}
    assert {SERVICE_NAME, "grpc.health.v1.Health"} <= names


def test_register_is_idempotent(stub) -> None:
    first = stub.RegisterDevice(pb.RegisterDeviceRequest(name="pi5", description="Raspberry Pi 5"))
    again = stub.RegisterDevice(pb.RegisterDeviceRequest(name="pi5", description="other"))
    assert again.description == "Raspberry Pi 5" and again.registered_at_s == first.registered_at_s
    assert first.status == "registered"
    assert [d.name for d in stub.ListDevices(pb.ListDevicesRequest()).devices] == ["pi5"]


def test_suite_streams_one_entry_per_message_with_matching_hashes(stub) -> None:
    parts = list(stub.GetCalibrationSuite(pb.GetCalibrationSuiteRequest(space="nb201", shots=3)))
    assert [p.entries[0].position for p in parts] == [0, 1, 2]
    assert len({p.version for p in parts}) == 1 and parts[0].size == 10
    for part in parts:
        entry = part.entries[0]
        assert hashlib.sha256(entry.onnx_bytes).hexdigest() == entry.sha256
    supernet = get_space("nb201").supernet()
    assert parts[0].entries[0].arch == supernet


def test_calibrate_predict_restart_same_answer_without_readapting(tmp_path, store_url) -> None:
    arch = pb.ArchRef(space="nb201", arch=ARCHS[0])
    model = get_space("nb201").to_onnx(ARCHS[1])
    with Server(settings_for(tmp_path, db=store_url)) as server:
        stub = stub_for(server.address)
        report = calibrate(stub, "board")
        assert report.shots == 5 and report.stored == 5
        assert len(report.loo_errors) == 4 and report.loo_error > 0
        assert math.isclose(report.descriptor.anchor_ms, TIMINGS_MS[0])
        by_arch = stub.Predict(pb.PredictRequest(device="board", arch=arch))
        by_bytes = stub.Predict(pb.PredictRequest(device="board", model_bytes=model))
        assert by_arch.low_ms < by_arch.latency_ms < by_arch.high_ms
        assert by_arch.suite == "nb201" and by_arch.suite_version == report.suite_version
        device = stub.GetDevice(pb.GetDeviceRequest(name="board"))
        assert device.status == "calibrated" and dict(device.shots) == {"nb201": 5}
    with Server(settings_for(tmp_path, db=store_url)) as server:
        stub = stub_for(server.address)
        _assert_same_prediction(stub.Predict(pb.PredictRequest(device="board", arch=arch)), by_arch)
        _assert_same_prediction(
            stub.Predict(pb.PredictRequest(device="board", model_bytes=model)), by_bytes
        )
        (record,) = server.store.calibrations("board")
        assert record.calibrated_at_s == device.calibrated_at_s  # restored, not re-adapted


def test_a_changed_checkpoint_readapts_from_stored_timings(tmp_path) -> None:
    import json
    import shutil

    from fewlat.meta.predictor import DEFAULT_CHECKPOINT

    request = pb.PredictRequest(device="board", arch=pb.ArchRef(space="nb201", arch=ARCHS[0]))
    with Server(settings_for(tmp_path)) as server:
        calibrate(stub_for(server.address), "board")
        before = stub_for(server.address).Predict(request)
    changed = tmp_path / "ckpt"
    shutil.copytree(DEFAULT_CHECKPOINT, changed)
    config = json.loads((changed / "config.json").read_text())
    config["intervals"]["scale"] = [3 * s for s in config["intervals"]["scale"]]
    (changed / "config.json").write_text(json.dumps(config))  # same network, wider intervals
    with Server(settings_for(tmp_path, checkpoint=changed)) as server:
        answer = stub_for(server.address).Predict(request)
        assert answer.checkpoint_version == server.host.version
        assert math.isclose(answer.latency_ms, before.latency_ms, rel_tol=1e-5)
        assert math.isclose(
            math.log(answer.high_ms / answer.latency_ms),
            3 * math.log(before.high_ms / before.latency_ms),
            rel_tol=1e-4,
        )
        (record,) = server.store.calibrations("board")
        assert record.checkpoint_version == server.host.version


def test_predict_batch_stream_answers_in_order_and_matches_predict(stub) -> None:
    calibrate(stub, "board")
    models = [get_space("nb201").to_onnx(a) for a in ARCHS[:3]]
    requests = [
        pb.PredictBatchRequest(device="board", space="nb201", archs=ARCHS[:20]),
        pb.PredictBatchRequest(models=models, space="nb201", archs=ARCHS[20:]),
    ]
    answers = list(stub.PredictBatch(iter(requests)))
    assert [len(a.predictions) for a in answers] == [20, 23]
    single = stub.Predict(
        pb.PredictRequest(device="board", arch=pb.ArchRef(space="nb201", arch=ARCHS[20]))
    )
    _assert_same_prediction(answers[1].predictions[3], single)
    by_bytes = stub.Predict(pb.PredictRequest(device="board", model_bytes=models[0]))
    _assert_same_prediction(answers[1].predictions[0], by_bytes)
    assert math.isclose(by_bytes.latency_ms, answers[0].predictions[0].latency_ms, rel_tol=1e-6)


def test_concurrent_clients_get_the_sequential_answers(stub, server) -> None:
    calibrate(stub, "board")
    expected = [
        stub.Predict(pb.PredictRequest(device="board", arch=pb.ArchRef(space="nb201", arch=a)))
        for a in ARCHS
    ]
    got: dict[int, pb.Prediction] = {}
    errors: list[BaseException] = []

    def worker(offset: int) -> None:
        own = stub_for(server.address)
        try:
            for i in range(offset, len(ARCHS), 8):
                got[i] = own.Predict(
                    pb.PredictRequest(device="board", arch=pb.ArchRef(space="nb201", arch=ARCHS[i]))
                )
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    # combined batches run other float32 sums than one-by-one calls: equal to ~1e-6
    assert [got[i].latency_ms for i in range(len(ARCHS))] == pytest.approx(
        [e.latency_ms for e in expected], rel=1e-5
    )
    assert {got[i].suite_version for i in got} == {expected[0].suite_version}


def test_resubmitting_a_request_id_stores_nothing_twice(stub, server) -> None:
    first = calibrate(stub, "board", request_id="req-1")
    again = calibrate(stub, "board", request_id="req-1")
    assert first.stored == 5 and again.stored == 0
    assert again.loo_error == first.loo_error and again.suite_version == first.suite_version
    assert server.store.count_measurements("board") == 5
    extra = pb.SubmitMeasurementsRequest(
        device="board",
        request_id="m-1",
        measurements=[
            pb.Measurement(space="nb201", arch=a, timing=pb.Timing(latency_ms=3.0))
            for a in ARCHS[:4]
        ],
    )
    assert stub.SubmitMeasurements(extra).stored == 4
    assert stub.SubmitMeasurements(extra).stored == 0
    assert server.store.count_measurements("board") == 9


def test_one_batch_keeps_each_request_in_order_and_widens_answers_outside_their_space(
    stub, server
) -> None:
    """Requests served together are answered models first, then archs, each model by the
    suite of the space it is recognised as; archs of a space the device has no suite for,
    and models of no recognised space, get the wider interval of models outside the
    answering suite's space."""
    from fewlat.service.handlers._combine import Pending
    from fewlat.service.handlers._predictors import PredictQuery

    calibrate(stub, "board")  # nb201, 5 shots: the default suite
    calibrate(stub, "board", timings_ms=(1.0, 0.8, 0.9), space="fbnet")
    fbnet, ofa = get_space("fbnet"), get_space("ofa_mbv3")
    fb_archs = fbnet.sample(__import__("numpy").random.default_rng(3), 2)
    ofa_archs = ofa.sample(__import__("numpy").random.default_rng(3), 2)
    nb201_models = [get_space("nb201").to_onnx(a) for a in ARCHS[:2]]
    models = [nb201_models[0], fbnet.to_onnx(fb_archs[0]), nb201_models[1]]
    queries = [
        PredictQuery("board", space="fbnet", archs=fb_archs),  # makes the fbnet group first
        PredictQuery("board", models=models, space="fbnet", archs=fb_archs),
        PredictQuery("board", space="ofa", archs=ofa_archs),  # an alias, not calibrated
    ]
    batch = [Pending(q) for q in queries]
    server.host._serve(batch)
    first, mixed, outside = (p.outcome() for p in batch)
    assert mixed.suites == ["nb201", "fbnet", "nb201", "fbnet", "fbnet"]
    assert mixed.spaces == ["nb201", "fbnet", "nb201", "fbnet", "fbnet"]
    assert outside.spaces == ["ofa_mbv3", "ofa_mbv3"]  # asked as "ofa", named as registered
    assert list(mixed.latency_ms[3:]) == pytest.approx(list(first.latency_ms), rel=1e-6)
    # the fbnet model's bytes get what its arch string gets: suite, answer and interval
    assert mixed.latency_ms[1] == pytest.approx(first.latency_ms[0], rel=1e-5)
    assert mixed.high_ms[1] == pytest.approx(first.high_ms[0], rel=1e-5)
    alone = server.host.device("board").predict_models(nb201_models)
    assert list(mixed.latency_ms[[0, 2]]) == pytest.approx(list(alone.latency_ms), rel=1e-5)
    assert outside.suites == ["nb201", "nb201"]
    width = server.host.meta.intervals_.outside_half_width()
    assert list(outside.high_ms / outside.latency_ms) == pytest.approx([math.exp(width)] * 2)
    assert width > 0
    # over the wire: an arch of a space without a suite says which suite answered
    answer = stub.Predict(
        pb.PredictRequest(device="board", arch=pb.ArchRef(space="ofa_mbv3", arch=ofa_archs[0]))
    )
    assert (answer.suite, answer.space) == ("nb201", "ofa_mbv3")
    assert math.log(answer.high_ms / answer.latency_ms) == pytest.approx(width, rel=1e-6)
    # and bytes of no recognised space (a zoo model) are answered the same way
    zoo = get_space("zoo")
    answer = stub.Predict(
        pb.PredictRequest(device="board", model_bytes=zoo.to_onnx("squeezenet:w=0.5:r=160"))
    )
    assert (answer.suite, answer.space) == ("nb201", "")
    assert math.log(answer.high_ms / answer.latency_ms) == pytest.approx(width, rel=1e-6)

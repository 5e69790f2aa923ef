"""The SDK and the server-facing CLI commands with no fewlat server: an unreachable
address, argument checks, and a scripted stand-in servicer over a real channel."""

from __future__ import annotations

import hashlib
import json
import socket
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from typer.testing import CliRunner

import fewlat.clients
from fewlat.clients import Client, PredictionResult
from fewlat.clients.cli import app
from fewlat.clients.runners import Measurement, MockRunner
from fewlat.exceptions import (
    AuthenticationError,
    InvalidParameterError,
    ServiceUnavailableError,
    SuiteMismatchError,
    UnknownDeviceError,
)
from fewlat.spaces import get_space
from fewlat.v1 import fewlat_pb2 as pb
from fewlat.v1 import fewlat_pb2_grpc as pb_grpc
from tests.clients.conftest import FAST, SMALL

cli = CliRunner()
NB201 = get_space("nb201")
SUITE_ARCHS = (NB201.supernet(), SMALL, "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


@pytest.fixture(autouse=True)
def _no_ambient_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FEWLAT_TOKEN", raising=False)


# -- a scripted stand-in for the server ----------------------------------------------------


class Scripted(pb_grpc.FewlatServicer):
    """Answers from fixed rules and records each call's request and bearer token."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, object, str | None]] = []
        self.required_token: str | None = None
        self.corrupt_suite = False
        self.models = {a: NB201.to_onnx(a, with_weights=True) for a in SUITE_ARCHS}

    def _seen(self, name: str, request, context) -> None:
        auth = dict(context.invocation_metadata()).get("authorization")
        self.calls.append((name, request, auth))
        if self.required_token and auth != f"Bearer {self.required_token}":
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "no valid bearer token")

    def RegisterDevice(self, request, context):
        self._seen("RegisterDevice", request, context)
        return pb.Device(name=request.name, description=request.description, status="registered")

    def GetDevice(self, request, context):
        self._seen("GetDevice", request, context)
        if request.name == "ghost":
            context.abort(grpc.StatusCode.NOT_FOUND, "No device 'ghost'; register it first.")
        return pb.Device(name=request.name, status="calibrated", shots={"nb201": 3})

    def GetCalibrationSuite(self, request, context):
        self._seen("GetCalibrationSuite", request, context)
        count = request.shots or len(SUITE_ARCHS)
        if count > len(SUITE_ARCHS):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "shots over the suite size")
        for position, arch in enumerate(SUITE_ARCHS[:count]):
            data = self.models[arch]
            digest = hashlib.sha256(b"other" if self.corrupt_suite else data).hexdigest()
            entry = pb.SuiteEntry(position=position, arch=arch, sha256=digest, onnx_bytes=data)
            yield pb.CalibrationSuite(
                space="nb201", version="nb201-test", entries=[entry], size=len(SUITE_ARCHS)
            )

    def SubmitCalibration(self, request, context):
        self._seen("SubmitCalibration", request, context)
        anchor = request.measurements[0].timing.latency_ms
        return pb.CalibrationReport(
            device=request.device,
            suite_version=request.suite_version,
            checkpoint_version="ckpt-test",
            shots=len(request.measurements),
            loo_error=0.125,
            descriptor=pb.DescriptorSummary(anchor_ms=anchor, shots=len(request.measurements)),
            stored=len(request.measurements),
        )

    @staticmethod
    def _answer(value: float) -> pb.Prediction:
        return pb.Prediction(
            latency_ms=value,
            low_ms=0.5 * value,
            high_ms=2 * value,
            suite="nb201",
            suite_version="v",
        )

    def Predict(self, request, context):
        self._seen("Predict", request, context)
        if request.WhichOneof("model") == "model_bytes":
            return self._answer(len(request.model_bytes))
        return self._answer(len(request.arch.arch))

    def PredictBatch(self, request_iterator, context):
        for request in request_iterator:
            self._seen("PredictBatch", request, context)
            values = [len(m) for m in request.models] + [len(a) for a in request.archs]
            yield pb.PredictBatchResponse(predictions=[self._answer(v) for v in values])

    def SubmitMeasurements(self, request, context):
        self._seen("SubmitMeasurements", request, context)
        return pb.SubmitMeasurementsResponse(stored=len(request.measurements))

    def StartMetaTrain(self, request, context):
        self._seen("StartMetaTrain", request, context)
        context.abort(grpc.StatusCode.INTERNAL, "boom")

    def GetJob(self, request, context):
        self._seen("GetJob", request, context)
        return pb.Job(id=request.id, state="succeeded", progress=1.0, promoted=True)


@pytest.fixture(scope="module")
def scripted_server() -> Iterator[tuple[str, Scripted]]:
    servicer = Scripted()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    pb_grpc.add_FewlatServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    yield f"127.0.0.1:{port}", servicer
    server.stop(0).wait()


@pytest.fixture
def scripted(scripted_server) -> Iterator[tuple[str, Scripted]]:
    """The stand-in with its call log and switches reset."""
    address, servicer = scripted_server
    servicer.calls.clear()
    servicer.required_token, servicer.corrupt_suite = None, False
    yield address, servicer


# -- package surface -----------------------------------------------------------------------


def test_public_names() -> None:
    for name in (
        "Client",
        "DeviceInfo",
        "SuiteInfo",
        "SuiteModel",
        "CalibrationReport",
        "PredictionResult",
        "JobInfo",
    ):
        assert name in fewlat.clients.__all__


def test_results_are_frozen() -> None:
    result = PredictionResult(1.0, 0.5, 2.0, "nb201")
    with pytest.raises(AttributeError):
        result.latency_ms = 3.0  # type: ignore[misc]


# -- no server at all ----------------------------------------------------------------------


def test_unreachable_server_raises_service_unavailable_with_the_hint() -> None:
    address = f"127.0.0.1:{_free_port()}"
    with Client(address, timeout_s=5) as client, pytest.raises(ServiceUnavailableError) as err:
        client.devices()
    message = str(err.value)
    assert message.startswith(f"cannot reach the fewlat server at {address}: ")
    assert "Is `fewlat serve` running there? Pass --server HOST:PORT otherwise." in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_unreachable_server_on_a_stream() -> None:
    with Client(f"127.0.0.1:{_free_port()}", timeout_s=5) as client:
        with pytest.raises(ServiceUnavailableError):
            client.suite("nb201")
        with pytest.raises(ServiceUnavailableError):
            client.predict_many("d", space="nb201", archs=[SMALL])


@pytest.mark.parametrize(
    "argv",
    [
        ["predict", "{model}", "--device", "d"],
        ["score", "--device", "d", "--space", "nb201", "--archs", "{archs}"],
        ["calibrate", "--device", "d", "--runner", "mock", "--shots", "2"],
    ],
    ids=["predict", "score", "calibrate"],
)
def test_cli_unreachable_server_is_one_line(tmp_path: Path, argv: list[str]) -> None:
    model = tmp_path / "m.onnx"
    model.write_bytes(NB201.to_onnx(SMALL))
    archs = tmp_path / "archs.txt"
    archs.write_text(SMALL + "\n")
    address = f"127.0.0.1:{_free_port()}"
    args = [a.format(model=model, archs=archs) for a in argv] + ["--server", address]
    line = _one_line_error(cli.invoke(app, args))
    assert f"cannot reach the fewlat server at {address}" in line
    assert "Pass --server HOST:PORT otherwise." in line


# -- argument checks before any call -------------------------------------------------------


def test_client_rejects_bad_settings() -> None:
    with pytest.raises(InvalidParameterError, match="'timeout_s'"):
        Client(timeout_s=0)
    with pytest.raises(InvalidParameterError, match="'max_message_bytes'"):
        Client(max_message_bytes=10)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"model_bytes": b"x", "space": "nb201", "arch": SMALL},
        {"model_bytes": b"x", "arch": SMALL},
        {},
        {"space": "nb201"},
        {"arch": SMALL},
    ],
)
def test_predict_needs_exactly_bytes_or_an_arch(kwargs) -> None:
    never_called = Client(f"127.0.0.1:{_free_port()}")
    with never_called, pytest.raises(InvalidParameterError, match=r"'model' parameter of Client\."):
        never_called.predict("d", **kwargs)


def test_predict_many_checks_its_arguments() -> None:
    with Client(f"127.0.0.1:{_free_port()}") as client:
        with pytest.raises(InvalidParameterError, match="'chunk'"):
            client.predict_many("d", [b"x"], chunk=0)
        with pytest.raises(InvalidParameterError, match="'space'"):
            client.predict_many("d", archs=[SMALL])
        assert client.predict_many("d") == []


@pytest.mark.parametrize("shots", [0, -1, 1.5, True])
def test_calibrate_rejects_shots_before_calling(shots) -> None:
    never_called = Client(f"127.0.0.1:{_free_port()}")
    with never_called, pytest.raises(InvalidParameterError, match=r"'shots' parameter of Client\."):
        never_called.calibrate("d", runner=MockRunner(method=FAST), shots=shots)


def test_calibrate_rejects_more_shots_than_the_suite(scripted) -> None:
    address, servicer = scripted
    with Client(address) as client, pytest.raises(InvalidParameterError):
        client.calibrate("d", runner=MockRunner(method=FAST), shots=len(SUITE_ARCHS) + 1)
    assert "SubmitCalibration" not in [name for name, _, _ in servicer.calls]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["predict", "{tmp}/missing.onnx", "--device", "d"], "missing.onnx does not exist"),
        (["score", "--device", "d", "{tmp}/missing.onnx"], "missing.onnx does not exist"),
        (["score", "--device", "d", "--space", "nb201", "--archs", "{tmp}/no.txt"], "no such"),
        (["score", "--device", "d", "--space", "fbnet", "--archs", "all"], "finite member list"),
        (["score", "--device", "d"], "give --space S --archs FILE|all"),
        (["score", "--device", "d", "--space", "nb201", "{tmp}/m.onnx"], "not both"),
        (["score", "--device", "d", "--archs", "all", "--out", "{tmp}/no/x.csv"], "give --space"),
        (
            ["score", "--device", "d", "--space", "nb201", "--archs", "all", "--out", "{tmp}/a/b"],
            "does not exist",
        ),
        (["calibrate", "--device", "d", "--shots", "0", "--runner", "mock"], "--shots"),
        (["calibrate", "--device", "d", "--runner", "table"], "--table ROOT --table-device D"),
        (["calibrate", "--device", "d", "--token-file", "{tmp}/none"], "none"),
        (["predict", "{tmp}/m.onnx", "--device", "d", "--token-file", "{tmp}/empty"], "empty"),
        (["predict", "{tmp}/m.onnx", "--device", "d", "--tls-ca", "{tmp}/ca.pem"], "--tls-ca"),
    ],
)
def test_cli_checks_files_and_arguments_before_connecting(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    (tmp_path / "m.onnx").write_bytes(NB201.to_onnx(SMALL))
    (tmp_path / "empty").write_text("\n")
    # a port nobody listens on: reaching the server would give another message
    args = [a.format(tmp=tmp_path) for a in argv] + ["--server", f"127.0.0.1:{_free_port()}"]
    line = _one_line_error(cli.invoke(app, args))
    assert message in line
    assert "cannot reach" not in line


# -- against the stand-in ------------------------------------------------------------------


def test_token_from_the_environment_is_sent(scripted, monkeypatch) -> None:
    address, servicer = scripted
    monkeypatch.setenv("FEWLAT_TOKEN", "s3cret")
    with Client(address) as client:
        client.device("board")
    assert servicer.calls[-1][2] == "Bearer s3cret"


def test_an_explicit_token_wins_and_no_token_sends_none(scripted, monkeypatch) -> None:
    address, servicer = scripted
    monkeypatch.setenv("FEWLAT_TOKEN", "from-env")
    with Client(address, token="given") as client:
        client.device("board")
    monkeypatch.delenv("FEWLAT_TOKEN")
    with Client(address) as client:
        client.device("board")
    assert [auth for _, _, auth in servicer.calls] == ["Bearer given", None]


def test_missing_token_says_how_to_give_one(scripted) -> None:
    address, servicer = scripted
    servicer.required_token = "s3cret"
    with Client(address) as client, pytest.raises(AuthenticationError) as err:
        client.device("board")
    assert "FEWLAT_TOKEN" in str(err.value) and "--token-file" in str(err.value)
    with Client(address, token="wrong") as client, pytest.raises(AuthenticationError) as err:
        client.device("board")
    assert str(err.value) == "no valid bearer token"


def test_cli_token_file_and_environment(scripted, tmp_path: Path) -> None:
    address, servicer = scripted
    servicer.required_token = "s3cret"
    model = tmp_path / "m.onnx"
    model.write_bytes(b"0123456789")
    base = ["predict", str(model), "--device", "d", "--server", address]
    line = _one_line_error(cli.invoke(app, base))
    assert "set FEWLAT_TOKEN, or pass --token-file F" in line
    token_file = tmp_path / "token"
    token_file.write_text("s3cret\n")
    assert cli.invoke(app, [*base, "--token-file", str(token_file)]).exit_code == 0
    assert cli.invoke(app, base, env={"FEWLAT_TOKEN": "s3cret"}).exit_code == 0


def test_mapped_errors_and_unmapped_codes(scripted) -> None:
    address, _ = scripted
    with Client(address) as client:
        with pytest.raises(UnknownDeviceError, match=r"^No device 'ghost'; register it first\.$"):
            client.device("ghost")
        with pytest.raises(grpc.RpcError) as err:  # INTERNAL has no row: stays an RpcError
            client.start_meta_train()
        assert err.value.code() == grpc.StatusCode.INTERNAL
        job = client.job("j1")
    assert job.done and job.promoted


def test_calibrate_registers_verifies_times_and_submits(scripted) -> None:
    address, servicer = scripted
    progress: list[tuple[int, int]] = []
    runner = MockRunner(method=FAST)
    with Client(address) as client:
        report = client.calibrate(
            "board", runner=runner, shots=2, on_progress=lambda *a: progress.append(a)
        )
    names = [name for name, _, _ in servicer.calls]
    assert names == ["GetCalibrationSuite", "RegisterDevice", "SubmitCalibration"]
    register, submit = servicer.calls[1][1], servicer.calls[2][1]
    assert json.loads(register.description)["runtime"] == runner.settings["runtime"]
    assert submit.suite_version == "nb201-test" and len(submit.request_id) == 32
    assert [m.position for m in submit.measurements] == [0, 1]
    assert [m.sha256 for m in submit.measurements] == [
        hashlib.sha256(servicer.models[a]).hexdigest() for a in SUITE_ARCHS[:2]
    ]
    assert all(m.timing.latency_ms > 0 and m.timing.repeats > 0 for m in submit.measurements)
    assert progress == [(0, 2), (2, 2)]
    assert report.shots == 2 and report.loo_error == 0.125 and report.stored == 2
    assert report.anchor_ms == submit.measurements[0].timing.latency_ms


def test_calibrate_refuses_a_corrupt_suite(scripted) -> None:
    address, servicer = scripted
    servicer.corrupt_suite = True
    with Client(address) as client, pytest.raises(SuiteMismatchError, match="SHA-256"):
        client.calibrate("board", runner=MockRunner(method=FAST), shots=1)
    assert [name for name, _, _ in servicer.calls] == ["GetCalibrationSuite"]


def test_suite_listing(scripted) -> None:
    address, _ = scripted
    with Client(address) as client:
        suite = client.suite("nb201")
    assert suite.archs == SUITE_ARCHS and suite.size == 3 and suite.version == "nb201-test"
    assert [e.position for e in suite.entries] == [0, 1, 2]


def test_predict_many_chunks_the_stream_and_keeps_order(scripted) -> None:
    address, servicer = scripted
    models = [b"m" * n for n in range(1, 6)]
    archs = [f"a{i:0{i % 7 + 1}d}" for i in range(7)]
    seen: list[tuple[int, int]] = []
    with Client(address) as client:
        results = client.predict_many(
            "board",
            models,
            space="nb201",
            archs=archs,
            chunk=3,
            on_progress=lambda *a: seen.append(a),
        )
    assert [r.latency_ms for r in results] == [len(m) for m in models] + [len(a) for a in archs]
    sent = [request for name, request, _ in servicer.calls if name == "PredictBatch"]
    assert [len(r.models) + len(r.archs) for r in sent] == [3, 2, 3, 3, 1]
    assert [r.device for r in sent] == ["board", "", "", "", ""]
    assert {r.space for r in sent if r.archs} == {"nb201"}
    assert seen[-1] == (12, 12) and len(seen) == 5


def test_predict_sends_bytes_or_an_arch_ref(scripted) -> None:
    address, servicer = scripted
    with Client(address) as client:
        by_bytes = client.predict("board", b"12345")
        by_arch = client.predict("board", space="nb201", arch="abc")
    assert (by_bytes.latency_ms, by_arch.latency_ms) == (5, 3)
    assert servicer.calls[-1][1].arch.space == "nb201"


def test_submit_measurements_rows(scripted) -> None:
    address, servicer = scripted
    m = Measurement(2.0, 1.5, 2.5, 2.0, 0.1, 20, warmup_runs=3, settings={"runtime": "x"})
    with Client(address) as client:
        stored = client.submit_measurements("board", [("nb201", SMALL, m), (b"onnx", m)])
        with pytest.raises(InvalidParameterError, match="'rows'"):
            client.submit_measurements("board", [("nb201", m)])
    assert stored == 2
    first, second = servicer.calls[-1][1].measurements
    assert (first.space, first.arch, first.timing.latency_ms) == ("nb201", SMALL, 2.0)
    assert second.sha256 == hashlib.sha256(b"onnx").hexdigest()
    assert second.model_bytes == b""  # the server keeps only the hash: no upload
    assert json.loads(first.timing.runner_json) == {"runtime": "x"}


def test_cli_score_writes_csv_to_stdout_and_file(scripted, tmp_path: Path) -> None:
    address, _ = scripted
    archs = tmp_path / "archs.txt"
    archs.write_text(f"# two archs\n{SMALL}\n{NB201.supernet()}\n")
    base = ["score", "--device", "d", "--space", "nb201", "--archs", str(archs)]
    base += ["--server", address]
    shown = cli.invoke(app, base)
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0] == "name,latency_ms,low_ms,high_ms,suite,space"
    assert [ln.split(",")[0] for ln in lines[1:]] == [SMALL, NB201.supernet()]
    assert "models/s" in shown.stderr
    out = tmp_path / "scores.csv"
    written = cli.invoke(app, [*base, "--out", str(out)])
    assert written.exit_code == 0, written.output
    assert out.read_text() == shown.stdout and written.stdout == ""


def test_cli_predict_and_calibrate_output(scripted, tmp_path: Path) -> None:
    address, _ = scripted
    model = tmp_path / "m.onnx"
    model.write_bytes(b"0123456789")
    shown_args = ["predict", str(model), "--device", "d", "--server", address]
    shown = cli.invoke(app, shown_args)
    assert shown.exit_code == 0, shown.output
    assert "10 ms (80% interval 5 to 20 ms)" in shown.stdout
    as_json = cli.invoke(app, [*shown_args, "--json"])
    assert json.loads(as_json.stdout)["latency_ms"] == 10
    calibrated = cli.invoke(
        app, ["calibrate", "--device", "d", "--runner", "mock", "--shots", "3", "--server", address]
    )
    assert calibrated.exit_code == 0, calibrated.output
    for text in ("nb201-test", "12.5%", "ckpt-test", "leave-one-out error"):
        assert text in calibrated.stdout


@pytest.mark.parametrize("command", ["calibrate", "measure"])
@pytest.mark.parametrize("value", ["x", "0,x", "-1"])
def test_a_bad_pin_cpus_is_a_usage_error_not_a_traceback(command: str, value: str) -> None:
    args = [command, "--runner", "mock", "--pin-cpus", value]
    args += ["--device", "d"] if command == "calibrate" else ["--space", "nb201", "--count", "1"]
    args += [] if command == "calibrate" else ["--out", "o"]
    result = cli.invoke(app, args)
    assert result.exit_code == 2, result.output  # typer's usage-error status
    said = " ".join(result.output.replace("│", " ").split())  # undo rich's box and wrapping
    assert "--pin-cpus" in said and "ints >= 0" in said

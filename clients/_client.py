"""The SDK: :class:`Client`, a typed wrapper over the ``fewlat.v1.Fewlat`` gRPC service.

Example::

    from fewlat.clients import Client
    from fewlat.clients.runners import make_runner

    with Client("board-server:50051") as client:
        report = client.calibrate("pi5-ort-4t", runner=make_runner("ort", threads=4))
        result = client.predict("pi5-ort-4t", space="nb201", arch=arch)
        result.latency_ms, result.low_ms, result.high_ms

Failed calls raise the :mod:`fewlat.exceptions` class the server raised (one
table, :mod:`fewlat._status`); calls that fail for a reason with no row there
(deadline, cancellation, internal errors) raise :class:`grpc.RpcError`.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import grpc

from fewlat._status import ERROR_METADATA, error_for_status
from fewlat._wire import DEFAULT_ADDRESS, MAX_MESSAGE_BYTES
from fewlat.clients._results import (
    CalibrationReport,
    DeviceInfo,
    JobInfo,
    PredictionResult,
    SuiteInfo,
    device_from_proto,
    job_from_proto,
    prediction_from_proto,
    report_from_proto,
    suite_from_proto,
)
from fewlat.clients.runners import Measurement, ModelInput, Runner
from fewlat.clients.runners._checks import check_count
from fewlat.exceptions import (
    AuthenticationError,
    FewlatError,
    ServiceUnavailableError,
    SuiteMismatchError,
    invalid_parameter,
)
from fewlat.v1 import fewlat_pb2, fewlat_pb2_grpc

__all__ = ["DEFAULT_SERVER", "TOKEN_ENV", "Client"]

#: where ``fewlat serve`` listens by default
DEFAULT_SERVER = DEFAULT_ADDRESS
#: the environment variable a token is read from when none is given
TOKEN_ENV = "FEWLAT_TOKEN"
#: room left in a PredictBatch message for everything but the model bytes
_MESSAGE_OVERHEAD = 64 * 1024

#: a row of :meth:`Client.submit_measurements`
MeasurementRow = tuple[str, str, Measurement] | tuple[bytes, Measurement]
T = TypeVar("T")


def _timing(measurement: Measurement) -> fewlat_pb2.Timing:
    """A runner's :class:`Measurement` as a ``fewlat.v1.Timing``.

    A value replayed from a latency table has ``n == 0`` (nothing timed here); the
    server reads ``repeats`` 0 as one observation, and ``runner_json`` says
    ``"runtime": "table"``.
    """
    return fewlat_pb2.Timing(
        latency_ms=measurement.median_ms,
        p10_ms=measurement.p10_ms,
        p90_ms=measurement.p90_ms,
        repeats=measurement.n,  # 0 (a replayed table value) is read as 1 by the server
        warmup_runs=measurement.warmup_runs,
        cv=measurement.cv,
        runner_json=json.dumps(dict(measurement.settings), sort_keys=True, default=str),
    )


def _chunks(
    items: Sequence[T], chunk: int, size: Callable[[T], int], budget: int
) -> Iterator[list[T]]:
    """Consecutive runs of at most ``chunk`` items whose ``size`` sums to at most ``budget``
    (an item over the budget on its own travels alone)."""
    run: list[T] = []
    used = 0
    for item in items:
        n = size(item)
        if run and (len(run) == chunk or used + n > budget):
            yield run
            run, used = [], 0
        run.append(item)
        used += n
    if run:
        yield run


class Client:
    """A connection to a fewlat server.

    Args:
        server: ``HOST:PORT`` of ``fewlat serve`` (default: ``127.0.0.1:50051``).
        token: bearer token sent on every call; when None, the ``FEWLAT_TOKEN``
            environment variable is used if set (default: :obj:`None`).
        tls_ca: PEM file of the CA that signed the server's certificate; when
            given the channel uses TLS, otherwise it is plaintext (default: :obj:`None`).
        timeout_s: deadline of each call, seconds; a ``PredictBatch`` stream
            gets this much per message it sends (default: :obj:`60.0`).
        max_message_bytes: largest message sent or received, bytes
            (default: 64 MiB).

    Raises:
        InvalidParameterError: a bad ``timeout_s`` or ``max_message_bytes``.
        OSError: ``tls_ca`` cannot be read.

    The channel connects lazily, on the first call. Use the client as a
    context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        server: str = DEFAULT_SERVER,
        *,
        token: str | None = None,
        tls_ca: str | os.PathLike[str] | None = None,
        timeout_s: float = 60.0,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        if not isinstance(server, str) or not server.strip():
            raise invalid_parameter("server", "Client", "a HOST:PORT string", server)
        if isinstance(timeout_s, bool) or not isinstance(timeout_s, int | float) or timeout_s <= 0:
            raise invalid_parameter("timeout_s", "Client", "a number of seconds > 0", timeout_s)
        if (
            isinstance(max_message_bytes, bool)
            or not isinstance(max_message_bytes, int)
            or max_message_bytes < 2 * _MESSAGE_OVERHEAD
        ):
            raise invalid_parameter(
                "max_message_bytes",
                "Client",
                f"an int >= {2 * _MESSAGE_OVERHEAD}",
                max_message_bytes,
            )
        self.server = server.strip()
        self.timeout_s = float(timeout_s)
        self.max_message_bytes = max_message_bytes
        if token is None:
            token = os.environ.get(TOKEN_ENV)
        token = (token or "").strip()
        self._metadata = (("authorization", f"Bearer {token}"),) if token else None
        options = [
            ("grpc.max_send_message_length", max_message_bytes),
            ("grpc.max_receive_message_length", max_message_bytes),
        ]
        self._tls = tls_ca is not None
        if tls_ca is not None:
            credentials = grpc.ssl_channel_credentials(root_certificates=Path(tls_ca).read_bytes())
            self._channel = grpc.secure_channel(self.server, credentials, options=options)
        else:
            self._channel = grpc.insecure_channel(self.server, options=options)
        self._stub = fewlat_pb2_grpc.FewlatStub(self._channel)

    @property
    def has_token(self) -> bool:
        """Whether calls carry a bearer token."""
        return self._metadata is not None

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the channel; later calls fail."""
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.server!r}, token={'set' if self.has_token else None})"

    def _error(self, err: grpc.RpcError) -> FewlatError | None:
        """The fewlat exception for a failed call, or None to let ``err`` propagate."""
        code = err.code() if callable(getattr(err, "code", None)) else None
        details = (err.details() if callable(getattr(err, "details", None)) else None) or ""
        if code is None:
            return None
        if code == grpc.StatusCode.UNAVAILABLE:
            return ServiceUnavailableError(
                f"cannot reach the fewlat server at {self.server}: {details}. "
                "Is `fewlat serve` running there? Pass --server HOST:PORT otherwise. "
                + (
                    "Over TLS, HOST must be a name in the server's certificate and --tls-ca "
                    "the CA that signed it."
                    if self._tls
                    else "If it serves TLS, pass --tls-ca CA.pem (Client(tls_ca=...) in Python)."
                )
            )
        if code == grpc.StatusCode.UNAUTHENTICATED and not self.has_token:
            hint = f"set {TOKEN_ENV}, or pass --token-file F (Client(token=...) in Python)"
            said = "" if not details or TOKEN_ENV in details else f" ({details.rstrip('.')})"
            return AuthenticationError(
                f"the fewlat server at {self.server} needs a bearer token{said}: {hint}."
            )
        trailing = (
            err.trailing_metadata() if callable(getattr(err, "trailing_metadata", None)) else None
        )
        name = next((v for k, v in trailing or () if k == ERROR_METADATA), None)
        return error_for_status(code, details, name)

    def _raise(self, err: grpc.RpcError) -> NoReturn:
        mapped = self._error(err)
        if mapped is None:
            raise err
        raise mapped from None

    def _unary(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(
                request, timeout=self.timeout_s, metadata=self._metadata
            )
        except grpc.RpcError as err:
            self._raise(err)

    # -- devices ----------------------------------------------------------------------------

    def register(
        self, name: str, *, description: str = "", labels: Mapping[str, str] | None = None
    ) -> DeviceInfo:
        """Create the device ``name``, or return it unchanged if it exists (idempotent).

        Args:
            name: the device name, e.g. ``pi5-ort-4t``.
            description: free-form hardware and runtime description (default: ``""``).
            labels: free-form key/value labels (default: none).

        Raises:
            InvalidParameterError: the server rejects the name or labels.
            AuthenticationError, PermissionDeniedError: the token is missing or not allowed.
            ServiceUnavailableError: the server cannot be reached.
        """
        request = fewlat_pb2.RegisterDeviceRequest(
            name=name, description=description, labels=dict(labels or {})
        )
        return device_from_proto(self._unary("RegisterDevice", request))

    def device(self, name: str) -> DeviceInfo:
        """The device ``name``.

        Raises:
            UnknownDeviceError: no device has that name.
            AuthenticationError: the token is missing or unknown.
            ServiceUnavailableError: the server cannot be reached.
        """
        return device_from_proto(self._unary("GetDevice", fewlat_pb2.GetDeviceRequest(name=name)))

    def devices(self) -> list[DeviceInfo]:
        """Every device the server holds.

        Raises:
            AuthenticationError: the token is missing or unknown.
            ServiceUnavailableError: the server cannot be reached.
        """
        answer = self._unary("ListDevices", fewlat_pb2.ListDevicesRequest())
        return [device_from_proto(d) for d in answer.devices]

    # -- calibration ------------------------------------------------------------------------

    def suite(self, space: str, *, shots: int = 0, with_onnx: bool = True) -> SuiteInfo:
        """The ordered calibration suite of ``space`` (anchor first), with each model's bytes.

        Args:
            space: the search space.
            shots: fetch only the first ``shots`` entries; 0 fetches all (default: :obj:`0`).
            with_onnx: fetch each model's ONNX bytes; otherwise ``onnx_bytes`` is empty
                (default: :obj:`True`).

        Raises:
            InvalidParameterError: ``space`` is unknown, the serving checkpoint has no
                suite for it, or ``shots`` < 0.
            SuiteMismatchError: the answer mixes suite versions.
            AuthenticationError: the token is missing or unknown.
            ServiceUnavailableError: the server cannot be reached.
        """
        if isinstance(shots, bool) or not isinstance(shots, int) or shots < 0:
            raise invalid_parameter("shots", "Client.suite", "an int >= 0 (0 = all)", shots)
        request = fewlat_pb2.GetCalibrationSuiteRequest(
            space=space, shots=shots, without_onnx=not with_onnx
        )
        try:
            parts = list(
                self._stub.GetCalibrationSuite(
                    request, timeout=self.timeout_s, metadata=self._metadata
                )
            )
        except grpc.RpcError as err:
            self._raise(err)
        return suite_from_proto(parts)

    def calibrate(
        self,
        device: str,
        *,
        runner: Runner,
        space: str = "nb201",
        shots: int = 10,
        description: str = "",
        labels: Mapping[str, str] | None = None,
        request_id: str | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> CalibrationReport:
        """Time the first ``shots`` models of ``space``'s suite with ``runner`` and submit them.

        The device is registered first (idempotent). The bytes of each fetched
        model are checked against the SHA-256 the server states. The ``shots`` models
        are timed as one block with ``runner.measure_many``: the timing method
        interleaves its passes over the block, so drift of the board (clock,
        temperature) affects every model alike and the latency ratios to the
        anchor, which make the descriptor, stay sound. ``on_progress(done,
        total)`` is therefore called with ``done=0`` before the block and
        ``done=total`` after it.

        Args:
            device: the device name.
            runner: times the models, e.g. ``make_runner("ort", threads=4)``.
            space: the search space whose suite is timed (default: ``"nb201"``).
            shots: how many suite models to time, anchor first: 1 … len(suite)
                (default: :obj:`10`).
            description: the device's description when it is registered now
                (default: the runner's settings as JSON).
            labels: the device's labels when it is registered now (default: none).
            request_id: makes a resubmission idempotent (default: a fresh uuid4 hex).
            on_progress: called as ``on_progress(done, total)`` (default: none).

        Returns:
            The server's :class:`CalibrationReport`.

        Raises:
            InvalidParameterError: ``shots`` out of range, or an unknown ``space``.
            SuiteMismatchError: a suite model's bytes do not match its SHA-256, or the
                server no longer serves the suite version that was timed.
            InvalidMeasurementError: a timing the server refuses.
            AuthenticationError, PermissionDeniedError: the token is missing or not allowed.
            ServiceUnavailableError: the server cannot be reached.
            The runner's errors (e.g. ``MissingDependencyError``, ``TableEntryMissingError``).
        """
        check_count(shots, "shots", "Client.calibrate")
        suite = self.suite(space, shots=shots)
        if shots > suite.size or len(suite.entries) != shots:
            raise invalid_parameter(
                "shots",
                "Client.calibrate",
                f"an int in [1, {suite.size}] (the size of the {suite.space} suite)",
                shots,
            )
        for entry in suite.entries:
            if hashlib.sha256(entry.onnx_bytes).hexdigest() != entry.sha256:
                raise SuiteMismatchError(
                    f"Suite model {entry.position} ({entry.arch}) of {suite.version} does not "
                    f"match its SHA-256 {entry.sha256}; the download is corrupt. Run the "
                    "calibration again."
                )
        if not description:
            description = json.dumps(runner.describe(), sort_keys=True, default=str)
        self.register(device, description=description, labels=labels)
        if on_progress is not None:
            on_progress(0, shots)
        measurements = runner.measure_many(
            [
                ModelInput(model_bytes=e.onnx_bytes, space=suite.space, arch=e.arch)
                for e in suite.entries
            ]
        )
        if on_progress is not None:
            on_progress(shots, shots)
        request = fewlat_pb2.SubmitCalibrationRequest(
            device=device,
            suite_version=suite.version,
            measurements=[
                fewlat_pb2.SuiteMeasurement(position=e.position, sha256=e.sha256, timing=_timing(m))
                for e, m in zip(suite.entries, measurements, strict=True)
            ],
            request_id=request_id or uuid.uuid4().hex,
        )
        return report_from_proto(self._unary("SubmitCalibration", request))

    # -- predictions ------------------------------------------------------------------------

    def predict(
        self,
        device: str,
        model_bytes: bytes | None = None,
        *,
        space: str | None = None,
        arch: str | None = None,
    ) -> PredictionResult:
        """The latency of one model on a calibrated device, with its 80% interval.

        Give exactly one of ``model_bytes`` or the pair ``space``, ``arch``.

        Args:
            device: the device name.
            model_bytes: serialised ONNX (weights are not needed).
            space: a search space, with ``arch``.
            arch: an arch string of ``space``.

        Returns:
            A :class:`PredictionResult` (milliseconds).

        Raises:
            InvalidParameterError: not exactly one of bytes or (space, arch), a bad arch
                or model.
            UnknownDeviceError: no device has that name.
            NotCalibratedError: the device has no calibration usable for the model.
            ModelTooLargeError: the model is over the server's limits.
            AuthenticationError: the token is missing or unknown.
            ServiceUnavailableError: the server cannot be reached.
        """
        by_arch = space is not None or arch is not None
        if (model_bytes is not None) == by_arch or (by_arch and (space is None or arch is None)):
            given = [
                n
                for n, v in (("model_bytes", model_bytes), ("space", space), ("arch", arch))
                if v is not None
            ]
            raise invalid_parameter(
                "model",
                "Client.predict",
                "model_bytes alone, or space= and arch= together",
                ", ".join(given) or "nothing",
            )
        if model_bytes is not None:
            request = fewlat_pb2.PredictRequest(device=device, model_bytes=model_bytes)
        else:
            request = fewlat_pb2.PredictRequest(
                device=device, arch=fewlat_pb2.ArchRef(space=space, arch=arch)
            )
        return prediction_from_proto(self._unary("Predict", request))

    def predict_many(
        self,
        device: str,
        models: Sequence[bytes] = (),
        *,
        space: str | None = None,
        archs: Sequence[str] = (),
        chunk: int = 512,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> list[PredictionResult]:
        """Latencies of many models on one device over one ``PredictBatch`` stream.

        Models are sent in messages of at most ``chunk`` models (and at most
        ``max_message_bytes``), then archs in messages of at most ``chunk``
        archs; the device travels on the first message only.

        Args:
            device: the device name.
            models: serialised ONNX models.
            space: the search space of ``archs``.
            archs: arch strings of ``space``.
            chunk: the most models or archs per message (default: :obj:`512`).
            on_progress: called as ``on_progress(done, total)`` after each answer
                (default: none).

        Returns:
            One :class:`PredictionResult` per model then per arch, in order.

        Raises:
            InvalidParameterError: ``chunk`` < 1, ``archs`` without ``space``, a bad arch
                or model (the stream stops at the first).
            The errors of :meth:`predict`.
        """
        check_count(chunk, "chunk", "Client.predict_many")
        models, archs = list(models), list(archs)
        if archs and not space:
            raise invalid_parameter(
                "space", "Client.predict_many", "the space of archs, when archs are given", space
            )
        wrong = next((m for m in models if not isinstance(m, bytes | bytearray | memoryview)), None)
        if wrong is not None:
            raise invalid_parameter(
                "models", "Client.predict_many", "a sequence of ONNX bytes", type(wrong).__name__
            )
        total = len(models) + len(archs)
        if total == 0:
            return []
        budget = self.max_message_bytes - _MESSAGE_OVERHEAD
        requests = [
            fewlat_pb2.PredictBatchRequest(models=[bytes(m) for m in run])
            for run in _chunks(models, chunk, len, budget)
        ]
        requests += [
            fewlat_pb2.PredictBatchRequest(space=space or "", archs=run)
            for run in _chunks(archs, chunk, lambda a: len(a.encode()), budget)
        ]
        requests[0].device = device
        results: list[PredictionResult] = []
        responses = self._stub.PredictBatch(
            iter(requests), timeout=self.timeout_s * len(requests), metadata=self._metadata
        )
        try:
            for sent, answer in zip(requests, responses, strict=False):
                expected = len(sent.models) + len(sent.archs)
                if len(answer.predictions) != expected:
                    raise RuntimeError(
                        f"The fewlat server at {self.server} answered {len(answer.predictions)} "
                        f"predictions to a message of {expected} models; it is not following "
                        "the fewlat.v1 API."
                    )
                results.extend(prediction_from_proto(p) for p in answer.predictions)
                if on_progress is not None:
                    on_progress(len(results), total)
        except grpc.RpcError as err:
            self._raise(err)
        finally:
            responses.cancel()  # a no-op once the stream has ended
        if len(results) != total:
            raise RuntimeError(
                f"The fewlat server at {self.server} closed the stream after {len(results)} "
                f"of {total} predictions."
            )
        return results

    # -- measurements and training -----------------------------------------------------------

    def submit_measurements(
        self, device: str, rows: Iterable[MeasurementRow], *, request_id: str | None = None
    ) -> int:
        """Store extra measurements of ``device`` in the pool used by meta-training.

        Args:
            device: the device name.
            rows: ``(space, arch, Measurement)`` or ``(model_bytes, Measurement)`` tuples.
            request_id: makes a resubmission idempotent (default: a fresh uuid4 hex).

        Returns:
            How many measurements the server stored (0 on a resubmission).

        Raises:
            InvalidParameterError: a row of another shape, or an arch the server rejects.
            InvalidMeasurementError: a timing that is not finite and > 0.
            UnknownDeviceError: no device has that name.
            AuthenticationError, PermissionDeniedError: the token is missing or not allowed.
            ServiceUnavailableError: the server cannot be reached.
        """
        messages = []
        for row in rows:
            if len(row) == 3 and isinstance(row[2], Measurement):
                space, arch, measured = row
                messages.append(
                    fewlat_pb2.Measurement(space=space, arch=arch, timing=_timing(measured))
                )
            elif len(row) == 2 and isinstance(row[0], bytes) and isinstance(row[1], Measurement):
                model_bytes, measured = row
                messages.append(
                    fewlat_pb2.Measurement(
                        sha256=hashlib.sha256(model_bytes).hexdigest(),
                        model_bytes=model_bytes,
                        timing=_timing(measured),
                    )
                )
            else:
                raise invalid_parameter(
                    "rows",
                    "Client.submit_measurements",
                    "(space, arch, Measurement) or (model_bytes, Measurement) tuples",
                    row,
                )
        request = fewlat_pb2.SubmitMeasurementsRequest(
            device=device, measurements=messages, request_id=request_id or uuid.uuid4().hex
        )
        return int(self._unary("SubmitMeasurements", request).stored)

    def start_meta_train(self, *, steps: int = 0, seed: int = 0, cv_folds: int = 0) -> JobInfo:
        """Start meta-training on the pooled data as a background job.

        Args:
            steps: training steps; 0 keeps the serving checkpoint's recipe (default: :obj:`0`).
            seed: training seed (default: :obj:`0`).
            cv_folds: device folds of the cross-validation deciding promotion (k >= 2,
                each trains one more model); 0 compares the held-out ρ of the new and
                the serving checkpoint instead (default: :obj:`0`).

        Raises:
            InvalidParameterError: a negative argument, or cv_folds of 1.
            AuthenticationError, PermissionDeniedError: the token is missing or not allowed.
            ServiceUnavailableError: the server cannot be reached.
        """
        request = fewlat_pb2.StartMetaTrainRequest(steps=steps, seed=seed, cv_folds=cv_folds)
        return job_from_proto(self._unary("StartMetaTrain", request))

    def job(self, id: str) -> JobInfo:
        """The job ``id``.

        Raises:
            UnknownJobError: no job has that id.
            AuthenticationError: the token is missing or unknown.
            ServiceUnavailableError: the server cannot be reached.
        """
        return job_from_proto(self._unary("GetJob", fewlat_pb2.GetJobRequest(id=id)))

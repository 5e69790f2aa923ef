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

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import grpc

from fewlat.clients._base import DEFAULT_SERVER, TOKEN_ENV, ClientBase
from fewlat.clients._requests import (
    MeasurementRow,
    batch_requests,
    calibration_request,
    check_batch_answer,
    check_stream_complete,
    check_suite,
    measurement_request,
    predict_request,
    suite_inputs,
    suite_request,
)
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
from fewlat.clients.runners import Runner
from fewlat.clients.runners._checks import check_count
from fewlat.v1 import fewlat_pb2

__all__ = ["DEFAULT_SERVER", "TOKEN_ENV", "Client"]


class Client(ClientBase):
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
        InvalidParameterError: a bad ``server``, ``timeout_s`` or ``max_message_bytes``.
        OSError: ``tls_ca`` cannot be read.

    The channel connects lazily, on the first call. Use the client as a
    context manager, or call :meth:`close`.
    """

    def _open_channel(self) -> grpc.Channel:
        if self._credentials is not None:
            return grpc.secure_channel(self.server, self._credentials, self._options)
        return grpc.insecure_channel(self.server, options=self._options)

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the channel; later calls fail."""
        self._channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

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
        request = suite_request(space, shots, with_onnx, "Client.suite")
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
        check_suite(suite, shots, "Client.calibrate")
        if not description:
            description = json.dumps(runner.describe(), sort_keys=True, default=str)
        self.register(device, description=description, labels=labels)
        if on_progress is not None:
            on_progress(0, shots)
        measurements = runner.measure_many(suite_inputs(suite))
        if on_progress is not None:
            on_progress(shots, shots)
        request = calibration_request(device, suite, measurements, request_id)
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
        request = predict_request(device, model_bytes, space, arch, "Client.predict")
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
        models, archs = list(models), list(archs)
        requests = batch_requests(
            device,
            models,
            space,
            archs,
            chunk=chunk,
            max_message_bytes=self.max_message_bytes,
            owner="Client.predict_many",
        )
        if not requests:
            return []
        total = len(models) + len(archs)
        results: list[PredictionResult] = []
        responses = self._stub.PredictBatch(
            iter(requests), timeout=self.timeout_s * len(requests), metadata=self._metadata
        )
        try:
            # read to the end of the stream: stopping at the last answer and cancelling
            # would end the call while the server still waits for the requests to close
            for answered, answer in enumerate(responses):
                if answered == len(requests):
                    break  # answers past the last message are ignored
                check_batch_answer(self.server, requests[answered], answer)
                results.extend(prediction_from_proto(p) for p in answer.predictions)
                if on_progress is not None:
                    on_progress(len(results), total)
        except grpc.RpcError as err:
            self._raise(err)
        finally:
            responses.cancel()  # a no-op once the stream has ended
        check_stream_complete(self.server, len(results), total)
        return results

    # -- measurements and training -----------------------------------------------------------

    def submit_measurements(
        self, device: str, rows: Iterable[MeasurementRow], *, request_id: str | None = None
    ) -> int:
        """Store extra measurements of ``device`` in the pool used by meta-training.

        Args:
            device: the device name.
            rows: ``(space, arch, Measurement)`` or ``(model_bytes, Measurement)`` tuples.
                A model given as bytes is sent as its SHA-256 only. Meta-training pools
                the ``(space, arch)`` rows; rows by hash are kept as a record.
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
        request = measurement_request(device, rows, request_id, "Client.submit_measurements")
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

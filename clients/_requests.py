"""Request messages from Python values, and checks of the answers: what the sync
:class:`~fewlat.clients.Client` and the :class:`~fewlat.clients.AsyncClient` share.

Every function here is pure (no I/O); ``owner`` names the public method in error messages.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TypeVar

from fewlat.clients._results import SuiteInfo
from fewlat.clients.runners import Measurement, ModelInput
from fewlat.clients.runners._checks import check_count
from fewlat.exceptions import SuiteMismatchError, invalid_parameter
from fewlat.v1 import fewlat_pb2

__all__ = [
    "MESSAGE_OVERHEAD_BYTES",
    "MeasurementRow",
    "batch_requests",
    "calibration_request",
    "check_batch_answer",
    "check_stream_complete",
    "check_suite",
    "measurement_request",
    "predict_request",
    "suite_inputs",
    "suite_request",
    "timing",
]

#: room left in a PredictBatch message for everything but the model bytes
MESSAGE_OVERHEAD_BYTES = 64 * 1024

#: a row of ``submit_measurements``
MeasurementRow = tuple[str, str, Measurement] | tuple[bytes, Measurement]
T = TypeVar("T")


def timing(measurement: Measurement) -> fewlat_pb2.Timing:
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


def suite_request(
    space: str, shots: int, with_onnx: bool, owner: str
) -> fewlat_pb2.GetCalibrationSuiteRequest:
    """The request for the first ``shots`` entries (0 = all) of ``space``'s suite.

    Raises:
        InvalidParameterError: ``shots`` is not an int >= 0.
    """
    if isinstance(shots, bool) or not isinstance(shots, int) or shots < 0:
        raise invalid_parameter("shots", owner, "an int >= 0 (0 = all)", shots)
    return fewlat_pb2.GetCalibrationSuiteRequest(
        space=space, shots=shots, without_onnx=not with_onnx
    )


def check_suite(suite: SuiteInfo, shots: int, owner: str) -> None:
    """Check that ``suite`` holds exactly ``shots`` entries whose bytes match their SHA-256.

    Raises:
        InvalidParameterError: ``shots`` is more than the suite holds.
        SuiteMismatchError: a model's bytes do not match its SHA-256.
    """
    if shots > suite.size or len(suite.entries) != shots:
        raise invalid_parameter(
            "shots",
            owner,
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


def suite_inputs(suite: SuiteInfo) -> list[ModelInput]:
    """The suite's models as a runner's inputs, in suite order."""
    return [
        ModelInput(model_bytes=e.onnx_bytes, space=suite.space, arch=e.arch) for e in suite.entries
    ]


def calibration_request(
    device: str, suite: SuiteInfo, measurements: Sequence[Measurement], request_id: str | None
) -> fewlat_pb2.SubmitCalibrationRequest:
    """The submission of one timing per suite entry (a fresh uuid4 when no ``request_id``)."""
    return fewlat_pb2.SubmitCalibrationRequest(
        device=device,
        suite_version=suite.version,
        measurements=[
            fewlat_pb2.SuiteMeasurement(position=e.position, sha256=e.sha256, timing=timing(m))
            for e, m in zip(suite.entries, measurements, strict=True)
        ],
        request_id=request_id or uuid.uuid4().hex,
    )


def predict_request(
    device: str, model_bytes: bytes | None, space: str | None, arch: str | None, owner: str
) -> fewlat_pb2.PredictRequest:
    """The request for one model: ``model_bytes`` alone, or ``space`` and ``arch``.

    Raises:
        InvalidParameterError: not exactly one of the two ways.
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
            owner,
            "model_bytes alone, or space= and arch= together",
            ", ".join(given) or "nothing",
        )
    if model_bytes is not None:
        return fewlat_pb2.PredictRequest(device=device, model_bytes=model_bytes)
    return fewlat_pb2.PredictRequest(device=device, arch=fewlat_pb2.ArchRef(space=space, arch=arch))


def batch_requests(
    device: str,
    models: Sequence[bytes],
    space: str | None,
    archs: Sequence[str],
    *,
    chunk: int,
    max_message_bytes: int,
    owner: str,
) -> list[fewlat_pb2.PredictBatchRequest]:
    """The messages of one ``PredictBatch`` stream: models, then archs, in runs of at most
    ``chunk`` and ``max_message_bytes``; the device travels on the first message only.
    Empty when there is nothing to predict.

    Raises:
        InvalidParameterError: ``chunk`` < 1, ``archs`` without ``space``, or a model
            that is not bytes.
    """
    check_count(chunk, "chunk", owner)
    if archs and not space:
        raise invalid_parameter("space", owner, "the space of archs, when archs are given", space)
    wrong = next((m for m in models if not isinstance(m, bytes | bytearray | memoryview)), None)
    if wrong is not None:
        raise invalid_parameter("models", owner, "a sequence of ONNX bytes", type(wrong).__name__)
    budget = max_message_bytes - MESSAGE_OVERHEAD_BYTES
    requests = [
        fewlat_pb2.PredictBatchRequest(models=[bytes(m) for m in run])
        for run in _chunks(models, chunk, len, budget)
    ]
    requests += [
        fewlat_pb2.PredictBatchRequest(space=space or "", archs=run)
        for run in _chunks(archs, chunk, lambda a: len(a.encode()), budget)
    ]
    if requests:
        requests[0].device = device
    return requests


def check_batch_answer(
    server: str, sent: fewlat_pb2.PredictBatchRequest, answer: fewlat_pb2.PredictBatchResponse
) -> None:
    """Check that ``answer`` has one prediction per model and arch of ``sent``.

    Raises:
        RuntimeError: the server is not following the fewlat.v1 API.
    """
    expected = len(sent.models) + len(sent.archs)
    if len(answer.predictions) != expected:
        raise RuntimeError(
            f"The fewlat server at {server} answered {len(answer.predictions)} "
            f"predictions to a message of {expected} models; it is not following "
            "the fewlat.v1 API."
        )


def check_stream_complete(server: str, received: int, total: int) -> None:
    """Check that a ``PredictBatch`` stream answered all ``total`` models.

    Raises:
        RuntimeError: the stream closed early.
    """
    if received != total:
        raise RuntimeError(
            f"The fewlat server at {server} closed the stream after {received} "
            f"of {total} predictions."
        )


def measurement_request(
    device: str, rows: Iterable[MeasurementRow], request_id: str | None, owner: str
) -> fewlat_pb2.SubmitMeasurementsRequest:
    """The submission of extra measurements (a fresh uuid4 when no ``request_id``).

    A model given as bytes travels as its SHA-256 only: the server pools measurements
    by hash, so the bytes would be uploaded for nothing.

    Raises:
        InvalidParameterError: a row that is neither ``(space, arch, Measurement)`` nor
            ``(model_bytes, Measurement)``.
    """
    messages = []
    for row in rows:
        if len(row) == 3 and isinstance(row[2], Measurement):
            space, arch, measured = row
            messages.append(fewlat_pb2.Measurement(space=space, arch=arch, timing=timing(measured)))
        elif len(row) == 2 and isinstance(row[0], bytes) and isinstance(row[1], Measurement):
            model_bytes, measured = row
            messages.append(
                fewlat_pb2.Measurement(
                    sha256=hashlib.sha256(model_bytes).hexdigest(), timing=timing(measured)
                )
            )
        else:
            raise invalid_parameter(
                "rows",
                owner,
                "(space, arch, Measurement) or (model_bytes, Measurement) tuples",
                row,
            )
    return fewlat_pb2.SubmitMeasurementsRequest(
        device=device, measurements=messages, request_id=request_id or uuid.uuid4().hex
    )

"""The ``fewlat.v1.Fewlat`` servicer: authenticate, convert, call the handler, convert back.

No logic lives here. Fewlat errors become status codes through the one table
in :mod:`fewlat._status`, with ``details`` = the error's message.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable, Iterator

import grpc

from fewlat._status import ERROR_METADATA, status_for_error
from fewlat.exceptions import FewlatError
from fewlat.service import _convert as convert
from fewlat.service._auth import TokenBook
from fewlat.service.handlers import DataPlane, JobRunner
from fewlat.v1 import fewlat_pb2 as pb
from fewlat.v1 import fewlat_pb2_grpc as pb_grpc

__all__ = ["FewlatServicer"]

log = logging.getLogger("fewlat.service.rpc")


def _rpc(method: Callable) -> Callable:
    """Authenticate, run, log, and turn errors into status codes (unary or streaming)."""
    name = method.__name__

    def fail(context: grpc.ServicerContext, err: BaseException, start: float, who: str | None):
        if isinstance(err, FewlatError):
            code, details = status_for_error(err), str(err)
            context.set_trailing_metadata(((ERROR_METADATA, type(err).__name__),))
        else:
            log.exception("rpc %s failed unexpectedly", name)
            code, details = grpc.StatusCode.INTERNAL, "internal error; see the server log"
        _log(name, code, start, who)
        context.abort(code, details)

    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def streaming(self: FewlatServicer, request, context) -> Iterator:
            start, who = time.perf_counter(), None
            try:
                who = self._principal(context)
                yield from method(self, request, context, who)
            except GeneratorExit:  # gRPC dropped the stream: the client cancelled
                _log(name, grpc.StatusCode.CANCELLED, start, who)
                raise
            except Exception as err:
                if isinstance(err, grpc.RpcError) and not context.is_active():
                    # the request stream of a call the client cancelled (or whose deadline
                    # passed): the call is over, and nothing went wrong on this side
                    _log(name, grpc.StatusCode.CANCELLED, start, who)
                    return
                fail(context, err, start, who)
            _log(name, grpc.StatusCode.OK, start, who)

        return streaming

    @functools.wraps(method)
    def unary(self: FewlatServicer, request, context):
        start, who = time.perf_counter(), None
        try:
            who = self._principal(context)
            response = method(self, request, context, who)
        except Exception as err:
            fail(context, err, start, who)
        _log(name, grpc.StatusCode.OK, start, who)
        return response

    return unary


def _log(name: str, code: grpc.StatusCode, start: float, principal: str | None) -> None:
    log.info(
        "rpc %s %s",
        name,
        code.name,
        extra={
            "rpc": name,
            "code": code.name,
            "duration_ms": round((time.perf_counter() - start) * 1e3, 3),
            "principal": principal,
        },
    )


class FewlatServicer(pb_grpc.FewlatServicer):
    """Thin servicer over :class:`DataPlane` (and the job runner).

    Args:
        plane: the handlers.
        tokens: the token book, or None when authentication is off.
        jobs: the meta-training job runner.
    """

    def __init__(self, plane: DataPlane, jobs: JobRunner, tokens: TokenBook | None = None) -> None:
        self.plane = plane
        self.tokens = tokens
        self.jobs = jobs

    def _principal(self, context: grpc.ServicerContext) -> str | None:
        if self.tokens is None:
            return None
        return self.tokens.principal(context.invocation_metadata())

    @_rpc
    def RegisterDevice(self, request, context, principal):
        return convert.device_message(
            self.plane.register_device(
                request.name,
                description=request.description,
                labels=dict(request.labels),
                principal=principal,
            )
        )

    @_rpc
    def GetCalibrationSuite(self, request, context, principal):
        suite = self.plane.suite(request.space, request.shots)
        for position in range(request.shots or len(suite)):
            onnx, sha256 = self.plane.suite_model(suite, position)
            yield convert.suite_message(
                suite,
                position,
                b"" if request.without_onnx else onnx,
                sha256,
                self.plane.host.version,
            )

    @_rpc
    def SubmitCalibration(self, request, context, principal):
        report = self.plane.submit_calibration(
            request.device,
            request.suite_version,
            convert.suite_records(request.measurements),
            request_id=request.request_id,
            principal=principal,
        )
        return convert.report_message(report)

    @_rpc
    def Predict(self, request, context, principal):
        which = request.WhichOneof("model")
        if which == "model_bytes":
            views = self.plane.predict(request.device, models=[request.model_bytes])
        elif which == "arch":
            views = self.plane.predict(
                request.device, space=request.arch.space, archs=[request.arch.arch]
            )
        else:
            views = self.plane.predict(request.device)  # raises: nothing to predict
        return convert.prediction_message(views[0])

    @_rpc
    def PredictBatch(self, request_iterator, context, principal):
        device = ""
        for request in request_iterator:
            device = request.device or device
            views = self.plane.predict(
                device, models=request.models, space=request.space, archs=request.archs
            )
            yield pb.PredictBatchResponse(
                predictions=[convert.prediction_message(v) for v in views]
            )

    @_rpc
    def SubmitMeasurements(self, request, context, principal):
        stored, pool = self.plane.submit_measurements(
            request.device,
            convert.measurement_records(request.measurements),
            request_id=request.request_id,
            principal=principal,
        )
        return pb.SubmitMeasurementsResponse(stored=stored, pool_size=pool)

    @_rpc
    def ListDevices(self, request, context, principal):
        return pb.ListDevicesResponse(
            devices=[convert.device_message(v) for v in self.plane.list_devices()]
        )

    @_rpc
    def GetDevice(self, request, context, principal):
        return convert.device_message(self.plane.get_device(request.name))

    @_rpc
    def StartMetaTrain(self, request, context, principal):
        job = self.jobs.start(steps=request.steps, seed=request.seed, cv_folds=request.cv_folds)
        return convert.job_message(job)

    @_rpc
    def GetJob(self, request, context, principal):
        return convert.job_message(self.jobs.get(request.id))

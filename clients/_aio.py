"""The asyncio SDK: :class:`AsyncClient`, :class:`~fewlat.clients.Client` over ``grpc.aio``.

For NAS loops that already run an event loop::

    async with AsyncClient("board-server:50051") as client:
        results = await asyncio.gather(
            *(client.predict("pi5-ort-4t", space="nb201", arch=a) for a in archs)
        )

Methods, arguments, answers and errors are those of the sync :class:`Client`;
the requests are built by the same functions (:mod:`fewlat.clients._requests`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import grpc
import grpc.aio

from fewlat.clients._base import ClientBase
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

__all__ = ["AsyncClient"]


class AsyncClient(ClientBase):
    """An asyncio connection to a fewlat server; the settings of :class:`Client`.

    Create it inside the event loop that uses it (``grpc.aio`` channels belong to
    one loop), and close it with ``await client.close()`` or ``async with``.

    Raises:
        InvalidParameterError: a bad ``server``, ``timeout_s`` or ``max_message_bytes``.
        OSError: ``tls_ca`` cannot be read.
    """

    def _open_channel(self) -> grpc.aio.Channel:
        if self._credentials is not None:
            return grpc.aio.secure_channel(self.server, self._credentials, self._options)
        return grpc.aio.insecure_channel(self.server, options=self._options)

    async def close(self) -> None:
        """Close the channel; later calls fail."""
        await self._channel.close()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def _unary(self, method: str, request: Any) -> Any:
        try:
            return await getattr(self._stub, method)(
                request, timeout=self.timeout_s, metadata=self._metadata
            )
        except grpc.RpcError as err:
            self._raise(err)

    async def register(
        self, name: str, *, description: str = "", labels: Mapping[str, str] | None = None
    ) -> DeviceInfo:
        """:meth:`Client.register`, awaited."""
        request = fewlat_pb2.RegisterDeviceRequest(
            name=name, description=description, labels=dict(labels or {})
        )
        return device_from_proto(await self._unary("RegisterDevice", request))

    async def device(self, name: str) -> DeviceInfo:
        """:meth:`Client.device`, awaited."""
        answer = await self._unary("GetDevice", fewlat_pb2.GetDeviceRequest(name=name))
        return device_from_proto(answer)

    async def devices(self) -> list[DeviceInfo]:
        """:meth:`Client.devices`, awaited."""
        answer = await self._unary("ListDevices", fewlat_pb2.ListDevicesRequest())
        return [device_from_proto(d) for d in answer.devices]

    async def suite(self, space: str, *, shots: int = 0, with_onnx: bool = True) -> SuiteInfo:
        """:meth:`Client.suite`, awaited."""
        request = suite_request(space, shots, with_onnx, "AsyncClient.suite")
        call = self._stub.GetCalibrationSuite(
            request, timeout=self.timeout_s, metadata=self._metadata
        )
        try:
            parts = [part async for part in call]
        except grpc.RpcError as err:
            self._raise(err)
        return suite_from_proto(parts)

    async def calibrate(
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
        """:meth:`Client.calibrate`, awaited; the runner times the models in a worker
        thread, so the event loop stays free (but the board is busy: run one at a time)."""
        check_count(shots, "shots", "AsyncClient.calibrate")
        suite = await self.suite(space, shots=shots)
        check_suite(suite, shots, "AsyncClient.calibrate")
        if not description:
            description = json.dumps(runner.describe(), sort_keys=True, default=str)
        await self.register(device, description=description, labels=labels)
        if on_progress is not None:
            on_progress(0, shots)
        measurements = await asyncio.to_thread(runner.measure_many, suite_inputs(suite))
        if on_progress is not None:
            on_progress(shots, shots)
        request = calibration_request(device, suite, measurements, request_id)
        return report_from_proto(await self._unary("SubmitCalibration", request))

    async def predict(
        self,
        device: str,
        model_bytes: bytes | None = None,
        *,
        space: str | None = None,
        arch: str | None = None,
    ) -> PredictionResult:
        """:meth:`Client.predict`, awaited."""
        request = predict_request(device, model_bytes, space, arch, "AsyncClient.predict")
        return prediction_from_proto(await self._unary("Predict", request))

    async def predict_many(
        self,
        device: str,
        models: Sequence[bytes] = (),
        *,
        space: str | None = None,
        archs: Sequence[str] = (),
        chunk: int = 512,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> list[PredictionResult]:
        """:meth:`Client.predict_many`, awaited: one ``PredictBatch`` stream."""
        models, archs = list(models), list(archs)
        requests = batch_requests(
            device,
            models,
            space,
            archs,
            chunk=chunk,
            max_message_bytes=self.max_message_bytes,
            owner="AsyncClient.predict_many",
        )
        if not requests:
            return []
        total = len(models) + len(archs)
        results: list[PredictionResult] = []
        call = self._stub.PredictBatch(
            iter(requests), timeout=self.timeout_s * len(requests), metadata=self._metadata
        )
        try:
            answered = 0
            async for answer in call:
                if answered == len(requests):
                    break  # answers past the last message are ignored
                check_batch_answer(self.server, requests[answered], answer)
                answered += 1
                results.extend(prediction_from_proto(p) for p in answer.predictions)
                if on_progress is not None:
                    on_progress(len(results), total)
        except grpc.RpcError as err:
            self._raise(err)
        finally:
            call.cancel()  # a no-op once the stream has ended
        check_stream_complete(self.server, len(results), total)
        return results

    async def submit_measurements(
        self, device: str, rows: Iterable[MeasurementRow], *, request_id: str | None = None
    ) -> int:
        """:meth:`Client.submit_measurements`, awaited."""
        request = measurement_request(device, rows, request_id, "AsyncClient.submit_measurements")
        return int((await self._unary("SubmitMeasurements", request)).stored)

    async def start_meta_train(
        self, *, steps: int = 0, seed: int = 0, cv_folds: int = 0
    ) -> JobInfo:
        """:meth:`Client.start_meta_train`, awaited."""
        request = fewlat_pb2.StartMetaTrainRequest(steps=steps, seed=seed, cv_folds=cv_folds)
        return job_from_proto(await self._unary("StartMetaTrain", request))

    async def job(self, id: str) -> JobInfo:
        """:meth:`Client.job`, awaited."""
        return job_from_proto(await self._unary("GetJob", fewlat_pb2.GetJobRequest(id=id)))

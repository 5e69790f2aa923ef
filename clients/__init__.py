"""Client side: the SDK ``Client`` (and ``AsyncClient`` for asyncio), runners, measuring
into latency tables, and the ``fewlat-client`` CLI."""

from fewlat.clients._aio import AsyncClient
from fewlat.clients._client import Client
from fewlat.clients._measure_table import check_writable, measure_table, plan_archs, read_arch_file
from fewlat.clients._results import (
    CalibrationReport,
    DeviceInfo,
    JobInfo,
    PredictionResult,
    SuiteInfo,
    SuiteModel,
)

__all__ = [
    "AsyncClient",
    "CalibrationReport",
    "Client",
    "DeviceInfo",
    "JobInfo",
    "PredictionResult",
    "SuiteInfo",
    "SuiteModel",
    "check_writable",
    "measure_table",
    "plan_archs",
    "read_arch_file",
]

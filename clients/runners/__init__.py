"""Runners: time a model on this board with one shared timing method (README "Timing method").

Every runner has ``measure(model_bytes, *, space=None, arch=None) -> Measurement``
and ``measure_many(models)`` for a block timed in interleaved passes.

Example::

    from fewlat.clients.runners import OnnxRuntimeRunner
    from fewlat.spaces import get_space
    runner = OnnxRuntimeRunner(threads=1)
    m = runner.measure(get_space("nb201").to_onnx(arch, with_weights=True))
    m.median_ms, m.p10_ms, m.p90_ms, m.cv, m.n
"""

from fewlat.clients.runners._base import ModelInput, Runner, Session
from fewlat.clients.runners._factory import RUNNER_KINDS, default_device_name, make_runner
from fewlat.clients.runners._host import describe_host, pinned_to
from fewlat.clients.runners._inputs import InputSpec, PreparedModel, make_inputs, prepare_model
from fewlat.clients.runners._measurement import Measurement, summarize
from fewlat.clients.runners._mnn import MnnConversionCache, MnnRunner
from fewlat.clients.runners._mock import MockRunner
from fewlat.clients.runners._onnxruntime import OnnxRuntimeRunner
from fewlat.clients.runners._table import TableRunner
from fewlat.clients.runners._timing import Clock, TimingMethod, time_block

__all__ = [
    "RUNNER_KINDS",
    "Clock",
    "InputSpec",
    "Measurement",
    "MnnConversionCache",
    "MnnRunner",
    "MockRunner",
    "ModelInput",
    "OnnxRuntimeRunner",
    "PreparedModel",
    "Runner",
    "Session",
    "TableRunner",
    "TimingMethod",
    "default_device_name",
    "describe_host",
    "make_inputs",
    "make_runner",
    "pinned_to",
    "prepare_model",
    "summarize",
    "time_block",
]

"""One conformance suite, run against every runner (onnxruntime, MNN, table, mock)."""

from __future__ import annotations

import json
import sys

import onnx
import pytest

from fewlat.clients.runners import (
    Measurement,
    MnnRunner,
    ModelInput,
    OnnxRuntimeRunner,
    Runner,
    TableRunner,
)
from fewlat.exceptions import (
    FewlatError,
    InvalidModelError,
    InvalidParameterError,
    MissingDependencyError,
    TableEntryMissingError,
    UnsafeModelError,
)
from tests.clients.conftest import BIG, FAST, NB201, SMALL, TABLE_MS


def _check_measurement(m: Measurement, runner: Runner) -> None:
    assert isinstance(m, Measurement)
    assert 0 < m.p10_ms <= m.median_ms <= m.p90_ms
    assert m.mean_ms > 0 and m.cv >= 0
    if runner.kind == "table":
        assert m.n == 0
    else:
        assert m.n >= FAST.min_runs and m.warmup_runs >= FAST.warmup_min_runs
        assert m.attempts >= 1
    assert m.settings["runtime"] == runner.settings["runtime"]
    json.dumps(m.as_dict())


def test_measure_by_space_and_arch(any_runner: Runner) -> None:
    m = any_runner.measure(space="nb201", arch=BIG)
    _check_measurement(m, any_runner)
    if any_runner.kind == "table":
        assert m.median_ms == TABLE_MS[BIG]


def test_bigger_model_is_slower_and_order_is_kept(any_runner: Runner) -> None:
    items = [
        ModelInput(NB201.to_onnx(arch, with_weights=True), "nb201", arch)
        for arch in (SMALL, BIG, SMALL)
    ]
    small, big, small_again = any_runner.measure_many(items)
    for m in (small, big, small_again):
        _check_measurement(m, any_runner)
    assert big.median_ms > 1.5 * max(small.median_ms, small_again.median_ms)


def test_describe_is_json_with_host_and_timing(any_runner: Runner) -> None:
    described = any_runner.describe()
    json.dumps(described)
    assert described["runtime"] == any_runner.settings["runtime"]
    assert {"cpu_model", "cpu_count"} <= set(described["host"])
    assert described["timing"]["min_runs"] == any_runner.method.min_runs
    assert any_runner.kind in repr(any_runner).lower() or "Runner(" in repr(any_runner)


def test_garbage_bytes_raise_a_fewlat_error(any_runner: Runner) -> None:
    with pytest.raises(FewlatError) as info:
        any_runner.measure(b"not an onnx model")
    expected = InvalidParameterError if any_runner.kind == "table" else InvalidModelError
    assert isinstance(info.value, expected)


def test_nothing_to_measure_is_rejected(any_runner: Runner) -> None:
    with pytest.raises(InvalidParameterError, match="space"):
        any_runner.measure()


def test_external_data_is_refused(any_runner: Runner) -> None:
    if any_runner.kind == "table":
        pytest.skip("the table runner never reads model bytes")
    model = onnx.load_from_string(NB201.to_onnx(SMALL, with_weights=True))
    weight = model.graph.initializer[0]
    weight.data_location = onnx.TensorProto.EXTERNAL
    weight.external_data.add(key="location", value="/etc/passwd")
    with pytest.raises(UnsafeModelError):
        any_runner.measure(model.SerializeToString())


def test_table_runner_names_the_missing_entry(tmp_path) -> None:
    from tests.clients.conftest import RUNNER_FACTORIES

    runner = RUNNER_FACTORIES["table"](tmp_path)
    other = NB201.sample(__import__("numpy").random.default_rng(3), 1)[0]
    with pytest.raises(TableEntryMissingError, match="board") as info:
        runner.measure(space="nb201", arch=other)
    assert other in str(info.value)


def test_table_runner_reads_published_tables(help_root) -> None:
    runner = TableRunner(help_root, "pixel3")
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|none~1|none~2|"
    m = runner.measure(space="nb201", arch=arch)
    assert m.median_ms > 0
    # HELP's ofa folder is the ofa_mbv3 space's alias; its archs replay too
    from fewlat.meta.tables import read_table

    ofa = read_table(help_root, "ofa")
    replay = TableRunner(help_root, ofa.devices[0])
    assert replay.measure(space="ofa_mbv3", arch=ofa.archs[0]).median_ms == ofa.latency_ms[0, 0]
    with pytest.raises(FewlatError, match="devices are"):
        TableRunner(help_root, "no-such-board")


@pytest.mark.parametrize(
    ("module", "make", "hint"),
    [
        ("onnxruntime", lambda: OnnxRuntimeRunner(), "pip install 'fewlat[ort]'"),
        ("MNN", lambda: MnnRunner(), "pip install 'fewlat[mnn]'"),
    ],
)
def test_missing_runtime_fails_at_construction_with_pip_hint(
    monkeypatch: pytest.MonkeyPatch, module: str, make, hint: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(MissingDependencyError) as info:
        make()
    assert hint in str(info.value)


def test_cuda_provider_absent_gives_the_gpu_wheel_hint() -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has CUDA")
    with pytest.raises(MissingDependencyError, match="pip install onnxruntime-gpu"):
        OnnxRuntimeRunner(provider="cuda")


@pytest.mark.parametrize(
    "make",
    [
        lambda: OnnxRuntimeRunner(threads=0),
        lambda: OnnxRuntimeRunner(optimization="max"),
        lambda: MnnRunner(precision="fp8"),
        lambda: MnnRunner(api="graph"),
    ],
)
def test_bad_settings_are_rejected(make) -> None:
    with pytest.raises(InvalidParameterError, match="must be"):
        make()


def test_mnn_conversion_is_cached_by_content_hash() -> None:
    from fewlat.clients.runners import MnnConversionCache

    cache = MnnConversionCache(max_entries=1)
    runner = MnnRunner(method=FAST, cache=cache)
    model = NB201.to_onnx(SMALL, with_weights=True)
    runner.measure(model)
    runner.measure(model)
    assert cache.conversions == 1
    runner.measure(NB201.to_onnx(BIG, with_weights=True))
    assert cache.conversions == 2 and len(list(cache.directory.glob("*.mnn"))) == 1


def test_mnn_subprocess_converter_matches_in_process() -> None:
    runner = MnnRunner(method=FAST, converter="subprocess")
    assert runner.measure(space="nb201", arch=SMALL).median_ms > 0


def test_batch_size_rewrites_the_input() -> None:
    one = OnnxRuntimeRunner(method=FAST).measure(space="nb201", arch=BIG)
    eight = OnnxRuntimeRunner(method=FAST, batch_size=8).measure(space="nb201", arch=BIG)
    assert eight.median_ms > 2 * one.median_ms
    assert eight.settings["batch_size"] == 8

"""Calibrating with a real onnxruntime runner through the SDK; the whole ``fewlat demo`` (slow)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from fewlat.clients import Client
from fewlat.clients.runners import OnnxRuntimeRunner, TimingMethod
from fewlat.service import Server
from fewlat.service.cli import app
from fewlat.spaces import get_space
from tests.service.conftest import settings_for

QUICK = TimingMethod(passes=1, min_runs=3, min_seconds=0.02, warmup_max_seconds=0.2)


def test_calibrate_this_machine_with_onnxruntime_then_predict(tmp_path) -> None:
    pytest.importorskip("onnxruntime")
    runner = OnnxRuntimeRunner(threads=1, method=QUICK)
    with Server(settings_for(tmp_path)) as server, Client(server.address) as client:
        report = client.calibrate("this-machine", runner=runner, space="nb201", shots=3)
        assert report.shots == 3 and report.anchor_ms > 0 and len(report.loo_errors) == 2
        device = client.device("this-machine")
        assert device.status == "calibrated"
        assert "onnxruntime" in device.description  # the runner describes itself
        stored = server.store.measurements(device="this-machine")
        assert [r.runner["runtime"] for r in stored] == ["onnxruntime"] * 3
        archs = get_space("nb201").sample(__import__("numpy").random.default_rng(1), 5)
        answers = client.predict_many("this-machine", space="nb201", archs=archs)
        assert all(0 < a.low_ms < a.latency_ms < a.high_ms for a in answers)


@pytest.mark.slow
def test_fewlat_demo_runs_to_the_end(tmp_path) -> None:
    plot = tmp_path / "demo.png"
    result = CliRunner().invoke(app, ["demo", "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    for group in ("nb201", "fbnet", "zoo", "Spearman ρ", "Acc@10%"):
        assert group in result.output
    assert plot.stat().st_size > 10_000

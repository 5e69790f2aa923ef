"""``fewlat inspect`` / ``fewlat export`` driven through typer's runner."""

from __future__ import annotations

import json

import onnx
from typer.testing import CliRunner

from fewlat.meta.graph import encode
from fewlat.service.cli import app
from tests.graph_models import LIGHT_DIR, conv_model

runner = CliRunner()
NB201_SUPERNET = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+"
    "|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def test_inspect_json_matches_the_library() -> None:
    path = f"{LIGHT_DIR}/light_resnet50.onnx"
    result = runner.invoke(app, ["inspect", path, "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    with open(path, "rb") as f:
        graph = encode(f.read())
    assert {"nodes", "macs", "flops", "params", "activation_bytes", "ops"} <= set(summary)
    assert summary["macs"] == graph.macs and summary["params"] == graph.params
    assert summary["ops"]["Conv"] == 53


def test_inspect_human_readable_table() -> None:
    result = runner.invoke(app, ["inspect", f"{LIGHT_DIR}/light_squeezenet.onnx"])
    assert result.exit_code == 0
    assert "macs" in result.stdout and "Conv" in result.stdout


def test_inspect_symbolic_input_needs_input_shape(tmp_path) -> None:
    model = conv_model()
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "batch"
    path = tmp_path / "sym.onnx"
    onnx.save(model, path)
    line = _one_line_error(runner.invoke(app, ["inspect", str(path)]))
    assert "--input-shape x=" in line
    ok = runner.invoke(app, ["inspect", str(path), "--input-shape", "x=2x8x16x16", "--json"])
    assert ok.exit_code == 0
    assert json.loads(ok.stdout)["inputs"] == {"x": [2, 8, 16, 16]}
    bad = runner.invoke(app, ["inspect", str(path), "--input-shape", "x=2xAx16"])
    assert bad.exit_code == 2 and "NAME=DxDx" in bad.output


def test_inspect_bad_inputs_fail_in_one_line(tmp_path) -> None:
    assert "No such file" in _one_line_error(runner.invoke(app, ["inspect", str(tmp_path / "x")]))
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\x08\x07garbage" * 50)
    assert "ONNX" in _one_line_error(runner.invoke(app, ["inspect", str(junk)]))


def test_export_then_inspect_round_trip(tmp_path) -> None:
    out = tmp_path / "sub" / "nb201.onnx"
    result = runner.invoke(
        app, ["export", "--space", "nb201", "--arch", NB201_SUPERNET, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stdout
    model = onnx.load(out)
    assert all(not t.raw_data for t in model.graph.initializer if t.data_type == 1)
    inspected = json.loads(runner.invoke(app, ["inspect", str(out), "--json"]).stdout)
    assert inspected["macs"] == encode(out.read_bytes()).macs
    assert not list(tmp_path.glob("sub/.*.tmp"))


def test_export_with_weights_runs_in_onnxruntime(tmp_path) -> None:
    from tests.runtimes import run_onnxruntime

    out = tmp_path / "fbnet.onnx"
    arch = "-".join(["k3_e3"] * 22)
    result = runner.invoke(
        app, ["export", "--space", "fbnet", "--arch", arch, "--out", str(out), "--with-weights"]
    )
    assert result.exit_code == 0, result.output
    assert run_onnxruntime(out.read_bytes())[0].shape == (1, 100)


def test_export_bad_space_and_arch_fail_in_one_line(tmp_path) -> None:
    out = tmp_path / "m.onnx"
    line = _one_line_error(
        runner.invoke(app, ["export", "--space", "nope", "--arch", "x", "--out", str(out)])
    )
    assert "Valid spaces: nb201" in line
    line = _one_line_error(
        runner.invoke(app, ["export", "--space", "nb201", "--arch", "|bogus~0|", "--out", str(out)])
    )
    assert "nb201" in line or "arch" in line.lower()
    assert not out.exists()

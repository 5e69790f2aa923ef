"""``fewlat-client measure`` driven through typer's runner."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fewlat.clients import plan_archs
from fewlat.clients.cli import app
from fewlat.meta.tables import read_table

cli = CliRunner()
FAST_FLAGS = ["--min-seconds", "0.002", "--passes", "1"]


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_measure_then_extend_with_onnxruntime(tmp_path: Path) -> None:
    base = [
        "measure",
        "--runner",
        "ort",
        "--threads",
        "1",
        "--space",
        "nb201",
        "--out",
        str(tmp_path),
        *FAST_FLAGS,
    ]
    first = cli.invoke(app, [*base, "--count", "4"])
    assert first.exit_code == 0, first.output
    table = read_table(tmp_path, "nb201")
    (device,) = table.devices
    assert device.endswith("-ort-1t") and len(table) == 4
    assert table.device_info[device]["threads"] == 1
    second = cli.invoke(app, [*base, "--count", "6"])
    assert second.exit_code == 0, second.output
    grown = read_table(tmp_path, "nb201")
    assert grown.archs == tuple(plan_archs("nb201", 6))
    assert np.array_equal(grown.latency_ms[:4], table.latency_ms)  # nothing re-measured
    assert "6 archs of nb201 measured" in second.stdout


def test_measure_an_arch_file_with_a_named_device(tmp_path: Path) -> None:
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(plan_archs("fbnet", 3)[1:]) + "\n")
    result = cli.invoke(
        app,
        [
            "measure",
            "--runner",
            "mock",
            "--space",
            "fbnet",
            "--archs",
            str(archs),
            "--out",
            str(tmp_path / "t"),
            "--device-name",
            "sim",
        ],
    )
    assert result.exit_code == 0, result.output
    assert read_table(tmp_path / "t", "fbnet").devices == ("sim",)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--space", "nb202", "--count", "2"], "nb202"),
        (["--space", "nb201"], "exactly one of --count N or --archs FILE"),
        (["--space", "nb201", "--count", "2", "--runner-x"], None),
        (["--space", "zoo", "--count", "41"], "at most 40"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, args, message) -> None:
    out = tmp_path / "out"
    result = cli.invoke(app, ["measure", "--runner", "mock", "--out", str(out), *args])
    if message is None:
        assert result.exit_code == 2  # typer's usage error
    else:
        assert message in _one_line_error(result)
    assert not list(out.rglob("*.csv"))


def test_bad_arch_file_names_the_line(tmp_path: Path) -> None:
    archs = tmp_path / "archs.txt"
    archs.write_text(plan_archs("nb201", 1)[0] + "\n|nor_conv_3x3~0|\n")
    result = cli.invoke(
        app,
        [
            "measure",
            "--runner",
            "mock",
            "--space",
            "nb201",
            "--archs",
            str(archs),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert "line 2" in _one_line_error(result)
    assert not (tmp_path / "out" / "nb201" / "archs.csv").exists()


def test_missing_runtime_and_unwritable_output(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "MNN", None)
    result = cli.invoke(
        app,
        [
            "measure",
            "--runner",
            "mnn",
            "--space",
            "nb201",
            "--count",
            "2",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert "pip install 'fewlat[mnn]'" in _one_line_error(result)
    blocker = tmp_path / "file"
    blocker.write_text("")
    result = cli.invoke(
        app,
        [
            "measure",
            "--runner",
            "mock",
            "--space",
            "nb201",
            "--count",
            "2",
            "--out",
            str(blocker / "sub"),
        ],
    )
    assert "Cannot write the table" in _one_line_error(result)
    result = cli.invoke(
        app,
        [
            "measure",
            "--runner",
            "table",
            "--space",
            "nb201",
            "--count",
            "2",
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert "--table ROOT --table-device D" in _one_line_error(result)

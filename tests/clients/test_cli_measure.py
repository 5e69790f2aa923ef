"""``fewlat-client measure`` driven through typer's runner."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from fewlat.clients import plan_archs
from fewlat.clients.cli import app
from fewlat.meta.tables import read_table

cli = CliRunner()


def _measure(options: str):
    """Invoke ``fewlat-client measure`` with ``options`` (a shell-quoted string)."""
    return cli.invoke(app, ["measure", *shlex.split(options)])


def _one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_measure_then_extend_with_onnxruntime(tmp_path: Path) -> None:
    base = f"--runner ort --threads 1 --space nb201 --out {tmp_path} --min-seconds 0.002"
    first = _measure(f"{base} --count 4")
    assert first.exit_code == 0, first.output
    table = read_table(tmp_path, "nb201")
    (device,) = table.devices
    assert device.endswith("-ort-1t") and len(table) == 4
    assert table.device_info[device]["threads"] == 1
    second = _measure(f"{base} --count 6")
    assert second.exit_code == 0, second.output
    grown = read_table(tmp_path, "nb201")
    assert grown.archs == tuple(plan_archs("nb201", 6))
    assert np.array_equal(grown.latency_ms[:4], table.latency_ms)  # nothing re-measured
    assert "6 archs of nb201 measured" in second.stdout


def test_measure_an_arch_file_with_a_named_device(tmp_path: Path) -> None:
    archs = tmp_path / "archs.txt"
    archs.write_text("\n".join(plan_archs("fbnet", 3)[1:]) + "\n")
    result = _measure(
        f"--runner mock --space fbnet --archs {archs} --out {tmp_path / 't'} --device-name sim"
    )
    assert result.exit_code == 0, result.output
    assert read_table(tmp_path / "t", "fbnet").devices == ("sim",)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ("--space nb202 --count 2", "nb202"),
        ("--space nb201", "exactly one of --count N or --archs FILE"),
        ("--space zoo --count 41", "at most 40"),
        ("--space nb201 --count 0", "'count'"),
        ("--space nb201 --count 2 --runner-x", None),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(tmp_path: Path, options, message) -> None:
    out = tmp_path / "out"
    result = _measure(f"--runner mock --out {out} {options}")
    if message is None:
        assert result.exit_code == 2  # typer's usage error
    else:
        assert message in _one_line_error(result)
    assert not list(out.rglob("*.csv"))


def test_bad_arch_file_names_the_line(tmp_path: Path) -> None:
    archs = tmp_path / "archs.txt"
    archs.write_text(plan_archs("nb201", 1)[0] + "\n|nor_conv_3x3~0|\n")
    result = _measure(f"--runner mock --space nb201 --archs {archs} --out {tmp_path / 'out'}")
    assert "line 2" in _one_line_error(result)
    assert not (tmp_path / "out" / "nb201" / "archs.csv").exists()


def test_missing_runtime_unwritable_output_and_incomplete_table_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    cases = {
        f"--runner mock --out {blocker / 'sub'}": "Cannot write the table",
        f"--runner table --out {tmp_path / 'out'}": "--table ROOT --table-device D",
        f"--runner mnn --out {tmp_path / 'out'}": "pip install 'fewlat[mnn]'",
    }
    monkeypatch.setitem(sys.modules, "MNN", None)
    for options, message in cases.items():
        assert message in _one_line_error(_measure(f"{options} --space nb201 --count 2"))
    assert not list(tmp_path.rglob("*.csv"))

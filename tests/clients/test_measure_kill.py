"""A real ``fewlat-client measure`` process, SIGKILLed mid-run, resumes without losing work."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from fewlat.meta.tables import read_table

pytestmark = pytest.mark.slow


def _command(out: Path) -> list[str]:
    script = shutil.which("fewlat-client") or str(Path(sys.executable).parent / "fewlat-client")
    return [
        script,
        "measure",
        "--runner",
        "ort",
        "--space",
        "nb201",
        "--count",
        "48",
        "--min-seconds",
        "0.05",
        "--out",
        str(out),
        "--device-name",
        "board",
    ]


def test_sigkill_then_restart_keeps_every_finished_block(tmp_path: Path) -> None:
    process = subprocess.Popen(
        _command(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    latency = tmp_path / "nb201" / "latency_ms.csv"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if latency.exists() and len(latency.read_text().splitlines()) > 16:
            break
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    kept = read_table(tmp_path, "nb201")
    finished = int(np.isfinite(kept.column("board")).sum())
    assert 16 <= finished < 48, "the kill should land mid-run"

    subprocess.run(_command(tmp_path), check=True, capture_output=True)
    done = read_table(tmp_path, "nb201")
    assert int(np.isfinite(done.column("board")).sum()) == 48
    column = kept.column("board")
    for arch, held_ms in zip(kept.archs, column, strict=True):
        if np.isfinite(held_ms):
            assert done.lookup_ms(arch, "board") == held_ms  # not re-measured

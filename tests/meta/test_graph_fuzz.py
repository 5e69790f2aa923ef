"""Thousands of mutated and truncated models: each encodes or raises a FewlatError."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO


def test_fuzzed_models_never_crash_hang_or_raise_undocumented_errors() -> None:
    cases = 5000
    proc = subprocess.run(
        [sys.executable, "-m", "tests.meta.fuzz_encoder", str(cases), "20261121"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    tail = (proc.stdout + proc.stderr)[-3000:]
    assert proc.returncode == 0, f"fuzz harness failed (rc={proc.returncode}):\n{tail}"
    assert "done" in proc.stdout, tail
    summary = proc.stdout.strip().splitlines()[-1]
    ok = int(summary.split("'ok': ")[1].split(",")[0])
    rejected = int(summary.split("'rejected': ")[1].rstrip("}"))
    assert ok + rejected == cases
    assert ok > 0 and rejected > 0  # both paths really exercised

"""Shared fixtures: paths to ../shared data, skipped cleanly when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_HELP = REPO.parent / "shared" / "data" / "help"
#: fewlat's own measured tables, shipped in the repo
MEASURED = REPO / "data" / "measured"


@pytest.fixture(scope="session")
def help_root() -> Path:
    """Root of HELP's published latency tables; skips the test when ../shared is absent."""
    if not (SHARED_HELP / "nb201" / "latency_ms.csv").is_file():
        pytest.skip("../shared/data/help is not present next to this checkout")
    return SHARED_HELP

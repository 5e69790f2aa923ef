"""Runner fixtures: one factory per runner, a fast timing method, and a small replay table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from fewlat.clients.runners import (
    MnnRunner,
    MockRunner,
    OnnxRuntimeRunner,
    Runner,
    TableRunner,
    TimingMethod,
)
from fewlat.meta.tables import LatencyTable, write_table
from fewlat.spaces import get_space

#: a quick but complete timing method: warm-up, two passes, re-measuring
FAST = TimingMethod(
    warmup_max_seconds=0.05, min_runs=4, min_seconds=0.002, max_seconds=0.5, passes=2
)
NB201 = get_space("nb201")
#: the supernet and a member with every edge dropped but one (far cheaper)
BIG = NB201.supernet()
SMALL = "|nor_conv_1x1~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|"
TABLE_MS = {BIG: 5.0, SMALL: 1.0}


def _table_root(tmp_path: Path) -> Path:
    root = tmp_path / "replayed"
    archs = tuple(TABLE_MS)
    table = LatencyTable(
        "nb201", np.arange(2), archs, ("board",), np.array([[TABLE_MS[a]] for a in archs])
    )
    write_table(table, root)
    return root


RUNNER_FACTORIES: dict[str, Callable[[Path], Runner]] = {
    "ort": lambda _: OnnxRuntimeRunner(method=FAST),
    "ort-noopt-2t": lambda _: OnnxRuntimeRunner(threads=2, optimization="disabled", method=FAST),
    "mnn": lambda _: MnnRunner(method=FAST),
    "mnn-module": lambda _: MnnRunner(api="module", method=FAST),
    "mock": lambda _: MockRunner(method=FAST),
    "table": lambda tmp: TableRunner(_table_root(tmp), "board"),
}


@pytest.fixture(params=sorted(RUNNER_FACTORIES))
def any_runner(request: pytest.FixtureRequest, tmp_path: Path) -> Runner:
    """Every runner kind, in turn."""
    return RUNNER_FACTORIES[request.param](tmp_path)

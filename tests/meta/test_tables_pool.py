"""read_pool: one table of a space from several roots (HELP's tables + fewlat's measured data)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fewlat.exceptions import InvalidParameterError, TableError
from fewlat.meta.tables import LatencyTable, read_pool, read_table, write_table
from tests.conftest import MEASURED

A, B, C = ("k3_e1-" * 22)[:-1], ("k5_e6-" * 22)[:-1], ("skip-" * 22)[:-1]


def _write(root: Path, folder: str, idx, archs, devices, values) -> None:
    table = LatencyTable(folder, np.array(idx), tuple(archs), tuple(devices), np.array(values))
    write_table(table, root)


def test_pool_joins_on_arch_and_keeps_first_ids(tmp_path: Path) -> None:
    _write(tmp_path / "one", "fbnet", [0, 1], [A, B], ["x"], [[1.0], [2.0]])
    _write(tmp_path / "two", "fbnet", [0, 7], [B, C], ["y"], [[3.0], [4.0]])
    pool = read_pool([tmp_path / "one", tmp_path / "two"], "fbnet")
    assert pool.archs == (A, B, C) and pool.devices == ("x", "y")
    assert pool.idx.tolist() == [0, 1, 7]
    assert pool.lookup_ms(B, "y") == 3.0 and np.isnan(pool.latency_ms[2, 0])
    assert np.isnan(pool.latency_ms[0, 1])


def test_pool_resolves_aliases_and_reports_clashes(tmp_path: Path) -> None:
    ofa = "ks=" + "-".join(["3"] * 20) + ":e=" + "-".join(["3"] * 20) + ":d=2-2-2-2-2:r=128"
    _write(tmp_path / "help", "ofa", [0], [ofa], ["gpu"], [[1.0]])
    _write(tmp_path / "mine", "ofa_mbv3", [0], [ofa], ["cpu"], [[9.0]])
    pool = read_pool([tmp_path / "help", tmp_path / "mine"], "ofa")
    assert pool.space == "ofa_mbv3" and pool.latency_ms.tolist() == [[1.0, 9.0]]
    _write(tmp_path / "again", "ofa", [0], [ofa], ["gpu"], [[2.0]])
    with pytest.raises(TableError, match="'gpu' appears in both"):
        read_pool([tmp_path / "help", tmp_path / "again"], "ofa_mbv3")
    with pytest.raises(TableError, match="None of"):
        read_pool([tmp_path / "help"], "nb201")
    with pytest.raises(InvalidParameterError, match="roots"):
        read_pool(str(tmp_path / "help"), "ofa")


def test_measured_dataset_pools_with_help(help_root: Path) -> None:
    measured = MEASURED
    for space, help_devices in (("nb201", 19), ("fbnet", 19), ("ofa", 9)):
        own = read_table(measured, read_pool([measured], space).space)
        pool = read_pool([help_root, measured], space)
        assert len(pool.devices) == help_devices + len(own.devices) and len(own.devices) >= 8
        shared = np.isfinite(pool.latency_ms[:, :help_devices]).any(axis=1)
        mine = np.isfinite(pool.latency_ms[:, help_devices:]).all(axis=1)
        assert (shared & mine).sum() >= min(300, len(own))  # the same archs, on both sides

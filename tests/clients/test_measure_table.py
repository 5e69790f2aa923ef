"""measure_table / plan_archs: resumable, atomic, and nothing written on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from fewlat.clients import measure_table, plan_archs, read_arch_file
from fewlat.clients.runners import MockRunner, ModelInput, Runner
from fewlat.exceptions import (
    InvalidArchError,
    InvalidModelError,
    InvalidParameterError,
    TableError,
    UnknownSpaceError,
)
from fewlat.meta.tables import read_table
from tests.clients.conftest import FAST, NB201


class CountingMock(MockRunner):
    """A MockRunner that records which archs it timed, and can fail on demand."""

    def __init__(self, *, fail_after: int | None = None, bad_arch: str | None = None, **kw):
        super().__init__(method=FAST, **kw)
        self.timed: list[str] = []
        self.fail_after = fail_after
        self.bad_arch = bad_arch

    def measure_many(self, models):
        if self.fail_after is not None and len(self.timed) >= self.fail_after:
            raise KeyboardInterrupt  # what a Ctrl-C or kill does mid-campaign
        if any(m.arch == self.bad_arch for m in models):
            raise InvalidModelError(f"cannot run {self.bad_arch}")
        self.timed += [m.arch for m in models]
        return super().measure_many(models)


def test_plan_is_a_prefix_and_starts_with_the_supernet() -> None:
    for space in ("nb201", "fbnet", "zoo"):
        small, large = plan_archs(space, 5), plan_archs(space, 12)
        assert large[:5] == small and len(set(large)) == 12
    assert plan_archs("nb201", 3)[0] == NB201.supernet()
    assert len(plan_archs("zoo", 40)) == 40
    with pytest.raises(InvalidParameterError, match="at most 40"):
        plan_archs("zoo", 41)
    with pytest.raises(InvalidParameterError, match="count"):
        plan_archs("nb201", 0)


def test_growing_the_count_measures_only_new_archs(tmp_path: Path) -> None:
    runner = CountingMock()
    first = measure_table({"sim": runner}, "nb201", plan_archs("nb201", 5), tmp_path)
    assert len(runner.timed) == 5
    runner.timed.clear()
    second = measure_table({"sim": runner}, "nb201", plan_archs("nb201", 8), tmp_path)
    assert runner.timed == plan_archs("nb201", 8)[5:]
    for arch in first.archs:
        assert second.lookup_ms(arch, "sim") == first.lookup_ms(arch, "sim")
    on_disk = read_table(tmp_path, "nb201")
    assert on_disk == second and np.isfinite(on_disk.column("sim")).all()
    info = on_disk.device_info["sim"]
    assert info["runtime"] == "mock" and info["timing"]["passes"] == FAST.passes
    assert info["noisy_archs"] == [] and "host" in info


def test_killed_campaign_resumes_without_losing_or_redoing_work(tmp_path: Path) -> None:
    archs = plan_archs("nb201", 10)
    dying = CountingMock(fail_after=4)
    blocks: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        measure_table(
            {"sim": dying},
            "nb201",
            archs,
            tmp_path,
            block_size=2,
            on_block=lambda done, total: blocks.append(done),
        )
    kept = read_table(tmp_path, "nb201")
    assert int(np.isfinite(kept.column("sim")).sum()) == 4 and blocks == [0, 2, 4]
    again = CountingMock()
    done = measure_table({"sim": again}, "nb201", archs, tmp_path, block_size=2)
    assert again.timed == archs[4:]
    assert all(done.lookup_ms(a, "sim") == kept.lookup_ms(a, "sim") for a in archs[:4])


def test_several_runners_share_each_block(tmp_path: Path) -> None:
    slow, fast = CountingMock(ms_per_gmac=20.0), CountingMock(ms_per_gmac=5.0)
    table = measure_table({"slow": slow, "fast": fast}, "nb201", plan_archs("nb201", 4), tmp_path)
    assert table.devices == ("slow", "fast")
    ratio = table.column("slow") / table.column("fast")
    assert np.all(ratio > 1.5)


def test_interrupted_write_between_the_two_files_still_reads(tmp_path: Path) -> None:
    measure_table({"sim": CountingMock()}, "nb201", plan_archs("nb201", 3), tmp_path)
    folder = tmp_path / "nb201"
    before = (folder / "latency_ms.csv").read_text()
    measure_table({"sim": CountingMock()}, "nb201", plan_archs("nb201", 5), tmp_path)
    (folder / "latency_ms.csv").write_text(before)  # as if killed between the two os.replace
    table = read_table(tmp_path, "nb201")
    assert len(table) == 5 and int(np.isfinite(table.column("sim")).sum()) == 3
    runner = CountingMock()
    measure_table({"sim": runner}, "nb201", plan_archs("nb201", 5), tmp_path)
    assert runner.timed == plan_archs("nb201", 5)[3:]


def test_failures_are_recorded_and_skipped_when_asked(tmp_path: Path) -> None:
    archs = plan_archs("nb201", 4)
    with pytest.raises(InvalidModelError):
        measure_table({"sim": CountingMock(bad_arch=archs[2])}, "nb201", archs, tmp_path)
    table = measure_table(
        {"sim": CountingMock(bad_arch=archs[2])}, "nb201", archs, tmp_path, skip_failures=True
    )
    failed = table.device_info["sim"]["failed_archs"]
    assert list(failed) == [archs[2]] and "cannot run" in failed[archs[2]]
    assert archs[2] not in table or np.isnan(table.column("sim")[table.row_of(archs[2])])
    retry = CountingMock()
    measure_table({"sim": retry}, "nb201", archs, tmp_path, skip_failures=True)
    assert retry.timed == []


def _assert_nothing_written(root: Path) -> None:
    assert not (root / "nb201" / "archs.csv").exists()


def test_bad_input_writes_no_table(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(UnknownSpaceError):
        measure_table({"sim": CountingMock()}, "nb202", ["x"], out)
    with pytest.raises(InvalidArchError):
        measure_table({"sim": CountingMock()}, "nb201", [plan_archs("nb201", 1)[0], "|bad|"], out)
    _assert_nothing_written(out)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(TableError, match="Cannot write"):
        measure_table({"sim": CountingMock()}, "nb201", plan_archs("nb201", 2), blocker / "x")


def test_a_device_name_cannot_change_settings(tmp_path: Path) -> None:
    from fewlat.clients.runners import OnnxRuntimeRunner

    archs = plan_archs("nb201", 2)
    measure_table({"board": OnnxRuntimeRunner(method=FAST)}, "nb201", archs, tmp_path)
    before = (tmp_path / "nb201" / "latency_ms.csv").read_text()
    with pytest.raises(TableError, match="threads: 1 in the table, 2 now"):
        measure_table(
            {"board": OnnxRuntimeRunner(threads=2, method=FAST)},
            "nb201",
            plan_archs("nb201", 3),
            tmp_path,
        )
    assert (tmp_path / "nb201" / "latency_ms.csv").read_text() == before


def test_arch_file_reports_the_bad_line(tmp_path: Path) -> None:
    good = plan_archs("fbnet", 2)
    path = tmp_path / "archs.txt"
    path.write_text(f"# two archs\n{good[0]}\n\n{good[1]}  # trailing note\n{good[0]}\n")
    assert read_arch_file(path, "fbnet") == good
    path.write_text(f"{good[0]}\nk3_e1-nope\n")
    with pytest.raises(InvalidArchError, match="line 2"):
        read_arch_file(path, "fbnet")


def test_runner_protocol_is_what_measure_table_uses(tmp_path: Path) -> None:
    assert issubclass(CountingMock, Runner)
    assert ModelInput(b"x").onnx_bytes() == b"x"
    json.dumps(CountingMock().describe())

"""Tests of fewlat.meta.tables: format v1 read/write, validation, LatencyTable semantics."""

from __future__ import annotations

import dataclasses
import filecmp
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest

import fewlat.meta.tables as tables
from fewlat.exceptions import InvalidParameterError, TableEntryMissingError, TableError
from fewlat.meta.tables import LatencyTable, list_table_spaces, read_table, write_table
from fewlat.meta.tables._arch_columns import split_arch_columns

NAN = math.nan


def _table(**overrides) -> LatencyTable:
    fields = {
        "space": "toy",
        "idx": [0, 1, 2],
        "archs": ("a", "b", "c"),
        "devices": ("cpu", "gpu"),
        "latency_ms": [[1.5, 0.25], [2.0, NAN], [0.1 + 0.2, 7e-3]],
        "device_info": {"cpu": {"hardware": "x86", "threads": 4}},
    }
    fields.update(overrides)
    return LatencyTable(**fields)


def _write_space(root: Path, archs: str, latency: str, devices: str | None = None) -> Path:
    folder = root / "toy"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "archs.csv").write_text(archs)
    (folder / "latency_ms.csv").write_text(latency)
    if devices is not None:
        (folder / "devices.json").write_text(devices)
    return folder


def test_public_api() -> None:
    assert sorted(tables.__all__) == sorted(
        [
            "ARCHS_CSV",
            "DEVICES_JSON",
            "LATENCY_CSV",
            "LatencyTable",
            "list_table_spaces",
            "read_pool",
            "read_table",
            "space_folder",
            "write_table",
        ]
    )
    assert all(hasattr(tables, name) for name in tables.__all__)


# ---------------------------------------------------------------- round trips


def test_round_trip_with_missing_cells_and_device_info(tmp_path: Path) -> None:
    table = _table(
        latency_ms=[[1.5, 5e-324], [2.0, NAN], [0.1 + 0.2, 1.7976931348623157e308]],
    )
    folder = write_table(table, str(tmp_path))
    assert folder == tmp_path / "toy"
    assert (folder / "latency_ms.csv").read_text().splitlines() == [
        "idx,cpu,gpu",
        "0,1.5,5e-324",
        "1,2.0,",
        "2,0.30000000000000004,1.7976931348623157e+308",
    ]
    assert json.loads((folder / "devices.json").read_text()) == table.device_info
    back = read_table(tmp_path, "toy")
    assert back == table
    assert back.lookup_ms("c", "cpu") == 0.1 + 0.2  # exact, not approximately
    assert np.isnan(back.latency_ms[1, 1])
    assert sorted(p.name for p in folder.iterdir()) == [
        "archs.csv",
        "devices.json",
        "latency_ms.csv",
    ]  # no temp files left behind


def test_round_trip_plain_strings_that_need_quoting(tmp_path: Path) -> None:
    archs = ("resnet18:w=1.0:r=224", "with,comma", 'with "quotes"', "x=1:y=2")
    table = _table(idx=[3, 10, 11, 12], archs=archs, latency_ms=[[1.0, 2.0]] * 4, device_info={})
    write_table(table, tmp_path)
    header = (tmp_path / "toy" / "archs.csv").read_text().splitlines()[0]
    assert header == "idx,arch"  # mixed forms: written as plain strings
    assert not (tmp_path / "toy" / "devices.json").exists()
    assert read_table(tmp_path, "toy") == table


def test_multi_column_archs_round_trip_byte_identical(tmp_path: Path) -> None:
    archs_csv = "idx,ks,e,d,r\r\n0,7-5-3,6-4-3,2-2,204\r\n1,3-3-3,3-3-3,4-4,136\r\n"
    latency_csv = "idx,v100_1\r\n0,12.5\r\n1,\r\n"
    src = _write_space(tmp_path / "src", archs_csv, latency_csv)
    table = read_table(tmp_path / "src", "toy")
    assert table.archs == ("ks=7-5-3:e=6-4-3:d=2-2:r=204", "ks=3-3-3:e=3-3-3:d=4-4:r=136")
    out = write_table(table, tmp_path / "out")
    for name in ("archs.csv", "latency_ms.csv"):
        assert (out / name).read_bytes() == (src / name).read_bytes()


def test_split_arch_columns_only_when_all_keys_agree() -> None:
    assert split_arch_columns(["a=1:b=2", "a=3:b=4"]) == (("a", "b"), [("1", "2"), ("3", "4")])
    assert split_arch_columns(["a=1:b=2", "b=3:a=4"]) is None  # other order
    assert split_arch_columns(["a=1:b=2", "a=3"]) is None
    assert split_arch_columns(["arch=1"]) is None  # would read back as a plain column
    assert split_arch_columns(["idx=1:b=2"]) is None
    assert split_arch_columns(["a=1:a=2"]) is None
    assert split_arch_columns(["|op~0|+|op~1|"]) is None
    assert split_arch_columns([]) is None


def test_multi_column_with_equals_in_values_round_trips(tmp_path: Path) -> None:
    table = _table(archs=("k=v=1:n=2", "k=x:n=", "k=:n=3"), device_info={})
    write_table(table, tmp_path)
    assert (tmp_path / "toy" / "archs.csv").read_text().splitlines()[0] == "idx,k,n"
    assert read_table(tmp_path, "toy") == table


def test_rows_follow_archs_csv_when_latency_rows_are_reordered(tmp_path: Path) -> None:
    _write_space(tmp_path, "idx,arch\n5,a\n7,b\n", "idx,cpu\n7,2.0\n5,1.0\n")
    table = read_table(tmp_path, "toy")
    assert table.idx.tolist() == [5, 7]
    assert table.column("cpu").tolist() == [1.0, 2.0]


def test_blank_lines_and_bom_are_tolerated(tmp_path: Path) -> None:
    _write_space(tmp_path, "\ufeffidx,arch\n0,a\n\n1,b\n\n", "idx,cpu\n0,1\n1,2\n")
    assert read_table(tmp_path, "toy").archs == ("a", "b")


def test_write_removes_stale_devices_json(tmp_path: Path) -> None:
    write_table(_table(), tmp_path)
    assert (tmp_path / "toy" / "devices.json").exists()
    write_table(_table(device_info={}), tmp_path)
    assert not (tmp_path / "toy" / "devices.json").exists()
    assert read_table(tmp_path, "toy").device_info == {}


def test_write_rejects_non_json_device_info(tmp_path: Path) -> None:
    with pytest.raises(TableError, match="device_info cannot be written as JSON"):
        write_table(_table(device_info={"cpu": {"when": object()}}), tmp_path)
    with pytest.raises(InvalidParameterError, match="'table' parameter of write_table"):
        write_table("toy", tmp_path)  # type: ignore[arg-type]


def test_list_table_spaces(tmp_path: Path) -> None:
    write_table(_table(space="b"), tmp_path)
    write_table(_table(space="a"), tmp_path)
    (tmp_path / "not_a_table").mkdir()
    assert list_table_spaces(tmp_path) == ["a", "b"]
    with pytest.raises(TableError, match="is not a directory"):
        list_table_spaces(tmp_path / "missing")


# ------------------------------------------------------------ read validation

_HEADER_OK = "idx,arch\n0,a\n1,b\n"
_LAT_OK = "idx,cpu\n0,1.0\n1,2.0\n"


@pytest.mark.parametrize(
    ("archs", "latency", "pattern"),
    [
        ("", _LAT_OK, r"archs\.csv: the file is empty"),
        ("id,arch\n0,a\n", _LAT_OK, r"archs\.csv, line 1: the header must start with 'idx'"),
        (_HEADER_OK, "idx\n0\n1\n", r"latency_ms\.csv, line 1: the header must start"),
        (_HEADER_OK, "idx,cpu,cpu\n0,1,1\n1,2,2\n", r"line 1: column 'cpu' appears twice"),
        (_HEADER_OK, "idx,cpu,\n0,1,1\n1,2,2\n", r"line 1: header column 3 has no name"),
        ("idx,arch\n0,a\n0,b\n", _LAT_OK, r"archs\.csv, line 3: idx 0 already appears on line 2"),
        (_HEADER_OK, "idx,cpu\n0,1\n1,2\n01,3\n", r"latency_ms\.csv, line 4: idx 1 already"),
        ("idx,arch\n0,a\n-1,b\n", _LAT_OK, r"line 3: idx '-1' is not a non-negative integer"),
        ("idx,arch\n0,a\n1.0,b\n", _LAT_OK, r"line 3: idx '1.0' is not a non-negative integer"),
        ("idx,arch\n0,a\n1,a\n", _LAT_OK, r"line 3: arch 'a' already appears on line 2"),
        ("idx,arch\n0,a\n1,\n", _LAT_OK, r"archs\.csv, line 3: the arch is empty"),
        ("idx,arch\n0,a\n1,b,c\n", _LAT_OK, r"line 3: the row has 3 fields but the header has 2"),
        (_HEADER_OK, "idx,cpu\n0,1\n1,fast\n", r"line 3: the 'cpu' cell 'fast' is not a number"),
        (_HEADER_OK, "idx,cpu\n0,1\n1,-2\n", r"line 3: the 'cpu' cell is '-2'.*> 0 ms"),
        (_HEADER_OK, "idx,cpu\n0,0\n1,2\n", r"line 2: the 'cpu' cell is '0'.*> 0 ms"),
        (_HEADER_OK, "idx,cpu\n0,1\n1,inf\n", r"line 3: the 'cpu' cell is 'inf'.*finite"),
        (_HEADER_OK, "idx,cpu\n0,nan\n1,2\n", r"line 2: the 'cpu' cell is 'nan'.*empty"),
        (
            "idx,arch\n0,a\n1,b\n2,c\n",
            "idx,cpu\n0,1\n1,2\n9,3\n",
            r"list different idx: 1 \(e\.g\. 2\) only in archs\.csv "
            r"and 1 \(e\.g\. 9\) only in latency_ms\.csv",
        ),
    ],
)
def test_malformed_csv_is_rejected_with_file_and_line(
    tmp_path: Path, archs: str, latency: str, pattern: str
) -> None:
    _write_space(tmp_path, archs, latency)
    with pytest.raises(TableError, match=pattern):
        read_table(tmp_path, "toy")


@pytest.mark.parametrize(
    ("devices", "pattern"),
    [
        ('{"cpu": {"runtime": "ort"', r"devices\.json, line 1: not valid JSON"),
        ('[{"cpu": 1}]', r"devices\.json: the top level is a list.*JSON object of objects"),
        ('{"cpu": "x86"}', r"devices\.json: the entry 'cpu' is 'x86', not an object"),
    ],
)
def test_malformed_devices_json_is_rejected(tmp_path: Path, devices: str, pattern: str) -> None:
    _write_space(tmp_path, _HEADER_OK, _LAT_OK, devices)
    with pytest.raises(TableError, match=pattern):
        read_table(tmp_path, "toy")


def test_devices_json_naming_absent_device_warns_and_keeps_it(tmp_path: Path) -> None:
    info = {"cpu": {"threads": 1}, "gone": {"runtime": "mnn"}}
    _write_space(tmp_path, _HEADER_OK, _LAT_OK, json.dumps(info))
    with pytest.warns(UserWarning, match="devices with no column in latency_ms.csv: 'gone'"):
        table = read_table(tmp_path, "toy")
    assert table.device_info == info
    write_table(table, tmp_path / "out")
    assert json.loads((tmp_path / "out" / "toy" / "devices.json").read_text()) == info


def test_missing_files_and_folders(tmp_path: Path) -> None:
    write_table(_table(space="nb201"), tmp_path)
    with pytest.raises(TableError, match=r"No table folder .*toy.*spaces under .* are: 'nb201'"):
        read_table(tmp_path, "toy")
    (tmp_path / "nb201" / "latency_ms.csv").unlink()
    with pytest.raises(TableError, match=r"latency_ms\.csv: file not found"):
        read_table(tmp_path, "nb201")
    with pytest.raises(InvalidParameterError, match="'space' parameter of read_table"):
        read_table(tmp_path, "../nb201")


def test_near_zero_positive_latency_is_kept(tmp_path: Path) -> None:
    _write_space(tmp_path, _HEADER_OK, "idx,pixel3\n0,0.00327686\n1,2\n")
    assert read_table(tmp_path, "toy").lookup_ms("a", "pixel3") == 0.00327686


# --------------------------------------------------------------- LatencyTable


def test_lookups_and_their_errors() -> None:
    table = _table()
    assert len(table) == 3
    assert "b" in table and "z" not in table
    assert table.row_of("c") == 2
    assert table.lookup_ms("a", "gpu") == 0.25
    assert table.column("cpu").tolist() == [1.5, 2.0, 0.1 + 0.2]
    assert table.measured_mask.tolist() == [[True, True], [True, False], [True, True]]
    with pytest.raises(TableEntryMissingError, match=r"Device 'tpu' .* devices are: 'cpu', 'gpu'"):
        table.column("tpu")
    with pytest.raises(
        TableEntryMissingError, match="Arch 'z' is not in table 'toy' \\(3 archs\\)"
    ):
        table.lookup_ms("z", "cpu")
    with pytest.raises(TableEntryMissingError, match=r"arch 'b' on device 'gpu'.*empty"):
        table.lookup_ms("b", "gpu")
    with pytest.raises(KeyError):  # TableEntryMissingError is also a KeyError
        table.row_of("z")


def test_repr() -> None:
    assert repr(_table()) == (
        "LatencyTable(space='toy', archs=3, devices=2 [cpu, gpu], measured=5/6)"
    )


def test_table_is_immutable() -> None:
    table = _table()
    with pytest.raises(dataclasses.FrozenInstanceError):
        table.space = "other"  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        table.latency_ms[0, 0] = 9.0
    with pytest.raises(ValueError, match="read-only"):
        table.column("cpu")[0] = 9.0
    with pytest.raises(ValueError, match="read-only"):
        table.idx[0] = 9
    source = np.array([[1.0], [2.0]])
    copied = LatencyTable("toy", [0, 1], ("a", "b"), ("cpu",), source)
    source[0, 0] = 99.0
    assert copied.lookup_ms("a", "cpu") == 1.0


@pytest.mark.parametrize(
    ("overrides", "pattern"),
    [
        ({"space": "a/b"}, "plain folder name"),
        ({"archs": ("a", "b", "a")}, "arch 'a' appears twice"),
        ({"archs": ("a", "", "c")}, "non-empty string on one line"),
        ({"devices": ("cpu", "cpu")}, "device 'cpu' appears twice"),
        ({"devices": ("idx", "gpu")}, "'idx' is reserved"),
        ({"idx": [0, 1, 1]}, "idx 1 appears twice"),
        ({"idx": [0, -1, 2]}, "idx must be >= 0"),
        ({"idx": [0.0, 1.0, 2.0]}, "idx must hold integers"),
        ({"idx": [0, 1]}, "idx has 2 entries but there are 3 archs"),
        ({"latency_ms": [[1.0, 2.0]]}, r"shape \(1, 2\)"),
        ({"latency_ms": [[1.0, 2.0], [0.0, 1.0], [1.0, 1.0]]}, "finite and > 0 ms"),
        ({"latency_ms": [[1.0, 2.0], [math.inf, 1.0], [1.0, 1.0]]}, "finite and > 0 ms"),
        ({"device_info": {"cpu": 3}}, "device_info must map device name"),
    ],
)
def test_constructor_validation(overrides: dict, pattern: str) -> None:
    with pytest.raises(TableError, match=pattern):
        _table(**overrides)


def test_empty_table_round_trips(tmp_path: Path) -> None:
    table = LatencyTable("toy", [], (), ("cpu",), np.empty((0, 1)))
    write_table(table, tmp_path)
    assert read_table(tmp_path, "toy") == table
    grown = table.with_measurements("cpu", {"a": 1.0})
    assert grown.idx.tolist() == [0]


def test_with_measurements_adds_rows_and_column_in_a_new_table() -> None:
    table = _table()
    new = table.with_measurements("board", {"b": 3.0, "new1": 4.0, "new2": 5.0}, {"os": "linux"})
    assert new is not table
    assert table.devices == ("cpu", "gpu") and len(table) == 3  # unchanged
    assert "board" not in table.device_info
    assert new.devices == ("cpu", "gpu", "board")
    assert new.archs == ("a", "b", "c", "new1", "new2")
    assert new.idx.tolist() == [0, 1, 2, 3, 4]
    assert new.lookup_ms("b", "board") == 3.0
    assert new.lookup_ms("new2", "board") == 5.0
    assert np.isnan(new.column("cpu")[3:]).all()
    assert np.isnan(new.column("board")[[0, 2]]).all()
    assert new.device_info["board"] == {"os": "linux"}
    assert new.device_info["cpu"] == table.device_info["cpu"]


def test_with_measurements_fresh_idx_follow_the_largest() -> None:
    table = _table(idx=[10, 3, 7])
    assert table.with_measurements("cpu", {"d": 1.0}).idx.tolist() == [10, 3, 7, 11]


def test_with_measurements_does_not_overwrite_by_default() -> None:
    table = _table()
    with pytest.raises(TableError, match=r"'a': 1\.5 ms held, 9\.0 ms given.*overwrite=True"):
        table.with_measurements("cpu", {"a": 9.0})
    assert table.lookup_ms("a", "cpu") == 1.5
    same = table.with_measurements("cpu", {"a": 1.5})  # same value: no conflict
    assert same == table
    filled = table.with_measurements("gpu", {"b": 4.0})  # empty cell: filled
    assert filled.lookup_ms("b", "gpu") == 4.0
    replaced = table.with_measurements("cpu", {"a": 9.0}, {"threads": 8}, overwrite=True)
    assert replaced.lookup_ms("a", "cpu") == 9.0
    assert replaced.device_info["cpu"] == {"hardware": "x86", "threads": 8}
    with pytest.raises(TableError, match=r"info 'threads': 4 held, 8 given"):
        table.with_measurements("cpu", {}, {"threads": 8})


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (("", {"a": 1.0}), "'device' parameter"),
        (("idx", {"a": 1.0}), "'device' parameter"),
        (("cpu", [("a", 1.0)]), "'latency_ms' parameter .* a mapping"),
        (("cpu", {"a": 0.0}), r"finite values > 0 \(ms\); arch 'a' has"),
        (("cpu", {"a": math.nan}), "finite values > 0"),
        (("cpu", {"a": "slow"}), "finite values > 0"),
        (("cpu", {"": 1.0}), "non-empty one-line arch strings"),
        (("cpu", {"a": 1.0}, ["x"]), "'info' parameter"),
    ],
)
def test_with_measurements_rejects_bad_arguments(args: tuple, pattern: str) -> None:
    with pytest.raises(InvalidParameterError, match=pattern):
        _table().with_measurements(*args)


def test_select_devices() -> None:
    table = _table()
    picked = table.select_devices(["gpu"])
    assert picked.devices == ("gpu",)
    assert picked.device_info == {}
    assert np.array_equal(picked.column("gpu"), table.column("gpu"), equal_nan=True)
    swapped = table.select_devices(("gpu", "cpu"))
    assert swapped.latency_ms[0].tolist() == [0.25, 1.5]
    with pytest.raises(TableEntryMissingError, match="'tpu'"):
        table.select_devices(["tpu"])
    with pytest.raises(InvalidParameterError, match="iterable of device names"):
        table.select_devices("gpu")
    with pytest.raises(InvalidParameterError, match="without repeats"):
        table.select_devices(["gpu", "gpu"])


# ---------------------------------------------------------------- HELP data

_HELP_SHAPES = {"nb201": (15_625, 19), "fbnet": (5_000, 19), "ofa": (5_000, 9)}
_HELP_DEVICES = {
    "nb201": "1080ti_1,1080ti_256,1080ti_32,2080ti_1,2080ti_256,2080ti_32,essential_ph_1,"
    "gold_6240,pixel3,samsung_a50,samsung_s7,silver_4114,silver_4210r,titanx_1,titanx_256,"
    "titanx_32,titanxp_1,titanxp_256,titanxp_32",
    "fbnet": "1080ti_1,1080ti_32,1080ti_64,2080ti_1,2080ti_32,2080ti_64,essential_ph_1,"
    "gold_6240,pixel3,samsung_a50,samsung_s7,silver_4114,silver_4210r,titanx_1,titanx_32,"
    "titanx_64,titanxp_1,titanxp_32,titanxp_64",
    "ofa": "2080ti_1,2080ti_32,2080ti_64,titan_xp_1,titan_xp_32,titan_xp_64,v100_1,v100_32,v100_64",
}


@pytest.fixture(scope="module")
def help_tables(help_root: Path) -> dict[str, LatencyTable]:
    """HELP's three tables, read once for this module."""
    return {space: read_table(help_root, space) for space in _HELP_SHAPES}


@pytest.mark.parametrize("space", sorted(_HELP_SHAPES))
def test_help_tables(help_tables: dict[str, LatencyTable], space: str) -> None:
    table = help_tables[space]
    assert table.space == space
    assert table.latency_ms.shape == _HELP_SHAPES[space]
    assert ",".join(table.devices) == _HELP_DEVICES[space]
    assert table.idx.tolist() == list(range(len(table)))
    assert table.measured_mask.all()
    assert (table.latency_ms > 0).all()
    assert len(set(table.archs)) == len(table)


def test_help_known_quirks(help_root: Path, help_tables: dict[str, LatencyTable]) -> None:
    nb201 = help_tables["nb201"]
    assert nb201.column("pixel3").min() < 0.01  # near-zero outliers are kept
    assert nb201.archs[0].startswith("|avg_pool_3x3~0|+|")
    phone = nb201.column("samsung_s7")
    assert np.array_equal(phone, np.round(phone))  # whole milliseconds
    ofa = help_tables["ofa"]
    assert re.fullmatch(
        r"ks=[357](-[357]){19}:e=[346](-[346]){19}:d=[234](-[234]){4}:r=\d+", ofa.archs[0]
    )
    assert list_table_spaces(help_root) == ["fbnet", "nb201", "ofa"]


def test_help_nb201_round_trips_exactly(
    help_root: Path, help_tables: dict[str, LatencyTable], tmp_path: Path
) -> None:
    table = help_tables["nb201"]
    folder = write_table(table, tmp_path)
    for name in ("archs.csv", "latency_ms.csv"):
        assert filecmp.cmp(help_root / "nb201" / name, folder / name, shallow=False)
    assert read_table(tmp_path, "nb201") == table


def test_help_ofa_round_trips_in_its_columns(
    help_root: Path, help_tables: dict[str, LatencyTable], tmp_path: Path
) -> None:
    folder = write_table(help_tables["ofa"], tmp_path)
    assert filecmp.cmp(help_root / "ofa" / "archs.csv", folder / "archs.csv", shallow=False)


@pytest.mark.parametrize("rows", ["0,2.5\n", ""])
def test_archs_listed_before_their_latency_row_read_as_nan(tmp_path: Path, rows: str) -> None:
    # the state an interrupted measurement leaves: archs.csv is written first
    folder = tmp_path / "nb201"
    folder.mkdir()
    a, b = (
        "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",
        ("|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"),
    )
    (folder / "archs.csv").write_text(f"idx,arch\n0,{a}\n1,{b}\n")
    (folder / "latency_ms.csv").write_text("idx,board\n" + rows)
    table = read_table(tmp_path, "nb201")
    assert table.devices == ("board",)
    expected = [2.5, np.nan] if rows else [np.nan, np.nan]
    np.testing.assert_array_equal(table.column("board"), expected)

"""Parse the files of one table folder, with errors that name the file and line.

Each function reads one file of latency-table format v1 and checks what can be
checked from that file alone; :func:`align_rows` checks the two CSV files
against each other.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from fewlat.exceptions import TableError
from fewlat.meta.tables._arch_columns import PLAIN_COLUMN, join_arch_columns

__all__ = ["align_rows", "parse_archs_csv", "parse_devices_json", "parse_latency_csv"]

_MAX_LISTED = 5


def _fail(path: Path, line: int | None, problem: str, fix: str) -> TableError:
    where = f"{path}, line {line}" if line is not None else f"{path}"
    return TableError(f"{where}: {problem}. {fix}")


def _read_csv(path: Path) -> tuple[list[str], list[list[str]], list[int]]:
    """Return the header, the data rows and each row's line number; blank lines are skipped."""
    rows: list[list[str]] = []
    lines: list[int] = []
    header: list[str] | None = None
    header_line = 0
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            try:
                for row in reader:
                    if not row:
                        continue
                    if header is None:
                        header, header_line = row, reader.line_num
                        continue
                    if len(row) != len(header):
                        raise _fail(
                            path,
                            reader.line_num,
                            f"the row has {len(row)} fields but the header has {len(header)}",
                            "Give every row one cell per header column "
                            "(leave a latency cell empty when it was not measured).",
                        )
                    rows.append(row)
                    lines.append(reader.line_num)
            except csv.Error as err:
                raise _fail(
                    path, reader.line_num, f"not valid CSV ({err})", "Fix the quoting."
                ) from err
    except FileNotFoundError:
        raise _fail(
            path, None, "file not found", "A table folder needs archs.csv and latency_ms.csv."
        ) from None
    except UnicodeDecodeError as err:
        raise _fail(path, None, f"not UTF-8 text ({err})", "Save the file as UTF-8.") from err
    except OSError as err:
        raise _fail(
            path, None, f"cannot be read ({err})", "Check the path and permissions."
        ) from err
    if header is None:
        raise _fail(path, None, "the file is empty", "It needs a header row starting with 'idx'.")
    _check_header(path, header_line, header)
    return header, rows, lines


def _check_header(path: Path, line: int, header: list[str]) -> None:
    example = "idx,arch" if path.name.startswith("archs") else "idx,<device>,<device>,…"
    if header[0] != "idx" or len(header) < 2:
        raise _fail(
            path,
            line,
            f"the header must start with 'idx' and name at least one more column; "
            f"got {','.join(header)!r}",
            f"Write a header like {example!r}.",
        )
    seen: dict[str, int] = {}
    for pos, name in enumerate(header):
        if not name:
            raise _fail(path, line, f"header column {pos + 1} has no name", "Name every column.")
        if name in seen:
            raise _fail(
                path,
                line,
                f"column {name!r} appears twice in the header (columns {seen[name] + 1} "
                f"and {pos + 1})",
                "Column names (device names) must be unique; rename or merge one.",
            )
        seen[name] = pos


def _parse_idx(path: Path, rows: list[list[str]], lines: list[int]) -> np.ndarray:
    """The first column as int64, checked to be unique non-negative integers."""
    first_line: dict[str, int] = {}
    for row, line in zip(rows, lines, strict=True):
        cell = row[0]
        if not (cell.isascii() and cell.isdigit() and len(cell) <= 18):
            raise _fail(
                path,
                line,
                f"idx {cell!r} is not a non-negative integer of at most 18 digits",
                "Use 0, 1, 2, … as ids.",
            )
        key = cell.lstrip("0") or "0"
        if key in first_line:
            raise _fail(
                path,
                line,
                f"idx {int(cell)} already appears on line {first_line[key]}",
                "Each idx must appear once; remove or renumber the duplicate row.",
            )
        first_line[key] = line
    return np.array([int(row[0]) for row in rows], dtype=np.int64)


def parse_archs_csv(path: Path) -> tuple[np.ndarray, list[str]]:
    """Read ``archs.csv``.

    Returns:
        ``(idx, archs)`` in file order; multi-column rows are joined into
        ``col=value:…`` arch strings.

    Raises:
        TableError: missing or malformed file, bad or duplicate idx, empty or
            duplicate arch; the message gives the line.
    """
    header, rows, lines = _read_csv(path)
    idx = _parse_idx(path, rows, lines)
    columns = header[1:]
    if columns == [PLAIN_COLUMN]:
        archs = [row[1] for row in rows]
    else:
        archs = [join_arch_columns(columns, row[1:]) for row in rows]
    first_line: dict[str, int] = {}
    for arch, line in zip(archs, lines, strict=True):
        if not arch:
            raise _fail(path, line, "the arch is empty", "Give every row its arch string.")
        if arch in first_line:
            raise _fail(
                path,
                line,
                f"arch {arch!r} already appears on line {first_line[arch]}",
                "Each arch must appear once; merge the two rows.",
            )
        first_line[arch] = line
    return idx, archs


def parse_latency_csv(path: Path) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Read ``latency_ms.csv``.

    Returns:
        ``(idx, devices, latency_ms)`` in file order; ``latency_ms`` is float64
        shaped ``(n_rows, n_devices)`` with NaN for empty cells.

    Raises:
        TableError: missing or malformed file, bad or duplicate idx, duplicate
            device, a cell that is not a number or not finite and > 0; the
            message gives the line and device.
    """
    header, rows, lines = _read_csv(path)
    idx = _parse_idx(path, rows, lines)
    devices = header[1:]
    cells = [cell for row in rows for cell in row[1:]]
    try:
        values = [float(cell) if cell else math.nan for cell in cells]
    except ValueError:
        values = []
        for pos, cell in enumerate(cells):
            try:
                values.append(float(cell) if cell else math.nan)
            except ValueError:
                row, col = divmod(pos, len(devices))
                raise _fail(
                    path,
                    lines[row],
                    f"the {devices[col]!r} cell {cell!r} is not a number",
                    "Write latencies in milliseconds as decimal numbers, "
                    "and leave a cell empty when it was not measured.",
                ) from None
    latency = np.array(values, dtype=np.float64).reshape(len(rows), len(devices))
    empty = np.array([not cell for cell in cells], dtype=bool).reshape(latency.shape)
    bad = ~empty & ~((latency > 0) & np.isfinite(latency))
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad)[0])
        cell = rows[row][col + 1]
        fix = (
            "Leave the cell empty for a value that was not measured; it is the only missing marker."
            if math.isnan(latency[row, col])
            else "Latencies must be finite and > 0 ms; remove the value or leave the cell empty."
        )
        raise _fail(path, lines[row], f"the {devices[col]!r} cell is {cell!r}", fix)
    return idx, devices, latency


def align_rows(
    archs_path: Path, archs_idx: np.ndarray, latency_path: Path, latency_idx: np.ndarray
) -> np.ndarray | None:
    """Map latency rows to arch rows.

    An idx listed in ``archs.csv`` but not in ``latency_ms.csv`` is an arch not
    measured yet (a write interrupted between the two files leaves exactly
    that); its row maps to -1.

    Returns:
        None when both files list the idx in the same order, else the latency
        row of each arch row (-1 where the arch has no latency row).

    Raises:
        TableError: ``latency_ms.csv`` has idx that ``archs.csv`` lacks; the
            message lists examples from each side.
    """
    if np.array_equal(archs_idx, latency_idx):
        return None
    only_archs = np.setdiff1d(archs_idx, latency_idx)
    only_latency = np.setdiff1d(latency_idx, archs_idx)
    if only_latency.size:

        def examples(ids: np.ndarray) -> str:
            shown = ", ".join(str(i) for i in ids[:_MAX_LISTED].tolist())
            return f"{ids.size} (e.g. {shown})" if ids.size else "0"

        raise TableError(
            f"{archs_path} and {latency_path} list different idx: "
            f"{examples(only_archs)} only in {archs_path.name} and "
            f"{examples(only_latency)} only in {latency_path.name}. "
            f"Every idx of {latency_path.name} needs its arch in {archs_path.name}."
        )
    latency_row = {i: row for row, i in enumerate(latency_idx.tolist())}
    return np.array([latency_row.get(i, -1) for i in archs_idx.tolist()], dtype=np.int64)


def parse_devices_json(path: Path) -> dict[str, dict[str, Any]]:
    """Read the optional ``devices.json``; an absent file gives ``{}``.

    Raises:
        TableError: not valid JSON, or not an object whose values are objects.
    """
    try:
        with open(path, encoding="utf-8-sig") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as err:
        raise _fail(path, err.lineno, f"not valid JSON ({err.msg})", "Fix the syntax.") from err
    except (OSError, UnicodeDecodeError) as err:
        raise _fail(path, None, f"cannot be read ({err})", "Check the file.") from err
    fix = 'It must be a JSON object of objects, e.g. {"raspi4": {"runtime": "onnxruntime"}}.'
    if not isinstance(data, dict):
        raise _fail(path, None, f"the top level is a {type(data).__name__}", fix)
    for device, meta in data.items():
        if not isinstance(meta, dict):
            raise _fail(path, None, f"the entry {device!r} is {meta!r}, not an object", fix)
    return data

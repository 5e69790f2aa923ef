"""Read and write latency tables in format v1 (DESIGN.md §5).

A table root holds one folder per space::

    <root>/<space>/archs.csv        idx,arch   (or idx,<col>,<col>,… joined as col=value:…)
    <root>/<space>/latency_ms.csv   idx,<device>,<device>,…   (ms; empty cell = not measured)
    <root>/<space>/devices.json     optional {device: {hardware, runtime, version, …}}

``devices.json`` may describe devices that have no column in ``latency_ms.csv``:
:func:`read_table` warns and keeps them in ``device_info``, and
:func:`write_table` writes them back, so no metadata is ever dropped silently.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import warnings
from pathlib import Path

import numpy as np

from fewlat._files import replace_atomically
from fewlat.exceptions import TableError, invalid_parameter
from fewlat.meta.tables._arch_columns import PLAIN_COLUMN, split_arch_columns
from fewlat.meta.tables._parse import (
    align_rows,
    parse_archs_csv,
    parse_devices_json,
    parse_latency_csv,
)
from fewlat.meta.tables._table import LatencyTable

__all__ = [
    "ARCHS_CSV",
    "DEVICES_JSON",
    "LATENCY_CSV",
    "list_table_spaces",
    "read_table",
    "write_table",
]

#: file names inside ``<root>/<space>/``
ARCHS_CSV = "archs.csv"
LATENCY_CSV = "latency_ms.csv"
DEVICES_JSON = "devices.json"


def list_table_spaces(root: str | os.PathLike[str]) -> list[str]:
    """The sorted names of the space folders under ``root`` that hold both CSV files.

    Raises:
        TableError: ``root`` is not a directory.
    """
    root = Path(root)
    if not root.is_dir():
        raise TableError(
            f"Table root {root} is not a directory; pass the folder that holds <space>/."
        )
    return sorted(
        p.name for p in root.iterdir() if (p / ARCHS_CSV).is_file() and (p / LATENCY_CSV).is_file()
    )


def _check_space(space: object, owner: str) -> str:
    if not isinstance(space, str) or space in ("", ".", "..") or any(c in space for c in "/\\"):
        raise invalid_parameter("space", owner, "a space folder name such as 'nb201'", space)
    return space


def read_table(root: str | os.PathLike[str], space: str) -> LatencyTable:
    """Read ``<root>/<space>/`` into a :class:`LatencyTable`.

    Rows follow ``archs.csv``; ``latency_ms.csv`` may list the same idx in any order.

    Args:
        root: the table root.
        space: the space folder, e.g. ``"nb201"``.

    Returns:
        The table, with ``space`` set to ``space``.

    Raises:
        InvalidParameterError: ``space`` is not a plain folder name.
        TableError: a file is missing or malformed, or the files disagree; the
            message names the file and line and says what to fix.

    Warns:
        UserWarning: ``devices.json`` describes devices that have no column;
            their metadata is kept in ``device_info``.
    """
    folder = Path(root) / _check_space(space, "read_table")
    if not folder.is_dir():
        found = list_table_spaces(root) if Path(root).is_dir() else []
        raise TableError(
            f"No table folder {folder}; the spaces under {Path(root)} are: "
            f"{', '.join(repr(s) for s in found) or 'none'}."
        )
    archs_path, latency_path = folder / ARCHS_CSV, folder / LATENCY_CSV
    archs_idx, archs = parse_archs_csv(archs_path)
    latency_idx, devices, latency_ms = parse_latency_csv(latency_path)
    order = align_rows(archs_path, archs_idx, latency_path, latency_idx)
    if order is not None:  # archs listed before their latency row read as NaN
        aligned = np.full((len(archs), len(devices)), np.nan)
        present = order >= 0
        aligned[present] = latency_ms[order[present]]
        latency_ms = aligned
    device_info = parse_devices_json(folder / DEVICES_JSON)
    orphans = [d for d in device_info if d not in devices]
    if orphans:
        warnings.warn(
            f"{folder / DEVICES_JSON} describes devices with no column in {LATENCY_CSV}: "
            f"{', '.join(repr(d) for d in orphans)}. Their metadata is kept in device_info "
            "and written back by write_table; delete the entries if they are stale.",
            UserWarning,
            stacklevel=2,
        )
    return LatencyTable(
        space=space,
        idx=archs_idx,
        archs=tuple(archs),
        devices=tuple(devices),
        latency_ms=latency_ms,
        device_info=device_info,
    )


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # RFC 4180: CRLF line ends, minimal quoting
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def write_table(table: LatencyTable, root: str | os.PathLike[str]) -> Path:
    """Write ``table`` to ``<root>/<table.space>/``, creating folders as needed.

    Each file is replaced atomically (temp file in the same folder, then
    ``os.replace``). ``archs.csv`` is replaced before ``latency_ms.csv``, so a
    write interrupted between them leaves new archs unmeasured (which
    :func:`read_table` accepts), never a latency without its arch. Latencies are
    written as ``repr`` of the float, so reading the files back gives the exact
    same values, and empty cells for NaN. Arch strings that all have the same
    ``col=value:…`` keys are split back into those columns. ``devices.json`` is
    written when ``table.device_info`` is not empty and removed otherwise.

    Returns:
        The space folder.

    Raises:
        TableError: a file cannot be written, or ``device_info`` is not JSON-serialisable.
    """
    if not isinstance(table, LatencyTable):
        raise invalid_parameter("table", "write_table", "a LatencyTable", table)
    folder = Path(root) / table.space
    split = split_arch_columns(table.archs)
    ids = [str(i) for i in table.idx.tolist()]
    columns, values = split if split is not None else ((PLAIN_COLUMN,), [(a,) for a in table.archs])
    archs_text = _csv_text(["idx", *columns], [[i, *v] for i, v in zip(ids, values, strict=True)])
    latency_text = _csv_text(
        ["idx", *table.devices],
        [
            [i, *("" if math.isnan(v) else repr(v) for v in row)]
            for i, row in zip(ids, table.latency_ms.tolist(), strict=True)
        ],
    )
    info_text = None
    if table.device_info:
        try:
            info_text = (
                json.dumps(table.device_info, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
            )
        except (TypeError, ValueError) as err:
            raise TableError(
                f"Table {table.space!r}: device_info cannot be written as JSON ({err}); "
                "keep metadata to strings, numbers, booleans, lists and dicts."
            ) from err
    try:
        folder.mkdir(parents=True, exist_ok=True)
        replace_atomically(folder / ARCHS_CSV, archs_text)
        replace_atomically(folder / LATENCY_CSV, latency_text)
        if info_text is not None:
            replace_atomically(folder / DEVICES_JSON, info_text)
        else:
            (folder / DEVICES_JSON).unlink(missing_ok=True)
    except OSError as err:
        raise TableError(f"Cannot write table {table.space!r} to {folder}: {err}") from err
    return folder

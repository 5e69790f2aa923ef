"""Pool the tables of one space from several roots into one :class:`LatencyTable`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from fewlat.exceptions import TableError, invalid_parameter
from fewlat.meta.tables._io import read_table
from fewlat.meta.tables._table import LatencyTable

__all__ = ["read_pool", "space_folder"]


def space_folder(root: str | os.PathLike[str], space: str) -> str | None:
    """The folder under ``root`` that holds ``space``'s table, by name or alias, or None.

    Raises:
        UnknownSpaceError: ``space`` is not registered.
        TableError: ``root`` holds the space under two names.
    """
    from fewlat.spaces import get_space

    root = Path(root)

    spec = get_space(space)
    found = [f for f in (spec.name, *spec.aliases) if (root / f).is_dir()]
    if len(found) > 1:
        raise TableError(
            f"{root} holds {' and '.join(found)}, which are the same space; merge or remove one."
        )
    return found[0] if found else None


def read_pool(roots: Sequence[str | os.PathLike[str]], space: str) -> LatencyTable:
    """Read ``space`` from every root that has it and join the tables on the arch string.

    A space's folder may be named by the space or by an alias (HELP's ``ofa``
    is fewlat's ``ofa_mbv3``). Rows keep the idx of the first root that lists
    the arch; archs new in a later root get fresh ids after the largest so far.
    The pooled table's ``space`` is the registered space name.

    Args:
        roots: table roots, e.g. ``["../shared/data/help", "data/measured"]``.
        space: a registered space name or alias.

    Returns:
        One table with every device of every root.

    Raises:
        UnknownSpaceError: ``space`` is not registered.
        TableError: no root has the space, two roots name the same device, or a
            table is malformed.
    """
    from fewlat.spaces import get_space

    if isinstance(roots, (str, os.PathLike)) or not roots:
        raise invalid_parameter("roots", "read_pool", "a non-empty list of table roots", roots)
    name = get_space(space).name
    tables = []
    for root in map(Path, roots):
        folder = space_folder(root, space)
        if folder is not None:
            tables.append((root, read_table(root, folder)))
    if not tables:
        raise TableError(
            f"None of {', '.join(map(str, roots))} has a table of {name!r}; check the --data roots."
        )
    owner: dict[str, Path] = {}
    for root, table in tables:
        for device in table.devices:
            if device in owner:
                raise TableError(
                    f"Device {device!r} appears in both {owner[device]} and {root}; "
                    "rename one of the columns before pooling."
                )
            owner[device] = root

    rows: dict[str, int] = {}
    idx: list[int] = []
    used: set[int] = set()
    next_id = 0
    for _, table in tables:
        for arch, i in zip(table.archs, table.idx.tolist(), strict=True):
            if arch in rows:
                continue
            chosen = next_id if i in used else i
            rows[arch] = len(idx)
            idx.append(chosen)
            used.add(chosen)
            next_id = max(next_id, chosen + 1)
    devices = [d for _, table in tables for d in table.devices]
    latency = np.full((len(rows), len(devices)), np.nan)
    info = {}
    col = 0
    for _, table in tables:
        where = np.array([rows[a] for a in table.archs], dtype=np.int64)
        latency[where, col : col + len(table.devices)] = table.latency_ms
        col += len(table.devices)
        info.update(table.device_info)
    return LatencyTable(name, np.array(idx, np.int64), tuple(rows), tuple(devices), latency, info)

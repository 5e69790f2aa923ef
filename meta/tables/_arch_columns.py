"""Arch strings of multi-column ``archs.csv`` files.

An ``archs.csv`` whose header is ``idx,arch`` stores each arch string as it is.
Any other header, e.g. OFA's ``idx,ks,e,d,r``, stores one value per column, and
the arch string is the columns joined as ``col=value`` with ``:`` in file column
order: ``ks=7-5-…:e=6-4-…:d=2-2-2-2-3:r=204``.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["PLAIN_COLUMN", "join_arch_columns", "split_arch_columns"]

#: the single column name of a plain ``idx,arch`` file
PLAIN_COLUMN = "arch"
_PAIR_SEP = ":"
_KEY_SEP = "="


def join_arch_columns(columns: Sequence[str], values: Sequence[str]) -> str:
    """Join one row of a multi-column ``archs.csv`` into its arch string.

    Args:
        columns: the header names after ``idx``, in file order.
        values: the row's cells after ``idx``, one per column.

    Returns:
        ``"col1=value1:col2=value2:…"``.
    """
    return _PAIR_SEP.join(f"{col}{_KEY_SEP}{val}" for col, val in zip(columns, values, strict=True))


def _keys_and_values(arch: str) -> tuple[tuple[str, ...], tuple[str, ...]] | None:
    """Split ``arch`` into its ``k=v`` keys and values, or None when it is not of that form."""
    keys: list[str] = []
    values: list[str] = []
    for part in arch.split(_PAIR_SEP):
        key, sep, value = part.partition(_KEY_SEP)
        if not sep or not key:
            return None
        keys.append(key)
        values.append(value)
    return tuple(keys), tuple(values)


def split_arch_columns(
    archs: Sequence[str],
) -> tuple[tuple[str, ...], list[tuple[str, ...]]] | None:
    """Split arch strings back into ``archs.csv`` columns when they all allow it.

    The split succeeds when every arch is ``k1=v1:k2=v2:…`` with exactly the same
    keys in the same order, the keys are distinct, none is ``idx``, and they are
    not the single key ``arch`` (which would read back as a plain column).
    Reading the written file then gives back the very same strings.

    Args:
        archs: the arch strings of a table, in row order.

    Returns:
        ``(columns, rows)`` with one tuple of values per arch, or None when the
        archs must be written as a plain ``idx,arch`` file.
    """
    if not archs:
        return None
    first = _keys_and_values(archs[0])
    if first is None:
        return None
    columns = first[0]
    if len(set(columns)) != len(columns) or "idx" in columns or columns == (PLAIN_COLUMN,):
        return None
    rows = [first[1]]
    for arch in archs[1:]:
        split = _keys_and_values(arch)
        if split is None or split[0] != columns:
            return None
        rows.append(split[1])
    return columns, rows

"""Build a :class:`CalibrationSuite` for a space from its pooled latency table."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

from fewlat.hwdesc._select import choose_anchor, complete_rows, select_references
from fewlat.hwdesc._suite import MAX_SUITE, CalibrationSuite, SuiteEntry
from fewlat.meta.graph import encode
from fewlat.meta.tables import LatencyTable

__all__ = ["build_suite", "model_sha256"]


def model_sha256(space: str, arch: str) -> str:
    """SHA-256 of the ONNX bytes a board runs for ``arch`` (weights from seed 0)."""
    from fewlat.spaces import get_space

    return hashlib.sha256(get_space(space).to_onnx(arch, with_weights=True)).hexdigest()


def build_suite(
    table: LatencyTable,
    *,
    size: int = MAX_SUITE,
    method: str = "greedy",
    seed: int = 0,
    help_rows: Sequence[int] | None = None,
) -> CalibrationSuite:
    """Choose the anchor and ``size - 1`` references (see :mod:`fewlat.hwdesc._select`).

    Args:
        table: the space's pooled table (every device counts).
        size: suite length, 1 … 10.
        method: ``greedy`` (default), ``random`` or ``help``.
        seed: for ``random`` and candidate subsampling.
        help_rows: table rows of HELP's references (``method="help"``).

    Raises:
        TableError: no arch measured on every device, or too few of them.
        InvalidParameterError: a bad size or method.
    """
    from fewlat.spaces import get_space

    spec = get_space(table.space)
    macs = None
    if spec.supernet() not in table:
        macs = np.zeros(len(table))
        for row in complete_rows(table, table.devices):
            macs[row] = encode(spec.to_onnx(table.archs[row])).macs
    anchor = choose_anchor(table, macs)
    refs = select_references(table, anchor, size - 1, method=method, seed=seed, help_rows=help_rows)
    archs = [spec.canonical(table.archs[r]) for r in [anchor, *refs]]
    entries = tuple(
        SuiteEntry(i, arch, model_sha256(spec.name, arch)) for i, arch in enumerate(archs)
    )
    return CalibrationSuite(spec.name, entries, method)

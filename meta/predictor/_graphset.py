"""A set of graphs as colour counts, and the sub-index that one forward pass needs."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import torch

from fewlat.meta.features import NODE_FEATURES, OP_VOCAB
from fewlat.meta.features._schema import LOG_SCALE
from fewlat.meta.predictor._colours import ColourArrays

__all__ = ["BASE_QUANTITIES", "OP_GROUPS", "GraphSet", "TorchColours", "closure"]

#: linear-scale amounts each node's cost is built from (per million, and a constant)
BASE_QUANTITIES = ("macs", "bytes_moved", "out_elements", "one")
#: 0/1 indicators of a node's kind, after the base quantities in the readout
#: input: its op (the one-hot of the feature schema) and whether it is depthwise
OP_GROUPS: tuple[str, ...] = (*(f"op={op}" for op in OP_VOCAB), "depthwise")
_COL = {name: i for i, name in enumerate(NODE_FEATURES)}


def base_quantities(arrays: ColourArrays) -> np.ndarray:
    """``[U, 4 + len(OP_GROUPS)]`` per last-level colour: MACs, bytes read +
    written and output elements (millions), and 1; then the :data:`OP_GROUPS`
    indicators of the colour's node."""
    idx = np.arange(arrays.n_colours)
    for t in range(len(arrays.self_idx) - 1, -1, -1):
        idx = arrays.self_idx[t][idx]
    x = arrays.x[idx].astype(np.float64)

    def linear(name: str) -> np.ndarray:
        return np.expm1(x[:, _COL[name]] * LOG_SCALE) / 1e6

    moved = linear("log_bytes_read") + linear("log_bytes_written")
    out = np.stack([linear("log_macs"), moved, linear("log_out_elements"), np.ones(len(x))], axis=1)
    kinds = x[:, [_COL[name] for name in OP_GROUPS]]
    return np.concatenate([out, kinds], axis=1).astype(np.float32)


@dataclass(frozen=True)
class TorchColours:
    """:class:`ColourArrays` as tensors (one forward pass's input), plus each
    last-level colour's readout input (``base``, ``[U, 4 + len(OP_GROUPS)]``:
    :data:`BASE_QUANTITIES`, then :data:`OP_GROUPS`)."""

    x: torch.Tensor
    edge_attr: torch.Tensor
    self_idx: tuple[torch.Tensor, ...]
    src: tuple[torch.Tensor, ...]
    dst: tuple[torch.Tensor, ...]
    edge: tuple[torch.Tensor, ...]
    in_degree: tuple[torch.Tensor, ...]
    base: torch.Tensor

    @classmethod
    def from_arrays(cls, arrays: ColourArrays) -> TorchColours:
        def t(seq: tuple[np.ndarray, ...]) -> tuple[torch.Tensor, ...]:
            return tuple(torch.from_numpy(np.ascontiguousarray(a)) for a in seq)

        return cls(
            x=torch.from_numpy(arrays.x),
            edge_attr=torch.from_numpy(arrays.edge_attr),
            self_idx=t(arrays.self_idx),
            src=t(arrays.src),
            dst=t(arrays.dst),
            edge=t(arrays.edge),
            in_degree=tuple(d.clamp(min=1.0) for d in t(arrays.in_degree)),
            base=torch.from_numpy(base_quantities(arrays)),
        )


def closure(arrays: ColourArrays, last: np.ndarray) -> tuple[ColourArrays, np.ndarray]:
    """The part of ``arrays`` that the last-level colours ``last`` depend on.

    The sub-index is in a canonical order (:func:`_canonical_order`): the same
    colours give the same arrays, bit for bit, whatever the history of ``arrays``.

    Returns:
        ``(sub, position)``: the sub-index, and for each entry of ``last`` its
        row in the sub-index's last level.
    """
    levels = len(arrays.self_idx)
    keep: list[np.ndarray] = [np.empty(0, np.int64)] * (levels + 1)
    feeds: list[np.ndarray] = [np.empty(0, bool)] * levels  # edges into kept colours
    keep[levels] = np.unique(last)
    for t in range(levels, 0, -1):
        feeds[t - 1] = np.isin(arrays.dst[t - 1], keep[t])
        keep[t - 1] = np.unique(
            np.concatenate([arrays.self_idx[t - 1][keep[t]], arrays.src[t - 1][feeds[t - 1]]])
        )
    edge = [arrays.edge[t][feeds[t]] for t in range(levels)]
    used_edges = np.unique(np.concatenate(edge)) if edge else np.empty(0, np.int64)
    sub = ColourArrays(
        x=arrays.x[keep[0]],
        edge_attr=arrays.edge_attr[used_edges],
        self_idx=tuple(
            np.searchsorted(keep[t], arrays.self_idx[t][keep[t + 1]]) for t in range(levels)
        ),
        src=tuple(np.searchsorted(keep[t], arrays.src[t][feeds[t]]) for t in range(levels)),
        dst=tuple(np.searchsorted(keep[t + 1], arrays.dst[t][feeds[t]]) for t in range(levels)),
        edge=tuple(np.searchsorted(used_edges, e) for e in edge),
    )
    canonical, rank = _canonical_order(sub)
    return canonical, rank[np.searchsorted(keep[levels], last)]


def _rank_rows(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(order, rank)`` of the rows of a float32 ``[N, C]`` block by their bits,
    first column first (distinct rows get distinct ranks)."""
    bits = np.ascontiguousarray(block, dtype=np.float32).view(np.int32)
    order = np.lexsort(bits.T[::-1]) if bits.shape[1] else np.arange(len(bits))
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    return order, rank


def _canonical_order(sub: ColourArrays) -> tuple[ColourArrays, np.ndarray]:
    """``sub`` renumbered by content alone, and each last-level colour's new id.

    A colour's id in the shared index depends on which graphs were added before
    it, and the row order is the order sums run in (the in-neighbour mean, the
    count matrix product), so without this one set of graphs would give results
    that differ in the last bits with the history of the cache. Here level 0 and
    the edge rows are ordered by their feature bits, and each colour of level t
    by its own level t-1 id, then its in-neighbours' sorted (edge row, colour)
    codes; edges are ordered by (colour fed, code). Every id and row order then
    follows from the set of colours alone.
    """
    order_x, rank = _rank_rows(sub.x)
    order_e, rank_e = _rank_rows(sub.edge_attr)
    self_idx, src, dst, edge = [], [], [], []
    for t in range(len(sub.self_idx)):
        n_prev, n_here = len(rank), len(sub.self_idx[t])
        new_src, new_edge = rank[sub.src[t]], rank_e[sub.edge[t]]
        code = new_edge * n_prev + new_src
        by_colour = np.lexsort((code, sub.dst[t]))
        degree = np.bincount(sub.dst[t], minlength=n_here)
        width = int(degree.max()) if len(degree) else 0
        keys = np.full((n_here, width + 1), -1, np.int64)
        keys[:, 0] = rank[sub.self_idx[t]]
        starts = np.concatenate([[0], np.cumsum(degree)[:-1]])
        fed = sub.dst[t][by_colour]
        keys[fed, 1 + np.arange(len(fed)) - starts[fed]] = code[by_colour]
        order = np.lexsort(keys.T[::-1])
        rank = np.empty(n_here, np.int64)
        rank[order] = np.arange(n_here)
        new_dst = rank[sub.dst[t]]
        by_new = np.lexsort((code, new_dst))
        self_idx.append(keys[order, 0])
        src.append(new_src[by_new])
        dst.append(new_dst[by_new])
        edge.append(new_edge[by_new])
    canonical = ColourArrays(
        x=sub.x[order_x],
        edge_attr=sub.edge_attr[order_e],
        self_idx=tuple(self_idx),
        src=tuple(src),
        dst=tuple(dst),
        edge=tuple(edge),
    )
    return canonical, rank


@dataclass(frozen=True)
class GraphSet:
    """Graphs as rows of last-level colour counts over one colour index.

    Attributes:
        colours: the colour index the counts refer to.
        indptr, indices, counts: CSR rows, one per graph.
        macs: ``[G]`` multiply-accumulates per graph (for the FLOPs baseline).
        graph_attr: ``[G, len(GRAPH_FEATURES)]`` graph features (ridge baseline).
    """

    colours: ColourArrays
    indptr: np.ndarray
    indices: np.ndarray
    counts: np.ndarray
    macs: np.ndarray
    graph_attr: np.ndarray

    def __len__(self) -> int:
        return len(self.indptr) - 1

    def restricted(self) -> tuple[TorchColours, torch.Tensor]:
        """The sub-index these graphs need and their dense ``[G, U]`` count matrix."""
        sub, position = closure(self.colours, self.indices)
        dense = np.zeros((len(self), sub.n_colours), np.float32)
        rows = np.repeat(np.arange(len(self)), np.diff(self.indptr))
        np.add.at(dense, (rows, position), self.counts)
        return TorchColours.from_arrays(sub), torch.from_numpy(dense)

    def sparse_counts(self) -> torch.Tensor:
        """``[G, U]`` CSR count matrix over the whole index (for large scoring runs)."""
        with warnings.catch_warnings():  # "sparse CSR support is in beta": only @ is used
            warnings.simplefilter("ignore", UserWarning)
            return torch.sparse_csr_tensor(
                torch.from_numpy(self.indptr),
                torch.from_numpy(self.indices),
                torch.from_numpy(self.counts.astype(np.float32)),
                size=(len(self), self.colours.n_colours),
            )

"""Memoised message passing: every distinct L-hop neighbourhood is stored once.

An L-layer message-passing network gives two nodes the same output when their
L-hop neighbourhoods (features, edge features and the multiset of neighbours,
level by level) are the same: the Weisfeiler-Lehman colour of the node. The
:class:`ColourIndex` assigns such colours to the nodes of every graph added to
it and keeps, per level, one row per distinct colour with the colour of
itself and of each in-neighbour one level down. The GNN then runs over these
rows instead of over every node of every graph, and a graph's output is
``counts @ per-colour output``. For 15,625 NB201 graphs of ~240 nodes this is
~25x fewer rows than nodes, and the result is exactly what the GNN would give
on the graphs themselves.

``rel_position`` (a node's topological index) is zeroed here: it would make
every node's colour unique. The predictor does not use it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch_geometric.data import Data

from fewlat.meta.features import NODE_FEATURES

__all__ = ["ColourArrays", "ColourIndex"]

_UNUSED_COLUMNS = (NODE_FEATURES.index("rel_position"),)


@dataclass(frozen=True)
class ColourArrays:
    """The index as arrays, ready for the GNN.

    Attributes:
        x: ``[U0, F]`` distinct node-feature rows (level 0).
        edge_attr: ``[UE, A]`` distinct edge-feature rows.
        self_idx: per level 1..L, ``[U_t]`` the level t-1 colour of the node itself.
        src: per level 1..L, ``[E_t]`` the level t-1 colour of an in-neighbour.
        dst: per level 1..L, ``[E_t]`` the level t colour it feeds.
        edge: per level 1..L, ``[E_t]`` the row of ``edge_attr`` on that edge.
    """

    x: np.ndarray
    edge_attr: np.ndarray
    self_idx: tuple[np.ndarray, ...]
    src: tuple[np.ndarray, ...]
    dst: tuple[np.ndarray, ...]
    edge: tuple[np.ndarray, ...]

    @property
    def in_degree(self) -> tuple[np.ndarray, ...]:
        """Per level 1..L, ``[U_t]`` in-neighbours per colour (float32)."""
        return tuple(
            np.bincount(d, minlength=len(s)).astype(np.float32)
            for d, s in zip(self.dst, self.self_idx, strict=True)
        )

    @property
    def n_colours(self) -> int:
        """Colours at the last level."""
        return len(self.self_idx[-1]) if self.self_idx else len(self.x)


class ColourIndex:
    """Grows a shared table of WL colours as graphs are added.

    Args:
        levels: message-passing layers the colours must cover (the GNN's depth).
    """

    def __init__(self, levels: int) -> None:
        self.levels = levels
        self._x_rows: dict[bytes, int] = {}
        self._x: list[np.ndarray] = []
        self._e_rows: dict[bytes, int] = {}
        self._e: list[np.ndarray] = []
        self._keys: list[dict[tuple, int]] = [{} for _ in range(levels)]
        self._self: list[list[int]] = [[] for _ in range(levels)]
        self._src: list[list[int]] = [[] for _ in range(levels)]
        self._dst: list[list[int]] = [[] for _ in range(levels)]
        self._edge: list[list[int]] = [[] for _ in range(levels)]
        self._snapshot: ColourArrays | None = None  # the last arrays(), extended by the next

    def _row(self, table: dict[bytes, int], rows: list[np.ndarray], row: np.ndarray) -> int:
        key = row.tobytes()
        found = table.get(key)
        if found is None:
            found = table[key] = len(rows)
            rows.append(row)
        return found

    def add(self, data: Data) -> tuple[np.ndarray, np.ndarray]:
        """Colour one featurised graph.

        Returns:
            ``(colours, counts)``: the distinct last-level colours of its nodes
            and how many nodes have each.
        """
        return self.add_arrays(data.x.numpy(), data.edge_index.numpy(), data.edge_attr.numpy())

    def add_arrays(
        self, x: np.ndarray, edge_index: np.ndarray, edge_attr: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`add` of a graph given as its ``x``, ``edge_index`` and ``edge_attr`` arrays
        (not modified)."""
        x = x.copy()
        x[:, _UNUSED_COLUMNS] = 0.0
        colour = self._rows(self._x_rows, self._x, x)
        edge_rows = self._rows(self._e_rows, self._e, edge_attr)
        incoming: list[list[tuple[int, int]]] = [[] for _ in colour]
        for e, s, t in zip(edge_rows, *edge_index.tolist(), strict=True):
            incoming[t].append((e, s))
        for level in range(self.levels):
            keys, self_ids = self._keys[level], self._self[level]
            src, dst, edges = self._src[level], self._dst[level], self._edge[level]
            keys_get = keys.get
            nxt = []
            for own, inc in zip(colour, incoming, strict=True):
                n_in = len(inc)
                if n_in == 2:  # the common case: sorted() of two pairs, spelled out
                    (e, j), (e2, j2) = inc
                    a, b = (e, colour[j]), (e2, colour[j2])
                    nbrs = (a, b) if a <= b else (b, a)
                elif n_in > 2:
                    nbrs = tuple(sorted([(e, colour[j]) for e, j in inc]))
                elif n_in:
                    e, j = inc[0]
                    nbrs = ((e, colour[j]),)
                else:
                    nbrs = ()
                key = (own, nbrs)
                found = keys_get(key)
                if found is None:
                    found = keys[key] = len(self_ids)
                    self_ids.append(own)
                    for e, j in nbrs:
                        src.append(j)
                        dst.append(found)
                        edges.append(e)
                nxt.append(found)
            colour = nxt
        return np.unique(np.asarray(colour, dtype=np.int64), return_counts=True)

    def _rows(
        self, table: dict[bytes, int], rows: list[np.ndarray], block: np.ndarray
    ) -> list[int]:
        """:meth:`_row` of every row of ``block`` (sliced from one ``tobytes``)."""
        if block.ndim != 2 or not block.flags.c_contiguous:
            return [self._row(table, rows, row) for row in block]
        data = block.tobytes()
        width = block.shape[1] * block.itemsize
        out = []
        get = table.get
        for i in range(block.shape[0]):
            key = data[i * width : (i + 1) * width]
            found = get(key)
            if found is None:
                found = table[key] = len(rows)
                rows.append(block[i])
            out.append(found)
        return out

    @classmethod
    def from_arrays(cls, arrays: ColourArrays) -> ColourIndex:
        """Rebuild an index (to grow it further) from a snapshot of :meth:`arrays`."""
        index = cls(len(arrays.self_idx))
        for row in arrays.x:
            index._row(index._x_rows, index._x, row)
        for row in arrays.edge_attr:
            index._row(index._e_rows, index._e, row)
        for level in range(index.levels):
            src, dst, edge = arrays.src[level], arrays.dst[level], arrays.edge[level]
            bounds = np.searchsorted(dst, np.arange(len(arrays.self_idx[level]) + 1))
            keys = index._keys[level]
            for u, own in enumerate(arrays.self_idx[level].tolist()):
                lo, hi = bounds[u], bounds[u + 1]
                keys[(own, tuple(zip(edge[lo:hi].tolist(), src[lo:hi].tolist(), strict=True)))] = u
            index._self[level] = arrays.self_idx[level].tolist()
            index._src[level] = src.tolist()
            index._dst[level] = dst.tolist()
            index._edge[level] = edge.tolist()
        if len(index._x) == len(arrays.x) and len(index._e) == len(arrays.edge_attr):
            index._snapshot = arrays  # the same rows: later snapshots extend it
        return index

    def arrays(self) -> ColourArrays:
        """Snapshot the index as numpy arrays.

        The index only grows, so a snapshot extends the previous one with the rows
        added since: a cheap copy of the old arrays instead of converting every row
        again (this runs once per batch of new models on the serving path).
        """
        old = self._snapshot
        if (
            old is not None
            and len(old.x) == len(self._x)
            and len(old.edge_attr) == len(self._e)
            and [len(a) for a in (*old.self_idx, *old.src)]
            == [len(v) for v in (*self._self, *self._src)]
        ):
            return old  # nothing added since
        width = len(NODE_FEATURES)

        def floats(rows: list[np.ndarray], before: np.ndarray | None, cols: int) -> np.ndarray:
            start = 0 if before is None else len(before)
            new = np.stack(rows[start:]).astype(np.float32) if len(rows) > start else None
            if before is None:
                return new if new is not None else np.zeros((0, cols), np.float32)
            return before if new is None else np.concatenate([before, new])

        def ints(lists: list[list[int]], before: tuple[np.ndarray, ...] | None) -> tuple:
            if before is None:
                return tuple(np.asarray(v, dtype=np.int64) for v in lists)
            return tuple(
                b if len(v) == len(b) else np.concatenate([b, np.asarray(v[len(b) :], np.int64)])
                for v, b in zip(lists, before, strict=True)
            )

        self._snapshot = ColourArrays(
            x=floats(self._x, None if old is None else old.x, width),
            edge_attr=floats(self._e, None if old is None else old.edge_attr, 3),
            self_idx=ints(self._self, None if old is None else old.self_idx),
            src=ints(self._src, None if old is None else old.src),
            dst=ints(self._dst, None if old is None else old.dst),
            edge=ints(self._edge, None if old is None else old.edge),
        )
        return self._snapshot

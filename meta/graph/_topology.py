"""Topological order of an ONNX graph, with the structural errors that prevent one."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import itemgetter
from typing import NamedTuple

import onnx

from fewlat.exceptions import InvalidModelError

__all__ = ["NodeView", "longest_path_lengths", "node_views", "topological_order"]


class NodeView(NamedTuple):
    """The fields of a NodeProto read once into plain Python (protobuf access is slow)."""

    op_type: str
    domain: str
    name: str
    input: list[str]
    output: list[str]
    proto: onnx.NodeProto


def node_views(graph: onnx.GraphProto) -> list[NodeView]:
    """One :class:`NodeView` per node, in file order.

    Raises:
        InvalidModelError: a name is not text (protobuf hands back ``bytes`` for
            invalid UTF-8 in a proto2 string).
    """
    # tuple.__new__ is what NodeView(...) does, without its Python-level __new__;
    # a slice of a repeated field is a new list, made faster than by list()
    new = tuple.__new__
    views = [
        new(NodeView, (n.op_type, n.domain, n.name, n.input[:], n.output[:], n)) for n in graph.node
    ]
    try:  # fast check of every text: join raises on the bytes of a bad string
        for field in (0, 1, 2):
            "".join(map(itemgetter(field), views))
        for field in (3, 4):
            "".join(chain.from_iterable(map(itemgetter(field), views)))
    except TypeError:
        pass  # find the node, below
    else:
        return views
    for i, v in enumerate(views):
        texts = (v.op_type, v.domain, v.name, *v.input, *v.output)
        if not all(type(t) is str for t in texts):
            raise InvalidModelError(
                f"Node {i} has a name, op type or tensor name that is not valid UTF-8; the file"
                " is probably corrupt."
            )
    return views


def _label(node: NodeView, index: int) -> str:
    return f"node {index} ({node.name or '<unnamed>'}, {node.op_type})"


def topological_order(nodes: Sequence[NodeView], sources: Iterable[str]) -> list[int]:
    """Return node indices in an order where every tensor is produced before use.

    Args:
        nodes: the graph's nodes in file order.
        sources: tensor names available before any node runs (graph inputs and
            initializers).

    Raises:
        InvalidModelError: a tensor is produced twice, a node reads a tensor
            nothing produces, or the graph has a cycle.
    """
    available = set(sources)
    producer: dict[str, int] = {}
    for i, node in enumerate(nodes):
        for out in node.output:
            if not out:
                continue
            if out in producer or out in available:
                raise InvalidModelError(
                    f"Tensor {out!r} is produced twice (again by {_label(node, i)});"
                    " ONNX graphs must assign each tensor once."
                )
            producer[out] = i

    consumers: list[list[int]] = [[] for _ in nodes]
    pending = [0] * len(nodes)
    for i, node in enumerate(nodes):
        try:  # the same set, built in the same order, as one add per input
            deps = {producer[name] for name in node.input if name and name not in available}
        except KeyError:
            for name in node.input:
                if name and name not in available and name not in producer:
                    raise InvalidModelError(
                        f"{_label(node, i)} reads tensor {name!r}, which no node, initializer"
                        " or graph input produces."
                    ) from None
            raise
        pending[i] = len(deps)
        for src in deps:
            consumers[src].append(i)

    ready = deque(i for i, n in enumerate(pending) if n == 0)
    order: list[int] = []
    while ready:
        i = ready.popleft()
        order.append(i)
        for j in consumers[i]:
            pending[j] -= 1
            if pending[j] == 0:
                ready.append(j)
    if len(order) != len(nodes):
        stuck = next(i for i, n in enumerate(pending) if n > 0)
        raise InvalidModelError(
            f"The graph has a cycle through {_label(nodes[stuck], stuck)}; ONNX graphs must be"
            " acyclic."
        )
    return order


def longest_path_lengths(preds: Sequence[Sequence[int]]) -> list[int]:
    """Per node, the number of nodes on the longest path ending at it.

    Args:
        preds: for each node (in topological order), the indices of its predecessors.
    """
    depth = [0] * len(preds)
    for i, ps in enumerate(preds):
        depth[i] = 1 + max(map(depth.__getitem__, ps), default=0)
    return depth

"""Topological order of an ONNX graph, with the structural errors that prevent one."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
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
    views = [
        NodeView(n.op_type, n.domain, n.name, list(n.input), list(n.output), n) for n in graph.node
    ]
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
        deps = set()
        for name in node.input:
            if not name or name in available:
                continue
            src = producer.get(name)
            if src is None:
                raise InvalidModelError(
                    f"{_label(node, i)} reads tensor {name!r}, which no node, initializer"
                    " or graph input produces."
                )
            deps.add(src)
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
        depth[i] = 1 + max((depth[p] for p in ps), default=0)
    return depth

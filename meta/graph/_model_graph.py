"""The :class:`ModelGraph`: an ONNX model reduced to what latency depends on."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fewlat.meta.graph._attrs import AttrValue

__all__ = ["ModelGraph", "Node", "Shape"]

Shape = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Node:
    """One compute node (constants and constant subgraphs are folded away).

    Attributes:
        name: the ONNX node name (or ``"<op>_<index>"`` when it has none).
        op: the op type; ops of a non-default domain are spelled ``"domain.Op"``.
        attrs: normalised attributes (defaults explicit, see ``normalize_attrs``).
        inputs: names of the activation (non-constant) inputs, in positional order.
        outputs: names of the outputs.
        input_shapes: static shape of each activation input (``None`` = unknown).
        output_shapes: static shape of each output (``None`` = unknown).
        weight_shapes: shapes of the constant float inputs (weights, biases, BN stats).
        macs: multiply-accumulates.
        flops: floating-point operations (convention in ``fewlat.meta.graph._costs``).
        params: elements of the node's constant float inputs.
        bytes_read: bytes of every input, activations and constants.
        bytes_written: bytes of every output.
    """

    name: str
    op: str
    attrs: Mapping[str, AttrValue]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    input_shapes: tuple[Shape | None, ...]
    output_shapes: tuple[Shape | None, ...]
    weight_shapes: tuple[Shape, ...]
    macs: int
    flops: int
    params: int
    bytes_read: int
    bytes_written: int


@dataclass(frozen=True, slots=True)
class ModelGraph:
    """A model as a DAG of compute nodes with per-node costs and graph totals.

    Attributes:
        nodes: compute nodes in topological order.
        edges: ``(producer, consumer)`` node indices, one per distinct pair
            connected by an activation tensor.
        edge_bytes: bytes of the tensor carried by each edge.
        inputs: static shape of each real graph input.
        outputs: static shape of each graph output (``None`` = unknown).
        macs: total multiply-accumulates.
        flops: total floating-point operations.
        params: elements of the distinct constant float tensors the nodes read.
        activation_bytes: bytes of the distinct activation tensors (inputs and
            node outputs).
        depth: number of nodes on the longest input→output path.
        unknown_shapes: node outputs whose shape could not be determined.
    """

    nodes: tuple[Node, ...]
    edges: tuple[tuple[int, int], ...]
    edge_bytes: tuple[int, ...]
    inputs: Mapping[str, Shape]
    outputs: Mapping[str, Shape | None]
    macs: int
    flops: int
    params: int
    activation_bytes: int
    depth: int
    unknown_shapes: int = 0

    @property
    def n_nodes(self) -> int:
        """Number of compute nodes."""
        return len(self.nodes)

    @property
    def ops(self) -> dict[str, int]:
        """Node count per op type, most frequent first."""
        return dict(Counter(n.op for n in self.nodes).most_common())

    def summary(self) -> dict[str, Any]:
        """The totals as a JSON-ready dict (what ``fewlat inspect --json`` prints)."""
        return {
            "nodes": self.n_nodes,
            "macs": self.macs,
            "flops": self.flops,
            "params": self.params,
            "activation_bytes": self.activation_bytes,
            "depth": self.depth,
            "inputs": {k: list(v) for k, v in self.inputs.items()},
            "outputs": {k: (list(v) if v is not None else None) for k, v in self.outputs.items()},
            "unknown_shapes": self.unknown_shapes,
            "ops": self.ops,
        }

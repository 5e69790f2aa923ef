"""ModelGraph → :class:`torch_geometric.data.Data` under feature schema v1."""

from __future__ import annotations

from math import prod

import numpy as np
import torch
from torch_geometric.data import Data

from fewlat.meta.features._schema import (
    EDGE_FEATURES,
    FEATURE_SCHEMA_VERSION,
    GRAPH_FEATURES,
    LOG_SCALE,
    NODE_FEATURES,
    OP_VOCAB,
)
from fewlat.meta.graph import ModelGraph

__all__ = ["featurize"]

_OP_INDEX = {op: i for i, op in enumerate(OP_VOCAB)}
_OTHER = _OP_INDEX["OTHER"]
_COLUMN = {name: i for i, name in enumerate(NODE_FEATURES)}


def _span(first: str, last: str) -> slice:
    """Columns ``first`` … ``last`` of NODE_FEATURES, looked up by name."""
    return slice(_COLUMN[first], _COLUMN[last] + 1)


_LOG_COLUMNS = _span("log_macs", "log_intensity")
_WINDOW_COLUMNS = _span("kernel", "dilation")
_FLAG_COLUMNS = _span("depthwise", "shape_unknown")


def _channels(shape: tuple[int, ...] | None) -> int:
    if not shape:
        return 0
    return shape[1] if len(shape) >= 2 else shape[0]


def featurize(graph: ModelGraph) -> Data:
    """Turn a :class:`ModelGraph` into a PyG ``Data`` object (schema v1).

    Args:
        graph: the encoded model.

    Returns:
        ``Data`` with ``x`` ``[N, len(NODE_FEATURES)]``, ``edge_index``
        ``[2, 2E]``, ``edge_attr`` ``[2E, 3]``, ``graph_attr`` ``[1, G]`` (all
        float32 / int64) and ``schema_version``. Works with ``Batch.from_data_list``.
    """
    nodes = graph.nodes
    n = len(nodes)
    op_idx = np.fromiter((_OP_INDEX.get(node.op, _OTHER) for node in nodes), np.int64, n)

    raw = np.zeros((n, _LOG_COLUMNS.stop - _LOG_COLUMNS.start))  # log_macs … log_intensity
    window = np.zeros((n, _WINDOW_COLUMNS.stop - _WINDOW_COLUMNS.start))  # kernel … dilation
    flags = np.zeros((n, _FLAG_COLUMNS.stop - _FLAG_COLUMNS.start))  # depthwise … unknown
    for i, node in enumerate(nodes):
        out = node.output_shapes[0] if node.output_shapes else None
        inp = node.input_shapes[0] if node.input_shapes else None
        cin, cout = _channels(inp), _channels(out)
        group = int(node.attrs.get("group", 1) or 1)
        moved = node.bytes_read + node.bytes_written
        raw[i] = (
            node.macs,
            node.flops,
            node.params,
            node.bytes_read,
            node.bytes_written,
            prod(out) if out is not None else 0,
            cin,
            cout,
            prod(out[2:]) if out is not None and len(out) > 2 else 1,
            group,
            node.flops / moved if moved else 0.0,
        )
        kernel = node.attrs.get("kernel")
        if kernel:
            window[i] = (
                max(kernel),
                max(node.attrs.get("strides", (1,))),
                max(node.attrs.get("dilations", (1,))),
            )
        flags[i] = (
            group > 1 and group == cin,
            1 < group < cin,
            node.params > 0,
            any(s is None for s in node.output_shapes),
        )

    fan_in = np.zeros(n)
    fan_out = np.zeros(n)
    if graph.edges:
        edges = np.asarray(graph.edges, dtype=np.int64).T
        np.add.at(fan_in, edges[1], 1)
        np.add.at(fan_out, edges[0], 1)
        edge_index = np.concatenate([edges, edges[::-1]], axis=1)
        log_bytes = np.log1p(np.asarray(graph.edge_bytes, dtype=np.float64)) / LOG_SCALE
        e = edges.shape[1]
        edge_attr = np.zeros((2 * e, len(EDGE_FEATURES)), dtype=np.float32)
        edge_attr[:e, 0] = 1.0
        edge_attr[e:, 1] = 1.0
        edge_attr[:, 2] = np.concatenate([log_bytes, log_bytes])
    else:
        edge_index = np.zeros((2, 0), dtype=np.int64)
        edge_attr = np.zeros((0, len(EDGE_FEATURES)), dtype=np.float32)

    x = np.zeros((n, len(NODE_FEATURES)), dtype=np.float32)
    x[np.arange(n), op_idx] = 1.0
    x[:, _LOG_COLUMNS] = np.log1p(raw) / LOG_SCALE
    x[:, _WINDOW_COLUMNS] = window / 8.0
    x[:, _FLAG_COLUMNS] = flags
    x[:, _COLUMN["rel_position"]] = np.arange(n) / max(n, 1)
    x[:, _COLUMN["log_fan_in"]] = np.log1p(fan_in) / LOG_SCALE
    x[:, _COLUMN["log_fan_out"]] = np.log1p(fan_out) / LOG_SCALE

    first_input = next(iter(graph.inputs.values()))
    g = np.array(
        [
            graph.macs,
            graph.flops,
            graph.params,
            graph.activation_bytes,
            n,
            graph.depth,
            sum(prod(s) for s in graph.inputs.values()),
        ],
        dtype=np.float64,
    )
    graph_attr = np.zeros((1, len(GRAPH_FEATURES)), dtype=np.float32)
    graph_attr[0, :7] = np.log1p(g) / LOG_SCALE
    graph_attr[0, 7] = (max(first_input[2:]) if len(first_input) > 2 else 0) / 256.0
    graph_attr[0, 8] = graph.unknown_shapes / max(n, 1)

    return Data(
        x=torch.from_numpy(x),
        edge_index=torch.from_numpy(np.ascontiguousarray(edge_index)),
        edge_attr=torch.from_numpy(edge_attr),
        graph_attr=torch.from_numpy(graph_attr),
        num_nodes=n,
        schema_version=FEATURE_SCHEMA_VERSION,
    )

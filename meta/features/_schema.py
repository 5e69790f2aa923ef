"""Feature schema v2: the one place that defines what the GNN sees.

Bump :data:`FEATURE_SCHEMA_VERSION` whenever any list or scaling below changes,
or the :class:`~fewlat.meta.graph.ModelGraph` they are read from (v2: a batch
norm right after a conv is folded into it, a HardSwish written out as
``x · HardSigmoid(x)`` is one node and an ``Identity`` is no node, as runtimes
run them and PyTorch's default export writes them); checkpoints record it and
refuse to load features of another version.

**Node features** (``data.x``, float32, one row per compute node):

* ``op=<name>`` one-hot over :data:`OP_VOCAB`; any other op sets ``op=OTHER``.
* ``log_macs``, ``log_flops``, ``log_params``, ``log_bytes_read``,
  ``log_bytes_written``, ``log_out_elements``, ``log_in_channels``,
  ``log_out_channels``, ``log_out_spatial`` (H×W…), ``log_group``,
  ``log_intensity`` (flops per byte moved): each ``log1p(value) / 20``, so a
  few GMACs maps to ~1.
* ``kernel``, ``stride``, ``dilation``: the largest of the spatial values / 8
  (0 for ops without a window).
* ``depthwise``, ``grouped``, ``has_weights``, ``shape_unknown``: 0/1 flags.
* ``rel_position``: topological index / node count.
* ``log_fan_in``, ``log_fan_out``: log1p of activation in/out edges.

**Edges** (``data.edge_index``): every producer→consumer pair twice, forward
then reversed, so message passing sees both directions. ``data.edge_attr``
is ``[forward, backward, log1p(tensor bytes) / 20]``.

**Graph features** (``data.graph_attr``, shape ``[1, G]``, so PyG ``Batch``
stacks them per graph): ``log1p`` / 20 of macs, flops, params,
activation_bytes, node count, depth and input elements, plus the input's
largest spatial side / 256 and the share of nodes with unknown shapes.
"""

from __future__ import annotations

__all__ = [
    "EDGE_FEATURES",
    "FEATURE_SCHEMA_VERSION",
    "GRAPH_FEATURES",
    "LOG_SCALE",
    "NODE_FEATURES",
    "NUMERIC_NODE_FEATURES",
    "OP_VOCAB",
]

#: version of everything in this module; recorded by checkpoints
FEATURE_SCHEMA_VERSION = 2

#: divisor applied after log1p so typical magnitudes land near [0, 1]
LOG_SCALE = 20.0

#: op vocabulary; the last entry, OTHER, takes every op not listed
OP_VOCAB: tuple[str, ...] = (
    "Conv",
    "ConvTranspose",
    "Gemm",
    "MatMul",
    "BatchNormalization",
    "LayerNormalization",
    "InstanceNormalization",
    "GroupNormalization",
    "LRN",
    "Relu",
    "Clip",
    "LeakyRelu",
    "PRelu",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Gelu",
    "Erf",
    "Softplus",
    "Elu",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Sqrt",
    "Sum",
    "Max",
    "Min",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "GlobalMaxPool",
    "ReduceMean",
    "ReduceSum",
    "Softmax",
    "Concat",
    "Split",
    "Slice",
    "Reshape",
    "Flatten",
    "Transpose",
    "Squeeze",
    "Unsqueeze",
    "Gather",
    "Pad",
    "Resize",
    "Upsample",
    "Expand",
    "Tile",
    "Cast",
    "Identity",
    "Dropout",
    "Where",
    "Equal",
    "OTHER",
)

#: numeric node features, in column order after the op one-hot
NUMERIC_NODE_FEATURES: tuple[str, ...] = (
    "log_macs",
    "log_flops",
    "log_params",
    "log_bytes_read",
    "log_bytes_written",
    "log_out_elements",
    "log_in_channels",
    "log_out_channels",
    "log_out_spatial",
    "log_group",
    "log_intensity",
    "kernel",
    "stride",
    "dilation",
    "depthwise",
    "grouped",
    "has_weights",
    "shape_unknown",
    "rel_position",
    "log_fan_in",
    "log_fan_out",
)

#: every node feature column name
NODE_FEATURES: tuple[str, ...] = tuple(f"op={op}" for op in OP_VOCAB) + NUMERIC_NODE_FEATURES

#: edge feature column names
EDGE_FEATURES: tuple[str, ...] = ("forward", "backward", "log_bytes")

#: graph feature column names
GRAPH_FEATURES: tuple[str, ...] = (
    "log_macs",
    "log_flops",
    "log_params",
    "log_activation_bytes",
    "log_nodes",
    "log_depth",
    "log_input_elements",
    "input_side",
    "unknown_share",
)

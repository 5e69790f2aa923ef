"""Per-node compute cost: multiply-accumulates (MACs) and floating-point operations.

Counting convention (documented once, used everywhere):

* ``macs`` count multiply-accumulates of the contraction ops only: Conv,
  ConvTranspose, Gemm, MatMul (incl. batched and broadcast), Einsum is not
  counted. A Conv output element costs ``Cin/group × prod(kernel)`` MACs.
* ``flops`` = ``2 × macs`` + one op per bias element for contraction ops, and
  for every other op an element-wise estimate: ``out_elements × k`` where
  ``k`` is the per-element cost in :data:`ELEMENTWISE_FLOPS` (1 for ReLU/Add,
  more for transcendental functions), ``prod(kernel)`` per output for pools,
  ``in_elements`` for reductions and global pools, 2 per element for
  BatchNormalization (scale + shift), 5 for Softmax and the other
  normalisations, and per-output interpolation taps for Resize.
* Pure data movement (Reshape, Transpose, Concat, Slice, Gather, Pad …) costs
  0 flops; its cost shows up in the bytes a node reads and writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any

from fewlat.meta.graph._model_graph import Shape

__all__ = ["ELEMENTWISE_FLOPS", "node_macs_flops"]


#: flops per output element of element-wise ops
ELEMENTWISE_FLOPS: dict[str, int] = {
    "Relu": 1,
    "LeakyRelu": 2,
    "PRelu": 2,
    "Clip": 2,
    "Abs": 1,
    "Neg": 1,
    "Sign": 1,
    "Floor": 1,
    "Ceil": 1,
    "Round": 1,
    "Not": 1,
    "Cast": 1,
    "Add": 1,
    "Sub": 1,
    "Mul": 1,
    "Div": 1,
    "Max": 1,
    "Min": 1,
    "Mod": 1,
    "Where": 1,
    "Equal": 1,
    "Greater": 1,
    "Less": 1,
    "GreaterOrEqual": 1,
    "LessOrEqual": 1,
    "And": 1,
    "Or": 1,
    "Xor": 1,
    "Reciprocal": 1,
    "Sum": 1,
    "Mean": 1,
    "HardSigmoid": 3,
    "HardSwish": 4,
    "Sqrt": 4,
    "Pow": 4,
    "Elu": 4,
    "Selu": 5,
    "Celu": 5,
    "Sigmoid": 4,
    "Tanh": 5,
    "Exp": 4,
    "Log": 4,
    "Erf": 5,
    "Softplus": 5,
    "Softsign": 3,
    "Gelu": 8,
    "Mish": 9,
    "Sin": 4,
    "Cos": 4,
    "ThresholdedRelu": 1,
    "Shrink": 2,
}
_NORMALISATION = {
    "InstanceNormalization": 5,
    "LayerNormalization": 5,
    "GroupNormalization": 5,
    "Softmax": 5,
    "LogSoftmax": 5,
    "Hardmax": 2,
    "LRN": 5,
}
_REDUCTIONS = frozenset(
    {
        "ReduceMean",
        "ReduceSum",
        "ReduceMax",
        "ReduceMin",
        "ReduceProd",
        "ReduceL1",
        "ReduceL2",
        "ReduceLogSum",
        "ReduceLogSumExp",
        "ReduceSumSquare",
        "GlobalAveragePool",
        "GlobalMaxPool",
        "GlobalLpPool",
        "ArgMax",
        "ArgMin",
    }
)
_RESIZE_TAPS = {"nearest": 1, "linear": 2, "bilinear": 2, "cubic": 4}


def _numel(shape: Shape | None) -> int:
    return prod(shape) if shape is not None else 0


def node_macs_flops(
    op: str,
    attrs: dict[str, Any],
    in_shapes: Sequence[Shape | None],
    out_shapes: Sequence[Shape | None],
) -> tuple[int, int]:
    """MACs and FLOPs of one node (see the module docstring for the convention).

    Args:
        op: the ONNX op type.
        attrs: normalised attributes (see :func:`normalize_attrs`).
        in_shapes: shape of each positional input (``None`` when unknown or absent).
        out_shapes: shape of each output (``None`` when unknown).

    Returns:
        ``(macs, flops)``; both 0 when the shapes needed are unknown.
    """
    x = in_shapes[0] if in_shapes else None
    y = out_shapes[0] if out_shapes else None
    n_out = _numel(y)
    bias = in_shapes[2] if len(in_shapes) > 2 else None

    if op == "Conv":
        w = in_shapes[1] if len(in_shapes) > 1 else None
        if w is None or y is None:
            return 0, 0
        macs = n_out * prod(w[1:])
        return macs, 2 * macs + (n_out if bias is not None else 0)
    if op == "ConvTranspose":
        w = in_shapes[1] if len(in_shapes) > 1 else None
        if w is None or x is None:
            return 0, 0
        macs = _numel(x) * prod(w[1:])
        return macs, 2 * macs + (n_out if bias is not None else 0)
    if op == "Gemm":
        if x is None or y is None:
            return 0, 0
        k = x[0] if attrs.get("transA", 0) else x[-1]
        macs = n_out * k
        return macs, 2 * macs + (n_out if bias is not None else 0)
    if op == "MatMul":
        if x is None or y is None:
            return 0, 0
        macs = n_out * x[-1]
        return macs, 2 * macs
    if op in ELEMENTWISE_FLOPS:
        per = ELEMENTWISE_FLOPS[op]
        if op in ("Sum", "Mean", "Max", "Min"):
            per *= max(len(in_shapes) - 1, 1)
        return 0, n_out * per
    if op in ("MaxPool", "AveragePool", "LpPool"):
        return 0, n_out * prod(attrs.get("kernel", (1,)))
    if op in _REDUCTIONS:
        return 0, _numel(x)
    if op == "BatchNormalization":
        return 0, 2 * n_out
    if op in _NORMALISATION:
        return 0, _NORMALISATION[op] * n_out
    if op in ("Resize", "Upsample"):
        taps = _RESIZE_TAPS.get(str(attrs.get("mode", "nearest")), 1)
        spatial_rank = max(len(y) - 2, 1) if y is not None else 1
        return 0, n_out * (taps**spatial_rank) * (2 if taps > 1 else 1)
    return 0, 0

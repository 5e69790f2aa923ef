"""Normalised node attributes: defaults filled in, auto_pad resolved, axes non-negative."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import onnx
from onnx import helper

__all__ = ["AttrValue", "dtype_size_bytes", "normalize_attrs", "raw_attrs", "spatial_geometry"]

AttrValue = int | float | str | tuple[int, ...] | tuple[float, ...] | tuple[str, ...]

_WINDOW_OPS = frozenset(
    {"Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "ConvInteger", "QLinearConv"}
)
_AXIS_OPS = frozenset(
    {
        "Concat",
        "Softmax",
        "LogSoftmax",
        "Hardmax",
        "Flatten",
        "Split",
        "Gather",
        "GatherElements",
        "LayerNormalization",
        "ArgMax",
        "ArgMin",
        "CumSum",
        "Compress",
        "ScatterElements",
    }
)


def raw_attrs(node: onnx.NodeProto) -> dict[str, Any]:
    """Decode plain attributes (ints, floats, strings and their lists); skip tensors/graphs."""
    out: dict[str, Any] = {}
    for attr in node.attribute:
        t = attr.type
        if t == onnx.AttributeProto.INT:
            out[attr.name] = int(attr.i)
        elif t == onnx.AttributeProto.FLOAT:
            out[attr.name] = float(attr.f)
        elif t == onnx.AttributeProto.STRING:
            out[attr.name] = attr.s.decode("utf-8", "replace")
        elif t == onnx.AttributeProto.INTS:
            out[attr.name] = tuple(int(v) for v in attr.ints)
        elif t == onnx.AttributeProto.FLOATS:
            out[attr.name] = tuple(float(v) for v in attr.floats)
        elif t == onnx.AttributeProto.STRINGS:
            out[attr.name] = tuple(s.decode("utf-8", "replace") for s in attr.strings)
        elif t == onnx.AttributeProto.TENSOR and attr.name == "value":
            out["value_dims"] = tuple(int(d) for d in attr.t.dims)
    return out


def spatial_geometry(
    op: str,
    attrs: dict[str, Any],
    in_shape: Sequence[int] | None,
    weight_shape: Sequence[int] | None,
) -> dict[str, Any] | None:
    """Kernel, strides, dilations and explicit begin/end pads of a windowed op.

    Returns ``None`` when the spatial rank cannot be known. ``auto_pad`` is
    resolved to explicit pads from the input shape when it is known.
    """
    if "kernel_shape" in attrs:
        kernel = tuple(attrs["kernel_shape"])
    elif weight_shape is not None and len(weight_shape) > 2:
        kernel = tuple(int(d) for d in weight_shape[2:])
    else:
        return None
    rank = len(kernel)
    strides = tuple(attrs.get("strides", (1,) * rank))
    dilations = tuple(attrs.get("dilations", (1,) * rank))
    pads = tuple(attrs.get("pads", (0,) * (2 * rank)))
    if len(strides) != rank or len(dilations) != rank or len(pads) != 2 * rank:
        return None
    auto_pad = attrs.get("auto_pad", "NOTSET")
    if auto_pad == "VALID":
        pads = (0,) * (2 * rank)
    elif (
        auto_pad in ("SAME_UPPER", "SAME_LOWER") and in_shape is not None and op != "ConvTranspose"
    ):
        begin, end = [], []
        for size, k, s, d in zip(in_shape[2:], kernel, strides, dilations, strict=False):
            out = -(-size // max(s, 1))
            total = max(0, (out - 1) * s + (k - 1) * d + 1 - size)
            small, big = total // 2, total - total // 2
            begin.append(small if auto_pad == "SAME_UPPER" else big)
            end.append(big if auto_pad == "SAME_UPPER" else small)
        pads = tuple(begin + end)
    return {"kernel": kernel, "strides": strides, "dilations": dilations, "pads": pads}


def normalize_attrs(
    node: onnx.NodeProto,
    in_shape: Sequence[int] | None,
    weight_shape: Sequence[int] | None,
) -> dict[str, AttrValue]:
    """The node's attributes with ONNX defaults made explicit.

    Windowed ops (Conv, ConvTranspose, pools) get ``kernel``, ``strides``,
    ``dilations``, ``pads`` (begin…, end…) and ``group``; axis-taking ops get a
    non-negative ``axis`` when the input rank is known; ``Gemm`` gets ``transA``,
    ``transB``, ``alpha``, ``beta``; other plain attributes pass through.
    """
    attrs = raw_attrs(node)
    op = node.op_type
    if op in _WINDOW_OPS:
        geom = spatial_geometry(op, attrs, in_shape, weight_shape)
        for key in ("kernel_shape", "strides", "dilations", "pads", "auto_pad"):
            attrs.pop(key, None)
        if geom is not None:
            attrs.update(geom)
        if op in ("Conv", "ConvTranspose", "ConvInteger", "QLinearConv"):
            attrs.setdefault("group", 1)
        if op == "AveragePool":
            attrs.setdefault("count_include_pad", 0)
        if op in ("MaxPool", "AveragePool"):
            attrs.setdefault("ceil_mode", 0)
    elif op == "Gemm":
        attrs.setdefault("transA", 0)
        attrs.setdefault("transB", 0)
        attrs.setdefault("alpha", 1.0)
        attrs.setdefault("beta", 1.0)
    elif op in _AXIS_OPS:
        default = (
            -1
            if op in ("Softmax", "LogSoftmax", "Hardmax", "LayerNormalization")
            else (1 if op == "Flatten" else 0)
        )
        axis = int(attrs.get("axis", default))
        if in_shape is not None and axis < 0:
            axis += len(in_shape)
        attrs["axis"] = axis
    elif op == "Transpose" and "perm" not in attrs and in_shape is not None:
        attrs["perm"] = tuple(reversed(range(len(in_shape))))
    return attrs


@cache
def dtype_size_bytes(elem_type: int) -> int:
    """Bytes per element of an ONNX tensor element type (4 when unknown)."""
    try:
        return helper.tensor_dtype_to_np_dtype(elem_type).itemsize
    except Exception:
        return 4

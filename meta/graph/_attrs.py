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


_A = onnx.AttributeProto
_INT, _FLOAT, _STRING, _TENSOR = _A.INT, _A.FLOAT, _A.STRING, _A.TENSOR
_INTS, _FLOATS, _STRINGS = _A.INTS, _A.FLOATS, _A.STRINGS


def raw_attrs(node: onnx.NodeProto) -> dict[str, Any]:
    """Decode plain attributes (ints, floats, strings and their lists); skip tensors/graphs."""
    # protobuf already hands back Python ints and floats: no int()/float() per value;
    # a slice of a repeated field is a list, made faster than by iterating the field
    out: dict[str, Any] = {}
    for attr in node.attribute:
        t = attr.type
        if t == _INTS:
            out[attr.name] = tuple(attr.ints[:])
        elif t == _INT:
            out[attr.name] = attr.i
        elif t == _FLOAT:
            out[attr.name] = attr.f
        elif t == _STRING:
            out[attr.name] = attr.s.decode("utf-8", "replace")
        elif t == _FLOATS:
            out[attr.name] = tuple(attr.floats[:])
        elif t == _STRINGS:
            out[attr.name] = tuple(s.decode("utf-8", "replace") for s in attr.strings)
        elif t == _TENSOR and attr.name == "value":
            out["value_dims"] = tuple(attr.t.dims[:])
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
    return _normalize(node.op_type, raw_attrs(node), in_shape, weight_shape)


def _normalize(
    op: str,
    attrs: dict[str, Any],
    in_shape: Sequence[int] | None,
    weight_shape: Sequence[int] | None,
) -> dict[str, AttrValue]:
    """:func:`normalize_attrs` of already decoded attributes (``attrs`` is updated in place)."""
    if op in _WINDOW_OPS:
        geom = spatial_geometry(op, attrs, in_shape, weight_shape)
        for key in _WINDOW_KEYS:
            attrs.pop(key, None)
        if geom is not None:
            attrs.update(geom)
        if op in _GROUP_OPS and "group" not in attrs:
            attrs["group"] = 1
        if op == "AveragePool" and "count_include_pad" not in attrs:
            attrs["count_include_pad"] = 0
        if (op == "MaxPool" or op == "AveragePool") and "ceil_mode" not in attrs:
            attrs["ceil_mode"] = 0
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


_WINDOW_KEYS = ("kernel_shape", "strides", "dilations", "pads", "auto_pad")
_GROUP_OPS = frozenset({"Conv", "ConvTranspose", "ConvInteger", "QLinearConv"})


@cache
def dtype_size_bytes(elem_type: int) -> int:
    """Bytes per element of an ONNX tensor element type (4 when unknown)."""
    try:
        return helper.tensor_dtype_to_np_dtype(elem_type).itemsize
    except Exception:
        return 4

"""Static tensor shapes: onnx shape inference, with fewlat's own rules where it fails.

Order of sources for each tensor:

1. initializers (their dims) and graph inputs (declared, or the caller's override);
2. fewlat's rules for the common ops (:func:`_rule`). They give exactly what
   onnx infers — ``tests/meta/test_graph_shapes.py`` checks every tensor of
   every light model and of every search space against onnx — and they are
   fast. When they cover the whole graph, onnx is not called;
3. otherwise :func:`onnx.shape_inference.infer_shapes` with data propagation,
   run on a stripped copy of the model (large tensors keep only their dims);
4. then, where onnx failed too: shapes the model declares in ``value_info``,
   and — for an op neither onnx nor fewlat knows, with one data input and one
   output — the input shape (a documented guess);
5. another onnx pass seeded with what step 4 filled in, so standard ops
   downstream of an unknown op get shapes again (at most two extra passes).

A tensor whose shape no source knows is absent from the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

from fewlat.meta.graph._attrs import raw_attrs, spatial_geometry
from fewlat.meta.graph._model_graph import Shape
from fewlat.meta.graph._topology import NodeView

__all__ = ["infer_tensor_shapes"]


#: tensors up to this many elements keep their values for data propagation
_SMALL_TENSOR = 4096
_STRING = onnx.TensorProto.STRING

_SAME_SHAPE = frozenset(
    {
        "Abs",
        "BatchNormalization",
        "Cast",
        "Ceil",
        "Celu",
        "Clip",
        "Dropout",
        "Elu",
        "Erf",
        "Exp",
        "Floor",
        "Gelu",
        "HardSigmoid",
        "HardSwish",
        "Hardmax",
        "Identity",
        "InstanceNormalization",
        "LRN",
        "LayerNormalization",
        "LeakyRelu",
        "Log",
        "LogSoftmax",
        "Mish",
        "Neg",
        "Not",
        "PRelu",
        "Reciprocal",
        "Relu",
        "Round",
        "Selu",
        "Shrink",
        "Sigmoid",
        "Sign",
        "Softmax",
        "Softplus",
        "Softsign",
        "Sqrt",
        "Tanh",
        "ThresholdedRelu",
        "GroupNormalization",
        "Sin",
        "Cos",
    }
)
_BROADCAST = frozenset(
    {
        "Add",
        "And",
        "Div",
        "Equal",
        "Greater",
        "GreaterOrEqual",
        "Less",
        "LessOrEqual",
        "Max",
        "Mean",
        "Min",
        "Mod",
        "Mul",
        "Or",
        "Pow",
        "Sub",
        "Sum",
        "Where",
        "Xor",
        "BitShift",
    }
)


def infer_tensor_shapes(
    model: onnx.ModelProto,
    nodes: Sequence[NodeView],
    order: Sequence[int],
    input_shapes: dict[str, Shape],
) -> tuple[dict[str, Shape], dict[str, int]]:
    """Static shape and element type of every tensor whose shape can be known.

    Args:
        model: the parsed model.
        nodes: its nodes, as read by :func:`node_views`.
        order: node indices in topological order.
        input_shapes: the static shape of every real (non-initializer) graph input.

    Returns:
        ``(shapes, elem_types)`` keyed by tensor name.
    """
    return _infer_tensor_shapes(model, nodes, order, input_shapes, None)


def _infer_tensor_shapes(
    model: onnx.ModelProto,
    nodes: Sequence[NodeView],
    order: Sequence[int],
    input_shapes: dict[str, Shape],
    raw: dict[int, dict[str, Any]] | None,
) -> tuple[dict[str, Shape], dict[str, int]]:
    """:func:`infer_tensor_shapes`; ``raw`` collects, by ``id(view)``, the attributes
    the shape rules decoded, for the caller to reuse."""
    shapes, elem_types, consts = seed_shapes(model, nodes, input_shapes)
    ordered = [nodes[i] for i in order]
    # initializer dims are ints; so are the input shapes _encode resolves
    normalized = all(
        type(s) is tuple and all(type(d) is int for d in s) for s in input_shapes.values()
    )
    _, complete = _propagate(ordered, shapes, elem_types, consts, {}, False, raw, normalized)
    if complete:
        return shapes, elem_types

    declared = {vi.name: vi for vi in model.graph.value_info}
    stripped = _stripped_copy(model, order, input_shapes)
    for _ in range(3):
        _collect(_run_onnx_inference(stripped), shapes, elem_types)
        added, _ = _propagate(ordered, shapes, elem_types, consts, declared, True, raw, normalized)
        if not added:
            break
        stripped.graph.value_info.extend(
            helper.make_tensor_value_info(name, elem_types.get(name, 1), list(shapes[name]))
            for name in added
        )
    return shapes, elem_types


def seed_shapes(
    model: onnx.ModelProto, nodes: Sequence[NodeView], input_shapes: dict[str, Shape]
) -> tuple[dict[str, Shape], dict[str, int], _LazyConstants]:
    """Shapes known before any inference: initializers, graph inputs, Constant values."""
    shapes: dict[str, Shape] = {}
    elem_types: dict[str, int] = {}
    consts = _LazyConstants()
    small = consts._protos
    for t in model.graph.initializer:
        name, dims, dtype = t.name, tuple(t.dims[:]), t.data_type
        shapes[name] = dims
        elem_types[name] = dtype
        if prod(dims) <= _SMALL_TENSOR and dtype != _STRING:  # as _LazyConstants.add
            small[name] = t
    for vi in model.graph.input:
        if vi.name in input_shapes:
            shapes[vi.name] = input_shapes[vi.name]
            elem_types[vi.name] = vi.type.tensor_type.elem_type or onnx.TensorProto.FLOAT
    for node in nodes:
        if node.op_type == "Constant" and node.output:
            for attr in node.proto.attribute:
                if attr.name == "value" and attr.type == onnx.AttributeProto.TENSOR:
                    consts.add(node.output[0], attr.t)
    return shapes, elem_types, consts


class _LazyConstants:
    """Values of small constant tensors, decoded only when a shape rule asks."""

    def __init__(self) -> None:
        self._protos: dict[str, onnx.TensorProto] = {}
        self._values: dict[str, np.ndarray | None] = {}

    def add(self, name: str, tensor: onnx.TensorProto) -> None:
        if prod(tensor.dims) <= _SMALL_TENSOR and tensor.data_type != onnx.TensorProto.STRING:
            self._protos[name] = tensor

    def __contains__(self, name: object) -> bool:
        return name in self._protos

    def get(self, name: str) -> np.ndarray | None:
        if name not in self._values:
            proto = self._protos.get(name)
            self._values[name] = None if proto is None else _tensor_value(proto)
        return self._values[name]


def _tensor_value(t: onnx.TensorProto) -> np.ndarray | None:
    try:
        arr = numpy_helper.to_array(t)
    except Exception:  # dims-only (weightless) or malformed tensor: no value
        return None
    return arr if arr.size == prod(t.dims) else None


def _slice_rule(node, x: Shape, attrs: dict, consts: _LazyConstants) -> list[Shape] | None:
    if "starts" in attrs:  # opset < 10: attributes
        starts, ends = attrs["starts"], attrs["ends"]
        axes, steps = attrs.get("axes"), None
    else:
        operands = [consts.get(name) if name else None for name in node.input[1:5]]
        if len(operands) < 2 or operands[0] is None or operands[1] is None:
            return None
        if any(
            name and value is None
            for name, value in zip(node.input[3:5], operands[2:], strict=False)
        ):
            return None
        starts, ends = operands[0].reshape(-1).tolist(), operands[1].reshape(-1).tolist()
        axes = (
            operands[2].reshape(-1).tolist()
            if len(operands) > 2 and operands[2] is not None
            else None
        )
        steps = (
            operands[3].reshape(-1).tolist()
            if len(operands) > 3 and operands[3] is not None
            else None
        )
    axes = list(range(len(starts))) if axes is None else [a % len(x) for a in axes]
    steps = [1] * len(starts) if steps is None else steps
    out = list(x)
    for axis, start, end, step in zip(axes, starts, ends, steps, strict=False):
        if step == 0:
            return None
        out[axis] = len(range(*slice(int(start), int(end), int(step)).indices(x[axis])))
    return [tuple(out)]


def _stripped_copy(
    model: onnx.ModelProto, order: Sequence[int], input_shapes: dict[str, Shape]
) -> onnx.ModelProto:
    graph = model.graph
    out = onnx.ModelProto(ir_version=max(model.ir_version, 4))
    out.opset_import.extend(model.opset_import)
    g = out.graph
    g.name = graph.name or "fewlat"
    g.node.extend(graph.node[i] for i in order)  # copies: the caller's model stays intact
    for t in graph.initializer:
        if prod(t.dims) <= _SMALL_TENSOR:
            g.initializer.append(t)
        else:
            g.initializer.append(onnx.TensorProto(name=t.name, data_type=t.data_type, dims=t.dims))
    for vi in graph.input:
        if vi.name in input_shapes:
            elem = vi.type.tensor_type.elem_type or onnx.TensorProto.FLOAT
            g.input.append(
                helper.make_tensor_value_info(vi.name, elem, list(input_shapes[vi.name]))
            )
    for vi in graph.output:
        g.output.append(helper.make_empty_tensor_value_info(vi.name))
    return out


def _run_onnx_inference(model: onnx.ModelProto) -> onnx.ModelProto | None:
    try:
        return shape_inference.infer_shapes(
            model, check_type=False, strict_mode=False, data_prop=True
        )
    except Exception:  # onnx raises several types (InferenceError, ValidationError, RuntimeError)
        return None


def _static_shape(vi: onnx.ValueInfoProto) -> Shape | None:
    """The shape if every dim is a positive constant (a dim_param reads as 0), else None."""
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return None
    shape = tuple(d.dim_value for d in tt.shape.dim)
    return shape if all(v > 0 for v in shape) else None


def _collect(
    inferred: onnx.ModelProto | None, shapes: dict[str, Shape], elem_types: dict[str, int]
) -> None:
    if inferred is None:
        return
    for vi in (*inferred.graph.value_info, *inferred.graph.output):
        if vi.name in shapes:
            continue
        shape = _static_shape(vi)
        if shape is not None:
            shapes[vi.name] = shape
            if vi.type.tensor_type.elem_type:
                elem_types[vi.name] = vi.type.tensor_type.elem_type


def _propagate(
    nodes: Sequence[NodeView],
    shapes: dict[str, Shape],
    elem_types: dict[str, int],
    consts: _LazyConstants,
    declared: dict[str, onnx.ValueInfoProto],
    guess: bool,
    raw: dict[int, dict[str, Any]] | None,
    normalized: bool = False,
) -> tuple[list[str], bool]:
    """Fill in output shapes the earlier sources left unknown; return the names added and
    whether every output of ``nodes`` has a shape afterwards.

    With ``guess``, also use ``declared`` value_info and let an op that neither
    onnx nor fewlat knows keep its single data input's shape.

    ``raw``: where to keep each node's decoded attributes (by ``id(view)``), so
    that they are decoded once for all passes and for the caller.
    ``normalized``: every shape in ``shapes`` is a tuple of ints (as this function
    itself stores them).
    """
    added: list[str] = []
    missing: list[str] = []
    if raw is None:
        raw = {}
    get = shapes.get
    types_get = elem_types.get
    kinds = _KIND
    for node in nodes:
        op, _, _, node_in, node_out, _ = node
        if len(node_out) == 1:  # the common case, without the lists below
            if not node_out[0] or node_out[0] in shapes:
                continue
            outs = node_out
        else:
            outs = [o for o in node_out if o]
            if not outs:
                continue
            for o in outs:
                if o not in shapes:
                    break
            else:
                continue
        ins = [get(i) if i else None for i in node_in] if "" in node_in else [*map(get, node_in)]
        kind = kinds.get(op)
        if kind == 1:  # same shape as the first input (what _rule does, without a call)
            x = ins[0] if ins else None
            result = [x] if x is not None else None
        elif kind == 2 and normalized and _all_same(ins):  # equal shapes broadcast to it
            result = [ins[0]]
        else:
            kind = 0
            try:
                result = _rule(node, ins, consts, raw)
            except (ValueError, IndexError, TypeError, ZeroDivisionError, OverflowError):
                result = None
        for k, name in enumerate(outs):
            if name in shapes:
                continue
            shape = result[k] if result is not None and k < len(result) else None
            if shape is None and guess and name in declared:
                shape = _static_shape(declared[name])
            if shape is None and guess and len(outs) == 1 and _unknown_op(node):
                data_ins = [s for i, s in zip(node_in, ins, strict=False) if i and i not in consts]
                if len(data_ins) == 1 and data_ins[0] is not None:
                    shape = data_ins[0]  # unknown op: assume it keeps the shape
            if shape is not None:
                # an input's shape, as kinds 1 and 2 give, is already a tuple of ints
                # when ``normalized``
                shapes[name] = shape if kind and normalized else tuple(map(int, shape))
                if name not in elem_types:
                    if op in _SPECIAL_TYPE_OPS:
                        elem_types[name] = _output_elem_type(node, k, elem_types)
                    else:  # _output_elem_type's last case: the first input's type
                        data = node_in[0] if node_in and node_in[0] else _first(node_in)
                        elem_types[name] = types_get(data, _FLOAT) if data else _FLOAT
                added.append(name)
            else:
                missing.append(name)
    return added, all(name in shapes for name in missing)


def _first(names: list[str]) -> str | None:
    return next((i for i in names if i), None)


#: ops that _rule handles without attributes: 1 = output shape of input 0, 2 = broadcast
_KIND: dict[str, int] = {
    **dict.fromkeys(_SAME_SHAPE - {"Dropout"}, 1),
    **dict.fromkeys(_BROADCAST, 2),
}
_MAX_SAFE = 2**62


def _all_same(ins: list[Shape | None]) -> bool:
    """Whether ``ins`` are one shape that ``np.broadcast_shapes`` returns unchanged
    (rank <= 32, positive dims, size well inside int64; else numpy decides)."""
    x = ins[0] if ins else None
    if x is None or len(x) > 32 or (x and (min(x) <= 0 or prod(x) >= _MAX_SAFE)):
        return False
    return ins.count(x) == len(ins)


_BOOL_OUT = frozenset(
    {"Equal", "Greater", "GreaterOrEqual", "Less", "LessOrEqual", "And", "Or", "Xor", "Not"}
)
#: ops whose output type is not simply that of their first non-empty input
_SPECIAL_TYPE_OPS = _BOOL_OUT | {
    "Dropout",
    "Shape",
    "Size",
    "Cast",
    "Constant",
    "ConstantOfShape",
    "Where",
}
_FLOAT = onnx.TensorProto.FLOAT


def _output_elem_type(node: NodeView, k: int, elem_types: dict[str, int]) -> int:
    if node.op_type in _BOOL_OUT or (node.op_type == "Dropout" and k == 1):
        return onnx.TensorProto.BOOL
    if node.op_type in ("Shape", "Size"):
        return onnx.TensorProto.INT64
    if node.op_type == "Cast":
        to = next((a.i for a in node.proto.attribute if a.name == "to"), 0)
        if to:
            return to
    if node.op_type in ("Constant", "ConstantOfShape"):
        value = next((a.t for a in node.proto.attribute if a.name == "value"), None)
        return value.data_type if value is not None else onnx.TensorProto.FLOAT
    data = (
        node.input[1]
        if node.op_type == "Where" and len(node.input) > 1
        else next((i for i in node.input if i), None)
    )
    return elem_types.get(data, onnx.TensorProto.FLOAT) if data else onnx.TensorProto.FLOAT


def _unknown_op(node: NodeView) -> bool:
    """Neither onnx's schema registry nor fewlat's rules know this op."""
    if node.domain not in ("", "ai.onnx"):
        return True
    return not onnx.defs.has(node.op_type)


def _rule(
    node: NodeView,
    ins: list[Shape | None],
    consts: _LazyConstants,
    raw: dict[int, dict[str, Any]],
) -> list[Shape | None] | None:
    op = node.op_type
    x = ins[0] if ins else None
    if op == "Dropout":  # output and mask share the input's shape
        return [x, x] if x is not None else None
    if op in _SAME_SHAPE:
        return [x] if x is not None else None
    if op in _BROADCAST:
        if any(s is None for s in ins):
            return None
        return [tuple(np.broadcast_shapes(*ins))]
    attrs = raw.get(id(node))
    if attrs is None:
        attrs = raw[id(node)] = raw_attrs(node.proto)
    if op == "Constant":
        return [attrs["value_dims"]] if "value_dims" in attrs else None
    if op == "ConstantOfShape":
        value = consts.get(node.input[0]) if node.input else None
        return None if value is None else [tuple(int(v) for v in value.reshape(-1))]
    if x is None:
        return None
    if op == "Shape" and len(node.input) == 1 and "start" not in attrs and "end" not in attrs:
        return [(len(x),)]
    if op == "Gather":
        idx = ins[1] if len(ins) > 1 else None
        if idx is None:
            return None
        axis = attrs.get("axis", 0) % len(x)
        return [(*x[:axis], *idx, *x[axis + 1 :])]
    if op == "Split":
        axis = attrs.get("axis", 0) % len(x)
        sizes = attrs.get("split")
        if sizes is None and len(node.input) > 1 and node.input[1]:
            value = consts.get(node.input[1])
            sizes = None if value is None else tuple(int(v) for v in value.reshape(-1))
        n_out = len(node.output)
        if sizes is None:
            if x[axis] % n_out:
                return None  # uneven default split: leave it to onnx
            sizes = (x[axis] // n_out,) * n_out
        return [(*x[:axis], size, *x[axis + 1 :]) for size in sizes]
    if op == "Slice":
        return _slice_rule(node, x, attrs, consts)
    if op in ("Conv", "MaxPool", "AveragePool", "LpPool", "ConvTranspose"):
        if op == "ConvTranspose" and ("output_shape" in attrs or "auto_pad" in attrs):
            return None  # onnx's inference handles these forms
        w = ins[1] if len(ins) > 1 else None
        geom = spatial_geometry(op, attrs, x, w)
        if geom is None:
            return None
        rank = len(geom["kernel"])
        spatial = []
        for j in range(rank):
            size, k = x[2 + j], geom["kernel"][j]
            s, d = geom["strides"][j], geom["dilations"][j]
            pad = geom["pads"][j] + geom["pads"][j + rank]
            if op == "ConvTranspose":
                extra = tuple(attrs.get("output_padding", (0,) * rank))[j]
                spatial.append(s * (size - 1) + extra + (k - 1) * d + 1 - pad)
            else:
                eff = (k - 1) * d + 1
                num = size + pad - eff
                ceil = attrs.get("ceil_mode", 0)
                spatial.append((-(-num // s) if ceil else num // s) + 1)
        if op == "Conv":
            channels = w[0]
        elif op == "ConvTranspose":
            channels = w[1] * attrs.get("group", 1)
        else:
            channels = x[1]
        return [(x[0], channels, *spatial)]
    if op in ("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"):
        return [(x[0], x[1], *([1] * (len(x) - 2)))]
    if op == "Flatten":
        axis = (
            attrs.get("axis", 1) % max(len(x), 1)
            if attrs.get("axis", 1) < 0
            else attrs.get("axis", 1)
        )
        return [(prod(x[:axis]), prod(x[axis:]))]
    if op == "Gemm":
        b = ins[1]
        if b is None:
            return None
        m = x[1] if attrs.get("transA", 0) else x[0]
        n = b[0] if attrs.get("transB", 0) else b[1]
        return [(m, n)]
    if op == "MatMul":
        b = ins[1]
        if b is None:
            return None
        a2 = (1, *x) if len(x) == 1 else x
        b2 = (*b, 1) if len(b) == 1 else b
        batch = np.broadcast_shapes(a2[:-2], b2[:-2])
        out = (*batch, a2[-2], b2[-1])
        if len(x) == 1:
            out = out[:-2] + out[-1:]
        if len(b) == 1:
            out = out[:-1]
        return [tuple(out)]
    if op == "Transpose":
        perm = attrs.get("perm", tuple(reversed(range(len(x)))))
        return [tuple(x[p] for p in perm)]
    if op == "Concat":
        if any(s is None for s in ins):
            return None
        axis = attrs.get("axis", 0) % len(x)
        out = list(x)
        out[axis] = sum(s[axis] for s in ins)
        return [tuple(out)]
    if op == "Reshape":
        target = consts.get(node.input[1]) if len(node.input) > 1 else None
        if target is None or attrs.get("allowzero", 0):
            return None
        out = [x[i] if v == 0 else int(v) for i, v in enumerate(target.tolist())]
        if -1 in out:
            known = prod(d for d in out if d != -1)
            out[out.index(-1)] = prod(x) // known
        return [tuple(out)]
    if op in ("Squeeze", "Unsqueeze"):
        axes = attrs.get("axes")
        if axes is None and len(node.input) > 1:
            axes = consts.get(node.input[1])
            axes = None if axes is None else tuple(int(a) for a in axes.reshape(-1))
        if op == "Squeeze":
            if axes is None:
                return [tuple(d for d in x if d != 1)]
            axes = {a % len(x) for a in axes}
            return [tuple(d for i, d in enumerate(x) if i not in axes)]
        if axes is None:
            return None
        rank = len(x) + len(axes)
        axes = {a % rank for a in axes}
        it = iter(x)
        return [tuple(1 if i in axes else next(it) for i in range(rank))]
    return None

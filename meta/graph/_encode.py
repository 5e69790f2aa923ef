"""ONNX → :class:`ModelGraph`: the one entry point :func:`encode`."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import replace
from itertools import chain, filterfalse
from math import prod

import onnx

from fewlat.exceptions import (
    InvalidModelError,
    SymbolicShapeError,
    UnsupportedModelError,
    invalid_parameter,
)
from fewlat.meta.graph._attrs import _normalize, dtype_size_bytes, raw_attrs
from fewlat.meta.graph._costs import node_macs_flops
from fewlat.meta.graph._load import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_NODES,
    corrupt_text_error,
    load_model,
)
from fewlat.meta.graph._model_graph import ModelGraph, Node, Shape
from fewlat.meta.graph._shapes import _infer_tensor_shapes
from fewlat.meta.graph._topology import longest_path_lengths, node_views, topological_order

__all__ = ["encode"]

_T = onnx.TensorProto
#: element types whose constant inputs count as parameters (weights)
_WEIGHT_TYPES = frozenset({_T.FLOAT, _T.FLOAT16, _T.BFLOAT16, _T.DOUBLE, _T.INT8, _T.UINT8})
#: ops whose constant inputs are operands (target shapes, scales, repeats), not weights
_OPERAND_OPS = frozenset({"Reshape", "Expand", "Tile", "Resize", "Upsample"})


def encode(
    model: bytes | bytearray | memoryview | onnx.ModelProto,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> ModelGraph:
    """Reduce an ONNX model to a :class:`ModelGraph`.

    Works on weightless models (initializers with dims only) and on old-IR
    models whose initializers are also listed as graph inputs. Constants and
    subgraphs computed only from constants (e.g. ``ConstantOfShape`` weights,
    ``Shape``→``Gather``→``Concat`` chains on static shapes) are folded: they
    are not nodes, and the float constants they feed count as parameters.

    An inference-mode ``BatchNormalization`` right after a ``Conv`` (the conv's
    only consumer) is folded into that conv, as onnxruntime and MNN do when they
    load the model and as PyTorch's default export writes it: the conv takes the
    batch norm's output, and a bias if it had none. So a model gives the same
    graph with its batch norm kept or folded by another tool. Likewise a
    ``Mul(x, HardSigmoid(x))`` that is a HardSwish written out (opsets before 14)
    is one ``HardSwish`` node, and an ``Identity`` of a node's output is no node
    (runtimes drop it): its readers read that output.

    Args:
        model: serialised ONNX bytes or a ``ModelProto`` (not mutated).
        input_shapes: static shape per graph input name, overriding the declared
            one; required for inputs with symbolic or unknown dims
            (default: :obj:`None`).
        max_bytes: byte-size limit (default: 256 MB).
        max_nodes: node-count limit (default: 100,000).

    Returns:
        The model graph with per-node costs and totals.

    Raises:
        InvalidModelError: undecodable bytes, an empty or malformed graph (cycle,
            dangling input, tensor assigned twice), or no computation.
        SymbolicShapeError: an input has symbolic dims and no override.
        UnsafeModelError: external-data references.
        UnsupportedModelError: subgraphs (If/Loop/Scan) or non-tensor inputs.
        ModelTooLargeError: over ``max_bytes`` or ``max_nodes``.
        InvalidParameterError: ``input_shapes`` names an unknown input or is not
            a sequence of positive ints.
    """
    proto = load_model(model, max_bytes=max_bytes, max_nodes=max_nodes)
    try:
        return _encode(proto, input_shapes)
    except UnicodeDecodeError as err:  # proto2 strings are only decoded when read
        raise corrupt_text_error(err) from None


def _encode(proto: onnx.ModelProto, input_shapes: Mapping[str, Sequence[int]] | None) -> ModelGraph:
    graph = proto.graph
    init_names = {t.name for t in graph.initializer}
    shapes_in = _resolve_input_shapes(graph, init_names, input_shapes)

    nodes = node_views(graph)
    order = topological_order(nodes, [*init_names, *shapes_in])
    raw: dict[int, dict] = {}  # attributes the shape rules decoded, by id(view)
    shapes, elem_types = _infer_tensor_shapes(proto, nodes, order, shapes_in, raw)

    # bytes of every tensor (0 when its shape is unknown), each computed once
    size = dtype_size_bytes
    types_get = elem_types.get
    size_of: defaultdict[str, int] = defaultdict(int)
    for tensor, shape in shapes.items():
        size_of[tensor] = prod(shape) * size(types_get(tensor, 1))
    nbytes = size_of.__getitem__
    get = shapes.get

    constant = set(init_names)
    in_constant = constant.__contains__
    producer: dict[str, int] = {}
    producer_get = producer.get
    out_nodes: list[Node] = []
    preds: list[list[int]] = []
    edges: dict[tuple[int, int], int] = {}
    weight_elements: dict[str, int] = {}  # distinct constant float tensors → elements
    activation = dict.fromkeys(shapes_in)
    # activation tensors that only one node reads (a conv's batch norm can be folded)
    read_once = {t for t, n in Counter(chain.from_iterable(v[3] for v in nodes)).items() if n == 1}
    read_once.difference_update(o.name for o in graph.output)
    unknown = 0
    weight_types = _WEIGHT_TYPES
    operand_ops = _OPERAND_OPS
    raw_pop = raw.pop

    for idx in order:
        node = nodes[idx]
        op, domain, name, node_in, node_out, node_proto = node
        ins = [i for i in node_in if i] if "" in node_in else node_in
        # constant: its outputs are fixed before any input arrives (no data input, as
        # Constant and RandomNormal; only constant inputs; or the Shape/Size of a known shape)
        if not ins or constant.issuperset(ins) or (op in _SHAPE_OPS and ins[0] in shapes):
            constant.update([o for o in node_out if o])
            continue
        if constant.isdisjoint(ins):
            data_inputs = tuple(ins)
            weights = []
        else:
            data_inputs = tuple(filterfalse(in_constant, ins))
            if op in operand_ops:
                weights = []
            else:
                weights = [i for i in ins if i in constant and types_get(i, 1) in weight_types]
        outs = tuple([o for o in node_out if o]) if "" in node_out else tuple(node_out)
        is_identity = op == "Identity" and not domain and len(outs) == 1
        if is_identity and (src := producer_get(ins[0])) is not None:
            producer[outs[0]] = src  # an alias of its input: no node, no new tensor
            continue
        # a node that an earlier one absorbs (runtimes run the two as one)
        merged = None
        if op == "Mul" and not domain and len(ins) == 2 == len(data_inputs):
            src = _hard_sigmoid_of(ins, producer_get, out_nodes, read_once)
            if src is not None:
                merged = _as_hard_swish(out_nodes[src], outs, get(outs[0]), nbytes)
        elif op == "BatchNormalization" and not domain:
            src = _conv_before(
                node_proto, ins, data_inputs, outs, producer_get, out_nodes, read_once
            )
            if src is not None:
                conv, scale = out_nodes[src], ins[1]  # the bias takes the scale's shape and type
                merged = _fold_batch_norm(
                    conv, outs, get(outs[0]), nbytes, get(scale, ()), nbytes(scale)
                )
                if merged.params > conv.params:  # the bias the conv lacked
                    weight_elements[outs[0] + ":bias"] = merged.params - conv.params
        if merged is not None:
            del activation[out_nodes[src].outputs[0]]  # the absorbed tensor no longer exists
            out_nodes[src] = merged
            for o in outs:
                producer[o] = src
                activation[o] = None
            continue
        in_shapes = (
            [get(i) if i else None for i in node_in] if ins is not node_in else [*map(get, ins)]
        )
        out_shapes = tuple(map(get, outs))
        unknown += out_shapes.count(None)
        attrs = raw_pop(id(node), None)
        attrs = _normalize(
            op,
            raw_attrs(node_proto) if attrs is None else attrs,
            in_shapes[0] if in_shapes else None,
            in_shapes[1] if len(in_shapes) > 1 else None,
        )
        macs, flops = node_macs_flops(op, attrs, in_shapes, out_shapes)
        me = len(out_nodes)
        my_preds: list[int] = []
        for tensor in data_inputs:
            src = producer_get(tensor)
            if src is not None and src not in my_preds:  # i.e. (src, me) not in edges
                edges[(src, me)] = nbytes(tensor)
                my_preds.append(src)
        preds.append(my_preds)
        for o in outs:
            producer[o] = me
            activation[o] = None
        if weights:
            weight_shapes = tuple([get(w, ()) for w in weights])
            weight_elements.update(zip(weights, map(prod, weight_shapes), strict=True))
            params = sum(map(prod, weight_shapes))
        else:
            weight_shapes = ()
            params = 0
        out_nodes.append(
            Node(  # positional (faster than keywords), in field order
                name or f"{op}_{idx}",  # name
                op if domain in ("", "ai.onnx") else f"{domain}.{op}",  # op
                attrs,
                data_inputs,  # inputs
                outs,  # outputs
                tuple(map(get, data_inputs)),  # input_shapes
                out_shapes,  # output_shapes
                weight_shapes,
                macs,
                flops,
                params,
                sum(map(nbytes, ins)),  # bytes_read
                sum(map(nbytes, outs)),  # bytes_written
            )
        )

    if not out_nodes:
        raise InvalidModelError(
            "The model computes nothing from its inputs (every node folds to a constant)."
        )
    depth = longest_path_lengths(preds)
    return ModelGraph(
        nodes=tuple(out_nodes),
        edges=tuple(edges),
        edge_bytes=tuple(edges.values()),
        inputs=shapes_in,
        outputs={vi.name: get(vi.name) for vi in graph.output},
        macs=sum([n.macs for n in out_nodes]),
        flops=sum([n.flops for n in out_nodes]),
        params=sum(weight_elements.values()),
        activation_bytes=sum(map(nbytes, activation)),
        depth=max(depth),
        unknown_shapes=unknown,
    )


_SHAPE_OPS = frozenset({"Shape", "Size"})


def _conv_before(proto, ins, data_inputs, outs, producer_get, out_nodes, read_once) -> int | None:
    """Index of the Conv node an inference-mode BatchNormalization folds into, if any:
    its one activation input is X, the own output of a Conv with constant weights (and
    bias) and one output, read by this batch norm alone (not through an Identity); its
    scale, bias, mean and variance are constants."""
    if len(outs) != 1 or len(ins) != 5 or data_inputs != (ins[0],) or ins[0] not in read_once:
        return None
    if any(a.name == "training_mode" and a.i for a in proto.attribute):
        return None
    src = producer_get(ins[0])
    if src is None:
        return None
    conv = out_nodes[src]
    if conv.op != "Conv" or conv.outputs != (ins[0],) or len(conv.inputs) != 1:
        return None  # a conv whose weights or bias are computed is left as it is
    if len(conv.weight_shapes) not in (1, 2):
        return None
    return src


def _hard_sigmoid_of(ins, producer_get, out_nodes, read_once) -> int | None:
    """Index of the HardSigmoid node that a ``Mul(x, HardSigmoid(x))`` reads, when the two
    are a HardSwish written out (alpha 1/6, beta 1/2, as exporters write it for opsets
    before 14 and onnxruntime saves it) and nothing else reads the HardSigmoid."""
    for x, gate in (ins, ins[::-1]):
        src = producer_get(gate)
        if src is None or gate not in read_once:
            continue
        node = out_nodes[src]
        if node.op != "HardSigmoid" or node.inputs != (x,) or node.outputs != (gate,):
            continue
        if (
            abs(float(node.attrs.get("alpha", 0.2)) - 1 / 6) < 1e-6
            and float(node.attrs.get("beta", 0.5)) == 0.5
        ):
            return src
    return None


def _as_hard_swish(gate: Node, outs, out_shape, nbytes) -> Node:
    """The HardSwish node that ``x · gate`` is, with ``gate`` its HardSigmoid of ``x``."""
    macs, flops = node_macs_flops("HardSwish", {}, gate.input_shapes, (out_shape,))
    return replace(
        gate,
        op="HardSwish",
        attrs={},
        outputs=tuple(outs),
        output_shapes=(out_shape,),
        macs=macs,
        flops=flops,
        bytes_written=sum(map(nbytes, outs)),
    )


def _fold_batch_norm(conv: Node, outs, out_shape, nbytes, bias_shape, bias_bytes) -> Node:
    """``conv`` with the batch norm after it folded in: it writes the batch norm's
    output, and gains a bias (``bias_shape``, one per output channel, ``bias_bytes``)
    if it had none, with that bias's elements, bytes and additions."""
    bias = {}
    if len(conv.weight_shapes) == 1:
        bias = {
            "weight_shapes": (*conv.weight_shapes, bias_shape),
            "params": conv.params + prod(bias_shape),
            "bytes_read": conv.bytes_read + bias_bytes,
            "flops": conv.flops + (prod(out_shape) if out_shape is not None and conv.macs else 0),
        }
    return replace(
        conv,
        outputs=tuple(outs),
        output_shapes=(out_shape,),
        bytes_written=sum(map(nbytes, outs)),
        **bias,
    )


def _resolve_input_shapes(
    graph: onnx.GraphProto,
    init_names: set[str],
    overrides: Mapping[str, Sequence[int]] | None,
) -> dict[str, Shape]:
    real = [vi for vi in graph.input if vi.name not in init_names]
    names = [vi.name for vi in real]
    overrides = dict(overrides or {})
    for name, shape in overrides.items():
        if name not in names:
            raise invalid_parameter(
                "input_shapes", "encode", f"keyed by graph input names {names}", name
            )
        if (
            not isinstance(shape, Sequence)
            or not shape
            or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape)
        ):
            raise invalid_parameter(
                "input_shapes", "encode", "a mapping to sequences of positive ints", {name: shape}
            )
    resolved: dict[str, Shape] = {}
    for vi in real:
        if vi.type.WhichOneof("value") != "tensor_type":
            raise UnsupportedModelError(
                f"Graph input {vi.name!r} is not a tensor; only tensor inputs are supported."
            )
        declared = _declared_dims(vi)
        if vi.name in overrides:
            shape = tuple(int(d) for d in overrides[vi.name])
            if declared is not None and len(declared) != len(shape):
                raise invalid_parameter(
                    "input_shapes",
                    "encode",
                    f"of rank {len(declared)} for input {vi.name!r} (declared {declared})",
                    shape,
                )
            resolved[vi.name] = shape
        elif declared is not None and all(isinstance(d, int) and d > 0 for d in declared):
            resolved[vi.name] = tuple(declared)  # type: ignore[arg-type]
        else:
            shown = "unknown" if declared is None else "x".join(str(d) for d in declared)
            raise SymbolicShapeError(
                f"Input {vi.name!r} has no static shape (declared: {shown}). Pass"
                f" input_shapes={{{vi.name!r}: (1, 3, 224, 224)}} (CLI: --input-shape"
                f" {vi.name}=1x3x224x224) with its real dims."
            )
    if not resolved:
        raise InvalidModelError("The model has no graph inputs besides its initializers.")
    return resolved


def _declared_dims(vi: onnx.ValueInfoProto) -> list[int | str] | None:
    tt = vi.type.tensor_type
    if not tt.HasField("shape"):
        return None
    dims: list[int | str] = []
    for d in tt.shape.dim:
        kind = d.WhichOneof("value")
        dims.append(d.dim_value if kind == "dim_value" else (d.dim_param or "?"))
    return dims

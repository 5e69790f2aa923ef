"""fewlat.meta.graph.encode on real models, checked against independent counts."""

from __future__ import annotations

from collections import Counter
from math import prod

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from fewlat.exceptions import InvalidParameterError, SymbolicShapeError
from fewlat.meta.graph import encode
from tests.graph_models import (
    LIGHT_MODELS,
    conv_model,
    ints,
    light_bytes,
    make_model,
    vinfo,
    weight,
)


def _constant_weight_elements(model: onnx.ModelProto) -> int:
    """Independent param count, from the proto: the float initializers and ConstantOfShape
    outputs that some node reads (caffe2 exports carry an unused 1-element initializer),
    with each batch norm that only reads a conv's output folded into that conv: its four
    tensors are gone, and the conv has a bias (one per channel)."""
    used = {i for node in model.graph.node for i in node.input}
    inits = {t.name: t for t in model.graph.initializer}
    made_by = {o: n for n in model.graph.node for o in n.output}

    def elements(name: str) -> int:
        if name in inits:
            return prod(inits[name].dims)
        return int(np.prod(numpy_helper.to_array(inits[made_by[name].input[0]])))

    total = sum(
        elements(t.name)
        for t in inits.values()
        if t.data_type == TensorProto.FLOAT and t.name in used
    )
    total += sum(
        elements(n.output[0])
        for n in model.graph.node
        if n.op_type == "ConstantOfShape" and n.output[0] in used
    )
    readers = Counter(i for n in model.graph.node for i in n.input)
    for node in model.graph.node:
        conv = made_by.get(node.input[0])
        if node.op_type != "BatchNormalization" or conv is None or conv.op_type != "Conv":
            continue
        if readers[node.input[0]] == 1:
            total -= sum(map(elements, node.input[1:]))
            total += elements(node.input[1]) if len(conv.input) < 3 else 0
    return total


def _runtime_contraction_macs(model: onnx.ModelProto) -> int:
    """Independent MAC count: Conv/Gemm output shapes as onnxruntime actually produces them."""
    import onnxruntime as ort

    m = onnx.ModelProto()
    m.CopyFrom(model)
    inits = {t.name: numpy_helper.to_array(t) for t in m.graph.initializer}
    weight_shapes = {
        n.output[0]: tuple(int(v) for v in inits[n.input[0]])
        for n in m.graph.node
        if n.op_type == "ConstantOfShape"
    }
    probes = [n for n in m.graph.node if n.op_type in ("Conv", "Gemm")]
    names = list(
        dict.fromkeys(
            [n.output[0] for n in probes]
            + [n.input[1] for n in probes if n.input[1] not in weight_shapes]
        )
    )
    existing = {o.name for o in m.graph.output}
    for name in names:
        if name not in existing:
            m.graph.output.append(helper.make_empty_tensor_value_info(name))
    sess = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {i.name: np.zeros(i.shape, np.float32) for i in sess.get_inputs()}
    outs = dict(zip(names, sess.run(names, feeds), strict=True))
    macs = 0
    for n in probes:
        w = weight_shapes.get(n.input[1]) or outs[n.input[1]].shape
        y = outs[n.output[0]]
        if n.op_type == "Conv":
            macs += y.size * prod(w[1:])
        else:
            trans_b = next((a.i for a in n.attribute if a.name == "transB"), 0)
            macs += y.size * (w[1] if trans_b else w[0])
    return macs


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_light_models_match_independent_counts(name: str) -> None:
    data = light_bytes(name)
    model = onnx.load_from_string(data)
    graph = encode(data)
    assert graph.unknown_shapes == 0
    assert graph.params == _constant_weight_elements(model)
    contraction = sum(n.macs for n in graph.nodes)
    assert contraction == _runtime_contraction_macs(model)
    assert graph.flops >= 2 * graph.macs
    assert not any(n.op in ("ConstantOfShape", "Constant") for n in graph.nodes)
    assert graph.depth <= graph.n_nodes


@pytest.mark.parametrize(
    ("name", "gmacs", "mparams"),
    [
        ("light_resnet50.onnx", 4.09, 25.6),  # He et al.; batch norms folded into conv biases
        ("light_vgg19.onnx", 19.6, 143.67),  # Simonyan & Zisserman
        ("light_densenet121.onnx", 2.87, 8.06),  # 7.98 M weights + BN statistics
    ],
)
def test_light_models_match_published_figures(name: str, gmacs: float, mparams: float) -> None:
    graph = encode(light_bytes(name))
    assert graph.macs / 1e9 == pytest.approx(gmacs, rel=0.03)
    assert graph.params / 1e6 == pytest.approx(mparams, rel=0.03)


def test_model_proto_input_is_not_mutated() -> None:
    model = onnx.load_from_string(light_bytes("light_squeezenet.onnx"))
    before = model.SerializeToString()
    encode(model)
    assert model.SerializeToString() == before


def test_weightless_and_weighted_models_encode_identically() -> None:
    light = encode(conv_model(with_data=False, pads=[1, 1, 1, 1]))
    heavy = encode(conv_model(with_data=True, pads=[1, 1, 1, 1]))
    assert (light.macs, light.flops, light.params) == (heavy.macs, heavy.flops, heavy.params)
    assert light.macs == 16 * 16 * 16 * 8 * 9


def test_old_ir_initializers_listed_as_inputs_are_not_inputs() -> None:
    model = conv_model(with_data=True)
    model.ir_version = 3
    model.opset_import[0].version = 9
    model.graph.input.append(vinfo("w", [16, 8, 3, 3]))
    graph = encode(model)
    assert list(graph.inputs) == ["x"]
    assert graph.params == 16 * 8 * 9


@pytest.mark.parametrize(("group", "cin", "cout"), [(1, 8, 16), (4, 8, 16), (8, 8, 8)])
def test_conv_macs_grouped_and_depthwise(group: int, cin: int, cout: int) -> None:
    graph = encode(conv_model(cin=cin, cout=cout, group=group, stride=2, pads=[1, 1, 1, 1]))
    conv = graph.nodes[0]
    assert conv.output_shapes[0] == (1, cout, 8, 8)
    assert conv.macs == 8 * 8 * cout * (cin // group) * 9
    assert conv.attrs["group"] == group
    assert conv.attrs["strides"] == (2, 2)
    assert conv.params == cout * (cin // group) * 9


def test_auto_pad_same_upper_is_resolved_to_pads() -> None:
    graph = encode(conv_model(k=3, stride=2, hw=15, auto_pad="SAME_UPPER"))
    conv = graph.nodes[0]
    assert conv.output_shapes[0] == (1, 16, 8, 8)
    assert conv.attrs["pads"] == (1, 1, 1, 1)


def test_conv_transpose_gemm_and_batched_matmul() -> None:
    nodes = [
        helper.make_node("ConvTranspose", ["x", "wt"], ["up"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["up"], ["f"], axis=1),
        helper.make_node("Gemm", ["f", "wg", "bg"], ["g"], transB=1),
        helper.make_node("Reshape", ["g", "shape"], ["r"]),
        helper.make_node("MatMul", ["r", "m"], ["y"]),
    ]
    model = make_model(
        nodes,
        [vinfo("x", [1, 4, 4, 4])],
        [vinfo("y", None)],
        [
            weight("wt", [4, 2, 2, 2]),
            weight("wg", [24, 128]),
            weight("bg", [24]),
            ints("shape", [2, 3, 4]),
            weight("m", [4, 5]),
        ],
    )
    graph = encode(model)
    by_op = {n.op: n for n in graph.nodes}
    assert by_op["ConvTranspose"].output_shapes[0] == (1, 2, 8, 8)
    assert by_op["ConvTranspose"].macs == 4 * 4 * 4 * (2 * 2 * 2)
    assert by_op["Gemm"].macs == 24 * 128
    assert by_op["Gemm"].flops == 2 * 24 * 128 + 24
    assert by_op["MatMul"].output_shapes[0] == (2, 3, 5)
    assert by_op["MatMul"].macs == 2 * 3 * 4 * 5
    assert graph.params == 4 * 2 * 2 * 2 + 24 * 128 + 24 + 4 * 5


def test_attention_chain_counts_both_matmuls() -> None:
    seq, dim = 10, 16
    nodes = [
        helper.make_node("MatMul", ["x", "wq"], ["q"]),
        helper.make_node("MatMul", ["x", "wk"], ["k"]),
        helper.make_node("MatMul", ["x", "wv"], ["v"]),
        helper.make_node("Transpose", ["k"], ["kt"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["s"]),
        helper.make_node("Softmax", ["s"], ["p"], axis=-1),
        helper.make_node("MatMul", ["p", "v"], ["o"]),
        helper.make_node("LayerNormalization", ["o", "ln_s", "ln_b"], ["y"], axis=-1),
    ]
    model = make_model(
        nodes,
        [vinfo("x", [1, seq, dim])],
        [vinfo("y", None)],
        [
            weight("wq", [dim, dim]),
            weight("wk", [dim, dim]),
            weight("wv", [dim, dim]),
            weight("ln_s", [dim]),
            weight("ln_b", [dim]),
        ],
    )
    graph = encode(model)
    assert graph.macs == 3 * seq * dim * dim + seq * seq * dim + seq * seq * dim
    softmax = next(n for n in graph.nodes if n.op == "Softmax")
    assert softmax.attrs["axis"] == 2
    assert softmax.flops == 5 * seq * seq
    assert graph.depth == 6  # x→k→kt→s→p→o→y


def test_pool_resize_and_elementwise_flops() -> None:
    nodes = [
        helper.make_node(
            "MaxPool", ["x"], ["p"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
        ),
        helper.make_node("Resize", ["p", "", "scales"], ["r"], mode="linear"),
        helper.make_node("Sigmoid", ["r"], ["s"]),
        helper.make_node("Add", ["s", "x"], ["y"]),
    ]
    model = make_model(
        nodes,
        [vinfo("x", [1, 2, 8, 8])],
        [vinfo("y", None)],
        [numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")],
    )
    graph = encode(model)
    pool, resize, sig, add = graph.nodes
    assert pool.output_shapes[0] == (1, 2, 4, 4) and pool.flops == 2 * 4 * 4 * 9
    assert resize.output_shapes[0] == (1, 2, 8, 8) and resize.flops == 128 * 4 * 2
    assert sig.flops == 4 * 128 and add.flops == 128
    assert resize.params == 0  # the float scales operand is not a weight
    assert graph.edges == ((0, 1), (1, 2), (2, 3))
    assert graph.edge_bytes == (2 * 4 * 4 * 4, 128 * 4, 128 * 4)


def test_shape_chains_fold_like_a_pytorch_flatten() -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["a"]),
        helper.make_node("Shape", ["a"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["n"], axis=0),
        helper.make_node("Unsqueeze", ["n", "axes"], ["n1"]),
        helper.make_node("Concat", ["n1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["a", "target"], ["y"]),
    ]
    model = make_model(
        nodes,
        [vinfo("x", [2, 3, 4, 4])],
        [vinfo("y", None)],
        [
            numpy_helper.from_array(np.array(0, np.int64), "zero"),
            ints("axes", [0]),
            ints("minus1", [-1]),
        ],
    )
    graph = encode(model)
    assert [n.op for n in graph.nodes] == ["Relu", "Reshape"]
    assert graph.nodes[1].output_shapes[0] == (2, 48)


def test_unknown_op_is_kept_and_shapes_flow_past_it() -> None:
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("MysteryAct", ["c"], ["m"], domain="com.example"),
        helper.make_node("Conv", ["m", "w2"], ["y"], kernel_shape=[1, 1]),
    ]
    model = make_model(
        nodes,
        [vinfo("x", [1, 8, 8, 8])],
        [vinfo("y", None)],
        [weight("w", [8, 8, 3, 3]), weight("w2", [4, 8, 1, 1])],
    )
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    graph = encode(model)
    assert graph.nodes[1].op == "com.example.MysteryAct"
    assert graph.nodes[2].output_shapes[0] == (1, 4, 8, 8)
    assert graph.nodes[2].macs == 64 * 4 * 8
    assert graph.unknown_shapes == 0


def test_symbolic_batch_needs_an_override() -> None:
    model = conv_model()
    model.graph.input[0].type.tensor_type.shape.dim[0].dim_param = "N"
    with pytest.raises(SymbolicShapeError, match=r"Input 'x'.*input_shapes.*--input-shape"):
        encode(model)
    one = encode(model, input_shapes={"x": (1, 8, 16, 16)})
    four = encode(model, input_shapes={"x": [4, 8, 16, 16]})
    assert four.macs == 4 * one.macs


@pytest.mark.parametrize(
    "shapes",
    [
        {"nope": (1, 8, 16, 16)},
        {"x": (1, 8, 16)},
        {"x": (1, 0, 16, 16)},
        {"x": "1x8"},
    ],
)
def test_bad_input_shape_overrides_are_rejected(shapes: dict) -> None:
    with pytest.raises(InvalidParameterError, match="'input_shapes' parameter of encode"):
        encode(conv_model(), input_shapes=shapes)


def _conv_bn(*, bias: bool, bn: bool, relu_reads_conv: bool = False, training_mode: int = 0):
    """x[1,8,16,16] → Conv (3×3 to 16, with or without a bias) → [BatchNormalization] → Relu
    → y; with ``relu_reads_conv`` a second Relu reads the conv's output too."""
    conv_in = ["x", "w", "b"] if bias else ["x", "w"]
    nodes = [helper.make_node("Conv", conv_in, ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    inits = [weight("w", [16, 8, 3, 3])] + ([weight("b", [16])] if bias else [])
    last = "c"
    if bn:
        names = ["scale", "shift", "mean", "var"]
        extra = {"training_mode": training_mode} if training_mode else {}
        nodes.append(helper.make_node("BatchNormalization", ["c", *names], ["n"], **extra))
        inits += [weight(n, [16]) for n in names]
        last = "n"
    nodes.append(helper.make_node("Relu", [last], ["y"]))
    outputs = [vinfo("y", None)]
    if relu_reads_conv:
        nodes.append(helper.make_node("Relu", ["c"], ["z"]))
        outputs.append(vinfo("z", None))
    return make_model(nodes, [vinfo("x", [1, 8, 16, 16])], outputs, inits, opset=17)


def _costs(graph) -> list[tuple]:
    return [
        (n.op, n.input_shapes, n.output_shapes, n.weight_shapes, n.macs, n.flops, n.params,
         n.bytes_read, n.bytes_written)
        for n in graph.nodes
    ]  # fmt: skip


def test_a_batch_norm_after_a_conv_is_folded_into_it_as_runtimes_do() -> None:
    kept = encode(_conv_bn(bias=False, bn=True))
    folded = encode(_conv_bn(bias=True, bn=False))  # what PyTorch's default export writes
    assert [n.op for n in kept.nodes] == ["Conv", "Relu"]
    assert _costs(kept) == _costs(folded)
    assert kept.edges == folded.edges and kept.edge_bytes == folded.edge_bytes
    totals = ("macs", "flops", "params", "activation_bytes", "depth")
    assert [getattr(kept, t) for t in totals] == [getattr(folded, t) for t in totals]
    assert kept.params == 16 * 8 * 9 + 16  # the conv's weights and its new bias
    # a conv that has a bias keeps it, and gains nothing
    both = encode(_conv_bn(bias=True, bn=True))
    assert _costs(both) == _costs(folded)


def test_a_batch_norm_is_not_folded_when_runtimes_cannot_fold_it() -> None:
    # the conv's output is read by another node too, so it must still be written
    shared = encode(_conv_bn(bias=False, bn=True, relu_reads_conv=True))
    assert [n.op for n in shared.nodes].count("BatchNormalization") == 1
    # training mode normalises with the batch's own statistics
    training = encode(_conv_bn(bias=False, bn=True, training_mode=1))
    assert [n.op for n in training.nodes] == ["Conv", "BatchNormalization", "Relu"]
    # a bias that arrives at run time (a graph input) cannot take the batch norm in
    computed = _conv_bn(bias=True, bn=True)
    computed.graph.initializer.remove(next(t for t in computed.graph.initializer if t.name == "b"))
    computed.graph.input.append(vinfo("b", [16]))
    assert [n.op for n in encode(computed).nodes] == ["Conv", "BatchNormalization", "Relu"]


def test_an_identity_is_no_node_and_its_readers_read_its_input() -> None:
    nodes = [
        helper.make_node("Relu", ["x"], ["r"]),
        helper.make_node("Identity", ["r"], ["i"]),
        helper.make_node("Relu", ["i"], ["y"]),
        helper.make_node("Identity", ["y"], ["out"]),
    ]
    graph = encode(make_model(nodes, [vinfo("x", [1, 4, 8, 8])], [vinfo("out", None)]))
    assert [n.op for n in graph.nodes] == ["Relu", "Relu"]
    assert graph.edges == ((0, 1),)
    assert graph.outputs == {"out": (1, 4, 8, 8)}
    assert graph.activation_bytes == 3 * 4 * 4 * 8 * 8  # x, r, y: an alias is no tensor
    # an Identity of a graph input computes nothing else, so it stays a node
    only = encode(make_model([nodes[1]], [vinfo("r", [1, 4])], [vinfo("i", None)]))
    assert [n.op for n in only.nodes] == ["Identity"]


def _hard_swish_model(*, written_out: bool, alpha: float = 1 / 6) -> onnx.ModelProto:
    """x[1,8,16,16] → Relu → HardSwish (or Mul(r, HardSigmoid(r))) → y."""
    nodes = [helper.make_node("Relu", ["x"], ["r"])]
    if written_out:
        nodes += [
            helper.make_node("HardSigmoid", ["r"], ["gate"], alpha=alpha, beta=0.5),
            helper.make_node("Mul", ["r", "gate"], ["y"]),
        ]
    else:
        nodes.append(helper.make_node("HardSwish", ["r"], ["y"]))
    return make_model(nodes, [vinfo("x", [1, 8, 16, 16])], [vinfo("y", None)])


def test_a_hard_swish_written_out_is_one_hard_swish_node() -> None:
    native = encode(_hard_swish_model(written_out=False))
    written = encode(_hard_swish_model(written_out=True))
    assert [n.op for n in written.nodes] == ["Relu", "HardSwish"]
    assert _costs(written) == _costs(native)
    assert written.activation_bytes == native.activation_bytes
    # another slope is a different function: both nodes stay
    other = encode(_hard_swish_model(written_out=True, alpha=0.2))
    assert [n.op for n in other.nodes] == ["Relu", "HardSigmoid", "Mul"]


def test_a_batch_norm_read_through_an_identity_is_encoded_unfolded() -> None:
    model = _conv_bn(bias=False, bn=True)
    model.graph.node.insert(1, helper.make_node("Identity", ["c"], ["c2"]))
    model.graph.node[2].input[0] = "c2"  # the batch norm reads the conv through the Identity
    graph = encode(model)
    assert [n.op for n in graph.nodes] == ["Conv", "BatchNormalization", "Relu"]
    assert graph.edges == ((0, 1), (1, 2))

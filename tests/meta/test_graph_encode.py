"""fewlat.meta.graph.encode on real models, checked against independent counts."""

from __future__ import annotations

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
    outputs that some node reads (caffe2 exports carry an unused 1-element initializer)."""
    used = {i for node in model.graph.node for i in node.input}
    inits = {t.name: t for t in model.graph.initializer}
    total = sum(
        prod(t.dims) for t in inits.values() if t.data_type == TensorProto.FLOAT and t.name in used
    )
    for node in model.graph.node:
        if node.op_type == "ConstantOfShape" and node.output[0] in used:
            total += int(np.prod(numpy_helper.to_array(inits[node.input[0]])))
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
        ("light_resnet50.onnx", 4.09, 25.6),  # He et al.; BN statistics add ~0.05 M
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

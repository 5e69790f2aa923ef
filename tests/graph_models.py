"""Small hand-made ONNX models for encoder tests."""

from __future__ import annotations

import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LIGHT_DIR = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")
LIGHT_MODELS = sorted(f for f in os.listdir(LIGHT_DIR) if f.endswith(".onnx"))


def light_bytes(name: str) -> bytes:
    with open(os.path.join(LIGHT_DIR, name), "rb") as f:
        return f.read()


def make_model(nodes, inputs, outputs, initializers=(), opset=17, ir_version=8):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    return model


def vinfo(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def weight(name, shape, with_data=False):
    if with_data:
        return numpy_helper.from_array(np.zeros(shape, np.float32), name)
    return TensorProto(name=name, data_type=TensorProto.FLOAT, dims=list(shape))


def ints(name, values):
    return numpy_helper.from_array(np.asarray(values, np.int64), name)


def conv_model(cin=8, cout=16, k=3, stride=1, group=1, hw=16, with_data=False, **attrs):
    """x[1,cin,hw,hw] → Conv → Relu → y."""
    nodes = [
        helper.make_node(
            "Conv",
            ["x", "w"],
            ["c"],
            kernel_shape=[k, k],
            strides=[stride, stride],
            group=group,
            **attrs,
        ),
        helper.make_node("Relu", ["c"], ["y"]),
    ]
    return make_model(
        nodes,
        [vinfo("x", [1, cin, hw, hw])],
        [vinfo("y", None)],
        [weight("w", [cout, cin // group, k, k], with_data)],
    )

"""Every way untrusted ONNX input can be wrong raises the documented fewlat error."""

from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from fewlat.exceptions import (
    FewlatError,
    InvalidModelError,
    ModelTooLargeError,
    UnsafeModelError,
    UnsupportedModelError,
)
from fewlat.meta.graph import encode, load_model
from tests.graph_models import conv_model, light_bytes, make_model, vinfo, weight


def test_random_bytes() -> None:
    with pytest.raises(InvalidModelError, match="not a valid ONNX ModelProto"):
        encode(bytes(range(256)) * 4)


def test_truncated_model() -> None:
    data = light_bytes("light_squeezenet.onnx")
    with pytest.raises(InvalidModelError):
        encode(data[: len(data) // 2])


@pytest.mark.parametrize("value", [None, 42, "model.onnx", ["bytes"], onnx.GraphProto()])
def test_wrong_type(value: object) -> None:
    with pytest.raises(InvalidModelError, match=r"Expected ONNX model bytes or an onnx\."):
        encode(value)  # type: ignore[arg-type]


def test_other_message_type_bytes_are_an_empty_graph() -> None:
    tensor = helper.make_tensor("t", TensorProto.FLOAT, [2], [1.0, 2.0]).SerializeToString()
    with pytest.raises(InvalidModelError):
        encode(tensor)


def test_empty_graph() -> None:
    with pytest.raises(InvalidModelError, match="no nodes"):
        encode(make_model([], [vinfo("x", [1])], [vinfo("x", [1])]))


def test_cycle() -> None:
    nodes = [helper.make_node("Add", ["x", "b"], ["a"]), helper.make_node("Relu", ["a"], ["b"])]
    with pytest.raises(InvalidModelError, match="cycle"):
        encode(make_model(nodes, [vinfo("x", [1, 4])], [vinfo("b", None)]))


def test_dangling_input() -> None:
    nodes = [helper.make_node("Add", ["x", "ghost"], ["y"])]
    with pytest.raises(InvalidModelError, match=r"'ghost'.*no node, initializer or graph input"):
        encode(make_model(nodes, [vinfo("x", [1, 4])], [vinfo("y", None)]))


def test_tensor_produced_twice() -> None:
    nodes = [helper.make_node("Relu", ["x"], ["y"]), helper.make_node("Sigmoid", ["x"], ["y"])]
    with pytest.raises(InvalidModelError, match="produced twice"):
        encode(make_model(nodes, [vinfo("x", [1, 4])], [vinfo("y", None)]))


def test_no_computation_from_inputs() -> None:
    nodes = [helper.make_node("Relu", ["w"], ["y"])]
    model = make_model(nodes, [vinfo("x", [1])], [vinfo("y", None)], [weight("w", [4], True)])
    with pytest.raises(InvalidModelError, match="computes nothing"):
        encode(model)


@pytest.mark.parametrize("where", ["initializer", "constant"])
def test_external_data_is_rejected_without_reading(where: str, tmp_path) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\0" * 64)
    tensor = TensorProto(
        name="w",
        data_type=TensorProto.FLOAT,
        dims=[16, 8, 3, 3],
        data_location=TensorProto.EXTERNAL,
    )
    tensor.external_data.add(key="location", value=str(secret))
    model = conv_model()
    if where == "initializer":
        model.graph.ClearField("initializer")
        model.graph.initializer.append(tensor)
    else:
        model.graph.ClearField("initializer")
        model.graph.node.insert(0, helper.make_node("Constant", [], ["w"], value=tensor))
    with pytest.raises(UnsafeModelError, match="external data"):
        encode(model)


def test_subgraphs_are_unsupported() -> None:
    branch = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["r"])], "b", [], [vinfo("r", [1, 4])]
    )
    nodes = [helper.make_node("If", ["cond"], ["y"], then_branch=branch, else_branch=branch)]
    model = make_model(
        nodes, [vinfo("x", [1, 4]), vinfo("cond", [], TensorProto.BOOL)], [vinfo("y", None)]
    )
    with pytest.raises(UnsupportedModelError, match=r"subgraph.*If/Loop/Scan"):
        encode(model)


def test_byte_size_limit() -> None:
    data = light_bytes("light_squeezenet.onnx")
    with pytest.raises(ModelTooLargeError, match="over the limit of 1,000 bytes"):
        encode(data, max_bytes=1000)
    with pytest.raises(ModelTooLargeError):
        load_model(onnx.load_from_string(data), max_bytes=1000)


def test_node_count_limit() -> None:
    with pytest.raises(ModelTooLargeError, match="over the limit of 10 nodes"):
        encode(light_bytes("light_squeezenet.onnx"), max_nodes=10)


def test_every_error_is_a_fewlat_error() -> None:
    for cls in (InvalidModelError, UnsafeModelError, UnsupportedModelError, ModelTooLargeError):
        assert issubclass(cls, FewlatError)

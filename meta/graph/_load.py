"""Parse untrusted ONNX input in memory and enforce fewlat's safety limits."""

from __future__ import annotations

import onnx
from google.protobuf.message import DecodeError

from fewlat.exceptions import (
    InvalidModelError,
    ModelTooLargeError,
    UnsafeModelError,
    UnsupportedModelError,
)

__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_NODES", "corrupt_text_error", "load_model"]

#: default bound on the serialised size of a model (256 MB)
DEFAULT_MAX_BYTES = 256 * 1024 * 1024
#: default bound on the number of nodes in a model (after inlining local functions)
DEFAULT_MAX_NODES = 100_000

_SUBGRAPH_ATTRS = (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)


def load_model(
    model: bytes | bytearray | memoryview | onnx.ModelProto,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_nodes: int = DEFAULT_MAX_NODES,
) -> onnx.ModelProto:
    """Parse ``model`` in memory and check it is safe and in scope.

    Never reads a path named by the model: external-data references are
    rejected, not followed. Local functions are inlined so that every node is
    a plain op.

    Args:
        model: serialised ONNX bytes, or an already parsed ``ModelProto``.
        max_bytes: largest accepted serialised size in bytes
            (default: :data:`DEFAULT_MAX_BYTES`).
        max_nodes: largest accepted node count (default: :data:`DEFAULT_MAX_NODES`).

    Returns:
        The parsed model (the caller's ``ModelProto`` is never mutated).

    Raises:
        InvalidModelError: not ONNX bytes, undecodable, or an empty graph.
        UnsafeModelError: a tensor refers to external data.
        UnsupportedModelError: a node carries a subgraph (If, Loop, Scan …).
        ModelTooLargeError: over ``max_bytes`` or ``max_nodes``.
    """
    if isinstance(model, onnx.ModelProto):
        size = model.ByteSize()
        _check_size(size, max_bytes)
        proto = model
    elif isinstance(model, bytes | bytearray | memoryview):
        size = len(model)
        _check_size(size, max_bytes)
        proto = onnx.ModelProto()
        try:
            proto.ParseFromString(bytes(model))
        except (DecodeError, RuntimeError, ValueError) as err:
            raise InvalidModelError(
                f"The bytes are not a valid ONNX ModelProto ({size} bytes could not be decoded:"
                f" {err}). Send the content of a .onnx file."
            ) from None
    else:
        raise InvalidModelError(
            f"Expected ONNX model bytes or an onnx.ModelProto, got {type(model).__name__}."
        )

    try:
        return _checked(proto, max_nodes)
    except UnicodeDecodeError as err:  # proto2 strings are only decoded when read
        raise corrupt_text_error(err) from None


def corrupt_text_error(err: UnicodeDecodeError) -> InvalidModelError:
    """The error for a model string that is not valid UTF-8."""
    return InvalidModelError(
        f"The model holds a name or attribute that is not valid UTF-8 ({err.reason} at byte"
        f" {err.start}); the file is probably corrupt."
    )


def _checked(proto: onnx.ModelProto, max_nodes: int) -> onnx.ModelProto:
    graph = proto.graph
    if len(graph.node) == 0:
        raise InvalidModelError("The ONNX graph has no nodes; there is nothing to predict.")
    _check_nodes(len(graph.node), max_nodes)
    _reject_external_data(proto)
    _reject_subgraphs(graph)
    if len(proto.functions):
        proto = _inline_functions(proto)
        _check_nodes(len(proto.graph.node), max_nodes)
        _reject_subgraphs(proto.graph)
    return proto


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise ModelTooLargeError(
            f"The model is {size:,} bytes, over the limit of {max_bytes:,} bytes."
            " Send a weightless export (initializers with dims only) or raise the limit."
        )


def _check_nodes(count: int, max_nodes: int) -> None:
    if count > max_nodes:
        raise ModelTooLargeError(
            f"The model has {count:,} nodes, over the limit of {max_nodes:,} nodes."
        )


def _is_external(tensor: onnx.TensorProto) -> bool:
    return tensor.data_location == onnx.TensorProto.EXTERNAL or len(tensor.external_data) > 0


def _reject_external_data(model: onnx.ModelProto) -> None:
    graph = model.graph
    tensors = list(graph.initializer)
    tensors += [s.values for s in graph.sparse_initializer]
    tensors += [s.indices for s in graph.sparse_initializer]
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                tensors.append(attr.t)
            elif attr.type == onnx.AttributeProto.TENSORS:
                tensors.extend(attr.tensors)
    for tensor in tensors:
        if _is_external(tensor):
            raise UnsafeModelError(
                f"Tensor {tensor.name!r} refers to external data; fewlat never reads files a"
                " model names. Embed the weights, or drop them and keep only dims"
                " (latency does not depend on weight values)."
            )


def _reject_subgraphs(graph: onnx.GraphProto) -> None:
    for node in graph.node:
        for attr in node.attribute:
            if attr.type in _SUBGRAPH_ATTRS:
                raise UnsupportedModelError(
                    f"Node {node.name or node.op_type!r} ({node.op_type}) has a subgraph in"
                    f" attribute {attr.name!r}; control flow (If/Loop/Scan) is not supported."
                    " Export the model with static control flow (e.g. torch.onnx.export of a"
                    " traced module)."
                )


def _inline_functions(model: onnx.ModelProto) -> onnx.ModelProto:
    from onnx import inliner

    try:
        return inliner.inline_local_functions(model)
    except Exception as err:  # the C++ inliner raises several unrelated types
        raise InvalidModelError(
            f"The model's local functions could not be inlined: {err}"
        ) from None

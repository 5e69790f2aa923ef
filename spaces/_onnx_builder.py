"""A small, fast ONNX graph builder on top of :mod:`onnx.helper`.

The spaces build their models with it instead of exporting from PyTorch: it
needs no tracing, tracks NCHW shapes as it goes, and writes weights only on
request. Without weights, every float initializer carries its dims and no data
(the "weightless" form NNLQP publishes); shape tensors (e.g. Reshape targets)
always carry their values because shape inference needs them.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

__all__ = ["OPSET", "OnnxBuilder"]

#: ONNX opset the built models declare; onnxruntime and MNN both support it.
OPSET = 17


class OnnxBuilder:
    """Accumulates nodes and initializers for one model.

    Args:
        name: graph name.
        with_weights: write random float weights into the initializers
            (default: :obj:`False`, dims only).
        seed: seed of the random weights (default: :obj:`0`).

    Every op method takes input tensor names and returns the output tensor
    name. :attr:`shapes` maps each tensor name to its static shape.
    """

    def __init__(self, name: str, *, with_weights: bool = False, seed: int = 0) -> None:
        self.name = name
        self.with_weights = with_weights
        self._rng = np.random.default_rng(seed)
        self._model = onnx.ModelProto(ir_version=8, producer_name="fewlat")
        self._model.opset_import.add(domain="", version=OPSET)
        self._graph = self._model.graph
        self._graph.name = name
        self.shapes: dict[str, tuple[int, ...]] = {}
        self._count = 0

    # ------------------------------------------------------------------ plumbing
    def _fresh(self, prefix: str) -> str:
        self._count += 1
        return f"{prefix}_{self._count}"

    def node(self, op: str, inputs: list[str], shape: tuple[int, ...], **attrs) -> str:
        """Append a generic node with one output of static ``shape``; returns its name."""
        out = self._fresh(op.lower())
        node = self._graph.node.add(op_type=op, name=f"n{self._count}_{op}", output=[out])
        node.input.extend(inputs)
        node.attribute.extend(_attribute(key, _hashable(value)) for key, value in attrs.items())
        self.shapes[out] = tuple(shape)
        return out

    def weight(
        self, shape: tuple[int, ...], *, fill: float | None = None, std: float = 0.05
    ) -> str:
        """Add a float initializer; random normal (or ``fill``) only when weights are on."""
        name = self._fresh("w")
        if self.with_weights:
            if fill is None:
                arr = self._rng.normal(0.0, std, size=shape).astype(np.float32)
            else:
                arr = np.full(shape, fill, dtype=np.float32)
            self._graph.initializer.append(numpy_helper.from_array(arr, name))
        else:
            self._graph.initializer.add(name=name, data_type=TensorProto.FLOAT, dims=shape)
        self.shapes[name] = tuple(shape)
        return name

    def const_i64(self, values: list[int]) -> str:
        """Add an int64 initializer that always carries its values (shape operands)."""
        name = self._fresh("shape")
        self._graph.initializer.append(numpy_helper.from_array(np.asarray(values, np.int64), name))
        self.shapes[name] = (len(values),)
        return name

    def const_f32(self, value: float, name: str | None = None) -> str:
        """A float32 scalar initializer that always carries its value (an operand, no weight).

        Reusing ``name`` returns the existing constant.
        """
        name = name or self._fresh("scalar")
        if name not in self.shapes:
            self._graph.initializer.append(
                numpy_helper.from_array(np.asarray(value, np.float32), name)
            )
            self.shapes[name] = ()
        return name

    def input(self, shape: tuple[int, ...], name: str = "input") -> str:
        """Declare the float graph input."""
        self._graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, shape))
        self.shapes[name] = tuple(shape)
        return name

    def output(self, x: str, name: str = "output") -> str:
        """Declare ``x`` as the graph output (through an Identity named ``name``)."""
        self._graph.node.add(op_type="Identity", input=[x], output=[name], name="output_identity")
        self.shapes[name] = self.shapes[x]
        self._graph.output.append(
            helper.make_tensor_value_info(name, TensorProto.FLOAT, self.shapes[x])
        )
        return name

    def build(self) -> onnx.ModelProto:
        """Return the finished :class:`onnx.ModelProto` (opset :data:`OPSET`).

        The builder writes into this one model as it goes; build it once.
        """
        return self._model

    # ------------------------------------------------------------------ layers
    def conv(
        self,
        x: str,
        out_channels: int,
        kernel: int,
        *,
        stride: int = 1,
        groups: int = 1,
        padding: int | None = None,
        bias: bool = False,
    ) -> str:
        """2-D convolution with square kernel; ``padding`` defaults to ``kernel // 2``."""
        n, c, h, w = self.shapes[x]
        pad = kernel // 2 if padding is None else padding
        if c % groups or out_channels % groups:
            raise ValueError(f"conv groups={groups} must divide {c} and {out_channels}")
        inputs = [x, self.weight((out_channels, c // groups, kernel, kernel))]
        if bias:
            inputs.append(self.weight((out_channels,), fill=0.0))
        oh = (h + 2 * pad - kernel) // stride + 1
        ow = (w + 2 * pad - kernel) // stride + 1
        return self.node(
            "Conv",
            inputs,
            (n, out_channels, oh, ow),
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=[pad, pad, pad, pad],
            group=groups,
        )

    def bn(self, x: str) -> str:
        """BatchNormalization with identity statistics when weights are on."""
        c = self.shapes[x][1]
        scale = self.weight((c,), fill=1.0)
        shift = self.weight((c,), fill=0.0)
        mean = self.weight((c,), fill=0.0)
        var = self.weight((c,), fill=1.0)
        return self.node(
            "BatchNormalization", [x, scale, shift, mean, var], self.shapes[x], epsilon=1e-5
        )

    def relu(self, x: str) -> str:
        return self.node("Relu", [x], self.shapes[x])

    def hard_swish(self, x: str) -> str:
        return self.node("HardSwish", [x], self.shapes[x])

    def hard_sigmoid(self, x: str) -> str:
        """PyTorch's ``hardsigmoid``: relu6(x + 3) / 6."""
        return self.node("HardSigmoid", [x], self.shapes[x], alpha=1.0 / 6.0, beta=0.5)

    def act(self, x: str, kind: str) -> str:
        """Apply ``"relu"``, ``"h_swish"`` or ``"none"``."""
        if kind == "relu":
            return self.relu(x)
        if kind == "h_swish":
            return self.hard_swish(x)
        if kind == "none":
            return x
        raise ValueError(f"unknown activation {kind!r}")

    def add(self, a: str, b: str) -> str:
        return self.node("Add", [a, b], _broadcast(self.shapes[a], self.shapes[b]))

    def mul(self, a: str, b: str) -> str:
        return self.node("Mul", [a, b], _broadcast(self.shapes[a], self.shapes[b]))

    def avg_pool(
        self,
        x: str,
        kernel: int,
        *,
        stride: int,
        padding: int = 0,
        count_include_pad: bool = False,
    ) -> str:
        n, c, h, w = self.shapes[x]
        oh = (h + 2 * padding - kernel) // stride + 1
        ow = (w + 2 * padding - kernel) // stride + 1
        return self.node(
            "AveragePool",
            [x],
            (n, c, oh, ow),
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=[padding] * 4,
            count_include_pad=int(count_include_pad),
        )

    def max_pool(self, x: str, kernel: int, *, stride: int, padding: int = 0) -> str:
        n, c, h, w = self.shapes[x]
        oh = (h + 2 * padding - kernel) // stride + 1
        ow = (w + 2 * padding - kernel) // stride + 1
        return self.node(
            "MaxPool",
            [x],
            (n, c, oh, ow),
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=[padding] * 4,
        )

    def global_avg_pool(self, x: str) -> str:
        n, c = self.shapes[x][:2]
        return self.node("GlobalAveragePool", [x], (n, c, 1, 1))

    def flatten(self, x: str) -> str:
        shape = self.shapes[x]
        return self.node("Flatten", [x], (shape[0], int(np.prod(shape[1:]))), axis=1)

    def gemm(self, x: str, out_features: int) -> str:
        """Fully connected layer ``x @ W.T + b`` on a 2-D input."""
        n, k = self.shapes[x]
        w = self.weight((out_features, k))
        b = self.weight((out_features,), fill=0.0)
        return self.node("Gemm", [x, w, b], (n, out_features), transB=1)

    def channel_shuffle(self, x: str, groups: int) -> str:
        """ShuffleNet channel shuffle: Reshape → Transpose → Reshape."""
        n, c, h, w = self.shapes[x]
        y = self.node(
            "Reshape",
            [x, self.const_i64([n, groups, c // groups, h, w])],
            (n, groups, c // groups, h, w),
        )
        y = self.node("Transpose", [y], (n, c // groups, groups, h, w), perm=[0, 2, 1, 3, 4])
        return self.node("Reshape", [y, self.const_i64([n, c, h, w])], (n, c, h, w))


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


@lru_cache(maxsize=4096)
def _attribute(key: str, value: object) -> onnx.AttributeProto:
    """Attributes repeat across nodes (kernel, strides, pads …): build each one once."""
    return helper.make_attribute(key, list(value) if isinstance(value, tuple) else value)


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(d) for d in np.broadcast_shapes(a, b))

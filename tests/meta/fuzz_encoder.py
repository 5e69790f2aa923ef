"""Fuzz harness for :func:`fewlat.meta.graph.encode` (run in a child process by a test).

Usage: ``python -m tests.meta.fuzz_encoder N SEED``. Prints one line per 100
cases and exits 0 when every case either encoded or raised a FewlatError;
any other exception prints the case and exits 1. A crash or hang shows up in
the parent as a signal or a timeout.
"""

from __future__ import annotations

import random
import sys
import traceback

import onnx
from onnx import TensorProto, helper

from fewlat.exceptions import FewlatError
from fewlat.meta.graph import encode
from fewlat.spaces import OnnxBuilder
from tests.graph_models import light_bytes

OPS = [
    "Conv",
    "Relu",
    "Add",
    "MatMul",
    "Gemm",
    "Reshape",
    "Concat",
    "MaxPool",
    "Softmax",
    "Transpose",
    "Flatten",
    "Resize",
    "Mystery",
    "Slice",
    "Gather",
    "ConvTranspose",
    "Expand",
    "Tile",
    "ConstantOfShape",
    "Split",
    "Squeeze",
    "Pad",
    "Loop",
    "If",
]


def _builder_model() -> bytes:
    b = OnnxBuilder("fuzz")
    x = b.input((1, 3, 16, 16))
    y = b.relu(b.bn(b.conv(x, 8, 3, stride=2)))
    y = b.channel_shuffle(b.conv(y, 8, 1, groups=2), 2)
    y = b.add(y, b.avg_pool(y, 3, stride=1, padding=1))
    y = b.gemm(b.flatten(b.global_avg_pool(y)), 10)
    b.output(y)
    return b.build().SerializeToString()


def _mutate_proto(model: onnx.ModelProto, rng: random.Random) -> None:
    g = model.graph
    names = [i.name for i in g.input] + [o for n in g.node for o in n.output]
    for _ in range(rng.randint(1, 3)):
        kind = rng.randrange(11)
        node = rng.choice(g.node) if len(g.node) else None
        if kind == 0 and node is not None:
            g.node.remove(node)
        elif kind == 1 and node is not None and len(node.input):
            node.input[rng.randrange(len(node.input))] = rng.choice([*names, "nowhere"])
        elif kind == 2 and node is not None:
            node.op_type = rng.choice(OPS)
        elif kind == 3 and node is not None and len(node.attribute):
            attr = rng.choice(node.attribute)
            if attr.type == onnx.AttributeProto.INTS and len(attr.ints):
                attr.ints[rng.randrange(len(attr.ints))] = rng.choice([0, -1, -7, 3, 2**40])
            elif attr.type == onnx.AttributeProto.INT:
                attr.i = rng.choice([0, -1, 5, 2**40])
            else:
                attr.type = rng.choice([onnx.AttributeProto.INT, onnx.AttributeProto.TENSOR])
        elif kind == 4 and len(g.initializer):
            t = rng.choice(g.initializer)
            if len(t.dims):
                t.dims[rng.randrange(len(t.dims))] = rng.choice([0, -1, 1, 2**31, 7])
        elif kind == 5 and len(g.input):
            dims = g.input[0].type.tensor_type.shape.dim
            if len(dims):
                d = dims[rng.randrange(len(dims))]
                if rng.random() < 0.5:
                    d.dim_value = rng.choice([0, -3, 1, 10**9])
                else:
                    d.dim_param = "N"
        elif kind == 6 and node is not None:
            g.node.append(node)  # duplicate producer
        elif kind == 7:
            model.opset_import[0].version = rng.randint(1, 30)
        elif kind == 8 and node is not None:
            node.attribute.append(
                helper.make_attribute("body", helper.make_graph([], "empty", [], []))
            )
        elif kind == 9 and len(g.initializer):
            t = rng.choice(g.initializer)
            t.data_location = TensorProto.EXTERNAL
        elif kind == 10 and node is not None:
            g.node.insert(0, node)  # out of order


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    buf = bytearray(data)
    kind = rng.randrange(4)
    if kind == 0:
        for _ in range(rng.randint(1, 12)):
            buf[rng.randrange(len(buf))] = rng.randrange(256)
    elif kind == 1:
        buf = buf[: rng.randrange(len(buf))]
    elif kind == 2:
        pos = rng.randrange(len(buf))
        buf[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    else:
        buf = bytearray(rng.randbytes(rng.randint(0, 2048)))
    return bytes(buf)


def run(n: int, seed: int) -> int:
    rng = random.Random(seed)
    seeds = [
        light_bytes("light_squeezenet.onnx"),
        light_bytes("light_bvlc_alexnet.onnx"),
        _builder_model(),
    ]
    outcomes = {"ok": 0, "rejected": 0}
    for case in range(n):
        base = rng.choice(seeds)
        if rng.random() < 0.5:
            data = _mutate_bytes(base, rng)
        else:
            model = onnx.load_from_string(base)
            _mutate_proto(model, rng)
            data = model.SerializeToString()
        try:
            encode(data)
            outcomes["ok"] += 1
        except FewlatError:
            outcomes["rejected"] += 1
        except Exception:
            print(f"case {case}: undocumented exception", flush=True)
            traceback.print_exc()
            return 1
        if case % 100 == 99:
            print(f"{case + 1} cases {outcomes}", flush=True)
    print(f"done {outcomes}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(run(int(sys.argv[1]), int(sys.argv[2])))

"""Feature schema v2: ModelGraph → PyG Data, batching, schema bookkeeping, and the same
features for a model however its batch norms were written."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch_geometric.data import Batch

from fewlat.meta.features import (
    EDGE_FEATURES,
    FEATURE_SCHEMA_VERSION,
    GRAPH_FEATURES,
    NODE_FEATURES,
    OP_VOCAB,
    featurize,
)
from fewlat.meta.graph import encode
from fewlat.spaces import OPSET, get_space
from fewlat.spaces._zoo_export import export_member
from tests.graph_models import conv_model, light_bytes

_COL = {name: i for i, name in enumerate(NODE_FEATURES)}


def test_shapes_and_dtypes() -> None:
    graph = encode(light_bytes("light_squeezenet.onnx"))
    data = featurize(graph)
    assert data.x.shape == (graph.n_nodes, len(NODE_FEATURES))
    assert data.x.dtype == torch.float32
    assert data.edge_index.shape == (2, 2 * len(graph.edges))
    assert data.edge_attr.shape == (2 * len(graph.edges), len(EDGE_FEATURES))
    assert data.graph_attr.shape == (1, len(GRAPH_FEATURES))
    assert data.schema_version == FEATURE_SCHEMA_VERSION
    assert torch.isfinite(data.x).all() and torch.isfinite(data.graph_attr).all()
    assert data.x.abs().max() <= 2.0  # log scaling keeps features O(1)


def test_op_one_hot_and_other_bucket() -> None:
    graph = encode(light_bytes("light_bvlc_alexnet.onnx"))  # has LRN, Dropout, Softmax
    data = featurize(graph)
    one_hot = data.x[:, : len(OP_VOCAB)]
    assert torch.equal(one_hot.sum(dim=1), torch.ones(graph.n_nodes))
    for row, node in zip(one_hot, graph.nodes, strict=True):
        expected = node.op if node.op in OP_VOCAB else "OTHER"
        assert row[OP_VOCAB.index(expected)] == 1


def test_edges_go_both_ways_with_direction_flags() -> None:
    graph = encode(conv_model(pads=[1, 1, 1, 1]))
    data = featurize(graph)
    assert data.edge_index.tolist() == [[0, 1], [1, 0]]
    assert data.edge_attr[:, :2].tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_conv_features_reflect_the_node() -> None:
    depthwise = featurize(encode(conv_model(cin=8, cout=8, group=8, stride=2)))
    dense = featurize(encode(conv_model(cin=8, cout=8, group=1)))
    assert depthwise.x[0, _COL["depthwise"]] == 1 and dense.x[0, _COL["depthwise"]] == 0
    assert depthwise.x[0, _COL["stride"]] > dense.x[0, _COL["stride"]]
    assert depthwise.x[0, _COL["log_macs"]] < dense.x[0, _COL["log_macs"]]
    assert dense.x[0, _COL["kernel"]] == 3 / 8


def test_batching_keeps_graph_features_per_graph() -> None:
    a = featurize(encode(light_bytes("light_squeezenet.onnx")))
    b = featurize(encode(conv_model()))
    batch = Batch.from_data_list([a, b])
    assert batch.num_graphs == 2
    assert batch.graph_attr.shape == (2, len(GRAPH_FEATURES))
    assert batch.x.shape[0] == a.num_nodes + b.num_nodes
    assert int(batch.edge_index.max()) < batch.x.shape[0]
    assert torch.equal(batch.graph_attr[1], b.graph_attr[0])


def test_feature_names_are_unique_and_other_is_last() -> None:
    assert len(set(NODE_FEATURES)) == len(NODE_FEATURES)
    assert OP_VOCAB[-1] == "OTHER"


def _same_features(a: bytes, b: bytes) -> bool:
    x, y = featurize(encode(a)), featurize(encode(b))
    return all(
        torch.equal(getattr(x, k), getattr(y, k))
        for k in ("x", "edge_index", "edge_attr", "graph_attr")
    )


@pytest.mark.parametrize(
    ("arch", "opset"),
    [
        ("resnet18:w=0.5:r=160", OPSET),
        ("mobilenet_v3_small:w=0.5:r=160", OPSET),
        ("mobilenet_v3_small:w=0.5:r=160", 13),  # HardSwish written as x · HardSigmoid(x)
        ("efficientnet_b0:w=0.5:r=160", OPSET),
    ],
)
def test_pytorchs_default_export_gives_the_features_of_fewlats_export(
    arch: str, opset: int
) -> None:
    # fewlat exports the zoo with batch norm kept; PyTorch's default export folds it into
    # the convs, as a user's model comes; runtimes fold it anyway, so the latency is the same
    zoo = get_space("zoo")
    proto = export_member(zoo.parse(arch), keep_batch_norm=False, opset=opset)
    default = proto.SerializeToString()
    assert "BatchNormalization" not in encode(default).ops
    kept = zoo.to_onnx(arch)
    assert "BatchNormalization" in {n.op_type for n in onnx.load_from_string(kept).graph.node}
    assert _same_features(kept, default)


@pytest.mark.parametrize("space", ["fbnet", "ofa_mbv3"])
def test_a_member_optimised_by_onnxruntime_gives_the_features_of_fewlats_build(space: str) -> None:
    # onnxruntime folds batch norm, drops Identity and writes HardSwish out when it saves
    built = get_space(space)
    arch = built.sample(np.random.default_rng(0), 1)[0]
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    with tempfile.TemporaryDirectory() as tmp:
        options.optimized_model_filepath = str(Path(tmp) / "optimised.onnx")
        weighted = built.to_onnx(arch, with_weights=True)
        ort.InferenceSession(weighted, options, providers=["CPUExecutionProvider"])
        optimised = Path(options.optimized_model_filepath).read_bytes()
    ops = {n.op_type for n in onnx.load_from_string(optimised).graph.node}
    assert "BatchNormalization" not in ops and "Identity" not in ops
    assert _same_features(built.to_onnx(arch), optimised)

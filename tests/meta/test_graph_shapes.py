"""fewlat's own shape rules agree with onnx shape inference on every tensor.

``_shapes`` trusts its rules and skips onnx when they cover a graph, so this is
the test that keeps that shortcut honest: for every light model of the onnx
wheel and members of every search space, each tensor that both sources know
gets the same shape and element type.
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from fewlat.meta.graph._encode import _resolve_input_shapes
from fewlat.meta.graph._load import load_model
from fewlat.meta.graph._shapes import (
    _collect,
    _propagate,
    _run_onnx_inference,
    _stripped_copy,
    infer_tensor_shapes,
    seed_shapes,
)
from fewlat.meta.graph._topology import node_views, topological_order
from fewlat.spaces import get_space
from tests.graph_models import LIGHT_MODELS, light_bytes


def _both(model: onnx.ModelProto):
    model = load_model(model)
    nodes = node_views(model.graph)
    init = {t.name for t in model.graph.initializer}
    inputs = _resolve_input_shapes(model.graph, init, None)
    order = topological_order(nodes, [*init, *inputs])
    ruled, ruled_types, consts = seed_shapes(model, nodes, inputs)
    _propagate([nodes[i] for i in order], ruled, ruled_types, consts, {}, False, None)
    inferred, inferred_types, _ = seed_shapes(model, nodes, inputs)
    _collect(_run_onnx_inference(_stripped_copy(model, order, inputs)), inferred, inferred_types)
    outputs = [o for n in nodes for o in n.output if o]
    return model, nodes, order, inputs, outputs, ruled, ruled_types, inferred, inferred_types


def _space_models() -> list[tuple[str, onnx.ModelProto]]:
    rng = np.random.default_rng(7)
    models = []
    for name in ("nb201", "fbnet", "ofa_mbv3", "resnet_prune"):
        space = get_space(name)
        for arch in [space.supernet(), *space.sample(rng, 3)]:
            models.append((f"{name}:{arch}", space.to_model(arch)))
    zoo = get_space("zoo")
    for arch in (
        "resnet18:w=0.5:r=160",
        "mobilenet_v3_small:w=0.5:r=160",
        "vit_tiny:w=0.5:r=160",
        "shufflenet_v2:w=0.5:r=160",
    ):
        models.append((f"zoo:{arch}", zoo.to_model(arch)))
    return models


SPACE_MODELS = _space_models()


def _assert_agree(outputs, ruled, ruled_types, inferred, inferred_types) -> int:
    compared = 0
    for name in outputs:
        if name in ruled and name in inferred:
            assert ruled[name] == inferred[name], f"{name}: rules {ruled[name]} vs onnx"
            assert ruled_types[name] == inferred_types[name], f"{name}: element type"
            compared += 1
    return compared


@pytest.mark.parametrize("name", LIGHT_MODELS)
def test_rules_agree_with_onnx_on_light_models(name: str) -> None:
    *_, outputs, ruled, rt, inferred, it = _both(onnx.load_from_string(light_bytes(name)))
    assert _assert_agree(outputs, ruled, rt, inferred, it) > 0


@pytest.mark.parametrize(("label", "model"), SPACE_MODELS, ids=[m[0][:60] for m in SPACE_MODELS])
def test_rules_cover_and_agree_with_onnx_on_space_models(label: str, model) -> None:
    *_, outputs, ruled, rt, inferred, it = _both(model)
    assert all(o in inferred for o in outputs), "onnx itself leaves a tensor unknown"
    if not label.startswith("zoo:"):  # builder-made spaces take the fast path: full coverage
        assert all(o in ruled for o in outputs), f"rules leave tensors unknown in {label}"
    compared = _assert_agree(outputs, ruled, rt, inferred, it)
    assert compared == sum(o in ruled for o in outputs) and compared > 0


def test_full_inference_equals_onnx_where_rules_stop() -> None:
    """A graph the rules cannot finish (MaxPool indices) still gets onnx's shapes."""
    model, nodes, order, inputs, outputs, _, _, inferred, _ = _both(
        onnx.load_from_string(light_bytes("light_inception_v2.onnx"))
    )
    shapes, _ = infer_tensor_shapes(model, nodes, order, inputs)
    for name in outputs:
        if name in inferred:
            assert shapes[name] == inferred[name]

"""NB201Space: arch strings, HELP's archs, cell rules, runtimes, and a PyTorch twin."""

from __future__ import annotations

import csv
import re

import numpy as np
import onnx
import pytest

from fewlat.exceptions import InvalidArchError
from fewlat.spaces import get_space
from fewlat.spaces.nb201 import EDGES, NUM_ARCHS, OPS, NB201Space

from . import conformance
from .twins_nb201 import NB201Net

SPACE = NB201Space()
SUPERNET = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
)
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
# node 1 is a dead end (feeds nothing), node 3 = skip(node 0): cells add no node at all
DEAD_END = "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"
# node 1 is zero, so its edges into nodes 2 and 3 are dropped; node 2 is zero too
ZERO_CHAIN = "|none~0|+|none~0|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|"
# HELP's arch 0: every op kind but conv3x3, Add chains, skips
MIXED = (
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"
    "+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
)
ARCHS = [SUPERNET, ALL_NONE, DEAD_END, ZERO_CHAIN, MIXED]


def _ops(model: onnx.ModelProto) -> dict[str, int]:
    counts: dict[str, int] = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


def test_identity():
    conformance.assert_identity(
        SPACE, "nb201", finite=True, supernet=SUPERNET, example=MIXED, input_shape=(1, 3, 32, 32)
    )


@pytest.mark.parametrize("arch", ARCHS)
def test_canonical_round_trip(arch):
    conformance.assert_canonical_round_trip(SPACE, arch)


@pytest.mark.parametrize(
    ("arch", "fragment"),
    [
        ("|none~0|+|none~0|none~1|", "must have 3 '+'-separated node groups"),
        ("none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "must start and end with '|'"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "must list 2 edge(s)"),
        ("|none~0|+|none~0|none~1|+|none~0|none~1|conv~2|", "Unknown op 'conv'"),
        ("|none|+|none~0|none~1|+|none~0|none~1|none~2|", "must be written op~0"),
        ("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|", "must end in '~0'"),
        ("", "must have 3"),
    ],
)
def test_bad_strings_say_what_is_wrong(arch, fragment):
    message = conformance.assert_rejected(SPACE, arch, [fragment])
    if "op" in fragment.lower():
        assert "Valid ops: none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3" in message


def test_non_string_arch_is_rejected():
    with pytest.raises(InvalidArchError, match="must be a str"):
        SPACE.canonical(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidArchError):
        SPACE.to_model("nor_conv_3x3")


def test_enumerate_lists_every_member_once_in_documented_order():
    archs = list(SPACE.enumerate())
    assert len(archs) == NUM_ARCHS == 15_625
    assert len(set(archs)) == NUM_ARCHS
    assert archs[0] == ALL_NONE
    assert archs[1] == "|none~0|+|none~0|none~1|+|none~0|none~1|skip_connect~2|"
    assert archs[-1] == ALL_NONE.replace("none", "avg_pool_3x3")
    # itertools.product over the edges in string order, OPS order within an edge
    index = sum(OPS.index(op) * 5 ** (5 - k) for k, op in enumerate(("nor_conv_3x3",) * 6))
    assert archs[index] == SUPERNET
    assert all(SPACE.canonical(a) == a for a in archs[::997])


def test_sample_is_uniform_deterministic_and_canonical():
    conformance.assert_sample_is_seeded_and_canonical(SPACE, 50, seed=7)
    # every op shows up on every edge in a large sample
    many = SPACE.sample(np.random.default_rng(0), 2000)
    edge_ops = [set() for _ in EDGES]
    for arch in many:
        for k, op in enumerate(re.findall(r"(\w+)~", arch)):
            edge_ops[k].add(op)
    assert all(ops == set(OPS) for ops in edge_ops)


def test_every_help_arch_is_accepted_unchanged(help_root):
    with open(help_root / "nb201" / "archs.csv", newline="") as f:
        archs = [row["arch"] for row in csv.DictReader(f)]
    conformance.assert_accepts_unchanged(SPACE, archs, NUM_ARCHS)
    assert set(archs) == set(SPACE.enumerate())


def test_cell_rules_shape_the_graph():
    # stem 1 conv + 2 ResNet blocks x 3 convs; every other conv is 3 per cell x 15 cells
    assert _ops(SPACE.to_model(SUPERNET))["Conv"] == 7 + 15 * 6
    none_ops = _ops(SPACE.to_model(ALL_NONE))
    assert none_ops["Conv"] == 7
    assert none_ops["Mul"] == 15  # each zero cell is x * 0
    dead_ops = _ops(SPACE.to_model(DEAD_END))
    assert dead_ops["Conv"] == 7  # the dead-end conv on edge 0->1 is pruned
    assert "Mul" not in dead_ops
    zero_ops = _ops(SPACE.to_model(ZERO_CHAIN))
    assert zero_ops["Mul"] == 15 and zero_ops["Conv"] == 7
    assert "AveragePool" in _ops(SPACE.to_model(MIXED))
    pools = [n for n in SPACE.to_model(MIXED).graph.node if n.op_type == "AveragePool"]
    cell_pool = next(n for n in pools if list(n.attribute[0].ints) != [0])
    attrs = {a.name: onnx.helper.get_attribute_value(a) for a in cell_pool.attribute}
    assert attrs["count_include_pad"] == 0 and attrs["kernel_shape"] == [3, 3]


def test_zero_scalar_keeps_its_value_without_weights():
    zero = next(t for t in SPACE.to_model(ALL_NONE).graph.initializer if t.name == "zero_scalar")
    assert list(zero.dims) == [] and onnx.numpy_helper.to_array(zero) == 0.0


@pytest.mark.parametrize("arch", ARCHS)
def test_built_model_is_valid_and_runs(arch):
    conformance.assert_runs_in_runtimes(SPACE.to_model(arch, with_weights=True), (1, 10))


@pytest.mark.parametrize("arch", ARCHS)
def test_pytorch_twin_has_same_costs(arch):
    twin_bytes = conformance.export_twin(NB201Net(arch), SPACE.input_shape(arch))
    twin, ours = conformance.assert_twin_has_same_costs(twin_bytes, SPACE.to_model(arch), (1, 10))
    assert twin.macs == ours.macs


@pytest.mark.parametrize("arch", [SUPERNET, ALL_NONE, MIXED])
def test_weightless_model_encodes_like_the_weighted_one(arch):
    conformance.assert_weightless_matches(SPACE, arch, smaller_by=10)


def test_weights_follow_the_seed():
    a = SPACE.to_onnx(MIXED, with_weights=True, seed=1)
    assert a == SPACE.to_onnx(MIXED, with_weights=True, seed=1)
    assert a != SPACE.to_onnx(MIXED, with_weights=True, seed=2)


@pytest.mark.slow
def test_to_model_is_fast_enough_for_the_nas_loop():
    import time

    archs = SPACE.sample(np.random.default_rng(0), 200) + [SUPERNET] * 20
    seconds = []
    for arch in archs:
        start = time.perf_counter()
        SPACE.to_model(arch)
        seconds.append(time.perf_counter() - start)
    # budget: build + encode + featurise <= 5 ms; loose bounds for shared CI machines
    assert np.median(seconds) < 3e-3
    assert np.median(seconds[-20:]) < 10e-3


def test_eager_model_computes_every_edge_and_separates_pruned_twins():
    from fewlat.meta.graph import encode

    space = get_space("nb201")
    # under the pruning rules these two archs are the same model (node 2 is a dead end)
    a = "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_1x1~1|nor_conv_1x1~2|"
    b = "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|"
    assert space.to_onnx(a) == space.to_onnx(b)
    ga, gb = encode(space.to_onnx(a, eager=True)), encode(space.to_onnx(b, eager=True))
    assert ga.macs < gb.macs
    # every edge of each of the 15 cells is there: 2 'none' edges become Mul(x, 0)
    assert ga.ops["Mul"] == 15 * 2
    assert ga.ops["Add"] == encode(space.to_onnx(space.supernet())).ops["Add"]
    # with no 'none' edge and nothing dead, the eager model is the ONNX model
    assert space.to_onnx(space.supernet(), eager=True) == space.to_onnx(space.supernet())


def test_spaces_without_an_eager_variant_build_the_same_model():
    for name in ("fbnet", "resnet_prune"):
        space = get_space(name)
        assert not space.has_eager_variant
        arch = space.supernet()
        assert space.to_onnx(arch, eager=True) == space.to_onnx(arch)

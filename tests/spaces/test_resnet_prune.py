"""ResNetPruneSpace: arch strings, enumeration, runtimes, and a PyTorch twin."""

from __future__ import annotations

import numpy as np
import onnx
import pytest

from fewlat.exceptions import InvalidArchError
from fewlat.spaces.resnet_prune import NUM_ARCHS, ResNetPruneSpace, inner_channels

from . import conformance
from .twins_resnet_prune import PrunedResNet18

SPACE = ResNetPruneSpace()
SUPERNET = "1.0-1.0-1.0-1.0-1.0-1.0-1.0-1.0"
ALL_DROPPED = "0.25-0-0.25-0-0.25-0-0.25-0"  # the smallest member: 4 blocks, every width 1/4
MIXED = "0.5-0.75-1.0-0-0.25-1.0-0.75-0"
ARCHS = [SUPERNET, ALL_DROPPED, MIXED]


def _convs(model: onnx.ModelProto) -> list[tuple[int, ...]]:
    weights = {t.name: tuple(t.dims) for t in model.graph.initializer}
    return [weights[n.input[1]] for n in model.graph.node if n.op_type == "Conv"]


def test_identity():
    conformance.assert_identity(
        SPACE,
        "resnet_prune",
        finite=True,
        supernet=SUPERNET,
        example=MIXED,
        input_shape=(1, 3, 32, 32),
    )


@pytest.mark.parametrize("arch", ARCHS)
def test_canonical_round_trip(arch):
    conformance.assert_canonical_round_trip(SPACE, arch)


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("1-1-1-1-1-1-1-1", SUPERNET),
        ("1.00-1.0-1.-1-1-1-1-1", SUPERNET),
        (".25-0.0-0.250-00-.25-0.-0.25-0", ALL_DROPPED),
        (" .5-0.75-1-0-0.25-1-0.75-0 ", MIXED),
    ],
)
def test_alternate_numeric_spellings_are_accepted(spelling, canonical):
    assert SPACE.canonical(spelling) == canonical


@pytest.mark.parametrize(
    ("arch", "fragment"),
    [
        ("0-1-1-1-1-1-1-1", "Only the second block of a stage may be 0"),
        ("1-1-1-1-1-1-0.0-1", "block 7 (stage 4, first block)"),
        ("1-1-1", "must be 8 '-'-joined block ratios"),
        ("1-1-1-1-1-1-1-1-1", "got 9 value(s)"),
        ("1-0.3-1-1-1-1-1-1", "Valid values: 0, 0.25, 0.5, 0.75, 1.0."),
        ("1-x-1-1-1-1-1-1", "Bad value 'x' for block 2"),
        ("1-1/4-1-1-1-1-1-1", "Bad value '1/4'"),
        ("1-1-1-1-1-1-1-1e0", "Bad value '1e0'"),
        ("1--1-1-1-1-1-1", "Bad value '' for block 2"),
    ],
)
def test_bad_strings_say_what_is_wrong(arch, fragment):
    conformance.assert_rejected(SPACE, arch, [fragment])


def test_non_string_arch_is_rejected():
    with pytest.raises(InvalidArchError, match="must be a str"):
        SPACE.canonical(1.0)  # type: ignore[arg-type]


def test_enumerate_lists_every_member_once_in_documented_order():
    archs = list(SPACE.enumerate())
    assert len(archs) == NUM_ARCHS == 4**4 * 5**4
    assert len(set(archs)) == NUM_ARCHS
    assert archs[0] == ALL_DROPPED
    assert archs[1] == "0.25-0-0.25-0-0.25-0-0.25-0.25"
    assert archs[-1] == SUPERNET
    assert all(SPACE.canonical(a) == a for a in archs[::9973])


def test_sample_is_uniform_deterministic_and_canonical():
    conformance.assert_sample_is_seeded_and_canonical(SPACE, 50, seed=3)
    archs = SPACE.sample(np.random.default_rng(0), 1000)
    slots = list(zip(*(a.split("-") for a in archs), strict=True))
    assert all(set(s) == {"0.25", "0.5", "0.75", "1.0"} for s in slots[0::2])
    assert all(set(s) == {"0", "0.25", "0.5", "0.75", "1.0"} for s in slots[1::2])


def test_block_widths_follow_the_ratios():
    assert inner_channels(0.25, 64) == 16 and inner_channels(0.75, 512) == 384
    assert inner_channels(0.001, 64) == 1
    convs = _convs(SPACE.to_model(MIXED))
    per_block = [
        [64],  # stem
        [32, 64],  # stage 1, 0.5
        [48, 64],  # stage 1, 0.75
        [128, 128, 128],  # stage 2, 1.0, with its 1x1 shortcut; second block dropped
        [64, 256, 256],  # stage 3, 0.25, with shortcut
        [256, 256],  # stage 3, 1.0
        [384, 512, 512],  # stage 4, 0.75, with shortcut; second block dropped
    ]
    assert [c[0] for c in convs] == [c for block in per_block for c in block]
    assert len(_convs(SPACE.to_model(ALL_DROPPED))) == 1 + 4 * 2 + 3
    assert len(_convs(SPACE.to_model(SUPERNET))) == 1 + 8 * 2 + 3


@pytest.mark.parametrize("arch", ARCHS)
def test_built_model_is_valid_and_runs(arch):
    conformance.assert_runs_in_runtimes(SPACE.to_model(arch, with_weights=True), (1, 10))


@pytest.mark.parametrize("arch", ARCHS)
def test_pytorch_twin_has_same_costs(arch):
    twin_bytes = conformance.export_twin(PrunedResNet18(arch), SPACE.input_shape(arch))
    twin, ours = conformance.assert_twin_has_same_costs(twin_bytes, SPACE.to_model(arch), (1, 10))
    assert (twin.macs, twin.params) == (ours.macs, ours.params)


@pytest.mark.parametrize("arch", ARCHS)
def test_weightless_model_encodes_like_the_weighted_one(arch):
    conformance.assert_weightless_matches(SPACE, arch, smaller_by=10)

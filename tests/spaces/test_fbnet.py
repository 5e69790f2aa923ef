"""FBNetSpace: arch strings, HELP's archs, runtimes, and a PyTorch twin."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from fewlat.spaces.fbnet import BLOCK_CHOICES, INPUT_SHAPE, FBNetSpace

from . import conformance
from .twins_fbnet import FBNetTwin

SPACE = FBNetSpace()
ALL_SKIP = "-".join(["skip"] * 22)
# every block kind; skips where the shape changes (layers 1, 5, 17, 21) and not (10, 14)
MIXED = "-".join(
    ["k3_e1", "skip", "k3_e1_g2", "k5_e1_g2", "k3_e3", "skip", "k5_e3", "k3_e6", "k5_e1",
     "k5_e6", "skip", "k3_e1", "k5_e1_g2", "k3_e1_g2", "skip", "k3_e6", "k5_e6", "skip",
     "k3_e3", "k5_e1", "k3_e1_g2", "skip"]
)  # fmt: skip
ARCHS = [SPACE.supernet(), ALL_SKIP, MIXED]


def test_identity():
    supernet = "-".join(["k5_e6"] * 22)
    conformance.assert_identity(
        SPACE, "fbnet", finite=False, supernet=supernet, example=MIXED, input_shape=INPUT_SHAPE
    )
    assert INPUT_SHAPE == (1, 3, 32, 32)


@pytest.mark.parametrize("arch", ARCHS)
def test_canonical_round_trip(arch):
    conformance.assert_canonical_round_trip(SPACE, arch)


@pytest.mark.parametrize(
    ("arch", "needle"),
    [
        ("k3_e1", "has 1"),
        ("-".join(["k3_e1"] * 23), "has 23"),
        ("", "has 1"),
        ("-".join(["k3_e1"] * 5 + ["k7_e6"] + ["k3_e1"] * 16), "Layer 5 of fbnet arch"),
        ("-".join(["k3_e1"] * 21 + ["SKIP"]), "'SKIP', which is not a block"),
        (None, "Got NoneType"),
    ],
)
def test_bad_arch_is_rejected_with_the_valid_blocks(arch, needle):
    message = conformance.assert_rejected(SPACE, arch, [needle])
    if arch is not None:
        assert "k5_e1_g2" in message  # the message lists the valid blocks


def test_sample_is_uniform_canonical_and_seeded():
    a = conformance.assert_sample_is_seeded_and_canonical(SPACE, 200, seed=7)
    blocks = [b for x in a for b in x.split("-")]
    assert set(blocks) == set(BLOCK_CHOICES)
    counts = np.array([blocks.count(b) for b in BLOCK_CHOICES])
    assert counts.min() > 0.7 * len(blocks) / 9  # roughly uniform (4400 draws)


def test_help_archs_are_accepted_unchanged(help_root):
    with open(help_root / "fbnet" / "archs.csv", newline="") as f:
        archs = [row["arch"] for row in csv.DictReader(f)]
    conformance.assert_accepts_unchanged(SPACE, archs, 5000)


@pytest.mark.parametrize("arch", ARCHS)
def test_model_is_valid_and_runs_in_onnxruntime_and_mnn(arch):
    conformance.assert_runs_in_runtimes(SPACE.to_model(arch, with_weights=True), (1, 100))


@pytest.mark.parametrize("arch", ARCHS)
def test_weightless_model_encodes_like_the_weighted_one(arch):
    conformance.assert_weightless_matches(SPACE, arch, smaller_by=100)


def test_supernet_has_the_most_macs_and_params():
    others = [f"{b}-" * 21 + b for b in BLOCK_CHOICES if b != "k5_e6"]
    others += SPACE.sample(np.random.default_rng(3), 5)
    conformance.assert_supernet_has_the_most_costs(SPACE, others)


@pytest.mark.parametrize("arch", ARCHS)
def test_pytorch_twin_has_the_same_costs(arch):
    twin_onnx = conformance.export_twin(FBNetTwin(arch), INPUT_SHAPE)
    conformance.assert_twin_has_same_costs(twin_onnx, SPACE.to_model(arch), (1, 100))


@pytest.mark.parametrize("arch", [SPACE.supernet(), MIXED])
def test_pytorch_twin_weights_give_the_same_outputs(arch):
    """Same parameter shapes in the same order, and the same function once weights are shared."""
    net = conformance.seeded_twin(FBNetTwin, arch)
    conformance.assert_twin_weights_give_the_same_outputs(net, SPACE.to_model(arch), INPUT_SHAPE)

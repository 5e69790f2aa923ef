"""OFAMobileNetV3Space: arch strings, HELP's archs, runtimes, and a PyTorch twin."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from fewlat.spaces.ofa_mbv3 import RESOLUTIONS, WIDTHS, OFAMobileNetV3Space, make_divisible

from . import conformance
from .twins_ofa_mbv3 import OFAMobileNetV3Twin, parse


def _arch(ks, e, d, r) -> str:
    return f"ks={'-'.join(map(str, ks))}:e={'-'.join(map(str, e))}:d={'-'.join(map(str, d))}:r={r}"


SPACE = OFAMobileNetV3Space()
MINIMAL = _arch([3] * 20, [3] * 20, [2] * 5, 128)
# odd feature-map sizes (132 → 66, 33, 17, 9, 9, 5), every depth, kernel and ratio
MIXED = _arch([3, 5, 7, 5] * 5, [6, 4, 3, 4] * 5, [4, 3, 2, 3, 4], 132)
ARCHS = [SPACE.supernet(), MINIMAL, MIXED]


def test_identity_and_widths():
    supernet = _arch([7] * 20, [6] * 20, [4] * 5, 224)
    conformance.assert_identity(
        SPACE,
        "ofa_mbv3",
        aliases=("ofa",),
        finite=False,
        supernet=supernet,
        example=MIXED,
        input_shape=(1, 3, 132, 132),
    )
    assert WIDTHS == (24, 24, 32, 48, 96, 136, 192, 1152, 1536)  # OFA MobileNetV3 w1.2
    assert (make_divisible(19.2), make_divisible(134.4), make_divisible(3.0)) == (24, 136, 8)
    assert len(RESOLUTIONS) == 25 and RESOLUTIONS[0] == 128 and RESOLUTIONS[-1] == 224


@pytest.mark.parametrize("arch", ARCHS)
def test_canonical_round_trip(arch):
    conformance.assert_canonical_round_trip(SPACE, arch)
    fields = arch.split(":")
    assert SPACE.canonical(" " + ":".join(reversed(fields)) + "\n") == arch


def test_inactive_slots_are_kept_but_not_built():
    from fewlat.meta.graph import encode

    other = MINIMAL.replace("ks=3-3-3-3", "ks=3-3-7-5").replace("e=3-3-3-3", "e=3-3-6-4")
    assert SPACE.canonical(other) == other != MINIMAL
    a, b = encode(SPACE.to_model(MINIMAL)), encode(SPACE.to_model(other))
    assert (a.macs, a.params) == (b.macs, b.params)


@pytest.mark.parametrize(
    ("arch", "needles"),
    [
        (MINIMAL.replace("ks=3-3", "ks=4-3"), ["Slot 0 of field 'ks'", "3, 5, 7"]),
        (
            MINIMAL.replace("e=3-3-3-3-3-3-3-3", "e=3-3-3-3-3-3-3-x"),
            ["Slot 7 of field 'e'", "3, 4, 6"],
        ),
        (MINIMAL.replace("d=2-2-2-2-2", "d=2-2-2-2-5"), ["Slot 4 of field 'd'", "2, 3, 4"]),
        (MINIMAL.replace("d=2-2-2-2-2", "d=2-2-2-2"), ["needs 5", "got 4"]),
        (MINIMAL.replace("ks=3-3", "ks=3"), ["needs 20", "got 19"]),
        (MINIMAL.replace("r=128", "r=130"), ["Field 'r'", "multiples of 4 in [128, 224]"]),
        (MINIMAL.replace("r=128", "r=228"), ["Field 'r'", "multiples of 4 in [128, 224]"]),
        (MINIMAL.replace("r=128", "r=1_28"), ["Field 'r'", "'1_28'"]),
        (MINIMAL.replace(":r=128", ""), ["lacks r", "ks=<20 ints>"]),
        (MINIMAL + ":w=1", ["bad part 'w=1'", "ks=<20 ints>"]),
        (MINIMAL + ":r=132", ["repeats 'r=132'"]),
        ("", ["bad part ''"]),
        (7, ["Got int"]),
    ],
)
def test_bad_arch_is_rejected_with_the_accepted_values(arch, needles):
    conformance.assert_rejected(SPACE, arch, needles)


def test_sample_is_canonical_seeded_and_covers_the_choices():
    a = conformance.assert_sample_is_seeded_and_canonical(SPACE, 100, seed=5)
    parsed = [parse(x) for x in a]
    assert {k for p in parsed for k in p["ks"]} == {3, 5, 7}
    assert {v for p in parsed for v in p["e"]} == {3, 4, 6}
    assert {v for p in parsed for v in p["d"]} == {2, 3, 4}
    assert {p["r"][0] for p in parsed} <= set(RESOLUTIONS)
    assert len({p["r"][0] for p in parsed}) > 15


def test_help_archs_are_accepted_unchanged(help_root):
    with open(help_root / "ofa" / "archs.csv", newline="") as f:
        archs = [
            ":".join(f"{c}={row[c]}" for c in ("ks", "e", "d", "r")) for row in csv.DictReader(f)
        ]
    conformance.assert_accepts_unchanged(SPACE, archs, 5000)


@pytest.mark.parametrize("arch", ARCHS)
def test_model_is_valid_and_runs_in_onnxruntime_and_mnn(arch):
    conformance.assert_runs_in_runtimes(SPACE.to_model(arch, with_weights=True), (1, 1000))


@pytest.mark.parametrize("arch", ARCHS)
def test_weightless_model_encodes_like_the_weighted_one(arch):
    conformance.assert_weightless_matches(SPACE, arch, smaller_by=100)


def test_supernet_has_the_most_macs_and_params():
    others = [MINIMAL, MIXED, *SPACE.sample(np.random.default_rng(3), 5)]
    conformance.assert_supernet_has_the_most_costs(SPACE, others)


@pytest.mark.parametrize("arch", ARCHS)
def test_pytorch_twin_has_the_same_costs(arch):
    twin_onnx = conformance.export_twin(OFAMobileNetV3Twin(arch), SPACE.input_shape(arch))
    conformance.assert_twin_has_same_costs(twin_onnx, SPACE.to_model(arch), (1, 1000))


@pytest.mark.parametrize("arch", [MINIMAL, MIXED])
def test_pytorch_twin_weights_give_the_same_outputs(arch):
    """Same parameter shapes in the same order, and the same function once weights are shared."""
    net = conformance.seeded_twin(OFAMobileNetV3Twin, arch)
    conformance.assert_twin_weights_give_the_same_outputs(
        net, SPACE.to_model(arch), SPACE.input_shape(arch)
    )

"""OFAMobileNetV3Space: arch strings, HELP's archs, runtimes, and a PyTorch twin."""

from __future__ import annotations

import csv
import io
import warnings

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from fewlat.exceptions import InvalidArchError, InvalidParameterError
from fewlat.spaces.ofa_mbv3 import RESOLUTIONS, WIDTHS, OFAMobileNetV3Space, make_divisible
from tests.runtimes import convert_and_run_mnn, output_shape, run_onnxruntime

from .twins_ofa_mbv3 import OFAMobileNetV3Twin, parse


def _arch(ks, e, d, r) -> str:
    return f"ks={'-'.join(map(str, ks))}:e={'-'.join(map(str, e))}:d={'-'.join(map(str, d))}:r={r}"


SPACE = OFAMobileNetV3Space()
MINIMAL = _arch([3] * 20, [3] * 20, [2] * 5, 128)
# odd feature-map sizes (132 → 66, 33, 17, 9, 9, 5), every depth, kernel and ratio
MIXED = _arch([3, 5, 7, 5] * 5, [6, 4, 3, 4] * 5, [4, 3, 2, 3, 4], 132)
ARCHS = [SPACE.supernet(), MINIMAL, MIXED]


def test_identity_and_widths():
    assert SPACE.name == "ofa_mbv3" and SPACE.aliases == ("ofa",)
    assert SPACE.finite is False
    assert SPACE.supernet() == _arch([7] * 20, [6] * 20, [4] * 5, 224)
    assert SPACE.input_shape(MIXED) == (1, 3, 132, 132)
    assert WIDTHS == (24, 24, 32, 48, 96, 136, 192, 1152, 1536)  # OFA MobileNetV3 w1.2
    assert (make_divisible(19.2), make_divisible(134.4), make_divisible(3.0)) == (24, 136, 8)
    assert len(RESOLUTIONS) == 25 and RESOLUTIONS[0] == 128 and RESOLUTIONS[-1] == 224


@pytest.mark.parametrize("arch", ARCHS)
def test_canonical_round_trip(arch):
    assert SPACE.canonical(arch) == arch
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
    with pytest.raises(InvalidArchError) as err:
        SPACE.canonical(arch)
    for needle in needles:
        assert needle in str(err.value)
    with pytest.raises(InvalidArchError):
        SPACE.to_model(arch)
    with pytest.raises(InvalidArchError):
        SPACE.input_shape(arch)


def test_sample_is_canonical_seeded_and_covers_the_choices():
    a = SPACE.sample(np.random.default_rng(5), 100)
    assert a == SPACE.sample(np.random.default_rng(5), 100)
    assert a != SPACE.sample(np.random.default_rng(6), 100)
    assert all(SPACE.canonical(x) == x for x in a)
    parsed = [parse(x) for x in a]
    assert {k for p in parsed for k in p["ks"]} == {3, 5, 7}
    assert {v for p in parsed for v in p["e"]} == {3, 4, 6}
    assert {v for p in parsed for v in p["d"]} == {2, 3, 4}
    assert {p["r"][0] for p in parsed} <= set(RESOLUTIONS)
    assert len({p["r"][0] for p in parsed}) > 15
    assert SPACE.sample(np.random.default_rng(0), 0) == []
    with pytest.raises(InvalidParameterError, match="'n' parameter"):
        SPACE.sample(np.random.default_rng(0), 2.0)


def test_help_archs_are_accepted_unchanged(help_root):
    with open(help_root / "ofa" / "archs.csv", newline="") as f:
        archs = [
            ":".join(f"{c}={row[c]}" for c in ("ks", "e", "d", "r")) for row in csv.DictReader(f)
        ]
    assert len(archs) == 5000
    assert [SPACE.canonical(a) for a in archs] == archs


@pytest.mark.parametrize("arch", ARCHS)
def test_model_is_valid_and_runs_in_onnxruntime_and_mnn(arch):
    model = SPACE.to_model(arch, with_weights=True)
    onnx.checker.check_model(model, full_check=True)
    assert output_shape(model) == (1, 1000)
    (out,) = run_onnxruntime(model.SerializeToString())
    assert out.shape == (1, 1000)
    assert np.isfinite(out).all()
    assert convert_and_run_mnn(model.SerializeToString()) == (1, 1000)


@pytest.mark.parametrize("arch", ARCHS)
def test_weightless_model_encodes_like_the_weighted_one(arch):
    from fewlat.meta.graph import encode

    light = SPACE.to_model(arch)
    heavy = SPACE.to_model(arch, with_weights=True)
    assert len(light.SerializeToString()) < 0.01 * len(heavy.SerializeToString())
    g, h = encode(light), encode(heavy)
    assert (g.macs, g.flops, g.params) == (h.macs, h.flops, h.params)
    assert g.macs > 0 and g.params > 0


def test_supernet_has_the_most_macs_and_params():
    from fewlat.meta.graph import encode

    top = encode(SPACE.to_model(SPACE.supernet()))
    for arch in [MINIMAL, MIXED, *SPACE.sample(np.random.default_rng(3), 5)]:
        g = encode(SPACE.to_model(arch))
        assert g.macs < top.macs and g.params < top.params, arch


def _export(net: torch.nn.Module, shape: tuple[int, ...]) -> bytes:
    """Legacy export with BatchNorm kept as a node (PRESERVE skips the Conv+BN fusion)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(shape),), buf, dynamo=False, opset_version=17,
                          training=torch.onnx.TrainingMode.PRESERVE)  # fmt: skip
    return buf.getvalue()


def _twin(arch: str) -> torch.nn.Module:
    """The twin in eval mode, with random BN statistics (so none are deduplicated on export)."""
    torch.manual_seed(0)
    net = OFAMobileNetV3Twin(arch).eval()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            for t in (m.weight, m.bias, m.running_mean, m.running_var):
                t.data.uniform_(0.5, 1.5)
    return net


@pytest.mark.parametrize("arch", ARCHS)
def test_pytorch_twin_has_the_same_costs(arch):
    from fewlat.meta.graph import encode

    twin_onnx = _export(_twin(arch), SPACE.input_shape(arch))
    assert output_shape(onnx.load_from_string(twin_onnx)) == (1, 1000)
    ours, theirs = encode(SPACE.to_model(arch)), encode(twin_onnx)
    for key in ("macs", "flops", "params"):
        assert getattr(ours, key) == pytest.approx(getattr(theirs, key), rel=0.01), key


@pytest.mark.parametrize("arch", [MINIMAL, MIXED])
def test_pytorch_twin_weights_give_the_same_outputs(arch):
    """Same parameter shapes in the same order, and the same function once weights are shared."""
    net = _twin(arch)
    model = SPACE.to_model(arch)
    floats = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
    state = [v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")]
    assert [tuple(t.dims) for t in floats] == [tuple(v.shape) for v in state]
    for tensor, value in zip(floats, state, strict=True):
        tensor.CopyFrom(numpy_helper.from_array(value.numpy(), tensor.name))
    x = np.random.default_rng(0).standard_normal(SPACE.input_shape(arch)).astype(np.float32)
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (ours,) = sess.run(None, {"input": x})
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4 * np.abs(theirs).max())

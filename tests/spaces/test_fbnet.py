"""FBNetSpace: arch strings, HELP's archs, runtimes, and a PyTorch twin."""

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
from fewlat.spaces.fbnet import BLOCK_CHOICES, INPUT_SHAPE, FBNetSpace
from tests.runtimes import convert_and_run_mnn, output_shape, run_onnxruntime

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
    assert SPACE.name == "fbnet"
    assert SPACE.finite is False
    assert SPACE.supernet() == "-".join(["k5_e6"] * 22)
    assert SPACE.input_shape(MIXED) == INPUT_SHAPE == (1, 3, 32, 32)


@pytest.mark.parametrize("arch", ARCHS)
def test_canonical_round_trip(arch):
    assert SPACE.canonical(arch) == arch
    assert SPACE.canonical(f"  {arch}\n") == arch


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
    with pytest.raises(InvalidArchError) as err:
        SPACE.canonical(arch)
    assert needle in str(err.value)
    if arch is not None:
        assert "k5_e1_g2" in str(err.value)  # the message lists the valid blocks
    with pytest.raises(InvalidArchError):
        SPACE.to_model(arch)
    with pytest.raises(InvalidArchError):
        SPACE.input_shape(arch)


def test_sample_is_uniform_canonical_and_seeded():
    a = SPACE.sample(np.random.default_rng(7), 200)
    assert a == SPACE.sample(np.random.default_rng(7), 200)
    assert a != SPACE.sample(np.random.default_rng(8), 200)
    assert all(SPACE.canonical(x) == x for x in a)
    blocks = [b for x in a for b in x.split("-")]
    assert set(blocks) == set(BLOCK_CHOICES)
    counts = np.array([blocks.count(b) for b in BLOCK_CHOICES])
    assert counts.min() > 0.7 * len(blocks) / 9  # roughly uniform (4400 draws)
    assert SPACE.sample(np.random.default_rng(0), 0) == []
    with pytest.raises(InvalidParameterError, match="'n' parameter"):
        SPACE.sample(np.random.default_rng(0), -1)


def test_help_archs_are_accepted_unchanged(help_root):
    with open(help_root / "fbnet" / "archs.csv", newline="") as f:
        archs = [row["arch"] for row in csv.DictReader(f)]
    assert len(archs) == 5000
    assert [SPACE.canonical(a) for a in archs] == archs


@pytest.mark.parametrize("arch", ARCHS)
def test_model_is_valid_and_runs_in_onnxruntime_and_mnn(arch):
    model = SPACE.to_model(arch, with_weights=True)
    onnx.checker.check_model(model, full_check=True)
    assert output_shape(model) == (1, 100)
    (out,) = run_onnxruntime(model.SerializeToString())
    assert out.shape == (1, 100)
    assert np.isfinite(out).all()
    assert convert_and_run_mnn(model.SerializeToString()) == (1, 100)


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
    others = [f"{b}-" * 21 + b for b in BLOCK_CHOICES if b != "k5_e6"]
    others += SPACE.sample(np.random.default_rng(3), 5)
    for arch in others:
        g = encode(SPACE.to_model(arch))
        assert g.macs < top.macs and g.params < top.params, arch


def _export(net: torch.nn.Module) -> bytes:
    """Legacy export with BatchNorm kept as a node (PRESERVE skips the Conv+BN fusion)."""
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(net, (torch.zeros(INPUT_SHAPE),), buf, dynamo=False, opset_version=17,
                          training=torch.onnx.TrainingMode.PRESERVE)  # fmt: skip
    return buf.getvalue()


def _twin(arch: str) -> torch.nn.Module:
    """The twin in eval mode, with random BN statistics (so none are deduplicated on export)."""
    torch.manual_seed(0)
    net = FBNetTwin(arch).eval()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            for t in (m.weight, m.bias, m.running_mean, m.running_var):
                t.data.uniform_(0.5, 1.5)
    return net


@pytest.mark.parametrize("arch", ARCHS)
def test_pytorch_twin_has_the_same_costs(arch):
    from fewlat.meta.graph import encode

    twin_onnx = _export(_twin(arch))
    assert output_shape(onnx.load_from_string(twin_onnx)) == (1, 100)
    ours, theirs = encode(SPACE.to_model(arch)), encode(twin_onnx)
    for key in ("macs", "flops", "params"):
        assert getattr(ours, key) == pytest.approx(getattr(theirs, key), rel=0.01), key


@pytest.mark.parametrize("arch", [SPACE.supernet(), MIXED])
def test_pytorch_twin_weights_give_the_same_outputs(arch):
    """Same parameter shapes in the same order, and the same function once weights are shared."""
    net = _twin(arch)
    model = SPACE.to_model(arch)
    floats = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
    state = [v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")]
    assert [tuple(t.dims) for t in floats] == [tuple(v.shape) for v in state]
    for tensor, value in zip(floats, state, strict=True):
        tensor.CopyFrom(numpy_helper.from_array(value.numpy(), tensor.name))
    x = np.random.default_rng(0).standard_normal(INPUT_SHAPE).astype(np.float32)
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (ours,) = sess.run(None, {"input": x})
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4 * np.abs(theirs).max())

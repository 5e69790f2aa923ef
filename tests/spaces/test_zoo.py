"""ZooSpace: arch strings, the grid, exports that run, and counts checked independently."""

from __future__ import annotations

import functools
import subprocess
import sys
import warnings

import onnx
import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from fewlat.exceptions import InvalidParameterError
from fewlat.meta.graph import encode
from fewlat.spaces._zoo_layers import init_weights
from fewlat.spaces._zoo_models import BUILDERS, build_module
from fewlat.spaces.zoo import GRID, ZooArch, ZooSpace

from . import conformance

SPACE = ZooSpace()
# smallest member of each family; the default run covers a residual CNN, an
# SE/h-swish mobile net and the transformer, the slow run covers the rest
FAST = ["resnet18:w=0.5:r=160", "mobilenet_v3_small:w=0.5:r=160", "vit_tiny:w=0.5:r=160"]
SLOW = [
    "resnet50:w=0.5:r=160",
    "mobilenet_v2:w=0.5:r=160",
    "mobilenet_v3_large:w=0.5:r=160",
    "efficientnet_b0:w=0.5:r=160",
    "squeezenet:w=0.5:r=160",
    "shufflenet_v2:w=0.5:r=160",
    "vgg11:w=0.25:r=160",
]
EXPORTED = [*FAST, *(pytest.param(a, marks=pytest.mark.slow) for a in SLOW)]


@functools.cache
def _with_weights(arch: str) -> bytes:
    return SPACE.to_onnx(arch, with_weights=True)


def _module_counts(arch: str, *, meta: bool = False) -> tuple[int, int]:
    """(parameters + BatchNorm running stats, FlopCounterMode FLOPs / 2) of the PyTorch module."""
    member = SPACE.parse(arch)
    module = build_module(member.family, member.width, member.resolution, meta=meta)
    params = sum(p.numel() for p in module.parameters())
    params += sum(b.numel() for n, b in module.named_buffers() if "running_" in n)
    x = torch.zeros(SPACE.input_shape(arch), device="meta" if meta else "cpu")
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return params, counter.get_total_flops() // 2


# ----------------------------------------------------------------- arch strings
def test_identity():
    conformance.assert_identity(
        SPACE,
        "zoo",
        finite=True,
        supernet="resnet50:w=1.0:r=224",
        example="vit_tiny:w=0.5:r=160",
        input_shape=(1, 3, 160, 160),
    )
    assert list(GRID) == list(BUILDERS)  # the grid and the builders name the same families


def test_enumerate_is_fixed_unique_and_canonical():
    members = list(SPACE.enumerate())
    assert members == list(SPACE.enumerate())
    assert len(members) == len(set(members)) == 40
    assert members[:2] == ["resnet18:w=0.5:r=160", "resnet18:w=0.5:r=224"]
    assert members[-1] == "vit_tiny:w=1.0:r=224"
    assert [SPACE.canonical(a) for a in members] == members
    assert {SPACE.parse(a).family for a in members} == set(GRID)
    assert SPACE.supernet() in members


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("resnet18:w=1:r=224", "resnet18:w=1.0:r=224"),
        ("  ResNet18 : r=224.0 : w=1.00 \n", "resnet18:w=1.0:r=224"),
        ("mobilenet-v2:w=.5:r=160", "mobilenet_v2:w=0.5:r=160"),
        ("VGG11:w=0.250:r=0224", "vgg11:w=0.25:r=224"),
        ("vit_tiny:w=5e-1:r=160", "vit_tiny:w=0.5:r=160"),
    ],
)
def test_alternate_spellings(spelling, canonical):
    assert SPACE.canonical(spelling) == canonical
    assert SPACE.parse(spelling) == ZooArch(*SPACE.parse(canonical))


@pytest.mark.parametrize(
    ("arch", "needles"),
    [
        (
            "resnet34:w=1.0:r=224",
            ["Unknown zoo family 'resnet34'", "resnet18, resnet50", "vit_tiny"],
        ),
        ("resnet18:w=0.75:r=224", ["not in the zoo grid", "widths 0.5, 1.0", "160, 224"]),
        ("resnet18:w=1.0:r=192", ["not in the zoo grid", "widths 0.5, 1.0", "160, 224"]),
        ("vgg11:w=1.0:r=224", ["vgg11 comes at widths 0.25, 0.5"]),
        ("resnet18:w=1.0", ["both w=<width> and r=<resolution> are required"]),
        ("resnet18", ["both w=<width> and r=<resolution> are required"]),
        ("resnet18:w=1.0:r=224:w=0.5", ["each of w and r once"]),
        ("resnet18:x=1.0:r=224", ["each of w and r once"]),
        ("resnet18:w1.0:r=224", ["each of w and r once"]),
        ("resnet18:w=abc:r=224", ["w='abc' is not a number"]),
        ("resnet18:w=nan:r=224", ["w='nan' is not a number"]),
        ("resnet18:w=1.0:r=224.5", ["r='224.5' is not an integer resolution"]),
        ("", ["Unknown zoo family ''"]),
        (224, ["must be a string", "Got 224"]),
    ],
)
def test_bad_arch_is_rejected_with_the_valid_choices(arch, needles):
    conformance.assert_rejected(SPACE, arch, needles)


def test_sample_is_deterministic_and_covers_the_grid():
    a = conformance.assert_sample_is_seeded_and_canonical(SPACE, 400, seed=7)
    assert set(a) == set(SPACE.enumerate())


# ------------------------------------------------------- builders vs. published
#: torchvision / timm at w=1.0, r=224: (exact parameter count, GMACs as published)
PUBLISHED = {
    "resnet18": (11_689_512, 1.81),
    "resnet50": (25_557_032, 4.09),
    "mobilenet_v2": (3_504_872, 0.30),
    "mobilenet_v3_small": (2_542_856, 0.06),
    "mobilenet_v3_large": (5_483_032, 0.22),
    "efficientnet_b0": (5_288_548, 0.39),
    "squeezenet": (1_235_496, 0.35),
    "shufflenet_v2": (2_278_604, 0.14),
    "vgg11": (132_868_840, 7.61),  # vgg11_bn; built here only, it is not in the grid
    "vit_tiny": (5_717_416, 1.26),
}


@pytest.mark.parametrize("family", list(PUBLISHED))
def test_full_size_builders_match_published_figures(family):
    module = build_module(family, 1.0, 224, meta=True)  # no memory, no time: shapes only
    with FlopCounterMode(display=False) as counter:
        out = module(torch.zeros(1, 3, 224, 224, device="meta"))
    params, gmacs = PUBLISHED[family]
    assert tuple(out.shape) == (1, 1000)
    assert sum(p.numel() for p in module.parameters()) == params
    # published GMACs are rounded to 2 decimals: allow that much plus 3%
    assert counter.get_total_flops() / 2e9 == pytest.approx(gmacs, rel=0.03, abs=0.005)


def _largest_of_each_family() -> list[str]:
    return [ZooArch(f, max(ws), max(rs)).arch for f, (ws, rs) in GRID.items()]


@pytest.mark.parametrize(
    "members",
    [
        pytest.param(_largest_of_each_family, id="largest-of-each-family"),
        pytest.param(lambda: list(SPACE.enumerate()), id="whole-grid", marks=pytest.mark.slow),
    ],
)
def test_supernet_has_the_most_macs(members):
    macs = {arch: _module_counts(arch, meta=True)[1] for arch in members()}
    assert max(macs, key=macs.__getitem__) == SPACE.supernet()
    assert all(v > 0 for v in macs.values())


# ------------------------------------------------------------------- exports
@pytest.mark.parametrize("arch", EXPORTED)
def test_export_is_valid_and_runs(arch):
    data = _with_weights(arch)
    conformance.assert_runs_in_runtimes(data, (1, 1000))
    model = onnx.load_from_string(data)
    assert model.graph.name == arch and model.opset_import[0].version == 17
    assert not {n.op_type for n in model.graph.node} & {"Shape", "Expand", "Where", "Identity"}


@pytest.mark.parametrize("arch", EXPORTED)
def test_counts_match_the_module(arch):
    params, macs = _module_counts(arch)
    graph = encode(_with_weights(arch))
    assert graph.params == pytest.approx(params, rel=0.01)
    assert graph.macs == pytest.approx(macs, rel=0.01)


@pytest.mark.parametrize("arch", EXPORTED)
def test_weightless_export_has_dims_only(arch):
    model = SPACE.to_model(arch)
    floats = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
    assert floats and all(t.dims and not t.raw_data and not t.float_data for t in floats)
    ints = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.INT64]
    assert all(onnx.numpy_helper.to_array(t).size for t in ints)  # shape operands keep values
    conformance.assert_weightless_matches(
        SPACE, arch, smaller_by=20, with_weights=_with_weights(arch)
    )


def test_vit_export_shows_attention_ops():
    ops = {n.op_type for n in SPACE.to_model("vit_tiny:w=0.5:r=160").graph.node}
    assert {"MatMul", "Softmax", "LayerNormalization", "Erf"} <= ops


def test_bn_is_kept_unfused():
    counts = {}
    for node in SPACE.to_model("resnet18:w=0.5:r=160").graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    assert counts["BatchNormalization"] == counts["Conv"] == 20


def test_exports_are_deterministic_and_leave_global_state_alone():
    arch = "mobilenet_v3_small:w=0.5:r=160"
    torch.manual_seed(1234)
    rng_state = torch.get_rng_state()
    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        seeded = SPACE.to_onnx(arch, with_weights=True, seed=3)
        other = SPACE.to_onnx(arch, with_weights=True, seed=4)
    assert caught == []  # the exporter's warnings are silenced inside the call
    assert warnings.filters == filters
    assert torch.equal(torch.get_rng_state(), rng_state)
    assert seeded == SPACE.to_onnx(arch, with_weights=True, seed=3) != other
    # the weightless form does not depend on the seed, and callers may mutate it
    model = SPACE.to_model(arch, seed=9)
    assert model.SerializeToString() == SPACE.to_onnx(arch)
    model.graph.name = "mutated"
    assert SPACE.to_model(arch).graph.name == arch


def test_init_weights_fills_everything_or_refuses():
    module = build_module("mobilenet_v3_small", 0.5, 160, seed=2)
    tensors = [*module.parameters(), *module.buffers()]
    assert all(torch.isfinite(t).all() for t in tensors)
    floats = [t for t in tensors if t.is_floating_point()]
    # no two tensors equal (the exporter would merge them into Identity nodes)
    assert len({tuple(t.flatten()[:4].tolist()) for t in floats}) == len(floats)
    odd = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 1))
    odd.register_buffer("table", torch.empty(4))
    with pytest.raises(TypeError, match="Sequential"):
        init_weights(odd, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True])
def test_bad_seed_is_rejected(seed):
    with pytest.raises(InvalidParameterError, match=r"'seed' parameter of ZooSpace\.to_model"):
        SPACE.to_model("squeezenet:w=0.5:r=160", seed=seed)


def test_import_does_not_load_torch():
    code = "import sys, fewlat.spaces.zoo; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("arch", "gmacs", "mparams"),
    [
        ("resnet18:w=1.0:r=224", 1.82, 11.69),
        ("mobilenet_v2:w=1.0:r=224", 0.300, 3.50),
        ("resnet50:w=1.0:r=224", 4.1, 25.6),
    ],
)
def test_full_size_exports_match_published_figures(arch, gmacs, mparams):
    graph = encode(SPACE.to_model(arch))
    assert graph.macs / 1e9 == pytest.approx(gmacs, rel=0.03)
    assert graph.params / 1e6 == pytest.approx(mparams, rel=0.03)

"""Checks the space tests share: the Space contract, runtimes, PyTorch twins, costs.

Each helper asserts (or builds) one thing the ``test_<space>.py`` files used to
spell out on their own: identity, canonical round trips, rejection messages,
seeded sampling, published arch lists, running in onnxruntime and MNN, twin
export and cost agreement, weightless models. Where the files differed in
strictness the strictest form is kept here; what legitimately differs between
spaces (output shape, size ratio, sample size and seed) is a parameter.
"""

from __future__ import annotations

import io
import itertools
import warnings
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import onnx
import pytest
import torch
from onnx import numpy_helper

from fewlat.exceptions import InvalidArchError, InvalidParameterError
from fewlat.meta.graph import ModelGraph, encode
from fewlat.spaces import Space
from tests import runtimes

__all__ = [
    "COST_FIELDS",
    "assert_accepts_unchanged",
    "assert_canonical_round_trip",
    "assert_identity",
    "assert_rejected",
    "assert_runs_in_runtimes",
    "assert_same_costs",
    "assert_sample_is_seeded_and_canonical",
    "assert_supernet_has_the_most_costs",
    "assert_twin_has_same_costs",
    "assert_twin_weights_give_the_same_outputs",
    "assert_weightless_matches",
    "export_twin",
    "seeded_twin",
]

#: the graph totals two encodes of the same network must agree on
COST_FIELDS = ("macs", "flops", "params")

Model = bytes | onnx.ModelProto


def assert_identity(
    space: Space,
    name: str,
    *,
    finite: bool,
    supernet: str,
    example: str,
    input_shape: tuple[int, ...],
    aliases: tuple[str, ...] = (),
) -> None:
    """``space`` has this registry ``name`` and ``aliases``, finiteness and supernet,
    and ``example`` (a member) takes ``input_shape``."""
    assert (space.name, space.aliases, space.finite) == (name, aliases, finite)
    assert space.supernet() == supernet
    assert space.input_shape(example) == input_shape


def assert_canonical_round_trip(space: Space, arch: str) -> None:
    """``arch`` is canonical: it maps to itself, also when padded with white space."""
    assert space.canonical(arch) == arch
    assert space.canonical(f"  {arch}\n") == arch


def assert_rejected(space: Space, arch: object, needles: Iterable[str]) -> str:
    """``canonical``, ``input_shape`` and ``to_model`` each raise ``InvalidArchError`` on
    ``arch`` with every one of ``needles`` in the message.

    Returns:
        The message ``canonical`` raised, for space-specific checks.
    """
    needles = list(needles)
    messages = []
    for call in (space.canonical, space.input_shape, space.to_model):
        with pytest.raises(InvalidArchError) as err:
            call(arch)
        messages.append(str(err.value))
        for needle in needles:
            assert needle in messages[-1], (call.__name__, needle)
    return messages[0]


def assert_sample_is_seeded_and_canonical(space: Space, n: int, *, seed: int) -> list[str]:
    """``sample`` is a function of the generator's seed (``seed`` and ``seed + 1`` differ),
    returns canonical archs, returns ``[]`` for ``n=0`` and rejects ``n`` of -1, 2.0, True.

    Returns:
        The ``n`` archs drawn with ``seed``, for checks of their spread.
    """
    drawn = space.sample(np.random.default_rng(seed), n)
    assert drawn == space.sample(np.random.default_rng(seed), n)
    assert drawn != space.sample(np.random.default_rng(seed + 1), n)
    assert all(space.canonical(a) == a for a in drawn)
    assert space.sample(np.random.default_rng(0), 0) == []
    for bad in (-1, 2.0, True):
        with pytest.raises(InvalidParameterError, match="'n' parameter"):
            space.sample(np.random.default_rng(0), bad)  # type: ignore[arg-type]
    return drawn


def assert_accepts_unchanged(space: Space, archs: Sequence[str], count: int) -> None:
    """There are ``count`` archs (e.g. a published table's), each already canonical."""
    assert len(archs) == count
    assert [space.canonical(a) for a in archs] == list(archs)


def _bytes_and_proto(model: Model) -> tuple[bytes, onnx.ModelProto]:
    if isinstance(model, bytes):
        return model, onnx.load_from_string(model)
    return model.SerializeToString(), model


def assert_runs_in_runtimes(model: Model, output_shape: tuple[int, ...]) -> None:
    """``model`` (weights included) is valid ONNX and runs in onnxruntime and MNN.

    Checks that ``onnx.checker.check_model(full_check=True)`` passes, that the
    first output declares ``output_shape``, that onnxruntime returns one output
    of that shape with only finite values, and that the MNN conversion runs
    and yields the same shape.
    """
    data, proto = _bytes_and_proto(model)
    onnx.checker.check_model(proto, full_check=True)
    assert runtimes.output_shape(proto) == output_shape
    (out,) = runtimes.run_onnxruntime(data)
    assert out.shape == output_shape and np.isfinite(out).all()
    assert runtimes.convert_and_run_mnn(data) == output_shape


def _randomize_(net: torch.nn.Module) -> None:
    """Give every float tensor distinct values, so the exporter shares no initializer.

    BatchNorm running variances are drawn from U(0.5, 1.5) (they must stay
    positive); every other float parameter or buffer from N(0, 1).
    """
    with torch.no_grad():
        for name, tensor in itertools.chain(net.named_parameters(), net.named_buffers()):
            if "running_var" in name:
                tensor.uniform_(0.5, 1.5)
            elif tensor.is_floating_point():
                tensor.normal_()


def export_twin(net: torch.nn.Module, input_shape: Sequence[int], *, seed: int = 0) -> bytes:
    """Export a PyTorch twin the way the space builders are checked against.

    Seeds torch with ``seed``, puts ``net`` in eval mode, randomises its
    parameters and buffers in place (see :func:`_randomize_`), and runs the
    legacy exporter at opset 17 with ``TrainingMode.PRESERVE`` so BatchNorm
    stays a node (no Conv+BN folding), its warnings silenced.

    Returns:
        The serialised ONNX model.
    """
    torch.manual_seed(seed)
    net.eval()
    _randomize_(net)
    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            net, (torch.randn(*input_shape),), buf, dynamo=False, opset_version=17,
            training=torch.onnx.TrainingMode.PRESERVE,
        )  # fmt: skip
    return buf.getvalue()


def assert_same_costs(
    a: Model | ModelGraph, b: Model | ModelGraph, rel: float = 0.01
) -> tuple[ModelGraph, ModelGraph]:
    """``a`` and ``b`` agree on macs, flops and params within ``rel``.

    Models (bytes or ``ModelProto``) are encoded first. The tolerance is taken
    relative to the smaller of the two values, so it is at least as strict as
    both ``abs(a - b) <= rel * max(a, b)`` and ``a == pytest.approx(b, rel=rel)``.

    Returns:
        The two encodes, for further checks.
    """
    ga = a if isinstance(a, ModelGraph) else encode(a)
    gb = b if isinstance(b, ModelGraph) else encode(b)
    for field in COST_FIELDS:
        x, y = getattr(ga, field), getattr(gb, field)
        assert abs(x - y) <= rel * min(abs(x), abs(y)), (field, x, y)
    return ga, gb


def assert_twin_has_same_costs(
    twin: bytes, model: onnx.ModelProto, output_shape: tuple[int, ...], rel: float = 0.01
) -> tuple[ModelGraph, ModelGraph]:
    """An exported twin matches the space's model in shape and costs.

    Both declare ``output_shape`` as their first output, the twin runs in
    onnxruntime with that output shape, and :func:`assert_same_costs` holds.

    Returns:
        ``(twin, ours)`` encodes, for space-specific exact checks.
    """
    assert runtimes.output_shape(onnx.load_from_string(twin)) == output_shape
    assert runtimes.output_shape(model) == output_shape
    assert runtimes.run_onnxruntime(twin)[0].shape == output_shape
    return assert_same_costs(twin, model, rel=rel)


def assert_weightless_matches(
    space: Space, arch: str, *, smaller_by: int, with_weights: bytes | None = None
) -> ModelGraph:
    """The weightless model encodes to the same totals as the weighted one, and is small.

    Compares macs, flops and params of ``space.to_model(arch)`` with those of
    the weighted model (``with_weights``, else ``space.to_onnx(arch,
    with_weights=True)``), requires macs and params to be positive, and the
    weightless serialisation to be under ``1 / smaller_by`` of the weighted
    one (compared in integers: ``size * smaller_by < weighted size``).

    Returns:
        The weightless encode.
    """
    light = space.to_model(arch)
    heavy = space.to_onnx(arch, with_weights=True) if with_weights is None else with_weights
    bare, full = encode(light), encode(heavy)
    assert (bare.macs, bare.flops, bare.params) == (full.macs, full.flops, full.params)
    assert bare.macs > 0 and bare.params > 0
    assert light.ByteSize() * smaller_by < len(heavy), (light.ByteSize(), len(heavy))
    return bare


def assert_supernet_has_the_most_costs(space: Space, others: Iterable[str]) -> None:
    """Every arch in ``others`` has strictly fewer macs and params than the supernet."""
    top = encode(space.to_model(space.supernet()))
    for arch in others:
        g = encode(space.to_model(arch))
        assert g.macs < top.macs and g.params < top.params, arch


def seeded_twin(
    make: Callable[[str], torch.nn.Module], arch: str, *, seed: int = 0
) -> torch.nn.Module:
    """``make(arch)`` built after seeding torch, in eval mode, with random BatchNorm tensors.

    The BatchNorm weight, bias, running mean and running variance are drawn
    from U(0.5, 1.5), so none are deduplicated on export; the other weights
    keep their (seeded) PyTorch initialisation, so outputs stay well scaled.
    """
    torch.manual_seed(seed)
    net = make(arch).eval()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            for t in (m.weight, m.bias, m.running_mean, m.running_var):
                t.data.uniform_(0.5, 1.5)
    return net


def assert_twin_weights_give_the_same_outputs(
    net: torch.nn.Module, model: onnx.ModelProto, input_shape: Sequence[int]
) -> None:
    """The twin's state and ``model``'s float initializers have the same shapes in the same
    order, and once the twin's values are copied into ``model`` both compute the same
    function (onnxruntime vs. PyTorch on one random input, rtol 1e-3, atol 1e-4 x max |out|).

    ``model`` is modified in place (its float initializers get the twin's values).
    """
    floats = [t for t in model.graph.initializer if t.data_type == onnx.TensorProto.FLOAT]
    state = [v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")]
    assert [tuple(t.dims) for t in floats] == [tuple(v.shape) for v in state]
    for tensor, value in zip(floats, state, strict=True):
        tensor.CopyFrom(numpy_helper.from_array(value.numpy(), tensor.name))
    x = np.random.default_rng(0).standard_normal(input_shape).astype(np.float32)
    import onnxruntime as ort

    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (ours,) = sess.run(None, {"input": x})
    with torch.no_grad():
        theirs = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-3, atol=1e-4 * np.abs(theirs).max())

"""HW-NAS-Bench's FBNet search space on CIFAR-100 (input 1×3×32×32, 100 classes).

A member picks one block for each of the 22 searchable layers. The arch string
is the 22 block names joined by ``'-'``, e.g. ``"k5_e6-skip-k3_e1_g2-…"``
(the spelling of HELP's and HW-NAS-Bench's ``fbnet`` tables).

Block ``kK_eE[_gG]``: Conv1×1 (groups G) to E·Cin, BN, ReLU; channel shuffle
when G > 1; depthwise K×K (stride s), BN, ReLU; Conv1×1 (groups G) to Cout, BN;
plus a residual when Cin == Cout and s == 1. Block ``skip`` is the identity, or
Conv1×1 (stride s) + BN + ReLU where the layer changes the shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from fewlat.exceptions import InvalidArchError
from fewlat.spaces._base import Space
from fewlat.spaces._onnx_builder import OnnxBuilder

__all__ = [
    "BLOCK_CHOICES",
    "INPUT_SHAPE",
    "NUM_LAYERS",
    "BlockSpec",
    "FBNetSpace",
    "LayerPlan",
    "block_spec",
    "layer_plan",
]

#: the block names a layer may take, in HW-NAS-Bench's order
BLOCK_CHOICES: tuple[str, ...] = (
    "k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip",
)  # fmt: skip
#: searchable layers per stage
STAGE_DEPTHS: tuple[int, ...] = (1, 4, 4, 4, 4, 4, 1)
#: output channels per stage
STAGE_CHANNELS: tuple[int, ...] = (16, 24, 32, 64, 112, 184, 352)
#: stride of the first layer of each stage (the others have stride 1)
STAGE_STRIDES: tuple[int, ...] = (1, 1, 2, 2, 1, 2, 1)
#: number of searchable layers
NUM_LAYERS: int = sum(STAGE_DEPTHS)
#: NCHW input shape (CIFAR-100, batch 1)
INPUT_SHAPE: tuple[int, int, int, int] = (1, 3, 32, 32)
STEM_CHANNELS = 16
HEAD_CHANNELS = 1504
NUM_CLASSES = 100


@dataclass(frozen=True)
class BlockSpec:
    """The hyperparameters of one non-skip block.

    Attributes:
        kernel: depthwise kernel size K.
        expansion: width multiplier E of the hidden (depthwise) channels.
        groups: groups G of both pointwise convolutions.
    """

    kernel: int
    expansion: int
    groups: int = 1


@dataclass(frozen=True)
class LayerPlan:
    """The fixed shape of one searchable layer: input/output channels and stride."""

    in_channels: int
    out_channels: int
    stride: int


def block_spec(name: str) -> BlockSpec | None:
    """Decode a block name such as ``"k5_e1_g2"``; ``None`` for ``"skip"``.

    Raises:
        InvalidArchError: ``name`` is not one of :data:`BLOCK_CHOICES`.
    """
    if name not in BLOCK_CHOICES:
        raise InvalidArchError(
            f"{name!r} is not an FBNet block; valid blocks: {', '.join(BLOCK_CHOICES)}."
        )
    if name == "skip":
        return None
    parts = name.split("_")
    groups = int(parts[2][1:]) if len(parts) == 3 else 1
    return BlockSpec(kernel=int(parts[0][1:]), expansion=int(parts[1][1:]), groups=groups)


def layer_plan() -> list[LayerPlan]:
    """The (in channels, out channels, stride) of the 22 layers, in order."""
    plan: list[LayerPlan] = []
    in_channels = STEM_CHANNELS
    for depth, out_channels, stride in zip(
        STAGE_DEPTHS, STAGE_CHANNELS, STAGE_STRIDES, strict=True
    ):
        for i in range(depth):
            plan.append(LayerPlan(in_channels, out_channels, stride if i == 0 else 1))
            in_channels = out_channels
    return plan


_PLAN: tuple[LayerPlan, ...] = tuple(layer_plan())


class FBNetSpace(Space):
    """HW-NAS-Bench's FBNet space: 9 block choices for each of 22 layers (9²² members).

    The supernet is all ``k5_e6``: at every layer that block has the most MACs
    and parameters of the nine choices, and the layers' shapes do not depend
    on the choices, so it is the largest member by FLOPs.
    """

    name = "fbnet"
    finite = False
    fixed_input_shape = INPUT_SHAPE

    def canonical(self, arch: str) -> str:
        """Validate ``arch`` and return it with surrounding whitespace removed.

        Raises:
            InvalidArchError: not a string of 22 block names joined by ``'-'``;
                the message names the bad layer and lists the valid blocks.
        """
        return "-".join(self._parse(arch))

    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        """Draw ``n`` archs, each layer uniform over :data:`BLOCK_CHOICES`."""
        self._check_n(n)
        picks = rng.integers(0, len(BLOCK_CHOICES), size=(n, NUM_LAYERS))
        return ["-".join(BLOCK_CHOICES[i] for i in row) for row in picks]

    def supernet(self) -> str:
        """All 22 layers ``k5_e6`` (the member with the most FLOPs and parameters)."""
        return "-".join(["k5_e6"] * NUM_LAYERS)

    def to_model(self, arch: str, *, with_weights: bool = False, seed: int = 0) -> onnx.ModelProto:
        """Build ``arch`` as an ONNX model with output ``(1, 100)``; see :meth:`Space.to_model`."""
        names = self._parse(arch)
        b = OnnxBuilder(f"fbnet_{'-'.join(names)}", with_weights=with_weights, seed=seed)
        x = b.input(INPUT_SHAPE)
        x = b.relu(b.bn(b.conv(x, STEM_CHANNELS, 3)))
        for name, plan in zip(names, _PLAN, strict=True):
            x = _layer(b, x, block_spec(name), plan)
        x = b.relu(b.bn(b.conv(x, HEAD_CHANNELS, 1)))
        x = b.flatten(b.global_avg_pool(x))
        b.output(b.gemm(x, NUM_CLASSES))
        return b.build()

    def _parse(self, arch: str) -> list[str]:
        if not isinstance(arch, str):
            raise InvalidArchError(
                f"An fbnet arch must be a str of {NUM_LAYERS} '-'-joined block names. "
                f"Got {type(arch).__name__} instead."
            )
        names = arch.strip().split("-")
        if len(names) != NUM_LAYERS:
            raise InvalidArchError(
                f"An fbnet arch has {NUM_LAYERS} '-'-joined block names; {arch!r} has "
                f"{len(names)}. Valid blocks: {', '.join(BLOCK_CHOICES)}."
            )
        for i, name in enumerate(names):
            if name not in BLOCK_CHOICES:
                raise InvalidArchError(
                    f"Layer {i} of fbnet arch {arch!r} is {name!r}, which is not a block. "
                    f"Valid blocks: {', '.join(BLOCK_CHOICES)}."
                )
        return names


def _layer(b: OnnxBuilder, x: str, spec: BlockSpec | None, plan: LayerPlan) -> str:
    """Append one searchable layer to ``b`` and return its output tensor."""
    same_shape = plan.in_channels == plan.out_channels and plan.stride == 1
    if spec is None:
        if same_shape:
            return x
        return b.relu(b.bn(b.conv(x, plan.out_channels, 1, stride=plan.stride)))
    hidden = plan.in_channels * spec.expansion
    y = b.relu(b.bn(b.conv(x, hidden, 1, groups=spec.groups)))
    if spec.groups > 1:
        y = b.channel_shuffle(y, spec.groups)
    y = b.relu(b.bn(b.conv(y, hidden, spec.kernel, stride=plan.stride, groups=hidden)))
    y = b.bn(b.conv(y, plan.out_channels, 1, groups=spec.groups))
    return b.add(y, x) if same_shape else y

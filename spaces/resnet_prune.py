"""Width- and depth-pruned ResNet-18 on CIFAR-10 (the lab log's pruned supernet).

Network (input 1×3×32×32, 10 classes): stem Conv3×3(3→64, no bias) + BN +
ReLU; four stages of two basic blocks with out channels ``(64, 128, 256, 512)``
and first-block strides ``(1, 2, 2, 2)``; global average pool; Linear(512→10).

A basic block with out channels ``C``, stride ``s`` and ratio ``r``:
Conv3×3(stride s, → round(r·C), at least 1) → BN → ReLU → Conv3×3(→ C) → BN,
plus the shortcut (identity, or Conv1×1(stride s) + BN when the shape changes),
then ReLU. Every conv is bias-free.

Arch strings: the eight block ratios, stage by stage, joined by ``-``. Each is
one of ``0.25``, ``0.5``, ``0.75``, ``1.0`` (the canonical spellings); the
second block of a stage may also be ``0``, which drops it. Other decimal
spellings of the same values are accepted (``1``, ``1.00``, ``.5``), e.g.
``1-1-.5-0-0.25-0-1-0``. The supernet is ``1.0-1.0-1.0-1.0-1.0-1.0-1.0-1.0``.

:meth:`ResNetPruneSpace.enumerate` order: :func:`itertools.product` over the
eight slots in string order, each running through its values in ascending
order (``0`` first for second blocks); the last slot changes fastest. The space
has 4⁴ · 5⁴ = 160,000 members.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from fractions import Fraction
from functools import lru_cache

import numpy as np
import onnx

from fewlat.exceptions import InvalidArchError
from fewlat.spaces._base import Space
from fewlat.spaces._onnx_builder import OnnxBuilder

__all__ = [
    "FIRST_BLOCK_RATIOS",
    "NUM_ARCHS",
    "SECOND_BLOCK_RATIOS",
    "STAGE_CHANNELS",
    "STAGE_STRIDES",
    "ResNetPruneSpace",
    "inner_channels",
]

#: out channels of each stage's blocks
STAGE_CHANNELS: tuple[int, ...] = (64, 128, 256, 512)
#: stride of each stage's first block (second blocks have stride 1)
STAGE_STRIDES: tuple[int, ...] = (1, 2, 2, 2)
#: canonical inner-width ratios of a stage's first block, ascending
FIRST_BLOCK_RATIOS: tuple[str, ...] = ("0.25", "0.5", "0.75", "1.0")
#: canonical values of a stage's second block, ascending; ``0`` drops the block
SECOND_BLOCK_RATIOS: tuple[str, ...] = ("0", *FIRST_BLOCK_RATIOS)
#: number of members of the space
NUM_ARCHS = (len(FIRST_BLOCK_RATIOS) * len(SECOND_BLOCK_RATIOS)) ** len(STAGE_CHANNELS)

_INPUT_SHAPE = (1, 3, 32, 32)
_STEM_CHANNELS = 64
_NUM_CLASSES = 10
_NUM_SLOTS = 2 * len(STAGE_CHANNELS)
_CHOICES = tuple(
    SECOND_BLOCK_RATIOS if slot % 2 else FIRST_BLOCK_RATIOS for slot in range(_NUM_SLOTS)
)
_BY_VALUE = {Fraction(v): v for v in SECOND_BLOCK_RATIOS}
_DECIMAL = re.compile(r"[0-9]+\.?[0-9]*|\.[0-9]+")


def _slot_name(slot: int) -> str:
    return f"block {slot + 1} (stage {slot // 2 + 1}, {'second' if slot % 2 else 'first'} block)"


@lru_cache(maxsize=4096)
def _parse(arch: str) -> tuple[str, ...]:
    """Return the eight canonical ratio strings of ``arch``.

    Raises:
        InvalidArchError: wrong number of values, a value that is not a decimal
            number, or a value outside its slot's choices.
    """
    parts = arch.strip().split("-")
    if len(parts) != _NUM_SLOTS:
        raise InvalidArchError(
            f"resnet_prune arch {arch!r} must be {_NUM_SLOTS} '-'-joined block ratios "
            f"(e.g. '1.0-0.5-0.75-0-0.25-1.0-1.0-0'); got {len(parts)} value(s)."
        )
    ratios = []
    for slot, part in enumerate(parts):
        token = part.strip()
        choices = _CHOICES[slot]
        canon = _BY_VALUE.get(Fraction(token)) if _DECIMAL.fullmatch(token) else None
        if canon not in choices:
            hint = " Only the second block of a stage may be 0 (dropped)." if canon == "0" else ""
            raise InvalidArchError(
                f"Bad value {part!r} for {_slot_name(slot)} in resnet_prune arch {arch!r}. "
                f"Valid values: {', '.join(choices)}.{hint}"
            )
        ratios.append(canon)
    return tuple(ratios)


class ResNetPruneSpace(Space):
    """Pruned ResNet-18 on CIFAR-10; see the module docstring for the format."""

    name = "resnet_prune"
    finite = True
    fixed_input_shape = _INPUT_SHAPE

    def canonical(self, arch: str) -> str:
        """Validate ``arch`` and return its canonical spelling.

        Raises:
            InvalidArchError: ``arch`` is not a str or not a member; the message
                names the offending block and lists its valid values.
        """
        if not isinstance(arch, str):
            raise InvalidArchError(f"resnet_prune arch must be a str, got {type(arch).__name__}.")
        return "-".join(_parse(arch))

    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        """Draw ``n`` members uniformly with replacement (each slot i.i.d. uniform)."""
        self._check_n(n)
        picks = np.stack([rng.integers(0, len(c), size=n) for c in _CHOICES], axis=1)
        return [
            "-".join(c[i] for c, i in zip(_CHOICES, row, strict=True)) for row in picks.tolist()
        ]

    def enumerate(self) -> Iterator[str]:
        """Yield all 160,000 members in the order the module docstring states."""
        for ratios in itertools.product(*_CHOICES):
            yield "-".join(ratios)

    def supernet(self) -> str:
        """Every block at ratio ``1.0``."""
        return "-".join(["1.0"] * _NUM_SLOTS)

    def to_model(self, arch: str, *, with_weights: bool = False, seed: int = 0) -> onnx.ModelProto:
        """Build ``arch`` as ONNX with output ``(1, 10)``; see :meth:`Space.to_model`.

        Raises:
            InvalidArchError: ``arch`` is not a member.
        """
        ratios = _parse(self.canonical(arch))
        b = OnnxBuilder(self.name, with_weights=with_weights, seed=seed)
        x = b.relu(b.bn(b.conv(b.input(_INPUT_SHAPE), _STEM_CHANNELS, 3)))
        for slot, ratio in enumerate(ratios):
            if ratio == "0":
                continue  # a dropped second block is the identity
            stage, second = divmod(slot, 2)
            stride = 1 if second else STAGE_STRIDES[stage]
            x = _basic_block(b, x, STAGE_CHANNELS[stage], stride, float(ratio))
        x = b.flatten(b.global_avg_pool(x))
        b.output(b.gemm(x, _NUM_CLASSES))
        return b.build()


def inner_channels(ratio: float, out_channels: int) -> int:
    """Width of a block's first conv: ``round(ratio * out_channels)``, at least 1."""
    return max(1, round(ratio * out_channels))


def _basic_block(b: OnnxBuilder, x: str, out_channels: int, stride: int, ratio: float) -> str:
    in_channels = b.shapes[x][1]
    y = b.relu(b.bn(b.conv(x, inner_channels(ratio, out_channels), 3, stride=stride)))
    y = b.bn(b.conv(y, out_channels, 3))
    if stride != 1 or in_channels != out_channels:
        x = b.bn(b.conv(x, out_channels, 1, stride=stride))
    return b.relu(b.add(y, x))

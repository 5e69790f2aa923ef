"""The ``zoo`` space: classic ImageNet families at a few widths and resolutions.

Arch strings are ``family:w=<width>:r=<resolution>``, e.g. ``resnet18:w=1.0:r=224``.
Every member takes a ``1×3×r×r`` input and ends in a 1000-class head. The
models are written in plain PyTorch (no torchvision) and exported with the
legacy TorchScript exporter at opset 17; at ``w=1.0, r=224`` each family has
its published parameter count exactly. BatchNorm stays a separate
``BatchNormalization`` node (see :mod:`fewlat.spaces._zoo_export` for why), and
weights are seeded random values drawn from a local generator. Weightless
exports are cached per member (they do not depend on the seed).

Grid (40 members; each family: every width × every resolution)::

    family              widths        resolutions   largest member
    resnet18            0.5, 1.0      160, 224      1.81 GMACs, 11.7M params
    resnet50            0.5, 1.0      160, 224      4.09 GMACs, 25.6M params
    mobilenet_v2        0.5, 1.0      160, 224      0.30 GMACs,  3.5M params
    mobilenet_v3_small  0.5, 1.0      160, 224      0.06 GMACs,  2.5M params
    mobilenet_v3_large  0.5, 1.0      160, 224      0.22 GMACs,  5.5M params
    efficientnet_b0     0.5, 1.0      160, 224      0.39 GMACs,  5.3M params
    squeezenet          0.5, 1.0      160, 224      0.35 GMACs,  1.2M params
    shufflenet_v2       0.5, 1.0      160, 224      0.14 GMACs,  2.3M params
    vgg11               0.25, 0.5     160, 224      1.93 GMACs, 34.3M params
    vit_tiny            0.5, 1.0      160, 224      1.25 GMACs,  5.7M params

What ``width`` scales:

- CNNs: every channel count, rounded to a multiple of 8 (MobileNetV2 keeps
  its 1280-wide last conv for widths below 1, as published). ShuffleNetV2
  uses the paper's per-width tables (0.5×: 48/96/192, 1.0×: 116/232/464).
- VGG-11 is the BatchNorm variant (``vgg11_bn``: BN trains at these widths and
  matches the other families' Conv → BatchNormalization pattern). Its conv
  widths and the 4096-wide hidden layers scale together, and it comes only at
  widths 0.25 and 0.5: the full VGG-11 is 7.6 GMACs and 133M parameters, too
  dear to measure on a small CPU. Its classifier flattens the ``r/32`` map
  directly, so the first Linear has ``C·(r/32)²`` inputs.
- ViT-Tiny (patch 16, depth 12, 3 heads, MLP 4×): the 192-wide embedding,
  rounded to a multiple of 24 so each head's width is a multiple of 8
  (0.5× → 96). Resolutions are multiples of 16.

The supernet (calibration anchor) is ``resnet50:w=1.0:r=224``, the member with
the most MACs. Anchoring on the largest member means every other member's
latency ratio to it is at most about 1, its own timing is long enough that
timer noise and launch overhead are small relative to it, and ResNet-50 is
the most widely benchmarked network, so its latency on a new board is easy to
sanity-check against published numbers.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import onnx

from fewlat.exceptions import InvalidArchError, invalid_parameter
from fewlat.spaces._base import Space

__all__ = ["GRID", "ZooArch", "ZooSpace"]

_WIDTHS = (0.5, 1.0)
_RESOLUTIONS = (160, 224)

#: family → (widths, resolutions), in the fixed family order of :meth:`ZooSpace.enumerate`
GRID: dict[str, tuple[tuple[float, ...], tuple[int, ...]]] = {
    "resnet18": (_WIDTHS, _RESOLUTIONS),
    "resnet50": (_WIDTHS, _RESOLUTIONS),
    "mobilenet_v2": (_WIDTHS, _RESOLUTIONS),
    "mobilenet_v3_small": (_WIDTHS, _RESOLUTIONS),
    "mobilenet_v3_large": (_WIDTHS, _RESOLUTIONS),
    "efficientnet_b0": (_WIDTHS, _RESOLUTIONS),
    "squeezenet": (_WIDTHS, _RESOLUTIONS),
    "shufflenet_v2": (_WIDTHS, _RESOLUTIONS),
    "vgg11": ((0.25, 0.5), _RESOLUTIONS),
    "vit_tiny": (_WIDTHS, _RESOLUTIONS),
}

_EXAMPLE = "resnet18:w=1.0:r=224"


class ZooArch(NamedTuple):
    """One parsed zoo member."""

    family: str
    #: channel (or embedding) multiplier
    width: float
    #: input side in pixels
    resolution: int

    @property
    def arch(self) -> str:
        """The canonical arch string, e.g. ``"resnet18:w=1.0:r=224"``."""
        return f"{self.family}:w={self.width!r}:r={self.resolution}"


class ZooSpace(Space):
    """Classic ImageNet families (ResNet, MobileNet, EfficientNet, ViT …) on a small grid.

    See the module docstring for the grid and what width scales.
    """

    name = "zoo"
    finite = True

    def parse(self, arch: str) -> ZooArch:
        """Parse and validate ``arch``.

        Accepts any case, surrounding spaces, ``-`` for ``_`` in the family,
        the ``w``/``r`` fields in either order and other numeric spellings of
        the same value (``w=1``, ``w=1.00``, ``r=224.0``).

        Raises:
            InvalidArchError: malformed string, unknown family, or a width or
                resolution outside the family's grid; the message lists the
                valid choices.
        """
        if not isinstance(arch, str):
            raise InvalidArchError(
                f"A zoo arch must be a string like {_EXAMPLE!r}. Got {arch!r} instead."
            )
        family, *fields = [part.strip() for part in arch.strip().lower().split(":")]
        family = family.replace("-", "_")
        if family not in GRID:
            raise InvalidArchError(
                f"Unknown zoo family {family!r} in {arch!r}. Valid families: {', '.join(GRID)}."
            )
        values = _fields(arch, fields)
        width, resolution = _number(arch, "w", values["w"]), _number(arch, "r", values["r"])
        widths, resolutions = GRID[family]
        if width not in widths or resolution not in resolutions:
            raise InvalidArchError(
                f"{arch!r} is not in the zoo grid: {family} comes at widths "
                f"{', '.join(map(repr, widths))} and resolutions "
                f"{', '.join(map(str, resolutions))}."
            )
        return ZooArch(family, float(width), int(resolution))

    def canonical(self, arch: str) -> str:
        """The canonical spelling of ``arch`` (see :meth:`parse` for what is accepted).

        Raises:
            InvalidArchError: ``arch`` is not a member; the message lists the valid choices.
        """
        return self.parse(arch).arch

    def enumerate(self) -> Iterator[str]:
        """Every member: families in :data:`GRID` order, then widths, then resolutions."""
        for family, (widths, resolutions) in GRID.items():
            for width in widths:
                for resolution in resolutions:
                    yield ZooArch(family, width, resolution).arch

    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        """Draw ``n`` members uniformly from the grid, with replacement.

        Raises:
            InvalidParameterError: ``n`` is not an int >= 0.
        """
        self._check_n(n)
        members = list(self.enumerate())
        return [members[i] for i in rng.integers(0, len(members), size=n)]

    def supernet(self) -> str:
        """``resnet50:w=1.0:r=224``: the member with the most MACs (4.09 G); see the module doc."""
        return ZooArch("resnet50", 1.0, 224).arch

    def input_shape(self, arch: str) -> tuple[int, ...]:
        """``(1, 3, r, r)`` for ``arch``.

        Raises:
            InvalidArchError: ``arch`` is not a member.
        """
        resolution = self.parse(arch).resolution
        return (1, 3, resolution, resolution)

    def to_model(self, arch: str, *, with_weights: bool = False, seed: int = 0) -> onnx.ModelProto:
        """Build ``arch`` in PyTorch and export it to ONNX (opset 17) in memory.

        Args:
            arch: any accepted spelling of a member.
            with_weights: keep the seeded random weights so runtimes can run the
                model; otherwise every FLOAT initializer keeps only its name and
                dims (integer shape operands keep their values) (default: :obj:`False`).
            seed: seed of the random weights; the global torch RNG is not
                touched (default: :obj:`0`).

        Raises:
            InvalidArchError: ``arch`` is not a member.
            InvalidParameterError: ``seed`` is not an int >= 0.
        """
        member = self.parse(arch)
        if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
            raise invalid_parameter("seed", "ZooSpace.to_model", "an int >= 0", seed)
        if with_weights:
            return _export(member, seed)
        return onnx.load_from_string(_weightless_bytes(member))


def _export(member: ZooArch, seed: int) -> onnx.ModelProto:
    """Build ``member`` with seeded weights and export it (imports torch on first use)."""
    from fewlat.spaces._zoo_export import export_member

    return export_member(member, seed=seed)


@functools.cache
def _weightless_bytes(member: ZooArch) -> bytes:
    """The weightless export of ``member``, cached: it is small and the same for every seed."""
    from fewlat.spaces._zoo_export import strip_float_data

    return strip_float_data(_export(member, seed=0)).SerializeToString()


def _fields(arch: str, fields: list[str]) -> dict[str, str]:
    """Split ``["w=1.0", "r=224"]`` into ``{"w": "1.0", "r": "224"}``; both keys, once each."""
    values: dict[str, str] = {}
    for field in fields:
        key, sep, value = (s.strip() for s in field.partition("="))
        if not sep or key not in ("w", "r") or key in values:
            raise InvalidArchError(
                f"Malformed zoo arch {arch!r}: expected 'family:w=<width>:r=<resolution>' "
                f"with each of w and r once, e.g. {_EXAMPLE!r}."
            )
        values[key] = value
    if len(values) != 2:
        raise InvalidArchError(
            f"Malformed zoo arch {arch!r}: both w=<width> and r=<resolution> are required, "
            f"e.g. {_EXAMPLE!r}."
        )
    return values


def _number(arch: str, key: str, text: str) -> float:
    """Parse a finite number; for ``r`` it must also be integral."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or (key == "r" and not value.is_integer()):
        kind = "an integer resolution" if key == "r" else "a number"
        raise InvalidArchError(f"In zoo arch {arch!r}, {key}={text!r} is not {kind}.")
    return value

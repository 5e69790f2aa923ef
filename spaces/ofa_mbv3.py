"""Once-for-All MobileNetV3 (width 1.2) search space on ImageNet (input 1×3×r×r).

The canonical arch string is ``ks=<20 ints>:e=<20 ints>:d=<5 ints>:r=<int>``
with the ints of each field joined by ``'-'``, e.g.
``ks=7-5-…:e=6-4-…:d=2-2-2-2-3:r=204``. It is what HELP's ``ofa/archs.csv``
columns ``ks,e,d,r`` give when joined as ``col=value`` with ``':'``.

Only the first ``d[i]`` of the four slots of stage ``i`` are built; the other
slots are still validated and kept in the string as given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from fewlat.exceptions import InvalidArchError
from fewlat.spaces._base import Space
from fewlat.spaces._onnx_builder import OnnxBuilder

__all__ = [
    "DEPTH_CHOICES",
    "EXPAND_CHOICES",
    "KERNEL_CHOICES",
    "RESOLUTIONS",
    "OFAArch",
    "OFAMobileNetV3Space",
    "make_divisible",
    "parse_arch",
]

KERNEL_CHOICES: tuple[int, ...] = (3, 5, 7)
EXPAND_CHOICES: tuple[int, ...] = (3, 4, 6)
DEPTH_CHOICES: tuple[int, ...] = (2, 3, 4)
#: the 25 input resolutions (pixels) HELP measured; :meth:`sample` draws from these
RESOLUTIONS: tuple[int, ...] = tuple(range(128, 225, 4))
#: accepted resolutions: multiples of ``RESOLUTION_STEP`` in [MIN, MAX] (pixels)
MIN_RESOLUTION, MAX_RESOLUTION, RESOLUTION_STEP = 128, 224, 4
NUM_STAGES = 5
MAX_DEPTH = 4
NUM_SLOTS = NUM_STAGES * MAX_DEPTH
WIDTH_MULT = 1.2
#: OFA's base widths: stem, first block, 5 stages, final expand, feature mix
BASE_WIDTHS: tuple[int, ...] = (16, 16, 24, 40, 80, 112, 160, 960, 1280)
STAGE_STRIDES: tuple[int, ...] = (2, 2, 2, 1, 2)
STAGE_ACTS: tuple[str, ...] = ("relu", "relu", "h_swish", "h_swish", "h_swish")
STAGE_SE: tuple[bool, ...] = (False, True, False, True, True)
SE_REDUCTION = 4
NUM_CLASSES = 1000


def make_divisible(value: float, divisor: int = 8) -> int:
    """OFA's channel rounding: nearest multiple of ``divisor``, never below 90% of ``value``."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


#: widths after ×1.2 and rounding: stem, first block, stages 1–5, final expand, feature mix
WIDTHS: tuple[int, ...] = tuple(make_divisible(w * WIDTH_MULT) for w in BASE_WIDTHS)


@dataclass(frozen=True)
class OFAArch:
    """A parsed OFA MobileNetV3 arch.

    Attributes:
        ks: depthwise kernel size of each of the 20 slots.
        e: expand ratio of each of the 20 slots.
        d: active blocks of each of the 5 stages.
        r: input resolution in pixels.
    """

    ks: tuple[int, ...]
    e: tuple[int, ...]
    d: tuple[int, ...]
    r: int

    def __str__(self) -> str:
        def join(values: tuple[int, ...]) -> str:
            return "-".join(map(str, values))

        return f"ks={join(self.ks)}:e={join(self.e)}:d={join(self.d)}:r={self.r}"


_FIELDS = ("ks", "e", "d", "r")
_FORMAT = "ks=<20 ints>:e=<20 ints>:d=<5 ints>:r=<int>"


def parse_arch(arch: str) -> OFAArch:
    """Parse and validate an arch string; the fields may come in any order.

    Raises:
        InvalidArchError: a field is missing, repeated, unknown, has the wrong
            number of values, or holds a value outside its accepted set; the
            message names the field and lists the accepted values.
    """
    if not isinstance(arch, str):
        raise InvalidArchError(
            f"An ofa_mbv3 arch must be a str {_FORMAT!r}. Got {type(arch).__name__} instead."
        )
    fields: dict[str, str] = {}
    for part in arch.strip().split(":"):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in _FIELDS or key in fields:
            problem = "repeats" if key in fields else "has a bad part"
            raise InvalidArchError(
                f"ofa_mbv3 arch {arch!r} {problem} {part!r}; expected {_FORMAT!r}."
            )
        fields[key] = value.strip()
    missing = [k for k in _FIELDS if k not in fields]
    if missing:
        raise InvalidArchError(
            f"ofa_mbv3 arch {arch!r} lacks {', '.join(missing)}; expected {_FORMAT!r}."
        )
    ks = _ints(arch, "ks", fields["ks"], NUM_SLOTS, KERNEL_CHOICES)
    e = _ints(arch, "e", fields["e"], NUM_SLOTS, EXPAND_CHOICES)
    d = _ints(arch, "d", fields["d"], NUM_STAGES, DEPTH_CHOICES)
    (r,) = _ints(arch, "r", fields["r"], 1, RESOLUTIONS)
    return OFAArch(ks, e, d, r)


def _ints(arch: str, key: str, text: str, count: int, accepted: tuple[int, ...]) -> tuple[int, ...]:
    """Parse ``count`` '-'-joined ints of field ``key``, each one of ``accepted``."""
    valid = (
        f"multiples of {RESOLUTION_STEP} in [{MIN_RESOLUTION}, {MAX_RESOLUTION}]"
        if key == "r"
        else ", ".join(map(str, accepted))
    )
    parts = text.split("-")
    if len(parts) != count:
        raise InvalidArchError(
            f"Field {key!r} of ofa_mbv3 arch {arch!r} needs {count} '-'-joined ints; "
            f"got {len(parts)} in {text!r}. Accepted values: {valid}."
        )
    values = []
    for i, part in enumerate(parts):
        value = int(part) if part.isascii() and part.isdigit() else None
        if value not in accepted:
            where = f"Field {key!r}" if count == 1 else f"Slot {i} of field {key!r}"
            raise InvalidArchError(
                f"{where} of ofa_mbv3 arch {arch!r} is {part!r}. Accepted values: {valid}."
            )
        values.append(value)
    return tuple(values)


class OFAMobileNetV3Space(Space):
    """OFA MobileNetV3 w1.2: kernel, expand ratio and depth per block, plus resolution."""

    name = "ofa_mbv3"
    aliases = ("ofa",)
    finite = False

    def canonical(self, arch: str) -> str:
        """Validate ``arch`` and spell it ``ks=…:e=…:d=…:r=…``.

        Raises:
            InvalidArchError: see :func:`parse_arch`.
        """
        return str(parse_arch(arch))

    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        """Draw ``n`` archs: ks, e, d uniform per slot/stage, r uniform over :data:`RESOLUTIONS`."""
        self._check_n(n)
        out = []
        for _ in range(n):
            ks = rng.choice(KERNEL_CHOICES, size=NUM_SLOTS)
            e = rng.choice(EXPAND_CHOICES, size=NUM_SLOTS)
            d = rng.choice(DEPTH_CHOICES, size=NUM_STAGES)
            r = rng.choice(RESOLUTIONS)
            out.append(str(OFAArch(tuple(map(int, ks)), tuple(map(int, e)),
                                   tuple(map(int, d)), int(r))))  # fmt: skip
        return out

    def supernet(self) -> str:
        """ks all 7, e all 6, d all 4, r = 224."""
        return str(OFAArch((7,) * NUM_SLOTS, (6,) * NUM_SLOTS, (4,) * NUM_STAGES, 224))

    def input_shape(self, arch: str) -> tuple[int, ...]:
        """``(1, 3, r, r)``.

        Raises:
            InvalidArchError: see :func:`parse_arch`.
        """
        r = parse_arch(arch).r
        return (1, 3, r, r)

    def to_model(self, arch: str, *, with_weights: bool = False, seed: int = 0) -> onnx.ModelProto:
        """Build ``arch`` as an ONNX model with output ``(1, 1000)``; see :meth:`Space.to_model`."""
        a = parse_arch(arch)
        b = OnnxBuilder("ofa_mbv3", with_weights=with_weights, seed=seed)
        stem, first, *stages = WIDTHS[:7]
        final_expand, feature_mix = WIDTHS[7:]
        x = b.input((1, 3, a.r, a.r))
        x = b.hard_swish(b.bn(b.conv(x, stem, 3, stride=2)))
        x = _mbconv(b, x, first, kernel=3, expand=1, stride=1, act="relu", se=False)
        for i, width in enumerate(stages):
            for j in range(a.d[i]):
                slot = i * MAX_DEPTH + j
                x = _mbconv(
                    b, x, width, kernel=a.ks[slot], expand=a.e[slot],
                    stride=STAGE_STRIDES[i] if j == 0 else 1, act=STAGE_ACTS[i], se=STAGE_SE[i],
                )  # fmt: skip
        x = b.hard_swish(b.bn(b.conv(x, final_expand, 1)))
        x = b.global_avg_pool(x)
        x = b.hard_swish(b.conv(x, feature_mix, 1))  # OFA: no BN, no bias
        b.output(b.gemm(b.flatten(x), NUM_CLASSES))
        return b.build()


def _mbconv(
    b: OnnxBuilder, x: str, out_channels: int, *, kernel: int, expand: int, stride: int,
    act: str, se: bool,
) -> str:  # fmt: skip
    """Append one MBConv block and return its output tensor."""
    in_channels = b.shapes[x][1]
    y = x
    if expand != 1:
        y = b.act(b.bn(b.conv(y, make_divisible(in_channels * expand), 1)), act)
    mid = b.shapes[y][1]
    y = b.act(b.bn(b.conv(y, mid, kernel, stride=stride, groups=mid)), act)
    if se:
        y = _squeeze_excite(b, y)
    y = b.bn(b.conv(y, out_channels, 1))
    if stride == 1 and in_channels == out_channels:
        y = b.add(y, x)
    return y


def _squeeze_excite(b: OnnxBuilder, x: str) -> str:
    """OFA's SE: GAP → 1×1 (bias) → ReLU → 1×1 (bias) → h_sigmoid → multiply."""
    channels = b.shapes[x][1]
    s = b.global_avg_pool(x)
    s = b.relu(b.conv(s, make_divisible(channels / SE_REDUCTION), 1, bias=True))
    s = b.hard_sigmoid(b.conv(s, channels, 1, bias=True))
    return b.mul(x, s)

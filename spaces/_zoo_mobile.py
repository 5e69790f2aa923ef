"""Inverted-residual families of the zoo: MobileNetV2, MobileNetV3-Small/Large, EfficientNet-B0.

The layer tables follow the papers (and torchvision's layout, so ``width=1.0``
at 224×224 has the published parameter count). ``width`` scales every
channel count, rounded to a multiple of 8 as these families do. Dropout and
stochastic depth are omitted: both are the identity at inference.
"""

from __future__ import annotations

import torch
from torch import nn

from fewlat.spaces._zoo_layers import (
    ConvBNAct,
    SqueezeExcite,
    activation,
    make_divisible,
    scale_channels,
)

__all__ = ["efficientnet_b0", "mobilenet_v2", "mobilenet_v3"]

_NUM_CLASSES = 1000


class _InvertedResidual(nn.Module):
    """1×1 expand (skipped when ``exp_ch == in_ch``) → depthwise k×k → [SE] → 1×1 project.

    The residual is added when ``stride == 1`` and ``in_ch == out_ch``.
    """

    def __init__(
        self,
        in_ch: int,
        exp_ch: int,
        out_ch: int,
        kernel: int,
        stride: int,
        act: str,
        se: nn.Module | None = None,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        if exp_ch != in_ch:
            layers.append(ConvBNAct(in_ch, exp_ch, 1, act=act))
        layers.append(ConvBNAct(exp_ch, exp_ch, kernel, stride, groups=exp_ch, act=act))
        if se is not None:
            layers.append(se)
        layers.append(ConvBNAct(exp_ch, out_ch, 1, act=None))
        self.body = nn.Sequential(*layers)
        self.residual = stride == 1 and in_ch == out_ch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        return x + out if self.residual else out


def _head(in_ch: int) -> list[nn.Module]:
    return [nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(in_ch, _NUM_CLASSES)]


#: MobileNetV2 stages: (expansion t, out channels c, repeats n, first stride s)
_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
              (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))  # fmt: skip


def mobilenet_v2(width: float) -> nn.Sequential:
    """MobileNetV2 (ReLU6). The 1280-wide last conv only grows with ``width`` > 1.

    Args:
        width: channel multiplier.
    """
    in_ch = scale_channels(32, width)
    layers: list[nn.Module] = [ConvBNAct(3, in_ch, 3, 2, act="relu6")]
    for t, c, n, s in _V2_STAGES:
        out_ch = scale_channels(c, width)
        for i in range(n):
            exp_ch = round(in_ch * t)
            layers.append(_InvertedResidual(in_ch, exp_ch, out_ch, 3, s if i == 0 else 1, "relu6"))
            in_ch = out_ch
    last = scale_channels(1280, max(1.0, width))
    layers += [ConvBNAct(in_ch, last, 1, act="relu6"), *_head(last)]
    return nn.Sequential(*layers)


#: MobileNetV3 blocks: (kernel, expanded ch, out ch, squeeze-excite, activation, stride)
_V3_LARGE = (
    (3, 16, 16, False, "relu", 1), (3, 64, 24, False, "relu", 2),
    (3, 72, 24, False, "relu", 1), (5, 72, 40, True, "relu", 2),
    (5, 120, 40, True, "relu", 1), (5, 120, 40, True, "relu", 1),
    (3, 240, 80, False, "hswish", 2), (3, 200, 80, False, "hswish", 1),
    (3, 184, 80, False, "hswish", 1), (3, 184, 80, False, "hswish", 1),
    (3, 480, 112, True, "hswish", 1), (3, 672, 112, True, "hswish", 1),
    (5, 672, 160, True, "hswish", 2), (5, 960, 160, True, "hswish", 1),
    (5, 960, 160, True, "hswish", 1),
)  # fmt: skip
_V3_SMALL = (
    (3, 16, 16, True, "relu", 2), (3, 72, 24, False, "relu", 2),
    (3, 88, 24, False, "relu", 1), (5, 96, 40, True, "hswish", 2),
    (5, 240, 40, True, "hswish", 1), (5, 240, 40, True, "hswish", 1),
    (5, 120, 48, True, "hswish", 1), (5, 144, 48, True, "hswish", 1),
    (5, 288, 96, True, "hswish", 2), (5, 576, 96, True, "hswish", 1),
    (5, 576, 96, True, "hswish", 1),
)  # fmt: skip


def mobilenet_v3(size: str, width: float) -> nn.Sequential:
    """MobileNetV3-Large (``size="large"``) or -Small (``size="small"``).

    SE squeezes to ``make_divisible(expanded/4)`` with ReLU and a hard-sigmoid
    gate; the classifier is Linear → h-swish → Linear with a hidden width of
    1280 (large) or 1024 (small), scaled by ``width``.

    Args:
        size: "large" or "small".
        width: channel multiplier.

    Raises:
        KeyError: ``size`` is not "large" or "small" (a builder bug, never user input).
    """
    table, hidden = {"large": (_V3_LARGE, 1280), "small": (_V3_SMALL, 1024)}[size]
    in_ch = scale_channels(16, width)
    layers: list[nn.Module] = [ConvBNAct(3, in_ch, 3, 2, act="hswish")]
    for kernel, exp, out, use_se, act, stride in table:
        exp_ch, out_ch = scale_channels(exp, width), scale_channels(out, width)
        se = SqueezeExcite(exp_ch, make_divisible(exp_ch // 4)) if use_se else None
        layers.append(_InvertedResidual(in_ch, exp_ch, out_ch, kernel, stride, act, se))
        in_ch = out_ch
    last_conv, hidden = 6 * in_ch, scale_channels(hidden, width)
    layers += [
        ConvBNAct(in_ch, last_conv, 1, act="hswish"),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(1),
        nn.Linear(last_conv, hidden),
        activation("hswish"),
        nn.Linear(hidden, _NUM_CLASSES),
    ]
    return nn.Sequential(*layers)


#: EfficientNet-B0 stages: (expansion, kernel, first stride, out channels, repeats)
_B0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
              (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))  # fmt: skip


def efficientnet_b0(width: float) -> nn.Sequential:
    """EfficientNet-B0 (SiLU; SE squeezes to a quarter of the block's input, sigmoid gate).

    Args:
        width: channel multiplier (depth stays B0's; the head is 4× the last stage).
    """
    in_ch = scale_channels(32, width)
    layers: list[nn.Module] = [ConvBNAct(3, in_ch, 3, 2, act="silu")]
    for expand, kernel, stride, out, repeats in _B0_STAGES:
        out_ch = scale_channels(out, width)
        for i in range(repeats):
            exp_ch = scale_channels(in_ch, expand)
            se = SqueezeExcite(exp_ch, max(1, in_ch // 4), act="silu", gate="sigmoid")
            s = stride if i == 0 else 1
            layers.append(_InvertedResidual(in_ch, exp_ch, out_ch, kernel, s, "silu", se))
            in_ch = out_ch
    layers += [ConvBNAct(in_ch, 4 * in_ch, 1, act="silu"), *_head(4 * in_ch)]
    return nn.Sequential(*layers)

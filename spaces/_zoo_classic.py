"""Classic CNN families of the zoo: ResNet-18/50, VGG-11 (with BN) and SqueezeNet 1.1.

Each builder follows the published architecture (torchvision's layer layout,
so ``width=1.0`` at 224×224 has the published parameter count) and scales
every channel count by ``width`` rounded to a multiple of 8.
"""

from __future__ import annotations

import torch
from torch import nn

from fewlat.spaces._zoo_layers import ConvBNAct, scale_channels

__all__ = ["resnet", "squeezenet", "vgg11"]

_NUM_CLASSES = 1000


class _Residual(nn.Module):
    """``relu(body(x) + shortcut(x))``: the ResNet block wrapper."""

    def __init__(self, body: nn.Module, shortcut: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


def _basic(in_ch: int, mid_ch: int, stride: int) -> tuple[nn.Module, int]:
    """ResNet basic block (two 3×3 ConvBN) and its output channels."""
    body = nn.Sequential(
        ConvBNAct(in_ch, mid_ch, 3, stride), ConvBNAct(mid_ch, mid_ch, 3, act=None)
    )
    return _Residual(body, _shortcut(in_ch, mid_ch, stride)), mid_ch


def _bottleneck(in_ch: int, mid_ch: int, stride: int) -> tuple[nn.Module, int]:
    """ResNet v1.5 bottleneck (1×1 → 3×3 with the stride → 1×1 expanding 4×)."""
    out_ch = 4 * mid_ch
    body = nn.Sequential(
        ConvBNAct(in_ch, mid_ch, 1),
        ConvBNAct(mid_ch, mid_ch, 3, stride),
        ConvBNAct(mid_ch, out_ch, 1, act=None),
    )
    return _Residual(body, _shortcut(in_ch, out_ch, stride)), out_ch


def _shortcut(in_ch: int, out_ch: int, stride: int) -> nn.Module:
    """Identity, or a strided 1×1 ConvBN when the block changes the shape."""
    if stride == 1 and in_ch == out_ch:
        return nn.Identity()
    return ConvBNAct(in_ch, out_ch, 1, stride, act=None)


def resnet(depth: int, width: float) -> nn.Sequential:
    """ResNet-18 (``depth=18``) or ResNet-50 (``depth=50``) with an ImageNet head.

    Args:
        depth: 18 (basic blocks [2,2,2,2]) or 50 (bottlenecks [3,4,6,3]).
        width: multiplier of the stem and stage widths [64, 128, 256, 512].

    Raises:
        KeyError: ``depth`` is not 18 or 50 (a builder bug, never user input).
    """
    block, counts = {18: (_basic, (2, 2, 2, 2)), 50: (_bottleneck, (3, 4, 6, 3))}[depth]
    stem = scale_channels(64, width)
    layers: list[nn.Module] = [ConvBNAct(3, stem, 7, 2), nn.MaxPool2d(3, 2, 1)]
    in_ch = stem
    for stage, count in enumerate(counts):
        mid_ch = scale_channels(64 * 2**stage, width)
        for i in range(count):
            module, in_ch = block(in_ch, mid_ch, 2 if stage > 0 and i == 0 else 1)
            layers.append(module)
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(in_ch, _NUM_CLASSES)]
    return nn.Sequential(*layers)


#: VGG-11 ("configuration A"): conv widths, "M" = 2×2 max pool
_VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")


def vgg11(width: float, resolution: int) -> nn.Sequential:
    """VGG-11 with BatchNorm after every conv (torchvision's ``vgg11_bn`` layout).

    The classifier flattens the final ``resolution/32`` square map directly
    (no adaptive pool), so its first Linear has ``C·(r/32)²`` inputs: at
    224 this is the published 512·7·7; at other resolutions it is what a
    fixed-input VGG would have. Dropout is omitted (identity at inference).

    Args:
        width: multiplier of the conv widths and of the 4096-wide hidden layers.
        resolution: input side in pixels, a multiple of 32.
    """
    layers: list[nn.Module] = []
    in_ch = 3
    for item in _VGG11:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            out_ch = scale_channels(int(item), width)
            # conv keeps its bias as in the published vgg11_bn (132.87M parameters)
            layers += [nn.Conv2d(in_ch, out_ch, 3, padding=1), nn.BatchNorm2d(out_ch), nn.ReLU()]
            in_ch = out_ch
    hidden = scale_channels(4096, width)
    side = resolution // 32
    layers += [
        nn.Flatten(1),
        nn.Linear(in_ch * side * side, hidden),
        nn.ReLU(),
        nn.Linear(hidden, hidden),
        nn.ReLU(),
        nn.Linear(hidden, _NUM_CLASSES),
    ]
    return nn.Sequential(*layers)


class _Fire(nn.Module):
    """SqueezeNet fire module: 1×1 squeeze, then parallel 1×1 and 3×3 expands, concatenated."""

    def __init__(self, in_ch: int, squeeze: int, expand: int) -> None:
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(in_ch, squeeze, 1), nn.ReLU())
        self.expand1 = nn.Sequential(nn.Conv2d(squeeze, expand, 1), nn.ReLU())
        self.expand3 = nn.Sequential(nn.Conv2d(squeeze, expand, 3, padding=1), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.squeeze(x)
        return torch.cat([self.expand1(s), self.expand3(s)], dim=1)


def squeezenet(width: float) -> nn.Sequential:
    """SqueezeNet 1.1 (no BatchNorm; convs carry biases; ceil-mode max pools).

    Dropout is omitted (identity at inference).

    Args:
        width: multiplier of the stem and every fire module's widths.
    """
    stem = scale_channels(64, width)
    layers: list[nn.Module] = [nn.Conv2d(3, stem, 3, stride=2), nn.ReLU()]
    in_ch = stem
    for item in ("M", 16, 16, "M", 32, 32, "M", 48, 48, 64, 64):
        if item == "M":
            layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
            continue
        squeeze, expand = scale_channels(int(item), width), scale_channels(4 * int(item), width)
        layers.append(_Fire(in_ch, squeeze, expand))
        in_ch = 2 * expand
    layers += [
        nn.Conv2d(in_ch, _NUM_CLASSES, 1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(1),
    ]
    return nn.Sequential(*layers)

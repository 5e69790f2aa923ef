"""ShuffleNetV2 for the zoo (torchvision's layout; no torchvision).

Its widths are not a plain multiple of one base: the paper publishes one
stage-width table per multiplier, and :data:`STAGE_WIDTHS` holds those.
Channel split and shuffle use static sizes, so the export has ``Split`` and
``Reshape``/``Transpose``/``Reshape`` with constant shapes and no ``Shape`` ops.
"""

from __future__ import annotations

import torch
from torch import nn

from fewlat.spaces._zoo_layers import ConvBNAct

__all__ = ["STAGE_WIDTHS", "shufflenet_v2"]

#: width multiplier → output channels of (stem, stage 2, stage 3, stage 4, conv5)
STAGE_WIDTHS: dict[float, tuple[int, int, int, int, int]] = {
    0.5: (24, 48, 96, 192, 1024),
    1.0: (24, 116, 232, 464, 1024),
    1.5: (24, 176, 352, 704, 1024),
    2.0: (24, 244, 488, 976, 2048),
}
_REPEATS = (4, 8, 4)
_NUM_CLASSES = 1000


class _ShuffleUnit(nn.Module):
    """ShuffleNetV2 unit; ``stride=2`` runs both branches on the full input.

    With ``stride=1`` the input is split in two halves: the first passes
    through, the second goes through 1×1 → depthwise 3×3 → 1×1. The halves are
    concatenated and shuffled in two groups.
    """

    def __init__(self, in_ch: int, out_ch: int, stride: int) -> None:
        super().__init__()
        half = out_ch // 2
        self.stride = stride
        self.half = half
        self.out_ch = out_ch
        self.branch1: nn.Module = nn.Identity()
        if stride == 2:
            self.branch1 = nn.Sequential(
                ConvBNAct(in_ch, in_ch, 3, 2, groups=in_ch, act=None), ConvBNAct(in_ch, half, 1)
            )
        branch_in = in_ch if stride == 2 else half
        self.branch2 = nn.Sequential(
            ConvBNAct(branch_in, half, 1),
            ConvBNAct(half, half, 3, stride, groups=half, act=None),
            ConvBNAct(half, half, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            left, right = x.split(self.half, dim=1)
            out = torch.cat([left, self.branch2(right)], dim=1)
        else:
            out = torch.cat([self.branch1(x), self.branch2(x)], dim=1)
        _, _, height, width = out.shape  # static under tracing: constant Reshape targets
        out = out.reshape(-1, 2, self.half, height, width).transpose(1, 2)
        return out.reshape(-1, self.out_ch, height, width)


def shufflenet_v2(width: float) -> nn.Sequential:
    """ShuffleNetV2 with an ImageNet head.

    Args:
        width: one of the multipliers in :data:`STAGE_WIDTHS`.

    Raises:
        KeyError: ``width`` has no published table (a grid bug, never user input).
    """
    stem, *stages, conv5 = STAGE_WIDTHS[width]
    layers: list[nn.Module] = [ConvBNAct(3, stem, 3, 2), nn.MaxPool2d(3, 2, 1)]
    in_ch = stem
    for out_ch, repeats in zip(stages, _REPEATS, strict=True):
        for i in range(repeats):
            layers.append(_ShuffleUnit(in_ch, out_ch, 2 if i == 0 else 1))
            in_ch = out_ch
    layers += [
        ConvBNAct(in_ch, conv5, 1),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(1),
        nn.Linear(conv5, _NUM_CLASSES),
    ]
    return nn.Sequential(*layers)

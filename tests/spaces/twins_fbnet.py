"""An independent PyTorch twin of :class:`fewlat.spaces.fbnet.FBNetSpace` models.

Written from DESIGN.md §8 without the space's code, so that exporting it with
``torch.onnx.export`` cross-checks the hand-built ONNX graph.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["FBNetTwin"]

_DEPTHS = [1, 4, 4, 4, 4, 4, 1]
_WIDTHS = [16, 24, 32, 64, 112, 184, 352]
_STRIDES = [1, 1, 2, 2, 1, 2, 1]


def _conv_bn(cin: int, cout: int, k: int, stride: int = 1, groups: int = 1, relu: bool = True):
    layers: list[nn.Module] = [
        nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]
    if relu:
        layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class _Shuffle(nn.Module):
    def __init__(self, groups: int) -> None:
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class _Layer(nn.Module):
    def __init__(self, name: str, cin: int, cout: int, stride: int) -> None:
        super().__init__()
        self.residual = cin == cout and stride == 1
        if name == "skip":
            self.body = nn.Identity() if self.residual else _conv_bn(cin, cout, 1, stride)
            self.residual = False
            return
        fields = name.split("_")
        k, e = int(fields[0][1:]), int(fields[1][1:])
        g = int(fields[2][1:]) if len(fields) > 2 else 1
        mid = cin * e
        self.body = nn.Sequential(
            _conv_bn(cin, mid, 1, groups=g),
            _Shuffle(g) if g > 1 else nn.Identity(),
            _conv_bn(mid, mid, k, stride, groups=mid),
            _conv_bn(mid, cout, 1, groups=g, relu=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return y + x if self.residual else y


class FBNetTwin(nn.Module):
    """FBNet (CIFAR-100) for one arch string of 22 '-'-joined block names."""

    def __init__(self, arch: str) -> None:
        super().__init__()
        names = iter(arch.split("-"))
        layers: list[nn.Module] = [_conv_bn(3, 16, 3)]
        cin = 16
        for depth, cout, stride in zip(_DEPTHS, _WIDTHS, _STRIDES, strict=True):
            for i in range(depth):
                layers.append(_Layer(next(names), cin, cout, stride if i == 0 else 1))
                cin = cout
        layers += [_conv_bn(cin, 1504, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(1504, 100)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

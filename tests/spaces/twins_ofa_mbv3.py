"""An independent PyTorch twin of :class:`fewlat.spaces.ofa_mbv3.OFAMobileNetV3Space` models.

Written from DESIGN.md §8 and OFA's published MobileNetV3 (w1.2) layout without
the space's code, so that exporting it cross-checks the hand-built ONNX graph.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["OFAMobileNetV3Twin", "parse"]


def _div8(v: float) -> int:
    r = max(8, int(v + 4) // 8 * 8)
    return r + 8 if r < 0.9 * v else r


def parse(arch: str) -> dict[str, list[int]]:
    """``"ks=…:e=…:d=…:r=…"`` → ``{"ks": [...], "e": [...], "d": [...], "r": [r]}``."""
    return {
        k: [int(v) for v in vals.split("-")] for k, vals in (p.split("=") for p in arch.split(":"))
    }


def _act(kind: str) -> nn.Module:
    return nn.ReLU() if kind == "relu" else nn.Hardswish()


class _SE(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        mid = _div8(c // 4)
        self.fc = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Conv2d(c, mid, 1),
            nn.ReLU(),
            nn.Conv2d(mid, c, 1),
            nn.Hardsigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x)


class _MBConv(nn.Module):
    def __init__(self, cin: int, cout: int, k: int, e: int, s: int, act: str, se: bool) -> None:
        super().__init__()
        mid = _div8(cin * e)
        layers: list[nn.Module] = []
        if e != 1:
            layers += [nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), _act(act)]
        else:
            mid = cin
        layers += [nn.Conv2d(mid, mid, k, s, k // 2, groups=mid, bias=False), nn.BatchNorm2d(mid),
                   _act(act)]  # fmt: skip
        if se:
            layers.append(_SE(mid))
        layers += [nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.body = nn.Sequential(*layers)
        self.residual = s == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.body(x)
        return y + x if self.residual else y


class OFAMobileNetV3Twin(nn.Module):
    """OFA MobileNetV3 w1.2 (ImageNet, 1000 classes) for one arch string."""

    def __init__(self, arch: str) -> None:
        super().__init__()
        a = parse(arch)
        w = [_div8(c * 1.2) for c in (16, 16, 24, 40, 80, 112, 160, 960, 1280)]
        blocks: list[nn.Module] = [
            nn.Conv2d(3, w[0], 3, 2, 1, bias=False), nn.BatchNorm2d(w[0]), nn.Hardswish(),
            _MBConv(w[0], w[1], 3, 1, 1, "relu", False),
        ]  # fmt: skip
        cin = w[1]
        stages = zip(w[2:7], [2, 2, 2, 1, 2], ["relu", "relu", "h_swish", "h_swish", "h_swish"],
                     [False, True, False, True, True], strict=True)  # fmt: skip
        for i, (cout, stride, act, se) in enumerate(stages):
            for j in range(a["d"][i]):
                slot = 4 * i + j
                blocks.append(_MBConv(cin, cout, a["ks"][slot], a["e"][slot],
                                      stride if j == 0 else 1, act, se))  # fmt: skip
                cin = cout
        blocks += [
            nn.Conv2d(cin, w[7], 1, bias=False), nn.BatchNorm2d(w[7]), nn.Hardswish(),
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(w[7], w[8], 1, bias=False), nn.Hardswish(),
            nn.Flatten(),
        ]  # fmt: skip
        self.features = nn.Sequential(*blocks)
        self.classifier = nn.Linear(w[8], 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

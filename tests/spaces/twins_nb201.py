"""An independent PyTorch NAS-Bench-201 network, to cross-check the ONNX builder.

The cell is evaluated lazily from its output node: a node's value is the sum
of its incoming non-``none`` edges applied to the (non-zero) values of their
source nodes, and ``None`` (zero) when nothing is left. Dead ends are never
evaluated, so they are absent from the export, as in the builder.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["NB201Net", "parse_arch"]


def parse_arch(arch: str) -> dict[tuple[int, int], str]:
    """Map each edge ``(from, to)`` of a canonical NB201 string to its op name."""
    edges = {}
    for dst, group in enumerate(arch.split("+"), start=1):
        for token in group.strip("|").split("|"):
            op, src = token.split("~")
            edges[int(src), dst] = op
    return edges


class ReLUConvBN(nn.Sequential):
    def __init__(self, channels: int, kernel: int, stride: int = 1, out: int | None = None):
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(channels, out or channels, kernel, stride, kernel // 2, bias=False),
            nn.BatchNorm2d(out or channels),
        )


def make_op(name: str, channels: int) -> nn.Module:
    if name == "skip_connect":
        return nn.Identity()
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    if name in ("nor_conv_1x1", "nor_conv_3x3"):
        return ReLUConvBN(channels, int(name[-1]))
    raise ValueError(name)


class Cell(nn.Module):
    def __init__(self, edges: dict[tuple[int, int], str], channels: int):
        super().__init__()
        self.live = {e: op for e, op in edges.items() if op != "none"}
        self.ops = nn.ModuleDict(
            {f"{s}to{d}": make_op(op, channels) for (s, d), op in self.live.items()}
        )

    def _node(self, j: int, x: torch.Tensor, memo: dict) -> torch.Tensor | None:
        if j == 0:
            return x
        if j not in memo:
            total = None
            for i in range(j):
                if (i, j) not in self.live:
                    continue
                src = self._node(i, x, memo)
                if src is None:
                    continue
                y = self.ops[f"{i}to{j}"](src)
                total = y if total is None else total + y
            memo[j] = total
        return memo[j]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self._node(3, x, {})
        return x * 0.0 if out is None else out


class ResNetBlock(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.a = ReLUConvBN(cin, 3, stride=2, out=cout)
        self.b = ReLUConvBN(cout, 3, out=cout)
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, 2), nn.Conv2d(cin, cout, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.b(self.a(x))


class NB201Net(nn.Module):
    """NAS-Bench-201 on CIFAR-10 (C=16, N=5, 10 classes) for one canonical arch."""

    def __init__(self, arch: str, channels: int = 16, cells: int = 5, classes: int = 10):
        super().__init__()
        edges = parse_arch(arch)
        layers: list[nn.Module] = [
            nn.Conv2d(3, channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(channels),
        ]
        c = channels
        for stage in range(3):
            if stage:
                layers.append(ResNetBlock(c, 2 * c))
                c *= 2
            layers += [Cell(edges, c) for _ in range(cells)]
        layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(c, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.features(x))

"""An independent PyTorch pruned ResNet-18 (CIFAR-10), to cross-check the ONNX builder."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["PrunedResNet18"]


class BasicBlock(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, ratio: float):
        super().__init__()
        mid = max(1, round(ratio * cout))
        self.body = nn.Sequential(
            nn.Conv2d(cin, mid, 3, stride, 1, bias=False),
            nn.BatchNorm2d(mid),
            nn.ReLU(),
            nn.Conv2d(mid, cout, 3, 1, 1, bias=False),
            nn.BatchNorm2d(cout),
        )
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.body(x) + self.shortcut(x))


class PrunedResNet18(nn.Module):
    """ResNet-18 for 32×32 inputs; ``arch`` is eight '-'-joined ratios, 0 = block dropped."""

    def __init__(self, arch: str, classes: int = 10):
        super().__init__()
        ratios = [float(r) for r in arch.split("-")]
        blocks: list[nn.Module] = [
            nn.Conv2d(3, 64, 3, 1, 1, bias=False),
            nn.BatchNorm2d(64),
            nn.ReLU(),
        ]
        cin = 64
        for i, ratio in enumerate(ratios):
            cout = 64 * 2 ** (i // 2)
            stride = 2 if i % 2 == 0 and i > 0 else 1
            if ratio == 0:
                continue
            blocks.append(BasicBlock(cin, cout, stride, ratio))
            cin = cout
        self.features = nn.Sequential(*blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(cin, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.features(x))

"""Building blocks shared by the zoo families (plain PyTorch, no torchvision).

Every block is written so that the legacy TorchScript exporter emits standard
ONNX ops: ``Conv`` + ``BatchNormalization`` (kept unfused, see
:mod:`fewlat.spaces._zoo_export`), ``Relu``/``Clip``/``HardSwish``/``HardSigmoid``/
``Sigmoid``+``Mul`` activations and ``GlobalAveragePool``.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = [
    "ConvBNAct",
    "SqueezeExcite",
    "activation",
    "init_weights",
    "make_divisible",
    "scale_channels",
]


def make_divisible(value: float, divisor: int = 8) -> int:
    """Round ``value`` to the nearest multiple of ``divisor`` (MobileNet rule).

    The result is at least ``divisor`` and never more than 10% below ``value``.
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def scale_channels(channels: int, width: float) -> int:
    """``channels × width`` rounded with :func:`make_divisible` to a multiple of 8."""
    return make_divisible(channels * width, 8)


def activation(name: str) -> nn.Module:
    """The activation module called ``name``: relu, relu6, hswish, hsigmoid, silu or sigmoid.

    Raises:
        KeyError: ``name`` is not one of these (a builder bug, never user input).
    """
    factories = {
        "relu": nn.ReLU,
        "relu6": nn.ReLU6,
        "hswish": nn.Hardswish,
        "hsigmoid": nn.Hardsigmoid,
        "silu": nn.SiLU,
        "sigmoid": nn.Sigmoid,
    }
    return factories[name]()


class ConvBNAct(nn.Sequential):
    """Conv2d (no bias, "same" padding) → BatchNorm2d → optional activation.

    Args:
        in_channels: input channels.
        out_channels: output channels.
        kernel_size: square kernel size.
        stride: stride (default: :obj:`1`).
        groups: convolution groups; ``in_channels`` for depthwise (default: :obj:`1`).
        act: activation name for :func:`activation`, or :obj:`None` for a linear
            output (default: :obj:`"relu"`).
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        groups: int = 1,
        act: str | None = "relu",
    ) -> None:
        layers: list[nn.Module] = [
            nn.Conv2d(
                in_channels,
                out_channels,
                kernel_size,
                stride=stride,
                padding=(kernel_size - 1) // 2,
                groups=groups,
                bias=False,
            ),
            nn.BatchNorm2d(out_channels),
        ]
        if act is not None:
            layers.append(activation(act))
        super().__init__(*layers)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation: global pool → 1×1 → act → 1×1 → gate → multiply.

    Args:
        channels: channels of the gated tensor.
        squeeze_channels: channels of the bottleneck.
        act: activation between the two 1×1 convolutions (default: :obj:`"relu"`).
        gate: activation of the gate (default: :obj:`"hsigmoid"`).
    """

    def __init__(
        self, channels: int, squeeze_channels: int, act: str = "relu", gate: str = "hsigmoid"
    ) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.act = activation(act)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.gate = activation(gate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        scale = self.gate(self.fc2(self.act(self.fc1(self.pool(x)))))
        return x * scale


_WITH_BIAS = (nn.Conv2d, nn.Linear, nn.BatchNorm2d, nn.LayerNorm)


@torch.no_grad()
def init_weights(module: nn.Module, generator: torch.Generator) -> None:
    """Fill every parameter and buffer of ``module`` in place, drawing from ``generator``.

    The global torch RNG is never used. Values are random rather than constant
    on purpose: the exporter deduplicates equal initializers (e.g. all-ones
    BatchNorm scales) into ``Identity`` nodes, which would change the graph
    and its parameter count. Convolutions get He-normal weights (fan-out),
    Linear layers N(0, 0.02), norms scales in [0.5, 1) and BatchNorm variances
    in [0.5, 1.5), so activations stay finite through every family.

    Raises:
        TypeError: a buffer of a layer type this function does not fill (a
            builder bug: the module would carry uninitialised memory).
    """
    g = generator
    for sub in module.modules():
        if isinstance(sub, nn.Conv2d):
            nn.init.kaiming_normal_(sub.weight, mode="fan_out", nonlinearity="relu", generator=g)
        elif isinstance(sub, nn.Linear):
            sub.weight.normal_(0.0, 0.02, generator=g)
        elif isinstance(sub, nn.BatchNorm2d | nn.LayerNorm):
            sub.weight.uniform_(0.5, 1.0, generator=g)
        else:  # parameters a container owns directly, e.g. ViT's class token
            for param in sub.parameters(recurse=False):
                param.normal_(0.0, 0.02, generator=g)
        if isinstance(sub, _WITH_BIAS) and sub.bias is not None:
            sub.bias.uniform_(-0.1, 0.1, generator=g)
        if isinstance(sub, nn.BatchNorm2d):
            sub.running_mean.uniform_(-0.1, 0.1, generator=g)
            sub.running_var.uniform_(0.5, 1.5, generator=g)
            sub.num_batches_tracked.zero_()
        elif any(True for _ in sub.buffers(recurse=False)):
            raise TypeError(f"init_weights does not know the buffers of {type(sub).__name__}.")

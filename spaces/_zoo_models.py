"""Family name → PyTorch module for the zoo (imports torch; loaded lazily by :mod:`.zoo`)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from fewlat.spaces._zoo_classic import resnet, squeezenet, vgg11
from fewlat.spaces._zoo_layers import init_weights
from fewlat.spaces._zoo_mobile import efficientnet_b0, mobilenet_v2, mobilenet_v3
from fewlat.spaces._zoo_shufflenet import shufflenet_v2
from fewlat.spaces._zoo_vit import vit_tiny

__all__ = ["BUILDERS", "build_module"]

#: family → ``builder(width, resolution)``; the order is the zoo's family order
BUILDERS: dict[str, Callable[[float, int], nn.Module]] = {
    "resnet18": lambda w, r: resnet(18, w),
    "resnet50": lambda w, r: resnet(50, w),
    "mobilenet_v2": lambda w, r: mobilenet_v2(w),
    "mobilenet_v3_small": lambda w, r: mobilenet_v3("small", w),
    "mobilenet_v3_large": lambda w, r: mobilenet_v3("large", w),
    "efficientnet_b0": lambda w, r: efficientnet_b0(w),
    "squeezenet": lambda w, r: squeezenet(w),
    "shufflenet_v2": lambda w, r: shufflenet_v2(w),
    "vgg11": vgg11,
    "vit_tiny": vit_tiny,
}


def build_module(
    family: str, width: float, resolution: int, *, seed: int = 0, meta: bool = False
) -> nn.Module:
    """Build one zoo member in eval mode with seeded random weights.

    The layers are created on the ``meta`` device (no memory, no random draws)
    and then filled from a local :class:`torch.Generator`, so the global torch
    RNG is neither read nor changed and concurrent callers cannot disturb the
    weights.

    Args:
        family: a key of :data:`BUILDERS`.
        width: channel multiplier.
        resolution: input side in pixels.
        seed: seed of the random weights (default: :obj:`0`).
        meta: leave the module on the ``meta`` device, without values, e.g.
            to count parameters and FLOPs of a large member for free
            (default: :obj:`False`).

    Raises:
        KeyError: unknown family (callers validate arch strings first).
    """
    builder = BUILDERS[family]
    with torch.device("meta"):
        module = builder(width, resolution)
    if not meta:
        module = module.to_empty(device="cpu")
        init_weights(module, torch.Generator().manual_seed(seed))
    return module.eval()

"""Name → :class:`Space` resolution."""

from __future__ import annotations

from functools import cache

from fewlat.exceptions import UnknownSpaceError
from fewlat.spaces._base import Space

__all__ = ["SPACE_NAMES", "get_space"]

#: registry names in a fixed order
SPACE_NAMES: tuple[str, ...] = ("nb201", "fbnet", "ofa_mbv3", "resnet_prune", "zoo")


@cache
def _spaces() -> dict[str, Space]:
    from fewlat.spaces.fbnet import FBNetSpace
    from fewlat.spaces.nb201 import NB201Space
    from fewlat.spaces.ofa_mbv3 import OFAMobileNetV3Space
    from fewlat.spaces.resnet_prune import ResNetPruneSpace
    from fewlat.spaces.zoo import ZooSpace

    by_name: dict[str, Space] = {}
    for space in (
        NB201Space(),
        FBNetSpace(),
        OFAMobileNetV3Space(),
        ResNetPruneSpace(),
        ZooSpace(),
    ):
        for key in (space.name, *space.aliases):
            by_name[key] = space
    return by_name


def get_space(name: str) -> Space:
    """Return the space registered as ``name`` (or one of its aliases, e.g. ``"ofa"``).

    Raises:
        UnknownSpaceError: no such space; the message lists the valid names.
    """
    try:
        return _spaces()[name]
    except (KeyError, TypeError):
        raise UnknownSpaceError(
            f"Unknown search space {name!r}. Valid spaces: {', '.join(SPACE_NAMES)}."
        ) from None

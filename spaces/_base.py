"""The :class:`Space` interface every search space implements."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator

import numpy as np
import onnx

from fewlat.exceptions import NotEnumerableError, invalid_parameter

__all__ = ["Space"]


class Space(ABC):
    """A named family of models with one canonical arch string per member.

    Subclasses set :attr:`name` and implement :meth:`canonical`, :meth:`sample`,
    :meth:`supernet` and :meth:`to_model`; finite spaces also implement
    :meth:`enumerate`.
    """

    #: registry name, e.g. ``"nb201"``
    name: str = ""
    #: other names that resolve to this space (e.g. a latency-table folder name)
    aliases: tuple[str, ...] = ()
    #: whether :meth:`enumerate` lists every member
    finite: bool = False
    #: the input shape shared by every member, or None when it depends on the arch
    fixed_input_shape: tuple[int, ...] | None = None

    @abstractmethod
    def canonical(self, arch: str) -> str:
        """Validate ``arch`` and return its canonical spelling.

        Raises:
            InvalidArchError: the string is not a member of this space; the
                message names the offending part and the accepted values.
        """

    @abstractmethod
    def sample(self, rng: np.random.Generator, n: int) -> list[str]:
        """Draw ``n`` canonical arch strings uniformly (with replacement) using ``rng``."""

    def enumerate(self) -> Iterator[str]:
        """Yield every member in a fixed order.

        Raises:
            NotEnumerableError: the space is not finite.
        """
        raise NotEnumerableError(
            f"Space {self.name!r} has no finite member list; use sample(rng, n) instead."
        )

    @abstractmethod
    def supernet(self) -> str:
        """The canonical arch of the largest member (the calibration anchor)."""

    def input_shape(self, arch: str) -> tuple[int, ...]:
        """The NCHW input shape of ``arch`` (batch 1).

        The default returns :attr:`fixed_input_shape` after validating ``arch``;
        spaces whose input depends on the arch override it.

        Raises:
            InvalidArchError: ``arch`` is not a member.
        """
        self.canonical(arch)
        if self.fixed_input_shape is None:
            raise NotImplementedError(f"{type(self).__name__} must override input_shape")
        return self.fixed_input_shape

    @abstractmethod
    def to_model(self, arch: str, *, with_weights: bool = False, seed: int = 0) -> onnx.ModelProto:
        """Build ``arch`` as an ONNX model.

        Args:
            arch: any accepted spelling of a member.
            with_weights: put random weights in the initializers so runtimes can
                execute the model; otherwise initializers carry only their dims
                (default: :obj:`False`).
            seed: seed of the random weights (default: :obj:`0`).

        Raises:
            InvalidArchError: ``arch`` is not a member.
        """

    @property
    def has_eager_variant(self) -> bool:
        """Whether the reference implementation, run eagerly, computes more than the
        ONNX model does: true exactly when the space overrides :meth:`eager_model`."""
        return type(self).eager_model is not Space.eager_model

    def to_onnx(
        self, arch: str, *, with_weights: bool = False, seed: int = 0, eager: bool = False
    ) -> bytes:
        """:meth:`to_model` (or, with ``eager``, :meth:`eager_model`) serialised to bytes."""
        build = self.eager_model if eager else self.to_model
        return build(arch, with_weights=with_weights, seed=seed).SerializeToString()

    def eager_model(
        self, arch: str, *, with_weights: bool = False, seed: int = 0
    ) -> onnx.ModelProto:
        """``arch`` as the space's reference implementation computes it when run eagerly
        (e.g. in PyTorch): every operation, including ones whose result is then
        multiplied by zero or unused. Latency tables measured that way (HELP's
        NB201 devices) describe this model, not the pruned :meth:`to_model`.

        The default is :meth:`to_model`, for spaces where the two are the same.

        Raises:
            InvalidArchError: ``arch`` is not a member.
        """
        return self.to_model(arch, with_weights=with_weights, seed=seed)

    def _check_n(self, n: int) -> None:
        if not isinstance(n, int) or isinstance(n, bool) or n < 0:
            raise invalid_parameter("n", f"{type(self).__name__}.sample", "an int >= 0", n)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

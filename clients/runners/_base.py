"""The interface every runner shares: ``measure(model_bytes, …) -> Measurement``."""

from __future__ import annotations

import functools
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from fewlat.clients.runners._host import describe_host, pinned_to
from fewlat.clients.runners._measurement import Measurement
from fewlat.clients.runners._timing import Clock, Session, TimingMethod, time_block
from fewlat.exceptions import invalid_parameter

__all__ = ["ModelInput", "Runner", "Session"]


@dataclass(frozen=True)
class ModelInput:
    """A model to time: ONNX bytes, or a ``(space, arch)`` pair, or both.

    Runtimes that execute ONNX build the bytes from ``(space, arch)`` when
    they are not given; :class:`TableRunner` needs ``(space, arch)``.
    """

    model_bytes: bytes | None = None
    space: str | None = None
    arch: str | None = None

    def onnx_bytes(self) -> bytes:
        """The model's ONNX bytes, built with random weights from ``(space, arch)`` if needed.

        Raises:
            InvalidParameterError: neither bytes nor a ``(space, arch)`` pair.
            UnknownSpaceError, InvalidArchError: as :func:`fewlat.spaces.get_space`.
        """
        if self.model_bytes is not None:
            return self.model_bytes
        if self.space is None or self.arch is None:
            raise invalid_parameter(
                "model", "Runner.measure", "ONNX bytes or a (space, arch) pair", None
            )
        from fewlat.spaces import get_space

        return get_space(self.space).to_onnx(self.arch, with_weights=True)


class Runner(ABC):
    """Base class of runners: loads models untimed, then applies the timing method.

    Subclasses implement :meth:`_open` (load one model, untimed) and
    :attr:`settings`; :meth:`measure` and :meth:`measure_many` are shared.

    Args:
        method: the timing parameters (default: :class:`TimingMethod` ``()``).
        pin_cpus: CPU ids to pin the process to while timing (default: no pinning).
    """

    #: short name used on the command line, e.g. ``"ort"``
    kind: ClassVar[str] = ""
    #: whether :meth:`measure_many` needs the ONNX bytes; False for runners that
    #: only look ``(space, arch)`` up (tables), so nothing is built for them
    needs_model_bytes: ClassVar[bool] = True
    #: load one model at a time (see :func:`time_block`); runtimes whose idle
    #: sessions disturb the one being timed set this
    exclusive_sessions: bool = False
    #: the clock timing runs, in seconds (a simulated one for :class:`MockRunner`)
    clock: Clock = staticmethod(time.perf_counter)

    def __init__(
        self, *, method: TimingMethod | None = None, pin_cpus: Sequence[int] | None = None
    ) -> None:
        if method is not None and not isinstance(method, TimingMethod):
            raise invalid_parameter("method", type(self).__name__, "a TimingMethod", method)
        self.method = method or TimingMethod()
        self.pin_cpus = None if pin_cpus is None else tuple(int(c) for c in pin_cpus)

    @property
    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """Runtime name and version and every setting that changes timings."""

    def describe(self) -> dict[str, Any]:
        """Settings, timing method and host: the ``devices.json`` entry of this runner."""
        return {
            **self.settings,
            "pin_cpus": list(self.pin_cpus) if self.pin_cpus else None,
            "timing": self.method.as_dict(),
            "host": describe_host(),
        }

    @abstractmethod
    def _open(self, model: ModelInput) -> Session:
        """Load one model and its inputs (not timed)."""

    def measure(
        self,
        model_bytes: bytes | None = None,
        *,
        space: str | None = None,
        arch: str | None = None,
    ) -> Measurement:
        """Time one model.

        Args:
            model_bytes: serialised ONNX (untrusted; checked in memory).
            space: the model's search space, with ``arch``; used to build the
                model when ``model_bytes`` is not given, and by table lookups.
            arch: the model's arch string in ``space``.

        Returns:
            The :class:`Measurement` (milliseconds).

        Raises:
            InvalidParameterError: neither bytes nor ``(space, arch)``.
            InvalidModelError: the bytes are not a model the runtime can run.
            ModelTooLargeError: over the size or node limits.
            TableEntryMissingError: a table runner has no entry for the model.
        """
        return self.measure_many([ModelInput(model_bytes, space, arch)])[0]

    def measure_many(self, models: Sequence[ModelInput]) -> list[Measurement]:
        """Time a block of models in interleaved passes (see :class:`TimingMethod`).

        Every model is loaded first (untimed), then timed round-robin, then
        freed; with :attr:`exclusive_sessions`, one model is loaded at a time.

        Raises:
            The errors of :meth:`measure`.
        """
        openers = [functools.partial(self._open, model) for model in models]
        with pinned_to(self.pin_cpus):
            return time_block(
                openers,
                self.method,
                clock=self.clock,
                settings=self.settings,
                exclusive=self.exclusive_sessions or self.method.reload_each_pass,
            )

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.settings.items() if k != "version")
        return f"{type(self).__name__}({shown})"

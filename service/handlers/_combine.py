"""Combining: concurrent callers' requests are served together, one batch at a time.

A caller appends its request to the pending list, then takes the lock; whoever
holds it serves every pending request in one batch (so concurrent ``Predict``
calls share one forward pass), and a caller whose request was served by another
holder returns at once. No extra thread; the work runs on the callers' threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Combiner", "Pending"]

Req = TypeVar("Req")
Res = TypeVar("Res")


class Pending(Generic[Req, Res]):
    """One request waiting in a :class:`Combiner`; the batch function settles it."""

    __slots__ = ("_done", "_error", "_result", "request")

    def __init__(self, request: Req) -> None:
        self.request = request
        self._done = False
        self._result: Res | None = None
        self._error: BaseException | None = None

    @property
    def done(self) -> bool:
        """Whether the request was settled."""
        return self._done

    def set_result(self, result: Res) -> None:
        self._result, self._done = result, True

    def set_error(self, error: BaseException) -> None:
        self._error, self._done = error, True

    def outcome(self) -> Res:
        if self._error is not None:
            raise self._error
        return self._result  # type: ignore[return-value]


class Combiner(Generic[Req, Res]):
    """Serve requests in batches with ``serve(batch)``, which settles each :class:`Pending`.

    Args:
        serve: called with every request pending when the lock came free; it
            must settle each one (an exception it raises settles those left).
        lock: the lock held while serving (shared with other work on the same state).
    """

    def __init__(
        self,
        serve: Callable[[Sequence[Pending[Req, Res]]], None],
        lock: threading.Lock | threading.RLock,
    ) -> None:
        self._serve = serve
        self._lock = lock
        self._pending: list[Pending[Req, Res]] = []
        self._pending_lock = threading.Lock()

    def submit(self, request: Req) -> Res:
        """Serve ``request`` (perhaps with others) and return its result or raise its error."""
        item: Pending[Req, Res] = Pending(request)
        with self._pending_lock:
            self._pending.append(item)
        with self._lock:
            if not item.done:
                with self._pending_lock:
                    batch, self._pending = self._pending, []
                try:
                    self._serve(batch)
                except BaseException as exc:
                    for other in batch:
                        if not other.done:
                            other.set_error(exc)
        return item.outcome()

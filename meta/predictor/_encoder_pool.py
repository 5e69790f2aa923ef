"""Worker processes that turn untrusted ONNX bytes into feature arrays, without pickle.

A worker reads raw request bytes from a pipe and answers with raw bytes: an ``.npz``
of plain arrays (read with ``allow_pickle=False``) or a JSON error. Nothing a worker
sends is unpickled, so even a worker taken over through a parser bug cannot run code
in the serving process, and a worker that crashes fails only the model it was given.
(``concurrent.futures.ProcessPoolExecutor`` would pickle every result back.)
"""

from __future__ import annotations

import io
import json
import multiprocessing
import queue
import struct
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.connection import Connection

import numpy as np

import fewlat.exceptions
from fewlat.exceptions import FewlatError, InvalidModelError, invalid_parameter
from fewlat.meta.features import featurize
from fewlat.meta.graph import encode

__all__ = ["EncodedModel", "EncoderPool", "encode_model"]

_HEADER = struct.Struct("<qq")  # max_bytes, max_nodes; -1: no limit (fewlat's own models)
_OK, _ERROR = b"\x00", b"\x01"
_READY = b"ready"
#: how long a new worker may take to start (import torch, onnx), seconds
_START_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class EncodedModel:
    """One model encoded and featurised: plain arrays and its MACs."""

    x: np.ndarray
    edge_index: np.ndarray
    edge_attr: np.ndarray
    graph_attr: np.ndarray
    macs: float


def encode_model(model: bytes, max_bytes: int | None, max_nodes: int | None) -> EncodedModel:
    """ONNX bytes → features, within the size/node limits (None: no limits).

    Raises:
        InvalidModelError, ModelTooLargeError: from :func:`fewlat.meta.graph.encode`.
    """
    limits = {} if max_bytes is None else {"max_bytes": max_bytes, "max_nodes": max_nodes}
    graph = encode(model, **limits)
    data = featurize(graph)
    return EncodedModel(
        data.x.numpy(),
        data.edge_index.numpy(),
        data.edge_attr.numpy(),
        data.graph_attr[0].numpy(),
        float(graph.macs),
    )


def _answer(request: bytes) -> bytes:
    """A worker's reply to one request (never raises for a bad model)."""
    max_bytes, max_nodes = _HEADER.unpack_from(request)
    try:
        done = encode_model(
            request[_HEADER.size :],
            None if max_bytes < 0 else max_bytes,
            None if max_nodes < 0 else max_nodes,
        )
    except Exception as err:  # sent back by name; the parent decides what it is
        return _ERROR + json.dumps({"error": type(err).__name__, "message": str(err)}).encode()
    buffer = io.BytesIO()
    np.savez(
        buffer,
        x=done.x,
        edge_index=done.edge_index,
        edge_attr=done.edge_attr,
        graph_attr=done.graph_attr,
        macs=np.float64(done.macs),
    )
    return _OK + buffer.getvalue()


def _worker_main(conn: Connection) -> None:
    """A worker process: say it is ready, then answer requests until the pipe closes."""
    conn.send_bytes(_READY)
    while True:
        try:
            request = conn.recv_bytes()
        except (EOFError, OSError):
            return
        conn.send_bytes(_answer(request))


def _decode(reply: bytes) -> EncodedModel:
    """A worker's reply → the encoded model, or the error it names.

    Raises:
        FewlatError: the :mod:`fewlat.exceptions` class the worker named.
        RuntimeError: another error (a bug, not a bad model).
    """
    if reply[:1] == _OK:
        with np.load(io.BytesIO(reply[1:]), allow_pickle=False) as f:
            return EncodedModel(
                f["x"], f["edge_index"], f["edge_attr"], f["graph_attr"], float(f["macs"])
            )
    said = json.loads(reply[1:])
    name, message = str(said.get("error")), str(said.get("message"))
    named = getattr(fewlat.exceptions, name, None) if name in fewlat.exceptions.__all__ else None
    if isinstance(named, type) and issubclass(named, FewlatError):
        raise named(message)
    raise RuntimeError(f"the ONNX encoder process failed: {name}: {message}")


class _Worker:
    def __init__(self, context: multiprocessing.context.BaseContext) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker_main, args=(child,), daemon=True)
        self.process.start()
        child.close()
        try:  # wait until it has imported everything: no model is blamed for a bad start
            ready = self.conn.poll(_START_TIMEOUT_S) and self.conn.recv_bytes() == _READY
        except (EOFError, OSError):
            ready = False
        if not ready:
            self.stop()
            raise RuntimeError(
                "An ONNX encoder worker process did not start (see its error above). A "
                "script that uses GraphCache(workers=N) must guard its main code with "
                "`if __name__ == '__main__':`; or use workers=0 (--encode-workers 0)."
            )

    def stop(self) -> None:
        self.conn.close()  # the worker's recv ends: it exits
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()


class EncoderPool:
    """``workers`` processes that encode ONNX bytes in parallel (started on first use).

    Thread-safe. :meth:`close` stops the processes; a later :meth:`map` starts new ones.

    Raises:
        InvalidParameterError: ``workers`` is not an int >= 1.
    """

    def __init__(self, workers: int) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise invalid_parameter("workers", "EncoderPool", "an int >= 1", workers)
        self.workers = workers
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._all: list[_Worker] = []
        self._threads: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        methods = multiprocessing.get_all_start_methods()
        # never fork: the serving process runs threads (gRPC), and a fork copies their locks
        self._context = multiprocessing.get_context(
            "forkserver" if "forkserver" in methods else "spawn"
        )

    def start(self) -> None:
        """Start the worker processes now, if they are not running (blocks until they
        are ready: they import torch and onnx).

        Raises:
            RuntimeError: a worker did not start.
        """
        self._start()

    def _start(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._threads is None:
                for _ in range(self.workers):
                    worker = _Worker(self._context)
                    self._all.append(worker)
                    self._idle.put(worker)
                self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="fewlat-enc")
            return self._threads

    def _replace(self, worker: _Worker) -> _Worker:
        worker.stop()
        with self._lock:
            if worker in self._all:
                self._all.remove(worker)
            fresh = _Worker(self._context)
            self._all.append(fresh)
        return fresh

    def _one(self, request: bytes) -> EncodedModel:
        worker = self._idle.get()
        try:
            if not worker.process.is_alive():  # died while idle (e.g. the OOM killer)
                worker = self._replace(worker)
            worker.conn.send_bytes(request)
            reply = worker.conn.recv_bytes()
        except (EOFError, OSError):  # the worker died on this very model
            worker = self._replace(worker)
            raise InvalidModelError(
                "The ONNX model crashed the encoder process: it is malformed in a way the "
                "parser cannot survive. Check it with `fewlat inspect MODEL.onnx`."
            ) from None
        finally:
            self._idle.put(worker)
        return _decode(reply)

    def map(
        self, models: Sequence[bytes], max_bytes: int | None, max_nodes: int | None
    ) -> Iterator[EncodedModel]:
        """Encode ``models`` (limits as :func:`encode_model`), yielding results in order.

        Raises:
            InvalidModelError, ModelTooLargeError: at the model that has the error;
                also when a model crashes its worker (which is replaced).
        """
        header = _HEADER.pack(
            -1 if max_bytes is None else max_bytes, -1 if max_nodes is None else max_nodes
        )
        return self._start().map(self._one, [header + bytes(m) for m in models])

    def close(self) -> None:
        """Stop the worker processes and threads (models being encoded finish first;
        queued ones are cancelled)."""
        with self._lock:
            threads, self._threads = self._threads, None
        if threads is not None:  # the workers are still there for the running tasks
            threads.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            workers, self._all = self._all, []
            self._idle = queue.Queue()
        for worker in workers:
            worker.stop()

    def pids(self) -> list[int]:
        """Process ids of the running workers (for monitoring and tests)."""
        with self._lock:
            return [w.process.pid for w in self._all if w.process.pid is not None]

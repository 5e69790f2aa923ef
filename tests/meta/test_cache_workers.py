"""``GraphCache(workers=N)``: ONNX batches encoded in worker processes give exactly what
in-process encoding gives, fail the same way, survive a worker that dies, and never
unpickle what a worker sends."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from fewlat.exceptions import InvalidModelError, ModelTooLargeError
from fewlat.meta.predictor import GraphCache
from fewlat.spaces import get_space

NB201 = get_space("nb201")
MODELS = [NB201.to_onnx(a) for a in NB201.sample(np.random.default_rng(5), 20)]


@pytest.fixture
def pooled():
    cache = GraphCache(2, workers=2)
    yield cache
    cache.close()


def _same(a, b) -> None:
    for name in ("indptr", "counts", "macs", "graph_attr"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    # colour ids depend only on insertion order, which is the same
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.colours.x, b.colours.x)


def test_workers_give_what_one_process_gives(pooled: GraphCache) -> None:
    batch = [*MODELS, MODELS[0]]  # a repeat is encoded once
    _same(pooled.for_models(batch), GraphCache(2).for_models(batch))
    assert len(pooled) == len(MODELS) and pooled._pool is not None
    small = GraphCache(2, workers=2)
    small.for_models(MODELS[:7])  # too few new models to be worth a pool round trip
    assert small._pool is None


def test_a_bad_model_fails_the_batch_as_in_one_process(pooled: GraphCache) -> None:
    pooled.max_nodes = 50  # nb201 models have ~190 nodes
    with pytest.raises(ModelTooLargeError) as in_workers:
        pooled.for_models(MODELS[:8])
    with pytest.raises(ModelTooLargeError) as alone:
        GraphCache(2, max_nodes=50).for_models(MODELS[:8])
    assert str(in_workers.value) == str(alone.value)
    pooled.max_nodes = 100_000
    with pytest.raises(InvalidModelError):
        pooled.for_models([*MODELS[:8], b"not onnx"])
    assert len(pooled) == 8  # the models before the bad one are kept


def test_workers_that_died_while_idle_are_replaced_unnoticed(pooled: GraphCache) -> None:
    reference = GraphCache(2)
    for cache in (pooled, reference):
        cache.for_models(MODELS[:8])
    dead = pooled._pool.pids()
    for worker in pooled._pool._all:  # as the kernel's OOM killer would
        os.kill(worker.process.pid, signal.SIGKILL)
        worker.process.join(timeout=10)  # dead before the next batch
    _same(pooled.for_models(MODELS[4:]), reference.for_models(MODELS[4:]))
    assert not set(pooled._pool.pids()) & set(dead)


class _DiesOnNextModel:
    """A worker's pipe that sends the worker a request too short to hold its header:
    the worker process dies on it, as on a model that crashes the ONNX parser.
    (Killing it right after sending raced with a fast worker that had already replied.)"""

    def __init__(self, worker) -> None:
        self._conn = worker.conn

    def send_bytes(self, data: bytes) -> None:
        self._conn.send_bytes(b"\0")

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


def test_a_worker_that_dies_on_a_model_fails_that_model(pooled: GraphCache) -> None:
    reference = GraphCache(2)
    for cache in (pooled, reference):
        cache.for_models(MODELS[:8])
    for worker in pooled._pool._all:
        worker.conn = _DiesOnNextModel(worker)
    with pytest.raises(InvalidModelError, match="crashed the encoder process"):
        pooled.for_models(MODELS[8:])
    assert len(pooled) == 8  # nothing of the failed batch from its first model on
    _same(pooled.for_models(MODELS[4:]), reference.for_models(MODELS[4:]))  # new workers


def test_nothing_from_a_worker_is_unpickled(monkeypatch: pytest.MonkeyPatch) -> None:
    import pickle
    from multiprocessing.reduction import ForkingPickler

    def refuse(*args, **kwargs):
        raise AssertionError("a worker's reply was unpickled")

    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(ForkingPickler, "loads", refuse)  # what Connection.recv would use
    cache = GraphCache(2, workers=2)
    try:
        _same(cache.for_models(MODELS[:10]), GraphCache(2).for_models(MODELS[:10]))
    finally:
        cache.close()


@pytest.mark.parametrize("workers", [0, -1, 1.5, True])
def test_a_pool_needs_a_positive_int_of_workers(workers) -> None:
    from fewlat.exceptions import InvalidParameterError
    from fewlat.meta.predictor import EncoderPool

    with pytest.raises(InvalidParameterError, match="'workers'"):
        EncoderPool(workers)

"""``GraphCache(workers=N)``: ONNX batches encoded in worker processes give exactly what
in-process encoding gives, fail the same way, and survive a worker that dies."""

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


def test_a_dead_worker_fails_one_batch_then_a_fresh_pool_serves(pooled: GraphCache) -> None:
    reference = GraphCache(2)
    for cache in (pooled, reference):
        cache.for_models(MODELS[:8])
    for pid in list(pooled._pool._processes):  # e.g. the kernel's OOM killer
        os.kill(pid, signal.SIGKILL)
    with pytest.raises(InvalidModelError, match="crashed the encoder process"):
        pooled.for_models(MODELS[4:])
    assert pooled._pool is None and len(pooled) == 8
    _same(pooled.for_models(MODELS[4:]), reference.for_models(MODELS[4:]))

"""ONNX bytes are recognised as their search space's from their nodes, and the cache
keeps what it recognised through trimming, saving and loading."""

from __future__ import annotations

import numpy as np
import pytest

from fewlat.exceptions import UnknownSpaceError
from fewlat.meta.features import FEATURE_SCHEMA_VERSION, NODE_FEATURES
from fewlat.meta.predictor import (
    RECOGNISED_SPACES,
    VOCABULARY_ARCHS,
    GraphCache,
    NodeSignature,
    read_vocabularies,
    recognise,
    vocabulary,
    write_vocabularies,
)
from fewlat.meta.predictor._encoder_pool import encode_model
from fewlat.spaces import get_space


def _signature(model: bytes) -> NodeSignature:
    return NodeSignature.of(encode_model(model, None, None).x)


def _members(space: str, n: int, seed: int = 11) -> list[bytes]:
    spec = get_space(space)
    return [spec.to_onnx(a) for a in spec.sample(np.random.default_rng(seed), n)]


@pytest.mark.parametrize("space", RECOGNISED_SPACES)
def test_members_outside_the_vocabulary_sample_are_recognised_as_their_space(space):
    for model in _members(space, 3):
        assert recognise(_signature(model)) == space


def test_eager_variants_are_recognised():
    nb201 = get_space("nb201")
    arch = nb201.sample(np.random.default_rng(12), 1)[0]
    assert recognise(_signature(nb201.to_onnx(arch, eager=True))) == "nb201"


def test_models_of_no_space_are_not_recognised():
    zoo = get_space("zoo")
    for arch in ("resnet18:w=1.0:r=224", "mobilenet_v3_large:w=1.0:r=224", "vit_tiny:w=0.5:r=160"):
        assert recognise(_signature(zoo.to_onnx(arch))) is None
    # a space left out of the candidates is not answered by its nearest neighbour
    ofa = _members("ofa_mbv3", 1)[0]
    assert recognise(_signature(ofa), ("nb201", "fbnet")) is None
    assert recognise(_signature(ofa), ()) is None


def test_a_signature_ignores_node_order_position_and_fan():
    x = encode_model(_members("fbnet", 1)[0], None, None).x
    rng = np.random.default_rng(0)
    moved = x[rng.permutation(len(x))].copy()
    for column in ("rel_position", "log_fan_in", "log_fan_out"):
        moved[:, NODE_FEATURES.index(column)] = rng.random(len(x))
    a, b = NodeSignature.of(x), NodeSignature.of(moved)
    np.testing.assert_array_equal(a.hashes, b.hashes)
    np.testing.assert_array_equal(a.counts, b.counts)
    other = x.copy()
    other[0, NODE_FEATURES.index("log_macs")] += 0.01  # any other column counts
    assert not np.array_equal(NodeSignature.of(other).hashes, a.hashes)
    assert int(a.counts.sum()) == len(x) and (np.diff(a.hashes.astype(np.float64)) > 0).all()


def test_the_cache_names_the_space_of_archs_and_of_recognised_bytes(tmp_path):
    cache = GraphCache(2, max_entries=4)
    ofa_arch = get_space("ofa").sample(np.random.default_rng(1), 1)
    nb201_arch = get_space("nb201").sample(np.random.default_rng(1), 1)
    keys = [
        *cache.keys_for_archs("ofa", ofa_arch),  # an alias
        *cache.keys_for_archs("nb201", nb201_arch, eager=True),
        *cache.keys_for_models(
            [_members("fbnet", 1)[0], get_space("zoo").to_onnx("squeezenet:w=0.5:r=160")]
        ),
    ]
    assert cache.spaces_of(keys) == ["ofa_mbv3", "nb201", "fbnet", None]
    with pytest.raises(KeyError):
        cache.spaces_of(["sha256:" + "0" * 64])
    # saved and loaded: recognised again from the stored node signatures
    cache.save(tmp_path)
    loaded = GraphCache(2)
    assert loaded.load(tmp_path)
    assert loaded.spaces_of(keys) == ["ofa_mbv3", "nb201", "fbnet", None]
    # trimmed graphs are gone with their signatures; the kept ones still answer
    newer = cache.keys_for_models(_members("resnet_prune", 2))
    assert cache.trim() == 2
    with pytest.raises(KeyError):
        cache.spaces_of(keys[:1])
    assert cache.spaces_of(keys[2:] + newer) == ["fbnet", None, "resnet_prune", "resnet_prune"]


def test_the_shipped_vocabularies_are_what_the_builders_give_now(tmp_path):
    """If this fails, a space builder or the feature schema changed: run
    ``python -c "from fewlat.meta.predictor import write_vocabularies; write_vocabularies()"``."""
    shipped = read_vocabularies()
    assert sorted(shipped) == sorted(RECOGNISED_SPACES)
    fresh = read_vocabularies(write_vocabularies(tmp_path / "v.npz"))
    for space in RECOGNISED_SPACES:
        np.testing.assert_array_equal(fresh[space], shipped[space])
        assert fresh[space].dtype == np.uint64 and (np.diff(fresh[space]) > 0).all()


def test_vocabularies_of_another_schema_or_member_count_or_broken_are_not_read(tmp_path):
    assert read_vocabularies(tmp_path / "missing.npz") == {}
    (tmp_path / "broken.npz").write_bytes(b"not a zip")
    assert read_vocabularies(tmp_path / "broken.npz") == {}
    rows = np.arange(3, dtype=np.uint64)
    schema, archs = FEATURE_SCHEMA_VERSION, VOCABULARY_ARCHS
    for stale in (
        {"feature_schema": schema + 1, "archs": archs},
        {"feature_schema": schema, "archs": 7},
    ):
        np.savez(tmp_path / "old.npz", nb201=rows, **stale)
        assert read_vocabularies(tmp_path / "old.npz") == {}
    np.savez(tmp_path / "ok.npz", feature_schema=schema, archs=archs, nb201=rows)
    np.testing.assert_array_equal(read_vocabularies(tmp_path / "ok.npz")["nb201"], rows)


def test_a_vocabulary_is_asked_for_by_any_spelling_of_its_space():
    assert vocabulary("ofa") is vocabulary("ofa_mbv3")
    with pytest.raises(UnknownSpaceError, match="Valid spaces"):
        vocabulary("mobilenet")

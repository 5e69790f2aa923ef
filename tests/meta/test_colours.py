"""The colour index gives exactly what the GNN computes on each graph's own nodes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from fewlat.meta.features import NODE_FEATURES, featurize
from fewlat.meta.graph import encode
from fewlat.meta.predictor import GraphCache, LatencyGNN, ModelConfig
from fewlat.meta.predictor._colours import ColourArrays, ColourIndex
from fewlat.meta.predictor._graphset import (
    BASE_QUANTITIES,
    OP_GROUPS,
    TorchColours,
    base_quantities,
)
from fewlat.spaces import get_space


def _archs(space: str, n: int) -> list[str]:
    spec = get_space(space)
    return [spec.supernet(), *spec.sample(np.random.default_rng(1), n - 1)]


def _graphs(space: str, n: int) -> list:
    spec = get_space(space)
    return [featurize(encode(spec.to_onnx(a))) for a in _archs(space, n)]


def _node_level_score(model: LatencyGNN, data, film: torch.Tensor, head: torch.Tensor) -> float:
    """The same network run on one graph's nodes directly, without colours."""
    x = data.x.clone()
    x[:, NODE_FEATURES.index("rel_position")] = 0.0
    src, dst = data.edge_index
    degree = torch.bincount(dst, minlength=len(x)).clamp(min=1).float().view(-1, 1)

    def modulate(h, level):
        return h * (1 + film[0, level, 0]) + film[0, level, 1]

    h = modulate(F.relu(model.encode(x)), 0)
    for t in range(model.config.levels):
        msg = F.relu(model.message[t](torch.cat([h[src], data.edge_attr], dim=-1)))
        agg = torch.zeros_like(h).index_add(0, dst, msg) / degree
        h = modulate(F.relu(model.update[t](torch.cat([h, agg], dim=-1))), t + 1)
    h = model.norm(h)
    nodes = ColourArrays(x.numpy(), data.edge_attr.numpy(), (), (), (), ())
    base = torch.from_numpy(base_quantities(nodes))
    return float(torch.log(model.node_values(h, head, base).sum()))


@pytest.mark.parametrize("space", ["nb201", "fbnet"])
def test_colour_scores_equal_node_level_scores(space):
    torch.manual_seed(0)
    model = LatencyGNN(ModelConfig(hidden=16, levels=2, descriptor_size=21)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)  # FiLM and head start at zero; make them matter
    graphs = _graphs(space, 4)
    colours, counts = GraphCache(2).for_archs(space, _archs(space, 4)).restricted()
    with torch.no_grad():
        film, heads = model.device_state(torch.randn(1, 21))
        h = model.embed(colours, film)
        values = model.node_values(h[0], heads[0], colours.base)
        scores = model.log_score(values, counts, counts.sum(1))
        expected = [_node_level_score(model, g, film, heads[0]) for g in graphs]
    np.testing.assert_allclose(scores.numpy(), expected, rtol=1e-4, atol=1e-4)
    assert colours.base.shape[1] == len(BASE_QUANTITIES) + len(OP_GROUPS)
    # shared cells collapse: far fewer colours than nodes
    assert colours.x.shape[0] < sum(g.num_nodes for g in graphs)


def test_the_same_graphs_give_the_same_arrays_whatever_the_cache_held_before():
    """Colour ids depend on the order graphs arrived in; the arrays a forward pass
    gets (and so the order its sums run in) must not."""
    archs = _archs("nb201", 5)
    cold = GraphCache(2).for_archs("nb201", archs).restricted()
    warm_cache = GraphCache(2)
    warm_cache.for_archs("fbnet", _archs("fbnet", 2))
    warm_cache.for_archs("nb201", get_space("nb201").sample(np.random.default_rng(7), 4))
    warm_cache.for_archs("nb201", archs[::-1])
    warm = warm_cache.for_archs("nb201", archs).restricted()
    assert torch.equal(cold[1], warm[1])
    for name in ("x", "edge_attr", "base", "self_idx", "src", "dst", "edge", "in_degree"):
        a, b = getattr(cold[0], name), getattr(warm[0], name)
        for u, v in zip(*((a, b) if isinstance(a, tuple) else ((a,), (b,))), strict=True):
            assert torch.equal(u, v), name
    torch.manual_seed(0)
    model = LatencyGNN(ModelConfig(hidden=16, levels=2, descriptor_size=21)).eval()
    with torch.no_grad():
        film, heads = model.device_state(torch.randn(2, 21))
        scores = [
            model.log_score(
                model.node_values(model.embed(c, film)[1], heads[1], c.base), n, n.sum(1)
            )
            for c, n in (cold, warm)
        ]
    assert torch.equal(*scores)


def test_op_price_scales_only_that_ops_nodes():
    """Raising the head's price of AveragePool raises the cost of pool nodes alone."""
    torch.manual_seed(0)
    model = LatencyGNN(ModelConfig(hidden=16, levels=2, descriptor_size=21)).eval()
    colours, _ = GraphCache(2).for_archs("nb201", _archs("nb201", 6)).restricted()
    pools = colours.base[:, len(BASE_QUANTITIES) + OP_GROUPS.index("op=AveragePool")] == 1
    assert pools.any() and not pools.all()
    with torch.no_grad():
        film, heads = model.device_state(torch.zeros(1, 21))
        h = model.embed(colours, film)[0]
        before = model.node_values(h, heads[0], colours.base)
        dearer = heads[0].clone()
        prices = model.config.resources * len(BASE_QUANTITIES)  # then op prices, node prices
        dearer[prices + OP_GROUPS.index("op=AveragePool")] += np.log(3.0)
        after = model.node_values(h, dearer, colours.base)
    torch.testing.assert_close(after[pools], 3.0 * before[pools])
    torch.testing.assert_close(after[~pools], before[~pools])


def test_node_prices_start_neutral_and_scale_each_node_by_its_direction():
    """Zero node prices change nothing; a price on one direction multiplies every node's
    cost by exp(its coordinate along that direction times the price)."""
    torch.manual_seed(0)
    config = ModelConfig(hidden=16, levels=2, descriptor_size=21, node_prices=3)
    model, plain = LatencyGNN(config).eval(), LatencyGNN(replace(config, node_prices=0)).eval()
    differ = ("node_direction", "head_")  # the head's own size differs
    plain.load_state_dict(
        {k: v for k, v in model.state_dict().items() if not k.startswith(differ)}, strict=False
    )
    assert model.head_size == plain.head_size + 3
    colours, _ = GraphCache(2).for_archs("nb201", _archs("nb201", 6)).restricted()
    with torch.no_grad():
        film, heads = model.device_state(torch.zeros(1, 21))
        h = model.embed(colours, film)[0]
        before = model.node_values(h, heads[0], colours.base)
        torch.testing.assert_close(before, plain.node_values(h, heads[0][:-3], colours.base))
        priced = heads[0].clone()
        priced[-2] += 0.5
        after = model.node_values(h, priced, colours.base)
        along = model.node_direction(h)[:, 1]
    assert along.abs().max() > 0.1  # the direction tells nodes apart
    torch.testing.assert_close(after, before * torch.exp(0.5 * along))


def test_node_prices_are_left_out_of_the_recipe_while_zero():
    """A recipe without node prices keeps the dict (and so the fold and resume keys) it had
    before the field existed, and loads as it was saved; one with them round-trips."""
    from fewlat.meta.predictor import TrainConfig

    unpriced = TrainConfig()
    assert unpriced.model.node_prices == 0 and "node_prices" not in unpriced.to_dict()["model"]
    assert TrainConfig.from_dict(unpriced.to_dict()) == unpriced
    priced = TrainConfig(model=ModelConfig(node_prices=16))
    assert priced.to_dict()["model"]["node_prices"] == 16
    assert TrainConfig.from_dict(priced.to_dict()) == priced
    with pytest.raises(ValueError, match="node_prices"):
        LatencyGNN(ModelConfig(readout="pooled", node_prices=4))


def test_checkpoint_configs_without_op_prices_load_as_before():
    from fewlat.meta.predictor import TrainConfig

    config = TrainConfig.from_dict({"model": {"hidden": 8}})
    assert config.model.op_prices is False
    assert LatencyGNN(config.model).head_size == config.model.resources * len(BASE_QUANTITIES)
    assert TrainConfig().model.op_prices is True


def test_adding_a_graph_twice_adds_no_colours():
    graph = _graphs("nb201", 1)[0]
    index = ColourIndex(2)
    first = index.add(graph)
    size = index.arrays().n_colours
    second = index.add(graph)
    assert index.arrays().n_colours == size
    np.testing.assert_array_equal(first[0], second[0])
    np.testing.assert_array_equal(first[1], second[1])
    assert first[1].sum() == graph.num_nodes


def test_cache_round_trip_through_npz(tmp_path):
    spec = get_space("nb201")
    archs = [spec.supernet(), *spec.sample(np.random.default_rng(2), 3)]
    cache = GraphCache(2)
    before = cache.for_archs("nb201", archs)
    path = cache.save(tmp_path)
    assert path.suffix == ".npz"
    loaded = GraphCache(2)
    assert loaded.load(tmp_path)
    assert loaded.missing("nb201", archs) == 0
    after = loaded.for_archs("nb201", archs)
    np.testing.assert_array_equal(before.indices, after.indices)
    np.testing.assert_array_equal(before.counts, after.counts)
    # the reloaded index keeps growing consistently: an old graph re-added gives the same colours
    fresh = spec.sample(np.random.default_rng(3), 1)
    loaded.for_archs("nb201", fresh)
    assert loaded.missing("nb201", archs + fresh) == 0
    np.testing.assert_array_equal(loaded.for_archs("nb201", archs).indices, before.indices)


def test_cache_from_onnx_bytes_is_keyed_by_content():
    spec = get_space("nb201")
    model = spec.to_onnx(spec.supernet())
    cache = GraphCache(2)
    a = cache.for_models([model, model])
    assert len(cache) == 1 and len(a) == 2
    b = cache.for_archs("nb201", [spec.supernet()])
    np.testing.assert_array_equal(a.indices[: a.indptr[1]], b.indices)


def _scores(model: LatencyGNN, graphs, film, head) -> np.ndarray:
    """Scores over the whole index (the server's large-batch path), for these graphs."""
    colours = TorchColours.from_arrays(graphs.colours)
    with torch.no_grad():
        values = model.node_values(model.embed(colours, film)[0], head, colours.base)
        n_nodes = np.add.reduceat(graphs.counts, graphs.indptr[:-1]).astype(np.float32)
        return model.log_score(values, graphs.sparse_counts(), torch.from_numpy(n_nodes)).numpy()


def test_trim_compacts_the_colour_index_and_keeps_every_answer():
    torch.manual_seed(0)
    model = LatencyGNN(ModelConfig(hidden=16, levels=2, descriptor_size=21)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        film, heads = model.device_state(torch.randn(1, 21))
    fbnet, nb201 = get_space("fbnet"), get_space("nb201")
    old = [fbnet.to_onnx(a) for a in _archs("fbnet", 3)]  # trimmed: their colours must go
    kept = [nb201.to_onnx(a) for a in _archs("nb201", 3)]
    cache = GraphCache(2, max_entries=3)
    cache.for_models(old)
    grown = cache.arrays().n_colours
    before = cache.for_models(kept)  # 6 graphs: the 3 fbnet ones are over the bound
    expected = _scores(model, before, film, heads[0])
    assert cache.trim() == 3 and len(cache) == 3  # 3 dropped = max_entries: compacted
    after = cache.for_models(kept)
    assert after.colours.n_colours < before.colours.n_colours - grown // 2
    # compaction renumbers the colours (canonically): each graph keeps its multiset
    np.testing.assert_array_equal(after.indptr, before.indptr)
    for lo, hi in zip(before.indptr[:-1], before.indptr[1:], strict=True):
        np.testing.assert_array_equal(np.sort(after.counts[lo:hi]), np.sort(before.counts[lo:hi]))
        assert (np.diff(after.indices[lo:hi]) > 0).all()
    np.testing.assert_allclose(_scores(model, after, film, heads[0]), expected, rtol=1e-5)
    # the compacted index keeps growing consistently: a graph built afresh in a new
    # cache and the same graph re-added here get the same scores
    again = cache.for_models(old[:1])
    alone = GraphCache(2).for_models(old[:1])
    np.testing.assert_allclose(
        _scores(model, again, film, heads[0]), _scores(model, alone, film, heads[0]), rtol=1e-5
    )
    assert cache.compact() == 0  # nothing left to drop


def test_snapshots_extend_the_previous_one_and_equal_a_fresh_build():
    graphs = _graphs("nb201", 4) + _graphs("fbnet", 2)
    grown, fresh = ColourIndex(2), ColourIndex(2)
    for g in graphs:
        grown.add(g)
        grown.arrays()  # one snapshot per addition, each extending the last
        fresh.add(g)
    fresh._snapshot = None  # no earlier snapshot: every row converted at once
    a, b = grown.arrays(), fresh.arrays()
    for name in ("x", "edge_attr"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert getattr(a, name).dtype == np.float32
    for name in ("self_idx", "src", "dst", "edge"):
        for u, v in zip(getattr(a, name), getattr(b, name), strict=True):
            np.testing.assert_array_equal(u, v)
    assert grown.arrays() is a  # nothing added since: the same snapshot

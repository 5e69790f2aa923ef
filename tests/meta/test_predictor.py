"""MetaPredictor / DevicePredictor on a tiny model trained on the repo's measured data."""

from __future__ import annotations

import copy
import dataclasses
import warnings
from dataclasses import replace

import numpy as np
import pytest
import torch
from safetensors.torch import save as save_tensors

from fewlat.exceptions import InvalidParameterError, NotFittedError
from fewlat.hwdesc import build_suite
from fewlat.meta.evaluation import evaluate
from fewlat.meta.predictor import (
    METHODS,
    RECIPE_VERSION,
    GraphCache,
    MetaPredictor,
    ModelConfig,
    TrainConfig,
    load_checkpoint,
    meta_train,
    save_checkpoint,
    split_calibration_devices,
)
from fewlat.meta.predictor._state import SuiteState
from fewlat.meta.tables import read_pool
from fewlat.spaces import get_space
from tests.conftest import MEASURED

TINY = TrainConfig(
    steps=6, devices_per_step=3, queries=8, max_archs=24, model=ModelConfig(hidden=16)
)


@pytest.fixture(scope="module")
def trained():
    tables = {s: read_pool([MEASURED], s) for s in ("nb201", "fbnet")}
    tables = {s: t.select_devices(t.devices[:6]) for s, t in tables.items()}
    suites = [build_suite(t, size=4).to_dict() for t in tables.values()]
    cache = GraphCache(TINY.model.levels)
    meta = meta_train(tables, suites, TINY, cache=cache, exclude_devices=["epyc-mnn-1t"])
    return meta, tables


def test_unfitted_predictor_raises_not_fitted():
    with pytest.raises(NotFittedError, match="meta-train it or load a checkpoint"):
        MetaPredictor().adapt({"nb201": [1.0]})
    with pytest.raises(NotFittedError, match="meta-train it or load a checkpoint"):
        MetaPredictor().network("meta")


def test_network_names_the_meta_and_pooled_networks(trained):
    meta, _ = trained
    assert meta.network("meta") is meta.model_
    assert meta.network("pooled") is meta.baseline_ and meta.baseline_ is not None
    with pytest.raises(InvalidParameterError, match="one of"):
        meta.network("baseline")


def test_adapt_returns_a_new_predictor_and_leaves_the_meta_model_alone(trained):
    meta, tables = trained
    before = {k: v.clone() for k, v in meta.model_.state_dict().items()}
    table = tables["nb201"]
    timings = [table.lookup_ms(a, "epyc-ort-1t-optall") for a in meta.suites_["nb201"]]
    device = meta.adapt({"nb201": timings})
    archs = list(table.archs[:20])
    pred = device.predict_archs("nb201", archs)
    for k, v in meta.model_.state_dict().items():
        assert torch.equal(before[k], v), k
    assert pred.suite == "nb201"
    assert pred.latency_ms.shape == (20,)
    assert np.all(pred.latency_ms > 0)
    assert np.all(pred.low_ms < pred.latency_ms) and np.all(pred.latency_ms < pred.high_ms)
    # the anchor is predicted at exactly its measured time (ratio target)
    anchor = device.predict_archs("nb201", [meta.suites_["nb201"][0]]).latency_ms[0]
    assert anchor == pytest.approx(timings[0], rel=1e-4)


def test_other_spaces_and_onnx_bytes_answer_with_the_suite_they_used(trained):
    meta, tables = trained
    table = tables["fbnet"]
    timings = [table.lookup_ms(a, "epyc-ort-1t-optall") for a in meta.suites_["fbnet"][:3]]
    device = meta.adapt({"fbnet": timings})
    zoo = get_space("zoo")
    model = zoo.to_onnx(zoo.supernet())
    pred = device.predict_models([model])
    assert pred.suite == "fbnet" and pred.latency_ms[0] > 0
    assert device.suites == {"fbnet": 3}
    # arch strings of another space, and ONNX bytes of no recognised space: the interval
    # is the one fitted outside a suite's space (the held-out device has both spaces)
    assert meta.intervals_.outside is not None
    far = device.predict_archs("nb201", list(tables["nb201"].archs[:4]))
    assert far.suite == "fbnet"
    np.testing.assert_allclose(np.log(far.high_ms / far.latency_ms), meta.intervals_.outside)
    np.testing.assert_allclose(np.log(pred.high_ms / pred.latency_ms), meta.intervals_.outside)
    # ONNX bytes recognised as the suite's space get its own interval, and the same
    # answer as the arch string
    own = device.predict_archs("fbnet", list(table.archs[:1]))
    width = meta.intervals_.half_width(3, device.shot_error("fbnet"))
    np.testing.assert_allclose(np.log(own.high_ms / own.latency_ms), width, rtol=1e-6)
    same = device.predict_models([get_space("fbnet").to_onnx(table.archs[0])])
    np.testing.assert_allclose(same.latency_ms, own.latency_ms, rtol=1e-5)
    np.testing.assert_allclose(same.high_ms, own.high_ms, rtol=1e-5)


def test_onnx_bytes_are_answered_by_the_suite_of_their_recognised_space(trained):
    meta, tables = trained
    suites = {
        s: [tables[s].lookup_ms(a, "epyc-ort-1t-optall") for a in meta.suites_[s][:k]]
        for s, k in (("nb201", 4), ("fbnet", 2))
    }
    device = meta.adapt(suites)  # most shots: nb201
    fbnet = [get_space("fbnet").to_onnx(a) for a in tables["fbnet"].archs[:3]]
    nb201 = [get_space("nb201").to_onnx(tables["nb201"].archs[0])]
    by_fbnet = device.predict_models(fbnet)
    assert by_fbnet.suite == "fbnet"
    archs = device.predict_archs("fbnet", list(tables["fbnet"].archs[:3]))
    np.testing.assert_allclose(by_fbnet.latency_ms, archs.latency_ms, rtol=1e-5)
    np.testing.assert_allclose(by_fbnet.high_ms, archs.high_ms, rtol=1e-5)
    # a mixed batch: one suite answers, that of the most models; the others are outside it
    mixed = device.predict_models(nb201 + fbnet)
    assert mixed.suite == "fbnet"
    widths = np.log(mixed.high_ms / mixed.latency_ms)
    np.testing.assert_allclose(widths[0], meta.intervals_.outside)
    np.testing.assert_allclose(widths[1:], np.log(archs.high_ms / archs.latency_ms), rtol=1e-6)
    assert device.predict_models(nb201 + fbnet, suite="nb201").suite == "nb201"
    with pytest.raises(InvalidParameterError, match="one per graph"):
        device.predict(meta.cache.for_models(fbnet), space=["fbnet"])


def test_adapt_errors_name_the_problem(trained):
    meta, _ = trained
    with pytest.raises(InvalidParameterError, match="suites of this checkpoint"):
        meta.adapt({"ofa_mbv3": [1.0]})
    with pytest.raises(InvalidParameterError, match="at most 4 timings"):
        meta.adapt({"nb201": [1.0] * 5})
    with pytest.raises(InvalidParameterError, match="anchor"):
        meta.adapt({"nb201": [float("nan"), 1.0]})
    with pytest.raises(InvalidParameterError, match="method"):
        meta.adapt({"nb201": [1.0]}, method="magic")


def test_every_method_adapts_and_fewlat_is_the_geometric_mean_of_its_two_networks(trained):
    meta, tables = trained
    table = tables["nb201"]
    timings = [table.lookup_ms(a, "epyc-mnn-1t") for a in meta.suites_["nb201"]]
    devices = {m: meta.adapt({"nb201": timings}, method=m) for m in METHODS}
    preds = {m: d.predict_archs("nb201", table.archs[:5]) for m, d in devices.items()}
    assert all(np.all(np.isfinite(p.latency_ms)) for p in preds.values())
    assert not np.allclose(preds["meta-only"].latency_ms, preds["gnn-finetune"].latency_ms)
    halves = preds["meta-only"].latency_ms * preds["gnn-finetune"].latency_ms
    np.testing.assert_allclose(preds["fewlat"].latency_ms, np.sqrt(halves), rtol=1e-5)
    # its shot errors (and so its interval) are those of the mean, shot by shot
    mean = np.mean([devices[m].shot_errors("nb201") for m in ("meta-only", "gnn-finetune")], 0)
    np.testing.assert_allclose(devices["fewlat"].shot_errors("nb201"), mean, rtol=1e-6)
    # the anchor is still predicted at exactly its measured time
    anchor = devices["fewlat"].predict_archs("nb201", [meta.suites_["nb201"][0]]).latency_ms
    assert anchor[0] == pytest.approx(timings[0], rel=1e-4)


def test_the_parts_of_fewlat_are_its_networks_as_their_own_methods_adapt_them(trained):
    meta, tables = trained
    table = tables["nb201"]
    timings = [table.lookup_ms(a, "epyc-mnn-1t") for a in meta.suites_["nb201"]]
    archs = list(table.archs[:6])
    parts = meta.adapt({"nb201": timings}).parts()
    assert list(parts) == ["meta-only", "gnn-finetune"]
    for method, part in parts.items():
        alone = meta.adapt({"nb201": timings}, method=method)
        a, b = part.predict_archs("nb201", archs), alone.predict_archs("nb201", archs)
        np.testing.assert_array_equal(a.latency_ms, b.latency_ms)
        np.testing.assert_array_equal(a.high_ms, b.high_ms)  # its own shot errors' interval
    single = meta.adapt({"nb201": timings}, method="zero-shot").parts()
    assert list(single) == ["zero-shot"]


def test_evaluate_reports_fewlat_beside_each_of_its_two_networks(trained):
    meta, tables = trained
    rows, runs = evaluate(meta, tables["nb201"], ["epyc-mnn-1t"], [3])  # never trained on
    methods = [r["method"] for r in rows]
    assert methods[:4] == ["fewlat", "meta-only", "gnn-finetune", "zero-shot"]
    assert [r["method"] for r in rows if "coverage" in r] == ["fewlat"]
    predicted = runs[0].predicted_ms
    halves = predicted["meta-only"] * predicted["gnn-finetune"]
    np.testing.assert_allclose(predicted["fewlat"], np.sqrt(halves), rtol=1e-5)


def test_without_the_pooled_network_fewlat_is_the_meta_network_alone(trained):
    meta, tables = trained
    table = tables["nb201"]
    timings = [table.lookup_ms(a, "epyc-mnn-1t") for a in meta.suites_["nb201"]]
    pooled_state = meta.adapt({"nb201": timings}, method="gnn-finetune").state_bytes("nb201")
    alone = copy.copy(meta)
    alone.baseline_ = None
    archs = list(table.archs[:5])
    np.testing.assert_array_equal(
        alone.adapt({"nb201": timings}).predict_archs("nb201", archs).latency_ms,
        meta.adapt({"nb201": timings}, method="meta-only").predict_archs("nb201", archs).latency_ms,
    )
    with pytest.raises(NotFittedError, match="no pooled"):
        alone.adapt({"nb201": timings}, method="gnn-finetune")
    with pytest.raises(NotFittedError, match="no pooled"):
        alone.restore({"nb201": pooled_state})


def test_stored_states_restore_every_method_and_the_one_network_states_of_before(trained):
    meta, tables = trained
    table = tables["nb201"]
    timings = [table.lookup_ms(a, "epyc-ort-1t-optall") for a in meta.suites_["nb201"]]
    archs = list(table.archs[:6])
    for method in METHODS:
        device = meta.adapt({"nb201": timings}, method=method)
        restored = meta.restore({"nb201": device.state_bytes("nb201")})
        a, b = device.predict_archs("nb201", archs), restored.predict_archs("nb201", archs)
        np.testing.assert_array_equal(a.latency_ms, b.latency_ms)
        np.testing.assert_array_equal(a.high_ms, b.high_ms)
    # a state stored before the ensemble: one network, and its "fewlat" was the meta one
    alone = meta.adapt({"nb201": timings}, method="meta-only")
    state = SuiteState.from_bytes(alone.state_bytes("nb201")).networks[0]
    before = save_tensors(
        {
            "film": state.film,
            "head": state.head,
            "scalars": torch.tensor(
                [timings[0], state.anchor_log_score, len(timings)], dtype=torch.float64
            ),
            "shot_errors": torch.tensor(state.shot_errors, dtype=torch.float64),
            "method": torch.tensor([0]),
        }
    )
    old = meta.restore({"nb201": before})
    np.testing.assert_array_equal(
        old.predict_archs("nb201", archs).latency_ms,
        alone.predict_archs("nb201", archs).latency_ms,
    )
    assert SuiteState.from_bytes(before).method == "meta-only"
    with pytest.raises(InvalidParameterError, match="recalibrate the device"):
        meta.restore({"nb201": b"not a state"})
    both = SuiteState.from_bytes(meta.adapt({"nb201": timings}).state_bytes("nb201"))
    both.networks[1].shot_errors = both.networks[1].shot_errors[:-1]  # not of the same shots
    with pytest.raises(InvalidParameterError, match="recalibrate the device"):
        meta.restore({"nb201": both.to_bytes()})
    with pytest.raises(InvalidParameterError, match="at least one state"):
        meta.restore({})


def test_adaptation_steps_can_be_set_per_call(trained):
    meta, tables = trained
    table = tables["nb201"]
    timings = [table.lookup_ms(a, "epyc-mnn-1t") for a in meta.suites_["nb201"]]
    archs = list(table.archs[:8])

    def ms(method: str = "meta-only", **kw) -> np.ndarray:
        device = meta.adapt({"nb201": timings}, method=method, **kw)
        return device.predict_archs("nb201", archs).latency_ms

    np.testing.assert_array_equal(ms(steps=meta.config.inner_steps), ms())  # the recipe's
    np.testing.assert_allclose(ms(steps=0), ms(method="zero-shot"), rtol=1e-6)
    more = ms(steps=20)
    assert np.all(np.isfinite(more)) and not np.allclose(more, ms())
    # fewlat's steps are each network's
    both = ms("fewlat", steps=20) ** 2
    np.testing.assert_allclose(both, more * ms("gnn-finetune", steps=20), rtol=1e-5)
    with pytest.raises(InvalidParameterError, match="'steps'"):
        meta.adapt({"nb201": timings}, steps=-1)


def test_a_device_whose_shots_disagree_gets_a_wider_interval(trained):
    meta, tables = trained
    assert meta.intervals_ is not None  # fitted on the held-out calibration devices
    table = tables["nb201"]
    timings = [table.lookup_ms(a, "epyc-ort-1t-optall") for a in meta.suites_["nb201"]]
    consistent = meta.adapt({"nb201": timings})
    noisy = meta.adapt({"nb201": [*timings[:2], 4.0 * timings[2], *timings[3:]]})
    assert 0 < consistent.shot_error("nb201") < noisy.shot_error("nb201")
    archs = list(table.archs[:5])
    widths = [
        np.log(p.high_ms / p.latency_ms)
        for p in (d.predict_archs("nb201", archs) for d in (consistent, noisy))
    ]
    assert np.all(widths[0] < widths[1])
    # one shot cannot be left out: no shot error, the floor-only width
    assert np.isnan(meta.adapt({"nb201": timings[:1]}).shot_error("nb201"))
    # the stored state keeps the shot error and the interval
    restored = meta.restore({"nb201": noisy.state_bytes("nb201")})
    assert restored.shot_error("nb201") == pytest.approx(noisy.shot_error("nb201"))
    again = restored.predict_archs("nb201", archs)
    np.testing.assert_allclose(np.log(again.high_ms / again.latency_ms), widths[1], rtol=1e-6)
    with pytest.raises(InvalidParameterError, match="one of"):
        consistent.shot_error("fbnet")


def test_shot_errors_are_the_shots_predicted_by_adaptations_without_them(trained):
    meta, tables = trained
    table = tables["nb201"]
    suite = meta.suites_["nb201"]
    timings = [table.lookup_ms(a, "epyc-ort-2t-optall") for a in suite]
    timings[2] = float("nan")  # not measured: not left out, not in the errors
    device = meta.adapt({"nb201": timings})
    expected = []
    for i in (1, 3):
        held = [float("nan") if j == i else t for j, t in enumerate(timings)]
        ms = meta.adapt({"nb201": held}).predict_archs("nb201", [suite[i]]).latency_ms[0]
        expected.append(np.log(ms / timings[i]))
    np.testing.assert_allclose(device.shot_errors("nb201"), expected, atol=1e-4)
    assert device.shot_error("nb201") == pytest.approx(
        np.sqrt(np.mean(np.square(expected))), abs=1e-4
    )


def test_checkpoint_round_trip_gives_identical_predictions(trained, tmp_path):
    meta, tables = trained
    save_checkpoint(meta, tmp_path / "ck")
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == [
        "config.json",
        "model.safetensors",
    ]
    loaded = load_checkpoint(tmp_path / "ck")
    assert loaded.suites_ == meta.suites_
    assert (
        loaded.info_["manifest"]["nb201"]["devices"] == meta.info_["manifest"]["nb201"]["devices"]
    )
    assert "epyc-mnn-1t" not in loaded.info_["manifest"]["nb201"]["devices"]
    table = tables["nb201"]
    timings = [table.lookup_ms(a, "epyc-ort-2t-optall") for a in meta.suites_["nb201"]]
    a = meta.adapt({"nb201": timings}).predict_archs("nb201", table.archs[:10])
    b = loaded.adapt({"nb201": timings}).predict_archs("nb201", table.archs[:10])
    np.testing.assert_allclose(a.latency_ms, b.latency_ms, rtol=1e-5)
    np.testing.assert_allclose(a.high_ms, b.high_ms, rtol=1e-5)


def test_loading_refuses_other_schema_and_missing_files(trained, tmp_path):
    import json

    meta, _ = trained
    with pytest.raises(InvalidParameterError, match="not a fewlat checkpoint"):
        load_checkpoint(tmp_path)
    save_checkpoint(meta, tmp_path / "ck")
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    config["feature_schema_version"] = 999
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidParameterError, match="feature schema 999"):
        load_checkpoint(tmp_path / "ck")
    save_checkpoint(meta, tmp_path / "ck")
    config = json.loads((tmp_path / "ck" / "config.json").read_text())
    config["intervals"] = {"scale": [0.3, 0.2]}  # no floor
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidParameterError, match="bad interval scales"):
        load_checkpoint(tmp_path / "ck")
    config["format"] = 1  # written before the interval scales
    (tmp_path / "ck" / "config.json").write_text(json.dumps(config))
    with pytest.raises(InvalidParameterError, match="checkpoint format 1"):
        load_checkpoint(tmp_path / "ck")


class _Stop(Exception):
    pass


@pytest.fixture
def one_thread():
    """Bit-exact training: on two threads some reductions sum in a varying order,
    and Adam turns those float differences into weights up to ~3e-6 apart."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_training_is_deterministic_and_resumes_exactly(tmp_path, one_thread):
    tables = {"nb201": read_pool([MEASURED], "nb201")}
    suites = [build_suite(tables["nb201"], size=3).to_dict()]
    config = replace(TINY, steps=4)
    straight = meta_train(tables, suites, config, baseline=False)

    def crash_at_step_3(phase, step, total, loss):
        if step == 3:
            raise _Stop

    with pytest.raises(_Stop):
        meta_train(
            tables, suites, config, resume_dir=tmp_path, save_every=1, baseline=False,
            on_progress=crash_at_step_3,
        )  # fmt: skip
    steps_seen = []
    resumed = meta_train(
        tables, suites, config, resume_dir=tmp_path, save_every=1, baseline=False,
        on_progress=lambda phase, step, total, loss: steps_seen.append(step),
    )  # fmt: skip
    assert steps_seen[0] == 3  # steps 1-2 were saved and not redone
    for k, v in straight.model_.state_dict().items():
        assert torch.equal(v, resumed.model_.state_dict()[k]), k


def test_watch_sees_the_network_after_every_step_of_each_phase_and_changes_nothing(one_thread):
    tables = {"nb201": read_pool([MEASURED], "nb201")}
    suites = [build_suite(tables["nb201"], size=3).to_dict()]
    config = replace(TINY, steps=4)
    seen, last_meta_head = [], []

    def watch(phase, trainer, loss):
        seen.append((phase, trainer.step))
        if phase == "meta" and trainer.step == config.steps:
            last_meta_head.append(trainer.model.head_init.detach().clone())

    meta = meta_train(tables, suites, config, watch=watch)
    baseline_steps = config.steps // 2
    assert seen == [("meta", s) for s in range(1, 5)] + [
        ("baseline", s) for s in range(1, baseline_steps + 1)
    ]
    # the trainer it is shown is the one whose network is returned
    assert torch.equal(last_meta_head[0], meta.model_.head_init)
    plain = meta_train(tables, suites, config)
    for k, v in plain.model_.state_dict().items():
        assert torch.equal(v, meta.model_.state_dict()[k]), k


def test_training_does_not_depend_on_what_the_graph_cache_held_before(one_thread):
    tables = {"nb201": read_pool([MEASURED], "nb201")}
    suites = [build_suite(tables["nb201"], size=3).to_dict()]
    config = replace(TINY, steps=4)
    warm = GraphCache(config.model.levels)
    spec = get_space("nb201")
    warm.for_archs("nb201", spec.sample(np.random.default_rng(11), 6))  # other archs first
    warm.for_archs("fbnet", [get_space("fbnet").supernet()])
    cold = meta_train(tables, suites, config, baseline=False)
    warmed = meta_train(tables, suites, config, baseline=False, cache=warm)
    for k, v in cold.model_.state_dict().items():
        assert torch.equal(v, warmed.model_.state_dict()[k]), k


def test_the_calibration_devices_calibrate_the_finished_networks_and_never_train_them(one_thread):
    table = read_pool([MEASURED], "nb201")
    suites = [build_suite(table, size=3).to_dict()]
    config = replace(TINY, steps=4)
    meta = meta_train({"nb201": table}, suites, config)
    held = meta.info_["calibration_devices"]
    assert held and meta.info_["recipe_version"] == RECIPE_VERSION
    assert meta.info_["metrics"]["held_out_calibration_devices"]["nb201"]["k3"]["devices"] == len(
        held
    )
    # other timings on the calibration devices: the same network, other intervals
    cols = [table.devices.index(d) for d in held]
    latency_ms = table.latency_ms.copy()
    latency_ms[:, cols] *= np.random.default_rng(0).uniform(0.5, 2.0, (len(table), len(cols)))
    moved = meta_train({"nb201": dataclasses.replace(table, latency_ms=latency_ms)}, suites, config)
    for network in ("model_", "baseline_"):  # neither network trains on them
        mine, theirs = getattr(meta, network), getattr(moved, network)
        for k, v in mine.state_dict().items():
            assert torch.equal(v, theirs.state_dict()[k]), (network, k)
    assert moved.info_["metrics"] != meta.info_["metrics"]
    assert moved.intervals_.to_dict() != meta.intervals_.to_dict()


@pytest.mark.parametrize("seed", range(5))
def test_the_calibration_split_gives_every_group_its_share(seed):
    # 3 groups of 20 / 10 / 5 devices: a fifth is 7, and each group gives its fifth, ±1
    sizes = {"gpu": 20, "phone": 10, "ours": 5}
    groups = {f"{g}-{i}": g for g, n in sizes.items() for i in range(n)}
    held = split_calibration_devices(groups, seed)
    reordered = dict(reversed(groups.items()))
    assert len(held) == 7 and held == split_calibration_devices(reordered, seed)
    for g, n in sizes.items():
        assert abs(sum(groups[d] == g for d in held) - n / 5) <= 1, g
    assert split_calibration_devices({"a": 1, "b": 1, "c": 2, "d": 2}, seed) == set()


def test_devices_measured_by_fewlat_run_onnx_and_others_the_eager_model(trained):
    from fewlat.meta.predictor import runs_eagerly

    meta, tables = trained
    table = tables["nb201"]
    measured = table.devices[0]
    assert "runtime" in table.device_info[measured]
    assert not runs_eagerly(table, measured)
    help_like = table.with_measurements("help-gpu", {table.archs[0]: 1.0})
    assert runs_eagerly(help_like, "help-gpu")
    assert runs_eagerly(table, measured, "eager") and not runs_eagerly(
        help_like, "help-gpu", "onnx"
    )
    # an eager device is scored on the eager graphs: another answer for an arch with 'none' edges
    arch = "|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|nor_conv_1x1~1|nor_conv_1x1~2|"
    timings = [table.lookup_ms(a, measured) for a in meta.suites_["nb201"]]
    onnx_ms = meta.adapt({"nb201": timings}).predict_archs("nb201", [arch]).latency_ms
    eager_ms = meta.adapt({"nb201": timings}, eager=True).predict_archs("nb201", [arch]).latency_ms
    assert eager_ms[0] != pytest.approx(onnx_ms[0])


def test_a_step_with_a_non_finite_loss_is_skipped_not_applied(monkeypatch):
    from fewlat.meta.predictor import GraphCache
    from fewlat.meta.predictor._train import SpaceData, Trainer

    table = read_pool([MEASURED], "nb201")
    suite = tuple(e["arch"] for e in build_suite(table, size=3).to_dict()["entries"])
    data = [SpaceData(table, suite, 0, tuple(table.devices))]
    trainer = Trainer(replace(TINY, steps=2), data, 1, GraphCache(TINY.model.levels))
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    real_loss = trainer.episode_loss
    monkeypatch.setattr(trainer, "episode_loss", lambda e: real_loss(e) * float("nan"))
    trainer.train(2)
    assert trainer.step == 2 and trainer.skipped_steps == 2
    for k, v in trainer.model.state_dict().items():
        assert torch.equal(v, before[k]), k  # nothing applied, nothing poisoned
    monkeypatch.setattr(trainer, "episode_loss", real_loss)
    trainer.train(3)
    assert trainer.skipped_steps == 2
    assert all(torch.isfinite(v).all() for v in trainer.model.state_dict().values())


def _nb201_trainer(config: TrainConfig):
    from fewlat.meta.predictor._train import SpaceData, Trainer

    table = read_pool([MEASURED], "nb201")
    suite = tuple(e["arch"] for e in build_suite(table, size=3).to_dict()["entries"])
    data = [SpaceData(table, suite, 0, tuple(table.devices))]
    return Trainer(config, data, 1, GraphCache(config.model.levels))


def test_the_learning_rate_decays_on_a_cosine_to_zero_at_the_last_step():
    trainer = _nb201_trainer(replace(TINY, steps=4, lr=0.01))
    assert [trainer.learning_rate(s) for s in (0, 2, 4)] == pytest.approx([0.01, 0.005, 0.0])
    trainer.train(2)
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(trainer.learning_rate(1))
    constant = _nb201_trainer(replace(TINY, steps=4, lr=0.01, lr_schedule="constant"))
    assert constant.learning_rate(3) == 0.01
    # configs written before the schedule existed trained at a constant rate
    old = TINY.to_dict()
    del old["lr_schedule"]
    assert TrainConfig.from_dict(old).lr_schedule == "constant"
    with pytest.raises(InvalidParameterError, match="unknown lr_schedule 'step'; use one of"):
        _nb201_trainer(replace(TINY, lr_schedule="step"))


def test_the_spread_loss_weighs_each_device_s_errors_by_its_archs_spread():
    from fewlat.meta.predictor._train import _MIN_SPREAD, query_loss

    target = torch.tensor([[0.0, 0.1, 0.2, 0.3], [0.0, 1.0, 2.0, 3.0]])
    error = torch.tensor([[0.05, -0.05, 0.05, -0.05], [0.5, -0.5, 0.5, -0.5]])
    # the same errors relative to each device's spread weigh the same
    per_device = [
        float(query_loss(target[d : d + 1] + error[d : d + 1], target[d : d + 1], "spread"))
        for d in range(2)
    ]
    assert per_device[0] == pytest.approx(per_device[1])
    spread = float(target[0].std())
    assert per_device[0] == pytest.approx(0.5 * (0.05 / spread) ** 2)
    # the Huber loss weighs absolute errors: the wide device's ten-fold errors weigh 36 times more
    huber = [
        float(query_loss(target[d : d + 1] + error[d : d + 1], target[d : d + 1], "huber"))
        for d in range(2)
    ]
    assert huber[0] == pytest.approx(0.5 * 0.05**2 / 0.1)
    assert huber[1] == pytest.approx(0.5 - 0.05)
    # a device whose archs all take the same time is divided by the floor, not by 0
    flat = torch.zeros(1, 4)
    assert float(query_loss(flat + 0.01, flat, "spread")) == pytest.approx(
        0.5 * (0.01 / _MIN_SPREAD) ** 2
    )
    # a recipe trains with it
    trainer = _nb201_trainer(replace(TINY, steps=2, loss="spread"))
    trainer.train(2)
    assert trainer.skipped_steps == 0
    # the Huber loss leaves the recipe's dict (and the keys hashed from it) as it was
    assert "loss" not in TINY.to_dict() and TrainConfig.from_dict(TINY.to_dict()).loss == "huber"
    spread_recipe = replace(TINY, loss="spread")
    assert TrainConfig.from_dict(spread_recipe.to_dict()) == spread_recipe
    with pytest.raises(InvalidParameterError, match="unknown loss 'l2'; use one of huber, spread"):
        _nb201_trainer(replace(TINY, loss="l2"))


def test_a_device_state_beyond_the_clamp_is_recorded_and_warned_about(trained):
    import copy

    from fewlat.meta.predictor import largest_device_state
    from fewlat.meta.predictor._fit import _check_device_state

    meta, tables = trained
    state = meta.info_["largest_device_state"]
    assert state == largest_device_state(meta, tables)
    assert 0 < state["value"] < 30 and state["space"] in tables and 3 <= state["shots"] <= 4
    assert state["device"] in tables[state["space"]].devices
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _check_device_state(state)  # healthy: silent
    drifted = copy.deepcopy(meta)
    with torch.no_grad():
        drifted.model_.head_init.fill_(45.0)  # a drifted network, as recipe 4's fold 3
    state = largest_device_state(drifted, tables)
    assert state["value"] >= 45
    with pytest.warns(RuntimeWarning, match=r"meta-training drifted: .* entry of 4[5-9], past"):
        _check_device_state(state)


def test_a_resumed_trainer_keeps_its_count_of_skipped_steps(tmp_path, monkeypatch):
    from safetensors.torch import load_file, save_file

    trainer = _nb201_trainer(replace(TINY, steps=2))
    real_loss = trainer.episode_loss
    monkeypatch.setattr(trainer, "episode_loss", lambda e: real_loss(e) * float("nan"))
    trainer.train(1)
    save_file(trainer.state_tensors(), tmp_path / "state.safetensors")
    resumed = _nb201_trainer(replace(TINY, steps=2))
    resumed.load_state_tensors(load_file(tmp_path / "state.safetensors"))
    assert resumed.skipped_steps == 1 and resumed.step == 1

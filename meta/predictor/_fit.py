"""The whole meta-training recipe: split, train both networks, calibrate intervals.

1. A deterministic fifth of the device names (all spaces together), stratified
   by which spaces a device has and how it was measured, is held out for
   calibration; the meta-model trains ``steps`` on the rest.
2. The same network trained without an inner loop (plain pooled training,
   ``steps // 2``, the same devices, the same learning-rate schedule) is the
   ``gnn-finetune`` baseline and the second half of ``fewlat``'s answer, the
   geometric mean of both adapted networks (``METHODS``). In recipe 6's CV the
   mean leads gnn-finetune on FBNet and OFA at every K and trails it on NB201
   by ≤ 0.001, and leads the meta network alone in 8 of 9 (space, K) cells
   (``benchmarks/cv_report.py``).
3. The held-out devices' errors of that answer, for every K, fit the 80%
   intervals (:class:`IntervalScales`, all spaces pooled), so the intervals
   belong to what ships (recipe 2 calibrated at ``steps`` and went on to train
   ``steps // 4`` more on every device). Their ρ and MAPE are the checkpoint's
   "metrics at training time". The calibration devices are never trained on,
   by either network (until recipe 6 the pooled one trained on every device).
   Those that have several spaces also fit the wider interval of models outside
   the answering suite's space (:func:`calibrate`).
4. The finished network's device state is checked (:func:`largest_device_state`,
   kept in ``info_``): a network that drifted past the log-price clamp, where
   adaptation stops moving predictions, warns (``RuntimeWarning``).

Progress is saved every ``save_every`` steps into ``resume_dir``; a rerun with
the same recipe continues from there.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save

from fewlat._files import replace_atomically
from fewlat.meta.metrics import mape, spearman
from fewlat.meta.predictor._cache import GraphCache
from fewlat.meta.predictor._descriptor import descriptor_vector
from fewlat.meta.predictor._execution import runs_eagerly
from fewlat.meta.predictor._graphset import GraphSet
from fewlat.meta.predictor._intervals import IntervalScales, ShotRecord
from fewlat.meta.predictor._model import MAX_LOG_PRICE
from fewlat.meta.predictor._predictor import DevicePredictor, MetaPredictor
from fewlat.meta.predictor._train import SpaceData, TrainConfig, Trainer
from fewlat.meta.tables import LatencyTable

__all__ = [
    "DEVICE_STATE_LIMIT",
    "RECIPE_VERSION",
    "Progress",
    "Watch",
    "calibrate",
    "calibration_groups",
    "largest_device_state",
    "meta_train",
    "split_calibration_devices",
]

#: (phase name, steps done, steps in phase, loss) → None
Progress = Callable[[str, int, int, float], None]
#: (phase name, the trainer after its step, loss) → None: a diagnostic's view of training
Watch = Callable[[str, Trainer, float], None]
_CALIBRATION_QUERIES = 400
#: bump when the recipe changes (saved progress and CV fold models are then redone);
#: 3: the calibration devices are never trained on, and calibrate the finished network;
#: 4: the calibration devices are a stratified sample (:func:`split_calibration_devices`);
#: 5: the learning rate decays on a cosine (``TrainConfig.lr_schedule``);
#: 6: the pooled network is not trained on the calibration devices either, and the
#: intervals calibrate ``fewlat``'s answer, the two networks' geometric mean
RECIPE_VERSION = 6
#: a FiLM or head entry beyond this puts log prices on their clamp, where the
#: inner loop's gradient is zero (healthy networks: 6–25; recipe 4's broken fold: 187)
DEVICE_STATE_LIMIT = MAX_LOG_PRICE


def split_calibration_devices(
    groups: Mapping[str, Hashable], seed: int, share: float = 0.2
) -> set[str]:
    """A deterministic ``share`` of the devices held out for interval calibration.

    Stratified by group: the devices are ordered by ``(group, random key)`` and
    every ``1 / share``-th one is taken from a random start (systematic
    sampling), so each group gives its proportional share, ±1. Replayed on the
    CV's networks (``benchmarks/intervals.py --draw``), a stratified fifth
    spreads the coverage between draws about a third less than a random fifth
    (5–6 devices, which could hold both noisy phones, or no measured device),
    and lands it in 0.75–0.85 as often as a random 40% does.

    Args:
        groups: ``{device name: group}``, e.g. the spaces it has and how it was measured.
        seed: the recipe's seed.
        share: fraction of the devices to hold out (none when there are ≤ 4).
    """
    names = sorted(groups)
    rng = np.random.default_rng(seed)
    count = max(1, round(share * len(names))) if len(names) > 4 else 0
    if not count:
        return set()
    keys = rng.random(len(names))
    order = sorted(range(len(names)), key=lambda i: (repr(groups[names[i]]), keys[i]))
    step = len(names) / count
    start = rng.random() * step
    return {names[order[int(start + i * step)]] for i in range(count)}


def calibration_groups(tables: Mapping[str, LatencyTable]) -> dict[str, tuple]:
    """``{device: group}`` for :func:`split_calibration_devices`: the spaces a
    device has a column in, each with whether it ran the eager model (HELP's
    devices) or fewlat's ONNX (devices fewlat measured), in ``tables``' order."""
    devices = sorted({d for t in tables.values() for d in t.devices})
    return {
        d: tuple((s, runs_eagerly(t, d)) for s, t in tables.items() if d in t.devices)
        for d in devices
    }


def _recipe_hash(config: TrainConfig, data: Sequence[SpaceData]) -> str:
    # the recipe version is in the hash: progress saved by another recipe is not resumed
    body = json.dumps(
        [
            config.to_dict(),
            [[d.table.space, d.suite, d.devices] for d in data],
            RECIPE_VERSION,
        ],
        sort_keys=True,
    )
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def _run(
    name: str,
    trainer: Trainer,
    steps: int,
    resume_dir: Path | None,
    save_every: int,
    on_progress: Progress | None,
    watch: Watch | None,
) -> None:
    state = resume_dir / f"{name}.safetensors" if resume_dir else None
    if state is not None and state.is_file():
        trainer.load_state_tensors(load_file(str(state)))

    def on_step(step: int, loss: float) -> None:
        if on_progress is not None:
            on_progress(name, step, steps, loss)
        if watch is not None:
            watch(name, trainer, loss)

    while trainer.step < steps:
        trainer.train(min(steps, trainer.step + save_every), on_step=on_step)
        if state is not None:
            replace_atomically(state, save(trainer.state_tensors()))


def largest_device_state(meta: MetaPredictor, tables: Mapping[str, LatencyTable]) -> dict:
    """The largest |FiLM| or |head| entry a fitted network gives any device.

    Every device of ``tables`` with the anchor of a suite is described by its
    first K suite timings, for K from the recipe's ``min_shots`` to the suite's
    length, as :meth:`MetaPredictor.adapt` would. Entries beyond
    :data:`DEVICE_STATE_LIMIT` mean a network that drifted in training.

    Args:
        meta: a fitted :class:`MetaPredictor` (its network, suites and recipe).
        tables: ``{space: table}`` holding the devices' suite timings (ms);
            spaces without a suite, or whose table lacks a suite arch, are skipped.

    Returns:
        ``{"value", "space", "device", "shots"}`` of the largest entry (value 0 if none).
    """
    largest = {"value": 0.0, "space": None, "device": None, "shots": None}
    names = list(meta.suites_)
    for slot, space in enumerate(names):
        table, suite = tables.get(space), meta.suites_[space]
        if table is None or any(a not in table for a in suite):
            continue
        rows = [table.row_of(a) for a in suite]
        cases = [
            (device, k, descriptor_vector(column[rows[:k]].tolist(), slot, len(names)))
            for device in table.devices
            if np.isfinite((column := table.column(device))[rows[0]])
            for k in range(min(meta.config.min_shots, len(suite)), len(suite) + 1)
        ]
        if not cases:
            continue
        with torch.no_grad():
            film, heads = meta.model_.device_state(
                torch.from_numpy(np.stack([c[2] for c in cases]))
            )
        size = torch.maximum(film.abs().flatten(1).amax(1), heads.abs().amax(1))
        i = int(size.argmax())
        if float(size[i]) > largest["value"]:
            largest = {
                "value": float(size[i]),
                "space": space,
                "device": cases[i][0],
                "shots": cases[i][1],
            }
    return largest


def _check_device_state(state: dict) -> None:
    if state["value"] > DEVICE_STATE_LIMIT:
        warnings.warn(
            f"meta-training drifted: the network gives {state['device']} ({state['space']}, "
            f"K={state['shots']}) a FiLM or head entry of {state['value']:.0f}, past the "
            f"±{DEVICE_STATE_LIMIT:.0f} log-price clamp (healthy networks stay under about 25), "
            f"so adaptation may not move its predictions; check the held-out metrics, and "
            f"retrain with another --seed",
            RuntimeWarning,
            stacklevel=3,
        )


def _fitted(trainer: Trainer, suites: Mapping[str, tuple[str, ...]]) -> MetaPredictor:
    meta = MetaPredictor(trainer.config, trainer.cache)
    meta.model_ = trainer.model.eval()
    meta.log_damping_ = trainer.log_damping.detach().clone()
    meta.baseline_ = None
    meta.suites_ = dict(suites)
    meta.intervals_ = None
    meta.info_ = {}
    return meta


def calibrate(
    meta: MetaPredictor, tables: Mapping[str, LatencyTable], devices: set[str], seed: int
) -> tuple[IntervalScales | None, dict[str, dict]]:
    """Interval scales (all spaces pooled) and held-out metrics per space and K.

    Each of ``devices`` (never trained on) is adapted on the first K timings of
    each suite it has, K = 1 … the suite's length, and predicts up to 400 of
    its other archs of that space. Adapted on a whole suite, it also predicts
    those archs of its other spaces (the errors behind ``outside``).

    Args:
        meta: the finished network.
        tables: ``{space: pooled table}``.
        devices: the held-out calibration devices.
        seed: seeds the query draws.

    Returns:
        ``(intervals, metrics)``: :class:`IntervalScales` (None without usable
        devices) and ``{space: {"k<K>": {"spearman", "mape", "devices"}}}``.
    """
    records: list[ShotRecord] = []
    metrics: dict[str, dict] = {}
    # (device, space) -> the graphs of its query archs and their timings
    queries: dict[tuple[str, str], tuple[GraphSet, np.ndarray]] = {}
    whole_suite: dict[tuple[str, str], DevicePredictor] = {}  # adapted on every suite timing
    rng = np.random.default_rng(seed)
    for space, suite in meta.suites_.items():
        table = tables[space]
        suite_rows = [table.row_of(a) for a in suite]
        others = np.setdiff1d(np.arange(len(table)), suite_rows)
        scores: dict[int, list[tuple[float, float]]] = {}
        for device in sorted(devices & set(table.devices)):
            column = table.column(device)
            if not np.isfinite(column[suite_rows[0]]):
                continue
            rows = others[np.isfinite(column[others])]
            if len(rows) < 10:
                continue
            rows = np.sort(
                rng.choice(rows, size=min(_CALIBRATION_QUERIES, len(rows)), replace=False)
            )
            archs = [table.archs[r] for r in rows]
            eager = runs_eagerly(table, device)
            graphs = meta.cache.for_archs(space, archs, eager=eager)
            queries[(device, space)] = (graphs, column[rows])
            for k in range(1, len(suite) + 1):
                timings = column[suite_rows[:k]].tolist()
                device_predictor = meta.adapt({space: timings}, eager=eager)
                predicted = device_predictor.predict(graphs, suite=space).latency_ms
                errors = np.abs(np.log(predicted) - np.log(column[rows]))
                records.append(ShotRecord(k, device_predictor.shot_error(space), errors))
                scores.setdefault(k, []).append(
                    (spearman(column[rows], predicted), mape(column[rows], predicted))
                )
            whole_suite[(device, space)] = device_predictor
        if not scores:
            continue
        metrics[space] = {
            f"k{k}": {
                "spearman": float(np.mean([s for s, _ in v])),
                "mape": float(np.mean([m for _, m in v])),
                "devices": len(v),
            }
            for k, v in scores.items()
        }
    outside = []  # |log residual| of each (device, suite, other space)
    for (device, space), adapted in whole_suite.items():
        for other in meta.suites_:
            if other != space and (device, other) in queries:
                graphs, measured_ms = queries[(device, other)]
                predicted = adapted.predict(graphs, suite=space, space=other).latency_ms
                outside.append(np.abs(np.log(predicted) - np.log(measured_ms)))
    return IntervalScales.fit(records, seed=seed, outside=outside), metrics


def meta_train(
    tables: Mapping[str, LatencyTable],
    suites: Sequence[dict],
    config: TrainConfig,
    *,
    exclude_devices: Sequence[str] = (),
    cache: GraphCache | None = None,
    resume_dir: str | os.PathLike[str] | None = None,
    save_every: int = 100,
    baseline: bool = True,
    on_progress: Progress | None = None,
    on_graph: Callable[[int], None] | None = None,
    watch: Watch | None = None,
) -> MetaPredictor:
    """Run the recipe of this module on pooled tables.

    Args:
        tables: ``{space: pooled table}`` for every suite's space.
        suites: suite dicts (``CalibrationSuite.to_dict()``), one per space.
        config: the training recipe.
        exclude_devices: device names never trained on (in any space).
        cache: graph cache to use and fill.
        resume_dir: where partial progress is kept (None: not kept).
        save_every: steps between saves.
        baseline: also train the pooled ``gnn-finetune`` network (half of
            ``fewlat``'s answer; without it, ``fewlat`` is ``meta-only``).
        on_progress: ``(phase, step, total, loss)`` after every step.
        on_graph: called once per graph built (graph-cache progress).
        watch: ``(phase, trainer, loss)`` after every step, for diagnostics that look
            at the network while it trains (``benchmarks/train_probe.py``); it must
            not change the trainer.

    Returns:
        A fitted :class:`MetaPredictor`; ``info_`` holds the suites, manifest and metrics.
    """
    cache = cache or GraphCache(config.model.levels)
    excluded = set(exclude_devices)
    names = [s["space"] for s in suites]
    archs = {s["space"]: tuple(e["arch"] for e in s["entries"]) for s in suites}
    all_devices = {d for space in names for d in tables[space].devices if d not in excluded}
    group_of = calibration_groups({s: tables[s] for s in names})
    held = split_calibration_devices({d: group_of[d] for d in all_devices}, config.seed)

    def data_for(keep: Callable[[str], bool]) -> list[SpaceData]:
        groups = []
        for slot, space in enumerate(names):
            table = tables[space]
            devices = [d for d in table.devices if d not in excluded and keep(d)]
            for eager in (False, True):
                chosen = tuple(d for d in devices if runs_eagerly(table, d) == eager)
                if chosen:
                    groups.append(SpaceData(table, archs[space], slot, chosen, eager))
        return groups

    full = data_for(lambda d: True)
    trained = data_for(lambda d: d not in held)
    resume = Path(resume_dir) if resume_dir is not None else None
    if resume is not None:
        resume = resume / _recipe_hash(config, full)
        resume.mkdir(parents=True, exist_ok=True)

    trainer = Trainer(config, trained, len(names), cache)
    trainer.prepare(full, on_new=on_graph)
    _run("meta", trainer, config.steps, resume, save_every, on_progress, watch)
    meta = _fitted(trainer, archs)
    state = largest_device_state(meta, tables)
    _check_device_state(state)
    if baseline:
        steps = config.steps // 2
        pooled = Trainer(replace(config, inner_steps=0), trained, len(names), cache, steps)
        _run("baseline", pooled, steps, resume, save_every, on_progress, watch)
        meta.baseline_ = pooled.model.eval()
    meta.intervals_, metrics = calibrate(meta, tables, held, config.seed)
    meta.info_ = {
        "suites": list(suites),
        "manifest": {
            space: {
                "devices": sorted(d for d in tables[space].devices if d not in excluded),
                "table_sha256": table_hash(tables[space]),
            }
            for space in names
        },
        "excluded_devices": sorted(excluded),
        "skipped_steps": trainer.skipped_steps,
        "largest_device_state": state,
        "calibration_devices": sorted(held),
        "recipe_version": RECIPE_VERSION,
        "metrics": {"held_out_calibration_devices": metrics},
    }
    return meta


def table_hash(table: LatencyTable) -> str:
    """SHA-256 over a table's archs, devices and values (the manifest's data hash)."""
    digest = hashlib.sha256()
    digest.update(json.dumps([table.space, list(table.archs), list(table.devices)]).encode())
    digest.update(np.ascontiguousarray(table.latency_ms).tobytes())
    return digest.hexdigest()

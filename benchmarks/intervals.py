"""The 80% interval: one width per space, or widths scaled by each device's shot error.

    python benchmarks/intervals.py [--folds 4] [--steps 1875] [--splits 200] [--draw stratified]

Every device of every space is adapted at K = 3, 5 and 10 by the CV fold model
that never saw it (``benchmarks/cv_report.py``'s, trained on first use), and
its query errors and leave-one-shot-out shot error are kept. Then the
recipe's calibration is replayed ``--splits`` times: a fifth of the device
names fits the intervals and the other devices are scored. ``--draw
stratified`` draws that fifth as ``meta_train`` does
(:func:`split_calibration_devices`, one seed per draw); ``--draw random``
draws it uniformly (the recipe before version 4). Schemes:

* ``per-space width``: the 80th percentile of |log error| per space and K
  (fewlat before the shot error);
* ``pooled width``: the same over all spaces;
* ``shot-error scaled`` (shipped): :class:`IntervalScales`, pooled over spaces.

Reports, per space and K, the mean over splits of the mean per-device
coverage, its spread between splits, and the mean distance of a device's own
coverage from 80%; the coverage when each fold model's own calibration
devices fit the intervals (what the CV measures: one draw per fold, not a
mean over draws); and how well a device's shot error ranks its query error.
Writes ``benchmarks/results/intervals.json`` and ``intervals.png``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fewlat.meta.metrics import spearman
from fewlat.meta.predictor import (
    IntervalScales,
    ShotRecord,
    calibration_groups,
    load_checkpoint,
    split_calibration_devices,
)
from fewlat.meta.tables import read_pool
from fewlat.service.cli import cv_fold_dir, kept_on_disk
from fewlat.service.handlers import BENCHMARK_FOLD_STEPS, held_out_cases

SHOTS = (3, 5, 10)
QUERIES = 1000
#: (space, record) → the log half-width a scheme gives that record
Width = Callable[[str, ShotRecord], float]


def _records(
    folds: int, steps: int, data: str
) -> tuple[list[tuple[str, str, ShotRecord]], dict[str, tuple[str, ...]], dict[str, tuple]]:
    """``(space, device, record)`` for every device and K; per device the
    calibration devices of the fold model that adapted it; and every device's
    calibration group, as ``meta_train`` forms them."""
    recipe = load_checkpoint()
    train = {s: read_pool(data.split(","), s) for s in recipe.suites_}
    rng = np.random.default_rng(0)
    out = []
    calibrated_by: dict[str, tuple[str, ...]] = {}
    with kept_on_disk(recipe.cache, None):
        cases = held_out_cases(
            recipe, train, list(train.values()), folds,
            fold_dir=cv_fold_dir(), steps=steps,
        )  # fmt: skip
        for meta, table, device, case in cases:
            space = table.space
            size = min(QUERIES, len(case.archs))
            rows = np.sort(rng.choice(len(case.archs), size, replace=False))
            archs = [case.archs[i] for i in rows]
            graphs = meta.cache.for_archs(space, archs, eager=case.eager)
            for k in SHOTS:
                adapted = meta.adapt({space: case.shots_ms[:k].tolist()}, eager=case.eager)
                predicted = adapted.predict(graphs, suite=space).latency_ms
                errors = np.abs(np.log(predicted) - np.log(case.measured_ms[rows]))
                out.append((space, device, ShotRecord(k, adapted.shot_error(space), errors)))
            calibrated_by[device] = tuple(meta.info_["calibration_devices"])
            print(f"{space} {device}: adapted at K = {SHOTS}", flush=True)
    return out, calibrated_by, calibration_groups(train)


def _own_calibration(
    records: Sequence[tuple[str, str, ShotRecord]], calibrated_by: dict[str, tuple[str, ...]]
) -> dict[str, dict[str, float]]:
    """Mean coverage per space and K when each fold model's own calibration devices
    (a fifth of its training names, as ``meta_train`` holds out) fit the intervals,
    as in the CV: their records come from the fold models that never saw them."""
    covered: dict[str, dict[str, list[float]]] = {}
    for held in set(calibrated_by.values()):
        scales = IntervalScales.fit([r for _, d, r in records if d in held])
        for space, device, r in records:
            if calibrated_by[device] == held:
                width = scales.half_width(r.shots, r.shot_error)
                covered.setdefault(space, {}).setdefault(f"k{r.shots}", []).append(
                    float(np.mean(r.abs_log_errors <= width))
                )
    return {
        s: {k: float(np.mean(by_k[k])) for k in sorted(by_k, key=lambda k: int(k[1:]))}
        for s, by_k in sorted(covered.items())
    }


def _schemes(calibration: Sequence[tuple[str, str, ShotRecord]]) -> dict[str, Width]:
    def quantile(keep: Callable[[str], bool], k: int) -> float:
        errors = [r.abs_log_errors[:400] for s, _, r in calibration if keep(s) and r.shots == k]
        return float(np.quantile(np.concatenate(errors), 0.8))

    spaces = {s for s, _, _ in calibration}
    per_space = {(s, k): quantile(lambda x, s=s: x == s, k) for s in spaces for k in SHOTS}
    pooled = {k: quantile(lambda x: True, k) for k in SHOTS}
    scales = IntervalScales.fit([r for _, _, r in calibration])
    return {
        "per-space width": lambda s, r: per_space[s, r.shots],
        "pooled width": lambda s, r: pooled[r.shots],
        "shot-error scaled": lambda s, r: scales.half_width(r.shots, r.shot_error),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/help,data/measured")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=BENCHMARK_FOLD_STEPS, help="the CV's steps")
    parser.add_argument("--splits", type=int, default=200)
    parser.add_argument("--share", type=float, default=0.2)
    parser.add_argument("--draw", choices=("stratified", "random"), default="stratified")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    records, calibrated_by, groups = _records(args.folds, args.steps, args.data)
    spaces = sorted({s for s, _, _ in records})
    names = sorted({d for _, d, _ in records})
    rng = np.random.default_rng(1)
    # scheme → space → K → [(mean coverage, mean |device coverage − 0.8|) per split]
    runs: dict[str, dict[str, dict[int, list[tuple[float, float]]]]] = {}
    last_split: dict[str, dict[str, list[float]]] = {}
    for split in range(args.splits):
        if args.draw == "stratified":
            held = split_calibration_devices({d: groups[d] for d in names}, split, args.share)
        else:
            held = set(rng.choice(names, size=round(args.share * len(names)), replace=False))
        calibration = [x for x in records if x[1] in held]
        if {s for s, _, _ in calibration} != set(spaces):
            continue  # a split without some space cannot give that space a width
        for scheme, width in _schemes(calibration).items():
            for space in spaces:
                for k in SHOTS:
                    covered = [
                        float(np.mean(r.abs_log_errors <= width(space, r)))
                        for s, d, r in records
                        if s == space and r.shots == k and d not in held
                    ]
                    runs.setdefault(scheme, {}).setdefault(space, {}).setdefault(k, []).append(
                        (float(np.mean(covered)), float(np.mean(np.abs(np.subtract(covered, 0.8)))))
                    )
                    if k == 10:
                        last_split.setdefault(scheme, {})[space] = covered
    result = {
        scheme: {
            space: {
                f"k{k}": {
                    "coverage_mean": float(np.mean([c for c, _ in v])),
                    "coverage_sd_between_splits": float(np.std([c for c, _ in v])),
                    "device_distance_from_0.8": float(np.mean([d for _, d in v])),
                    "splits_within_0.75_0.85": float(np.mean([0.75 <= c <= 0.85 for c, _ in v])),
                    "splits": len(v),
                }
                for k, v in by_k.items()
            }
            for space, by_k in by_space.items()
        }
        for scheme, by_space in runs.items()
    }
    own = _own_calibration(records, calibrated_by)
    agreement = {space: {f"k{k}": _agreement(records, space, k) for k in SHOTS} for space in spaces}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "intervals.json").write_text(
        json.dumps(
            {
                "draw": args.draw,
                "share": args.share,
                "schemes": result,
                "own_calibration_devices": own,
                "calibration_devices_per_fold": sorted(set(calibrated_by.values())),
                "shot_error_vs_query_error_spearman": agreement,
            },
            indent=1,
        )
    )
    print("shot error vs 80th-percentile query error, Spearman over devices:")
    for space, by_k in agreement.items():
        print(f"  {space:9s} " + "   ".join(f"{k}: {v:.2f}" for k, v in by_k.items()))
    for scheme, by_space in result.items():
        print(f"\n{scheme}: coverage mean ± sd between splits [mean |device coverage − 0.8|]")
        for space, by_k in by_space.items():
            cells = "   ".join(
                f"{k}: {v['coverage_mean']:.3f} ± {v['coverage_sd_between_splits']:.3f} "
                f"[{v['device_distance_from_0.8']:.2f}]"
                for k, v in by_k.items()
            )
            print(f"  {space:9s} {cells}")
        within = [v["splits_within_0.75_0.85"] for by_k in by_space.values() for v in by_k.values()]
        print(f"  splits whose mean coverage is within 0.75-0.85: {np.mean(within):.0%}")
    print("\nshot-error scaled, fitted on each fold model's own calibration devices (as the CV):")
    for space, by_k in own.items():
        print(f"  {space:9s} " + "   ".join(f"{k}: {v:.3f}" for k, v in by_k.items()))
    _plot(result, last_split, spaces, args.out / "intervals.png")


def _agreement(records: Sequence[tuple[str, str, ShotRecord]], space: str, k: int) -> float:
    """Do devices whose shots disagree get larger query errors? Spearman over devices."""
    mine = [r for s, _, r in records if s == space and r.shots == k]
    error = [np.quantile(r.abs_log_errors, 0.8) for r in mine]
    return spearman(np.array(error), np.array([r.shot_error for r in mine]))


def _plot(result: dict, last_split: dict, spaces: list[str], path: Path) -> None:
    schemes = list(result)
    fig, axes = plt.subplots(2, len(spaces), figsize=(4.5 * len(spaces), 7), squeeze=False)
    for col, space in enumerate(spaces):
        ax = axes[0, col]
        for i, scheme in enumerate(schemes):
            v = [result[scheme][space][f"k{k}"] for k in SHOTS]
            x = np.arange(len(SHOTS)) + (i - 1) * 0.22
            ax.errorbar(
                x,
                [c["coverage_mean"] for c in v],
                yerr=[c["coverage_sd_between_splits"] for c in v],
                fmt="o",
                capsize=3,
                label=scheme,
            )
        ax.axhspan(0.75, 0.85, color="green", alpha=0.12)
        ax.set_xticks(range(len(SHOTS)), [f"K={k}" for k in SHOTS])
        ax.set_ylim(0.4, 1.0)
        ax.set_title(f"{space}: mean coverage ± sd between splits")
        ax = axes[1, col]
        for scheme in schemes:
            covered = sorted(last_split[scheme][space])
            ax.plot(np.linspace(0, 1, len(covered)), covered, marker=".", label=scheme)
        ax.axhline(0.8, color="grey", lw=0.8)
        ax.set_xlabel("devices, sorted (one split, K=10)")
        ax.set_ylabel("device's own coverage")
    axes[0, 0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()

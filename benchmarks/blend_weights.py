"""How to weigh fewlat's two networks: the shipped 50/50 geometric mean against weights
taken from each device's own shot errors (tried, rejected).

    python benchmarks/blend_weights.py [--steps 1500] [--folds 4]

fewlat answers with the geometric mean of its meta network (``meta-only``) and its
pooled network fine-tuned on the shots (``gnn-finetune``). Each network also has
its own leave-one-shot-out error on the device, so a device could lean on the
network that predicts its shots better. Compared, in log space, weight ``w`` on
the meta network:

* ``50/50``: w = 0.5, as shipped;
* ``inverse shot MSE``: w = e_pooled² / (e_meta² + e_pooled²);
* ``half-way``: the mean of the two;
* ``lower shot error``: w = 1 or 0, whichever network's shot error is lower.

Reuses the fold models of ``benchmarks/cv_report.py`` (trained first if missing)
and scores every device with the fold model that never saw it. Prints mean
Spearman ρ and median MAPE per space, K and weighting, and writes
``benchmarks/results/blend_weights.json``.
"""

from __future__ import annotations

import numpy as np
from _fold_scores import (
    SHOTS,
    Scores,
    fold_parser,
    print_space,
    recipe_and_tables,
    space_cases,
    write_scores,
)

from fewlat.meta.metrics import mape, spearman
from fewlat.service.cli import kept_on_disk


def weights(meta_error: float, pooled_error: float) -> dict[str, float]:
    """The weight on the meta network's log prediction, per weighting."""
    known = np.isfinite(meta_error) and np.isfinite(pooled_error) and meta_error + pooled_error
    inverse = pooled_error**2 / (meta_error**2 + pooled_error**2) if known else 0.5
    return {
        "50/50": 0.5,
        "inverse shot MSE": inverse,
        "half-way": 0.5 * (0.5 + inverse),
        "lower shot error": float(meta_error < pooled_error) if known else 0.5,
    }


def main() -> None:
    args = fold_parser(__doc__, "benchmarks/results/blend_weights.json").parse_args()
    recipe, train = recipe_and_tables(args.data)
    scores: Scores = {}
    errors: Scores = {}
    with kept_on_disk(recipe.cache, None):
        for space in args.spaces.split(","):
            for meta, _, case in space_cases(recipe, train, space, args.folds, args.steps):
                for k in SHOTS:
                    adapted = meta.adapt({space: case.shots_ms[:k].tolist()}, eager=case.eager)
                    halves = adapted.parts()
                    mine, pooled = halves["meta-only"], halves["gnn-finetune"]
                    log_meta = np.log(mine.predict(case.graphs).latency_ms)
                    log_pooled = np.log(pooled.predict(case.graphs).latency_ms)
                    by_shots = weights(mine.shot_error(space), pooled.shot_error(space))
                    for name, w in by_shots.items():
                        predicted = np.exp(w * log_meta + (1 - w) * log_pooled)
                        scores.setdefault((space, name, k), []).append(
                            spearman(case.measured_ms, predicted)
                        )
                        errors.setdefault((space, name, k), []).append(
                            mape(case.measured_ms, predicted)
                        )
            print_space(scores, space, SHOTS)
            for name in dict.fromkeys(m for s, m, _ in errors if s == space):
                medians = [np.median(errors[(space, name, k)]) for k in SHOTS]
                cells = "  ".join(f"K={k}: {m:.3f}" for k, m in zip(SHOTS, medians, strict=True))
                print(f"{space:9s} {'MAPE ' + name:22s} {cells}", flush=True)
    write_scores(scores, args.out, args.folds, args.steps, mape=errors)


if __name__ == "__main__":
    main()

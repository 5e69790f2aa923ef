"""A candidate training recipe against the shipped one, by the same device-level CV.

    python benchmarks/recipe_cv.py [--loss spread] [--min-shots 10] [--drop-shot 0]
        [--steps 1875] [--folds 4] [--spaces nb201,fbnet,ofa_mbv3]

The candidate is the shipped checkpoint's recipe with the given options changed
(``TrainConfig.loss``, ``min_shots``, ``drop_shot``). Both recipes train the same
folds as ``benchmarks/cv_report.py`` (every device name in one fold, each fold
network trained without it, fold networks kept under the cache folder, so the
shipped recipe's come from an earlier ``cv_report.py`` run), and every device is
scored with the fold network of each recipe that never saw it: fewlat's mean
Spearman ρ and median MAPE per space and K, on the same devices and archs.

A recipe chosen from this table is a choice made on the evaluation folds; the
ablations on the fixed split (``benchmarks/ablations.py``) are the independent
evidence. Writes ``benchmarks/results/recipe_cv.json``: the candidate's options,
and ``rows``: ``{space, method ("shipped"|"candidate"), shots, spearman, devices}``
plus ``median_mape``.
"""

from __future__ import annotations

from _fold_scores import (
    SHOTS,
    Scores,
    candidate_recipe,
    fold_parser,
    print_space,
    recipe_and_tables,
    space_cases,
    write_scores,
)

from fewlat.meta.metrics import mape, spearman
from fewlat.service.cli import kept_on_disk


def main() -> None:
    parser = fold_parser(__doc__, "benchmarks/results/recipe_cv.json")
    parser.add_argument("--loss", default="spread", help="TrainConfig.loss of the candidate")
    parser.add_argument("--min-shots", type=int, default=10)
    parser.add_argument("--drop-shot", type=float, default=0.0)
    args = parser.parse_args()
    shipped, train = recipe_and_tables(args.data)
    options = {"loss": args.loss, "min_shots": args.min_shots, "drop_shot": args.drop_shot}
    candidate = candidate_recipe(shipped, **options)
    rho: Scores = {}
    error: Scores = {}
    with kept_on_disk(shipped.cache, None):
        for space in args.spaces.split(","):
            for name, recipe in (("shipped", shipped), ("candidate", candidate)):
                for meta, _, case in space_cases(recipe, train, space, args.folds, args.steps):
                    for k in SHOTS:
                        adapted = meta.adapt({space: case.shots_ms[:k].tolist()}, eager=case.eager)
                        ms = adapted.predict(case.graphs).latency_ms
                        rho.setdefault((space, name, k), []).append(spearman(case.measured_ms, ms))
                        error.setdefault((space, name, k), []).append(mape(case.measured_ms, ms))
            print_space(rho, space, SHOTS, width=10)
    write_scores(rho, args.out, args.folds, args.steps, mape=error, candidate=options)


if __name__ == "__main__":
    main()

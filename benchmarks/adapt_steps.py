"""How many adaptation steps: the meta network of fewlat's cross-validation fold models
(``meta-only``) adapted with other Gauss-Newton step counts than the recipe's
``inner_steps`` (the count it was meta-trained with, and ``adapt``'s default),
beside ``gnn-finetune`` and ``fewlat``, the geometric mean of the two as shipped.

    python benchmarks/adapt_steps.py [--steps 1500] [--folds 4] [--adapt 3,10,20,40]

Reuses the fold models of ``benchmarks/cv_report.py`` (same ``--steps`` and ``--folds``;
trained first if missing) and scores every device of each space with the model that
never saw it, as the CV does. Prints mean Spearman ρ per space, K and step count, and
writes ``benchmarks/results/adapt_steps.json``. The step counts are compared on the
same folds that report the CV, so picking one from this table is a choice made on the
evaluation data: a retrained recipe must confirm it.
"""

from __future__ import annotations

from _fold_scores import (
    SHOTS,
    Scores,
    fold_parser,
    print_space,
    recipe_and_tables,
    space_cases,
    write_scores,
)

from fewlat.meta.metrics import spearman
from fewlat.service.cli import kept_on_disk


def main() -> None:
    parser = fold_parser(__doc__, "benchmarks/results/adapt_steps.json")
    parser.add_argument("--adapt", default="3,10,20,40", help="adaptation steps to compare")
    args = parser.parse_args()
    recipe, train = recipe_and_tables(args.data)
    counts = sorted({*(int(n) for n in args.adapt.split(",")), recipe.config.inner_steps})
    scores: Scores = {}
    with kept_on_disk(recipe.cache, None):
        for space in args.spaces.split(","):
            for meta, _, case in space_cases(recipe, train, space, args.folds, args.steps):
                for k in SHOTS:
                    shots = {space: case.shots_ms[:k].tolist()}
                    predicted = {}
                    for n in counts:
                        adapted = meta.adapt(shots, method="meta-only", eager=case.eager, steps=n)
                        predicted[f"meta-only {n} steps"] = adapted.predict(case.graphs).latency_ms
                    fewlat = meta.adapt(shots, eager=case.eager)  # its pooled half: gnn-finetune
                    pooled = fewlat.parts()["gnn-finetune"]
                    predicted["gnn-finetune"] = pooled.predict(case.graphs).latency_ms
                    predicted["fewlat"] = fewlat.predict(case.graphs).latency_ms
                    for name, values in predicted.items():
                        scores.setdefault((space, name, k), []).append(
                            spearman(case.measured_ms, values)
                        )
            print_space(scores, space, SHOTS)
    write_scores(scores, args.out, args.folds, args.steps)


if __name__ == "__main__":
    main()

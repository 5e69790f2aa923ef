"""Device-level cross-validation of the shipped recipe on every device we have, all spaces.

    python benchmarks/cv_report.py [--folds 4] [--steps 1875] [--spaces nb201,fbnet,ofa_mbv3]
        [--loss spread] [--node-prices 16] [--target raw] [--out benchmarks/results]

The same as ``fewlat eval --cv FOLDS`` per space, with the fold models shared
by all spaces (every device name is in exactly one fold, and each fold model
never saw its fold's devices in any space). Also scores models outside the
training spaces: each fewlat-measured device, calibrated with another space's
suite (K = 10) by the fold model that never saw it, predicts the zoo and
resnet_prune models, and every held-out device, calibrated with one training
space's whole suite, predicts its other training spaces' archs; MAPE, ρ and the
80% interval's coverage per device. And checks each fold network's
device state (:func:`largest_device_state`: past ±30 a network has drifted).
With ``--loss``, ``--node-prices`` or ``--target`` the folds train a candidate
recipe instead: the shipped one with those changed (give it another ``--out``).

Writes ``benchmarks/results/cv_<space>.json`` (the ``eval --json`` format),
``cv_<space>.png``, ``cv_cross_space.json|png``, ``cv_folds.json`` and prints the
summary tables.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from _fold_scores import candidate_recipe

from fewlat.meta.evaluation import mean_scores, plot_evaluation, score
from fewlat.meta.predictor import (
    MetaPredictor,
    Prediction,
    largest_device_state,
    load_checkpoint,
    runs_eagerly,
)
from fewlat.meta.tables import LatencyTable, read_pool
from fewlat.service.cli import cv_fold_dir, kept_on_disk
from fewlat.service.handlers import BENCHMARK_FOLD_STEPS, cross_validate, fold_models

OUT_SPACES = ("zoo", "resnet_prune")


def _summary(rows: list[dict], space: str) -> None:
    shots = sorted({r["shots"] for r in rows})
    print(f"\n{space}: mean over {len({r['device'] for r in rows})} devices (ρ / MAPE)")
    rho, error = mean_scores(rows, "spearman"), mean_scores(rows, "mape")
    for method in rho:
        cells = [f"K={k}: {rho[method][k]:.3f} / {error[method][k]:.1%}" for k in shots]
        print(f"  {method:13s} " + "   ".join(cells))
    cover = {k: [r["coverage"] for r in rows if "coverage" in r and r["shots"] == k] for k in shots}
    cells = "   ".join(f"K={k}: {np.mean(c):.3f}" for k, c in cover.items())
    print(f"  fewlat 80% interval coverage, mean over devices: {cells}")


def _fold_checks(
    recipe: MetaPredictor,
    train: dict[str, LatencyTable],
    roots: list[str],
    n_folds: int,
    fold_dir: Path,
    steps: int,
) -> tuple[list[dict], list[dict]]:
    """One pass over the fold networks: each one's largest device state, and its
    held-out devices' predictions of models outside the suite's space (K = the
    whole suite): the other training spaces' archs (up to 500 per device), and
    for fewlat-measured devices the zoo and resnet_prune models. Returns (per
    fold, per device × suite × space, with the 80% interval's coverage)."""
    measured = [r for r in roots if Path(r, "zoo").is_dir()]
    targets = dict(train) | {s: read_pool(measured, s) for s in OUT_SPACES}
    names = sorted({d for t in train.values() for d in t.devices})
    rng = np.random.default_rng(0)
    folds, cross = [], []
    for held, meta in fold_models(recipe, train, names, n_folds, fold_dir=fold_dir, steps=steps):
        folds.append(
            {
                "held_out": held,
                "largest_device_state": largest_device_state(meta, train),
                "outside_half_width": meta.intervals_.outside if meta.intervals_ else None,
            }
        )
        for device in sorted(held):
            for suite_space, suite in meta.suites_.items():
                source = train[suite_space]
                if device not in source.devices or any(a not in source for a in suite):
                    continue
                column = source.column(device)
                timings = [float(column[source.row_of(a)]) for a in suite]
                if not np.isfinite(timings[0]):
                    continue
                adapted = meta.adapt({suite_space: timings}, eager=runs_eagerly(source, device))
                for space, table in targets.items():
                    if space == suite_space or device not in table.devices:
                        continue
                    y = table.column(device)
                    ok = np.flatnonzero(np.isfinite(y))
                    if len(ok) > 500:
                        ok = np.sort(rng.choice(ok, 500, replace=False))
                    archs = [table.archs[i] for i in ok]
                    graphs = meta.cache.for_archs(space, archs, eager=adapted.eager)
                    p = adapted.predict(graphs, suite=suite_space, space=space)
                    # the suite's own interval, as these models got before the outside width
                    own = adapted.predict(graphs, suite=suite_space)
                    cross.append(
                        {"device": device, "suite": suite_space, "space": space}
                        | score(y[ok], p.latency_ms)
                        | {
                            "coverage": _covered(p, y[ok]),
                            "coverage_own_width": _covered(own, y[ok]),
                        }
                    )
    return folds, cross


def _covered(prediction: Prediction, measured_ms: np.ndarray) -> float:
    """Share of ``measured_ms`` inside the prediction's 80% interval."""
    return float(np.mean((prediction.low_ms <= measured_ms) & (measured_ms <= prediction.high_ms)))


def _plot_cross(cross: list[dict], suites: list[str], spaces: list[str], path: Path) -> None:
    """Heat maps over (suite, space): median MAPE and mean 80%-interval coverage."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cells: dict[tuple[str, str], list[dict]] = {}
    for r in cross:
        cells.setdefault((r["suite"], r["space"]), []).append(r)

    def grid(metric: str, reduce) -> np.ndarray:
        return np.array(
            [
                [
                    reduce([r[metric] for r in cells[(a, b)]]) if (a, b) in cells else np.nan
                    for b in spaces
                ]
                for a in suites
            ]
        )

    panels = [
        ("median MAPE over devices", grid("mape", np.median), "{:.0%}", "magma_r", (0, 2)),
        ("mean 80%-interval coverage", grid("coverage", np.mean), "{:.2f}", "RdYlGn", (0.3, 0.8)),
    ]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), constrained_layout=True)
    for ax, (title, values, fmt, cmap, (lo, hi)) in zip(axes, panels, strict=True):
        image = ax.imshow(values, cmap=cmap, vmin=lo, vmax=hi)
        for (i, j), v in np.ndenumerate(values):
            if np.isfinite(v):
                dark = cmap == "magma_r" and v > lo + 0.6 * (hi - lo)
                ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=9,
                        color="white" if dark else "black")  # fmt: skip
        ax.set_xticks(range(len(spaces)), spaces, rotation=20)
        ax.set_yticks(range(len(suites)), [f"{a} suite" for a in suites])
        ax.set_title(title)
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.suptitle("models outside the calibrated suite's space (held-out devices, whole suite)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/help,data/measured")
    parser.add_argument("--spaces", default="nb201,fbnet,ofa_mbv3")
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument(
        "--steps",
        type=int,
        default=BENCHMARK_FOLD_STEPS,
        help="fold models' training steps (default: half the recipe's, as the README's figures)",
    )
    parser.add_argument("--shots", default="3,5,10")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--loss", help="a candidate recipe: TrainConfig.loss changed")
    parser.add_argument(
        "--node-prices", type=int, help="a candidate recipe: ModelConfig.node_prices changed"
    )
    parser.add_argument(
        "--target", choices=("ratio", "raw"), help="a candidate recipe: TrainConfig.target changed"
    )
    args = parser.parse_args()
    roots = args.data.split(",")
    shots = [int(k) for k in args.shots.split(",")]
    recipe = load_checkpoint()
    changes = {k: getattr(args, k) for k in ("loss", "target") if getattr(args, k) is not None}
    if changes or args.node_prices is not None:
        recipe = candidate_recipe(recipe, node_prices=args.node_prices, **changes)
    train = {s: read_pool(roots, s) for s in recipe.suites_}
    fold_dir = cv_fold_dir()
    args.out.mkdir(parents=True, exist_ok=True)
    with kept_on_disk(recipe.cache, None):
        for space in args.spaces.split(","):
            table = train[space]
            rows, runs = cross_validate(
                recipe, train, table, table.devices, args.folds, shots,
                fold_dir=fold_dir, steps=args.steps,
            )  # fmt: skip
            (args.out / f"cv_{space}.json").write_text(
                json.dumps({"space": space, "results": rows}, indent=1)
            )
            plot_evaluation(rows, runs, space, args.out / f"cv_{space}.png")
            _summary(rows, space)

        folds, cross = _fold_checks(recipe, train, roots, args.folds, fold_dir, args.steps)
    (args.out / "cv_folds.json").write_text(json.dumps(folds, indent=1))
    print("\nlargest device state of each fold network (drifted past 30), outside width:")
    for i, fold in enumerate(folds):
        state = fold["largest_device_state"]
        print(
            f"  fold {i}: {state['value']:.1f} ({state['device']}, {state['space']}, "
            f"K={state['shots']}); log half-width outside a suite's space "
            f"{fold['outside_half_width']:.3f}"
        )
    (args.out / "cv_cross_space.json").write_text(json.dumps(cross, indent=1))
    _plot_cross(cross, list(recipe.suites_), [*train, *OUT_SPACES], args.out / "cv_cross_space.png")
    print(
        "\nmodels outside the suite's space (the whole suite of another space), over devices:"
        "\n  mean / median MAPE, mean ρ, mean 80%-interval coverage"
    )
    for space in [*train, *OUT_SPACES]:
        for suite_space in recipe.suites_:
            sel = [r for r in cross if r["space"] == space and r["suite"] == suite_space]
            if not sel:
                continue
            error = [r["mape"] for r in sel]
            print(
                f"  {space:13s} suite {suite_space:9s} MAPE {np.mean(error):.0%} / "
                f"{np.median(error):.0%}  ρ {np.mean([r['spearman'] for r in sel]):.3f}  "
                f"coverage {np.mean([r['coverage'] for r in sel]):.2f} (with the suite's own "
                f"width {np.mean([r['coverage_own_width'] for r in sel]):.2f})  "
                f"({len(sel)} devices)"
            )


if __name__ == "__main__":
    main()

"""Ablations of the predictor's design on one fixed device split (quick).

    python benchmarks/ablations.py [--steps 800] [--seed 0] [--spaces nb201,fbnet,ofa_mbv3]
        [--variants base,no-op-prices,pooled,raw,no-meta,no-supernet,half-devices,
                    quarter-devices,wide,more-resources,spread-loss,all-shots,
                    spread-all-shots,node-prices,node-prices-64,spread-node-prices,
                    spread-all-shots-node-prices] [--out FILE.json] [--plot FILE.png]

Every variant is meta-trained on the same training devices (every fourth
device name, sorted, is held out, in every space) and scored on the held-out
devices of each space, on up to 3000 random archs plus the suite, at K = 3 and 10:

* ``base``: the shipped recipe (ratio target, additive readout with op prices,
  meta-learned inner loop);
* ``no-op-prices``: the additive readout without the head's per-op prices;
* ``pooled``: mean-pooled readout instead of the additive one;
* ``raw``: log latency as the target instead of log(latency / anchor);
* ``no-meta``: plain pooled training, then fine-tuning on the shots (``gnn-finetune``);
* ``no-supernet``: suites without their anchor (the supernet, or the
  largest arch): the first reference becomes the anchor, so the descriptor
  and the ratio target never see the supernet, and K shots are K references;
* ``half-devices`` / ``quarter-devices``: half (every other one) / a quarter (every
  fourth one, a subset of that half) of the training devices: with ``base``, the
  number of pooled training devices against accuracy.
* ``wide``: node states of 128 instead of 64 (capacity);
* ``more-resources``: 8 priced resources per base quantity instead of 4 (capacity).
* ``spread-loss``: each device's query errors in units of its archs' spread
  (``TrainConfig.loss = "spread"``).
* ``all-shots``: every training episode adapts on the whole suite (``min_shots``
  10, no dropped shots) instead of K drawn from 3 to 10 with 10% of shots dropped;
  it is still scored at K = 3 and 10.
* ``spread-all-shots``: both.
* ``node-prices`` / ``node-prices-64``: the head also prices 16 / 64 learned
  directions of the node state (``ModelConfig.node_prices``).
* ``spread-node-prices``: the spread loss and 16 node prices (the candidate
  recipe of ``cv_report.py --loss spread --node-prices 16``);
  ``spread-all-shots-node-prices``: that with all shots.

Besides the held-out scores, ``seen_k10`` is each space's mean ρ at K = 10 on the
devices the variant trained on (same archs): how well the network fits devices it
was trained on. Where that is far below ``benchmarks/ceiling.py``'s many-shot
reference, the network does not fit those devices, whatever the adaptation does.

Writes ``benchmarks/results/ablations.json``:
``{variant: {space: {k3, k10, seen_k10}, steps, recipe_version, feature_schema,
seed, train_devices, train_s}}`` (the key is ``"<variant> seed <n>"`` for a
``--seed`` other than 0), adding to what is there (runs with different
``--variants`` or ``--seed`` may share ``--out``), and draws every variant in the
file next to it (``--plot``, default the same name with ``.png``): mean ρ at K = 3
and 10 per space, and ρ against the number of training devices. ``--variants ''``
trains nothing and only redraws the plot of what ``--out`` holds.
Graphs come from the graph cache (``FEWLAT_CACHE_DIR``), so ``train_s`` is training alone.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from fewlat._files import replace_atomically
from fewlat.hwdesc import build_suite
from fewlat.meta.evaluation import evaluate, mean_scores
from fewlat.meta.features import FEATURE_SCHEMA_VERSION
from fewlat.meta.predictor import (
    RECIPE_VERSION,
    GraphCache,
    ModelConfig,
    TrainConfig,
    meta_train,
)
from fewlat.meta.tables import LatencyTable, read_pool
from fewlat.service.cli import kept_on_disk

SPACES = ("nb201", "fbnet", "ofa_mbv3")


def _subset(table: LatencyTable, rows: np.ndarray) -> LatencyTable:
    return LatencyTable(
        table.space,
        table.idx[rows],
        tuple(table.archs[r] for r in rows),
        table.devices,
        table.latency_ms[rows],
        table.device_info,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/help,data/measured")
    parser.add_argument("--steps", type=int, default=800)
    parser.add_argument("--spaces", default=",".join(SPACES))
    parser.add_argument(
        "--variants",
        default="base,no-op-prices,pooled,raw,no-meta,no-supernet,half-devices,wide,more-resources",
    )
    parser.add_argument("--seed", type=int, default=0, help="the recipe's seed (weights, draws)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ablations.json"))
    parser.add_argument("--plot", type=Path, help="default: --out with .png")
    args = parser.parse_args()
    if args.variants == "":  # only redraw the plot of what --out holds
        _plot(json.loads(args.out.read_text()), args.plot or args.out.with_suffix(".png"))
        return
    roots = args.data.split(",")
    tables = {s: read_pool(roots, s) for s in SPACES}
    names = sorted({d for t in tables.values() for d in t.devices})
    held = names[1::4]
    kept = [d for d in names if d not in held]
    train = {s: t.select_devices([d for d in t.devices if d in kept]) for s, t in tables.items()}
    suites = [build_suite(t).to_dict() for t in train.values()]
    scored = {}
    for suite in suites:
        if suite["space"] not in args.spaces.split(","):
            continue
        table = tables[suite["space"]]
        suite_rows = {table.row_of(e["arch"]) for e in suite["entries"]}
        rng = np.random.default_rng(0)
        drawn = rng.choice(len(table), min(3000, len(table)), replace=False)
        scored[suite["space"]] = _subset(table, np.array(sorted(set(drawn) | suite_rows)))
    with kept_on_disk(GraphCache(ModelConfig().levels), None) as cache:
        _run_variants(args, train, suites, scored, held, kept, cache)


def _run_variants(
    args: argparse.Namespace,
    train: dict[str, LatencyTable],
    suites: list[dict],
    scored: dict[str, LatencyTable],
    held: list[str],
    kept: list[str],
    cache: GraphCache,
) -> None:
    """Meta-train and score each of ``args.variants``; add each result to ``args.out``."""
    base = TrainConfig(steps=args.steps, seed=args.seed)
    priced = replace(base, model=replace(base.model, node_prices=16))
    variants = {
        "base": (base, ()),
        "no-op-prices": (replace(base, model=replace(base.model, op_prices=False)), ()),
        "pooled": (replace(base, model=replace(base.model, readout="pooled")), ()),
        "raw": (replace(base, target="raw"), ()),
        "no-meta": (replace(base, inner_steps=0), ()),
        "half-devices": (base, tuple(kept[1::2])),
        "quarter-devices": (base, tuple(d for i, d in enumerate(kept) if i % 4)),
        "no-supernet": (base, ()),
        "wide": (replace(base, model=replace(base.model, hidden=128)), ()),
        "more-resources": (replace(base, model=replace(base.model, resources=8)), ()),
        "spread-loss": (replace(base, loss="spread"), ()),
        "all-shots": (replace(base, min_shots=10, drop_shot=0.0), ()),
        "spread-all-shots": (replace(base, loss="spread", min_shots=10, drop_shot=0.0), ()),
        "node-prices": (priced, ()),
        "node-prices-64": (replace(base, model=replace(base.model, node_prices=64)), ()),
        "spread-node-prices": (replace(priced, loss="spread"), ()),
        "spread-all-shots-node-prices": (
            replace(priced, loss="spread", min_shots=10, drop_shot=0.0),
            (),
        ),
    }
    no_anchor = [{**s, "entries": s["entries"][1:]} for s in suites]
    for name in args.variants.split(","):
        config, dropped = variants[name]
        start = time.perf_counter()
        meta = meta_train(
            train,
            no_anchor if name == "no-supernet" else suites,
            config,
            exclude_devices=dropped,
            cache=cache,
            baseline=False,
        )
        method = "fewlat"
        if config.inner_steps == 0:  # score the pooled network the way gnn-finetune adapts
            meta.baseline_, method = meta.model_, "gnn-finetune"
        result = {
            "steps": args.steps,
            "recipe_version": RECIPE_VERSION,
            "feature_schema": FEATURE_SCHEMA_VERSION,
            "seed": args.seed,
            "train_devices": len(kept) - len(dropped),
            "train_s": time.perf_counter() - start,
        }
        for space, table in scored.items():
            method_rows, _ = evaluate(meta, table, [d for d in held if d in table.devices], [3, 10])
            rho = mean_scores(method_rows, "spearman")[method]
            error = mean_scores(method_rows, "mape")[method]
            result[space] = {f"k{k}": {"spearman": rho[k], "mape": error[k]} for k in (3, 10)}
            trained = [d for d in kept if d in table.devices and d not in dropped]
            seen_rows, _ = evaluate(meta, table, trained, [10])
            result[space]["seen_k10"] = mean_scores(seen_rows, "spearman")[method][10]
        print(name, json.dumps(result), flush=True)
        # read again before writing: several runs (--variants split) may share --out
        args.out.parent.mkdir(parents=True, exist_ok=True)
        results = json.loads(args.out.read_text()) if args.out.is_file() else {}
        key = name if args.seed == 0 else f"{name} seed {args.seed}"
        results = {**results, key: result}
        replace_atomically(args.out, json.dumps(results, indent=1))
        _plot(results, args.plot or args.out.with_suffix(".png"))


def _plot(results: dict[str, dict], path: Path) -> None:
    """Bars of mean ρ (K = 3 light, K = 10 dark) per variant and space, ``base`` and
    its seeds first; the device counts' ρ (``base``, ``half-devices``,
    ``quarter-devices``) as lines, K = 10 solid and K = 3 dashed."""
    spaces = [s for s in SPACES if any(s in r for r in results.values())]
    names = sorted(results, key=lambda n: (not n.startswith("base"), n != "base"))
    fig, axes = plt.subplots(1, len(spaces) + 1, figsize=(4.2 * (len(spaces) + 1), 4.5))
    for ax, space in zip(axes[:-1], spaces, strict=True):
        y = np.arange(len(names))
        for offset, k, alpha in ((-0.2, "k3", 0.45), (0.2, "k10", 1.0)):
            rho = [results[n].get(space, {}).get(k, {}).get("spearman", np.nan) for n in names]
            ax.barh(y + offset, rho, height=0.4, alpha=alpha, color="C0", label=f"K={k[1:]}")
        ax.set_yticks(y, names if ax is axes[0] else [""] * len(names))
        ax.invert_yaxis()
        finite = [
            r[space][k]["spearman"] for r in results.values() if space in r for k in ("k3", "k10")
        ]
        ax.set_xlim(min(finite) - 0.03, min(1.0, max(finite) + 0.02))
        ax.set_title(space)
        ax.set_xlabel("mean Spearman ρ, held-out devices")
    fig.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=2)
    counted = [n for n in ("quarter-devices", "half-devices", "base") if n in results]
    ax = axes[-1]
    for i, space in enumerate(spaces):
        for k, style in (("k10", "o-"), ("k3", "o--")):
            points = [
                (results[n]["train_devices"], results[n][space][k]["spearman"])
                for n in counted
                if "train_devices" in results[n] and space in results[n]
            ]
            if points:
                label = f"{space} K={k[1:]}"
                ax.plot(*zip(*points, strict=True), style, color=f"C{i}", label=label)
    ax.set_xlabel("training devices (all spaces)")
    ax.set_ylabel("mean ρ, held-out devices")
    ax.set_title("pooled training devices")
    if ax.lines:
        ax.legend(fontsize=7, ncol=2, loc="center right")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    main()

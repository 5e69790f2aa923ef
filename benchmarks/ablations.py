"""Ablations of the predictor's design on one fixed device split (quick, NB201).

    python benchmarks/ablations.py [--steps 800] [--variants base,pooled,raw,no-meta,half-devices]

Every variant is meta-trained on the same training devices (every fourth
device name, sorted, is held out, in every space) and scored on the held-out
NB201 devices, on 3000 random archs plus the suite, at K = 3 and 10:

* ``base``: the shipped recipe (ratio target, additive readout, meta-learned inner loop);
* ``pooled``: mean-pooled readout instead of the additive one;
* ``raw``: log latency as the target instead of log(latency / anchor);
* ``no-meta``: plain pooled training, then fine-tuning on the shots (``gnn-finetune``);
* ``half-devices``: half of the training devices (every other one).

Writes ``benchmarks/results/ablations.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from fewlat.hwdesc import build_suite
from fewlat.meta.evaluation import evaluate, mean_scores
from fewlat.meta.predictor import GraphCache, ModelConfig, TrainConfig, meta_train
from fewlat.meta.tables import LatencyTable, read_pool

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
    parser.add_argument("--variants", default="base,pooled,raw,no-meta,half-devices")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ablations.json"))
    args = parser.parse_args()
    roots = args.data.split(",")
    tables = {s: read_pool(roots, s) for s in SPACES}
    names = sorted({d for t in tables.values() for d in t.devices})
    held = names[1::4]
    kept = [d for d in names if d not in held]
    train = {s: t.select_devices([d for d in t.devices if d in kept]) for s, t in tables.items()}
    suites = [build_suite(t).to_dict() for t in train.values()]
    nb201 = tables["nb201"]
    suite_rows = {nb201.row_of(e["arch"]) for e in suites[0]["entries"]}
    rng = np.random.default_rng(0)
    rows = np.array(sorted(set(rng.choice(len(nb201), 3000, replace=False)) | suite_rows))
    scored = _subset(nb201, rows)
    cache = GraphCache(ModelConfig().levels)
    base = TrainConfig(steps=args.steps)
    variants = {
        "base": (base, ()),
        "pooled": (replace(base, model=replace(base.model, readout="pooled")), ()),
        "raw": (replace(base, target="raw"), ()),
        "no-meta": (replace(base, inner_steps=0), ()),
        "half-devices": (base, tuple(kept[1::2])),
    }
    results = json.loads(args.out.read_text()) if args.out.is_file() else {}
    for name in args.variants.split(","):
        config, dropped = variants[name]
        start = time.perf_counter()
        meta = meta_train(
            train, suites, config, exclude_devices=dropped, cache=cache, baseline=False
        )
        method = "fewlat"
        if config.inner_steps == 0:  # score the pooled network the way gnn-finetune adapts
            meta.baseline_, method = meta.model_, "gnn-finetune"
        method_rows, _ = evaluate(meta, scored, [d for d in held if d in nb201.devices], [3, 10])
        rho = mean_scores(method_rows, "spearman")[method]
        error = mean_scores(method_rows, "mape")[method]
        results[name] = {f"k{k}": {"spearman": rho[k], "mape": error[k]} for k in (3, 10)} | {
            "steps": args.steps,
            "train_s": time.perf_counter() - start,
        }
        print(name, json.dumps(results[name]), flush=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

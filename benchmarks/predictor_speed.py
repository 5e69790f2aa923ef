"""Predictor speed: adaptation, scoring every NB201 arch, scoring fresh ONNX bytes.

    python benchmarks/predictor_speed.py [--checkpoint CKPT] [--out OUT.json]

Figures (medians of ``--repeats`` runs, one process, this machine):

* ``adapt_s``: ``MetaPredictor.adapt`` from 10 suite timings;
* ``score_all_nb201_warm_s``: 15,625 arch strings with graphs cached and the
  device's node values computed once (``archs_per_s`` alongside);
* ``score_all_nb201_first_s``: the same right after adaptation (node values
  of every cached colour computed in that call);
* ``graph_cache_build_s``: building the 15,625 graphs from ONNX (once per machine);
* ``fresh_onnx_models_per_s``: 1000 new ONNX models (bytes → graph → prediction).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from fewlat.meta.predictor import GraphCache, load_checkpoint
from fewlat.spaces import get_space


def _timed(func, repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    parser.add_argument("--cache-dir", type=Path, default=None, help="reuse a saved graph cache")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--fresh", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/predictor_speed.json"))
    args = parser.parse_args()

    meta = load_checkpoint(args.checkpoint)
    cache = meta.cache
    space = get_space("nb201")
    archs = list(space.enumerate())
    start = time.perf_counter()
    if args.cache_dir is None or not cache.load(args.cache_dir) or cache.missing("nb201", archs):
        cache.for_archs("nb201", archs)
        if args.cache_dir is not None:
            cache.save(args.cache_dir)
    build_s = time.perf_counter() - start

    suite = meta.suites_["nb201"]
    timings = [float(t) for t in np.linspace(10.0, 4.0, len(suite))]
    adapt_s, device = _timed(lambda: meta.adapt({"nb201": timings}), args.repeats)
    first_s, _ = _timed(lambda: meta.adapt({"nb201": timings}).predict_archs("nb201", archs), 3)
    device.predict_archs("nb201", archs)
    warm_s, prediction = _timed(lambda: device.predict_archs("nb201", archs), args.repeats)

    fresh = [
        get_space("fbnet").to_onnx(a)
        for a in get_space("fbnet").sample(np.random.default_rng(7), args.fresh)
    ]

    def score_fresh() -> None:
        meta.cache = GraphCache(meta.config.model.levels)  # nothing cached: every model is new
        meta.adapt({"nb201": timings}).predict_models(fresh)

    fresh_s, _ = _timed(score_fresh, 1)
    meta.cache = cache
    result = {
        "adapt_s": adapt_s,
        "score_all_nb201_warm_s": warm_s,
        "archs_per_s": len(archs) / warm_s,
        "score_all_nb201_first_s": first_s,
        "graph_cache_build_s": build_s,
        "fresh_onnx_models": args.fresh,
        "fresh_onnx_s": fresh_s,
        "fresh_onnx_models_per_s": args.fresh / fresh_s,
        "colours": cache.arrays().n_colours,
        "predictions_finite": bool(np.isfinite(prediction.latency_ms).all()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

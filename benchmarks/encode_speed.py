"""Foundation figures: build + encode + featurise speed, and memory of encoding NB201.

Run: ``python benchmarks/encode_speed.py [--count 1000] [--json OUT.json]``

Prints, on this machine:

* per space (nb201, fbnet): wall time for ``count`` random archs and the per-model
  median of build (``Space.to_onnx``), encode, featurise and their sum;
* the light ResNet-50 and DenseNet-121 shipped in the onnx wheel: median ms of
  encode + featurise over 20 runs;
* peak RSS growth while encoding all 15,625 nb201 archs and keeping the graphs
  (skip with ``--no-memory``; it takes a couple of minutes).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import time

import numpy as np
import onnx

from fewlat.meta.features import featurize
from fewlat.meta.graph import encode
from fewlat.spaces import get_space

LIGHT = os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data", "light")


def _ms(seconds: list[float]) -> float:
    return round(statistics.median(seconds) * 1e3, 3)


def space_pipeline(space_name: str, count: int, seed: int = 0) -> dict:
    space = get_space(space_name)
    archs = space.sample(np.random.default_rng(seed), count)
    build, enc, feat, total, nodes = [], [], [], [], []
    wall = time.perf_counter()
    for arch in archs:
        t0 = time.perf_counter()
        data = space.to_onnx(arch)
        t1 = time.perf_counter()
        graph = encode(data)
        t2 = time.perf_counter()
        featurize(graph)
        t3 = time.perf_counter()
        build.append(t1 - t0)
        enc.append(t2 - t1)
        feat.append(t3 - t2)
        total.append(t3 - t0)
        nodes.append(graph.n_nodes)
    return {
        "space": space_name,
        "models": count,
        "wall_s": round(time.perf_counter() - wall, 2),
        "median_nodes": statistics.median(nodes),
        "build_ms": _ms(build),
        "encode_ms": _ms(enc),
        "featurize_ms": _ms(feat),
        "total_ms": _ms(total),
        "p90_total_ms": round(float(np.percentile(total, 90)) * 1e3, 3),
    }


def light_model(name: str, repeats: int = 20) -> dict:
    with open(os.path.join(LIGHT, name), "rb") as f:
        data = f.read()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        graph = encode(data)
        featurize(graph)
        times.append(time.perf_counter() - t0)
    return {"model": name, "nodes": graph.n_nodes, "encode_featurize_ms": _ms(times)}


def nb201_memory() -> dict:
    space = get_space("nb201")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    graphs = [encode(space.to_onnx(arch)) for arch in space.enumerate()]
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "graphs": len(graphs),
        "wall_s": round(wall, 1),
        "peak_rss_mib": round(peak / 1024, 1),
        "peak_rss_growth_mib": round((peak - before) / 1024, 1),
        "kib_per_graph": round((peak - before) / len(graphs), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--no-memory", action="store_true")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()

    results: dict = {"pipeline": [], "light": []}
    for space_name in ("nb201", "fbnet"):
        row = space_pipeline(space_name, args.count)
        results["pipeline"].append(row)
        print(json.dumps(row))
    for name in ("light_resnet50.onnx", "light_densenet121.onnx"):
        row = light_model(name)
        results["light"].append(row)
        print(json.dumps(row))
    if not args.no_memory:
        results["nb201_memory"] = nb201_memory()
        print(json.dumps(results["nb201_memory"]))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()

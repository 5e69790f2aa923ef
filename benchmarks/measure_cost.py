"""Cost of one measurement: wall time to time one nb201 and one ofa model with the default method.

    python benchmarks/measure_cost.py --repeats 3

Per runner configuration, the wall time of ``runner.measure(onnx_bytes)`` with
the default :class:`TimingMethod`: session creation (and the MNN conversion,
with an empty cache), warm-up and timed runs; building the ONNX is excluded.
This is the number a prediction has to beat. Medians over ``--repeats``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from fewlat.clients.runners import MnnConversionCache, MnnRunner, OnnxRuntimeRunner, Runner
from fewlat.spaces import get_space

#: the ofa arch timed: HELP's first OFA arch (at its own resolution 204)
OFA_ARCH = (
    "ks=7-5-5-5-7-7-5-7-5-7-3-7-5-3-7-3-5-3-5-3:e=6-4-4-6-6-3-4-3-3-6-3-3-3-6-3-4-6-4-3-6"
    ":d=2-2-2-2-3:r=204"
)
NB201_ARCH = (
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+"
    "|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|"
)


def _runners() -> dict[str, Runner]:
    return {
        "ort 1 thread": OnnxRuntimeRunner(threads=1),
        "ort 2 threads": OnnxRuntimeRunner(threads=2),
        "mnn 1 thread": MnnRunner(threads=1, cache=MnnConversionCache(max_entries=1)),
        "mnn 2 threads": MnnRunner(threads=2, cache=MnnConversionCache(max_entries=1)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/measure_cost.json"))
    args = parser.parse_args()
    models = {
        "nb201": get_space("nb201").to_onnx(NB201_ARCH, with_weights=True),
        "ofa": get_space("ofa_mbv3").to_onnx(OFA_ARCH, with_weights=True),
    }
    rows = []
    for name, make_fresh in ((n, lambda n=n: _runners()[n]) for n in _runners()):
        for space, model in models.items():
            walls, medians = [], []
            for _ in range(args.repeats):
                runner = make_fresh()  # fresh conversion cache: the cost a board pays once
                start = time.perf_counter()
                m = runner.measure(model)
                walls.append(time.perf_counter() - start)
                medians.append(m.median_ms)
            rows.append(
                {
                    "runner": name,
                    "space": space,
                    "wall_s": float(np.median(walls)),
                    "latency_ms": float(np.median(medians)),
                }
            )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"repeats": args.repeats, "results": rows}, indent=2) + "\n")
    table = Table("runner", "model", "wall time per measurement", "model latency")
    for r in rows:
        table.add_row(r["runner"], r["space"], f"{r['wall_s']:.2f} s", f"{r['latency_ms']:.2f} ms")
    Console().print(table)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

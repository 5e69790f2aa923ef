"""How much do K suite timings reveal? fewlat's greedy references vs random vs HELP's.

    python benchmarks/suite_choice.py --help-root ../shared/data/help --measured data/measured

For each space with HELP data, every suite is the anchor plus references from
one method: ``greedy`` (fewlat's, chosen on the pooled data as shipped),
``random`` (5 seeds, mean) and ``help`` (HELP's fixed reference indices).
The score is leave-one-device-out over HELP's devices: from a device's first K
suite timings, predict every arch of the table by a ridge map fitted on the
other devices (the device-mix reader of the timings), then Spearman ρ. It
measures the suite, independently of the GNN.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from fewlat.hwdesc import build_suite, complete_rows, lodo_predictions, select_references
from fewlat.meta.metrics import spearman
from fewlat.meta.tables import read_pool, read_table, space_folder

SHOTS = (3, 5, 10)


def lodo_spearman(lat: np.ndarray, shot_rows: list[int], k: int) -> float:
    """Mean over devices of ρ of the ridge prediction from the first k shot rows."""
    y = np.log(lat) - np.log(lat[shot_rows[0]])[None, :]
    pred = lodo_predictions(y, np.array(shot_rows[1:k], dtype=np.int64))
    return float(np.mean([spearman(lat[:, j], np.exp(pred[:, j])) for j in range(y.shape[1])]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--help-root", type=Path, default=Path("../shared/data/help"))
    parser.add_argument("--measured", type=Path, default=Path("data/measured"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/suite_choice.json"))
    args = parser.parse_args()
    help_idx = json.loads((args.help_root / "help_reference_idx.json").read_text())
    results = {}
    for space in ("nb201", "fbnet", "ofa_mbv3"):
        folder = space_folder(args.help_root, space)
        table = read_table(args.help_root, folder)
        rows = complete_rows(table, table.devices)
        pooled = read_pool([args.help_root, args.measured], space)
        suite = build_suite(pooled)
        row = {a: i for i, a in enumerate(table.archs)}
        greedy = [row[a] for a in suite.archs]
        anchor = greedy[0]
        by_idx = {int(i): r for r, i in enumerate(table.idx.tolist())}
        help_rows = [by_idx[i] for i in help_idx[folder]]
        helps = [anchor, *select_references(table, anchor, 9, method="help", help_rows=help_rows)]
        lat = table.latency_ms[rows]
        pos = {r: i for i, r in enumerate(rows.tolist())}
        scores = {"greedy": {}, "random": {}, "help": {}}
        randoms = []
        for seed in range(5):
            refs = select_references(
                pooled, pooled.row_of(table.archs[anchor]), 9, method="random", seed=seed
            )
            randoms.append([anchor, *[row[pooled.archs[r]] for r in refs]])
        for k in SHOTS:
            scores["greedy"][k] = lodo_spearman(lat, [pos[r] for r in greedy], k)
            scores["help"][k] = lodo_spearman(lat, [pos[r] for r in helps], k)
            scores["random"][k] = float(
                np.mean([lodo_spearman(lat, [pos[r] for r in rr], k) for rr in randoms])
            )
        results[space] = {"devices": len(table.devices), "archs": len(rows), **scores}
        print(space, json.dumps(results[space]))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

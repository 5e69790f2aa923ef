"""Noise floor of fewlat's measured configurations: the same archs timed in two separate passes.

    python benchmarks/noise_floor.py --reference data/measured

For each configuration of ``measured_dataset.py``, the first 100 nb201 and 100
fbnet archs of the campaign are timed again, in a pass of their own (pass 2),
and compared with pass 1: the campaign's values in ``--reference``, or, without
it, a first pass run here. Reported per configuration and space: the median
|Δ|/y between passes, Acc@5% and Acc@10% of pass 2 against pass 1, and the
Spearman ρ between passes. No predictor can be more accurate than this.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
from measured_dataset import campaign_archs, make_runners
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from fewlat.clients import measure_table
from fewlat.meta.metrics import acc_within, median_relative_error, spearman
from fewlat.meta.tables import LatencyTable, read_table

SPACES = ("nb201", "fbnet")


def _measure_pass(root: Path, help_root: Path, count: int, label: str) -> dict[str, LatencyTable]:
    runners = make_runners()
    tables = {}
    with Progress() as progress:
        for space in SPACES:
            archs = campaign_archs(space, help_root, count)
            task = progress.add_task(f"{label} {space}", total=len(archs))
            tables[space] = measure_table(
                runners,
                space,
                archs,
                root,
                on_block=lambda done, total, t=task: progress.update(t, completed=done),
            )
    return tables


def compare(first: LatencyTable, second: LatencyTable, device: str) -> dict[str, float]:
    """Pass-2-against-pass-1 figures on the archs both passes hold."""
    archs = [a for a in second.archs if a in first]
    y = first.column(device)[[first.row_of(a) for a in archs]]  # NaN: not measured
    p = second.column(device)[[second.row_of(a) for a in archs]]
    keep = np.isfinite(y) & np.isfinite(p)
    y, p = y[keep], p[keep]
    return {
        "n": int(y.size),
        "median_rel_diff": median_relative_error(y, p),
        "acc5": acc_within(y, p, 0.05),
        "acc10": acc_within(y, p, 0.10),
        "spearman": spearman(y, p),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--help-root", type=Path, default=Path("../shared/data/help"))
    parser.add_argument("--reference", type=Path, help="pass 1 (default: measured here)")
    parser.add_argument("--count", type=int, default=100, help="archs per space")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/noise_floor.json"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fewlat-noise-") as tmp:
        if args.reference:
            first = {s: read_table(args.reference, s) for s in SPACES}
        else:
            first = _measure_pass(Path(tmp) / "pass1", args.help_root, args.count, "pass 1")
        second = _measure_pass(Path(tmp) / "pass2", args.help_root, args.count, "pass 2")
    rows = [
        {"device": device, "space": space, **compare(first[space], second[space], device)}
        for space in SPACES
        for device in second[space].devices
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"count": args.count, "results": rows}, indent=2) + "\n")
    table = Table("device", "space", "n", "median |Δ|/y", "Acc@5%", "Acc@10%", "Spearman ρ")
    for r in rows:
        table.add_row(
            r["device"],
            r["space"],
            str(r["n"]),
            f"{r['median_rel_diff']:.2%}",
            f"{r['acc5']:.1%}",
            f"{r['acc10']:.1%}",
            f"{r['spearman']:.4f}",
        )
    Console().print(table)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

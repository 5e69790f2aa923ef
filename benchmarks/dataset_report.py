"""How different fewlat's measured configurations are, from each other and from HELP's devices.

    python benchmarks/dataset_report.py --measured data/measured --help-root ../shared/data/help

Per space: the Spearman ρ between every pair of measured configurations (on
the archs both hold), and for each configuration the closest HELP device (the
highest ρ on shared archs). Writes JSON and a heat-map plot per space.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fewlat.meta.metrics import spearman
from fewlat.meta.tables import LatencyTable, list_table_spaces, read_pool, read_table


def _rho(table: LatencyTable, a: str, b: str) -> tuple[float, int]:
    x, y = table.column(a), table.column(b)
    both = np.isfinite(x) & np.isfinite(y)
    return (spearman(x[both], y[both]) if both.sum() >= 3 else float("nan")), int(both.sum())


def report(measured: Path, help_root: Path | None) -> dict:
    """Counts, noisy cells, pairwise ρ and the closest HELP device, per space."""
    out: dict = {"spaces": {}}
    for folder in list_table_spaces(measured):
        own = read_table(measured, folder)
        ours = sorted(own.devices)
        pairwise = [[_rho(own, a, b)[0] for b in ours] for a in ours]
        entry = {
            "archs": len(own),
            "measured_cells": int(np.isfinite(own.latency_ms).sum()),
            "noisy_cells": {
                d: len(own.device_info.get(d, {}).get("noisy_archs", [])) for d in ours
            },
            "devices": ours,
            "pairwise_spearman": pairwise,
        }
        if help_root is not None:
            try:
                pool = read_pool([help_root, measured], folder)
            except Exception:  # the space has no HELP table (resnet_prune, zoo)
                pool = None
            if pool is not None and len(pool.devices) > len(ours):
                theirs = [d for d in pool.devices if d not in ours]
                closest = {}
                for device in ours:
                    scored = [(_rho(pool, device, h), h) for h in theirs]
                    (rho, n), name = max(scored, key=lambda s: s[0][0])
                    closest[device] = {"help_device": name, "spearman": rho, "n": n}
                entry["closest_help_device"] = closest
        out["spaces"][own.space] = entry
    size = sum(p.stat().st_size for p in measured.rglob("*") if p.is_file())
    out["dataset_bytes"] = size
    return out


def plot(result: dict, path: Path) -> None:
    """One heat map of pairwise ρ per space."""
    spaces = list(result["spaces"])
    rows = (len(spaces) + 2) // 3
    fig, axes = plt.subplots(rows, 3, figsize=(17, 5.6 * rows), squeeze=False)
    for ax in axes.flat[len(spaces) :]:
        ax.axis("off")
    for ax, space in zip(axes.flat, spaces):  # noqa: B905 - spare axes are switched off
        entry = result["spaces"][space]
        names = [d.removeprefix("epyc-") for d in entry["devices"]]
        matrix = np.array(entry["pairwise_spearman"])
        image = ax.imshow(matrix, vmin=0.5, vmax=1.0, cmap="viridis")
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        ax.set_yticks(range(len(names)), names, fontsize=7)
        ax.set_title(f"{space}: Spearman ρ between configurations", fontsize=9)
        for i in range(len(names)):
            for j in range(len(names)):
                ax.text(
                    j,
                    i,
                    f"{matrix[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=5,
                    color="white" if matrix[i, j] < 0.85 else "black",
                )
    fig.colorbar(image, ax=axes.ravel().tolist(), shrink=0.6)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measured", type=Path, default=Path("data/measured"))
    parser.add_argument("--help-root", type=Path, default=Path("../shared/data/help"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/dataset_report.json"))
    parser.add_argument(
        "--plot", type=Path, default=Path("benchmarks/results/dataset_spearman.png")
    )
    args = parser.parse_args()
    help_root = args.help_root if args.help_root.is_dir() else None
    result = report(args.measured, help_root)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    plot(result, args.plot)
    print(f"dataset: {result['dataset_bytes'] / 1e6:.2f} MB")
    for space, entry in result["spaces"].items():
        matrix = np.array(entry["pairwise_spearman"])
        off = matrix[~np.eye(len(matrix), dtype=bool)]
        print(
            f"{space}: {entry['archs']} archs, pairwise ρ min {off.min():.3f} "
            f"median {np.median(off):.3f} max {off.max():.3f}"
        )
        for device, near in entry.get("closest_help_device", {}).items():
            print(f"  {device}: closest HELP device {near['help_device']} ρ={near['spearman']:.3f}")
    print(f"wrote {args.out} and {args.plot}")


if __name__ == "__main__":
    main()

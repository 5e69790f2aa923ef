"""The evaluation figure: measured vs predicted per device, and ρ / MAPE against shots."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from fewlat.meta.evaluation._evaluate import DeviceRun, mean_scores

__all__ = ["plot_evaluation"]


def plot_evaluation(
    rows: Sequence[dict], runs: Sequence[DeviceRun], space: str, out: str | os.PathLike[str]
) -> Path:
    """Write a PNG: one scatter per device (largest K, log axes, 80% intervals),
    then mean ρ and MAPE against K for every method."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    devices = list(dict.fromkeys(r.device for r in runs))
    top = {
        r.device: r for r in runs if r.shots == max(x.shots for x in runs if x.device == r.device)
    }
    columns = 4
    scatter_rows = max(1, -(-len(devices) // columns))
    fig = plt.figure(figsize=(4 * columns, 3.6 * (scatter_rows + 1)))
    for i, device in enumerate(devices):
        run = top[device]
        ax = fig.add_subplot(scatter_rows + 1, columns, i + 1)
        y, p = run.measured_ms, run.predicted_ms["fewlat"]
        ax.vlines(y, run.low_ms, run.high_ms, color="0.85", lw=0.5, zorder=1)
        ax.scatter(y, p, s=3, alpha=0.5, zorder=2)
        lo, hi = float(min(y.min(), p.min())), float(max(y.max(), p.max()))
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(f"{device} (K={run.shots})", fontsize=9)
        ax.set_xlabel("measured ms", fontsize=8)
        ax.set_ylabel("predicted ms", fontsize=8)
    shots = sorted({r["shots"] for r in rows})
    for j, (metric, label) in enumerate((("spearman", "mean Spearman ρ"), ("mape", "mean MAPE"))):
        ax = fig.add_subplot(scatter_rows + 1, 2, 2 * scatter_rows + j + 1)
        for method, by_k in mean_scores(rows, metric).items():
            ax.plot(
                list(by_k), list(by_k.values()), marker="o", label=method,
                lw=2 if method == "fewlat" else 1,
            )  # fmt: skip
        ax.set_xlabel("shots K")
        ax.set_ylabel(label)
        ax.set_xticks(shots)
        ax.grid(alpha=0.3)
        if j == 0:
            ax.legend(fontsize=8)
    fig.suptitle(f"fewlat eval: {space}, {len(devices)} devices")
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out

"""Shared by the benchmarks that score variants on the CV's fold networks
(``adapt_steps.py``, ``device_basis.py``): mean Spearman ρ per (space, variant, K)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: (space, variant, K) → one Spearman ρ per held-out device
Scores = dict[tuple[str, str, int], list[float]]


def print_space(scores: Scores, space: str, shots: tuple[int, ...], width: int = 22) -> None:
    """One line per variant of ``space``, in first-scored order: mean ρ at each K."""
    for name in dict.fromkeys(m for s, m, _ in scores if s == space):
        cells = "  ".join(
            f"K={k}: {np.mean(scores[(space, name, k)]):.3f} ({len(scores[(space, name, k)])})"
            for k in shots
        )
        print(f"{space:9s} {name:{width}s} {cells}", flush=True)


def write_scores(scores: Scores, path: Path, folds: int, steps: int) -> None:
    """``{"folds", "steps", "rows": [{space, method, shots, spearman (mean), devices}]}``."""
    rows = [
        {"space": s, "method": m, "shots": k, "spearman": float(np.mean(v)), "devices": len(v)}
        for (s, m, k), v in scores.items()
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"folds": folds, "steps": steps, "rows": rows}, indent=1))

"""Can fewlat's network represent one device at all? It is trained on that device alone.

    python benchmarks/single_device_fit.py [--space fbnet]
        [--devices gold_6240,silver_4114,silver_4210r,titanx_64] [--steps 3000]

For each device, a fresh :class:`LatencyGNN` of the shipped design (no device
conditioning: a zero descriptor, and one head trained with the weights) is fitted
by full-batch Adam to the log latency of up to 1500 archs of a seeded half (A) of
the device's archs, and scored on up to 1500 of the other half (B). Set beside
``benchmarks/ceiling.py``'s per-device linear model and the meta network's fit of
the devices it was trained on (``ablations.py``'s ``seen_k10``): where this one is
high and the meta network's is low, the design can represent the device and the
meta-training is what does not get there.

Prints and writes ``benchmarks/results/single_device_fit.json``:
``{space, steps, devices: {device: {"half_a": ρ, "half_b": ρ, "archs_a", "archs_b"}}}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from _fold_scores import arch_halves

from fewlat.meta.metrics import spearman
from fewlat.meta.predictor import GraphCache, LatencyGNN, ModelConfig, runs_eagerly
from fewlat.meta.tables import LatencyTable, read_pool
from fewlat.service.cli import kept_on_disk

HALF_ARCHS = 1500


def fit_device(
    table: LatencyTable, device: str, cache: GraphCache, steps: int
) -> dict[str, float | int]:
    """ρ on half A (fitted) and half B (held out) of one device's archs."""
    column = table.column(device)
    measured = np.isfinite(column) & (column > 0)
    half_a = arch_halves(table)
    rows_a = np.flatnonzero(measured & half_a)[:HALF_ARCHS]
    rows_b = np.flatnonzero(measured & ~half_a)[:HALF_ARCHS]
    archs = [table.archs[r] for r in np.r_[rows_a, rows_b]]
    graphs = cache.for_archs(table.space, archs, eager=runs_eagerly(table, device))
    colours, counts = graphs.restricted()
    n_nodes = counts.sum(dim=1)
    torch.manual_seed(0)
    config = ModelConfig()
    model = LatencyGNN(config)
    head = torch.nn.Parameter(torch.zeros(model.head_size))
    optimizer = torch.optim.Adam([*model.parameters(), head], lr=3e-3)
    target = torch.tensor(np.log(column[rows_a]), dtype=torch.float32)
    descriptor = torch.zeros(1, config.descriptor_size)

    def log_ms() -> torch.Tensor:
        film, _ = model.device_state(descriptor)
        values = model.node_values(model.embed(colours, film)[0], head, colours.base)
        return model.log_score(values, counts, n_nodes)

    for _ in range(steps):
        loss = torch.nn.functional.mse_loss(log_ms()[: len(rows_a)], target)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = log_ms().exp().numpy()
    return {
        "half_a": spearman(column[rows_a], predicted[: len(rows_a)]),
        "half_b": spearman(column[rows_b], predicted[len(rows_a) :]),
        "archs_a": len(rows_a),
        "archs_b": len(rows_b),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/help,data/measured")
    parser.add_argument("--space", default="fbnet")
    parser.add_argument("--devices", default="gold_6240,silver_4114,silver_4210r,titanx_64")
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/single_device_fit.json")
    )
    args = parser.parse_args()
    table = read_pool(args.data.split(","), args.space)
    found = {}
    with kept_on_disk(GraphCache(ModelConfig().levels), None) as cache:
        for device in args.devices.split(","):
            found[device] = fit_device(table, device, cache, args.steps)
            print(device, json.dumps(found[device]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    result = {"space": args.space, "steps": args.steps, "devices": found}
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

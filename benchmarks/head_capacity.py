"""What the adapted head can express: a CV fold network's fit of its own training devices.

    python benchmarks/head_capacity.py [--space fbnet] [--fold 0] [--archs 300] [--steps 300]

For every device of ``--space`` that the CV fold network ``--fold`` (of
``benchmarks/cv_report.py``, kept under the cache folder) was trained on, each
device's archs outside the suite are split into the seeded halves A and B
(``_fold_scores.arch_halves``, the same for every device), and the
network ranks up to 1500 archs of half B (Spearman ρ) after four fits:

* ``suite``: adapted as shipped, on the device's whole suite (K = 10);
* ``head``: the device vector from the suite, then the head alone fitted on the
  anchor and ``--archs`` archs of half A (20 damped Gauss-Newton steps, as
  adaptation fits it to shots, with a small damping, e⁻⁵);
* ``node-prices``: from there, plus one log price per coordinate of the node
  state (a node's cost times ``exp(h · w)``, w fitted too): what pricing
  directions of the node state (``ModelConfig.node_prices``) can reach;
* ``device-vector``: from there, the device vector itself (FiLM and head offset)
  and the head fitted.

Those two fits are ``--steps`` Adam steps on the squared error of log(ms / anchor ms).
A device whose ``head`` fit stays far below ``node-prices`` or ``device-vector``
is one the body's node states can describe but the head's prices cannot.
Writes ``benchmarks/results/head_capacity_<space>.json``: ρ per device and fit.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from _fold_scores import arch_halves, recipe_and_tables

from fewlat.meta.metrics import spearman
from fewlat.meta.predictor import MetaPredictor, runs_eagerly
from fewlat.meta.predictor._adapt import adapt_heads, shot_targets
from fewlat.meta.predictor._descriptor import descriptor_vector
from fewlat.meta.tables import LatencyTable
from fewlat.service.cli import cv_fold_dir, kept_on_disk
from fewlat.service.handlers import BENCHMARK_FOLD_STEPS, fold_models

FITS = ("suite", "head", "node-prices", "device-vector")
_SCORED = 1500


def _fit(params: list[torch.Tensor], loss: Callable[[], torch.Tensor], steps: int) -> None:
    optimizer = torch.optim.Adam(params, lr=0.01)
    for _ in range(steps):
        optimizer.zero_grad()
        loss().backward()
        optimizer.step()


def _device_fits(
    meta: MetaPredictor, table: LatencyTable, device: str, n_fit: int, steps: int
) -> dict[str, float] | None:
    space, model = table.space, meta.model_
    suite, names = list(meta.suites_[space]), list(meta.suites_)
    timings = [table.lookup_ms(a, device) for a in suite]
    if not np.isfinite(timings[0]):
        return None
    eager = runs_eagerly(table, device)
    column = table.latency_ms[:, table.devices.index(device)]
    usable = np.isfinite(column)
    usable[[table.row_of(a) for a in suite]] = False
    half_a = arch_halves(table)
    fit_rows = np.flatnonzero(usable & half_a)[:n_fit]
    scored_rows = np.flatnonzero(usable & ~half_a)[:_SCORED]
    scored = [table.archs[r] for r in scored_rows]
    found = {}
    adapted = meta.adapt({space: timings}, method="meta-only", eager=eager)
    found["suite"] = spearman(column[scored_rows], adapted.predict_archs(space, scored).latency_ms)

    archs = [suite[0], *(table.archs[r] for r in fit_rows)]  # the anchor first (ratio target)
    # the fit archs alone (fitting), and with the scored ones after them (scoring)
    graphs = {
        "fitted": meta.cache.for_archs(space, archs, eager=eager).restricted(),
        "every": meta.cache.for_archs(space, archs + scored, eager=eager).restricted(),
    }
    k, hidden, levels = len(archs), model.config.hidden, model.config.levels
    target = shot_targets(np.array([[timings[0], *column[fit_rows]]]), True)[0][0]
    descriptor = torch.from_numpy(descriptor_vector(timings, names.index(space), len(names)))
    mask = torch.ones(1, k)
    with torch.no_grad():
        z0 = model.device_net(descriptor[None])
        film0, head0 = model.device_state(descriptor[None])
        h0 = {name: model.embed(colours, film0) for name, (colours, _) in graphs.items()}
    with torch.enable_grad():  # the head fitted as adaptation does, on the fit archs
        colours, counts = graphs["fitted"]
        head0 = adapt_heads(
            model, h0["fitted"], head0, torch.full_like(meta.log_damping_, -5.0), 20,
            colours.base, counts, counts.sum(dim=1), target[None], mask, True,
        ).detach()  # fmt: skip

    def log_ratio(z, head, w, which="fitted") -> torch.Tensor:
        colours, counts = graphs[which]
        if z is None:
            h = h0[which][0]
        else:
            h = model.embed(colours, model.film(z).view(-1, levels + 1, 2, hidden))[0]
        values = model.node_values(h, head, colours.base)
        if w is not None:
            values = values * torch.exp(h @ w)
        log_s = torch.log((counts @ values).clamp(min=1e-12))
        return log_s - log_s[0]

    def rho(z, head, w) -> float:
        with torch.no_grad():
            return spearman(column[scored_rows], np.exp(log_ratio(z, head, w, "every")[k:].numpy()))

    found["head"] = rho(None, head0[0], None)
    variants = {
        "node-prices": (None, head0[0].clone(), torch.zeros(hidden)),
        "device-vector": (z0.clone(), head0[0].clone(), None),
    }
    for name, (z, head, w) in variants.items():
        params = [p.requires_grad_(True) for p in (z, head, w) if p is not None]

        def loss(z=z, head=head, w=w) -> torch.Tensor:
            return ((log_ratio(z, head, w) - target) ** 2).mean()

        _fit(params, loss, steps)
        found[name] = rho(z, head, w)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/help,data/measured")
    parser.add_argument("--space", default="fbnet")
    parser.add_argument("--fold", type=int, default=0, help="which of the CV's 4 fold networks")
    parser.add_argument("--archs", type=int, default=300, help="archs of half A fitted on")
    parser.add_argument("--steps", type=int, default=300, help="Adam steps of each fit")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    recipe, train = recipe_and_tables(args.data)
    table = train[args.space]
    names = sorted({d for t in train.values() for d in t.devices})
    with kept_on_disk(recipe.cache, None):
        folds = fold_models(
            recipe, train, names, 4, fold_dir=cv_fold_dir(), steps=BENCHMARK_FOLD_STEPS
        )
        meta = next(m for i, (_, m) in enumerate(folds) if i == args.fold)
        devices = [d for d in meta.info_["manifest"][args.space]["devices"] if d in table.devices]
        rows = {}
        for device in devices:
            found = _device_fits(meta, table, device, args.archs, args.steps)
            if found is not None:
                rows[device] = found
                print(f"{device:22s} " + "  ".join(f"{f} {found[f]:.3f}" for f in FITS), flush=True)
    means = {f: float(np.mean([r[f] for r in rows.values()])) for f in FITS}
    print("mean", "  ".join(f"{f} {v:.3f}" for f, v in means.items()))
    args.out.mkdir(parents=True, exist_ok=True)
    summary = {
        "space": args.space, "fold": args.fold, "archs": args.archs, "steps": args.steps,
        "recipe_version": meta.info_.get("recipe_version"), "mean": means, "devices": rows,
    }  # fmt: skip
    (args.out / f"head_capacity_{args.space}.json").write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()

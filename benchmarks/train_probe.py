"""Watch a CV fold network's device state while it trains: does it drift?

    python benchmarks/train_probe.py [--fold 3] [--folds 4] [--steps 1875] [--every 25]

Retrains fold ``--fold`` of ``benchmarks/cv_report.py``'s device-level CV through
the CV's own fold training (same devices held out, same suites, seed and steps,
so on one thread the same trajectory as the CV's fold model; into a scratch
folder, so nothing is kept) and, every
``--every`` steps, feeds the descriptor network the full NB201 suite timings of a
few probe devices and records the largest |FiLM| and |head| entry it returns.
Healthy networks stay within a few units. Log prices beyond ±30 sit on the clamp
that keeps float32 from overflowing (:data:`DEVICE_STATE_LIMIT`), where the inner
loop's gradient is zero and adaptation stops moving. Writes
``benchmarks/results/train_probe_fold<N>_recipe<V>.json`` and ``.png`` (V: the
shipped checkpoint's recipe, :data:`RECIPE_VERSION`, whose config the fold retrains).

It is a diagnostic: it looks at the network after each step through
``meta_train``'s ``watch`` hook, and changes nothing that is trained.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch

from fewlat.meta.predictor import (
    DEVICE_STATE_LIMIT,
    RECIPE_VERSION,
    Trainer,
    descriptor_vector,
    load_checkpoint,
)
from fewlat.meta.tables import read_pool
from fewlat.service.cli import kept_on_disk
from fewlat.service.handlers import BENCHMARK_FOLD_STEPS, fold_model, folds_of

PROBES = ("1080ti_256", "titanx_256", "1080ti_1", "pixel3")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/help,data/measured")
    parser.add_argument("--fold", type=int, default=3)
    parser.add_argument("--folds", type=int, default=4)
    parser.add_argument("--steps", type=int, default=BENCHMARK_FOLD_STEPS, help="the CV's steps")
    parser.add_argument("--every", type=int, default=25)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()
    recipe = load_checkpoint()
    train = {s: read_pool(args.data.split(","), s) for s in recipe.suites_}
    held = folds_of(sorted({d for t in train.values() for d in t.devices}), args.folds)[args.fold]
    nb201 = train["nb201"]  # the full table: the probes may be held out of training
    trace: list[dict] = []

    descriptors: dict[str, torch.Tensor] = {}

    def watch(phase: str, trainer: Trainer, loss: float) -> None:
        """Record the probe devices' largest FiLM / head entries (read-only)."""
        if phase != "meta" or (trainer.step % args.every and np.isfinite(loss)):
            return  # every --every steps, and every non-finite step
        if not descriptors:
            space = next(d for d in trainer.data if d.table.space == "nb201")
            for device in [d for d in PROBES if d in nb201.devices]:
                timings = [nb201.lookup_ms(a, device) for a in space.suite]
                vector = descriptor_vector(timings, space.suite_slot, trainer.n_suites)
                descriptors[device] = torch.from_numpy(vector[None])
        with torch.no_grad():
            row = {"step": trainer.step, "loss": loss}
            for device, x in descriptors.items():
                film, head = trainer.model.device_state(x)
                row[device] = [float(film.abs().max()), float(head.abs().max())]
        trace.append(row)
        cells = "  ".join(f"{d} {row[d][0]:.1f}/{row[d][1]:.1f}" for d in descriptors)
        print(f"step {trainer.step} loss {loss:.4f}  |FiLM|/|head| max: {cells}", flush=True)

    # the CV's own fold training, into a scratch folder (no baseline network)
    with tempfile.TemporaryDirectory() as scratch, kept_on_disk(recipe.cache, None):
        meta = fold_model(
            train, replace(recipe.config, steps=args.steps), held, fold_dir=Path(scratch),
            cache=recipe.cache, baseline=False, watch=watch,
        )  # fmt: skip
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"train_probe_fold{args.fold}_recipe{RECIPE_VERSION}"
    stem.with_suffix(".json").write_text(
        json.dumps(
            {
                "fold": args.fold,
                "held_out": held,
                "steps": args.steps,
                "recipe_version": RECIPE_VERSION,
                "lr_schedule": recipe.config.lr_schedule,
                "skipped_steps": meta.info_["skipped_steps"],
                "largest_device_state": meta.info_["largest_device_state"],
                "trace": trace,
            },
            indent=1,
        )
    )
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    steps = [r["step"] for r in trace]
    for device in [d for d in PROBES if d in trace[0]]:
        top.plot(steps, [r[device][1] for r in trace], label=device)
    top.axhline(DEVICE_STATE_LIMIT, color="grey", ls="--", lw=0.8, label="log-price clamp")
    top.set_ylabel("max |head| (NB201 suite, K=10)")
    top.legend(fontsize=8)
    bottom.plot(steps, [r["loss"] for r in trace], lw=0.8)
    bottom.set_yscale("log")
    bottom.set_xlabel("training step")
    bottom.set_ylabel("episode loss")
    top.set_title(
        f"CV fold {args.fold}, recipe {RECIPE_VERSION} ({recipe.config.lr_schedule} learning rate):"
        " the device state while training",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(stem.with_suffix(".png"), dpi=110)
    plt.close(fig)
    print(f"wrote {stem}.json|png; skipped steps: {meta.info_['skipped_steps']}")


if __name__ == "__main__":
    main()

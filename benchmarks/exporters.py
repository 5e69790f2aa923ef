"""Models as other tools write them: does fewlat answer them as it answers its own?

    python benchmarks/exporters.py [--per-space 30] [--out benchmarks/results]

A user's ONNX file is rarely written by fewlat's builders. PyTorch's default
export folds each batch norm into the conv before it; onnxruntime, when it saves
an optimised model, also drops ``Identity`` nodes, writes HardSwish out as
``x · HardSigmoid(x)`` and merges repeated branches. The runtimes fold batch
norm themselves when they load a model, so the latency is the same.

Every fewlat-measured device of ``data/measured`` is adapted on each of its
calibrated suites (the whole suite) with the shipped checkpoint. It then
predicts, through :meth:`DevicePredictor.predict_models` (which recognises each
model's space), ``--per-space`` measured members of each space written two ways
(fewlat's build, and the same member with weights after onnxruntime's basic
optimisation, saved), and every measured zoo model written two ways (fewlat's
export, batch norm kept, and PyTorch's default export). Prints, per space and
writing, the median absolute percentage error against the measured latency, the
median and largest ratio of the other writing's prediction to fewlat's, and what
share of the other writings was recognised as its space. Writes
``exporters.json`` and ``exporters.png`` (prediction from the other writing
against fewlat's, per space).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from recognise import optimised_by_onnxruntime

from fewlat.meta.predictor import load_checkpoint
from fewlat.meta.tables import read_table
from fewlat.spaces import get_space

ROOT = "data/measured"
SPACES = ("nb201", "fbnet", "ofa_mbv3", "resnet_prune")


def pytorch_default_export(arch: str) -> bytes:
    """A zoo member exported as ``torch.onnx.export`` does by default (batch norm folded)."""
    from fewlat.spaces._zoo_export import export_member

    member = get_space("zoo").parse(arch)
    return export_member(member, keep_batch_norm=False).SerializeToString()


def writings(space: str, archs: list[str]) -> tuple[list[bytes], list[bytes], str]:
    """(fewlat's bytes, the other writing's bytes, the other writing's name) of ``archs``."""
    spec = get_space(space)
    ours = [spec.to_onnx(a) for a in archs]
    if space == "zoo":
        return ours, [pytorch_default_export(a) for a in archs], "pytorch default export"
    return ours, [optimised_by_onnxruntime(space, a) for a in archs], "onnxruntime optimised"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-space", type=int, default=30)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args()

    meta = load_checkpoint()
    rng = np.random.default_rng(0)
    tables = {s: read_table(ROOT, s) for s in (*SPACES, "zoo")}
    models: dict[str, tuple[list[str], list[bytes], list[bytes], str]] = {}
    recognised: dict[str, float] = {}  # share of the other writing recognised as its space
    for space, table in tables.items():
        rows = np.arange(len(table))
        if space != "zoo" and len(rows) > args.per_space:
            rows = np.sort(rng.choice(rows, args.per_space, replace=False))
        archs = [table.archs[i] for i in rows]
        models[space] = (archs, *writings(space, archs))
        own = space if space != "zoo" else None  # the zoo is outside every space
        found = meta.cache.spaces_of(meta.cache.keys_for_models(models[space][2]))
        recognised[space] = float(np.mean([s == own for s in found]))
        print(f"{space}: {len(archs)} models written two ways", flush=True)

    results = []
    suites = meta.suites_.items()
    for device in tables["nb201"].devices:
        adapted = meta.adapt({s: [tables[s].lookup_ms(a, device) for a in x] for s, x in suites})
        for space, (archs, ours, theirs, how) in models.items():
            y = np.array([tables[space].lookup_ms(a, device) for a in archs])
            ok = np.isfinite(y)
            if not ok.any():
                continue
            p_ours = adapted.predict_models(ours).latency_ms
            p_theirs = adapted.predict_models(theirs).latency_ms
            results.append(
                {
                    "device": device,
                    "space": space,
                    "other_writing": how,
                    "n": int(ok.sum()),
                    "ape_fewlat": np.abs(p_ours[ok] / y[ok] - 1).tolist(),
                    "ape_other": np.abs(p_theirs[ok] / y[ok] - 1).tolist(),
                    "ratio_other_to_fewlat": (p_theirs[ok] / p_ours[ok]).tolist(),
                    "recognised_share": recognised[space],
                }
            )

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "exporters.json").write_text(json.dumps(results, indent=1))
    print(
        "\nover every measured device; median APE against the measured latency, fewlat's build"
        " → the other writing; the other writing's prediction / fewlat's: median, largest"
        " |log| as a factor; share recognised as its own space (zoo: as none)"
    )
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 4))
    for ax, space in zip(axes, models, strict=True):
        sel = [r for r in results if r["space"] == space]
        ours = np.concatenate([r["ape_fewlat"] for r in sel])
        theirs = np.concatenate([r["ape_other"] for r in sel])
        ratio = np.concatenate([r["ratio_other_to_fewlat"] for r in sel])
        worst = float(np.exp(np.max(np.abs(np.log(ratio)))))
        print(
            f"  {space:13s} ({sel[0]['other_writing']}, {len(sel)} devices): median APE "
            f"{np.median(ours):.1%} → {np.median(theirs):.1%}; ratio median "
            f"{np.median(ratio):.3f}, worst ×/÷{worst:.3f}; recognised "
            f"{np.mean([r['recognised_share'] for r in sel]):.2f}"
        )
        ax.scatter(ours, theirs, s=6, alpha=0.5)
        top = max(ours.max(), theirs.max())
        ax.plot([0, top], [0, top], color="grey", lw=0.8)
        ax.set(
            title=f"{space}\n({sel[0]['other_writing']})",
            xlabel="APE, fewlat's build",
            ylabel="APE, the other writing",
        )
    fig.suptitle("the same models written by another tool: error against the measured latency")
    fig.tight_layout()
    fig.savefig(args.out / "exporters.png", dpi=110)
    print(f"wrote {args.out / 'exporters.json'} and {args.out / 'exporters.png'}")


if __name__ == "__main__":
    main()

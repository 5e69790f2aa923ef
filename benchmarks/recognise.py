"""How well are ONNX bytes recognised as a search space's? Confusion table and shares.

    python benchmarks/recognise.py [--per-space 200] [--folded 20]

For every recognised space, ``--per-space`` seeded members that are not among
the vocabulary's own sample (and NB201's eager variants), plus every zoo model,
are built as ONNX bytes, encoded, and recognised (:func:`fewlat.meta.predictor.recognise`).
So are ``--folded`` members of each space as another tool writes them:
onnxruntime's basic optimisation, which folds batch norm into the convolutions
(and drops ``Identity``, writes HardSwish out, merges repeated branches).
Prints the confusion tables (true space → recognised space, or ``none``), the
lowest share of each space's members in their own vocabulary and the highest
share any model reached in a space it is not from, and times the vocabularies
(built afresh) and the recognition of one model. Writes ``benchmarks/results/recognise.json``
and a plot of each model's shares.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from fewlat.meta.features import featurize
from fewlat.meta.graph import encode
from fewlat.meta.predictor import (
    RECOGNISED_SHARE,
    RECOGNISED_SPACES,
    VOCABULARY_ARCHS,
    NodeSignature,
    build_vocabulary,
    recognise,
    shares,
    vocabulary,
)
from fewlat.spaces import get_space


def models(space: str, n: int) -> list[tuple[str, bytes]]:
    """(label, ONNX bytes) of members of ``space`` outside the vocabulary sample."""
    spec = get_space(space)
    if space == "zoo":
        return [(a, spec.to_onnx(a)) for a in spec.enumerate()]
    seen = set(spec.sample(np.random.default_rng(0), VOCABULARY_ARCHS))
    archs = [
        a for a in spec.sample(np.random.default_rng(1), n + VOCABULARY_ARCHS) if a not in seen
    ]
    out = [(a, spec.to_onnx(a)) for a in archs[:n]]
    if spec.has_eager_variant:
        out += [(a + " (eager)", spec.to_onnx(a, eager=True)) for a in archs[:n]]
    return out


def optimised_by_onnxruntime(space: str, arch: str) -> bytes:
    """``arch`` with weights as onnxruntime's basic optimisation saves it: batch norm
    folded into the convolutions, ``Identity`` dropped, HardSwish written out,
    repeated branches merged."""
    import onnxruntime as ort

    with tempfile.TemporaryDirectory() as tmp:
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(Path(tmp) / "optimised.onnx")
        weighted = get_space(space).to_onnx(arch, with_weights=True)
        ort.InferenceSession(weighted, options, providers=["CPUExecutionProvider"])
        return Path(options.optimized_model_filepath).read_bytes()


def folded(space: str, n: int) -> list[tuple[str, bytes]]:
    """(label, ONNX bytes) of ``n`` members as onnxruntime's optimiser saves them."""
    return [(arch, optimised_by_onnxruntime(space, arch)) for arch, _ in models(space, n)[:n]]


def _signature(onnx_bytes: bytes) -> NodeSignature:
    return NodeSignature.of(featurize(encode(onnx_bytes)).x.numpy())


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 3) for k, v in values.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-space", type=int, default=200)
    parser.add_argument("--folded", type=int, default=20)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/recognise.json"))
    args = parser.parse_args()

    start = time.perf_counter()
    built = {s: build_vocabulary(s) for s in RECOGNISED_SPACES}
    vocabulary_s = time.perf_counter() - start
    sizes = {s: len(v) for s, v in built.items()}
    current = all(np.array_equal(v, vocabulary(s)) for s, v in built.items())
    print(
        f"vocabularies ({VOCABULARY_ARCHS} members each): {sizes} rows, built in "
        f"{vocabulary_s:.1f} s; the shipped ones are {'current' if current else 'STALE'}"
    )

    truths = (*RECOGNISED_SPACES, "zoo")
    confusion: dict[str, Counter] = {}
    share_rows: dict[str, list[dict[str, float]]] = {}
    recognise_s = []
    for truth in truths:
        confusion[truth] = Counter()
        share_rows[truth] = []
        for _, onnx_bytes in models(truth, args.per_space):
            signature = _signature(onnx_bytes)
            t0 = time.perf_counter()
            got = recognise(signature)
            recognise_s.append(time.perf_counter() - t0)
            confusion[truth][got or "none"] += 1
            share_rows[truth].append(shares(signature))
        print(f"{truth:>13}: {dict(confusion[truth])}")
    folded_confusion = {}
    for space in RECOGNISED_SPACES:
        got = Counter(recognise(_signature(b)) or "none" for _, b in folded(space, args.folded))
        folded_confusion[space] = dict(got)
        print(f"{space:>13} as onnxruntime's optimiser saves them: {dict(got)}")

    lowest_own = {t: min(r[t] for r in share_rows[t]) for t in RECOGNISED_SPACES}
    highest_other = {
        t: max(r[s] for s in RECOGNISED_SPACES if s != t for r in share_rows[t]) for t in truths
    }
    correct = sum(confusion[t][t if t in RECOGNISED_SPACES else "none"] for t in truths)
    total = sum(sum(c.values()) for c in confusion.values())
    per_model_ms = float(np.median(recognise_s) * 1e3)
    print(f"correct: {correct} / {total}; threshold {RECOGNISED_SHARE}")
    print(
        "lowest share of a member in its own space:",
        {k: round(v, 3) for k, v in lowest_own.items()},
    )
    print("highest share in another space:", {k: round(v, 3) for k, v in highest_other.items()})
    print(f"recognising one encoded model: median {per_model_ms:.3f} ms")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "per_space": args.per_space,
                "vocabulary_archs": VOCABULARY_ARCHS,
                "vocabulary_rows": sizes,
                "vocabulary_build_s": vocabulary_s,
                "shipped_vocabularies_current": current,
                "threshold": RECOGNISED_SHARE,
                "confusion": {t: dict(c) for t, c in confusion.items()},
                "folded_confusion": folded_confusion,
                "correct": correct,
                "total": total,
                "lowest_own_share": lowest_own,
                "highest_other_share": highest_other,
                "recognise_ms_median": per_model_ms,
            },
            indent=2,
        )
        + "\n"
    )
    fig, axes = plt.subplots(1, len(truths), figsize=(3.2 * len(truths), 3.2), sharey=True)
    for ax, truth in zip(axes, truths, strict=True):
        for j, space in enumerate(RECOGNISED_SPACES):
            values = [r[space] for r in share_rows[truth]]
            ax.scatter(np.full(len(values), j) + np.linspace(-0.3, 0.3, len(values)), values, s=4)
        ax.axhline(RECOGNISED_SHARE, color="k", lw=0.8, ls="--")
        ax.set_xticks(range(len(RECOGNISED_SPACES)), RECOGNISED_SPACES, rotation=45, fontsize=7)
        ax.set_title(f"{truth} models", fontsize=9)
    axes[0].set_ylabel("share of nodes in vocabulary")
    fig.tight_layout()
    fig.savefig(args.out.with_suffix(".png"), dpi=110)
    print(f"wrote {args.out} and {args.out.with_suffix('.png')}")


if __name__ == "__main__":
    main()

"""How well can each device be ranked at all? A many-shot reference per device.

    python benchmarks/ceiling.py [--data ../shared/data/help,data/measured]
        [--spaces nb201,fbnet,ofa_mbv3] [--noise benchmarks/results/noise_floor.json]

For every device of every space: a least-squares model over one-hot arch
tokens by position (NB201 edge ops, FBNet block choices, OFA kernel /
expansion / depth / resolution) is fitted on a random half of the device's own
measured archs (thousands of "shots", against fewlat's 3 to 10) and scored by
Spearman ρ on the other half. Where that is low, the device's timings carry
noise that no predictor can rank through (NB201 and FBNet latencies are close
to additive in the block choices: ρ ≥ 0.99 on clean devices). It is a
reference, not a bound: on OFA the linear model misses how depth gates the
later blocks, and fewlat's own configurations hold only 300–1000 archs (500
fits for ~200 FBNet weights overfit). For those the test–retest ρ from
``noise_floor.py`` (the same archs measured twice) is the noise bound, shown
beside it: a predictor scored against one noisy run can expect at most about
√retest (the attenuation of a correlation by the reliability of what it is
measured against), written as ``bound``. The mean of the bounds, counting a device
without a retest at 1 (a perfect ranking), is what a space's mean ρ could reach
at best on these devices.

The same retest bounds the error targets. A predictor that knew each arch's
noise-free latency would still be scored against one noisy pass. Taking the
pass-to-pass relative difference as Gaussian, with σ_Δ = median |Δ|/y / 0.6745,
one pass differs from the noise-free value by σ = σ_Δ / √2, so that predictor's
expected MAPE is σ·√(2/π) and its Acc@10% is erf(0.1 / (σ√2)), written as
``noise_mape`` and ``noise_acc10``.

Writes ``benchmarks/results/ceiling.json``: ``{space: {device: {"many_shot_linear":
ρ, "n": archs, "retest": ρ or null, "bound": √retest or null, "noise_mape": …,
"noise_acc10": … (null without a retest)}}}`` and prints the means.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from pathlib import Path

import numpy as np

from fewlat.meta.metrics import spearman
from fewlat.meta.tables import read_pool

_SEPARATORS = re.compile(r"[|+\-:,]+")


def _tokens(arch: str) -> list[str]:
    return [t for t in _SEPARATORS.split(arch) if t]


def one_hot_by_position(archs: list[str]) -> np.ndarray:
    """``[N, F]`` indicators of (position, token) for archs of one space, plus a 1."""
    tokens = [_tokens(a) for a in archs]
    vocab: dict[tuple[int, str], int] = {}
    for ts in tokens:
        for position, token in enumerate(ts):
            vocab.setdefault((position, token), len(vocab))
    x = np.zeros((len(archs), len(vocab) + 1))
    for i, ts in enumerate(tokens):
        for position, token in enumerate(ts):
            x[i, vocab[(position, token)]] = 1.0
    x[:, -1] = 1.0
    return x


def many_shot_linear(x: np.ndarray, latency_ms: np.ndarray, seed: int = 0) -> float:
    """ρ on a held-out half of a linear fit on the other half (log ms)."""
    rows = np.random.default_rng(seed).permutation(np.flatnonzero(np.isfinite(latency_ms)))
    fit, held = rows[: len(rows) // 2], rows[len(rows) // 2 :]
    weights, *_ = np.linalg.lstsq(x[fit], np.log(latency_ms[fit]), rcond=None)
    return spearman(latency_ms[held], x[held] @ weights)


def noise_error_bounds(median_rel_diff: float | None) -> dict[str, float | None]:
    """Expected MAPE and Acc@10% of a noise-free predictor against one noisy pass,
    from the median |Δ|/y between two passes (Gaussian noise; None: no retest)."""
    if median_rel_diff is None:
        return {"noise_mape": None, "noise_acc10": None}
    if median_rel_diff <= 0:  # no noise measured
        return {"noise_mape": 0.0, "noise_acc10": 1.0}
    sigma = median_rel_diff / 0.6745 / math.sqrt(2)
    return {
        "noise_mape": sigma * math.sqrt(2 / math.pi),
        "noise_acc10": math.erf(0.1 / (sigma * math.sqrt(2))),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/help,data/measured")
    parser.add_argument("--spaces", default="nb201,fbnet,ofa_mbv3")
    parser.add_argument("--noise", type=Path, default=Path("benchmarks/results/noise_floor.json"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ceiling.json"))
    args = parser.parse_args()
    retest, spread = {}, {}
    if args.noise.is_file():
        for row in json.loads(args.noise.read_text())["results"]:
            retest[(row["space"], row["device"])] = row["spearman"]
            spread[(row["space"], row["device"])] = row["median_rel_diff"]
    results: dict[str, dict] = {}
    for space in args.spaces.split(","):
        table = read_pool(args.data.split(","), space)
        x = one_hot_by_position(list(table.archs))
        results[space] = {}
        for device in table.devices:
            column = table.column(device)
            n = int(np.isfinite(column).sum())
            if n < 50:
                continue
            twice = retest.get((space, device))
            results[space][device] = {
                "many_shot_linear": many_shot_linear(x, column),
                "n": n,
                "retest": twice,
                "bound": None if twice is None else float(np.sqrt(max(twice, 0.0))),
                **noise_error_bounds(spread.get((space, device))),
            }
        values = [r["many_shot_linear"] for r in results[space].values()]
        bounds = [1.0 if r["bound"] is None else r["bound"] for r in results[space].values()]
        print(f"{space}: mean many-shot linear ρ over {len(values)} devices {np.mean(values):.3f}")
        print(f"{space}: mean bound (√retest, 1 where not measured twice) {np.mean(bounds):.3f}")
        twice = [r for r in results[space].values() if r["noise_mape"] is not None]
        if twice:
            print(
                f"{space}: a noise-free predictor on the {len(twice)} devices measured twice: "
                f"mean MAPE {np.mean([r['noise_mape'] for r in twice]):.1%}, "
                f"mean Acc@10% {np.mean([r['noise_acc10'] for r in twice]):.1%}"
            )
        for device, r in results[space].items():
            extra = f"  retest {r['retest']:.3f}" if r["retest"] is not None else ""
            print(f"  {device:24s} {r['many_shot_linear']:.3f}  (n={r['n']}){extra}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

"""Re-create fewlat's own measured dataset (``data/measured/``) from scratch.

    python benchmarks/measured_dataset.py --help-root ../shared/data/help --out data/measured

Eight runner configurations of this machine (named ``epyc-<runtime>-<threads>t-<opt>``)
measure the same archs of every space, block by block with interleaved passes
(README "Timing method"). The run is resumable: start it again after a kill
and it measures only what is missing. fbnet and ofa archs are drawn from the
archs of HELP's tables, so fewlat's devices and HELP's share archs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from fewlat.clients import measure_table, plan_archs
from fewlat.clients.runners import MnnRunner, OnnxRuntimeRunner, Runner, TimingMethod
from fewlat.meta.tables import read_table

#: the campaign's timing method: the default method with shorter timed windows
CAMPAIGN_METHOD = TimingMethod(
    warmup_window=5,
    warmup_max_seconds=0.15,
    min_runs=10,
    min_seconds=0.02,
    max_seconds=2.0,
    passes=2,
    reload_each_pass=False,
    cv_threshold=0.25,
    max_attempts=2,
)

#: archs per space: (count, source) where source "plan" samples the space (supernet
#: first) and "help" draws from the archs of HELP's table of that space
PLAN = {
    "nb201": (1000, "plan"),
    "fbnet": (1000, "help"),
    "ofa_mbv3": (300, "help"),
    "resnet_prune": (500, "plan"),
    "zoo": (40, "plan"),
}
HELP_FOLDER = {"fbnet": "fbnet", "ofa_mbv3": "ofa"}


def make_runners(method: TimingMethod = CAMPAIGN_METHOD) -> dict[str, Runner]:
    """The eight configurations, by device name."""
    ort, mnn = OnnxRuntimeRunner, MnnRunner
    return {
        "epyc-ort-1t-optall": ort(threads=1, optimization="all", method=method),
        "epyc-ort-2t-optall": ort(threads=2, optimization="all", method=method),
        "epyc-ort-1t-optext": ort(threads=1, optimization="extended", method=method),
        "epyc-ort-2t-optext": ort(threads=2, optimization="extended", method=method),
        "epyc-ort-1t-noopt": ort(threads=1, optimization="disabled", method=method),
        "epyc-ort-2t-noopt": ort(threads=2, optimization="disabled", method=method),
        "epyc-mnn-1t": mnn(threads=1, method=method),
        "epyc-mnn-2t": mnn(threads=2, method=method),
    }


def campaign_archs(space: str, help_root: Path, count: int | None = None) -> list[str]:
    """The archs every configuration measures in ``space`` (deterministic)."""
    planned, source = PLAN[space]
    count = count or planned
    if source == "plan":
        return plan_archs(space, count, seed=0)
    archs = read_table(help_root, HELP_FOLDER[space]).archs
    order = np.random.default_rng(0).permutation(len(archs))
    return [archs[i] for i in order[:count].tolist()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--help-root", type=Path, default=Path("../shared/data/help"))
    parser.add_argument("--out", type=Path, default=Path("data/measured"))
    parser.add_argument("--spaces", default=",".join(PLAN), help="comma-separated spaces")
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of each count")
    args = parser.parse_args()
    runners = make_runners()
    for space in args.spaces.split(","):
        count = max(1, round(PLAN[space][0] * args.scale))
        archs = campaign_archs(space, args.help_root, count)
        start = time.perf_counter()
        columns = (
            TextColumn(f"{space:12s}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
        )
        with Progress(*columns) as progress:
            task = progress.add_task(space, total=len(archs))
            measure_table(
                runners,
                space,
                archs,
                args.out,
                skip_failures=True,
                on_block=lambda done, total, t=task: progress.update(
                    t, completed=done, total=total
                ),
            )
        print(
            f"{space}: {len(archs)} archs x {len(runners)} configurations "
            f"in {time.perf_counter() - start:.0f} s"
        )


if __name__ == "__main__":
    main()

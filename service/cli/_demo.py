"""``fewlat demo``: calibrate this machine through the real service, then check by measuring.

The one place that uses both sides: it starts a :class:`Server` in-process on a
free localhost port with a throw-away SQLite file, calibrates this machine as
``this-machine`` through the SDK :class:`Client` and an onnxruntime runner
(the nb201 and fbnet suites, 10 shots each), predicts 50 random nb201, 50
fbnet and 20 zoo models (zoo is a space the predictor never trained on: it is
answered through a calibrated suite of another space), measures the same
models with the same runner, and prints ρ, MAPE and Acc@10% per group, with a
measured-vs-predicted plot.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from fewlat._cli import friendly_errors, progress_bar
from fewlat.clients import Client
from fewlat.clients.runners import ModelInput, OnnxRuntimeRunner, TimingMethod
from fewlat.meta.metrics import acc_within, mape, spearman
from fewlat.service._server import Server
from fewlat.service._settings import Settings
from fewlat.spaces import get_space

__all__ = ["DEMO_GROUPS", "demo_command"]

#: (space, models predicted and measured)
DEMO_GROUPS = (("nb201", 50), ("fbnet", 50), ("zoo", 20))
#: suites calibrated (zoo has none: it is answered through the suite with most shots)
DEMO_SUITES = ("nb201", "fbnet")
#: a lighter timing than the default (2 passes of ≥ 0.1 s): the demo is a check, not a campaign
DEMO_TIMING = TimingMethod(passes=2, min_seconds=0.1, warmup_max_seconds=1.0)


def _plot(results: dict[str, tuple[np.ndarray, np.ndarray]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(4.2 * len(results), 4.0))
    panels = zip(np.atleast_1d(axes), results.items(), strict=True)
    for ax, (space, (measured, predicted)) in panels:
        ax.scatter(measured, predicted, s=14, alpha=0.7)
        low, high = min(measured.min(), predicted.min()), max(measured.max(), predicted.max())
        ax.plot([low, high], [low, high], "k--", lw=1, label="predicted = measured")
        ax.set(
            xscale="log",
            yscale="log",
            xlabel="measured latency (ms)",
            ylabel="predicted latency (ms)",
            title=f"{space}: ρ {spearman(measured, predicted):.2f}, "
            f"MAPE {mape(measured, predicted):.0%}",
        )
        ax.legend(loc="upper left", fontsize=8)
    fig.suptitle("fewlat demo: this machine, onnxruntime, 1 thread")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


@friendly_errors
def demo_command(
    plot: Annotated[
        Path, typer.Option("--plot", help="Where the measured-vs-predicted plot goes.")
    ] = Path("fewlat-demo.png"),
    threads: Annotated[int, typer.Option("--threads", min=1, help="onnxruntime threads.")] = 1,
    seed: Annotated[int, typer.Option("--seed", help="Which random models are drawn.")] = 0,
) -> None:
    """Calibrate this machine through a local fewlat server and check its predictions by
    measuring the same models (a few minutes)."""
    console = Console(stderr=True)
    started = time.perf_counter()
    runner = OnnxRuntimeRunner(threads=threads, method=DEMO_TIMING)
    rng = np.random.default_rng(seed)
    groups = {space: get_space(space).sample(rng, n) for space, n in DEMO_GROUPS}
    results: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    suites_used: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="fewlat-demo-") as tmp:
        # no encoder worker processes: they would start while this machine is being timed
        settings = Settings(
            address="127.0.0.1:0", db=f"sqlite:///{Path(tmp) / 'demo.db'}", encode_workers=0
        )
        with Server(settings) as server, Client(server.address) as client:
            console.print(f"server on {server.address}, checkpoint {server.host.version}")
            with progress_bar() as bar:
                for space in DEMO_SUITES:
                    task = bar.add_task(f"calibrating {space}", total=None, note="")
                    report = client.calibrate(
                        "this-machine",
                        runner=runner,
                        space=space,
                        shots=10,
                        on_progress=lambda done, total, task=task: bar.update(
                            task, completed=done, total=total
                        ),
                    )
                    console.print(
                        f"calibrated {space}: anchor {report.anchor_ms:.2f} ms, "
                        f"leave-one-out error {report.loo_error:.0%}"
                    )
                for space, archs in groups.items():
                    predicted = client.predict_many("this-machine", space=space, archs=archs)
                    suites_used[space] = predicted[0].suite
                    task = bar.add_task(f"measuring {space}", total=len(archs), note="")
                    measured = []
                    for arch in archs:  # one at a time, so the bar moves
                        measured.append(
                            runner.measure_many([ModelInput(space=space, arch=arch)])[0]
                        )
                        bar.advance(task)
                    results[space] = (
                        np.array([m.median_ms for m in measured]),
                        np.array([p.latency_ms for p in predicted]),
                    )
    table = Table(title="fewlat demo: predicted vs measured on this machine")
    for column in ("models", "n", "suite used", "Spearman ρ", "MAPE", "Acc@10%"):
        table.add_column(column, justify="left" if column in ("models", "suite used") else "right")
    for space, (measured, predicted) in results.items():
        table.add_row(
            space,
            str(len(measured)),
            suites_used[space],
            f"{spearman(measured, predicted):.3f}",
            f"{mape(measured, predicted):.1%}",
            f"{acc_within(measured, predicted, 0.10):.0%}",
        )
    Console().print(table)
    _plot(results, plot)
    console.print(f"plot: {plot}  ({time.perf_counter() - started:.0f} s in all)")

"""Runner options shared by ``fewlat-client measure`` and ``calibrate`` (typer annotations)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

__all__ = [
    "MinSecondsOption",
    "OptimizationOption",
    "PassesOption",
    "PinCpusOption",
    "PrecisionOption",
    "ProviderOption",
    "TableDeviceOption",
    "TableOption",
    "ThreadsOption",
]

ThreadsOption = Annotated[int, typer.Option(min=1, help="Runtime threads.")]
OptimizationOption = Annotated[
    str, typer.Option(help="ort graph optimisation: all, extended, basic, disabled.")
]
ProviderOption = Annotated[str, typer.Option(help="ort execution provider: cpu, cuda.")]
PrecisionOption = Annotated[str, typer.Option(help="mnn precision: normal, low, high.")]
TableOption = Annotated[Path | None, typer.Option(help="Table root for --runner table.")]
TableDeviceOption = Annotated[
    str | None, typer.Option(help="Device column replayed by --runner table.")
]
PassesOption = Annotated[
    int, typer.Option(min=1, help="Interleaved timing passes, each in a fresh session.")
]
MinSecondsOption = Annotated[float, typer.Option(min=0.0, help="Least timed seconds per model.")]
PinCpusOption = Annotated[
    str | None, typer.Option(help="Pin to these CPUs while timing, e.g. 0 or 0,1.")
]

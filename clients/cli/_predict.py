"""``fewlat-client predict`` (one ONNX model) and ``score`` (many models, as CSV)."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from fewlat._cli import fail, friendly_errors, progress_bar
from fewlat._files import replace_atomically
from fewlat.clients._base import DEFAULT_SERVER
from fewlat.clients._measure_table import read_arch_file
from fewlat.clients.cli._options import (
    DeviceOption,
    JsonOption,
    ServerOption,
    TlsCaOption,
    TokenFileOption,
    connect,
)
from fewlat.spaces import SPACE_NAMES, get_space

__all__ = ["predict", "score"]

#: the columns ``score`` writes
CSV_HEADER = ("name", "latency_ms", "low_ms", "high_ms", "suite", "space")


def _model_file(path: Path) -> bytes:
    """The bytes of an ONNX file, or a one-line failure naming it."""
    if not path.is_file():
        raise fail(f"{path} does not exist or is not a file; give an ONNX model file.")
    return path.read_bytes()


@friendly_errors
def predict(
    model: Annotated[
        Path, typer.Argument(help="ONNX model file.", metavar="MODEL.onnx", show_default=False)
    ],
    device: DeviceOption,
    server: ServerOption = DEFAULT_SERVER,
    token_file: TokenFileOption = None,
    tls_ca: TlsCaOption = None,
    json_out: JsonOption = False,
) -> None:
    """Predict the latency of one ONNX model on a calibrated device."""
    model_bytes = _model_file(model)
    with connect(server, token_file, tls_ca) as client:
        result = client.predict(device, model_bytes)
    if json_out:
        typer.echo(
            json.dumps({"model": str(model), "device": device, **result.as_dict()}, indent=2)
        )
        return
    suite = f"the {result.suite} suite" + (
        f" (version {result.suite_version})" if result.suite_version else ""
    )
    typer.echo(
        f"{result.latency_ms:.4g} ms (80% interval {result.low_ms:.4g} to {result.high_ms:.4g} ms)"
        f" for {model} on {device}, calibrated with {suite}"
    )
    if not result.space:
        typer.echo(
            "Its nodes match no search space fewlat knows, so the interval is the wider one "
            f"of models outside the {result.suite} suite's space."
        )
    elif result.space != result.suite:
        typer.echo(
            f"It is a {result.space} model, outside the {result.suite} suite's space, so the "
            "interval is the wider one of such models; calibrating the device with its own "
            "space's suite, where the checkpoint has one, answers it more closely."
        )


def _planned_archs(space: str, archs: str) -> list[str]:
    """The archs of ``--archs FILE|all``, canonical."""
    spec = get_space(space)
    if archs == "all":
        if not spec.finite:
            raise fail(
                f"--archs all needs a space with a finite member list, and {spec.name} has "
                "none; give --archs FILE with one arch per line."
            )
        return list(spec.enumerate())
    path = Path(archs)
    if not path.is_file():
        raise fail(f"--archs {archs}: no such file; give a file with one arch per line, or all.")
    return read_arch_file(path, spec.name)


@friendly_errors
def score(
    device: DeviceOption,
    models: Annotated[
        list[Path] | None,
        typer.Argument(
            help="ONNX model files (instead of --space/--archs).",
            metavar="MODEL.onnx ...",
            show_default=False,
        ),
    ] = None,
    space: Annotated[
        str | None, typer.Option(help=f"Search space of --archs: {', '.join(SPACE_NAMES)}.")
    ] = None,
    archs: Annotated[
        str | None,
        typer.Option(help="File with one arch per line (# comments allowed), or all."),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="CSV to write (default: stdout).")] = None,
    chunk: Annotated[int, typer.Option(min=1, help="Models per streamed message.")] = 512,
    server: ServerOption = DEFAULT_SERVER,
    token_file: TokenFileOption = None,
    tls_ca: TlsCaOption = None,
) -> None:
    """Predict many models on a calibrated device; write name,latency_ms,low_ms,high_ms,suite,space.

    Give --space S --archs FILE|all, or ONNX files. ``space`` is the space each model
    is of (for ONNX files: recognised from its nodes; empty: none). The rate goes to stderr.
    """
    if models and (space or archs):
        raise fail("give either --space S --archs FILE|all or ONNX files, not both.")
    if not models and not (space and archs):
        raise fail("give --space S --archs FILE|all, or ONNX model files to score.")
    if out is not None and not out.parent.is_dir():
        raise fail(f"--out {out}: the folder {out.parent} does not exist.")
    if models:
        names = [str(m) for m in models]
        blobs = [_model_file(m) for m in models]
        planned: list[str] = []
    else:
        planned = _planned_archs(space, archs)
        names, blobs = planned, []
    with connect(server, token_file, tls_ca) as client, progress_bar() as bar:
        task = bar.add_task(f"scoring on {device}", total=len(names), note="")
        start = time.perf_counter()
        results = client.predict_many(
            device,
            blobs,
            space=space,
            archs=planned,
            chunk=chunk,
            on_progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
        seconds = time.perf_counter() - start
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for name, r in zip(names, results, strict=True):
        writer.writerow((name, r.latency_ms, r.low_ms, r.high_ms, r.suite, r.space))
    if out is None:
        sys.stdout.write(text.getvalue())
        sys.stdout.flush()
    else:
        replace_atomically(out, text.getvalue())
    where = f" into {out}" if out is not None else ""
    typer.echo(
        f"scored {len(results)} models{where} in {seconds:.2f} s "
        f"({len(results) / max(seconds, 1e-9):,.0f} models/s)",
        err=True,
    )

"""``fewlat inspect`` and ``fewlat export``: one model in, one model out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fewlat._cli import fail, friendly_errors
from fewlat._files import replace_atomically
from fewlat.meta.graph import DEFAULT_MAX_BYTES, encode
from fewlat.spaces import SPACE_NAMES, get_space

__all__ = ["export", "inspect", "parse_input_shape"]


def parse_input_shape(spec: str) -> tuple[str, tuple[int, ...]]:
    """Parse ``NAME=1x3x224x224`` into ``("NAME", (1, 3, 224, 224))``.

    Raises:
        typer.BadParameter: the spec is malformed.
    """
    name, sep, dims = spec.rpartition("=")
    try:
        shape = tuple(int(d) for d in dims.lower().split("x"))
    except ValueError:
        shape = ()
    if not sep or not name or not shape or min(shape) <= 0:
        raise typer.BadParameter(f"{spec!r} is not NAME=DxDx…, e.g. input=1x3x224x224")
    return name, shape


@friendly_errors
def inspect(
    model: Annotated[Path, typer.Argument(help="ONNX file to summarise.")],
    input_shape: Annotated[
        list[str] | None,
        typer.Option(
            "--input-shape", help="NAME=1x3x224x224 for an input with symbolic dims; repeatable."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Print the ModelGraph summary of an ONNX model: nodes, MACs, FLOPs, params, ops."""
    shapes = dict(parse_input_shape(s) for s in input_shape or [])
    size = model.stat().st_size
    if size > DEFAULT_MAX_BYTES:
        raise fail(f"{model} is {size:,} bytes, over the {DEFAULT_MAX_BYTES:,}-byte limit.")
    graph = encode(model.read_bytes(), input_shapes=shapes)
    summary = graph.summary()
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
        return
    console = Console()
    table = Table(title=f"{model.name}", show_header=False)
    for key in ("nodes", "depth", "macs", "flops", "params", "activation_bytes"):
        table.add_row(key, f"{summary[key]:,}")
    table.add_row(
        "inputs", ", ".join(f"{k} {'x'.join(map(str, v))}" for k, v in summary["inputs"].items())
    )
    if graph.unknown_shapes:
        table.add_row("unknown shapes", str(graph.unknown_shapes))
    table.add_row("ops", ", ".join(f"{op} {n}" for op, n in summary["ops"].items()))
    console.print(table)


@friendly_errors
def export(
    space: Annotated[str, typer.Option(help=f"Search space: {', '.join(SPACE_NAMES)}.")],
    arch: Annotated[str, typer.Option(help="Arch string of the space (see `fewlat suite`).")],
    out: Annotated[Path, typer.Option(help="Where to write the .onnx file.")],
    with_weights: Annotated[
        bool, typer.Option("--with-weights", help="Random weights, so runtimes can run it.")
    ] = False,
    seed: Annotated[int, typer.Option(help="Seed of the random weights.")] = 0,
) -> None:
    """Build one member of a search space as ONNX (weightless unless --with-weights)."""
    space_obj = get_space(space)
    data = space_obj.to_onnx(arch, with_weights=with_weights, seed=seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    replace_atomically(out, data)
    graph = encode(data)
    typer.echo(
        f"wrote {out} ({len(data):,} bytes, {graph.n_nodes} nodes, "
        f"{graph.macs / 1e6:,.1f} M MACs, {graph.params / 1e6:,.2f} M params)"
    )

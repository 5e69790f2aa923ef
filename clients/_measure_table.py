"""Measure archs of a space with one or more runners into a latency table, resumably.

The table under ``<out>/<space>/`` is rewritten atomically after every block
of models, so a run that is killed loses at most the block in flight, and a
run started again measures only the (arch, device) cells still empty.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from fewlat.clients.runners import Measurement, ModelInput, Runner
from fewlat.clients.runners._checks import check_count
from fewlat.exceptions import InvalidArchError, InvalidModelError, TableError, invalid_parameter
from fewlat.meta.tables import LatencyTable, read_table, write_table
from fewlat.spaces import Space, get_space

__all__ = ["check_writable", "measure_table", "plan_archs", "read_arch_file"]

#: archs drawn per ``sample`` call: fixed, so the stream of draws does not depend on ``count``
_SAMPLE_CHUNK = 256
#: settings that must agree between a table's devices.json and the runner extending it
_IDENTITY_KEYS = (
    "runtime",
    "provider",
    "backend",
    "threads",
    "inter_op_threads",
    "optimization",
    "execution",
    "precision",
    "batch_size",
    "table",
    "device",
)


def _arch_stream(space: Space, seed: int) -> Iterator[str]:
    """Supernet first, then distinct archs in a seeded order that does not depend on a count."""
    yield space.supernet()
    rng = np.random.default_rng(seed)
    seen = {space.supernet()}
    if space.finite:
        members = [a for a in space.enumerate() if a not in seen]
        for i in rng.permutation(len(members)).tolist():
            yield members[i]
        return
    while True:
        for arch in space.sample(rng, _SAMPLE_CHUNK):
            if arch not in seen:
                seen.add(arch)
                yield arch


def plan_archs(space: str, count: int, *, seed: int = 0) -> list[str]:
    """The first ``count`` archs of ``space``: the supernet, then a seeded sample.

    The plan for ``count=N`` is a prefix of the plan for any larger count, so
    growing ``count`` only adds archs.

    Raises:
        UnknownSpaceError: ``space`` is not registered.
        InvalidParameterError: ``count`` < 1, or more than a finite space holds.
    """
    spec = get_space(space)
    check_count(count, "count", "plan_archs")
    stream = _arch_stream(spec, seed)
    archs = list(itertools.islice(stream, count))
    if len(archs) < count:
        raise invalid_parameter(
            "count", "plan_archs", f"at most {len(archs)}, the size of space {space!r}", count
        )
    return archs


def read_arch_file(path: str | os.PathLike[str], space: str) -> list[str]:
    """Read one arch per line (blank lines and ``#`` comments skipped), canonicalised.

    Raises:
        OSError: the file cannot be read.
        InvalidArchError: a line is not an arch of ``space``; the message names the line.
    """
    spec = get_space(space)
    archs: list[str] = []
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            archs.append(spec.canonical(text))
        except InvalidArchError as err:
            raise InvalidArchError(f"{path}, line {number}: {err}") from None
    if not archs:
        raise InvalidArchError(f"{path} lists no archs of {space!r}; give one arch per line.")
    return list(dict.fromkeys(archs))


def check_writable(out: str | os.PathLike[str], space: str) -> Path:
    """Create ``<out>/<space>/`` if needed and prove a file can be written there.

    Raises:
        TableError: the folder cannot be created or written; nothing was measured.
    """
    folder = Path(out) / space
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".probe-"):
            pass
    except OSError as err:
        raise TableError(
            f"Cannot write the table to {folder}: {err.strerror or err}. "
            "Pick an --out folder you can write to."
        ) from None
    return folder


def _load_or_empty(out: Path, space: str) -> LatencyTable:
    if (out / space / "archs.csv").exists():
        return read_table(out, space)
    return LatencyTable(space, np.zeros(0, np.int64), (), (), np.zeros((0, 0)))


def _check_same_settings(table: LatencyTable, device: str, described: Mapping[str, Any]) -> None:
    held = table.device_info.get(device, {})
    clashes = [
        f"{key}: {held[key]!r} in the table, {described[key]!r} now"
        for key in _IDENTITY_KEYS
        if key in held and key in described and held[key] != described[key]
    ]
    if clashes:
        raise TableError(
            f"Device {device!r} in the {table.space!r} table was measured with other "
            f"settings ({'; '.join(clashes)}). Give this configuration another device name."
        )


def _built(spec: Space, arch: str, cache: dict[str, bytes]) -> ModelInput:
    if arch not in cache:
        cache[arch] = spec.to_onnx(arch, with_weights=True)
    return ModelInput(cache[arch], spec.name, arch)


def _measure_block(
    runner: Runner, items: list[ModelInput], failed: dict[str, str] | None
) -> dict[str, Measurement]:
    """Time a block; with ``failed``, retry one by one and note the models that fail there."""
    try:
        return {m.arch: r for m, r in zip(items, runner.measure_many(items), strict=True)}  # type: ignore[misc]
    except InvalidModelError:
        if failed is None:
            raise
    results = {}
    for item in items:
        try:
            results[item.arch] = runner.measure_many([item])[0]
        except InvalidModelError as err:
            failed[str(item.arch)] = str(err)[:500]
    return results


def measure_table(
    runners: Mapping[str, Runner],
    space: str,
    archs: Sequence[str],
    out: str | os.PathLike[str],
    *,
    block_size: int = 16,
    on_block: Callable[[int, int], None] | None = None,
    skip_failures: bool = False,
) -> LatencyTable:
    """Measure every (arch, device) cell still empty in ``<out>/<space>/`` and save it.

    Each block of ``block_size`` archs is built once, then timed by every
    runner in turn (interleaved passes within the block), then the table is
    rewritten atomically with the medians and each device's ``devices.json``
    entry (settings, host, timing method, noisy archs).

    Args:
        runners: ``{device name: runner}``; the device names become table columns.
        space: the search space of ``archs``.
        archs: arch strings (canonicalised here; every one is checked before
            anything is measured).
        out: the table root to create or extend.
        block_size: archs per block (default 16).
        on_block: called as ``on_block(archs_done, archs_total)`` after each
            block, e.g. to advance a progress bar.
        skip_failures: when a runtime cannot run a model, record the arch and
            the error under ``failed_archs`` in ``devices.json``, leave its cell
            empty and go on (later runs do not retry it); default: raise.

    Returns:
        The table as written.

    Raises:
        UnknownSpaceError, InvalidArchError: a bad space or arch; nothing written.
        TableError: ``out`` is not writable, its table is malformed, or a device
            name is already used there with other settings; nothing written.
        InvalidModelError: a runner could not run a model (without
            ``skip_failures``); the blocks before it are kept.
    """
    spec = get_space(space)
    if not runners:
        raise invalid_parameter("runners", "measure_table", "at least one runner", runners)
    check_count(block_size, "block_size", "measure_table")
    planned = list(dict.fromkeys(spec.canonical(a) for a in archs))
    folder_name = spec.name
    out = Path(out)
    check_writable(out, folder_name)
    table = _load_or_empty(out, folder_name)
    described = {device: runner.describe() for device, runner in runners.items()}
    for device in runners:
        _check_same_settings(table, device, described[device])

    def missing(device: str) -> set[str]:
        failed = table.device_info.get(device, {}).get("failed_archs", {})
        if device not in table.devices:
            return set(planned) - set(failed)
        column = table.column(device)
        return {
            a
            for a in planned
            if a not in failed and (a not in table or np.isnan(column[table.row_of(a)]))
        }

    todo = {device: missing(device) for device in runners}
    pending = [a for a in planned if any(a in cells for cells in todo.values())]
    done = len(planned) - len(pending)
    if on_block:
        on_block(done, len(planned))
    today = _dt.date.today().isoformat()
    for start in range(0, len(pending), block_size):
        block = pending[start : start + block_size]
        built: dict[str, bytes] = {}  # each arch is built once, for every runner
        for device, runner in runners.items():
            wanted = [a for a in block if a in todo[device]]
            if not wanted:
                continue
            if runner.needs_model_bytes:
                items = [_built(spec, a, built) for a in wanted]
            else:
                items = [ModelInput(None, spec.name, a) for a in wanted]
            held = table.device_info.get(device, {})
            failed = dict(held.get("failed_archs", {}))
            results = _measure_block(runner, items, failed if skip_failures else None)
            noisy = {*held.get("noisy_archs", []), *(a for a, m in results.items() if m.noisy)}
            info = {
                **described[device],
                "noisy_archs": sorted(noisy),
                "failed_archs": failed,
                "first_measured": held.get("first_measured", today),
                "last_measured": today,
            }
            table = table.with_measurements(
                device, {a: m.median_ms for a, m in results.items()}, info, overwrite=True
            )
        write_table(table, out)
        done += len(block)
        if on_block:
            on_block(done, len(planned))
    return table

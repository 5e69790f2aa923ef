"""Helpers shared by the predictor commands: list options, the graph cache, progress."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from platformdirs import user_cache_dir
from rich.progress import (
    Progress,
    TaskID,
)

from fewlat._cli import fail, progress_bar, split_ints, split_list
from fewlat.meta.predictor import GraphCache, MetaPredictor
from fewlat.meta.tables import LatencyTable, read_pool, space_folder

__all__ = [
    "checkpoint_suite",
    "cv_fold_dir",
    "default_cache_dir",
    "kept_on_disk",
    "pooled_table",
    "progress_bar",
    "split_ints",
    "split_list",
    "training_progress",
]


def checkpoint_suite(meta: MetaPredictor, space: str, shots: int = 1) -> str:
    """The registered name of ``space``, after checking that the checkpoint has its
    suite and that the suite holds ``shots`` entries; fails with one line otherwise."""
    from fewlat.spaces import get_space

    name = get_space(space).name
    if name not in meta.suites_:
        raise fail(
            f"the checkpoint has no suite for {name!r}; it has {', '.join(meta.suites_)}. "
            "Calibrate with one of those."
        )
    if shots > len(meta.suites_[name]):
        raise fail(f"--shots goes up to {len(meta.suites_[name])} for the {name} suite.")
    return name


def pooled_table(roots: Sequence[str | os.PathLike[str]], space: str) -> LatencyTable | None:
    """``space`` pooled from the roots that hold it, or None when none does."""
    present = [r for r in roots if space_folder(r, space) is not None]
    return read_pool(present, space) if present else None


def default_cache_dir() -> Path:
    """Where built graphs are kept between runs (``FEWLAT_CACHE_DIR`` overrides)."""
    return Path(os.environ.get("FEWLAT_CACHE_DIR") or user_cache_dir("fewlat"))


def cv_fold_dir(cache_dir: Path | None = None) -> Path:
    """Where CV fold checkpoints are kept (``fewlat eval --cv`` and the benchmarks that
    reuse its folds): ``cv/`` under ``cache_dir`` (default: :func:`default_cache_dir`)."""
    return (cache_dir or default_cache_dir()) / "cv"


def training_progress(bar: Progress) -> Callable[[str, int, int, float], None]:
    """A ``meta_train`` progress callback: one bar per training phase, with the loss."""
    tasks: dict[str, TaskID] = {}

    def on_progress(phase: str, step: int, total: int, loss: float) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(f"training {phase}", total=total, note="")
        bar.update(tasks[phase], completed=step, total=total, note=f"loss {loss:.3f}")

    return on_progress


@contextlib.contextmanager
def kept_on_disk(cache: GraphCache, cache_dir: Path | None) -> Iterator[GraphCache]:
    """Load ``cache`` from ``cache_dir`` (default: :func:`default_cache_dir`); save it
    back on exit if it grew."""
    folder = cache_dir or default_cache_dir()
    cache.load(folder)
    before = len(cache)
    try:
        yield cache
    finally:
        if len(cache) > before:
            cache.save(folder)

"""``JobRunner``: meta-training on the pooled data as a background job.

The pool is the settings' table roots plus every arch measurement in the store
(each store device becomes a column of its space's table). The candidate is
trained with the serving checkpoint's recipe (``steps``/``seed`` may be
overridden) and promoted, i.e. served from then on, only if its score is not
worse than the serving checkpoint's:

* with ``cv_folds`` ≥ 2, the score is the device-level cross-validated mean
  Spearman ρ of the recipe on the whole pool (every device scored by a fold
  model that never saw it, K = 3, 5, 10), recorded in the checkpoint as
  ``metrics.cv``; it is compared with the serving checkpoint's ``metrics.cv``.
  A serving checkpoint without one (the shipped checkpoint) is compared on
  held-out ρ instead, and the verdict says so;
* with ``cv_folds`` 0, the score is the mean ρ over spaces and K of the
  devices held out of training for interval calibration
  (``metrics.held_out_calibration_devices``).

Progress goes to the job row.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from sqlalchemy.engine import make_url

from fewlat.exceptions import InvalidParameterError, invalid_parameter
from fewlat.meta.predictor import (
    MetaPredictor,
    checkpoint_version,
    load_checkpoint,
    meta_train,
    save_checkpoint,
)
from fewlat.meta.tables import LatencyTable, read_pool, space_folder
from fewlat.service._settings import Settings
from fewlat.service.handlers._cv import cv_spearman
from fewlat.service.handlers._predictors import PredictorHost, runs_eagerly
from fewlat.service.store import JobRecord, Store

__all__ = ["JobRunner", "add_store_measurements", "cv_score", "held_out_score"]

log = logging.getLogger(__name__)


def held_out_score(meta: MetaPredictor) -> float | None:
    """Mean ρ over spaces and K of the devices held out of training, from a
    checkpoint's ``metrics.held_out_calibration_devices`` (None if it has none)."""
    held_out = meta.info_.get("metrics", {}).get("held_out_calibration_devices", {})
    values = [
        k["spearman"]
        for space in held_out.values()
        for k in space.values()
        if np.isfinite(k.get("spearman", np.nan))
    ]
    return float(np.mean(values)) if values else None


def cv_score(meta: MetaPredictor) -> float | None:
    """A checkpoint's cross-validated mean ρ (``metrics.cv.spearman``), or None."""
    return meta.info_.get("metrics", {}).get("cv", {}).get("spearman")


def add_store_measurements(
    store: Store, tables: Mapping[str, LatencyTable | None], spaces: list[str]
) -> dict[str, LatencyTable]:
    """``tables`` (None: no table yet) with every arch measurement of the store added as
    its device's column (median of repeats; a store device replaces a table device of
    the same name). A store device ran fewlat's ONNX models unless its labels say it runs
    the eager ones; its info says which (see :func:`fewlat.meta.predictor.runs_eagerly`)."""
    cells: dict[str, dict[str, dict[str, list[float]]]] = {s: {} for s in spaces}
    runtimes: dict[str, str] = {}
    for m in store.arch_timings(spaces):  # only the pooled columns, in storage order
        cells[m.space].setdefault(m.device, {}).setdefault(m.arch, []).append(m.latency_ms)
        runtimes.setdefault(m.device, str(m.runner.get("runtime", "onnx")))
    eager = {d.name for d in store.list_devices() if runs_eagerly(d.labels)}
    pooled = {}
    for space in spaces:
        table = tables.get(space)
        for device, values in cells[space].items():
            medians = {arch: float(np.median(ms)) for arch, ms in values.items()}
            info = {"source": "fewlat store"}
            if device not in eager:  # a "runtime" entry marks a device that ran the ONNX
                info["runtime"] = runtimes[device]
            if table is None:
                table = LatencyTable(space, np.zeros(0, np.int64), (), (), np.zeros((0, 0)))
            table = table.with_measurements(device, medians, info, overwrite=True)
        if table is not None and table.devices:
            pooled[space] = table
    return pooled


class JobRunner:
    """Runs one meta-training job at a time on a background thread.

    Args:
        store: job rows and pooled measurements.
        host: the serving checkpoint (swapped on promotion).
        settings: ``train_data`` roots and ``checkpoint_dir``.
    """

    def __init__(self, store: Store, host: PredictorHost, settings: Settings) -> None:
        self._store = store
        self._host = host
        self._settings = settings
        self._thread: threading.Thread | None = None
        self._closing = threading.Event()
        for job in store.unfinished_jobs():  # a restart interrupted them
            store.update_job(
                job.id, state="failed", message="the server stopped during the job; start it again"
            )

    def start(self, *, steps: int = 0, seed: int = 0, cv_folds: int = 0) -> JobRecord:
        """Queue a meta-training job and start it.

        Args:
            steps: optimiser steps (0: the serving recipe's).
            seed: the recipe's seed.
            cv_folds: device folds of the cross-validation deciding promotion
                (each trains one more model); 0 compares held-out ρ instead.

        Raises:
            InvalidParameterError: a negative ``steps``, ``cv_folds`` that is
                neither 0 nor ≥ 2, or a job already running.
        """
        if steps < 0:
            raise invalid_parameter("steps", "StartMetaTrain", "an int >= 0", steps)
        if cv_folds != 0 and cv_folds < 2:
            raise invalid_parameter(
                "cv_folds",
                "StartMetaTrain",
                "0 (promotion by held-out ρ) or >= 2 device folds (promotion by cross-validated ρ)",
                cv_folds,
            )
        if self._thread is not None and self._thread.is_alive():
            raise InvalidParameterError(
                "a meta-training job is already running; poll it with GetJob and start "
                "another when it has finished."
            )
        job = self._store.create_job(
            "meta-train", {"steps": steps, "seed": seed, "cv_folds": cv_folds}
        )
        self._thread = threading.Thread(
            target=self._run, args=(job.id, steps, seed, cv_folds), name="fewlat-job", daemon=True
        )
        self._thread.start()
        return job

    def get(self, job_id: str) -> JobRecord:
        """Raises: UnknownJobError."""
        return self._store.get_job(job_id)

    def close(self, timeout_s: float = 5.0) -> None:
        """Ask a running job to stop at its next step and wait a little for it."""
        self._closing.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _pool(self, spaces: list[str]) -> dict[str, LatencyTable]:
        roots = [r for r in self._settings.train_data if Path(r).is_dir()]
        tables = {}
        for space in spaces:
            present = [r for r in roots if space_folder(r, space) is not None]
            tables[space] = read_pool(present, space) if present else None
        return add_store_measurements(self._store, tables, spaces)

    def _run(self, job_id: str, steps: int, seed: int, cv_folds: int) -> None:
        store = self._store
        store.update_job(job_id, state="running", phase="pooling data")
        try:
            serving = self._host.meta
            suites = [s for s in serving.info_["suites"]]
            tables = self._pool([s["space"] for s in suites])
            suites = [s for s in suites if s["space"] in tables]
            if not suites:
                raise InvalidParameterError(
                    "no pooled data: start the server with --train-data ROOT[,ROOT] or "
                    "submit measurements of suite spaces first."
                )
            config = dataclasses.replace(
                serving.config, steps=steps or serving.config.steps, seed=seed
            )

            # the candidate, then each CV fold, is one share of the progress; within a
            # model, meta-training is 80% of its share and the pooled baseline the rest
            shares, done, shown = 1 + cv_folds, 0, 0.0

            def progress(phase: str, step: int, total: int, loss: float) -> None:
                nonlocal done, shown
                if self._closing.is_set():
                    raise InterruptedError("server shutting down")
                baseline = phase.endswith("baseline")
                within = (0.8 + 0.2 * step / total) if baseline else 0.8 * step / total
                shown = max(shown, min((done + within) / shares, 1.0) * 0.95)
                if baseline and step == total:
                    done += 1
                if step % 10 == 0 or step == total:
                    store.update_job(job_id, phase=phase, progress=shown)

            candidate = meta_train(tables, suites, config, on_progress=progress)
            candidate.info_.update(
                {"data_roots": list(self._settings.train_data), "store": self._store.url}
            )
            if cv_folds:
                candidate.info_["metrics"]["cv"] = cv_spearman(
                    candidate, tables, cv_folds, fold_dir=self._checkpoint_dir() / "cv",
                    on_progress=progress,
                )  # fmt: skip
            folder = self._checkpoint_dir() / f"ckpt-{job_id[:12]}"
            save_checkpoint(candidate, folder)
            version = checkpoint_version(folder)
            by = "cv" if cv_folds and cv_score(serving) is not None else "held-out"
            score = cv_score if by == "cv" else held_out_score
            new, old = score(candidate), score(serving)
            promoted = new is not None and (old is None or new >= old)
            self._store.add_checkpoint(
                version,
                str(folder),
                {"score": by, "candidate_spearman": new, "serving_spearman": old}
                | ({"cv": candidate.info_["metrics"]["cv"]} if cv_folds else {}),
            )
            if promoted:
                self._store.activate_checkpoint(version)
                self._host.swap(load_checkpoint(folder, cache=serving.cache))
            store.update_job(
                job_id,
                state="succeeded",
                progress=1.0,
                phase="done",
                promoted=promoted,
                checkpoint_version=version,
                message=_verdict(by, new, old, promoted, cv_folds),
            )
        except Exception as exc:  # the job row must say what happened
            log.exception("meta-training job %s failed", job_id)
            store.update_job(job_id, state="failed", message=str(exc))  # stamps finished_at_s

    def _checkpoint_dir(self) -> Path:
        if self._settings.checkpoint_dir is not None:
            return self._settings.checkpoint_dir
        url = make_url(self._settings.db)
        if url.get_backend_name() == "sqlite" and url.database:
            return Path(url.database).parent / "checkpoints"
        from platformdirs import user_data_dir

        return Path(user_data_dir("fewlat")) / "checkpoints"


def _verdict(by: str, new: float | None, old: float | None, promoted: bool, cv_folds: int) -> str:
    shown = {k: "n/a" if v is None else f"{v:.3f}" for k, v in (("new", new), ("old", old))}
    what = "promoted" if promoted else "kept the serving checkpoint"
    if by == "cv":
        return f"{cv_folds}-fold cross-validated ρ {shown['new']} vs serving {shown['old']}: {what}"
    note = (
        " (the serving checkpoint has no cross-validated ρ; compared held-out ρ; "
        "the new one records its CV ρ for the next job)"
        if cv_folds
        else ""
    )
    return f"held-out ρ {shown['new']} vs serving {shown['old']}: {what}{note}"

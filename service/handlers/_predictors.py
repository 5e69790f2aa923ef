"""The serving checkpoint, its graph cache and the adapted device predictors.

All predictor work runs under one lock (the graph cache and colour index are
not thread-safe, and with the GIL a second thread would not be faster).
Concurrent predictions are combined (:mod:`._combine`): each batch runs one
forward pass per (device, suite). Adapted states are persisted in the store, so
after a restart a device answers from its stored state; only when the
checkpoint changed is it adapted again, from its stored suite timings.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fewlat.exceptions import FewlatError, NotCalibratedError
from fewlat.meta.predictor import DevicePredictor, MetaPredictor
from fewlat.service.handlers._catalog import SuiteCatalog
from fewlat.service.handlers._combine import Combiner, Pending
from fewlat.service.store import CalibrationRecord, Store

__all__ = ["PredictQuery", "Predicted", "PredictorHost"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PredictQuery:
    """Models to score on one device: ONNX bytes, or arch strings of one space."""

    device: str
    models: Sequence[bytes] = ()
    space: str | None = None
    archs: Sequence[str] = ()


@dataclass(frozen=True)
class Predicted:
    """Answers for one :class:`PredictQuery`, models first, then archs; milliseconds."""

    latency_ms: np.ndarray
    low_ms: np.ndarray
    high_ms: np.ndarray
    suites: list[str]


class PredictorHost:
    """Holds the meta-model and every device's adapted predictor.

    Args:
        meta: the fitted checkpoint to serve.
        store: where adapted states and calibrations live.
        cache_dir: graph cache of arch strings loaded at start (None: none).
    """

    def __init__(self, meta: MetaPredictor, store: Store, cache_dir: Path | None = None) -> None:
        self.lock = threading.RLock()
        self._store = store
        self._devices: dict[str, DevicePredictor] = {}
        self._combiner: Combiner[PredictQuery, Predicted] = Combiner(self._serve, self.lock)
        self._cache_dir = cache_dir
        self.swap(meta)

    # --- the checkpoint -----------------------------------------------------------

    def swap(self, meta: MetaPredictor) -> None:
        """Serve ``meta`` from now on; devices re-adapt lazily from stored timings."""
        with self.lock:
            if self._cache_dir is not None:
                meta.cache.load(self._cache_dir)
            self.meta = meta
            self.version: str = meta.info_.get("version", "unversioned")
            self.catalog = SuiteCatalog(meta)
            self._devices.clear()

    # --- adapting -----------------------------------------------------------------

    def adapt(self, space: str, timings_ms: Sequence[float], *, eager: bool) -> DevicePredictor:
        """A predictor adapted on one suite's timings (NaN = not measured)."""
        with self.lock:
            return self.meta.adapt({space: list(timings_ms)}, eager=eager)

    def install(self, device: str, eager: bool) -> DevicePredictor:
        """(Re)load ``device``'s predictor from its stored calibrations of this checkpoint,
        re-adapting (and storing) those made with another checkpoint.

        Raises:
            NotCalibratedError: the device has no calibration.
        """
        with self.lock:
            states = {}
            for record in self._store.calibrations(device):
                if record.checkpoint_version != self.version:
                    record = self._readapt(record, eager)
                states[record.space] = record.state
            if not states:
                raise NotCalibratedError(
                    f"device {device!r} is not calibrated yet; run "
                    f"`fewlat-client calibrate --device {device}` first."
                )
            predictor = self.meta.restore(states, eager=eager)
            self._devices[device] = predictor
            return predictor

    def _readapt(self, record: CalibrationRecord, eager: bool) -> CalibrationRecord:
        timings = [np.nan if t is None else t for t in record.timings_ms]
        suite = self.catalog.for_space(record.space)
        if len(timings) > len(suite):
            timings = timings[: len(suite)]
        log.info(
            "re-adapting %s on %s for checkpoint %s", record.device, record.space, self.version
        )
        adapted = self.meta.adapt({record.space: timings}, eager=eager)
        record = dataclasses.replace(
            record,
            suite_version=suite.version,
            checkpoint_version=self.version,
            state=adapted.state_bytes(record.space),
            calibrated_at_s=time.time(),
        )
        self._store.save_calibration(record)
        return record

    def forget(self, device: str) -> None:
        """Drop the in-memory predictor of ``device`` (reloaded from the store on next use)."""
        with self.lock:
            self._devices.pop(device, None)

    def device(self, device: str, eager: bool) -> DevicePredictor:
        """The adapted predictor of ``device`` (loaded from the store when needed)."""
        with self.lock:
            return self._devices.get(device) or self.install(device, eager)

    # --- predicting ---------------------------------------------------------------

    def predict(self, query: PredictQuery, *, eager: bool = False) -> Predicted:
        """Score a query, combined with the queries of concurrent callers.

        Raises:
            NotCalibratedError, UnknownDeviceError: the device has no calibration / is unknown.
            InvalidModelError, ModelTooLargeError, InvalidArchError, UnknownSpaceError: a
                model of this query (other queries of the same batch are not affected).
        """
        return self._combiner.submit((query, eager))  # type: ignore[arg-type]

    def _serve(self, batch: Sequence[Pending]) -> None:
        cache = self.meta.cache
        groups: Mapping[tuple[str, str], list] = defaultdict(list)
        for item in batch:
            query, eager = item.request
            try:
                predictor = self.device(query.device, eager)
                parts = []
                if query.models:
                    keys = cache.keys_for_models(query.models)
                    parts.append((predictor.suite_for(None), keys))
                if query.archs:
                    keys = cache.keys_for_archs(query.space, query.archs, eager=predictor.eager)
                    parts.append((predictor.suite_for(query.space), keys))
            except FewlatError as exc:
                item.set_error(exc)
                continue
            for suite, keys in parts:
                groups[(query.device, suite)].append((item, keys))
        answers: dict[int, list] = defaultdict(list)
        for (device, suite), members in groups.items():
            keys = [k for _, ks in members for k in ks]
            prediction = self._devices[device].predict(cache.graphs(keys), suite=suite)
            start = 0
            for item, ks in members:
                stop = start + len(ks)
                answers[id(item)].append(
                    (
                        prediction.latency_ms[start:stop],
                        prediction.low_ms[start:stop],
                        prediction.high_ms[start:stop],
                        [suite] * len(ks),
                    )
                )
                start = stop
        for item in batch:
            if item.done:
                continue
            parts = answers[id(item)]
            item.set_result(
                Predicted(
                    np.concatenate([p[0] for p in parts]) if parts else np.zeros(0),
                    np.concatenate([p[1] for p in parts]) if parts else np.zeros(0),
                    np.concatenate([p[2] for p in parts]) if parts else np.zeros(0),
                    [s for p in parts for s in p[3]],
                )
            )
        cache.trim()

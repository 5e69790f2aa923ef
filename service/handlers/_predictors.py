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

import numpy as np

from fewlat.exceptions import FewlatError, NotCalibratedError
from fewlat.meta.predictor import DevicePredictor, MetaPredictor
from fewlat.service.handlers._catalog import SuiteCatalog
from fewlat.service.handlers._combine import Combiner, Pending
from fewlat.service.store import CalibrationRecord, Store
from fewlat.spaces import get_space

__all__ = ["PredictQuery", "Predicted", "PredictorHost"]

log = logging.getLogger(__name__)

#: device label that says the board runs the spaces' eager models, as HELP's devices did
EXECUTION_LABEL = "execution"


@dataclass(frozen=True)
class PredictQuery:
    """Models to score on one device: ONNX bytes, or arch strings of one space."""

    device: str
    models: Sequence[bytes] = ()
    space: str | None = None
    archs: Sequence[str] = ()


@dataclass(frozen=True)
class Predicted:
    """Answers for one :class:`PredictQuery`, models first, then archs; milliseconds.

    Attributes:
        suites: the suite that answered each.
        spaces: each one's space: an arch's, or the one model bytes were recognised as
            (None: no recognised space).
    """

    latency_ms: np.ndarray
    low_ms: np.ndarray
    high_ms: np.ndarray
    suites: list[str]
    spaces: list[str | None]


def runs_eagerly(labels: Mapping[str, str]) -> bool:
    """Whether a device's labels say it runs the spaces' eager models (as HELP's devices
    did) rather than fewlat's ONNX: ``execution: eager``."""
    return labels.get(EXECUTION_LABEL) == "eager"


class PredictorHost:
    """Holds the meta-model and every device's adapted predictor.

    Args:
        meta: the fitted checkpoint to serve.
        store: where devices, adapted states and calibrations live.
    """

    def __init__(self, meta: MetaPredictor, store: Store) -> None:
        self.lock = threading.RLock()
        self._store = store
        self._devices: dict[str, DevicePredictor] = {}
        self._combiner: Combiner[PredictQuery, Predicted] = Combiner(self._serve, self.lock)
        self.swap(meta)

    # --- the checkpoint -----------------------------------------------------------

    def swap(self, meta: MetaPredictor) -> None:
        """Serve ``meta`` from now on; devices re-adapt lazily from stored timings."""
        with self.lock:
            self.meta = meta
            self.version: str = meta.info_.get("version", "unversioned")
            self.catalog = SuiteCatalog(meta)
            self._devices.clear()

    # --- adapting -----------------------------------------------------------------

    def adapt(self, space: str, timings_ms: Sequence[float], *, eager: bool) -> DevicePredictor:
        """A predictor adapted on one suite's timings (NaN = not measured)."""
        with self.lock:
            return self.meta.adapt({space: list(timings_ms)}, eager=eager)

    def _install(self, device: str) -> DevicePredictor:
        """Load ``device``'s predictor from its stored calibrations of this checkpoint,
        re-adapting (and storing) those made with another checkpoint on the same suite.

        Raises:
            UnknownDeviceError: the device is not registered.
            NotCalibratedError: it has no calibration on a suite this checkpoint serves.
        """
        eager = runs_eagerly(self._store.get_device(device).labels)
        states, skipped = {}, []
        for record in self._store.calibrations(device):
            if record.checkpoint_version != self.version:
                served = self.catalog.version_of(record.space)
                if served != record.suite_version:
                    log.warning(
                        "device %s: its %s timings are of suite %s, the checkpoint serves %s",
                        device,
                        record.space,
                        record.suite_version,
                        served,
                    )
                    skipped.append(record.suite_version)
                    continue
                record = self._readapt(record, eager)
            states[record.space] = record.state
        if not states:
            why = (
                "is not calibrated yet"
                if not skipped
                else (
                    f"was calibrated on suites this server no longer serves ({', '.join(skipped)})"
                )
            )
            raise NotCalibratedError(
                f"device {device!r} {why}; run `fewlat-client calibrate --device {device}` first."
            )
        predictor = self.meta.restore(states, eager=eager)
        self._devices[device] = predictor
        return predictor

    def _readapt(self, record: CalibrationRecord, eager: bool) -> CalibrationRecord:
        timings = [np.nan if t is None else t for t in record.timings_ms]
        log.info(
            "re-adapting %s on %s for checkpoint %s", record.device, record.space, self.version
        )
        adapted = self.meta.adapt({record.space: timings}, eager=eager)
        record = dataclasses.replace(
            record,
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

    def device(self, device: str) -> DevicePredictor:
        """The adapted predictor of ``device`` (loaded from the store when needed).

        Raises:
            UnknownDeviceError, NotCalibratedError: as :meth:`_install`.
        """
        with self.lock:
            return self._devices.get(device) or self._install(device)

    # --- predicting ---------------------------------------------------------------

    def predict(self, query: PredictQuery) -> Predicted:
        """Score a query, combined with the queries of concurrent callers.

        Raises:
            NotCalibratedError, UnknownDeviceError: the device has no calibration / is unknown.
            InvalidModelError, ModelTooLargeError, InvalidArchError, UnknownSpaceError: a
                model of this query (other queries of the same batch are not affected).
        """
        return self._combiner.submit(query)

    def _serve(self, batch: Sequence[Pending]) -> None:
        cache = self.meta.cache
        # (device, answering suite) -> (item, the graphs' spaces, keys, places in its answer)
        groups: Mapping[tuple[str, str], list] = defaultdict(list)
        for item in batch:
            query = item.request
            try:
                predictor = self.device(query.device)
                parts = []
                if query.models:  # each model answered by the suite of its recognised space
                    keys = cache.keys_for_models(query.models)
                    spaces = cache.spaces_of(keys)
                    places: dict[str, list[int]] = defaultdict(list)
                    for i, space in enumerate(spaces):
                        places[predictor.suite_for(space)].append(i)
                    for suite, at in places.items():
                        parts.append((suite, [spaces[i] for i in at], [keys[i] for i in at], at))
                if query.archs:
                    keys = cache.keys_for_archs(query.space, query.archs, eager=predictor.eager)
                    at = list(range(len(query.models), len(query.models) + len(keys)))
                    space = get_space(query.space).name  # an alias asked: the registered name
                    parts.append((predictor.suite_for(space), [space] * len(keys), keys, at))
            except FewlatError as exc:
                item.set_error(exc)
                continue
            for suite, spaces, keys, at in parts:
                groups[(query.device, suite)].append((item, spaces, keys, at))
        answers: dict[int, Predicted] = {}
        for (device, suite), members in groups.items():
            keys = [k for _, _, ks, _ in members for k in ks]
            spaces = [s for _, ss, _, _ in members for s in ss]
            prediction = self._devices[device].predict(
                cache.graphs(keys), suite=suite, space=spaces
            )
            start = 0
            for item, spaces_of_item, ks, at in members:
                stop = start + len(ks)
                answer = answers.get(id(item))
                if answer is None:
                    n = len(item.request.models) + len(item.request.archs)
                    answer = answers[id(item)] = Predicted(
                        np.zeros(n), np.zeros(n), np.zeros(n), [""] * n, [None] * n
                    )
                answer.latency_ms[at] = prediction.latency_ms[start:stop]
                answer.low_ms[at] = prediction.low_ms[start:stop]
                answer.high_ms[at] = prediction.high_ms[start:stop]
                for i, space in zip(at, spaces_of_item, strict=True):
                    answer.suites[i] = suite
                    answer.spaces[i] = space
                start = stop
        nothing = Predicted(np.zeros(0), np.zeros(0), np.zeros(0), [], [])
        for item in batch:
            if not item.done:  # a failed item is done; one with no models or archs gets nothing
                item.set_result(answers.get(id(item), nothing))
        cache.trim()

"""``MetaPredictor`` (shared, meta-trained) and ``DevicePredictor`` (adapted to one device).

Example::

    meta = load_checkpoint()                               # the shipped default
    device = meta.adapt({"nb201": [9.1, 4.2, 6.0]})        # the first 3 suite timings, ms
    pred = device.predict_archs("nb201", archs)            # latency_ms, low_ms, high_ms
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from fewlat.exceptions import NotFittedError, invalid_parameter
from fewlat.meta.predictor._adapt import adapt_heads, predict_log, shot_targets
from fewlat.meta.predictor._cache import GraphCache
from fewlat.meta.predictor._descriptor import descriptor_vector
from fewlat.meta.predictor._graphset import GraphSet, TorchColours
from fewlat.meta.predictor._intervals import (
    DEFAULT_HALF_WIDTH,
    DEFAULT_OUTSIDE_HALF_WIDTH,
    IntervalScales,
)
from fewlat.meta.predictor._model import LatencyGNN
from fewlat.meta.predictor._state import (
    FEWLAT_PARTS,
    METHODS,
    NETWORK_OF,
    NETWORKS,
    NetworkState,
    SuiteState,
)
from fewlat.meta.predictor._train import TrainConfig
from fewlat.spaces import get_space

__all__ = ["METHODS", "DevicePredictor", "MetaPredictor", "Prediction"]

#: above this many graphs, node states of the whole cache are computed once and reused
_FULL_PASS_GRAPHS = 2048


@dataclass(frozen=True)
class Prediction:
    """Predicted latencies with an 80% interval, milliseconds, one entry per model.

    Attributes:
        latency_ms, low_ms, high_ms: point prediction and interval bounds.
        suite: the space whose calibration suite the answer came from.
    """

    latency_ms: np.ndarray
    low_ms: np.ndarray
    high_ms: np.ndarray
    suite: str


class MetaPredictor:
    """The meta-trained predictor shared by every device (estimator-style).

    Fitted attributes (set by training or :func:`load_checkpoint`):
        model_: the meta-trained network; log_damping_: its learned inner-loop damping.
        baseline_: the same network trained without meta-learning (the pooled
            network: ``gnn-finetune``, and half of ``fewlat``'s answer), or None.
        suites_: ``{space: (arch, …)}`` the calibration suites, anchor first.
        intervals_: :class:`IntervalScales` of the 80% interval (None: a fixed
            ±22%, for a checkpoint trained without held-out devices).
        info_: the checkpoint's JSON config (manifest, metrics, versions).

    Args:
        config: the training recipe.
        cache: graph cache used to look up suite and arch graphs (a new one if None).
    """

    intervals_: IntervalScales | None

    def __init__(self, config: TrainConfig | None = None, cache: GraphCache | None = None):
        self.config = config or TrainConfig()
        self.cache = cache or GraphCache(self.config.model.levels)

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                "This MetaPredictor is not fitted yet; meta-train it or load a checkpoint "
                "(fewlat.meta.predictor.load_checkpoint) before calling adapt."
            )

    def adapt(
        self,
        suite_timings: Mapping[str, Sequence[float]],
        *,
        method: str = "fewlat",
        eager: bool = False,
        steps: int | None = None,
    ) -> DevicePredictor:
        """Adapt to one device from its suite timings; the meta-model is not changed.

        Args:
            suite_timings: ``{space: [ms of the first K suite entries]}`` for one or
                more suites, K from 1 to the suite length; NaN marks a shot that
                was not measured (the anchor, first, is required).
            method: one of :data:`METHODS`.
            eager: the device runs the spaces' eager reference models (as HELP's
                devices did), not fewlat's ONNX; arch strings are then scored as
                :meth:`Space.eager_model` (see :mod:`._execution`).
            steps: Gauss-Newton steps on each network's head (default: the recipe's,
                ``inner_steps`` for the meta network, ``finetune_steps`` for the pooled
                one; ``zero-shot`` takes none). More steps fit the shots more closely
                (``benchmarks/adapt_steps.py``).

        Returns:
            A new :class:`DevicePredictor`. Its 80% interval scales with the device's
            :meth:`DevicePredictor.shot_error`, for which each measured shot after the
            anchor is also left out once (extra rows of the same batched inner loop).

        Raises:
            NotFittedError: not trained or loaded, or ``gnn-finetune`` of a checkpoint
                trained without the pooled network.
            InvalidParameterError: an unknown suite or method, too many timings,
                timings that are not positive, or ``steps`` < 0.
        """
        self._check_fitted()
        if method not in METHODS:
            raise invalid_parameter("method", "MetaPredictor.adapt", f"one of {METHODS}", method)
        if steps is not None and (
            isinstance(steps, bool) or not isinstance(steps, int) or steps < 0
        ):
            raise invalid_parameter("steps", "MetaPredictor.adapt", "an int >= 0 or None", steps)
        if not suite_timings:
            raise invalid_parameter(
                "suite_timings", "MetaPredictor.adapt", "timings of at least one suite", {}
            )
        calibrated = {}
        for space, timings in suite_timings.items():
            if space not in self.suites_:
                raise invalid_parameter(
                    "suite_timings",
                    "MetaPredictor.adapt",
                    f"keyed by suites of this checkpoint {sorted(self.suites_)}",
                    space,
                )
            calibrated[space] = self._calibrate(space, list(timings), method, eager, steps)
        return DevicePredictor(self, calibrated, eager)

    def restore(self, states: Mapping[str, bytes], *, eager: bool = False) -> DevicePredictor:
        """Rebuild a :class:`DevicePredictor` from :meth:`DevicePredictor.state_bytes`
        of each suite, without adapting again (same checkpoint required).

        Raises:
            NotFittedError: not trained or loaded, or a state of the pooled network
                and a checkpoint without it.
            InvalidParameterError: no states, a suite this checkpoint lacks, or bytes
                that are not a stored state.
        """
        self._check_fitted()
        if not states:
            raise invalid_parameter("states", "MetaPredictor.restore", "at least one state", {})
        calibrated = {}
        for space, data in states.items():
            if space not in self.suites_:
                raise invalid_parameter(
                    "states",
                    "MetaPredictor.restore",
                    f"keyed by suites {sorted(self.suites_)}",
                    space,
                )
            calibrated[space] = SuiteState.from_bytes(data)
            for state in calibrated[space].networks:
                self.network(state.network)
        return DevicePredictor(self, calibrated, eager)

    def network(self, name: str) -> LatencyGNN:
        """The fitted network that adapted states call ``name`` (``meta`` or ``pooled``):
        ``model_`` for ``meta``, ``baseline_`` for ``pooled``.

        Raises:
            InvalidParameterError: another name.
            NotFittedError: not fitted, or ``pooled`` and a checkpoint trained without it.
        """
        if name not in NETWORKS:
            raise invalid_parameter("name", "MetaPredictor.network", f"one of {NETWORKS}", name)
        self._check_fitted()
        if name == "meta":
            return self.model_
        if self.baseline_ is None:
            raise NotFittedError("This checkpoint has no pooled (gnn-finetune) network.")
        return self.baseline_

    def _parts(self, method: str) -> tuple[str, ...]:
        """The one-network methods whose predictions ``method`` averages (in log space)."""
        if method == "fewlat":
            return FEWLAT_PARTS if self.baseline_ is not None else FEWLAT_PARTS[:1]
        return (method,)

    @torch.no_grad()
    def _calibrate(
        self, space: str, timings: list[float], method: str, eager: bool, steps: int | None
    ) -> SuiteState:
        suite = self.suites_[space]
        if len(timings) > len(suite):
            raise invalid_parameter(
                "suite_timings",
                "MetaPredictor.adapt",
                f"at most {len(suite)} timings for the {space} suite",
                len(timings),
            )
        # row 0 adapts on every timing; the others each leave one shot out (shot error)
        rows = _leave_one_out_rows(timings)
        names = list(self.suites_)
        desc = np.stack([descriptor_vector(r, names.index(space), len(names)) for r in rows])
        k = len(timings)
        shots = self.cache.for_archs(space, suite[:k], eager=eager).restricted()
        targets, mask, _ = shot_targets(np.array(rows), self.config.target == "ratio")
        networks = tuple(
            self._adapt_network(part, torch.from_numpy(desc), shots, targets, mask, timings, steps)
            for part in self._parts(method)
        )
        return SuiteState(networks, anchor_ms=float(timings[0]), shots=k, method=method)

    def _adapt_network(
        self,
        part: str,
        desc: torch.Tensor,
        shots: tuple[TorchColours, torch.Tensor],
        targets: torch.Tensor,
        mask: torch.Tensor,
        timings: list[float],
        steps: int | None,
    ) -> NetworkState:
        """One network (of the one-network method ``part``) adapted on every row of
        ``desc`` / ``targets`` (the timings, then each leave-one-out copy)."""
        network = NETWORK_OF[part]
        model = self.network(network)
        colours, counts = shots
        n_nodes = counts.sum(dim=1)
        film, heads = model.device_state(desc)
        h = model.embed(colours, film)
        ratio = self.config.target == "ratio"
        if part == "meta-only":
            steps, log_damping = (
                self.config.inner_steps if steps is None else steps,
                self.log_damping_,
            )
        elif part == "gnn-finetune":
            steps = self.config.finetune_steps if steps is None else steps
            log_damping = torch.full_like(
                self.log_damping_, float(np.log(self.config.finetune_damping))
            )
        else:
            steps, log_damping = 0, self.log_damping_
        with torch.enable_grad():
            heads = adapt_heads(
                model,
                h,
                heads,
                log_damping,
                steps,
                colours.base,
                counts,
                n_nodes,
                targets,
                mask,
                ratio,
            ).detach()
        anchor = (counts[:1], n_nodes[:1]) if ratio else None
        errors = tuple(  # row j adapted without shot i: how far off is shot i?
            float(predict_log(model, h[j], heads[j], colours.base, counts, n_nodes, anchor)[i])
            - float(targets[0, i])
            for j, i in enumerate(_left_out_shots(timings), start=1)
        )
        anchor_score = predict_log(
            model, h[0], heads[0], colours.base, counts[:1], n_nodes[:1], None
        )
        return NetworkState(
            network=network,
            film=film[:1],
            head=heads[0],
            anchor_log_score=float(anchor_score[0]) if ratio else 0.0,
            shot_errors=errors,
        )


def _rms(values: Sequence[float]) -> float:
    return float(np.sqrt(np.mean(np.square(values)))) if len(values) else float("nan")


def _left_out_shots(timings: Sequence[float]) -> list[int]:
    """Shots left out one at a time to measure the shot error: every measured one but the anchor."""
    return [i for i in range(1, len(timings)) if np.isfinite(timings[i])]


def _leave_one_out_rows(timings: Sequence[float]) -> list[list[float]]:
    """The timings themselves, then one copy per :func:`_left_out_shots` with that shot NaN."""
    rows = [list(timings)]
    for i in _left_out_shots(timings):
        rows.append([float("nan") if j == i else t for j, t in enumerate(timings)])
    return rows


def _holds_values_of(state: NetworkState, graphs: GraphSet) -> bool:
    """Whether ``state`` keeps node values of the colour index snapshot ``graphs`` use."""
    return state.node_values is not None and state.node_values[0] is graphs.colours


class DevicePredictor:
    """A predictor adapted to one device (returned by :meth:`MetaPredictor.adapt`)."""

    def __init__(self, meta: MetaPredictor, calibrated: dict[str, SuiteState], eager: bool):
        self._meta = meta
        self._calibrated = calibrated
        self.eager = eager

    @property
    def suites(self) -> dict[str, int]:
        """``{space: shots}`` of every suite this device was calibrated with."""
        return {space: c.shots for space, c in self._calibrated.items()}

    def parts(self) -> dict[str, DevicePredictor]:
        """This device's networks one at a time, ``{method: DevicePredictor}``: for
        ``fewlat`` with both networks, ``meta-only`` and ``gnn-finetune``, as
        :meth:`MetaPredictor.adapt` with that method and the same timings gives them,
        without adapting again (the adapted states are shared); a predictor of one
        network gives ``{its method: a predictor like itself}``."""
        by_method: dict[str, dict[str, SuiteState]] = {}
        for space, state in self._calibrated.items():
            for method, part in state.parts().items():
                by_method.setdefault(method, {})[space] = part
        return {m: DevicePredictor(self._meta, c, self.eager) for m, c in by_method.items()}

    def shot_errors(self, space: str) -> list[float]:
        """How well this device's own suite timings predict each other:
        log(predicted / measured) of each measured shot after the anchor, in suite
        order, when the adaptation (and the descriptor) leaves that shot out.

        Raises:
            InvalidParameterError: ``space`` is not one of :attr:`suites`.
        """
        return list(self._state_of(space, "DevicePredictor.shot_errors").shot_errors)

    def shot_error(self, space: str) -> float:
        """RMS of :meth:`shot_errors` (NaN with fewer than two measured shots); the
        80% interval widens with it (:mod:`._intervals`).

        Raises:
            InvalidParameterError: ``space`` is not one of :attr:`suites`.
        """
        return _rms(self._state_of(space, "DevicePredictor.shot_error").shot_errors)

    def _state_of(self, space: str, where: str) -> SuiteState:
        if space not in self._calibrated:
            raise invalid_parameter("space", where, f"one of {sorted(self._calibrated)}", space)
        return self._calibrated[space]

    def suite_for(self, space: str | None) -> str:
        """The suite that answers for ``space``: its own if calibrated, else the one with
        the most shots (ties: the first calibrated).

        Raises:
            UnknownSpaceError: ``space`` is not a registered space name or alias.
        """
        if space is not None and (name := get_space(space).name) in self._calibrated:
            return name
        return max(self._calibrated, key=lambda s: self._calibrated[s].shots)

    def answers_outside(self, space: str, suite: str | None = None) -> bool:
        """Whether models of ``space``, answered by ``suite`` (default: :meth:`suite_for`
        ``space``), are outside that suite's space and so get the wider interval.

        Raises:
            UnknownSpaceError: ``space`` is not a registered space name or alias.
        """
        return get_space(space).name != self.suite_for(space if suite is None else suite)

    def state_bytes(self, space: str) -> bytes:
        """The adapted state of one suite as safetensors bytes, for
        :meth:`MetaPredictor.restore` (no pickle).

        Raises:
            InvalidParameterError: ``space`` is not one of :attr:`suites`.
        """
        return self._state_of(space, "DevicePredictor.state_bytes").to_bytes()

    @torch.no_grad()
    def predict(
        self,
        graphs: GraphSet,
        *,
        suite: str | None = None,
        space: str | Sequence[str | None] | None = None,
    ) -> Prediction:
        """Latency of each graph, milliseconds, with an 80% interval.

        Args:
            graphs: from :meth:`GraphCache.for_archs` / :meth:`GraphCache.for_models`
                of this predictor's cache.
            suite: which calibrated suite answers (default: the one with most shots).
            space: the graphs' search space. A graph outside the answering suite's
                space gets the wider interval of such models
                (:meth:`IntervalScales.outside_half_width`). One name for every
                graph, or one entry per graph (e.g. :meth:`GraphCache.spaces_of`),
                where None is a model of no known space (outside). None for the
                whole argument: every graph is taken to be of the suite's space.

        Raises:
            InvalidParameterError: ``space`` is a sequence whose length is not the
                number of graphs.
            UnknownSpaceError: a name in ``space`` is not a registered space.
        """
        name = self.suite_for(suite)
        cal = self._calibrated[name]
        spread = np.exp(self._half_widths(name, space, len(graphs)))  # checks ``space`` first
        n_nodes = torch.from_numpy(
            np.add.reduceat(graphs.counts, graphs.indptr[:-1]).astype(np.float32)
            if len(graphs)
            else np.zeros(0, np.float32)
        )
        if len(graphs) <= _FULL_PASS_GRAPHS:  # only the colours these graphs need
            colours, counts = graphs.restricted()
            values = [self._node_values(n, colours) for n in cal.networks]
        else:  # every colour of the index, each network's values kept for the next call
            counts = graphs.sparse_counts()
            stale = [n for n in cal.networks if not _holds_values_of(n, graphs)]
            if stale:
                everything = TorchColours.from_arrays(graphs.colours)
                for n in stale:
                    n.node_values = (graphs.colours, self._node_values(n, everything))
            values = [n.node_values[1] for n in cal.networks]
        # the geometric mean of the networks' answers (one network: its answer)
        log_ratio = np.mean(
            [
                self._meta.network(n.network).log_score(v, counts, n_nodes).double().numpy()
                - n.anchor_log_score
                for n, v in zip(cal.networks, values, strict=True)
            ],
            axis=0,
        )
        latency = np.exp(log_ratio) * (
            cal.anchor_ms if self._meta.config.target == "ratio" else 1.0
        )
        return Prediction(latency, latency / spread, latency * spread, name)

    def _half_widths(
        self, suite: str, space: str | Sequence[str | None] | None, n_graphs: int
    ) -> float | np.ndarray:
        """Log half-width of the 80% interval: one for every graph, or one per graph."""
        scales = self._meta.intervals_  # None: a checkpoint fitted without held-out devices
        cal = self._calibrated[suite]
        inside = (
            scales.half_width(cal.shots, _rms(cal.shot_errors)) if scales else DEFAULT_HALF_WIDTH
        )
        outside = scales.outside_half_width() if scales else DEFAULT_OUTSIDE_HALF_WIDTH
        if space is None:
            return inside
        if isinstance(space, str):
            return outside if self.answers_outside(space, suite) else inside
        if len(space) != n_graphs:
            raise invalid_parameter(
                "space", "DevicePredictor.predict", f"{n_graphs} entries, one per graph", space
            )
        width = {
            s: outside if s is None or self.answers_outside(s, suite) else inside
            for s in set(space)
        }
        return np.array([width[s] for s in space], np.float64)

    def _node_values(self, state: NetworkState, colours: TorchColours) -> torch.Tensor:
        """One network's per-colour values of ``colours`` for this device."""
        model = self._meta.network(state.network)
        h = model.embed(colours, state.film)[0]
        return model.node_values(h, state.head, colours.base)

    def predict_archs(self, space: str, archs: Sequence[str]) -> Prediction:
        """Predict arch strings of ``space`` (graphs come from the cache, built once)."""
        graphs = self._meta.cache.for_archs(space, archs, eager=self.eager)
        return self.predict(graphs, suite=space, space=space)

    def predict_models(self, models: Sequence[bytes], *, suite: str | None = None) -> Prediction:
        """Predict ONNX models given as bytes (untrusted; parsed with the size/node limits).

        Each model's space is recognised from its nodes (:meth:`GraphCache.spaces_of`).
        One suite answers them all (as :meth:`suite_for` ``suite``), by default the
        calibrated suite of the space most models were recognised as (none: the suite
        with most shots). A model not recognised as the answering suite's space gets
        the wider interval of models outside it.

        Raises:
            InvalidModelError, ModelTooLargeError: a model that cannot be read.
            UnknownSpaceError: ``suite`` is not a registered space.
        """
        cache = self._meta.cache
        keys = cache.keys_for_models(models)
        spaces = cache.spaces_of(keys)
        if suite is None:
            ours = Counter(s for s in spaces if s in self._calibrated).most_common(1)
            suite = ours[0][0] if ours else None
        return self.predict(cache.graphs(keys), suite=suite, space=spaces)

"""Episodic meta-training: a device is a task, its suite shots the support set.

One step draws a space, up to ``devices_per_step`` of its training devices and
``queries`` archs that all of them have, and a shot count K. Each device's
head is adapted on its first K suite timings (the inner loop, :mod:`._adapt`)
and the loss is the Huber error of log(latency / anchor) on the queries.
Every draw comes from ``numpy.random.default_rng((seed, step))``, so a run is
deterministic and resumes exactly from a saved step.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch
from torch.nn import functional as F

from fewlat.exceptions import InvalidParameterError
from fewlat.meta.predictor._adapt import adapt_heads, predict_log, shot_targets
from fewlat.meta.predictor._cache import GraphCache
from fewlat.meta.predictor._descriptor import descriptor_size, descriptor_vector
from fewlat.meta.predictor._model import LatencyGNN, ModelConfig
from fewlat.meta.tables import LatencyTable

__all__ = ["SpaceData", "TrainConfig", "Trainer"]

_SCHEDULES = ("cosine", "constant")
_LOSSES = ("huber", "spread")
#: the smallest spread (log units) a device's errors are divided by under ``loss="spread"``
_MIN_SPREAD = 0.02


@dataclass(frozen=True)
class TrainConfig:
    """The meta-training recipe (stored in checkpoints, reused by ``eval --cv``).

    Attributes:
        steps: optimiser steps (3750: as many as recipe 2 gave the network, 3000 on
            the devices without the calibration devices and 750 more with them).
        devices_per_step: devices (tasks) per step.
        queries: query archs per step.
        inner_steps: inner-loop steps; 0 trains a plain pooled model. 10 rather
            than 3: three steps leave the head short of a fit to the shots, and
            the device-level CV was lower in every space (README).
        finetune_steps, finetune_damping: adaptation of a model trained with 0
            inner steps: the same Gauss-Newton steps on the head, with one fixed
            damping instead of learned ones.
        lr: Adam learning rate of the meta-parameters (the peak, see ``lr_schedule``).
        lr_schedule: ``"cosine"``: the rate at step s of S is ``lr · ½(1 + cos(π s / S))``,
            falling to zero at the last step (recipe 5). At a constant rate
            (``"constant"``, recipes ≤ 4) one CV fold's device state drifted late
            in training, along directions the loss barely sees, to ±60–130:
            past the log-price clamp, where adaptation no longer moves it.
        min_shots: smallest K drawn for an episode (the largest is the suite length).
        drop_shot: chance that a non-anchor shot is masked out (teaches the mask).
        target: ``"ratio"`` (log latency / anchor) or ``"raw"`` (log latency).
        loss: ``"huber"``: Huber error (β = 0.1) of the query targets. ``"spread"``:
            the same with each device's errors divided by the spread (standard
            deviation) of its query targets in the episode (β = 1 spread), so a
            device whose archs differ by a few percent (FBNet) weighs its ranking
            errors as much as one whose archs differ several-fold (NB201).
        max_archs: query archs kept per space (a deterministic subset).
        seed: seeds the model's initial weights and every draw.
        model: the network's architecture.
    """

    steps: int = 3750
    devices_per_step: int = 8
    queries: int = 48
    inner_steps: int = 10
    finetune_steps: int = 40
    finetune_damping: float = 0.05
    lr: float = 3e-3
    lr_schedule: str = "cosine"
    min_shots: int = 3
    drop_shot: float = 0.1
    target: str = "ratio"
    loss: str = "huber"
    max_archs: int = 2000
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)

    def to_dict(self) -> dict:
        """The recipe as JSON-ready values. ``loss`` is left out while it is
        ``"huber"``, the one loss of recipes before it existed (and the model's
        ``node_prices`` while 0, :meth:`ModelConfig.to_dict`), so that such a
        recipe keeps the dict, and the fold-model and resume keys hashed from it."""
        raw = {**asdict(self), "model": self.model.to_dict()}
        if raw["loss"] == "huber":
            del raw["loss"]
        return raw

    @classmethod
    def from_dict(cls, raw: dict) -> TrainConfig:
        raw = dict(raw)
        raw.setdefault("lr_schedule", "constant")  # recipes <= 4 had no schedule
        raw.setdefault("loss", "huber")  # left out while it is huber (see to_dict)
        # checkpoints written before op prices and node prices existed have none
        defaults = {"op_prices": False, "node_prices": 0}
        raw["model"] = ModelConfig(**{**defaults, **raw.get("model", {})})
        return cls(**raw)


def query_loss(pred: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """The episode loss of predicted against measured targets, both ``[D, Q]`` (log units).

    ``"huber"``: the mean Huber error (β = 0.1). ``"spread"``: each device's errors
    divided by the standard deviation of its Q targets (at least ``_MIN_SPREAD``),
    then the mean Huber error with β = 1 (one spread).
    """
    if loss == "spread":
        spread = target.std(dim=1, keepdim=True).clamp(min=_MIN_SPREAD)
        return F.smooth_l1_loss(pred / spread, target / spread, beta=1.0)
    return F.smooth_l1_loss(pred, target, beta=0.1)


@dataclass(frozen=True)
class SpaceData:
    """One space's pooled table, its suite, and the devices that may be trained on.

    Attributes:
        table: the pooled latency table of the space.
        suite: the suite's archs in order, anchor first.
        suite_slot: the suite's position in the model's suite list.
        devices: table columns used for training.
        eager: whether these devices ran the eager model (:mod:`._execution`).
    """

    table: LatencyTable
    suite: tuple[str, ...]
    suite_slot: int
    devices: tuple[str, ...]
    eager: bool = False

    def suite_rows(self) -> np.ndarray:
        return np.array([self.table.row_of(a) for a in self.suite], np.int64)

    def query_rows(self, max_archs: int, seed: int) -> np.ndarray:
        """Rows usable as queries: measured on a training device, not in the suite."""
        cols = [self.table.devices.index(d) for d in self.devices]
        lat = self.table.latency_ms[:, cols]
        counts = np.isfinite(lat).sum(axis=1)
        rows = np.flatnonzero(counts > 0)
        rows = rows[~np.isin(rows, self.suite_rows())]
        rng = np.random.default_rng(seed)
        # most-measured archs first, then a seeded shuffle within equal counts
        order = np.lexsort((rng.random(len(rows)), -counts[rows]))
        return np.sort(rows[order[:max_archs]])


@dataclass
class _Episode:
    space: SpaceData
    cols: np.ndarray
    shots: int
    archs: list[str]
    support_ms: np.ndarray  # [D, K] NaN where masked
    query_ms: np.ndarray  # [D, Q]


class Trainer:
    """Meta-trains one :class:`LatencyGNN` (and its learned step sizes).

    Args:
        config: the recipe.
        data: one entry per training space.
        n_suites: suites the model knows (descriptor width).
        cache: graph cache holding (or building) every suite and query arch.
        total_steps: the steps the learning rate schedule spans (default ``config.steps``).

    Raises:
        InvalidParameterError: an unknown ``lr_schedule``.
    """

    def __init__(
        self,
        config: TrainConfig,
        data: Sequence[SpaceData],
        n_suites: int,
        cache: GraphCache,
        total_steps: int | None = None,
    ) -> None:
        if config.lr_schedule not in _SCHEDULES:
            raise InvalidParameterError(
                f"unknown lr_schedule {config.lr_schedule!r}; use one of {', '.join(_SCHEDULES)}"
            )
        if config.loss not in _LOSSES:
            raise InvalidParameterError(
                f"unknown loss {config.loss!r}; use one of {', '.join(_LOSSES)}"
            )
        model_config = replace(config.model, descriptor_size=descriptor_size(n_suites))
        self.config = config = replace(config, model=model_config)
        self.data = list(data)
        self.n_suites = n_suites
        self.cache = cache
        torch.manual_seed(config.seed)
        self.model = LatencyGNN(config.model)
        self.log_damping = torch.nn.Parameter(torch.full((self.model.head_size,), np.log(0.1)))
        self.optimizer = torch.optim.Adam(
            [*self.model.parameters(), self.log_damping], lr=config.lr
        )
        self.total_steps = config.steps if total_steps is None else total_steps
        self.step = 0
        self.skipped_steps = 0  # steps whose loss or gradient was not finite (not applied)
        self._queries = [d.query_rows(config.max_archs, config.seed) for d in self.data]

    def prepare(
        self, data: Sequence[SpaceData], on_new: Callable[[int], None] | None = None
    ) -> None:
        """Build every graph that training on ``data`` will use (the cache keeps them)."""
        for space in data:
            rows = space.query_rows(self.config.max_archs, self.config.seed)
            archs = [*space.suite, *(space.table.archs[r] for r in rows)]
            self.cache.for_archs(space.table.space, archs, eager=space.eager, on_new=on_new)

    def _episode(self, rng: np.random.Generator) -> _Episode | None:
        which = int(rng.integers(len(self.data)))  # each (space, execution) group alike
        space, rows = self.data[which], self._queries[which]
        lat = space.table.latency_ms
        suite_rows = space.suite_rows()
        cols = np.array([space.table.devices.index(d) for d in space.devices], np.int64)
        cols = cols[np.isfinite(lat[suite_rows[0], cols])]
        if len(cols) == 0:
            return None
        cols = rng.choice(cols, size=min(self.config.devices_per_step, len(cols)), replace=False)
        usable = rows[np.isfinite(lat[np.ix_(rows, cols)]).all(axis=1)]
        if len(usable) < 2:
            return None
        query = rng.choice(usable, size=min(self.config.queries, len(usable)), replace=False)
        shots = int(rng.integers(min(self.config.min_shots, len(suite_rows)), len(suite_rows) + 1))
        support = lat[np.ix_(suite_rows[:shots], cols)].T.copy()
        drop = rng.random(support.shape) < self.config.drop_shot
        drop[:, 0] = False
        support[drop] = np.nan
        archs = [space.suite[i] for i in range(shots)] + [space.table.archs[r] for r in query]
        return _Episode(space, cols, shots, archs, support, lat[np.ix_(query, cols)].T)

    def episode_loss(self, episode: _Episode) -> torch.Tensor:
        """Mean Huber loss of log latency ratios on the episode's queries (see ``loss``)."""
        cfg = self.config
        graphs = self.cache.for_archs(
            episode.space.table.space, episode.archs, eager=episode.space.eager
        )
        colours, counts = graphs.restricted()
        n_nodes = counts.sum(dim=1)
        k = episode.shots
        descriptors = torch.from_numpy(
            np.stack(
                [
                    descriptor_vector(ms, episode.space.suite_slot, self.n_suites)
                    for ms in episode.support_ms
                ]
            )
        )
        film, heads = self.model.device_state(descriptors)
        h = self.model.embed(colours, film)
        ratio = cfg.target == "ratio"
        targets, mask, anchor_ms = shot_targets(episode.support_ms, ratio)
        query = torch.from_numpy(episode.query_ms)
        query_y = torch.log(query) - (torch.log(anchor_ms) if ratio else 0.0)
        if cfg.inner_steps:
            heads = adapt_heads(
                self.model, h, heads, self.log_damping, cfg.inner_steps, colours.base,
                counts[:k], n_nodes[:k], targets, mask, ratio,
            )  # fmt: skip
        anchor = (counts[:1], n_nodes[:1]) if ratio else None
        pred = torch.stack(
            [
                predict_log(
                    self.model, h[d], heads[d], colours.base, counts[k:], n_nodes[k:], anchor
                )
                for d in range(len(episode.cols))
            ]
        )
        return query_loss(pred, query_y.float(), cfg.loss)

    def learning_rate(self, step: int) -> float:
        """The Adam learning rate at ``step`` (0-based) under the recipe's schedule."""
        if self.config.lr_schedule == "constant":
            return self.config.lr
        done = min(step / max(self.total_steps, 1), 1.0)
        return self.config.lr * 0.5 * (1.0 + math.cos(math.pi * done))

    def train(self, steps: int, on_step: Callable[[int, float], None] | None = None) -> None:
        """Run optimiser steps ``self.step`` … ``steps - 1`` (resumes where it stopped)."""
        self.model.train()
        while self.step < steps:
            rng = np.random.default_rng((self.config.seed, self.step))
            episode = self._episode(rng)
            loss_value = float("nan")
            if episode is not None:
                self.optimizer.zero_grad()
                loss = self.episode_loss(episode)
                loss.backward()
                params = [*self.model.parameters(), self.log_damping]
                norm = torch.nn.utils.clip_grad_norm_(params, 5.0)
                # a step whose loss or gradient is not finite (an inner-loop solve that
                # blew up on an odd episode) is skipped: one NaN would poison every weight
                if torch.isfinite(loss) and torch.isfinite(norm):
                    for group in self.optimizer.param_groups:
                        group["lr"] = self.learning_rate(self.step)
                    self.optimizer.step()
                    loss_value = float(loss.detach())
                else:
                    self.skipped_steps += 1
            self.step += 1
            if on_step is not None:
                on_step(self.step, loss_value)

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Everything needed to resume, as named tensors (for safetensors)."""
        tensors = {f"model.{k}": v.detach() for k, v in self.model.state_dict().items()}
        tensors["log_damping"] = self.log_damping.detach()
        state = self.optimizer.state_dict()["state"]
        for i, slot in state.items():
            for name, value in slot.items():
                tensors[f"adam.{i}.{name}"] = torch.as_tensor(value).detach()
        tensors["step"] = torch.tensor(self.step)
        tensors["skipped_steps"] = torch.tensor(self.skipped_steps)
        return tensors

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        """Restore a :meth:`state_tensors` snapshot."""
        self.model.load_state_dict(
            {k[len("model.") :]: v for k, v in tensors.items() if k.startswith("model.")}
        )
        with torch.no_grad():
            self.log_damping.copy_(tensors["log_damping"])
        state = self.optimizer.state_dict()
        slots: dict[int, dict[str, torch.Tensor]] = {}
        for key, value in tensors.items():
            if key.startswith("adam."):
                _, i, name = key.split(".", 2)
                slots.setdefault(int(i), {})[name] = value.clone()
        state["state"] = slots
        self.optimizer.load_state_dict(state)
        self.step = int(tensors["step"])
        self.skipped_steps = int(tensors["skipped_steps"])

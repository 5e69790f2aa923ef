"""The hardware-conditioned GNN: FiLM from the descriptor into every layer, additive readout.

The network runs over a colour index (:mod:`._colours`), batched over devices:
every tensor of node states is ``[D, U, H]`` for D devices and U colours.

* ``embed``: node features → H, then ``levels`` message-passing layers
  (mean of ``relu(W_m [h_src, e])`` over in-neighbours, ``relu(W_u [h, m])``),
  each followed by FiLM ``h * (1 + gamma_d) + beta_d`` from the device vector;
  the last states are layer-normalised, which keeps inner-loop gradients tame.
* readout ``additive``: each node has R resource amounts, each one of its
  base quantities (MACs, bytes moved, output elements, 1: linear scale, from
  the features) times a learned efficiency ``softplus(g(h))``, and the device
  prices them: node cost ``amounts · exp(head_d)``; a graph's score S is the
  sum of its nodes' costs. At initialisation this is already a roofline-like
  cost model; the GNN learns the corrections (fusion, layout, parallelism).
  With ``op_prices`` the device also prices each kind of node: a node's cost
  is multiplied by ``exp(head_k)`` for its op (and once more if depthwise).
  These are the head's other entries, so few shots can say "average pooling
  is slow here" directly (on NB201 at batch 256 a pool costs a seventh of a
  3×3 conv on a 2080 Ti and three quarters of one on a Titan X, and per-op
  costs fit those tables at ρ ≥ 0.997).
  With ``node_prices`` = C the device also prices C learned directions of the
  node state: a node's cost is multiplied by ``exp(u(h) · head_u)`` with
  ``u = W h`` (learned, shared) and ``head_u`` (C more head entries, 0 at the
  start: no change). Op prices are the fixed, one-hot case of this; learned
  directions let the shots move the cost of a node *in its context*
  (``benchmarks/head_capacity.py``: with prices alone, even fitted on 300
  archs, the network ranked the Intel CPUs' FBNet archs well below what a
  price per node-state direction reached). Tried as a recipe and not shipped:
  the CV did not move, and nodes unlike the training spaces' got wild costs.
  ``pooled``: ``log S = mean-pooled h · w_d + b_d``.
  Either way the network predicts ``log S``.
* The head starts from a learned initial value plus an offset from the device
  vector; it is what few-shot adaptation changes. With the additive readout
  the score is linear in the prices, so the inner loop is well conditioned.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from fewlat.meta.features import EDGE_FEATURES, NODE_FEATURES
from fewlat.meta.predictor._graphset import BASE_QUANTITIES, OP_GROUPS, TorchColours

__all__ = ["MAX_LOG_PRICE", "LatencyGNN", "ModelConfig"]

READOUTS = ("additive", "pooled")
#: log prices are clamped to ±this (a factor of ~1e13), far beyond any real device
MAX_LOG_PRICE = 30.0


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters (stored in checkpoints).

    Attributes:
        hidden: width of node states.
        levels: message-passing layers.
        resources: additive readout: resources per base quantity (priced per device).
        descriptor_size: length of the device vector input.
        readout: ``"additive"`` or ``"pooled"``.
        op_prices: additive readout: the head also prices each :data:`OP_GROUPS`
            kind of node (checkpoints older than this field have none).
        node_prices: additive readout: the head also prices this many learned
            directions of the node state (0: none, as before the field existed;
            16 was tried as a recipe and not shipped, README).
    """

    hidden: int = 64
    levels: int = 2
    resources: int = 4
    descriptor_size: int = 24
    readout: str = "additive"
    op_prices: bool = True
    node_prices: int = 0

    def to_dict(self) -> dict:
        """The architecture as JSON-ready values; ``node_prices`` is left out while it
        is 0, so that a design from before the field keeps its dict (and hashes)."""
        raw = asdict(self)
        if raw["node_prices"] == 0:
            del raw["node_prices"]
        return raw


class LatencyGNN(nn.Module):
    """GNN whose output ``log S`` is conditioned on a device vector."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {config.readout!r}")
        if config.node_prices < 0 or (config.node_prices and config.readout != "additive"):
            raise ValueError(
                f"node_prices must be 0, or > 0 with the additive readout, got {config.node_prices}"
            )
        self.config = config
        h, levels = config.hidden, config.levels
        self.encode = nn.Linear(len(NODE_FEATURES), h)
        self.message = nn.ModuleList(nn.Linear(h + len(EDGE_FEATURES), h) for _ in range(levels))
        self.update = nn.ModuleList(nn.Linear(2 * h, h) for _ in range(levels))
        self.norm = nn.LayerNorm(h, elementwise_affine=False)
        self.device_net = nn.Sequential(
            nn.Linear(config.descriptor_size, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU()
        )
        self.film = nn.Linear(h, 2 * h * (levels + 1))
        self.resource = nn.Linear(h, config.resources * len(BASE_QUANTITIES))
        if config.node_prices:
            self.node_direction = nn.Linear(h, config.node_prices, bias=False)
        size = self.head_size
        self.head_offset = nn.Linear(h, size)
        self.head_init = nn.Parameter(torch.zeros(size))
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        nn.init.zeros_(self.head_offset.weight)
        nn.init.zeros_(self.head_offset.bias)

    def device_state(self, descriptor: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``[D, descriptor_size]`` → (FiLM ``[D, levels+1, 2, H]``, heads ``[D, head_size]``)."""
        z = self.device_net(descriptor)
        h = self.config.hidden
        film = self.film(z).view(-1, self.config.levels + 1, 2, h)
        head = self.head_init.unsqueeze(0) + self.head_offset(z)
        return film, head

    def embed(self, colours: TorchColours, film: torch.Tensor) -> torch.Tensor:
        """Node states of every last-level colour, ``[D, U, H]``."""

        def modulate(h: torch.Tensor, level: int) -> torch.Tensor:
            gamma = film[:, level, 0].unsqueeze(1)
            beta = film[:, level, 1].unsqueeze(1)
            return h * (1.0 + gamma) + beta

        h = modulate(F.relu(self.encode(colours.x)).unsqueeze(0), 0)
        for t in range(self.config.levels):
            edge = colours.edge_attr[colours.edge[t]].expand(h.shape[0], -1, -1)
            msg = F.relu(self.message[t](torch.cat([h[:, colours.src[t]], edge], dim=-1)))
            agg = torch.zeros(h.shape[0], len(colours.self_idx[t]), h.shape[2], dtype=h.dtype)
            agg = agg.index_add(1, colours.dst[t], msg) / colours.in_degree[t].view(1, -1, 1)
            own = h[:, colours.self_idx[t]]
            h = modulate(F.relu(self.update[t](torch.cat([own, agg], dim=-1))), t + 1)
        return self.norm(h)

    @property
    def head_size(self) -> int:
        """Length of a device head: log prices (additive) or a linear readout (pooled)."""
        if self.config.readout == "additive":
            prices = self.config.resources * len(BASE_QUANTITIES)
            ops = len(OP_GROUPS) if self.config.op_prices else 0
            return prices + ops + self.config.node_prices
        return self.config.hidden + 1

    def node_values(self, h: torch.Tensor, head: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
        """Per-colour value for one device: ``h [U, H]``, ``head [head_size]``,
        ``base [U, 4 + len(OP_GROUPS)]`` (the readout input of
        :class:`TorchColours`) → ``[U]``.

        Additive readout: the node's cost ``Σ_r exp(head_r) · base_b(r) · softplus(g_r(h))``:
        each resource r is one base quantity (MACs, bytes, elements, 1) times a
        learned efficiency of this node in context; with ``op_prices`` times
        ``exp(kinds · head_ops)``; with ``node_prices`` times ``exp(u(h) · head_u)``
        (``head_u``: the head's last entries). Pooled readout: its term of the mean,
        ``h · head[:-1] + head[-1]``.
        """
        if self.config.readout == "additive":
            n_base = len(BASE_QUANTITIES)
            efficiency = F.softplus(self.resource(h)).view(len(h), n_base, -1)
            amounts = (efficiency * base[:, :n_base].unsqueeze(-1)).reshape(len(h), -1)
            prices = self.config.resources * n_base
            # log prices are clamped to ±MAX_LOG_PRICE (a factor of ~1e13), far beyond
            # any real device, so that one wild inner-loop step cannot overflow float32
            cost = amounts @ head[:prices].clamp(-MAX_LOG_PRICE, MAX_LOG_PRICE).exp()
            if self.config.op_prices:
                ops = head[prices : prices + len(OP_GROUPS)]
                kind = (base[:, n_base:] @ ops).clamp(-MAX_LOG_PRICE, MAX_LOG_PRICE)
                cost = cost * kind.exp()
            if self.config.node_prices:
                direction = self.node_direction(h) @ head[-self.config.node_prices :]
                cost = cost * direction.clamp(-MAX_LOG_PRICE, MAX_LOG_PRICE).exp()
            return cost
        return h @ head[:-1] + head[-1]

    def log_score(
        self, values: torch.Tensor, counts: torch.Tensor, n_nodes: torch.Tensor
    ) -> torch.Tensor:
        """Graphs' ``log S`` from per-colour values ``[U]`` and counts ``[G, U]`` (dense or CSR)."""
        total = counts @ values
        if self.config.readout == "additive":
            return torch.log(total.clamp(min=1e-12))
        return total / n_nodes

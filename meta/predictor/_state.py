"""What adapting to one suite leaves behind, and its safetensors bytes (no pickle).

A suite's state holds one :class:`NetworkState` per network of the method:
two for ``fewlat`` (the meta-learned network and the pooled one, whose
predictions it averages in log space), one for the others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_tensors
from safetensors.torch import save as save_tensors

from fewlat.exceptions import InvalidParameterError
from fewlat.meta.predictor._colours import ColourArrays

__all__ = ["FEWLAT_PARTS", "METHODS", "NETWORKS", "NETWORK_OF", "NetworkState", "SuiteState"]

#: how a device is adapted: ``fewlat``, the geometric mean of ``meta-only`` (the
#: meta-learned network's inner loop) and ``gnn-finetune`` (fine-tuning of the pooled,
#: not meta-learned, network), or ``meta-only`` alone for a checkpoint without the
#: pooled network; ``zero-shot``: the descriptor alone
METHODS = ("fewlat", "meta-only", "gnn-finetune", "zero-shot")
#: a checkpoint's networks: ``meta`` is ``MetaPredictor.model_``, ``pooled`` its ``baseline_``
NETWORKS = ("meta", "pooled")
#: the network each one-network method adapts
NETWORK_OF = {"meta-only": "meta", "gnn-finetune": "pooled", "zero-shot": "meta"}
#: the one-network methods whose answers ``fewlat`` averages (the first alone without
#: the pooled network)
FEWLAT_PARTS = ("meta-only", "gnn-finetune")
#: the method index of states written before the ensemble (one network each; their
#: ``fewlat`` was the meta network alone, now ``meta-only``)
_SINGLE_NETWORK_METHODS = ("fewlat", "gnn-finetune", "zero-shot")


@dataclass
class NetworkState:
    """One network adapted to one suite.

    Attributes:
        network: one of :data:`NETWORKS`.
        film, head: the adapted device state.
        anchor_log_score: the network's log score of the anchor (0 for the raw target).
        shot_errors: log(predicted / measured) of each measured shot after the anchor,
            adapted without it.
        node_values: per-colour values of the whole index and the snapshot of the index
            they are for (compared by identity: a compacted index may have as many
            colours as an old one); a cache, not stored.
    """

    network: str
    film: torch.Tensor
    head: torch.Tensor
    anchor_log_score: float
    shot_errors: tuple[float, ...]
    node_values: tuple[ColourArrays, torch.Tensor] | None = None


@dataclass
class SuiteState:
    """A device adapted to one suite: its networks, the anchor's time and the shot count."""

    networks: tuple[NetworkState, ...]
    anchor_ms: float
    shots: int
    method: str

    @property
    def shot_errors(self) -> tuple[float, ...]:
        """The answer's leave-one-out log errors: each shot's mean over the networks
        (the log of the geometric mean the answer is)."""
        errors = np.mean([n.shot_errors for n in self.networks], axis=0)
        return tuple(float(e) for e in errors)

    def parts(self) -> dict[str, SuiteState]:
        """Each network alone, as the one-network method that adapts it the same way
        (:data:`FEWLAT_PARTS` for a ``fewlat`` state of two networks; the networks'
        states are shared, not copied); ``{method: self}`` for a state of one network."""
        if len(self.networks) == 1:
            return {self.method: self}
        return {
            part: SuiteState((n,), self.anchor_ms, self.shots, part)
            for part in FEWLAT_PARTS
            for n in self.networks
            if n.network == NETWORK_OF[part]
        }

    def to_bytes(self) -> bytes:
        """safetensors bytes of the state (the scalars as float64 tensors)."""
        f64 = torch.float64
        tensors = {
            "scalars": torch.tensor([self.anchor_ms, self.shots], dtype=f64),
            "method": torch.tensor([METHODS.index(self.method)]),
            "networks": torch.tensor([NETWORKS.index(n.network) for n in self.networks]),
        }
        for i, n in enumerate(self.networks):
            tensors[f"{i}.film"] = n.film.contiguous()
            tensors[f"{i}.head"] = n.head.contiguous()
            tensors[f"{i}.anchor_log_score"] = torch.tensor([n.anchor_log_score], dtype=f64)
            tensors[f"{i}.shot_errors"] = torch.tensor(n.shot_errors, dtype=f64)
        return save_tensors(tensors)

    @classmethod
    def from_bytes(cls, data: bytes) -> SuiteState:
        """Inverse of :meth:`to_bytes`; also reads the one-network states stored before
        the ensemble (their ``fewlat`` is read as ``meta-only``, which it was).

        Raises:
            InvalidParameterError: the bytes are not an adapted state.
        """
        try:
            tensors = load_tensors(data)
            if "film" in tensors:
                return _single_network(tensors)
            anchor_ms, shots = tensors["scalars"].tolist()
            networks = tuple(
                NetworkState(
                    network=NETWORKS[int(index)],
                    film=tensors[f"{i}.film"],
                    head=tensors[f"{i}.head"],
                    anchor_log_score=float(tensors[f"{i}.anchor_log_score"][0]),
                    shot_errors=tuple(tensors[f"{i}.shot_errors"].tolist()),
                )
                for i, index in enumerate(tensors["networks"].tolist())
            )
            if not networks or len({len(n.shot_errors) for n in networks}) != 1:
                raise ValueError("no networks, or networks of different shots")
            return cls(networks, anchor_ms, int(shots), METHODS[int(tensors["method"][0])])
        except (SafetensorError, KeyError, IndexError, ValueError) as exc:
            raise InvalidParameterError(
                "the stored adapted state is not one fewlat wrote; recalibrate the device"
            ) from exc


def _single_network(tensors: dict[str, torch.Tensor]) -> SuiteState:
    anchor_ms, anchor_log_score, shots = tensors["scalars"].tolist()
    method = _SINGLE_NETWORK_METHODS[int(tensors["method"][0])]
    method = "meta-only" if method == "fewlat" else method
    network = NetworkState(
        network=NETWORK_OF[method],
        film=tensors["film"],
        head=tensors["head"],
        anchor_log_score=anchor_log_score,
        shot_errors=tuple(tensors["shot_errors"].tolist()),
    )
    return SuiteState((network,), anchor_ms, int(shots), method)

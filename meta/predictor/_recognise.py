"""Which search space ONNX bytes come from, read from their nodes.

ONNX bytes carry no space name, yet the answer depends on it: the suite of the
model's own space should answer when the device has one, and a model outside
the answering suite's space gets the wider interval (:mod:`._intervals`).

A node's feature row (op, channels, spatial size, kernel, stride, … : level 0 of
the GNN's colours, without its position and fan-in/out) is specific to where it
sits in a space: NB201's cells run at 32², 16² and 8² with 16/32/64 channels,
FBNet's and OFA's blocks at their own widths and resolutions. A space's
*vocabulary* is the set of rows of :data:`VOCABULARY_ARCHS` seeded members as
fewlat's builders write them (the eager variant too, where a space has one),
shipped in ``vocabularies.npz`` (:func:`write_vocabularies`). A
model belongs to the space whose vocabulary holds the largest share of its
nodes, when that share is at least :data:`RECOGNISED_SHARE`; otherwise to none.

``python benchmarks/recognise.py`` measures it on members outside the vocabulary
sample, on the zoo, and on members as another tool writes them (onnxruntime's
optimiser folding batch norm into the convolutions): since the encoder folds
batch norm the same way (feature schema v2), those are recognised as their space.
"""

from __future__ import annotations

import io
import os
import threading
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fewlat._files import replace_atomically
from fewlat.meta.features import FEATURE_SCHEMA_VERSION, NODE_FEATURES

__all__ = [
    "RECOGNISED_SHARE",
    "RECOGNISED_SPACES",
    "VOCABULARY_ARCHS",
    "VOCABULARY_FILE",
    "NodeSignature",
    "build_vocabulary",
    "read_vocabularies",
    "recognise",
    "shares",
    "vocabulary",
    "write_vocabularies",
]

#: spaces a model can be recognised as (the zoo is a list of models, not a space to
#: recognise: its members count as outside every space)
RECOGNISED_SPACES: tuple[str, ...] = ("nb201", "fbnet", "ofa_mbv3", "resnet_prune")

#: seeded members per space whose node rows make its vocabulary
VOCABULARY_ARCHS = 128

#: the vocabularies fewlat ships (:func:`write_vocabularies`), so none is built at run time
VOCABULARY_FILE = Path(__file__).with_name("vocabularies.npz")

#: least share of a model's nodes that must be in a space's vocabulary
RECOGNISED_SHARE = 0.9

#: columns left out of a row: where the node sits, and how many edges it has (the
#: same tensor fed twice to an Add is one edge: a rare fan-in, not another space)
_IGNORED = [NODE_FEATURES.index(c) for c in ("rel_position", "log_fan_in", "log_fan_out")]
_MULTIPLIERS = np.random.default_rng(0x5EED).integers(
    1, 2**63, size=len(NODE_FEATURES), dtype=np.uint64
) | np.uint64(1)


@dataclass(frozen=True)
class NodeSignature:
    """A model's node rows, hashed: each distinct row once, with how many nodes have it.

    Attributes:
        hashes: ``[R]`` uint64, ascending.
        counts: ``[R]`` int64 nodes per row.
    """

    hashes: np.ndarray
    counts: np.ndarray

    @classmethod
    def of(cls, x: np.ndarray) -> NodeSignature:
        """The signature of a featurised graph's ``x`` (``[N, len(NODE_FEATURES)]``)."""
        rows = np.ascontiguousarray(x, dtype=np.float32).copy()
        rows[:, _IGNORED] = 0.0
        with np.errstate(over="ignore"):  # wrap-around is the hash
            hashed = (rows.view(np.uint32).astype(np.uint64) * _MULTIPLIERS).sum(
                axis=1, dtype=np.uint64
            )
        hashes, counts = np.unique(hashed, return_counts=True)
        return cls(hashes, counts.astype(np.int64))


def build_vocabulary(space: str) -> np.ndarray:
    """``space``'s vocabulary built afresh from its members (about a second): the sorted,
    distinct row hashes of :data:`VOCABULARY_ARCHS` members drawn with seed 0.

    Raises:
        UnknownSpaceError: ``space`` is not a registered space.
    """
    from fewlat.meta.predictor._encoder_pool import encode_model
    from fewlat.spaces import get_space

    spec = get_space(space)
    archs = spec.sample(np.random.default_rng(0), VOCABULARY_ARCHS)
    variants = (False, True) if spec.has_eager_variant else (False,)
    found = [
        NodeSignature.of(encode_model(spec.to_onnx(a, eager=e), None, None).x).hashes
        for a in archs
        for e in variants
    ]
    return np.unique(np.concatenate(found))


def write_vocabularies(path: str | os.PathLike[str] = VOCABULARY_FILE) -> Path:
    """Build every :data:`RECOGNISED_SPACES` vocabulary and write them to ``path`` (an
    ``.npz`` of plain arrays; by default the file fewlat ships, which a test checks is
    current). Returns the path."""
    arrays = {space: build_vocabulary(space) for space in RECOGNISED_SPACES}
    buffer = io.BytesIO()
    np.savez(buffer, feature_schema=FEATURE_SCHEMA_VERSION, archs=VOCABULARY_ARCHS, **arrays)
    replace_atomically(path, buffer.getvalue())
    return Path(path)


def read_vocabularies(path: str | os.PathLike[str] = VOCABULARY_FILE) -> dict[str, np.ndarray]:
    """The vocabularies :func:`write_vocabularies` wrote to ``path``; none when the file
    is missing, unreadable, or was written for another feature schema or member count
    (:func:`vocabulary` then builds them)."""
    try:
        with np.load(path, allow_pickle=False) as f:
            if int(f["feature_schema"]) != FEATURE_SCHEMA_VERSION:
                return {}
            if int(f["archs"]) != VOCABULARY_ARCHS:
                return {}
            return {space: f[space] for space in RECOGNISED_SPACES if space in f.files}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return {}


_known: dict[str, np.ndarray] | None = None  # shipped, then built as needed
_tables: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
_building = threading.Lock()  # one thread builds; the others wait for it


def vocabulary(space: str) -> np.ndarray:
    """The sorted row hashes of ``space``'s vocabulary: the shipped one
    (:func:`read_vocabularies`), else built once per process (:func:`build_vocabulary`;
    thread-safe).

    Raises:
        UnknownSpaceError: ``space`` is not a registered space.
    """
    from fewlat.spaces import get_space

    global _known
    space = get_space(space).name  # an alias: the registered name
    with _building:
        if _known is None:
            _known = read_vocabularies()
        found = _known.get(space)
        if found is None:
            found = _known[space] = build_vocabulary(space)
    return found


def _table(spaces: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Every row hash of ``spaces``' vocabularies, sorted, and ``[H, S]`` which space
    has each (one lookup for all spaces at once)."""
    found = _tables.get(spaces)
    if found is None:
        vocabularies = [vocabulary(s) for s in spaces]
        hashes = np.unique(np.concatenate(vocabularies))
        member = np.stack([np.isin(hashes, v) for v in vocabularies], axis=1).astype(np.int64)
        found = _tables[spaces] = (hashes, member)
    return found


def shares(signature: NodeSignature, spaces: Iterable[str] = RECOGNISED_SPACES) -> dict[str, float]:
    """Share of the model's nodes whose rows are in each space's vocabulary.

    Raises:
        UnknownSpaceError: a name in ``spaces`` is not a registered space.
    """
    spaces = tuple(spaces)
    if not spaces:
        return {}
    hashes, member = _table(spaces)  # every vocabulary has rows: ``hashes`` is not empty
    at = np.searchsorted(hashes, signature.hashes).clip(max=len(hashes) - 1)
    known = hashes[at] == signature.hashes
    nodes = signature.counts[known] @ member[at[known]]
    total = max(int(signature.counts.sum()), 1)
    return {s: float(n) / total for s, n in zip(spaces, nodes, strict=True)}


def recognise(signature: NodeSignature, spaces: Iterable[str] = RECOGNISED_SPACES) -> str | None:
    """The space ``signature``'s model belongs to, or None when it is in none of ``spaces``
    (no vocabulary holds :data:`RECOGNISED_SHARE` of its nodes).

    Raises:
        UnknownSpaceError: a name in ``spaces`` is not a registered space.
    """
    by_space: Mapping[str, float] = shares(signature, spaces)
    if not by_space:
        return None
    best = max(by_space, key=lambda s: by_space[s])  # ties: the first of ``spaces``
    return best if by_space[best] >= RECOGNISED_SHARE else None

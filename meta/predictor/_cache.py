"""Graph cache: arch strings and ONNX bytes → colour counts, built once, kept on disk.

Scoring an arch string needs its ONNX model only the first time: after that
its colour counts (and MACs) come from the cache. A space's entries can be
saved to, and loaded from, one ``.npz`` file (plain arrays, no pickle).
"""

from __future__ import annotations

import hashlib
import io
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from fewlat._files import replace_atomically
from fewlat.meta.features import FEATURE_SCHEMA_VERSION, GRAPH_FEATURES
from fewlat.meta.graph import DEFAULT_MAX_BYTES, DEFAULT_MAX_NODES
from fewlat.meta.predictor._colours import ColourArrays, ColourIndex
from fewlat.meta.predictor._encoder_pool import EncodedModel, EncoderPool, encode_model
from fewlat.meta.predictor._graphset import GraphSet, closure
from fewlat.meta.predictor._recognise import NodeSignature, recognise

__all__ = ["GraphCache"]

#: bump when the cache file layout or the colouring changes
CACHE_FORMAT = 1

_Entry = tuple[np.ndarray, np.ndarray, float, np.ndarray]  # colours, counts, macs, graph_attr


#: fewer new models than this are encoded in-process (a pool round trip costs more)
_POOL_MIN_MODELS = 8


def _renumbered(entry: _Entry, old_ids: np.ndarray, new_ids: np.ndarray) -> _Entry:
    """``entry`` with each colour ``old_ids[i]`` (sorted) renamed ``new_ids[i]``,
    its colours kept in ascending order."""
    colours = new_ids[np.searchsorted(old_ids, entry[0])]
    order = np.argsort(colours)
    return colours[order], entry[1][order], entry[2], entry[3]


def _prefix(space: str, eager: bool) -> str:
    return f"{space}+eager:" if eager else f"{space}:"


def _space_of_arch_key(key: str) -> str:
    """The space of a key :func:`_prefix` began."""
    return key.split(":", 1)[0].removesuffix("+eager")


#: how the keys of ONNX bytes begin (then the bytes' SHA-256)
_MODEL_PREFIX = "sha256:"


class GraphCache:
    """Colour counts per model, keyed by ``(space, arch, eager)`` or by the bytes' SHA-256.

    Not thread-safe: callers that share one cache across threads hold a lock.

    Args:
        levels: the GNN's message-passing depth (colours depend on it).
        max_bytes, max_nodes: limits applied to ONNX bytes from outside.
        workers: processes that encode batches of ONNX bytes given to
            :meth:`keys_for_models` (0: encode in this process; default). They also
            keep a model that crashes the ONNX parser from taking this process down,
            and send back plain arrays, never pickles (:mod:`._encoder_pool`). Call
            :meth:`close` to stop them.
        max_entries: :meth:`trim` drops the least recently used graphs above this
            many (default: no bound). Once as many graphs as that have been dropped,
            it also compacts the colour index to the colours the kept graphs use, so
            memory stays bounded however many distinct models pass through.
    """

    def __init__(
        self,
        levels: int,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_nodes: int = DEFAULT_MAX_NODES,
        max_entries: int | None = None,
        workers: int = 0,
    ) -> None:
        self.levels = levels
        self.max_bytes = max_bytes
        self.max_nodes = max_nodes
        self.max_entries = max_entries
        self.workers = workers
        self._pool: EncoderPool | None = None
        self._index = ColourIndex(levels)
        self._entries: dict[str, _Entry] = {}
        self._arrays: ColourArrays | None = None
        self._dropped = 0  # graphs trimmed since the index was last compacted
        # ONNX bytes' keys -> their node rows, and the space they were recognised as
        self._signatures: dict[str, NodeSignature] = {}
        self._recognised: dict[str, str | None] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def _add(self, key: str, model: bytes, *, untrusted: bool = True) -> None:
        # the limits guard against bytes from outside; models built from a space's
        # arch strings are fewlat's own and may be larger (weights off or on)
        limits = (self.max_bytes, self.max_nodes) if untrusted else (None, None)
        self._insert(key, encode_model(model, *limits))

    def _insert(self, key: str, encoded: EncodedModel) -> None:
        colours, counts = self._index.add_arrays(encoded.x, encoded.edge_index, encoded.edge_attr)
        self._entries[key] = (colours, counts, encoded.macs, encoded.graph_attr)
        if key.startswith(_MODEL_PREFIX):
            self._signatures[key] = NodeSignature.of(encoded.x)
        self._arrays = None

    def arrays(self) -> ColourArrays:
        """The colour index as arrays (cached until the next addition)."""
        if self._arrays is None:
            self._arrays = self._index.arrays()
        return self._arrays

    def graphs(self, keys: Sequence[str]) -> GraphSet:
        """The graphs of keys from :meth:`keys_for_archs` / :meth:`keys_for_models`.

        Raises:
            KeyError: a key that is not cached (never added, or trimmed since).
        """
        entries = [self._entries[k] for k in keys]
        lengths = [len(e[0]) for e in entries]
        return GraphSet(
            colours=self.arrays(),
            indptr=np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64),
            indices=np.concatenate([e[0] for e in entries]) if entries else np.empty(0, np.int64),
            counts=np.concatenate([e[1] for e in entries]) if entries else np.empty(0, np.int64),
            macs=np.array([e[2] for e in entries], np.float64),
            graph_attr=(
                np.stack([e[3] for e in entries])
                if entries
                else np.zeros((0, len(GRAPH_FEATURES)), np.float32)
            ),
        )

    def for_archs(
        self,
        space: str,
        archs: Sequence[str],
        *,
        eager: bool = False,
        on_new: Callable[[int], None] | None = None,
    ) -> GraphSet:
        """Graphs of ``archs`` of ``space``, building the missing ones from ONNX.

        Args:
            space: a registered space name or alias.
            archs: arch strings of that space.
            eager: the model as an eager framework runs it (:meth:`Space.eager_model`).
            on_new: called with 1 after each graph that had to be built (progress).

        Raises:
            UnknownSpaceError, InvalidArchError: from the space.
        """
        return self.graphs(self.keys_for_archs(space, archs, eager=eager, on_new=on_new))

    def keys_for_archs(
        self,
        space: str,
        archs: Sequence[str],
        *,
        eager: bool = False,
        on_new: Callable[[int], None] | None = None,
    ) -> list[str]:
        """Cache keys of ``archs`` (arguments and errors as :meth:`for_archs`)."""
        from fewlat.spaces import get_space

        spec = get_space(space)
        prefix = _prefix(spec.name, eager and spec.has_eager_variant)
        keys = []
        for arch in archs:
            key = prefix + arch
            if key not in self._entries:
                key = prefix + spec.canonical(arch)
                if key not in self._entries:
                    self._add(key, spec.to_onnx(arch, eager=eager), untrusted=False)
                    if on_new is not None:
                        on_new(1)
            keys.append(self._touch(key))
        return keys

    def for_models(self, models: Iterable[bytes]) -> GraphSet:
        """Graphs of ONNX models given as bytes (untrusted: parsed with the size/node limits).

        Raises:
            InvalidModelError, ModelTooLargeError: from :func:`fewlat.meta.graph.encode`.
        """
        return self.graphs(self.keys_for_models(models))

    def keys_for_models(self, models: Iterable[bytes]) -> list[str]:
        """Cache keys (``sha256:HEX``) of ONNX models (errors as :meth:`for_models`).

        With ``workers``, a batch of at least 8 new models is encoded by the worker
        processes, in order, each model's errors raised as in this process.

        Raises:
            InvalidModelError: also when a model crashed a worker process (the models
                before it are cached; the worker is replaced).
        """
        models = list(models)
        keys = [_MODEL_PREFIX + hashlib.sha256(m).hexdigest() for m in models]
        new = {k: m for k, m in zip(keys, models, strict=True) if k not in self._entries}
        if self.workers > 0 and len(new) >= _POOL_MIN_MODELS:
            self._encode_in_workers(new)
        else:
            for key, model in new.items():
                self._add(key, model)
        return [self._touch(k) for k in keys]

    def spaces_of(self, keys: Sequence[str]) -> list[str | None]:
        """The search space of each cached graph: an arch's own space, or the space ONNX
        bytes were recognised as from their nodes (:func:`recognise`; None: no space).

        The first call on ONNX bytes reads the shipped vocabularies (a vocabulary the
        file lacks is built, a few seconds, once per process; :func:`vocabulary`).

        Raises:
            KeyError: a key that is not cached (never added, or trimmed since).
        """
        found: list[str | None] = []
        for key in keys:
            if key not in self._entries:
                raise KeyError(key)
            if not key.startswith(_MODEL_PREFIX):
                found.append(_space_of_arch_key(key))
            elif key in self._recognised:
                found.append(self._recognised[key])
            else:
                signature = self._signatures.get(key)  # absent: loaded from an old file
                space = None if signature is None else recognise(signature)
                found.append(self._recognised.setdefault(key, space))
        return found

    def encoder_pool(self) -> EncoderPool | None:
        """The pool of ``workers`` encoder processes (made, not started, on first call),
        or None when ``workers`` is 0; call its ``start()`` to warm it up early."""
        if self.workers <= 0:
            return None
        if self._pool is None or self._pool.workers != self.workers:
            self.close()
            self._pool = EncoderPool(self.workers)
        return self._pool

    def _encode_in_workers(self, new: dict[str, bytes]) -> None:
        pool = self.encoder_pool()
        assert pool is not None  # workers > 0
        encoded = pool.map(list(new.values()), self.max_bytes, self.max_nodes)
        for key, result in zip(new, encoded, strict=True):
            self._insert(key, result)

    def close(self) -> None:
        """Stop the worker processes (a later batch starts new ones)."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    def _touch(self, key: str) -> str:
        if self.max_entries is not None:  # keep dict order = least recently used first
            self._entries[key] = self._entries.pop(key)
        return key

    def trim(self) -> int:
        """Drop the least recently used graphs above ``max_entries``; return how many."""
        if self.max_entries is None or len(self._entries) <= self.max_entries:
            return 0
        excess = len(self._entries) - self.max_entries
        for key in list(self._entries)[:excess]:
            del self._entries[key]
            self._signatures.pop(key, None)
            self._recognised.pop(key, None)
        self._dropped += excess
        if self._dropped >= self.max_entries:  # amortised: O(index) per max_entries drops
            self.compact()
        return excess

    def compact(self) -> int:
        """Rebuild the colour index from the colours the cached graphs use, dropping the
        colours only trimmed graphs needed; returns how many last-level colours went.

        Cached graphs keep their counts; their colour ids are renumbered, so a
        :class:`GraphSet` taken before this call must not be mixed with one taken after.
        """
        arrays = self.arrays()
        entries = self._entries
        live = (
            np.unique(np.concatenate([e[0] for e in entries.values()]))
            if entries
            else np.empty(0, np.int64)
        )
        sub, new_ids = closure(arrays, live)
        self._index = ColourIndex.from_arrays(sub)
        self._entries = {k: _renumbered(e, live, new_ids) for k, e in entries.items()}
        self._arrays = sub
        self._dropped = 0
        return arrays.n_colours - sub.n_colours

    def missing(self, space: str, archs: Iterable[str], *, eager: bool = False) -> int:
        """How many of ``archs`` (canonical spellings) are not cached yet."""
        from fewlat.spaces import get_space

        spec = get_space(space)
        prefix = _prefix(spec.name, eager and spec.has_eager_variant)
        return sum(prefix + a not in self._entries for a in archs)

    # --- persistence -------------------------------------------------------------

    def file_name(self) -> str:
        """File name that encodes everything a saved cache depends on."""
        return f"graphs-f{CACHE_FORMAT}-s{FEATURE_SCHEMA_VERSION}-l{self.levels}.npz"

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write every entry to ``folder/file_name()`` atomically; returns the path."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        arrays = self.arrays()
        keys = list(self._entries)
        graphs = self.graphs(keys)
        payload: dict[str, np.ndarray] = {
            "keys": np.array(keys, dtype=np.str_),
            "indptr": graphs.indptr,
            "indices": graphs.indices,
            "counts": graphs.counts,
            "macs": graphs.macs,
            "graph_attr": graphs.graph_attr,
            "x": arrays.x,
            "edge_attr": arrays.edge_attr,
            **_signature_arrays(self._signatures),
        }
        for t in range(self.levels):
            payload[f"self_{t}"] = arrays.self_idx[t]
            payload[f"src_{t}"] = arrays.src[t]
            payload[f"dst_{t}"] = arrays.dst[t]
            payload[f"edge_{t}"] = arrays.edge[t]
        path = folder / self.file_name()
        buffer = io.BytesIO()
        np.savez(buffer, **payload)
        replace_atomically(path, buffer.getvalue())
        return path

    def load(self, folder: str | os.PathLike[str]) -> bool:
        """Replace the contents with ``folder/file_name()`` if it exists; True if loaded."""
        path = Path(folder) / self.file_name()
        if not path.is_file():
            return False
        with np.load(path, allow_pickle=False) as f:
            arrays = ColourArrays(
                x=f["x"],
                edge_attr=f["edge_attr"],
                self_idx=tuple(f[f"self_{t}"] for t in range(self.levels)),
                src=tuple(f[f"src_{t}"] for t in range(self.levels)),
                dst=tuple(f[f"dst_{t}"] for t in range(self.levels)),
                edge=tuple(f[f"edge_{t}"] for t in range(self.levels)),
            )
            indptr, indices, counts = f["indptr"], f["indices"], f["counts"]
            macs, attr = f["macs"], f["graph_attr"]
            self._index = ColourIndex.from_arrays(arrays)
            self._signatures = _signatures_from(f)
            self._recognised = {}
            self._entries = {
                str(k): (indices[a:b], counts[a:b], float(m), attr[i])
                for i, (k, a, b, m) in enumerate(
                    zip(f["keys"], indptr[:-1], indptr[1:], macs, strict=True)
                )
            }
        self._arrays = arrays
        return True


def _signature_arrays(signatures: dict[str, NodeSignature]) -> dict[str, np.ndarray]:
    """ONNX bytes' node signatures as plain arrays, for :meth:`GraphCache.save`."""
    items = list(signatures.items())
    return {
        "signature_keys": np.array([k for k, _ in items], dtype=np.str_),
        "signature_indptr": np.cumsum([0] + [len(v.hashes) for _, v in items]).astype(np.int64),
        "signature_hashes": np.concatenate(
            [v.hashes for _, v in items] or [np.empty(0, np.uint64)]
        ),
        "signature_counts": np.concatenate([v.counts for _, v in items] or [np.empty(0, np.int64)]),
    }


def _signatures_from(f: np.lib.npyio.NpzFile) -> dict[str, NodeSignature]:
    """The signatures :func:`_signature_arrays` wrote (none in files saved before them)."""
    if "signature_keys" not in f.files:
        return {}
    indptr, hashes, counts = f["signature_indptr"], f["signature_hashes"], f["signature_counts"]
    return {
        str(k): NodeSignature(hashes[a:b], counts[a:b])
        for k, a, b in zip(f["signature_keys"], indptr[:-1], indptr[1:], strict=True)
    }

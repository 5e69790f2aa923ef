"""Checkpoints: a folder with ``model.safetensors`` and ``config.json``; loading never unpickles.

``config.json`` holds the format and feature-schema versions, the training
recipe, the calibration suites, the interval scales, the training-data
manifest (devices and table hashes) and the metrics measured at training time.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save

from fewlat._files import replace_atomically
from fewlat.exceptions import InvalidParameterError
from fewlat.meta.features import FEATURE_SCHEMA_VERSION
from fewlat.meta.predictor._cache import GraphCache
from fewlat.meta.predictor._intervals import IntervalScales
from fewlat.meta.predictor._model import LatencyGNN
from fewlat.meta.predictor._predictor import MetaPredictor
from fewlat.meta.predictor._train import TrainConfig

__all__ = [
    "CHECKPOINT_FORMAT",
    "DEFAULT_CHECKPOINT",
    "checkpoint_version",
    "load_checkpoint",
    "save_checkpoint",
]

#: bump when the folder layout or config keys change incompatibly
CHECKPOINT_FORMAT = 2
#: the checkpoint shipped with fewlat (made by the command in the README)
DEFAULT_CHECKPOINT = Path(__file__).parent / "default"
_WEIGHTS = "model.safetensors"
_CONFIG = "config.json"


def save_checkpoint(meta: MetaPredictor, folder: str | os.PathLike[str]) -> Path:
    """Write a fitted predictor to ``folder`` (created; files replaced atomically).

    Raises:
        NotFittedError: ``meta`` is not fitted.
    """
    meta._check_fitted()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {f"meta.{k}": v.contiguous() for k, v in meta.model_.state_dict().items()}
    tensors["meta_log_damping"] = meta.log_damping_.detach().contiguous()
    if meta.baseline_ is not None:
        tensors.update(
            {f"baseline.{k}": v.contiguous() for k, v in meta.baseline_.state_dict().items()}
        )
    config = {
        **{k: v for k, v in meta.info_.items() if k != "version"},
        "format": CHECKPOINT_FORMAT,
        "feature_schema_version": FEATURE_SCHEMA_VERSION,
        "train_config": meta.config.to_dict(),
        "intervals": meta.intervals_.to_dict() if meta.intervals_ else None,
        "has_baseline": meta.baseline_ is not None,
    }
    replace_atomically(folder / _WEIGHTS, save(tensors))
    replace_atomically(folder / _CONFIG, json.dumps(config, indent=1, sort_keys=True))
    return folder


def checkpoint_version(folder: str | os.PathLike[str]) -> str:
    """Content-derived version of a checkpoint folder: 12 hex digits of the SHA-256
    over its weights and config (also ``MetaPredictor.info_["version"]`` once loaded)."""
    digest = hashlib.sha256()
    for name in (_WEIGHTS, _CONFIG):
        digest.update((Path(folder) / name).read_bytes())
    return digest.hexdigest()[:12]


def _state(tensors: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def load_checkpoint(
    folder: str | os.PathLike[str] | None = None, *, cache: GraphCache | None = None
) -> MetaPredictor:
    """Load a checkpoint folder (default: the shipped one) as a fitted :class:`MetaPredictor`.

    Raises:
        InvalidParameterError: the folder is missing files, or was written for
            another checkpoint format or feature schema.
    """
    folder = Path(folder) if folder is not None else DEFAULT_CHECKPOINT
    weights, config_path = folder / _WEIGHTS, folder / _CONFIG
    if not weights.is_file() or not config_path.is_file():
        raise InvalidParameterError(
            f"{folder} is not a fewlat checkpoint: it needs {_WEIGHTS} and {_CONFIG} "
            "(make one with `fewlat meta-train … --out FOLDER`)."
        )
    config: dict[str, Any] = json.loads(config_path.read_text())
    if config.get("format") != CHECKPOINT_FORMAT:
        raise InvalidParameterError(
            f"{folder} has checkpoint format {config.get('format')!r}; this fewlat reads "
            f"format {CHECKPOINT_FORMAT}. Re-run `fewlat meta-train`."
        )
    if config.get("feature_schema_version") != FEATURE_SCHEMA_VERSION:
        raise InvalidParameterError(
            f"{folder} was trained on feature schema {config.get('feature_schema_version')!r}, "
            f"this fewlat computes schema {FEATURE_SCHEMA_VERSION}. Re-run `fewlat meta-train`."
        )
    train_config = TrainConfig.from_dict(config["train_config"])
    tensors = load_file(str(weights))
    meta = MetaPredictor(train_config, cache)
    model = LatencyGNN(train_config.model)
    model.load_state_dict(_state(tensors, "meta."))
    model.eval()
    baseline = None
    if config.get("has_baseline"):
        baseline = LatencyGNN(train_config.model)
        baseline.load_state_dict(_state(tensors, "baseline."))
        baseline.eval()
    meta.model_ = model
    meta.log_damping_ = tensors["meta_log_damping"]
    meta.baseline_ = baseline
    meta.suites_ = {s["space"]: tuple(e["arch"] for e in s["entries"]) for s in config["suites"]}
    try:
        intervals = config.get("intervals")
        meta.intervals_ = IntervalScales.from_dict(intervals) if intervals else None
    except ValueError as exc:
        raise InvalidParameterError(f"{folder}/{_CONFIG} has bad interval scales: {exc}") from exc
    meta.info_ = {
        k: v for k, v in config.items() if k not in ("train_config", "intervals", "has_baseline")
    }
    meta.info_["version"] = checkpoint_version(folder)
    return meta

"""``Settings``: every knob of ``fewlat serve``, typed, from flags or ``FEWLAT_*`` variables."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_data_dir
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from fewlat._wire import DEFAULT_ADDRESS, MAX_MESSAGE_BYTES
from fewlat.meta.graph import DEFAULT_MAX_NODES

__all__ = ["Settings", "default_db_url"]


def default_db_url() -> str:
    """SQLite file in the user's data directory, e.g. ``~/.local/share/fewlat/fewlat.db``."""
    return f"sqlite:///{Path(user_data_dir('fewlat')) / 'fewlat.db'}"


class Settings(BaseSettings):
    """Server settings. Each field is also the environment variable ``FEWLAT_<NAME>``
    (e.g. ``FEWLAT_ADDRESS=0.0.0.0:50051``) and a ``fewlat serve`` flag.

    Example::

        Settings(address="127.0.0.1:0", db="sqlite:////tmp/fewlat.db")
    """

    model_config = SettingsConfigDict(
        env_prefix="FEWLAT_", extra="forbid", use_attribute_docstrings=True
    )

    address: str = DEFAULT_ADDRESS
    """Where the server listens, ``HOST:PORT``; port 0 picks a free one."""

    db: str = Field(default_factory=default_db_url)
    """SQLAlchemy URL of the store: ``sqlite:///PATH`` (default, WAL mode) or ``postgresql+psycopg://…``."""

    checkpoint: Path | None = None
    """Meta-trained checkpoint folder to serve (default: the one shipped with fewlat)."""

    checkpoint_dir: Path | None = None
    """Where meta-training jobs write checkpoints (default: beside an SQLite db, else the
    user data dir)."""

    train_data: list[str] = []
    """Latency-table roots pooled with the store by ``StartMetaTrain``, e.g.
    ``../shared/data/help``."""

    cache_dir: Path | None = None
    """Folder of a graph cache saved by ``fewlat eval``/``meta-train`` to load at start
    (default: none; graphs are then built on first use)."""

    auth_token_file: Path | None = None
    """File of hashed bearer tokens (``fewlat token add``); no file: no authentication."""

    tls_cert: Path | None = None
    """PEM certificate chain; with ``tls_key``, the server speaks TLS."""

    tls_key: Path | None = None
    """PEM private key of ``tls_cert``."""

    workers: int = Field(default=16, ge=1, le=256)
    """Threads serving calls (concurrent Predicts are combined onto one forward pass)."""

    max_message_bytes: int = Field(default=MAX_MESSAGE_BYTES, ge=2**16)
    """Largest request or response message, bytes."""

    max_model_bytes: int = Field(default=64 * 2**20, ge=1024)
    """Largest ONNX model accepted, bytes (RESOURCE_EXHAUSTED above)."""

    max_model_nodes: int = Field(default=DEFAULT_MAX_NODES, ge=1)
    """Most ONNX nodes accepted per model (RESOURCE_EXHAUSTED above)."""

    max_cached_models: int = Field(default=20_000, ge=1)
    """ONNX graphs kept in the in-memory cache (least recently used dropped first; the
    colour index is compacted as they go, so memory stays bounded)."""

    encode_workers: int = Field(default_factory=lambda: min(8, os.cpu_count() or 1), ge=0, le=64)
    """Processes that encode the ONNX models of a batch of 8 or more new ones (default: the
    CPU count, at most 8; 0: in the serving process). A model that crashes the ONNX parser
    then fails its request instead of the server."""

    max_batch_models: int = Field(default=4096, ge=1)
    """Most models in one ``PredictBatch`` message."""

    grace_s: float = Field(default=10.0, ge=0)
    """How long shutdown waits for in-flight calls, seconds."""

    log_json: bool = False
    """Log one JSON object per line instead of text."""

    @field_validator("address")
    @classmethod
    def _check_address(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or int(port) > 65535:
            raise ValueError(f"{value!r} is not HOST:PORT, e.g. 127.0.0.1:50051")
        return value

    @model_validator(mode="after")
    def _check_tls_pair(self) -> Settings:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together: give both or neither")
        return self

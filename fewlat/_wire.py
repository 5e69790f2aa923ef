"""Defaults the client and the server must agree on (one place, so they cannot drift)."""

from __future__ import annotations

__all__ = ["DEFAULT_ADDRESS", "MAX_MESSAGE_BYTES"]

#: where ``fewlat serve`` listens and ``fewlat-client`` connects by default
DEFAULT_ADDRESS = "127.0.0.1:50051"

#: largest gRPC message either side sends or accepts by default, bytes (64 MiB)
MAX_MESSAGE_BYTES = 64 * 2**20

"""``CalibrationSuite``: an ordered, versioned, content-hashed list of models."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from fewlat.exceptions import invalid_parameter

__all__ = ["CalibrationSuite", "SuiteEntry"]

#: the largest suite; K shots are the first K entries
MAX_SUITE = 10


@dataclass(frozen=True)
class SuiteEntry:
    """One model of a suite.

    Attributes:
        position: 0 for the anchor, then 1, 2, …
        arch: the canonical arch string in the suite's space.
        sha256: hex digest of the ONNX bytes a board runs (weights from seed 0).
    """

    position: int
    arch: str
    sha256: str


@dataclass(frozen=True)
class CalibrationSuite:
    """The models a device times to be calibrated, anchor first.

    Attributes:
        space: the registered space name.
        entries: the models in order.
        method: how the references were chosen (``greedy``, ``random``, ``help``).
    """

    space: str
    entries: tuple[SuiteEntry, ...]
    method: str = "greedy"

    def __post_init__(self) -> None:
        if not 1 <= len(self.entries) <= MAX_SUITE:
            raise invalid_parameter(
                "entries", "CalibrationSuite", f"1 to {MAX_SUITE} models", len(self.entries)
            )

    @property
    def archs(self) -> tuple[str, ...]:
        """Arch strings in suite order."""
        return tuple(e.arch for e in self.entries)

    @property
    def content_hash(self) -> str:
        """SHA-256 over the space and each entry's arch and model hash."""
        body = json.dumps(
            [self.space, [[e.arch, e.sha256] for e in self.entries]], separators=(",", ":")
        )
        return hashlib.sha256(body.encode()).hexdigest()

    @property
    def version(self) -> str:
        """Short, content-derived version, e.g. ``nb201-3f2a9c0d1b7e``."""
        return f"{self.space}-{self.content_hash[:12]}"

    def __len__(self) -> int:
        return len(self.entries)

    def shots(self, k: int) -> tuple[SuiteEntry, ...]:
        """The first ``k`` entries.

        Raises:
            InvalidParameterError: ``k`` outside 1 … len(suite).
        """
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= len(self.entries):
            raise invalid_parameter(
                "k", "CalibrationSuite.shots", f"an int from 1 to {len(self.entries)}", k
            )
        return self.entries[:k]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stored in checkpoints)."""
        return {
            "space": self.space,
            "version": self.version,
            "method": self.method,
            "entries": [
                {"position": e.position, "arch": e.arch, "sha256": e.sha256} for e in self.entries
            ],
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> CalibrationSuite:
        """Inverse of :meth:`to_dict`; checks the stored version against the content.

        Raises:
            InvalidParameterError: malformed, or the version does not match the content.
        """
        try:
            suite = cls(
                space=str(raw["space"]),
                entries=tuple(
                    SuiteEntry(int(e["position"]), str(e["arch"]), str(e["sha256"]))
                    for e in raw["entries"]
                ),
                method=str(raw.get("method", "greedy")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise invalid_parameter(
                "raw", "CalibrationSuite.from_dict", "a dict made by to_dict", raw
            ) from exc
        if "version" in raw and raw["version"] != suite.version:
            raise invalid_parameter(
                "raw",
                "CalibrationSuite.from_dict",
                f"a suite whose version matches its content ({suite.version})",
                raw["version"],
            )
        return suite

"""``TableRunner``: replays one device of a latency table, so a table becomes a "device"."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from fewlat.clients.runners._base import ModelInput, Runner, Session
from fewlat.clients.runners._measurement import Measurement
from fewlat.exceptions import TableEntryMissingError, TableError, invalid_parameter
from fewlat.meta.tables import LatencyTable, list_table_spaces, read_table, space_folder

__all__ = ["TableRunner"]


class TableRunner(Runner):
    """Answer measurements from ``device``'s column of the tables under ``root``.

    Nothing is timed: a :class:`Measurement` holds the table's value as its
    median, p10, p90 and mean, with ``n=0`` and ``cv=0``. Models are looked
    up by ``(space, arch)``; the arch is canonicalised with the space first.

    Args:
        root: a table root (format v1), e.g. ``../shared/data/help``.
        device: the device column to replay.

    Raises:
        TableError: ``root`` holds no table, or no table there has ``device``;
            the message lists what it does hold.
    """

    kind = "table"
    needs_model_bytes = False

    def __init__(self, root: str | os.PathLike[str], device: str) -> None:
        super().__init__()
        self.root = Path(root)
        self.device = device
        spaces = list_table_spaces(self.root) if self.root.is_dir() else []
        if not spaces:
            raise TableError(f"No latency tables under {self.root}; give a table root (format v1).")
        self._tables: dict[str, LatencyTable] = {}
        held = {s: self._table(s).devices for s in spaces}
        if not any(device in devices for devices in held.values()):
            listed = sorted({d for devices in held.values() for d in devices})
            raise TableError(
                f"No table under {self.root} has device {device!r}; its devices are: "
                f"{', '.join(listed)}."
            )

    def _table(self, folder: str) -> LatencyTable:
        if folder not in self._tables:
            self._tables[folder] = read_table(self.root, folder)
        return self._tables[folder]

    @property
    def settings(self) -> dict[str, Any]:
        return {"runtime": "table", "table": str(self.root), "device": self.device}

    def lookup_ms(self, space: str, arch: str) -> float:
        """The table's latency of ``arch`` in ``space`` on this device, milliseconds.

        Raises:
            UnknownSpaceError, InvalidArchError: ``space``/``arch`` are not valid.
            TableEntryMissingError: the table has no value for it on this device.
            TableError: the root holds the space under two names (e.g. ``ofa`` and ``ofa_mbv3``).
        """
        from fewlat.spaces import get_space

        spec = get_space(space)
        canonical = spec.canonical(arch)
        folder = space_folder(self.root, spec.name)
        if folder is not None:
            with contextlib.suppress(TableEntryMissingError):  # re-raised below with advice
                return self._table(folder).lookup_ms(canonical, self.device)
        where = self.root / folder if folder else f"{self.root} (no {space} folder)"
        raise TableEntryMissingError(
            f"The table at {where} has no latency for {space} arch {canonical!r} on device "
            f"{self.device!r}; measure it on a real runner, or pick an arch the table holds."
        )

    def _open(self, model: ModelInput) -> Session:  # pragma: no cover - measure_many overrides
        raise NotImplementedError

    def measure_many(self, models: Sequence[ModelInput]) -> list[Measurement]:
        """Look every model up; see :meth:`lookup_ms`.

        Raises:
            InvalidParameterError: a model without ``(space, arch)``.
            TableEntryMissingError: as :meth:`lookup_ms`.
        """
        results = []
        for model in models:
            if model.space is None or model.arch is None:
                raise invalid_parameter(
                    "model", "TableRunner.measure", "given with space= and arch=", model.space
                )
            value = self.lookup_ms(model.space, model.arch)
            results.append(Measurement(value, value, value, value, 0.0, 0, settings=self.settings))
        return results

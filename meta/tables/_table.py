"""The in-memory :class:`LatencyTable`: archs × devices in milliseconds."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from fewlat.exceptions import TableEntryMissingError, TableError, invalid_parameter

__all__ = ["LatencyTable"]

_MAX_LISTED = 5


def _listing(items: list[str]) -> str:
    """``a; b; c`` for error messages, cut after a few."""
    shown = "; ".join(items[:_MAX_LISTED])
    return shown if len(items) <= _MAX_LISTED else f"{shown}; …"


def _check_label(value: object, what: str, space: str) -> str:
    """A device name or arch string: a non-empty str on one line."""
    if not isinstance(value, str) or not value or "\n" in value or "\r" in value:
        raise TableError(
            f"LatencyTable {space!r}: every {what} must be a non-empty string on one line; "
            f"got {value!r}."
        )
    return value


def _check_unique(values: tuple[Any, ...], what: str, space: str) -> None:
    """Raise naming the first value that appears twice, with both positions."""
    if len(set(values)) == len(values):
        return
    first_pos: dict[Any, int] = {}
    for pos, value in enumerate(values):
        if value in first_pos:
            raise TableError(
                f"LatencyTable {space!r}: {what} {value!r} appears twice (positions "
                f"{first_pos[value]} and {pos}); each {what} must be unique."
            )
        first_pos[value] = pos


def _read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True, eq=False, repr=False)
class LatencyTable:
    """Measured latencies of one search space: one row per arch, one column per device.

    Instances are immutable: the arrays are read-only copies and every
    "modifying" method returns a new table. Arch strings are matched exactly;
    canonicalise them with the space first.

    Args:
        space: the space's folder name in a table root, e.g. ``"nb201"``.
        idx: row ids as stored in the files, non-negative and unique
            (converted to ``int64``).
        archs: one arch string per row, unique.
        devices: one name per column, unique.
        latency_ms: shape ``(len(archs), len(devices))``, milliseconds, NaN
            where not measured; every other value is finite and > 0.
        device_info: metadata per device, e.g. ``{"raspi4": {"runtime": "ort"}}``
            (default: empty). It may name devices without a column (kept so
            that no metadata is lost on a read/write cycle).

    Raises:
        TableError: any of the rules above is broken; the message names the
            offending value.
    """

    space: str
    idx: np.ndarray
    archs: tuple[str, ...]
    devices: tuple[str, ...]
    latency_ms: np.ndarray
    device_info: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        space = self.space
        if (
            not isinstance(space, str)
            or space in ("", ".", "..")
            or any(c in space for c in "/\\\n\r")
        ):
            raise TableError(f"A LatencyTable space must be a plain folder name; got {space!r}.")
        archs = tuple(_check_label(a, "arch", space) for a in self.archs)
        devices = tuple(_check_label(d, "device", space) for d in self.devices)
        if "idx" in devices:
            raise TableError(f"LatencyTable {space!r}: 'idx' is reserved and cannot name a device.")
        _check_unique(archs, "arch", space)
        _check_unique(devices, "device", space)

        raw_idx = np.asarray(self.idx)
        if raw_idx.size and raw_idx.dtype.kind not in "iu":
            raise TableError(
                f"LatencyTable {space!r}: idx must hold integers; got {raw_idx.dtype}."
            )
        idx = np.array(raw_idx, dtype=np.int64).reshape(-1)
        if idx.shape != (len(archs),):
            raise TableError(
                f"LatencyTable {space!r}: idx has {idx.size} entries but there are "
                f"{len(archs)} archs; give one idx per arch."
            )
        if idx.size and idx.min() < 0:
            raise TableError(f"LatencyTable {space!r}: idx must be >= 0; got {int(idx.min())}.")
        _check_unique(tuple(idx.tolist()), "idx", space)

        latency = np.array(self.latency_ms, dtype=np.float64)
        if latency.size == 0:
            latency = latency.reshape(len(archs), len(devices))
        if latency.shape != (len(archs), len(devices)):
            raise TableError(
                f"LatencyTable {space!r}: latency_ms has shape {latency.shape} but "
                f"(n_archs, n_devices) is {(len(archs), len(devices))}."
            )
        bad = ~np.isnan(latency) & ~((latency > 0) & np.isfinite(latency))
        if bad.any():
            row, col = (int(i) for i in np.argwhere(bad)[0])
            raise TableError(
                f"LatencyTable {space!r}: latency of arch {archs[row]!r} on device "
                f"{devices[col]!r} is {latency[row, col]!r}; latencies must be finite and "
                "> 0 ms, with NaN only for cells not measured."
            )

        if not isinstance(self.device_info, Mapping):
            raise TableError(
                f"LatencyTable {space!r}: device_info must map device name to a dict; "
                f"got {type(self.device_info).__name__}."
            )
        info: dict[str, dict[str, Any]] = {}
        for device, meta in self.device_info.items():
            if not isinstance(device, str) or not isinstance(meta, Mapping):
                raise TableError(
                    f"LatencyTable {space!r}: device_info must map device name (str) to a "
                    f"dict of metadata; got {device!r}: {meta!r}."
                )
            info[device] = copy.deepcopy(dict(meta))

        for name, value in (
            ("archs", archs),
            ("devices", devices),
            ("idx", _read_only(idx)),
            ("latency_ms", _read_only(latency)),
            ("device_info", info),
        ):
            object.__setattr__(self, name, value)

    # ------------------------------------------------------------------ lookups

    @cached_property
    def _row_by_arch(self) -> dict[str, int]:
        return {arch: row for row, arch in enumerate(self.archs)}

    def __len__(self) -> int:
        """The number of archs (rows)."""
        return len(self.archs)

    def __contains__(self, arch: object) -> bool:
        """Whether ``arch`` (exact string) is a row of the table."""
        return arch in self._row_by_arch

    def row_of(self, arch: str) -> int:
        """The row position of ``arch`` (0-based, not its ``idx``).

        Raises:
            TableEntryMissingError: the table has no such arch.
        """
        try:
            return self._row_by_arch[arch]
        except (KeyError, TypeError):
            raise TableEntryMissingError(
                f"Arch {arch!r} is not in table {self.space!r} ({len(self):,} archs); "
                "arch strings are matched exactly, so pass the space's canonical spelling."
            ) from None

    def _column_of(self, device: str) -> int:
        try:
            return self.devices.index(device)
        except ValueError:
            raise TableEntryMissingError(
                f"Device {device!r} is not in table {self.space!r}; its devices are: "
                f"{', '.join(repr(d) for d in self.devices) or 'none'}."
            ) from None

    def column(self, device: str) -> np.ndarray:
        """The read-only latencies of ``device`` in ms, one per row, NaN where not measured.

        Raises:
            TableEntryMissingError: the table has no such device; the message lists them.
        """
        return self.latency_ms[:, self._column_of(device)]

    def lookup_ms(self, arch: str, device: str) -> float:
        """The latency of ``arch`` on ``device`` in milliseconds.

        Raises:
            TableEntryMissingError: the arch or the device is not in the table,
                or the cell is empty (not measured); the message says which.
        """
        value = float(self.latency_ms[self.row_of(arch), self._column_of(device)])
        if math.isnan(value):
            raise TableEntryMissingError(
                f"Table {self.space!r} has no latency for arch {arch!r} on device "
                f"{device!r}: that cell is empty (not measured)."
            )
        return value

    @property
    def measured_mask(self) -> np.ndarray:
        """Boolean array shaped like :attr:`latency_ms`, True where a value is stored."""
        return ~np.isnan(self.latency_ms)

    # ---------------------------------------------------------- new tables

    def select_devices(self, names: Iterable[str]) -> LatencyTable:
        """A new table with only the columns ``names``, in that order.

        ``device_info`` keeps only the selected devices' entries.

        Raises:
            InvalidParameterError: ``names`` is a single string or repeats a name.
            TableEntryMissingError: a name is not a device of the table.
        """
        if isinstance(names, str):
            raise invalid_parameter(
                "names", "LatencyTable.select_devices", "an iterable of device names", names
            )
        names = tuple(names)
        if len(set(names)) != len(names):
            raise invalid_parameter(
                "names", "LatencyTable.select_devices", "device names without repeats", names
            )
        cols = [self._column_of(name) for name in names]
        return LatencyTable(
            space=self.space,
            idx=self.idx,
            archs=self.archs,
            devices=names,
            latency_ms=self.latency_ms[:, cols],
            device_info={d: m for d, m in self.device_info.items() if d in names},
        )

    def with_measurements(
        self,
        device: str,
        latency_ms: Mapping[str, float],
        info: Mapping[str, Any] | None = None,
        *,
        overwrite: bool = False,
    ) -> LatencyTable:
        """A new table that also holds ``latency_ms`` measured on ``device``.

        Archs not yet in the table become new rows (in the mapping's order) with
        fresh ids ``max(idx) + 1, …``; a new device becomes a new last column.
        The table itself is left unchanged.

        Args:
            device: the device name (a column, existing or new).
            latency_ms: ``{arch: milliseconds}``; each value finite and > 0.
            info: metadata merged into ``device_info[device]`` (default: none).
            overwrite: replace cells (and info keys) that already hold a
                different value (default: :obj:`False`).

        Raises:
            InvalidParameterError: a bad device name, arch or latency value.
            TableError: without ``overwrite``, a cell or info key already holds
                a different value; the message lists the conflicts.
        """
        owner = "LatencyTable.with_measurements"
        if not isinstance(device, str) or not device or device == "idx" or "\n" in device:
            raise invalid_parameter(
                "device", owner, "a non-empty one-line device name other than 'idx'", device
            )
        if not isinstance(latency_ms, Mapping):
            raise invalid_parameter("latency_ms", owner, "a mapping {arch: ms}", latency_ms)
        values: dict[str, float] = {}
        for arch, ms in latency_ms.items():
            if not isinstance(arch, str) or not arch or "\n" in arch or "\r" in arch:
                raise invalid_parameter(
                    "latency_ms", owner, "keyed by non-empty one-line arch strings", arch
                )
            try:
                value = float(ms)
            except (TypeError, ValueError):
                value = math.nan
            if not (math.isfinite(value) and value > 0):
                raise invalid_parameter(
                    "latency_ms", owner, f"finite values > 0 (ms); arch {arch!r} has", ms
                )
            values[arch] = value
        if info is not None and not isinstance(info, Mapping):
            raise invalid_parameter("info", owner, "a mapping of metadata or None", info)

        new_archs = [arch for arch in values if arch not in self]
        start = int(self.idx.max()) + 1 if len(self) else 0
        devices = self.devices if device in self.devices else (*self.devices, device)
        latency = np.full((len(self) + len(new_archs), len(devices)), np.nan)
        latency[: len(self), : len(self.devices)] = self.latency_ms
        archs = self.archs + tuple(new_archs)
        rows = {**self._row_by_arch, **{a: len(self) + i for i, a in enumerate(new_archs)}}
        col = devices.index(device)

        conflicts = []
        for arch, value in values.items():
            held = float(latency[rows[arch], col])
            if not math.isnan(held) and held != value and not overwrite:
                conflicts.append(f"{arch!r}: {held!r} ms held, {value!r} ms given")
            else:
                latency[rows[arch], col] = value
        device_info = copy.deepcopy(self.device_info)
        if info is not None:
            held_info = device_info.get(device, {})
            conflicts += [
                f"info {key!r}: {held_info[key]!r} held, {val!r} given"
                for key, val in info.items()
                if key in held_info and held_info[key] != val and not overwrite
            ]
            device_info[device] = {**held_info, **info}
        if conflicts:
            raise TableError(
                f"Table {self.space!r} already holds different values on device {device!r} "
                f"({len(conflicts)} in all): {_listing(conflicts)}; "
                "pass overwrite=True to replace them."
            )
        return LatencyTable(
            space=self.space,
            idx=np.concatenate([self.idx, np.arange(start, start + len(new_archs))]),
            archs=archs,
            devices=devices,
            latency_ms=latency,
            device_info=device_info,
        )

    # ------------------------------------------------------------ dunder

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LatencyTable):
            return NotImplemented
        return (
            self.space == other.space
            and self.archs == other.archs
            and self.devices == other.devices
            and np.array_equal(self.idx, other.idx)
            and np.array_equal(self.latency_ms, other.latency_ms, equal_nan=True)
            and self.device_info == other.device_info
        )

    __hash__ = None  # type: ignore[assignment]  # mutable-looking arrays: not hashable

    def __repr__(self) -> str:
        devices = list(self.devices[:3]) + (["…"] if len(self.devices) > 3 else [])
        return (
            f"LatencyTable(space={self.space!r}, archs={len(self):,}, "
            f"devices={len(self.devices)} [{', '.join(devices)}], "
            f"measured={int(self.measured_mask.sum()):,}/{self.latency_ms.size:,})"
        )

"""The calibration suites a checkpoint serves, and the ONNX bytes a board runs for each entry."""

from __future__ import annotations

import functools
import hashlib
import logging

from fewlat.exceptions import SuiteMismatchError, UnknownSpaceError
from fewlat.hwdesc import CalibrationSuite
from fewlat.meta.predictor import MetaPredictor

__all__ = ["SuiteCatalog"]

log = logging.getLogger(__name__)


class SuiteCatalog:
    """The suites stored in a checkpoint, by space and by version.

    Args:
        meta: a fitted predictor; its ``info_["suites"]`` are the suites served.
    """

    def __init__(self, meta: MetaPredictor) -> None:
        self._by_space = {
            s.space: s for s in (CalibrationSuite.from_dict(raw) for raw in meta.info_["suites"])
        }
        self._by_version = {s.version: s for s in self._by_space.values()}

    @property
    def spaces(self) -> list[str]:
        """Spaces with a suite, in checkpoint order."""
        return list(self._by_space)

    def for_space(self, space: str) -> CalibrationSuite:
        """The suite of ``space`` (a registered name or alias).

        Raises:
            UnknownSpaceError: an unknown space, or one this checkpoint has no suite for.
        """
        from fewlat.spaces import get_space

        name = get_space(space).name
        if name not in self._by_space:
            raise UnknownSpaceError(
                f"this server's checkpoint has no calibration suite for {name!r}; "
                f"calibrate with one of {', '.join(self._by_space)}."
            )
        return self._by_space[name]

    def version_of(self, space: str) -> str | None:
        """The served suite version of ``space`` (a registered name), None when none."""
        suite = self._by_space.get(space)
        return suite.version if suite is not None else None

    def for_version(self, version: str) -> CalibrationSuite:
        """The suite with ``version``.

        Raises:
            SuiteMismatchError: no served suite has that version (the checkpoint changed
                since the board fetched it, or the version is mistyped).
        """
        suite = self._by_version.get(version)
        if suite is None:
            served = ", ".join(self._by_version) or "none"
            raise SuiteMismatchError(
                f"suite version {version!r} is not served here (serving {served}); "
                "fetch the suite again (GetCalibrationSuite) and re-time it."
            )
        return suite

    def model(self, suite: CalibrationSuite, position: int) -> tuple[bytes, str]:
        """ONNX bytes of one entry with the weights a board runs, and their SHA-256
        (built once, cached)."""
        entry = suite.entries[position]
        return _built(suite.space, entry.arch, entry.sha256)

    def accepts(self, suite: CalibrationSuite, position: int, sha256: str) -> bool:
        """Whether ``sha256`` names the model at ``position``: the checkpoint's hash, or
        the hash of the bytes this server sends (they differ where the weight
        generator does)."""
        return sha256 in (suite.entries[position].sha256, self.model(suite, position)[1])


@functools.lru_cache(maxsize=10)
def _built(space: str, arch: str, sha256: str) -> tuple[bytes, str]:
    from fewlat.spaces import get_space

    data = get_space(space).to_onnx(arch, with_weights=True)
    served = hashlib.sha256(data).hexdigest()
    if served != sha256:
        log.warning(
            "suite model %s %s rebuilt with SHA-256 %s, not the checkpoint's %s",
            space,
            arch,
            served,
            sha256,
        )
    return data, served

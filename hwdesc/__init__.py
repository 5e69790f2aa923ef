"""Calibration suites and the hardware descriptor.

A :class:`CalibrationSuite` is the ordered list of models a new device times:
the anchor (the supernet) first, then references chosen from pooled training
data by :func:`build_suite` (algorithm in :mod:`fewlat.hwdesc._select`). "K
shots" are its first K entries. A :class:`Descriptor` is what those timings
say about the device.
"""

from fewlat.hwdesc._build import build_suite, model_sha256
from fewlat.hwdesc._descriptor import Descriptor
from fewlat.hwdesc._select import (
    SELECTION_METHODS,
    choose_anchor,
    complete_rows,
    lodo_predictions,
    reveal_error,
    select_references,
)
from fewlat.hwdesc._suite import MAX_SUITE, CalibrationSuite, SuiteEntry

__all__ = [
    "MAX_SUITE",
    "SELECTION_METHODS",
    "CalibrationSuite",
    "Descriptor",
    "SuiteEntry",
    "build_suite",
    "choose_anchor",
    "complete_rows",
    "lodo_predictions",
    "model_sha256",
    "reveal_error",
    "select_references",
]

"""The numeric device vector the GNN is conditioned on (DESIGN.md §3 "Descriptor").

For a device's timings of a calibration suite (supernet first), the vector is

* ``log(anchor ms) / 4``;
* ``log(ref_k ms / anchor ms)`` for k = 1 … 9 (0 where not measured);
* a 0/1 mask per shot;
* a one-hot of which suite it was (suites differ in their references).

It uses the device's suite timings and nothing else (DESIGN.md §4).
:class:`fewlat.hwdesc.Descriptor` is the named, public view of this vector.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fewlat.exceptions import invalid_parameter

__all__ = ["MAX_SHOTS", "descriptor_size", "descriptor_vector"]

#: the longest suite, and the width of the timing part of the vector
MAX_SHOTS = 10
_LOG_MS_SCALE = 4.0


def descriptor_size(n_suites: int) -> int:
    """Length of the vector for a model that knows ``n_suites`` suites."""
    return 2 * MAX_SHOTS + n_suites


def descriptor_vector(latency_ms: Sequence[float], suite_slot: int, n_suites: int) -> np.ndarray:
    """Build the device vector from suite timings.

    Args:
        latency_ms: the suite's first K timings in suite order (K ≤ 10),
            milliseconds; NaN marks a shot that was not measured. The first
            (the anchor) must be measured.
        suite_slot: which of the model's suites these timings are of.
        n_suites: how many suites the model knows.

    Returns:
        float32 vector of length ``descriptor_size(n_suites)``.

    Raises:
        InvalidParameterError: more than 10 timings, a missing or non-positive
            anchor, or a non-positive timing.
    """
    ms = np.asarray(latency_ms, dtype=np.float64)
    if ms.ndim != 1 or not 1 <= len(ms) <= MAX_SHOTS:
        raise invalid_parameter(
            "latency_ms", "descriptor_vector", f"1 to {MAX_SHOTS} suite timings", list(ms)
        )
    measured = np.isfinite(ms)
    if not measured[0] or np.any(ms[measured] <= 0):
        raise invalid_parameter(
            "latency_ms",
            "descriptor_vector",
            "positive milliseconds with the anchor (first entry) measured",
            list(ms),
        )
    out = np.zeros(descriptor_size(n_suites), np.float32)
    out[0] = np.log(ms[0]) / _LOG_MS_SCALE
    ratios = np.where(measured, np.log(np.where(measured, ms, 1.0) / ms[0]), 0.0)
    out[1 : len(ms)] = ratios[1:]
    out[MAX_SHOTS : MAX_SHOTS + len(ms)] = measured
    out[2 * MAX_SHOTS + suite_slot] = 1.0
    return out

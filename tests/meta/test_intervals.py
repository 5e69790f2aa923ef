"""IntervalScales: fitting, widths and their JSON form, on synthetic device errors."""

from __future__ import annotations

import numpy as np
import pytest

from fewlat.meta.predictor import DEFAULT_OUTSIDE_HALF_WIDTH, IntervalScales, ShotRecord


def _devices(rng: np.random.Generator, count: int, shots: int) -> list[ShotRecord]:
    """Devices whose query errors scale with their shot error (as the CV shows)."""
    records = []
    for _ in range(count):
        sigma = float(rng.uniform(0.02, 0.4))
        errors = np.abs(rng.normal(0.0, sigma, 500))
        records.append(ShotRecord(shots, sigma * rng.uniform(0.8, 1.25), errors))
    return records


def test_fitted_intervals_cover_new_devices_near_eighty_percent_each():
    rng = np.random.default_rng(0)
    scales = IntervalScales.fit(_devices(rng, 30, 5) + _devices(rng, 30, 10))
    assert scales is not None and len(scales.scale) == 10
    covered = []
    for record in _devices(rng, 40, 10):
        width = scales.half_width(10, record.shot_error)
        covered.append(np.mean(record.abs_log_errors <= width))
    assert 0.75 <= np.mean(covered) <= 0.85
    # the width follows the device: no device is left far below 80%, whereas one
    # constant width covers the accurate devices fully and the poor ones badly
    assert min(covered) > 0.6
    constant = np.quantile(np.concatenate([r.abs_log_errors for r in _devices(rng, 30, 10)]), 0.8)
    spread = [np.mean(r.abs_log_errors <= constant) for r in _devices(rng, 40, 10)]
    assert min(spread) < 0.55 and np.std(spread) > 1.5 * np.std(covered)


def test_k_without_records_reuses_the_previous_and_k_beyond_uses_the_last():
    rng = np.random.default_rng(1)
    scales = IntervalScales.fit(_devices(rng, 10, 2) + _devices(rng, 10, 4))
    assert scales.scale[2] == scales.scale[1] and scales.floor[2] == scales.floor[1]
    assert scales.half_width(9, 0.1) == scales.half_width(4, 0.1)
    assert scales.scale[0] > 0  # K=1 had no records: the default width, not zero


def test_unknown_shot_error_uses_the_floor_and_a_zero_spread_falls_back_to_the_scale():
    scales = IntervalScales(scale=(0.5, 2.0), floor=(0.0, 0.1))
    assert scales.half_width(2, float("nan")) == pytest.approx(2.0 * 0.1)
    assert scales.half_width(2, 0.3) == pytest.approx(2.0 * np.hypot(0.3, 0.1))
    assert scales.half_width(1, float("nan")) == pytest.approx(0.5)
    assert IntervalScales.fit([]) is None


def test_json_round_trip_and_bad_input():
    scales = IntervalScales(scale=(0.5, 2.0), floor=(0.0, 0.1))
    assert IntervalScales.from_dict(scales.to_dict()) == scales
    for bad in ({"scale": [1.0]}, {"scale": [1.0], "floor": [1.0, 2.0]}, {"scale": [], "floor": []},
                {"scale": [-1.0], "floor": [0.0]}, {"scale": 3, "floor": 1}):  # fmt: skip
        with pytest.raises(ValueError, match="interval scale"):
            IntervalScales.from_dict(bad)


def test_the_outside_width_pools_equally_many_queries_per_device_and_suite():
    rng = np.random.default_rng(2)
    records = _devices(rng, 10, 3)
    # one pair with many small errors, two with few large ones: equal draws per pair
    outside = [np.full(5000, 0.1), np.full(400, 2.0), np.full(400, 3.0)]
    scales = IntervalScales.fit(records, outside=outside)
    assert scales.outside == pytest.approx(3.0)  # 2/3 of the draws are large: q80 is 3.0
    assert scales.outside_half_width() == scales.outside
    # the in-space widths do not change with the outside errors
    again = IntervalScales.fit(_devices(np.random.default_rng(2), 10, 3))
    assert (again.scale, again.floor) == (scales.scale, scales.floor) and again.outside is None
    assert again.outside_half_width() == DEFAULT_OUTSIDE_HALF_WIDTH


def test_the_outside_width_round_trips_and_older_configs_load_without_it():
    scales = IntervalScales(scale=(0.5,), floor=(0.1,), outside=0.9)
    assert IntervalScales.from_dict(scales.to_dict()) == scales
    old = IntervalScales.from_dict({"scale": [0.5], "floor": [0.1]})
    assert old.outside is None and "outside" not in old.to_dict()
    for bad in (-0.5, "wide", float("nan")):
        with pytest.raises(ValueError, match="outside"):
            IntervalScales.from_dict({"scale": [0.5], "floor": [0.1], "outside": bad})

"""The device-mix baseline's inputs and fit (``fewlat.meta.evaluation``), on a small table."""

import numpy as np
import pytest

from fewlat.meta.evaluation import device_mix, mix_inputs
from fewlat.meta.tables import LatencyTable

ARCHS = ("a", "b", "c", "d", "e")


def _table() -> LatencyTable:
    latency_ms = np.array(
        [
            [1.0, 2.0, 4.0, 1.0],
            [2.0, 3.0, 6.0, 1.5],
            [3.0, 5.0, np.nan, 2.0],
            [4.0, 7.0, 8.0, 3.0],
            [5.0, 11.0, 9.0, 4.0],
        ]
    )
    return LatencyTable("nb201", np.arange(5), ARCHS, ("x", "y", "z", "target"), latency_ms)


def test_mix_inputs_leave_out_the_device_itself_and_incomplete_columns():
    queries, shots = mix_inputs(_table(), "target", ["c", "e"], ["a", "b", "d"])
    # z did not measure c, target is the device itself: x and y remain, as log ms
    np.testing.assert_allclose(queries, np.log([[3.0, 5.0], [5.0, 11.0]]))
    np.testing.assert_allclose(shots, np.log([[1.0, 2.0], [2.0, 3.0], [4.0, 7.0]]))


def test_mix_inputs_are_none_without_a_usable_training_device():
    table = _table()
    assert mix_inputs(None, "target", ["c"], ["a"]) is None
    assert mix_inputs(table, "target", ["c", "unknown"], ["a"]) is None
    only_z = table.select_devices(["z", "target"])
    assert mix_inputs(only_z, "target", ["c"], ["a"]) is None


def test_device_mix_recovers_a_device_that_is_a_mix_of_the_training_devices():
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(40, 3))
    target = basis @ np.array([0.5, 0.3, 0.2]) + 0.7  # log ms
    predicted = device_mix(basis[10:], basis[:10], np.exp(target[:10]), alpha=1e-6)
    np.testing.assert_allclose(np.log(predicted), target[10:], atol=1e-4)
    # an unmeasured shot (NaN) is left out of the fit, not read as a timing
    shots = np.exp(target[:10])
    shots[3] = np.nan
    predicted = device_mix(basis[10:], basis[:10], shots, alpha=1e-6)
    np.testing.assert_allclose(np.log(predicted), target[10:], atol=1e-4)


@pytest.mark.parametrize(("device", "own_ms"), [("x", 5.0), ("y", 11.0)])
def test_mix_inputs_never_use_the_scored_devices_column(device, own_ms):
    queries, _ = mix_inputs(_table(), device, ["e"], ["a", "b"])
    # every other device measured a, b and e: three columns, none of them its own
    assert queries.shape == (1, 3)
    assert not np.isclose(queries, np.log(own_ms)).any()

"""Calibration suites: choice, order, versioning; and the descriptor."""

from __future__ import annotations

import numpy as np
import pytest

from fewlat.exceptions import InvalidParameterError, TableError
from fewlat.hwdesc import (
    CalibrationSuite,
    Descriptor,
    SuiteEntry,
    build_suite,
    model_sha256,
    reveal_error,
    select_references,
)
from fewlat.meta.tables import LatencyTable, read_pool
from fewlat.spaces import get_space
from tests.conftest import MEASURED


def _synthetic(n_archs: int = 60, n_devices: int = 12, seed: int = 0) -> tuple[LatencyTable, int]:
    """Devices whose log-latency profile is a + b * u(arch): arch ``key`` reveals b exactly."""
    rng = np.random.default_rng(seed)
    space = get_space("nb201")
    archs = tuple(dict.fromkeys([space.supernet(), *space.sample(rng, n_archs * 2)]))[:n_archs]
    u = rng.normal(size=n_archs)
    u[0] = 0.0  # the anchor
    key = min(17, n_archs - 1)
    u[key] = 3.0  # the most informative arch: the largest |u|
    b = rng.uniform(0.2, 1.0, n_devices)
    a = rng.uniform(0.0, 2.0, n_devices)
    lat = np.exp(a[None, :] + np.outer(u, b) + rng.normal(scale=0.01, size=(n_archs, n_devices)))
    devices = tuple(f"d{i}" for i in range(n_devices))
    return LatencyTable("nb201", np.arange(n_archs), archs, devices, lat), key


def test_greedy_first_reference_is_the_revealing_arch():
    table, key = _synthetic()
    refs = select_references(table, 0, 3, method="greedy")
    assert refs[0] == key
    assert select_references(table, 0, 3, method="greedy") == refs  # deterministic
    y = np.log(table.latency_ms) - np.log(table.latency_ms[0])
    random_refs = select_references(table, 0, 1, method="random", seed=3)
    assert reveal_error(y, np.array([key])) < reveal_error(y, np.array(random_refs))


def test_build_suite_anchor_is_the_supernet_and_suite_is_versioned():
    table = read_pool([MEASURED], "nb201")
    suite = build_suite(table, size=4)
    assert suite.archs[0] == get_space("nb201").supernet()
    assert len(suite) == 4 and [e.position for e in suite.entries] == [0, 1, 2, 3]
    assert suite.entries[1].sha256 == model_sha256("nb201", suite.archs[1])
    assert suite.version.startswith("nb201-") and len(suite.content_hash) == 64
    assert CalibrationSuite.from_dict(suite.to_dict()) == suite
    tampered = suite.to_dict()
    tampered["entries"][2]["arch"] = suite.archs[3]
    with pytest.raises(InvalidParameterError, match="version matches its content"):
        CalibrationSuite.from_dict(tampered)


def test_anchor_of_a_sampled_table_is_the_largest_complete_arch():
    table = read_pool([MEASURED], "fbnet")
    suite = build_suite(table, size=2)
    assert suite.archs[0] != get_space("fbnet").supernet()
    from fewlat.meta.graph import encode

    spec = get_space("fbnet")
    anchor_macs = encode(spec.to_onnx(suite.archs[0])).macs
    others = [encode(spec.to_onnx(a)).macs for a in table.archs[:40]]
    assert anchor_macs >= max(others)


def test_suite_errors():
    table, _ = _synthetic(n_archs=5)
    with pytest.raises(TableError, match="only 4 archs"):
        select_references(table, 0, 9)
    sparse = LatencyTable(
        "nb201", np.arange(2), table.archs[:2], ("x", "y"), np.array([[1.0, np.nan], [np.nan, 1.0]])
    )
    with pytest.raises(TableError, match="measured on all 2 devices"):
        build_suite(sparse)
    suite = CalibrationSuite("nb201", (SuiteEntry(0, table.archs[0], "0" * 64),))
    with pytest.raises(InvalidParameterError, match="an int from 1 to 1"):
        suite.shots(2)
    with pytest.raises(InvalidParameterError, match="1 to 10 models"):
        CalibrationSuite("nb201", ())


def test_descriptor_uses_only_the_suite_timings_with_a_mask():
    entries = tuple(SuiteEntry(i, f"a{i}", "0" * 64) for i in range(4))
    suite = CalibrationSuite("nb201", entries)
    d = Descriptor.from_timings(suite, [10.0, 5.0, None, 20.0])
    assert d.log_anchor_ms == pytest.approx(np.log(10.0))
    np.testing.assert_allclose(d.log_ratios[:3], [np.log(0.5), 0.0, np.log(2.0)], rtol=1e-6)
    np.testing.assert_array_equal(d.mask[:5], [1, 1, 0, 1, 0])
    assert d.summary()["shots"] == 3 and d.summary()["anchor_ms"] == pytest.approx(10.0)
    with pytest.raises(InvalidParameterError, match="anchor"):
        Descriptor.from_timings(suite, [None, 5.0])
    with pytest.raises(InvalidParameterError, match="at most 4 timings"):
        Descriptor.from_timings(suite, [1.0] * 5)
    with pytest.raises(InvalidParameterError, match="positive"):
        Descriptor.from_timings(suite, [1.0, -2.0])

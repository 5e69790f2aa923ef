"""The checkpoint shipped in the repo: loadable, small, complete, and usable without data."""

from __future__ import annotations

import numpy as np
import pytest

from fewlat.hwdesc import CalibrationSuite
from fewlat.meta.features import FEATURE_SCHEMA_VERSION
from fewlat.meta.predictor import DEFAULT_CHECKPOINT, load_checkpoint
from fewlat.meta.tables import read_table
from tests.conftest import MEASURED


def test_shipped_checkpoint_is_small_and_records_what_made_it():
    size = sum(p.stat().st_size for p in DEFAULT_CHECKPOINT.iterdir())
    assert size <= 20 * 2**20
    meta = load_checkpoint()
    assert set(meta.suites_) == {"nb201", "fbnet", "ofa_mbv3"}
    assert meta.info_["feature_schema_version"] == FEATURE_SCHEMA_VERSION
    for raw in meta.info_["suites"]:
        suite = CalibrationSuite.from_dict(raw)  # versions match their content
        assert suite.archs == meta.suites_[suite.space] and len(suite) == 10
        manifest = meta.info_["manifest"][suite.space]
        assert len(manifest["devices"]) >= 9 and len(manifest["table_sha256"]) == 64
    held_out = meta.info_["metrics"]["held_out_calibration_devices"]
    assert held_out["nb201"]["k10"]["devices"] >= 1
    assert len(meta.intervals_.scale) == 10 and min(meta.intervals_.scale) > 0
    assert meta.intervals_.outside is not None and meta.intervals_.outside > 0
    assert meta.baseline_ is not None


@pytest.mark.parametrize("space", ["nb201", "fbnet"])
def test_shipped_checkpoint_predicts_a_measured_device(space):
    meta = load_checkpoint()
    table = read_table(MEASURED, space)
    device = "epyc-ort-1t-optall"
    timings = [table.lookup_ms(a, device) for a in meta.suites_[space]]
    archs = [a for a in table.archs[:60] if a not in meta.suites_[space]]
    pred = meta.adapt({space: timings}).predict_archs(space, archs)
    measured = np.array([table.lookup_ms(a, device) for a in archs])
    assert np.all(np.isfinite(pred.latency_ms))
    # a seen device, so this only checks that the pieces fit together: same order of magnitude
    assert 0.2 < np.median(pred.latency_ms / measured) < 5

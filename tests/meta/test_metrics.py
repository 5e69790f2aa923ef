"""Metrics against hand-worked values (scipy-free)."""

from __future__ import annotations

import numpy as np
import pytest

from fewlat.exceptions import InvalidParameterError
from fewlat.meta.metrics import acc_within, kendall, mape, median_relative_error, spearman


def test_rank_correlations() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    assert spearman(y, y * 10) == pytest.approx(1.0)
    assert spearman(y, -y) == pytest.approx(-1.0)
    assert kendall(y, y**2) == pytest.approx(1.0)
    # one swapped pair out of ten: tau = (9 - 1) / 10, rho = 1 - 6*2/(5*24)
    swapped = np.array([1.0, 3.0, 2.0, 4.0, 5.0])
    assert kendall(y, swapped) == pytest.approx(0.8)
    assert spearman(y, swapped) == pytest.approx(0.9)
    # ties take their average rank
    assert spearman([1.0, 2.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0]) == pytest.approx(0.9486833, 1e-6)
    assert np.isnan(spearman(y, np.ones(5)))


def test_relative_errors() -> None:
    y = np.array([10.0, 10.0, 10.0, 10.0])
    p = np.array([10.4, 9.0, 12.0, 10.0])
    assert mape(y, p) == pytest.approx((0.04 + 0.1 + 0.2 + 0) / 4)
    assert median_relative_error(y, p) == pytest.approx(0.07)
    assert acc_within(y, p, 0.05) == 0.5 and acc_within(y, p, 0.10) == 0.75


@pytest.mark.parametrize(
    ("y", "p"), [([1.0, 2.0], [1.0]), ([1.0], [1.0]), ([1.0, np.nan], [1.0, 2.0])]
)
def test_bad_inputs(y, p) -> None:
    with pytest.raises(InvalidParameterError):
        spearman(y, p)
    with pytest.raises(InvalidParameterError):
        mape(y, p)

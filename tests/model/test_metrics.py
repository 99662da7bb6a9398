"""Tests of lstmcast.model.metrics: hand-computed values, edge cases and properties."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lstmcast.model.metrics import coverage, mae, mape, mase, msis, naive_scale, rmse, smape, summarize

FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False)
SHAPES = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=6)


@st.composite
def pairs(draw, elements=FINITE):
    """Actuals and forecasts of one shape, and a 1-D history of 2..30 values."""
    shape = draw(SHAPES)
    y = draw(hnp.arrays(np.float64, shape, elements=elements))
    f = draw(hnp.arrays(np.float64, shape, elements=elements))
    insample = draw(hnp.arrays(np.float64, st.integers(2, 30), elements=elements))
    return y, f, insample


# --- hand-computed values ---------------------------------------------------------------------

def test_mae_and_rmse_by_hand_reduce_over_all_elements():
    y, f = np.array([1.0, 2, 3, 4]), np.array([2.0, 2, 1, 8])  # errors 1, 0, 2, 4
    assert mae(y, f) == 1.75
    assert rmse(y, f) == pytest.approx(math.sqrt(21 / 4), rel=1e-15)
    assert mae(y.reshape(2, 2), f.reshape(2, 2)) == 1.75
    assert rmse(y.reshape(2, 1, 2), f.reshape(2, 1, 2)) == pytest.approx(math.sqrt(21 / 4), rel=1e-15)
    assert isinstance(mae(y, f), float) and isinstance(rmse(y, f), float)


def test_rmse_neither_underflows_nor_overflows():
    assert rmse([0.0, 0.0], [1e-200, 0.0]) == pytest.approx(1e-200 / math.sqrt(2), rel=1e-12)
    assert rmse([0.0, 0.0], [1e200, -1e200]) == pytest.approx(1e200, rel=1e-12)


def test_mape_ignores_zero_actuals_and_is_nan_when_all_are_zero():
    # y = 0 left out; 2 -> |1|/2, 4 -> |1|/4
    assert mape([0.0, 2, -4], [5.0, 1, -5]) == pytest.approx(37.5, rel=1e-15)
    assert math.isnan(mape([0.0, 0.0], [1.0, 2.0]))
    assert mape([0.0, 1.0], [0.0, 1.0]) == 0.0


def test_smape_m4_definition_zero_over_zero_is_zero():
    # 200*2/4, 0/0 -> 0, 200*2/2
    assert smape([1.0, 0, 0], [3.0, 0, 2]) == pytest.approx(100.0, rel=1e-15)
    assert smape([0.0], [0.0]) == 0.0
    assert smape([1.0, -1.0], [-1.0, 1.0]) == 200.0  # opposite signs: the maximum


def test_mase_by_hand_and_seasonal_scale():
    x = np.array([1.0, 3, 2, 5])  # one-step in-sample errors 2, 1, 3 -> scale 2
    y, f = np.array([6.0, 7]), np.array([5.0, 5])  # MAE 1.5
    assert naive_scale(x, 1) == 2.0
    assert mase(y, f, x) == 0.75
    assert naive_scale(x, 2) == 1.5  # |2-1|, |5-3|
    assert mase(y, f, x, season=2) == 1.0
    # a season as long as the history falls back to season 1
    assert mase(y, f, x, season=4) == mase(y, f, x, season=9) == 0.75


def test_mase_of_the_in_sample_naive_forecast_is_exactly_one():
    x = np.cumsum(np.random.default_rng(1).normal(size=300))  # a random walk
    assert mase(x[1:], x[:-1], x) == pytest.approx(1.0, rel=1e-12)
    assert mase(x[7:], x[:-7], x, season=7) == pytest.approx(1.0, rel=1e-12)
    assert mase(x[1:], x[:-1], x, season=7) != pytest.approx(1.0, rel=1e-3)


def test_mase_is_nan_for_a_constant_or_one_point_history():
    assert math.isnan(mase([2.0], [1.0], np.full(10, 3.0)))
    assert math.isnan(mase([2.0], [1.0], np.full(10, 3.0), season=3))
    assert math.isnan(mase([2.0], [1.0], [3.0]))
    # gaps in the history are skipped, not propagated
    assert naive_scale([1.0, np.nan, 2.0, 4.0]) == 2.0


def test_coverage_counts_boundaries_as_inside():
    y = np.array([1.0, 2, 3, 4])
    lo, hi = np.array([0.0, 2.5, 3, 0]), np.array([2.0, 3, 3, 3])
    assert coverage(y, lo, hi) == 50.0
    assert coverage(y, y, y) == 100.0
    assert coverage(y, y + 1, y + 2) == 0.0


def test_msis_by_hand():
    # level 80: a = 0.2, 2/a = 10; widths 2 and 4, one miss by 1 -> scores 2, 14
    y, lo, hi = np.array([0.0, 5]), np.array([-1.0, 0]), np.array([1.0, 4])
    assert msis(y, lo, hi, 80, [0.0, 1, 3]) == pytest.approx(8 / 1.5, rel=1e-15)
    assert msis(y, y, y, 95, [0.0, 1, 3]) == 0.0


def test_summarize_keys_values_and_level_order():
    rng = np.random.default_rng(2)
    x = rng.normal(size=50)
    y, f = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    iv = {95: (f - 2, f + 2), 80: (f - 1, f + 1), 97.5: (f - 3, f + 3)}
    out = summarize(y, f, x, 1, iv)
    assert list(out) == ["MAE", "RMSE", "MAPE", "sMAPE", "MASE", "coverage_80", "coverage_95",
                         "coverage_97.5", "MSIS_80", "MSIS_95", "MSIS_97.5"]
    assert out["MAE"] == mae(y, f) and out["MASE"] == mase(y, f, x, 1)
    assert out["coverage_95"] == coverage(y, f - 2, f + 2)
    assert out["MSIS_80"] == msis(y, f - 1, f + 1, 80, x, 1)
    assert all(isinstance(v, float) for v in out.values())
    assert list(summarize(y, f, x, 1)) == ["MAE", "RMSE", "MAPE", "sMAPE", "MASE"]


@pytest.mark.parametrize("call, match", [
    (lambda: mae([1.0, 2], [1.0, 2, 3]), "same shape"),
    (lambda: rmse(np.ones((2, 3)), np.ones((3, 2))), "same shape"),
    (lambda: coverage([1.0], [0.0, 0], [2.0, 2]), "same shape"),
    (lambda: smape([], []), "empty"),
    (lambda: mase([1.0], [1.0], [1.0, 2], season=0), "season"),
    (lambda: mase([1.0], [1.0], [1.0, 2], season=1.5), "season"),
    (lambda: mase([1.0], [1.0], np.ones((3, 2))), "1-D"),
    (lambda: msis([1.0], [0.0], [2.0], 100, [1.0, 2]), "between 0 and 100"),
    (lambda: summarize([1.0], [1.0], [1.0, 2], 1, {0: ([0.0], [2.0])}), "between 0 and 100"),
])
def test_bad_arguments_are_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- properties -------------------------------------------------------------------------------

@settings(max_examples=150, deadline=None)
@given(data=pairs())
def test_metrics_are_non_negative_and_zero_iff_perfect(data):
    y, f, x = data
    perfect = np.array_equal(y, f)
    for name, fn in [("mae", mae), ("rmse", rmse), ("smape", smape)]:
        v = fn(y, f)
        assert v >= 0, name
        assert (v == 0) == perfect, name
        assert fn(y, y) == 0, name
    assert 0 <= smape(y, f) <= 200
    v = mape(y, f)
    nonzero = y != 0
    if nonzero.any():
        assert v >= 0 and (v == 0) == np.array_equal(y[nonzero], f[nonzero])
    else:
        assert math.isnan(v)
    scale = naive_scale(x)
    if math.isnan(scale):
        assert np.all(x == x[0]) and math.isnan(mase(y, f, x))
    else:
        assert scale > 0 and mase(y, f, x) >= 0 and (mase(y, f, x) == 0) == perfect


@settings(max_examples=150, deadline=None)
@given(data=pairs(), c=st.floats(1e-3, 1e3), season=st.integers(1, 12))
def test_scale_free_metrics_are_invariant_and_others_scale(data, c, season):
    y, f, x = data
    assert mae(c * y, c * f) == pytest.approx(c * mae(y, f), rel=1e-9, abs=1e-300)
    assert rmse(c * y, c * f) == pytest.approx(c * rmse(y, f), rel=1e-9, abs=1e-300)
    assert smape(c * y, c * f) == pytest.approx(smape(y, f), rel=1e-9, abs=1e-12)
    assert mape(c * y, c * f) == pytest.approx(mape(y, f), rel=1e-9, abs=1e-12, nan_ok=True)
    m = mase(y, f, x, season)
    assert mase(c * y, c * f, c * x, season) == pytest.approx(m, rel=1e-9, abs=1e-12, nan_ok=True)


@settings(max_examples=100, deadline=None)
@given(data=pairs(st.floats(-1e3, 1e3, allow_subnormal=False)), shift=st.floats(-1e3, 1e3))
def test_absolute_metrics_ignore_a_common_shift(data, shift):
    y, f, x = data
    assume(naive_scale(x) > 1e-6)
    assert mae(y + shift, f + shift) == pytest.approx(mae(y, f), rel=1e-6, abs=1e-9)
    assert rmse(y + shift, f + shift) == pytest.approx(rmse(y, f), rel=1e-6, abs=1e-9)
    assert mase(y + shift, f + shift, x + shift) == pytest.approx(mase(y, f, x), rel=1e-5, abs=1e-9)


@settings(max_examples=100, deadline=None)
@given(data=pairs())
def test_smape_is_symmetric_and_rmse_bounds_mae(data):
    y, f, _ = data
    assert smape(y, f) == smape(f, y)
    assert mae(y, f) == mae(f, y)
    assert mae(y, f) <= rmse(y, f) * (1 + 1e-12) + 1e-300
    assert rmse(y, f) <= np.abs(y - f).max() * (1 + 1e-12)


@settings(max_examples=100, deadline=None)
@given(data=pairs(), width=st.floats(0, 1e3))
def test_coverage_is_a_percentage_that_grows_with_the_band(data, width):
    y, f, _ = data
    narrow = coverage(y, f - width, f + width)
    wide = coverage(y, f - 2 * width - 1, f + 2 * width + 1)
    assert 0 <= narrow <= wide <= 100
    assert coverage(y, np.minimum(y, f), np.maximum(y, f)) == 100
    assert narrow * y.size / 100 == pytest.approx(round(narrow * y.size / 100))

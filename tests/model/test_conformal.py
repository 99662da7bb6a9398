"""Tests of lstmcast.model.conformal: ranks by hand, coverage on exchangeable residuals, validation."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lstmcast.model.conformal import calibrate, calibrate_signed, intervals, min_calibration_size


def empirical_coverage(test, lower, upper) -> float:
    return 100.0 * np.mean((test >= lower) & (test <= upper))


# --- by hand ----------------------------------------------------------------------------------

def test_quantile_is_the_conformal_order_statistic():
    signs = np.array([1, -1, -1, 1, 1, -1, 1, -1, 1, -1])
    r = (signs * np.arange(1.0, 11))[np.random.default_rng(0).permutation(10)]
    q = calibrate(r.reshape(10, 1, 1), [50, 80, 95])
    assert q.shape == (3, 1, 1)
    # n = 10: ranks ceil(11 * .5) = 6, ceil(11 * .8) = 9, ceil(11 * .95) = 11 > 10 -> the max
    np.testing.assert_array_equal(q[:, 0, 0], [6.0, 9.0, 10.0])


def test_each_step_and_target_is_calibrated_separately():
    base = np.random.default_rng(1).normal(size=(200, 1, 1))
    r = base * np.arange(1.0, 7).reshape(1, 3, 2)  # step/target scales 1..6
    q = calibrate(r, [80, 95])
    assert q.shape == (2, 3, 2)
    np.testing.assert_allclose(q, calibrate(base, [80, 95]) * np.arange(1.0, 7).reshape(1, 3, 2))


def test_signed_quantiles_by_hand():
    r = np.arange(-5.0, 15).reshape(20, 1)  # -5 .. 14, n = 20
    lo, hi = calibrate_signed(r, [80])
    # level 80: hi rank ceil(21 * .9) = 19 -> 13; lo rank floor(21 * .1) = 2 -> -4
    assert (lo[0, 0], hi[0, 0]) == (-4.0, 13.0)
    lo, hi = calibrate_signed(r[:5], [80])  # too few: the extremes
    assert (lo[0, 0], hi[0, 0]) == (-5.0, -1.0)


@pytest.mark.parametrize("level, signed, n", [
    (80, False, 4), (95, False, 19), (90, False, 9), (99, False, 99), (50, False, 1),
    (80, True, 9), (95, True, 39), (90, True, 19), (50, True, 3),
])
def test_min_calibration_size_by_hand(level, signed, n):
    assert min_calibration_size(level, signed=signed) == n


@settings(max_examples=200, deadline=None)
@given(tenths=st.integers(1, 999), signed=st.booleans())
def test_min_calibration_size_is_the_smallest_valid_n(tenths, signed):
    level = Fraction(tenths, 10)
    tail = 100 - (100 - level) / 2 if signed else level

    def ok(n):
        upper = math.ceil((n + 1) * tail / 100) <= n
        lower = math.floor((n + 1) * (100 - level) / 200) >= 1
        return upper and (lower or not signed)

    n = min_calibration_size(tenths / 10, signed=signed)
    assert ok(n) and (n == 1 or not ok(n - 1))


# --- coverage ---------------------------------------------------------------------------------

DISTRIBUTIONS = {
    "normal": lambda rng, size: rng.normal(size=size),
    "student_t3": lambda rng, size: rng.standard_t(3, size=size),
    "skewed_biased": lambda rng, size: rng.exponential(size=size) + 0.5,
}


@pytest.mark.parametrize("dist", list(DISTRIBUTIONS))
def test_coverage_on_exchangeable_residuals_is_close_to_the_level(dist):
    rng = np.random.default_rng(list(DISTRIBUTIONS).index(dist))
    scale = np.arange(1.0, 9).reshape(1, 4, 2)  # heteroscedastic across steps and targets
    cal = DISTRIBUTIONS[dist](rng, (2000, 4, 2)) * scale
    test = DISTRIBUTIONS[dist](rng, (20000, 4, 2)) * scale
    pred = np.zeros((20000, 4, 2))  # residual = actual - 0
    levels = [80, 95]
    sym = intervals(pred, calibrate(cal, levels), levels)
    signed = intervals(pred, calibrate_signed(cal, levels), levels)
    for level in levels:
        for name, bands in [("symmetric", sym), ("signed", signed)]:
            lo, hi = bands[level]
            assert lo.shape == hi.shape == test.shape
            got = empirical_coverage(test, lo, hi)
            assert abs(got - level) < 1.5, (name, level, got)
            # every step and target on its own, too (looser: 2000 residuals per cell)
            cells = 100 * ((test >= lo) & (test <= hi)).mean(axis=0)
            assert np.all(np.abs(cells - level) < 4), (name, level, cells)
    if dist == "skewed_biased":  # the signed bands follow the skew and are narrower
        width = lambda b: np.mean(b[80][1] - b[80][0])
        assert width(signed) < 0.8 * width(sym)


def test_finite_sample_coverage_is_exactly_k_over_n_plus_one():
    # 20000 independent calibrations of n = 10 (along the step axis), 40 test draws each
    rng = np.random.default_rng(3)
    cal, test = rng.normal(size=(10, 20000, 1)), rng.normal(size=(40, 20000, 1))
    q = calibrate(cal, [80, 50, 95])
    got = [empirical_coverage(test, -q[i], q[i]) for i in range(3)]
    # ranks 9, 6 and 11 -> clipped to 10: coverage 9/11, 6/11, and 10/11 < 95 (too few)
    np.testing.assert_allclose(got, [900 / 11, 600 / 11, 1000 / 11], atol=0.5)
    assert got[2] < 95 - 3
    # signed, n = 20 and level 80: P(below rank 2) = 2/21, P(above rank 19) = 2/21
    cal = rng.normal(size=(20, 20000, 1))
    lo, hi = calibrate_signed(cal, [80])
    np.testing.assert_allclose(empirical_coverage(test, lo[0], hi[0]), 1700 / 21, atol=0.5)


# --- properties -------------------------------------------------------------------------------

RESIDUALS = hnp.arrays(np.float64, st.tuples(st.integers(1, 40), st.integers(1, 3), st.integers(1, 2)),
                       elements=st.floats(-1e6, 1e6, allow_subnormal=False))
LEVELS = st.lists(st.floats(0.5, 99.5), min_size=1, max_size=4)


@settings(max_examples=100, deadline=None)
@given(r=RESIDUALS, levels=LEVELS, c=st.floats(1e-3, 1e3))
def test_quantiles_grow_with_the_level_and_scale_with_the_residuals(r, levels, c):
    levels = sorted(levels)
    q = calibrate(r, levels)
    lo, hi = calibrate_signed(r, levels)
    assert q.shape == lo.shape == hi.shape == (len(levels), *r.shape[1:])
    assert np.all(q >= 0) and np.all(np.diff(q, axis=0) >= 0)
    assert np.all(q <= np.abs(r).max(axis=0))
    assert np.all(lo <= hi) and np.all(np.diff(hi, axis=0) >= 0) and np.all(np.diff(lo, axis=0) <= 0)
    assert np.all(lo >= r.min(axis=0)) and np.all(hi <= r.max(axis=0))
    np.testing.assert_allclose(calibrate(c * r, levels), c * q, rtol=1e-12)
    # a quantile is one of the residuals
    assert np.all(np.any(q[:, None] == np.abs(r)[None], axis=1))


def test_nan_residuals_are_skipped_per_cell():
    rng = np.random.default_rng(4)
    r = rng.normal(size=(30, 2, 1))
    with_gaps = r.copy()
    with_gaps[::3, 1, 0] = np.nan
    q = calibrate(with_gaps, [80])
    np.testing.assert_array_equal(q[:, 0], calibrate(r[:, 0], [80]))
    np.testing.assert_array_equal(q[:, 1], calibrate(r[~np.isnan(with_gaps[:, 1, 0]), 1], [80]))
    lo, hi = calibrate_signed(with_gaps, [80])
    np.testing.assert_array_equal(hi[:, 1], calibrate_signed(r[~np.isnan(with_gaps[:, 1, 0]), 1], [80])[1])
    all_nan = np.full((5, 1, 1), np.nan)
    assert np.isnan(calibrate(all_nan, [80])).all()


def test_intervals_shapes_keys_and_bands():
    pred = np.arange(12.0).reshape(2, 3, 2)  # (series, horizon, targets)
    q = np.stack([np.ones((3, 2)), 2 * np.ones((3, 2))])
    out = intervals(pred, q, [80, 95.0])
    assert list(out) == [80, 95.0] and out[80.0] is out[80]
    np.testing.assert_array_equal(out[80][0], pred - 1)
    np.testing.assert_array_equal(out[95][1], pred + 2)
    lo, hi = -np.ones((1, 3, 2)), 3 * np.ones((1, 3, 2))
    (lower, upper), = intervals(pred, (lo, hi), [80]).values()
    np.testing.assert_array_equal(lower, pred - 1)
    np.testing.assert_array_equal(upper, pred + 3)


@pytest.mark.parametrize("bad", [0, 100, -5, 150, float("nan"), float("inf"), "high", None, True])
def test_bad_levels_are_value_errors(bad):
    r = np.ones((10, 1, 1))
    for call in (lambda: calibrate(r, [80, bad]), lambda: calibrate_signed(r, [bad]),
                 lambda: min_calibration_size(bad), lambda: intervals(r[0], np.ones((1, 1, 1)), [bad])):
        with pytest.raises(ValueError, match="level"):
            call()


def test_other_bad_arguments_are_value_errors():
    with pytest.raises(ValueError, match="at least one calibration residual"):
        calibrate(np.empty((0, 3, 1)), [80])
    with pytest.raises(ValueError, match="2 levels but quantiles for 1"):
        intervals(np.zeros((3, 1)), np.ones((1, 3, 1)), [80, 95])

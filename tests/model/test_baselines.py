"""Tests of lstmcast.model.baselines: closed-form forecasts, properties, and season lengths."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lstmcast.frequencies import season_length
from lstmcast.model.baselines import BASELINES, drift, naive, seasonal_naive

FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False, allow_subnormal=False)
HISTORY = hnp.arrays(np.float64, st.integers(1, 40), elements=FINITE)


# --- closed form ------------------------------------------------------------------------------

def test_naive_repeats_the_last_value():
    np.testing.assert_array_equal(naive([1, 2, 3], 2), [3.0, 3.0])
    np.testing.assert_array_equal(naive([7.5], 3), [7.5, 7.5, 7.5])
    assert naive([1, 2, 3], 0).shape == (0,) and naive([1, 2], 2).dtype == np.float64


def test_seasonal_naive_continues_a_periodic_series_exactly():
    pattern = np.array([1.0, 5, 2, 7])
    history = np.tile(pattern, 5)[:-1]  # ends mid-season, on the 2
    np.testing.assert_array_equal(seasonal_naive(history, 9, 4), np.tile(pattern, 4)[3:12])
    # the last season repeated: history 1..10, season 4 -> 7 8 9 10 7 8
    np.testing.assert_array_equal(seasonal_naive(np.arange(1.0, 11), 6, 4), [7, 8, 9, 10, 7, 8])


def test_seasonal_naive_falls_back_to_naive():
    x = np.array([3.0, 1, 4, 1, 5])
    np.testing.assert_array_equal(seasonal_naive(x, 3, 1), naive(x, 3))
    np.testing.assert_array_equal(seasonal_naive(x, 3, 6), naive(x, 3))  # shorter than a season
    np.testing.assert_array_equal(seasonal_naive(x, 3, 5), [3.0, 1, 4])  # exactly one season


def test_drift_reproduces_a_straight_line_and_is_naive_for_one_value():
    t = np.arange(15.0)
    line = 2.0 + 3.0 * t
    np.testing.assert_array_equal(drift(line[:10], 5), line[10:])
    np.testing.assert_array_equal(drift([1.0, 5.0, 2.0], 2), [2.5, 3.0])  # slope (2-1)/2
    np.testing.assert_array_equal(drift([4.0], 3), [4.0, 4.0, 4.0])


def test_two_dimensional_history_forecasts_each_column():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(30, 3))
    for name, fn in BASELINES.items():
        out = fn(x, 8, 7)
        assert out.shape == (8, 3), name
        for j in range(3):
            np.testing.assert_array_equal(out[:, j], fn(x[:, j], 8, 7), err_msg=name)


def test_baselines_share_one_signature():
    x = np.array([1.0, 2, 4, 8, 16])
    assert set(BASELINES) == {"naive", "seasonal_naive", "drift"}
    np.testing.assert_array_equal(BASELINES["naive"](x, 2, 3), [16.0, 16.0])
    np.testing.assert_array_equal(BASELINES["seasonal_naive"](x, 2, 3), [4.0, 8.0])
    np.testing.assert_array_equal(BASELINES["drift"](x, 2, 3), [19.75, 23.5])
    for fn in BASELINES.values():
        assert fn(x, 4).shape == (4,)  # season defaults to 1


@pytest.mark.parametrize("call, match", [
    (lambda: naive([], 2), "non-empty"),
    (lambda: drift(np.ones((2, 2, 2)), 2), "1-D or 2-D"),
    (lambda: naive([1.0], -1), "horizon"),
    (lambda: drift([1.0], 1.5), "horizon"),
    (lambda: seasonal_naive([1.0, 2], 2, 0), "season"),
    (lambda: seasonal_naive([1.0, 2], 2, 2.5), "season"),
])
def test_bad_arguments_are_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# --- properties -------------------------------------------------------------------------------

@settings(max_examples=100, deadline=None)
@given(x=HISTORY, horizon=st.integers(0, 30), season=st.integers(1, 12))
def test_seasonal_naive_extends_the_series_periodically(x, horizon, season):
    f = seasonal_naive(x, horizon, season)
    assert f.shape == (horizon,)
    m = season if season <= len(x) else 1
    both = np.concatenate([x, f])
    n = len(x)
    np.testing.assert_array_equal(both[n:], both[n - m:n + horizon - m])


@settings(max_examples=100, deadline=None)
@given(x=HISTORY, horizon=st.integers(1, 30), a=st.floats(-100, 100), b=st.floats(-1e3, 1e3))
def test_drift_steps_evenly_and_commutes_with_affine_maps(x, horizon, a, b):
    f = drift(x, horizon)
    slope = (x[-1] - x[0]) / (len(x) - 1) if len(x) > 1 else 0.0
    tol = 1e-9 * (1 + np.abs(x).max()) * horizon
    np.testing.assert_allclose(np.diff(np.concatenate([[x[-1]], f])), slope, atol=tol)
    np.testing.assert_allclose(drift(a * x + b, horizon), a * f + b, rtol=1e-9,
                               atol=1e-9 * (1 + abs(b) + abs(a) * np.abs(f).max()))


@settings(max_examples=50, deadline=None)
@given(x=HISTORY, horizon=st.integers(0, 30))
def test_naive_is_constant_at_the_last_value(x, horizon):
    assert np.all(naive(x, horizon) == x[-1]) and len(naive(x, horizon)) == horizon


# --- season length ----------------------------------------------------------------------------

@pytest.mark.parametrize("freq, season", [
    ("h", 24), ("H", 24), ("2h", 12), ("6h", 4), ("bh", 8),
    ("min", 60), ("T", 60), ("30min", 48), ("15min", 96), ("5min", 288), ("2min", 30),
    ("s", 60), ("S", 60), ("15s", 240),
    ("D", 7), ("24h", 7), ("B", 5), ("C", 5),
    ("W", 52), ("W-SUN", 52), ("W-MON", 52), ("2W", 26), ("7D", 52),
    ("SMS-15", 24), ("MS", 12), ("M", 12), ("ME", 12), ("BMS", 12), ("3MS", 4),
    ("QS", 4), ("QS-OCT", 4), ("Q", 4), ("QE", 4), ("QE-DEC", 4), ("2QS", 2),
    ("YS", 1), ("Y", 1), ("A", 1), ("AS-JAN", 1), ("YE", 1), ("YE-DEC", 1),
    # no whole season, or unknown
    ("5D", 1), ("7min", 1), ("3W", 1), ("ms", 1), ("1h30min", 1), ("fortnightly", 1), ("", 1),
    ("0D", 1),
])
def test_season_length_table(freq, season):
    assert season_length(freq) == season


@pytest.mark.parametrize("alias", ["h", "30min", "D", "B", "W-SUN", "MS", "QE-DEC", "YS-JAN"])
def test_season_length_accepts_pandas_offsets_and_their_canonical_names(alias):
    offset = pd.tseries.frequencies.to_offset(alias)
    assert season_length(offset) == season_length(offset.freqstr) == season_length(alias) > 0

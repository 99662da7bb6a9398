"""The Theta member against references written out by hand: simple exponential smoothing
as a Python loop, regression lines by ``np.polyfit``, the Theta forecast formula of
Hyndman & Billah (2003) as Fiorucci et al. (2016) state it, and a brute-force grid for the
fit. No recorded numbers."""

import warnings
from dataclasses import replace

import numpy as np
import pytest

from lstmcast.model import theta


def one_step_reference(y, kind, alpha, th, level0):
    """One-step forecasts ``mu[t]`` of ``y[t]`` after ``t`` observations (t >= 1):
    ``level_t + (1 - 1/theta) (A_t (1-a)^t + B_t (1 - (1-a)^(t+1)) / a)``, the level by an
    SES loop from ``level0``, (A_t, B_t) the least-squares line over times 1..n (static)
    or 1..t (dynamic)."""
    n, q, c = len(y), 1.0 - alpha, 1.0 - 1.0 / th
    slope, intercept = np.polyfit(np.arange(1, n + 1), y, 1)
    level, mu = level0, np.full(n, np.nan)
    for t in range(n):
        if t >= 1:
            if kind.startswith("D"):
                if t == 1:
                    intercept, slope = y[0], 0.0
                else:
                    slope, intercept = np.polyfit(np.arange(1, t + 1), y[:t], 1)
            mu[t] = level + c * (intercept * q ** t + slope * (1 - q ** (t + 1)) / alpha)
        level = alpha * y[t] + q * level
    return mu


def noisy_line(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return 10.0 + 0.7 * np.arange(n) + rng.normal(0, 1.0, n)


def by_hand(kind, y, alpha, th, level0):
    """A ThetaModel made from parameters, not fitted (season 1)."""
    slope, intercept = np.polyfit(np.arange(1, len(y) + 1), y, 1)
    ab = [0.0, 0.0] if kind.startswith("D") else [intercept, slope]
    init = np.array([level0, 0.0, *ab])
    return theta.ThetaModel(kind=kind, season=1, seasonal=np.ones(1), params=np.array([alpha, th, 0.0]),
                            init=init, state=init.copy(), mse=0.0, n=0)


def test_standard_theta_is_ses_plus_half_the_regression_drift():
    # Hyndman & Billah: STM's h-step forecast after n observations is
    # level_n + 1/2 ((1-a)^n A + ((h-1) + (1 - (1-a)^(n+1)) / a) B): SES plus half the
    # regression slope per step (with the start-up adjustment), A and B the OLS line.
    y, alpha, level0 = noisy_line(), 0.3, 4.0
    model = theta.advance(by_hand("STM", y, alpha, 2.0, level0), y)
    level = level0
    for v in y:
        level = alpha * v + (1 - alpha) * level
    slope, intercept = np.polyfit(np.arange(1, len(y) + 1), y, 1)
    n, q, h = len(y), 1 - alpha, np.arange(1, 13)
    expected = level + 0.5 * (q ** n * intercept + ((h - 1) + (1 - q ** (n + 1)) / alpha) * slope)
    np.testing.assert_allclose(theta.forecast(model, 12), expected, rtol=1e-12)
    np.testing.assert_allclose(np.diff(theta.forecast(model, 12)), slope / 2, rtol=1e-9)


@pytest.mark.parametrize("kind", theta.KINDS)
def test_one_step_forecasts_follow_the_formula(kind):
    y = noisy_line(30, seed=1)
    model = by_hand(kind, y, 0.45, 3.5 if kind.endswith("OTM") else 2.0, 7.0)
    got = theta.forecasts_from(model, y, np.arange(1, len(y)), 1)[:, 0]
    want = one_step_reference(y, kind, 0.45, model.params[1], 7.0)[1:]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_fit_reports_its_mse_and_beats_a_brute_force_grid():
    y = noisy_line(40, seed=2)
    model = theta.fit(y, 1)
    alpha, th, _ = model.params
    mu = one_step_reference(y, model.kind, alpha, th, model.init[0])
    assert model.mse == pytest.approx(np.mean((y - mu)[3:] ** 2), rel=1e-9)
    # the fit minimises over alpha, the initial level (and theta): no STM on a grid does better
    grid = min(np.mean((y - one_step_reference(y, "STM", a, 2.0, l0))[3:] ** 2)
               for a in np.linspace(0.1, 0.99, 12) for l0 in np.linspace(-10, 30, 12))
    assert model.mse <= grid * (1 + 1e-9)


def test_a_straight_line_continues():
    y = 3.0 + 2.0 * np.arange(30)
    model = theta.fit(y, 1)
    np.testing.assert_allclose(theta.forecast(model, 6), 3.0 + 2.0 * np.arange(30, 36), rtol=1e-6)


def seasonal_series(n=96, seed=3):
    rng = np.random.default_rng(seed)
    factor = 1 + 0.3 * np.sin(2 * np.pi * np.arange(12) / 12)
    t = np.arange(n)
    return (100 + 0.5 * t) * factor[t % 12] * (1 + rng.normal(0, 0.01, n)), factor


def test_multiplicative_indices_recover_the_factor():
    y, factor = seasonal_series()
    model = theta.fit(y, 12)
    assert model.season == 12 and model.params[2] == 0.0
    np.testing.assert_allclose(model.seasonal, factor / factor.mean(), atol=0.02)


def test_negative_data_get_additive_offsets():
    y, factor = seasonal_series()
    model = theta.fit(y - 500.0, 12)
    assert model.season == 12 and model.params[2] == 1.0
    assert abs(model.seasonal.mean()) < 1e-9
    # the trend at 100 + 0.5 t times the factor: offsets near 130 (the middle level) x (factor - 1)
    np.testing.assert_allclose(model.seasonal, 124 * (factor - 1), atol=8.0)


def test_white_noise_is_not_seasonal():
    rng = np.random.default_rng(4)
    assert theta.fit(rng.normal(10, 1, 120), 12).season == 1
    assert theta.seasonality(rng.normal(10, 1, 120), 12)[0] == 1


def test_forecasts_from_agrees_with_fit_advance_and_forecast():
    y, _ = seasonal_series(120)
    model = theta.fit(y[:90], 12)
    f = theta.forecasts_from(model, y, np.array([110, 90, 91, 1]), 7)
    np.testing.assert_array_equal(f[1], theta.forecast(model, 7))
    later = theta.advance(theta.advance(model, y[90:100]), y[100:110])
    assert later.n == 110
    np.testing.assert_allclose(f[0], theta.forecast(later, 7), rtol=1e-12)
    np.testing.assert_allclose(f[2], theta.forecast(theta.advance(model, y[90:91]), 7), rtol=1e-12)
    with pytest.raises(ValueError, match="origins"):
        theta.forecasts_from(model, y, np.array([0]), 3)


def test_arrays_round_trip():
    model = theta.fit(seasonal_series()[0], 12)
    again = theta.from_arrays(theta.to_arrays(model))
    assert again.kind == model.kind and again.n == model.n and again.mse == model.mse
    np.testing.assert_array_equal(theta.forecast(again, 5), theta.forecast(model, 5))


@pytest.mark.parametrize("change, message", [
    (lambda a: a.pop("state"), "missing state"),
    (lambda a: a.update(kind=np.array(7)), "kind 7"),
    (lambda a: a.update(params=np.array([0.5, 2.0])), "params must have shape"),
    (lambda a: a.update(params=np.array([1.5, 2.0, 0.0])), "alpha"),
    (lambda a: a.update(params=np.array([0.5, 0.5, 0.0])), "theta"),
    (lambda a: a.update(seasonal=np.ones(3)), "seasonal must have shape"),
    (lambda a: a.update(seasonal=-np.ones(12)), "positive"),
    (lambda a: a.update(state=np.array([1.0, np.nan, 0.0, 0.0])), "NaN"),
    (lambda a: a.update(n=np.array(2.5)), "whole number"),
    (lambda a: a.update(season=np.array([12])), "scalar"),
    (lambda a: a.update(init=np.array(["a", "b", "c", "d"])), "numeric"),
])
def test_damaged_arrays_are_refused(change, message):
    arrays = theta.to_arrays(theta.fit(seasonal_series()[0], 12))
    change(arrays)
    with pytest.raises(ValueError, match=message):
        theta.from_arrays(arrays)


@pytest.mark.parametrize("y", [np.full(30, 4.0), np.array([1.0, 2.0, 4.0]), np.array([2.0]), np.zeros(40),
                               -5.0 - np.arange(40.0), np.r_[np.zeros(30), 1.0], np.full(25, 1e300),
                               np.full(25, 1e-300)],
                         ids=["constant", "three", "one", "zeros", "negative", "spike", "huge", "tiny"])
@pytest.mark.parametrize("season", [1, 4])
def test_awkward_series_give_finite_models_without_warnings(y, season):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = theta.fit(y, season)
        f = theta.forecast(model, 6)
        theta.from_arrays(theta.to_arrays(model))
    assert np.isfinite(f).all() and np.isfinite(model.state).all() and np.isfinite(model.mse)
    if np.ptp(y) == 0:
        np.testing.assert_allclose(f, y[0], rtol=1e-9)


def test_forecast_of_a_copy_does_not_change_the_model():
    model = theta.fit(noisy_line(), 1)
    state = model.state.copy()
    theta.forecast(model, 5), theta.advance(model, np.ones(3)), theta.forecasts_from(model, noisy_line(), [5], 2)
    np.testing.assert_array_equal(model.state, state)
    assert replace(model).n == 40

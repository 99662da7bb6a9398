"""Tests of lstmcast.model.combiner and lstmcast.model.members in the forecaster: the mix
chosen on held-out windows, its forecasts, the model file, update and export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lstmcast.data.dataset import load_csv
from lstmcast.errors import UsageError
from lstmcast.model import combiner, guard, members
from lstmcast.model.forecaster import LSTMForecaster, load_model

M = combiner.M


def test_the_guards_choice_is_one_mix():
    mix = combiner.from_guard(np.array([[-1], [1], [2]]), np.array([[0.3], [0.25], [0.0]]))
    np.testing.assert_allclose(mix[0, 0], [1, 0, 0, 0, 0, 0])            # no baseline: the network
    np.testing.assert_allclose(mix[1, 0], [0.25, 0, 0.75, 0, 0, 0])      # a blend with seasonal naive
    np.testing.assert_allclose(mix[2, 0], [0, 0, 0, 1, 0, 0])            # drift alone
    assert [combiner.name(r) for r in mix[:, 0]] == ["lstm", "blend_seasonal_naive", "drift"]
    assert combiner.name(combiner._even(("lstm", "ets", "theta"))) == "lstm+ets+theta"


def _problem(rng, n_series=3, windows=6, H=4):
    """Held-out forecasts where member ``s + 4`` (ets, theta, ...) is exact for series s."""
    actual = rng.normal(size=(n_series * windows, H, 1))
    series = np.repeat(np.arange(n_series), windows)
    forecasts = actual[None] + rng.normal(scale=1.0, size=(M, *actual.shape))
    return forecasts, actual, series


def test_select_takes_the_member_with_the_lowest_held_out_error():
    rng = np.random.default_rng(0)
    forecasts, actual, series = _problem(rng, n_series=2)
    forecasts[4, series == 0] = actual[series == 0]           # ets is exact on series 0
    forecasts[5, series == 1] = actual[series == 1] + 0.01    # theta nearly exact on series 1
    guard_mix = combiner.from_guard(np.full((2, 1), -1), np.ones((2, 1)))
    mix, scores = combiner.choose(forecasts, actual, series, guard_mix, "select")
    assert combiner.name(mix[0, 0]) == "ets" and combiner.name(mix[1, 0]) == "theta"
    np.testing.assert_allclose(scores[0, 0, 4], 0.0)
    np.testing.assert_allclose(scores[1, 0, 5], 0.01)
    np.testing.assert_allclose(scores[:, 0, M], [0.0, 0.01])  # the chosen mix's error
    # the mix's forecasts are the member's own
    np.testing.assert_allclose(combiner.mixed(forecasts, mix[series]), np.where(
        (series == 0)[:, None, None], forecasts[4], forecasts[5]))


def test_the_guard_rule_keeps_the_guard_and_mean_averages():
    rng = np.random.default_rng(1)
    forecasts, actual, series = _problem(rng)
    guard_mix = combiner.from_guard(np.array([[0], [-1], [2]]), np.array([[0.5], [1.0], [0.0]]))
    mix, _ = combiner.choose(forecasts, actual, series, guard_mix, "guard")
    np.testing.assert_array_equal(mix, guard_mix)
    mix, _ = combiner.choose(forecasts, actual, series, guard_mix, "mean")
    np.testing.assert_allclose(mix[1, 0], [1 / 3, 0, 0, 0, 1 / 3, 1 / 3])
    np.testing.assert_allclose(mix.sum(axis=2), 1.0)


def test_series_with_too_few_windows_take_the_pooled_choice():
    rng = np.random.default_rng(2)
    forecasts, actual, series = _problem(rng, n_series=2, windows=10)
    forecasts[5] = actual                                      # theta exact everywhere
    keep = (series == 0) | (np.arange(len(series)) == np.flatnonzero(series == 1)[0])
    forecasts[4, keep & (series == 1)] = actual[keep & (series == 1)]  # ets exact on series 1's one window
    guard_mix = combiner.from_guard(np.full((2, 1), -1), np.ones((2, 1)))
    mix, _ = combiner.choose(forecasts[:, keep], actual[keep], series[keep], guard_mix, "select")
    assert guard.MIN_WINDOWS > 1
    assert combiner.name(mix[1, 0]) == "theta"   # one window: the pooled choice, not ets


def test_a_damaged_mix_is_refused():
    good = np.tile(combiner._even(("ets", "theta")), (2, 1, 1))
    combiner.check(good, 2, 1)
    for bad in (good[:1], good * 2, -good, np.full_like(good, np.nan)):
        with pytest.raises(ValueError):
            combiner.check(bad, 2, 1)


# ---------------------------------------------------------------- in the forecaster

def _seasonal_csv(path, n=160, series=("a", "b")):
    """Monthly series: a trend times a clean season (ETS's home ground), with noise."""
    t = np.arange(n)
    rows = []
    for i, key in enumerate(series):
        rng = np.random.default_rng(3 + i)  # the first rows of a longer file are the same
        y = (100 + 0.8 * t + 5 * i) * (1 + 0.2 * np.sin(2 * np.pi * t / 12)) + rng.normal(0, 1, n)
        rows.append(pd.DataFrame({"month": pd.date_range("2000-01-01", periods=n, freq="MS"), "id": key, "sales": y}))
    pd.concat(rows).to_csv(path, index=False)
    return path


FAST = dict(hidden=8, epochs=2, seed=1)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    path = _seasonal_csv(tmp_path_factory.mktemp("comb") / "sales.csv")
    data = load_csv(str(path))
    return data, LSTMForecaster(**FAST).fit(data)


def test_fit_scores_every_member_and_forecasts_with_the_chosen_mix(fitted):
    data, model = fitted
    meta = model.guard_meta_
    assert meta["rule"] == "select" and set(meta["members"]) == set(combiner.MEMBERS)
    assert model.members_ is not None and model.members_.n_series == 2
    mix = model.guard_["mix"]
    assert mix.shape == (2, 1, M) and np.allclose(mix.sum(axis=2), 1)
    # on a clean trend x season an undertrained network should lose to the statistical members
    assert combiner.uses(mix)
    forecast = model.predict(12)
    rows = model.series_rows(list(forecast.series))
    # the point forecast is the mix of the members' own forecasts, in the data's units
    stats = members.forecast(model.members_, rows, 12, model.pipeline_, list(forecast.series))
    for i, key in enumerate(forecast.series):
        w = mix[rows[i], 0]
        if w[0] == 0 and w[1:4].sum() == 0:      # statistical members only: no network term
            made = w[4] * stats["ets"][i, :, 0] + w[5] * stats["theta"][i, :, 0]
            unscaled = made * model.pipeline_.scale_[key][0] + model.pipeline_.center_[key][0]
            np.testing.assert_allclose(forecast[key].point[:, 0], unscaled, rtol=1e-6)
        assert forecast[key].method == (combiner.name(w),)


def test_members_forecast_from_newer_rows_continue_the_stored_states(fitted, tmp_path):
    data, model = fitted
    same = model.predict(6, data)
    np.testing.assert_allclose(same["a"].point, model.predict(6)["a"].point)
    # rows that end earlier: the members refit on them (and still forecast)
    short = load_csv(str(_seasonal_csv(tmp_path / "short.csv", n=120)))
    assert np.isfinite(model.predict(6, short)["a"].point).all()


def test_the_model_file_keeps_members_and_mix(fitted, tmp_path):
    _, model = fitted
    model.save(tmp_path / "m.safetensors")
    again = load_model(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(again.guard_["mix"], model.guard_["mix"])
    for key in ("a", "b"):
        np.testing.assert_allclose(again.predict(12)[key].point, model.predict(12)[key].point, rtol=1e-12)
    assert again.guard_meta_["members"] == model.guard_meta_["members"]


def test_members_arrays_round_trip_and_refuse_damage(fitted):
    _, model = fitted
    arrays = members.to_arrays(model.members_)
    back = members.from_arrays(arrays, 2, 1)
    for name, module in members.modules().items():
        for s in range(2):
            np.testing.assert_allclose(module.forecast(back.models[name][s][0], 7),
                                       module.forecast(model.members_.models[name][s][0], 7))
    broken = dict(arrays)
    broken["members.season"] = np.array([0])
    with pytest.raises(ValueError):
        members.from_arrays(broken, 2, 1)
    with pytest.raises(ValueError):
        members.from_arrays(arrays, 3, 1)


def test_export_refuses_a_model_that_mixes_statistical_members(fitted, tmp_path):
    pytest.importorskip("onnx")
    from lstmcast.model import export

    _, model = fitted
    with pytest.raises(UsageError, match=r"cannot carry the statistical members \((ets|theta)"):
        export.describe(model)


def test_update_moves_the_members_on_and_keeps_the_mix(fitted, tmp_path):
    data, model = fitted
    longer = load_csv(str(_seasonal_csv(tmp_path / "longer.csv", n=172)))
    m = load_model_copy(model, tmp_path)
    m.update(longer, epochs=1)
    np.testing.assert_array_equal(m.guard_["mix"], model.guard_["mix"])
    for name, module in members.modules().items():
        old = model.members_.models[name][0][0]
        z = longer.series["a"]["sales"].to_numpy()[160:]
        np.testing.assert_allclose(module.forecast(m.members_.models[name][0][0], 5),
                                   module.forecast(module.advance(old, z), 5), rtol=1e-9)
    assert m.members_.models["ets"][0][0].n == model.members_.models["ets"][0][0].n + 12


def load_model_copy(model, tmp_path):
    model.save(tmp_path / "copy.safetensors")
    return load_model(tmp_path / "copy.safetensors")


def test_held_forecasts_from_the_stored_state_match_a_run_from_the_start():
    rng = np.random.default_rng(4)
    t = np.arange(150)
    y = 50 + 0.3 * t + 4 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 0.5, 150)
    n0 = 120
    fitted = members.Members({name: [[module.fit(y[:n0], 12)]] for name, module in members.modules().items()}, 12)
    origins = np.array([0, 5, 3, 30])
    made = members.held_forecasts(fitted, [0], [y[n0:, None]], [origins], 6, [np.zeros(1)], [np.ones(1)])
    for name, module in members.modules().items():
        model = fitted.models[name][0][0]
        np.testing.assert_allclose(made[name][0][:, :, 0], module.forecasts_from(model, y, n0 + origins, 6),
                                   rtol=1e-9, atol=1e-9)


def test_many_series_fit_the_guard_without_members(tmp_path, monkeypatch):
    monkeypatch.setattr(members, "MAX_SERIES", 1)
    data = load_csv(str(_seasonal_csv(tmp_path / "two.csv")))
    model = LSTMForecaster(**FAST).fit(data)
    assert model.members_ is None and "mix" not in model.guard_
    assert "2 series, more than 1" in model.guard_meta_["statistical"]

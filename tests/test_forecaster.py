"""LSTMForecaster's modelling choices: per-window normalisation (last value, seasonal
profile, automatic choice), the zero-initialised head and validation shrinkage,
defaults derived from the data, conformal intervals, and model-file round trips.
Training is kept tiny (small networks, few epochs)."""

import numpy as np
import pandas as pd
import pytest

from lstmcast import forecaster as fc
from lstmcast.data import load_csv
from lstmcast.errors import UsageError
from lstmcast.forecaster import LSTMForecaster, choose_normalize, window_offsets
from lstmcast.windows import prepare

TINY = dict(hidden=8, epochs=4, seed=0)


def monthly_csv(path, n=120, seed=0, trend=0.0, season_amp=10.0, noise=1.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 100 + trend * t + season_amp * np.sin(2 * np.pi * t / 12) + rng.normal(0, noise, n)
    pd.DataFrame({"month": pd.date_range("2000-01-01", periods=n, freq="MS").strftime("%Y-%m"),
                  "value": y.round(4)}).to_csv(path, index=False)
    return load_csv(str(path))


def walk_csv(path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = 50 + np.cumsum(rng.normal(0, 1, n))
    pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                  "value": y.round(4)}).to_csv(path, index=False)
    return load_csv(str(path))


# ---------------------------------------------------------------- window_offsets


def windows_of(values, lookback):
    v = np.asarray(values, dtype=np.float64)
    return np.stack([v[i:i + lookback] for i in range(len(v) - lookback + 1)])[:, :, None]


def test_last_and_none_offsets():
    x = windows_of(np.arange(10.0), 4)
    shift, base = window_offsets(x, 1, 3, "last", 2)
    assert np.array_equal(shift[:, 0], x[:, -1, 0])
    assert base.shape == (7, 3, 1) and np.array_equal(base[:, 2, 0], x[:, -1, 0])
    shift, base = window_offsets(x, 1, 3, "none", 2)
    assert not shift.any() and not base.any() and base.shape == (7, 3, 1)


def test_season_offset_with_one_season_is_seasonal_naive():
    from lstmcast.baselines import seasonal_naive

    rng = np.random.default_rng(0)
    v = rng.normal(size=30)
    x = windows_of(v, 4)          # lookback 4 = one season of 4
    shift, base = window_offsets(x, 1, 6, "season", 4)
    for i in range(len(x)):
        assert np.allclose(base[i, :, 0], seasonal_naive(x[i, :, 0], 6, 4))
        assert shift[i, 0] == x[i, -1, 0]


def test_season_offset_averages_whole_seasons_at_the_last_level():
    # two seasons of 3: the profile is the mean per position, moved to the last level
    x = np.array([[1.0, 5.0, 3.0, 11.0, 15.0, 13.0]])[:, :, None]
    _, base = window_offsets(x, 1, 4, "season", 3)
    profile = np.array([6.0, 10.0, 8.0])               # (1+11)/2, (5+15)/2, (3+13)/2
    level = np.mean([11, 15, 13]) - np.mean([1, 5, 3, 11, 15, 13])  # +5
    assert np.allclose(base[0, :, 0], [profile[0] + level, profile[1] + level,
                                       profile[2] + level, profile[0] + level])
    # a pure seasonal pattern with a level step is forecast exactly
    pattern = np.tile([0.0, 2.0, -1.0, 4.0], 3)
    x = (pattern + np.r_[np.zeros(8), np.full(4, 7.0)])[None, :, None]
    _, base = window_offsets(x, 1, 4, "season", 4)
    assert base[0, :, 0] == pytest.approx(pattern[:4] + 7.0)


def test_season_offset_uses_at_most_seasons_averaged(monkeypatch):
    x = np.array([[1.0, 5.0, 3.0, 11.0, 15.0, 13.0]])[:, :, None]
    monkeypatch.setattr(fc, "SEASONS_AVERAGED", 1)
    _, base = window_offsets(x, 1, 3, "season", 3)
    assert np.allclose(base[0, :, 0], [11.0, 15.0, 13.0])


def test_season_offset_needs_a_whole_season():
    with pytest.raises(UsageError, match="at least one season"):
        window_offsets(np.zeros((2, 5, 1)), 1, 3, "season", 6)
    with pytest.raises(UsageError, match="--normalize"):
        window_offsets(np.zeros((2, 5, 1)), 1, 3, "mean", 2)


def test_offsets_only_touch_target_columns():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 8, 3))  # 2 targets, 1 feature
    shift, base = window_offsets(x, 2, 3, "season", 4)
    assert shift.shape == (5, 2) and base.shape == (5, 3, 2)


# ---------------------------------------------------------------- automatic choice


def test_auto_picks_season_for_seasonal_and_last_for_a_random_walk(tmp_path):
    seasonal = monthly_csv(tmp_path / "s.csv", noise=0.5)
    _, w, tr, _ = prepare(seasonal, 24, 12)
    assert choose_normalize(w, tr, 1, 12, 12) == "season"
    walk = walk_csv(tmp_path / "w.csv")
    _, w, tr, _ = prepare(walk, 28, 7)
    assert choose_normalize(w, tr, 1, 7, 7) == "last"
    # no season, or a season longer than the lookback: always last
    assert choose_normalize(w, tr, 1, 7, 1) == "last"
    assert choose_normalize(w, tr, 1, 7, 29) == "last"


def test_fit_resolves_auto_and_records_the_choice(tmp_path):
    ds = monthly_csv(tmp_path / "s.csv", noise=0.5)
    m = LSTMForecaster(**TINY).fit(ds)
    assert m.options_["normalize"] == "season" and m.options_["season"] == 12
    assert LSTMForecaster(normalize="last", **TINY).fit(ds).options_["normalize"] == "last"


def test_resolved_checks_normalize_and_season(tmp_path):
    ds = monthly_csv(tmp_path / "s.csv")
    assert LSTMForecaster().resolved(ds)["season"] == 12
    assert LSTMForecaster(season=6).resolved(ds)["season"] == 6
    with pytest.raises(UsageError, match="--normalize must be auto, last, season or none"):
        LSTMForecaster(normalize="mean").resolved(ds)
    with pytest.raises(UsageError, match="--season"):
        LSTMForecaster(season=0).resolved(ds)


# ---------------------------------------------------------------- head and shrinkage


def test_untrained_model_forecasts_its_base(tmp_path, monkeypatch):
    """Zero head: with a learning rate too small to move it, the forecast is the
    seasonal profile (season) or the last value (last)."""
    ds = monthly_csv(tmp_path / "s.csv", noise=0.5)
    frame = ds.series[""]
    for normalize in ("season", "last"):
        m = LSTMForecaster(normalize=normalize, hidden=8, epochs=1, lr=1e-12, lookback=24,
                           horizon=12).fit(ds)
        out, _ = m.predict(12)
        hist = frame["value"].to_numpy()[-24:]
        _, base = window_offsets(hist[None, :, None], 1, 12, normalize, 12)
        assert out["value"].to_numpy() == pytest.approx(base[0, :, 0], rel=1e-5)


def test_shrink_factor_is_between_0_and_1_and_scales_the_head(tmp_path, monkeypatch):
    ds = walk_csv(tmp_path / "w.csv")
    m = LSTMForecaster(**TINY).fit(ds)
    assert 0.0 <= m.shrink_ <= 1.0 and m.training_["shrink"] == m.shrink_
    monkeypatch.setattr(fc, "SHRINK", False)
    unshrunk = LSTMForecaster(**TINY).fit(ds)
    assert unshrunk.shrink_ == 1.0
    w = unshrunk.net_.params["head.weight"] * m.shrink_
    assert np.allclose(m.net_.params["head.weight"], w, atol=1e-7)


# ---------------------------------------------------------------- forecasts and files


def test_round_trip_and_recursive_forecast_with_season(tmp_path):
    ds = monthly_csv(tmp_path / "s.csv", trend=0.3)
    m = LSTMForecaster(normalize="season", **TINY).fit(ds)
    arrays, meta = m.to_arrays()
    again = LSTMForecaster.from_arrays(arrays, meta)
    a, _ = m.predict(30, levels=[80])
    b, notes = again.predict(30, levels=[80])
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 30 and np.isfinite(a["value"]).all()
    assert any("recursively" in n for n in notes)
    assert (a["value_lower_80"] <= a["value"]).all() and (a["value"] <= a["value_upper_80"]).all()


def test_model_written_before_season_option_still_loads(tmp_path):
    ds = monthly_csv(tmp_path / "s.csv")
    m = LSTMForecaster(normalize="last", **TINY).fit(ds)
    arrays, meta = m.to_arrays()
    del meta["forecaster"]["options"]["season"]
    again = LSTMForecaster.from_arrays(arrays, meta)
    assert again.options_["season"] == 12
    pd.testing.assert_frame_equal(m.predict(6)[0], again.predict(6)[0])


# ---------------------------------------------------------------- intervals


def test_window_change():
    x = np.array([[0.0, 1.0, 3.0, 2.0], [5.0, 5.0, 5.0, 5.0]])[:, :, None]
    assert np.allclose(fc.window_change(x, 1)[:, 0], [4.0 / 3.0, 0.0])


def volatile_csv(path, n=400, seed=0):
    """A random walk whose steps are 5x larger in the second half."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 1, n) * np.where(np.arange(n) < n // 2, 1.0, 5.0)
    pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                  "value": (100 + np.cumsum(steps)).round(4)}).to_csv(path, index=False)
    return load_csv(str(path))


def test_scaled_bands_follow_the_volatility_of_the_forecast_window(tmp_path, monkeypatch):
    ds = volatile_csv(tmp_path / "v.csv")
    m = LSTMForecaster(lookback=14, horizon=5, **TINY).fit(ds)
    assert m.calibration_["scale"] == "change" and m.calibration_["floor"][0] > 0
    calm = m.predict(5, dataset=_head(ds, 180), levels=[80])[0]
    wild = m.predict(5, dataset=ds, levels=[80])[0]
    width = lambda f: (f["value_upper_80"] - f["value_lower_80"]).to_numpy()  # noqa: E731
    assert (width(wild) > 2 * width(calm)).all()
    # plain conformal: the same width wherever the forecast starts
    monkeypatch.setattr(fc, "INTERVAL_SCALE", "none")
    plain = LSTMForecaster(lookback=14, horizon=5, **TINY).fit(ds)
    assert plain.calibration_ == {"scale": "none"}
    calm = plain.predict(5, dataset=_head(ds, 180), levels=[80])[0]
    wild = plain.predict(5, dataset=ds, levels=[80])[0]
    assert np.allclose(width(wild), width(calm), rtol=1e-4)


def _head(ds, rows):
    from dataclasses import replace

    return replace(ds, series={k: f.iloc[:rows] for k, f in ds.series.items()})


def test_calibration_round_trips_and_old_models_use_plain_bands(tmp_path):
    ds = volatile_csv(tmp_path / "v.csv")
    m = LSTMForecaster(lookback=14, horizon=5, **TINY).fit(ds)
    arrays, meta = m.to_arrays()
    again = LSTMForecaster.from_arrays(arrays, meta)
    pd.testing.assert_frame_equal(m.predict(5, levels=[80, 95])[0], again.predict(5, levels=[80, 95])[0])
    del meta["forecaster"]["calibration"]      # a model file from before scaled bands
    old = LSTMForecaster.from_arrays(arrays, meta)
    assert old.calibration_ == {"scale": "none"}
    assert np.isfinite(old.predict(5, levels=[80])[0]["value_upper_80"]).all()
    meta["forecaster"]["calibration"] = {"scale": "change", "floor": []}
    from lstmcast.errors import ModelFileError

    with pytest.raises(ModelFileError):
        LSTMForecaster.from_arrays(arrays, meta)


def test_auto_keeps_last_when_there_are_many_windows(tmp_path, monkeypatch):
    seasonal = monthly_csv(tmp_path / "s.csv", noise=0.5)
    _, w, tr, _ = prepare(seasonal, 24, 12)
    assert choose_normalize(w, tr, 1, 12, 12) == "season"
    monkeypatch.setattr(fc, "SEASON_MAX_WINDOWS", len(tr))
    assert choose_normalize(w, tr, 1, 12, 12) == "last"


def test_hidden_size_grows_with_the_number_of_windows(tmp_path):
    assert fc.default_hidden(10) == 16 and fc.default_hidden(999) == 16
    assert fc.default_hidden(1000) == 32 and fc.default_hidden(5000) == 64
    small = monthly_csv(tmp_path / "s.csv", n=120)
    assert LSTMForecaster().resolved(small)["hidden"] == 16
    assert LSTMForecaster(hidden=40).resolved(small)["hidden"] == 40
    big = walk_csv(tmp_path / "w.csv", n=2000)
    p = LSTMForecaster().resolved(big)
    assert p["hidden"] == 32 and LSTMForecaster._train_windows(big, p) >= 1000
    with pytest.raises(UsageError, match="--hidden"):
        LSTMForecaster(hidden=0).resolved(small)


def test_validation_passes_in_slices_match_one_pass(tmp_path, monkeypatch):
    """The shrink factor and residuals are computed slice by slice (bounded memory);
    slices of 7 windows must give what one slice of everything gives."""
    ds = walk_csv(tmp_path / "w.csv", n=300)
    whole = LSTMForecaster(**TINY).fit(ds)
    monkeypatch.setattr(fc, "PREDICT_BATCH", 7)
    sliced = LSTMForecaster(**TINY).fit(ds)
    assert whole.windows_["validation"] > 7 * 3
    assert sliced.shrink_ == pytest.approx(whole.shrink_, rel=1e-9)
    np.testing.assert_allclose(sliced.residuals_, whole.residuals_, rtol=1e-6, atol=1e-6)
    assert sliced.calibration_["floor"] == pytest.approx(whole.calibration_["floor"], rel=1e-9)

"""LSTMForecaster's modelling choices: per-window normalisation (last value, seasonal
profile, automatic choice), the zero-initialised head and validation shrinkage,
defaults derived from the data, conformal intervals, and model-file round trips.
Training is kept tiny (small networks, few epochs)."""

import numpy as np
import pandas as pd
import pytest

from dataclasses import replace

from conftest import assert_close, monthly_csv, walk_csv
from lstmcast.data.dataset import load_csv
from lstmcast.errors import UsageError
from lstmcast.model import defaults, training
from lstmcast.model.forecaster import LSTMForecaster, load_model
from lstmcast.prep.normalize import window_offsets

TINY = dict(hidden=8, epochs=4, seed=0)


def reload(m, tmp_path, name="m.safetensors"):
    """The model as a model file gives it back."""
    m.save(tmp_path / name)
    return load_model(tmp_path / name)


def frame(forecast):
    return forecast.to_frame()


# ---------------------------------------------------------------- normalisation


def test_fit_resolves_auto_and_records_the_choice(tmp_path):
    ds = monthly_csv(tmp_path / "s.csv", noise=0.5)
    m = LSTMForecaster(**TINY).fit(ds)
    assert m.model_config_.normalize == "season" and m.model_config_.season == 12
    assert LSTMForecaster(normalize="last", **TINY).fit(ds).model_config_.normalize == "last"


def test_resolved_checks_normalize_and_season(tmp_path):
    ds = monthly_csv(tmp_path / "s.csv")
    assert LSTMForecaster().resolved(ds)[0].season == 12
    assert LSTMForecaster(season=6).resolved(ds)[0].season == 6
    with pytest.raises(UsageError, match="--normalize must be auto, last, season, es or none"):
        LSTMForecaster(normalize="mean")
    with pytest.raises(UsageError, match="--season"):
        LSTMForecaster(season=0)


# ---------------------------------------------------------------- head and shrinkage


def test_untrained_model_forecasts_its_base(tmp_path, monkeypatch):
    """Zero head: with a learning rate too small to move it, the forecast is the
    seasonal profile (season) or the last value (last)."""
    ds = monthly_csv(tmp_path / "s.csv", noise=0.5)
    frame = ds.series[""]
    for normalize in ("season", "last"):
        m = LSTMForecaster(normalize=normalize, hidden=8, epochs=1, lr=1e-12, lookback=24,
                           horizon=12, guard=False).fit(ds)
        out = m.predict(12)[""].point[:, 0]
        hist = frame["value"].to_numpy()[-24:]
        _, base = window_offsets(hist[None, :, None], 1, 12, normalize, 12, m.model_config_.seasons)
        assert_close(out, base[0, :, 0])


def test_shrink_factor_scales_the_head(tmp_path):
    ds = monthly_csv(tmp_path / "m.csv", n=300, noise=3.0, trend=0.1)
    m = LSTMForecaster(**TINY).fit(ds)
    assert m.training_["shrink"] == m.shrink_ < 1.0
    unshrunk = LSTMForecaster(**TINY, _shrink=False).fit(ds)
    assert unshrunk.shrink_ == 1.0
    w = unshrunk.net_.params["head.weight"] * m.shrink_
    assert np.allclose(m.net_.params["head.weight"], w, atol=1e-7)


# ---------------------------------------------------------------- forecasts and files


def test_round_trip_and_recursive_forecast_with_season(tmp_path):
    ds = monthly_csv(tmp_path / "s.csv", trend=0.3)
    m = LSTMForecaster(normalize="season", **TINY).fit(ds)
    again = reload(m, tmp_path)
    a = frame(m.predict(30, levels=[80]))
    result = again.predict(30, levels=[80])
    b, notes = frame(result), result.notes
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 30 and np.isfinite(a["value"]).all()
    assert any("recursively" in n for n in notes)
    assert (a["value_lower_80"] <= a["value"]).all() and (a["value"] <= a["value_upper_80"]).all()


def test_stored_seasons_change_the_forecast(tmp_path):
    ds = monthly_csv(tmp_path / "s.csv", noise=3.0)
    m = LSTMForecaster(normalize="season", seasons=1, _combine="guard", **TINY).fit(ds)  # the network's input
    assert m.model_config_.seasons == 1
    both = reload(m, tmp_path)
    both.model_config_ = replace(both.model_config_, seasons=2)  # lookback 24 = 2 seasons
    assert not frame(m.predict(6)).equals(frame(both.predict(6)))
    pd.testing.assert_frame_equal(frame(m.predict(6)), frame(reload(m, tmp_path, "again").predict(6)))


# ---------------------------------------------------------------- intervals


def volatile_csv(path, n=400, seed=0):
    """A random walk whose steps are 5x larger in the second half."""
    rng = np.random.default_rng(seed)
    steps = rng.normal(0, 1, n) * np.where(np.arange(n) < n // 2, 1.0, 5.0)
    pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                  "value": (100 + np.cumsum(steps)).round(4)}).to_csv(path, index=False)
    return load_csv(str(path))


def test_scaled_bands_follow_the_volatility_of_the_forecast_window(tmp_path):
    ds = volatile_csv(tmp_path / "v.csv")
    m = LSTMForecaster(lookback=14, horizon=5, **TINY).fit(ds)
    assert m.calibration_["scale"] == "change" and m.calibration_["floor"][0] > 0
    calm = m.predict(5, dataset=_head(ds, 180), levels=[80])[""]
    wild = m.predict(5, dataset=ds, levels=[80])[""]
    width = lambda f: (f.upper[80][:, 0] - f.lower[80][:, 0])  # noqa: E731
    assert (width(wild) > 2 * width(calm)).all()
    # plain conformal (without widths by day of the week): the same width wherever the forecast starts
    plain = LSTMForecaster(lookback=14, horizon=5, **TINY, _interval_scale="none", _bands="pooled").fit(ds)
    assert {k: plain.calibration_[k] for k in ("scale", "monotone")} == {"scale": "none", "monotone": True}
    calm = plain.predict(5, dataset=_head(ds, 180), levels=[80])[""]
    wild = plain.predict(5, dataset=ds, levels=[80])[""]
    assert np.allclose(width(wild), width(calm), rtol=1e-4)


def _head(ds, rows):
    from dataclasses import replace

    return replace(ds, series={k: f.iloc[:rows] for k, f in ds.series.items()})


def test_calibration_round_trips(tmp_path):
    ds = volatile_csv(tmp_path / "v.csv")
    m = LSTMForecaster(lookback=14, horizon=5, **TINY).fit(ds)
    again = reload(m, tmp_path)
    pd.testing.assert_frame_equal(frame(m.predict(5, levels=[80, 95])), frame(again.predict(5, levels=[80, 95])))
    assert again.calibration_ == m.calibration_


def test_hidden_size_grows_with_the_number_of_windows(tmp_path):
    assert defaults.default_hidden(10) == 16 and defaults.default_hidden(1999) == 16
    assert defaults.default_hidden(2000) == 32 and defaults.default_hidden(10**6) == 32
    small = monthly_csv(tmp_path / "s.csv", n=120)
    assert LSTMForecaster().resolved(small)[0].hidden == 16
    assert LSTMForecaster(hidden=40).resolved(small)[0].hidden == 40
    big = walk_csv(tmp_path / "w.csv", n=3000)
    m, t = LSTMForecaster().resolved(big)
    windows = defaults.count_windows(big, m, m.lookback, m.horizon) * (1 - t.val_fraction)
    assert m.hidden == 32 and windows >= 2000
    with pytest.raises(UsageError, match="--hidden"):
        LSTMForecaster(hidden=0)


def test_validation_share_counts_the_windows_the_options_give(tmp_path):
    """30% below 1,000 windows, else 20%, counted at the lookback, horizon and stride
    the fit will use (a stride of 20 leaves 3,000 daily rows with ~150 windows)."""
    assert defaults.default_val_fraction(999) == 0.3 and defaults.default_val_fraction(1000) == 0.2
    assert LSTMForecaster().resolved(monthly_csv(tmp_path / "s.csv", n=120))[1].val_fraction == 0.3
    big = walk_csv(tmp_path / "w.csv", n=3000)
    assert LSTMForecaster().resolved(big)[1].val_fraction == 0.2
    assert LSTMForecaster(stride=20).resolved(big)[1].val_fraction == 0.3
    assert LSTMForecaster(lookback=2100).resolved(big)[1].val_fraction == 0.3
    assert LSTMForecaster(stride=20, val_fraction=0.1).resolved(big)[1].val_fraction == 0.1
    for bad in (None, 0, 2.5):  # a stride is needed to count windows at all
        with pytest.raises(UsageError, match="stride"):
            LSTMForecaster(stride=bad)


def test_validation_passes_in_slices_match_one_pass(tmp_path, monkeypatch):
    """The shrink factor and residuals are computed slice by slice (bounded memory);
    slices of 7 windows must give what one slice of everything gives."""
    ds = monthly_csv(tmp_path / "m.csv", n=300, noise=3.0, trend=0.1)
    whole = LSTMForecaster(**TINY, _interval_scale="change").fit(ds)
    monkeypatch.setattr(training, "PREDICT_BATCH", 7)
    sliced = LSTMForecaster(**TINY, _interval_scale="change").fit(ds)
    assert whole.windows_["validation"] > 7 * 3
    assert 0 < whole.shrink_ < 1  # not clipped: the factor itself depends on every slice
    # float32 predictions in batches of another size: another BLAS blocking
    assert_close(sliced.shrink_, whole.shrink_)
    assert_close(sliced.residuals_, whole.residuals_)
    assert_close(sliced.calibration_["floor"], whole.calibration_["floor"])


def test_an_interrupted_fit_stops_at_once_and_is_not_a_model(tmp_path, monkeypatch):
    """A stop skips the work that follows training (predicting every validation window
    took 70 s on 8 M rows after the signal); what is left cannot forecast or be saved."""
    ds = monthly_csv(tmp_path / "s.csv", noise=0.5)
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 2

    m = LSTMForecaster(**TINY).fit(ds, should_stop=stop)
    assert m.training_["stopped"] == "interrupted" and m.trainer_.state()[1]["epoch"] == 0
    assert not hasattr(m, "residuals_") and not hasattr(m, "history_")
    for use in (m.predict, lambda: m.save(tmp_path / "m.safetensors")):
        with pytest.raises(UsageError, match="its fit was interrupted"):
            use()
    assert not (tmp_path / "m.safetensors").exists()


def test_big_data_samples_epochs_and_validation(tmp_path, monkeypatch):
    """Past EPOCH_WINDOWS training and VAL_WINDOWS validation windows, a fit samples: the
    schedule counts the sampled windows, and calibration uses the fixed validation sample."""
    monkeypatch.setattr(defaults, "EPOCH_WINDOWS", 64)
    monkeypatch.setattr(defaults, "VAL_WINDOWS", 20)
    ds = monthly_csv(tmp_path / "s.csv", n=300)
    m = LSTMForecaster(**TINY).fit(ds)
    w = m.windows_
    assert w["per_epoch"] == 64 < w["train"] and w["validation_used"] == 20 < w["validation"]
    assert len(m.residuals_) == 20 and m.train_config_.epoch_windows == 64
    from lstmcast.config import TrainConfig

    assert defaults.resolve_schedule(TrainConfig(), 10_000).epochs == 300  # 1 step an epoch: 3,000 steps, capped
    monkeypatch.setattr(defaults, "EPOCH_WINDOWS", 1_000_000)
    assert defaults.resolve_schedule(TrainConfig(), 10_000).epochs == 20  # 157 steps an epoch


def test_the_residual_scaling_that_covers_better_is_chosen():
    """The choice is made across time (calibrate on one half, cover the other): when the
    residuals grow with the windows' change from one half to the next, scaling by the
    change keeps covering; when the change moves and the residuals do not, plain
    residuals do."""
    from lstmcast.model.conformal import better_scale as _better_scale

    rng = np.random.default_rng(0)
    change = np.r_[np.full(200, 1.0), np.full(200, 4.0)][:, None] * np.exp(rng.normal(0, 0.2, size=(400, 1)))
    noise = rng.normal(size=(400, 6, 1))
    assert _better_scale(noise * change[:, None, :], change) == "change"
    assert _better_scale(noise, change) == "none"


def test_forecast_only_is_the_single_series_and_names_ids_otherwise():
    from lstmcast.model.forecast import Forecast, SeriesForecast
    from lstmcast.errors import UsageError

    one = SeriesForecast(pd.date_range("2024-01-01", periods=2), np.zeros((2, 1)))
    assert Forecast(["y"], [], {"": one}).only is one
    with pytest.raises(UsageError, match=r"2 series \('x', 'z'\): pick one by its id, e\.g\. forecast\['x'\]"):
        Forecast(["y"], [], {"x": one, "z": one}, id_col="id").only

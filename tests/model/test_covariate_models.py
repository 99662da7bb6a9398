"""Covariates through the forecaster: future-known columns (from the rows after the last
target value, or given apart), text columns, static columns, holidays, and missing targets
masked out of the loss. Each test states the behaviour a user relies on."""

import numpy as np
import pandas as pd
import pytest

from lstmcast.data.dataset import load_csv
from lstmcast.errors import DataError, UsageError
from lstmcast.model.backtest import backtest
from lstmcast.model.forecaster import LSTMForecaster, load_model
from lstmcast.prep.windows import prepare

FAST = dict(epochs=60, hidden=16, lookback=28, horizon=14, seed=0)


def promo_frame(n=560, future=14, lift=0.4, seed=0, promo_text=("No", "Yes")):
    """Daily sales, weekly season, promotion days (15 %) lifting sales by ``lift``; the
    last ``future`` rows have no sales (the forecast steps) and promos on fixed days."""
    rng = np.random.default_rng(seed)
    t = np.arange(n + future)
    promo = rng.random(n + future) < 0.15
    promo[n:] = False
    if future:
        promo[n + np.array([2, 5, 10])] = True  # and not 7 days from each other
    base = 100 + 10 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 2, n + future)
    sales = base * np.where(promo, 1 + lift, 1.0)
    frame = pd.DataFrame({"date": pd.date_range("2022-01-01", periods=n + future, freq="D").strftime("%Y-%m-%d"),
                          "sales": sales.round(2), "promo": np.where(promo, promo_text[1], promo_text[0])})
    frame.loc[n:, "sales"] = np.nan
    return frame


def as_csv(frame: pd.DataFrame, path):
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def promo(tmp_path_factory):
    path = as_csv(promo_frame(), tmp_path_factory.mktemp("promo") / "promo.csv")
    ds = load_csv(path, future=("promo",))
    return path, ds, LSTMForecaster(**FAST).fit(ds)


def test_future_rows_are_kept_apart_and_text_is_encoded(promo):
    path, ds, _ = promo
    frame = pd.read_csv(path)
    assert len(ds.series[""]) == frame["sales"].notna().sum()  # history ends at the last sales value
    ahead = ds.ahead[""]
    assert len(ahead) == 14 and ahead["sales"].isna().all()
    np.testing.assert_array_equal(ahead["promo"].to_numpy(), (frame["promo"].iloc[-14:] == "Yes").to_numpy())
    assert ds.future == ["promo"] and ds.encodings["promo"]["values"] == ["No", "Yes"]


def test_the_covariate_model_recovers_a_promotion_lift(promo):
    _, ds, model = promo
    point = model.predict(None, None, future=ds.ahead).series[""].point[:, 0]
    on = ds.ahead[""]["promo"].to_numpy() == 1
    # the same weekdays without promotion, in the other weeks of the horizon
    ratio = lift_of(point, on)
    assert 1.25 < ratio < 1.55, ratio
    plain = LSTMForecaster(**FAST).fit(load_csv_plain(ds)).predict(None).series[""].point[:, 0]
    plain_ratio = lift_of(plain, on)
    assert abs(plain_ratio - 1) < 0.1, plain_ratio  # without the column the lift is invisible


def lift_of(point, on):
    """Forecast on promotion days over the forecast of the same weekdays a week away."""
    same_weekday = [i + 7 if i + 7 < len(point) else i - 7 for i in np.flatnonzero(on)]
    assert not on[same_weekday].any()
    return point[on].mean() / point[same_weekday].mean()


def load_csv_plain(ds):
    """The same history without the covariate (the plain model's data)."""
    from dataclasses import replace

    series = {k: f[ds.targets] for k, f in ds.series.items()}
    return replace(ds, series=series, features=[], future=[], encodings={}, ahead={})


def test_each_step_reads_only_its_own_covariates(promo):
    _, ds, model = promo
    base = model.predict(None, None, future=ds.ahead).series[""].point[:, 0]
    changed = {"": ds.ahead[""].copy()}
    changed[""].iloc[6, changed[""].columns.get_loc("promo")] = 1.0
    moved = model.predict(None, None, future=changed).series[""].point[:, 0]
    diff = np.flatnonzero(np.abs(moved - base) > 1e-9)
    assert list(diff) == [6]
    # a shorter forecast needs only its own steps' covariates
    short = {"": ds.ahead[""].iloc[:5]}
    np.testing.assert_allclose(model.predict(5, None, future=short).series[""].point[:, 0], base[:5])


def test_missing_future_values_are_refused_naming_column_and_time(promo):
    _, ds, model = promo
    gap = {"": ds.ahead[""].copy()}
    gap[""].iloc[3, gap[""].columns.get_loc("promo")] = np.nan
    with pytest.raises(DataError, match=r"column 'promo' has no value for 2023-07-18 \(forecast step 4 of 14\)"):
        model.predict(None, None, future=gap)
    with pytest.raises(DataError, match=r"no value for 2023-07-22 \(forecast step 8 of 14\)"):
        model.predict(None, None, future={"": ds.ahead[""].iloc[:7]})
    with pytest.raises(DataError, match="--future-data"):
        model.predict()
    # recursive steps past the trained horizon need their covariates too
    with pytest.raises(DataError, match="forecast step 15 of 20"):
        model.predict(20, None, future=ds.ahead)


def test_timestamps_off_the_calendar_are_refused(tmp_path, promo):
    _, ds, model = promo
    odd = {"": ds.ahead[""].set_axis(ds.ahead[""].index + pd.Timedelta(hours=12))}
    with pytest.raises(DataError, match="column 'promo' has no value for 2023-07-15"):
        model.predict(None, None, future=odd)


def test_unseen_text_value_is_documented_and_noted(tmp_path):
    frame = promo_frame(n=300, promo_text=("No", "Yes"))
    frame.loc[frame.index[-3], "promo"] = "Maybe"
    ds = load_csv(as_csv(frame, tmp_path / "p.csv"), future=("promo",), encodings={
        "promo": {"column": "promo", "kind": "binary", "values": ["No", "Yes"]}})
    assert ds.ahead[""]["promo"].iloc[-3] == 0.5
    assert any("'Maybe'" in n or '"Maybe"' in n for n in ds.notes)


def test_categories_become_one_hot_inputs(tmp_path):
    frame = promo_frame(n=300)
    frame["weather"] = np.resize(["Clear", "Mist", "Rain"], len(frame))
    ds = load_csv(as_csv(frame, tmp_path / "w.csv"), targets=("sales",), future=("weather",))
    assert ds.future == ["weather=Clear", "weather=Mist", "weather=Rain"]
    hist = ds.series[""]
    np.testing.assert_array_equal(hist[ds.future].sum(axis=1), 1.0)
    model = LSTMForecaster(**{**FAST, "epochs": 2}).fit(ds)
    gap = {"": ds.ahead[""].copy()}
    gap[""].iloc[2, gap[""].columns.get_loc("weather=Mist")] = np.nan  # an empty cell of the file
    with pytest.raises(DataError, match="column 'weather' has no value for"):  # the file's column
        model.predict(None, None, future=gap)
    with pytest.raises(DataError, match="future values of 'weather':"):
        model.predict()


def test_model_file_keeps_the_covariates(tmp_path, promo):
    _, ds, model = promo
    model.save(tmp_path / "m.safetensors")
    again = load_model(tmp_path / "m.safetensors")
    assert again.future_ == ["promo"] and again.covariates_["encodings"] == model.covariates_["encodings"]
    a = model.predict(None, None, future=ds.ahead).series[""].point
    b = again.predict(None, None, future=ds.ahead).series[""].point
    np.testing.assert_array_equal(a, b)


def test_backtest_origins_see_their_test_rows_covariates(promo):
    _, ds, _ = promo
    result = backtest(ds, folds=2, forecaster=LSTMForecaster(**{**FAST, "epochs": 5}))
    fold = [r for r in result.folds if r.fold == 1][0]
    assert len(fold.actual) == 14 and np.isfinite(fold.forecasts["lstm"]).all()


def test_static_columns_are_scaled_across_series(tmp_path):
    rows = []
    for i, (kind, level) in enumerate((("big", 200.0), ("small", 50.0), ("big", 210.0))):
        t = np.arange(200)
        v = level + 5 * np.sin(2 * np.pi * t / 7) + np.random.default_rng(i).normal(0, 1, 200)
        rows.append(pd.DataFrame({"date": pd.date_range("2022-01-01", periods=200).strftime("%Y-%m-%d"),
                                  "store": f"s{i}", "type": kind, "size": level, "sales": v.round(2)}))
    path = as_csv(pd.concat(rows), tmp_path / "stores.csv")
    ds = load_csv(path, id_col="store", targets=("sales",), static=("type", "size"))
    assert ds.static == ["type", "size"]
    pipe = prepare(ds, 28, 7, val_fraction=0.2)[0]
    scaled = {k: pipe.to_array(k, f)[0, 1:3] for k, f in ds.series.items()}
    assert scaled["s0"][0] == scaled["s2"][0] != scaled["s1"][0]  # the same type, the same input
    assert len({round(float(v[1]), 6) for v in scaled.values()}) == 3  # sizes differ
    bad = pd.concat(rows)
    bad.loc[bad.index[5], "size"] = 999  # first frame, sixth row
    with pytest.raises(DataError, match="series 's0'.*'size' changes within the series"):
        load_csv(as_csv(bad, tmp_path / "bad.csv"), id_col="store", targets=("sales",), static=("size",))
    with pytest.raises(UsageError, match="--static needs"):
        load_csv(as_csv(rows[0].drop(columns="store"), tmp_path / "one.csv"), targets=("sales",), static=("size",))


def test_holidays_are_known_ahead_without_any_file_values(tmp_path):
    pytest.importorskip("holidays")
    frame = promo_frame(n=400, future=0).drop(columns="promo")
    ds = load_csv(as_csv(frame, tmp_path / "h.csv"), holidays="US")
    assert ds.future == ds.holiday_names == ["holiday", "holiday_distance"]
    hist = ds.series[""]
    assert hist.loc["2022-07-04", "holiday"] == 1 and hist.loc["2022-07-05", "holiday"] == 0
    assert hist.loc["2022-07-04", "holiday_distance"] == 0 and hist.loc["2022-07-06", "holiday_distance"] == 2 / 7
    model = LSTMForecaster(**{**FAST, "epochs": 3}).fit(ds)
    fc = model.predict(None)  # the holiday column of the forecast steps is computed
    assert np.isfinite(fc.series[""].point).all()


def gap_frame(n=300, gap=(120, 138), seed=1):
    rng = np.random.default_rng(seed)
    y = 50 + 10 * np.sin(2 * np.pi * np.arange(n) / 52) + np.cumsum(rng.normal(0, 1, n))
    y[gap[0]:gap[1]] = np.nan
    return pd.DataFrame({"week": pd.date_range("2019-01-06", periods=n, freq="W-SUN").strftime("%Y-%m-%d"),
                         "units": y.round(2)})


def test_masked_targets_stay_missing_and_no_origin_rests_on_them(tmp_path):
    path = as_csv(gap_frame(), tmp_path / "gap.csv")
    with pytest.raises(DataError, match="18 values missing in a row"):
        load_csv(path)
    ds = load_csv(path, missing="mask")
    assert ds.masked == 18 and any("18 missing target values left out of the loss" in n for n in ds.notes)
    assert ds.features == ["units_observed"]
    hist = ds.series[""]
    assert hist["units"].isna().sum() == 18 and (hist["units_observed"] == hist["units"].notna()).all()
    _, windows, train_idx, val_idx = prepare(ds, 26, 8, val_fraction=0.2)
    observed = ~np.isnan(windows.targets[:, 0])
    origins = windows.offsets[windows.series] + windows.starts + 25
    assert observed[origins].all()  # every window's last input row is observed
    x, y = windows.take(np.arange(len(windows)))
    assert np.isfinite(x).all() and np.isnan(y).any()  # inputs filled, targets left missing
    model = LSTMForecaster(lookback=26, horizon=8, epochs=20, hidden=8).fit(ds)
    assert model.covariates_["masked"] == 18
    assert np.isfinite(model.predict(levels=[80]).series[""].point).all()


def test_a_backtest_origin_in_a_gap_moves_back_to_the_last_observed_value(tmp_path):
    # fold 0's origin (row 288) falls in the gap (rows 285-289): its history ends at row
    # 284, its forecast still covers the fold's own test rows (289-296), and the missing
    # test row (289) is not scored
    frame = gap_frame(n=300, gap=(285, 290))
    ds = load_csv(as_csv(frame, tmp_path / "g.csv"), missing="mask")
    seen = []
    original_fit = LSTMForecaster.fit

    def spy(self, dataset, **kw):
        seen.append(dataset.series[""]["units"])
        return original_fit(self, dataset, **kw)

    LSTMForecaster.fit = spy
    try:
        result = backtest(ds, folds=2, step=3, forecaster=LSTMForecaster(lookback=26, horizon=8, epochs=3, hidden=8))
    finally:
        LSTMForecaster.fit = original_fit
    assert seen[0].index[-1] == pd.Timestamp(frame["week"].iloc[284]) and np.isfinite(seen[0].iloc[-1])
    fold = [r for r in result.folds if r.fold == 0][0]
    assert fold.actual.index[0] == pd.Timestamp(frame["week"].iloc[289])  # the fold's own rows
    assert np.isnan(fold.actual["units"].iloc[0]) and np.isfinite(fold.forecasts["lstm"]).all()
    assert np.isfinite(result.table["MASE"]).all()


def test_the_stored_history_of_a_masked_model_is_complete(tmp_path):
    frame = gap_frame(n=200, gap=(190, 193))
    ds = load_csv(as_csv(frame, tmp_path / "g.csv"), missing="mask")
    model = LSTMForecaster(lookback=20, horizon=4, epochs=2, hidden=8).fit(ds)
    hist = model.history_[""]
    assert np.isfinite(hist["units"]).all() and (hist["units_observed"] == 0).sum() == 3
    model.save(tmp_path / "m.safetensors")  # refused before: NaN in history.values
    np.testing.assert_array_equal(load_model(tmp_path / "m.safetensors").predict().series[""].point,
                                  model.predict().series[""].point)

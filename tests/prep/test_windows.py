"""Tests of lstmcast.prep.scaling and lstmcast.prep.windows: scalers, transforms, calendar, windows, split."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lstmcast.data.dataset import Dataset, load_csv
from lstmcast.errors import DataError, ModelFileError, UsageError
from lstmcast.prep.windows import (Pipeline, apply_transform, calendar_features, fit_scaler,
                              invert_transform, make_windows, min_rows, prepare, train_rows)

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
FINITE = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)


# --- scalers ---------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None)
@given(values=hnp.arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 4)), elements=FINITE),
       method=st.sampled_from(["standard", "robust"]))
def test_scaling_round_trips_and_scale_is_never_zero(values, method):
    center, scale = fit_scaler(values, method)
    assert center.shape == scale.shape == (values.shape[1],) and (scale > 0).all()
    scaled = (values - center) / scale
    assert np.all(np.isfinite(scaled))
    np.testing.assert_allclose(scaled * scale + center, values, rtol=1e-9, atol=1e-6)


def test_standard_and_robust_scalers():
    rng = np.random.default_rng(0)
    x = np.column_stack([rng.normal(5, 2, 1000), np.full(1000, 7.0)])
    center, scale = fit_scaler(x, "standard")
    np.testing.assert_allclose(center, [x[:, 0].mean(), 7.0])
    np.testing.assert_allclose(scale, [x[:, 0].std(), 1.0])
    with_outlier = np.r_[np.arange(100.0), 1e9][:, None]
    center, scale = fit_scaler(with_outlier, "robust")
    assert center[0] == 50.0 and scale[0] == pytest.approx(50 / 1.349)
    center, _ = fit_scaler(np.array([[1.0], [np.nan], [3.0]]))
    assert center[0] == 2.0


# --- transforms ------------------------------------------------------------------------------

POSITIVE = st.floats(1e-3, 1e6, allow_nan=False)


@settings(max_examples=80, deadline=None)
@given(y=hnp.arrays(np.float64, st.tuples(st.integers(2, 30), st.integers(1, 3)), elements=POSITIVE),
       kind=st.sampled_from([None, "log", "diff", "pct"]))
def test_transforms_invert_exactly(y, kind):
    z = apply_transform(y, kind)
    if kind in ("diff", "pct"):
        assert z.shape == (len(y) - 1, y.shape[1])
        back = invert_transform(z, kind, anchor=y[0])
        # rounding: diff loses digits against the largest value, pct against the smallest ratio
        # y[t] / y[t-1] (1 + z keeps about 16 digits of 1, not of the ratio)
        eps = 1e-15 * len(y)
        rtol = eps * max(1.0, (y[:-1] / y[1:]).max()) if kind == "pct" else 1e-12
        atol = eps * np.abs(y).max() if kind == "diff" else 0
        np.testing.assert_allclose(back, y[1:], rtol=rtol, atol=atol)
    else:
        np.testing.assert_allclose(invert_transform(z, kind), y, rtol=1e-12)


def test_transform_of_a_forecast_batch_uses_the_anchor_per_sample():
    y = np.array([[[10.0], [11.0], [13.0]], [[2.0], [4.0], [8.0]]])  # (batch 2, steps 3, 1 target)
    z = apply_transform(y, "pct")
    np.testing.assert_allclose(z[:, :, 0], [[0.1, 2 / 11], [1.0, 1.0]])
    np.testing.assert_allclose(invert_transform(z, "pct", anchor=y[:, 0]), y[:, 1:])
    np.testing.assert_allclose(invert_transform(apply_transform(y, "diff"), "diff", anchor=y[:, 0]), y[:, 1:])
    with pytest.raises(ValueError, match="anchor"):
        invert_transform(z, "diff")


def test_transforms_refuse_values_they_cannot_take():
    with pytest.raises(DataError, match="log needs values above 0"):
        apply_transform(np.array([1.0, 0.0, 2.0]), "log")
    with pytest.raises(DataError, match="pct .* a value is 0"):
        apply_transform(np.array([1.0, 0.0, 2.0]), "pct")


# --- calendar --------------------------------------------------------------------------------

@pytest.mark.parametrize("freq, names", [
    ("h", ["hour", "dow", "doy"]), ("15min", ["hour", "dow", "doy"]), ("D", ["dow", "doy"]),
    ("B", ["dow", "doy"]), ("W-SUN", ["doy"]), ("MS", ["month"]), ("QS-JAN", ["month"]), ("YS", []),
])
def test_calendar_features_chosen_by_frequency(freq, names):
    index = pd.date_range("2021-01-01", periods=10, freq=freq)
    values, got = calendar_features(index, freq)
    assert got == [f"{n}_{f}" for n in names for f in ("sin", "cos")]
    assert values.shape == (10, 2 * len(names))
    np.testing.assert_allclose(values[:, 0::2] ** 2 + values[:, 1::2] ** 2, 1.0)


def test_calendar_feature_values():
    values, names = calendar_features(pd.DatetimeIndex(["2021-01-04 06:00", "2021-01-04 18:00"]), "h")
    hour = values[:, names.index("hour_sin")]
    np.testing.assert_allclose(hour, [1.0, -1.0], atol=1e-12)  # 6:00 and 18:00 are a quarter-turn
    dow = values[:, names.index("dow_cos")]  # Monday = 0
    np.testing.assert_allclose(dow, [1.0, 1.0])


# --- windows ---------------------------------------------------------------------------------

@st.composite
def series_sets(draw):
    lookback, horizon, stride = draw(st.integers(1, 6)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    n_inputs = draw(st.integers(1, 4))
    lengths = draw(st.lists(st.integers(0, 40), min_size=1, max_size=4))
    arrays = {f"s{i}": np.arange(n * n_inputs, dtype=np.float32).reshape(n, n_inputs) + 1000 * i
              for i, n in enumerate(lengths)}
    targets = draw(st.lists(st.integers(0, n_inputs - 1), min_size=1, max_size=n_inputs, unique=True))
    return arrays, targets, lookback, horizon, stride


@settings(max_examples=100, deadline=None)
@given(case=series_sets())
def test_window_contents_match_the_source_rows(case):
    arrays, targets, lookback, horizon, stride = case
    w = make_windows(arrays, targets, lookback, horizon, stride)
    expected = sum((n - lookback - horizon) // stride + 1 for n in map(len, arrays.values())
                   if n >= lookback + horizon)
    assert len(w) == expected and w.n_inputs == next(iter(arrays.values())).shape[1]
    x, y = w.take(np.arange(len(w)))
    assert x.shape == (len(w), lookback, w.n_inputs) and y.shape == (len(w), horizon, len(targets))
    assert x.dtype == y.dtype == np.float32 and x.flags.c_contiguous and y.flags.c_contiguous
    keys = list(arrays)
    for i in range(len(w)):
        src, s = arrays[keys[w.series[i]]], w.starts[i]
        np.testing.assert_array_equal(x[i], src[s:s + lookback])
        np.testing.assert_array_equal(y[i], src[s + lookback:s + lookback + horizon][:, targets])
    for k, src in arrays.items():  # the last window of each series ends on its last row
        ends = [w.starts[i] + lookback + horizon for i in range(len(w)) if keys[w.series[i]] == k]
        assert not ends or max(ends) == len(src)


@settings(max_examples=100, deadline=None)
@given(case=series_sets(), fraction=st.sampled_from([0.0, 0.1, 0.25, 0.5]))
def test_split_is_chronological_and_never_leaks(case, fraction):
    arrays, targets, lookback, horizon, stride = case
    w = make_windows(arrays, targets, lookback, horizon, stride)
    try:
        train, val = w.split(fraction)
    except DataError:
        return
    assert len(np.intersect1d(train, val)) == 0 and len(train) > 0
    for s in range(len(arrays)):
        t_starts, v_starts = w.starts[train][w.series[train] == s], w.starts[val][w.series[val] == s]
        if len(v_starts) == 0:
            continue
        first_val_target = v_starts.min() + lookback
        # every row of every training window (inputs and targets) is before any validation target
        assert (t_starts + lookback + horizon <= first_val_target).all()
        assert first_val_target >= train_rows(len(arrays[f"s{s}"]), lookback, horizon, fraction, stride)
        assert len(t_starts) == 0 or t_starts.max() < v_starts.min()
    if fraction > 0:
        assert len(val) > 0


@pytest.mark.parametrize("lookback, horizon, fraction, stride", [(48, 12, 0.2, 1), (5, 3, 0.5, 2), (10, 1, 0.0, 1)])
def test_min_rows_is_exactly_enough(lookback, horizon, fraction, stride):
    n = min_rows(lookback, horizon, fraction, stride)
    ok = make_windows({"": np.zeros((n, 1))}, [0], lookback, horizon, stride)
    train, val = ok.split(fraction)
    assert len(train) >= 1 and (len(val) >= 1 or fraction == 0)
    with pytest.raises(DataError, match="too little data"):
        make_windows({"": np.zeros((n - 1, 1))}, [0], lookback, horizon, stride).split(fraction)
    assert min_rows(lookback, horizon, fraction, stride, transform="diff") == n + 1


def test_last_inputs_are_the_tail_of_each_series():
    arrays = {"a": np.arange(20.0).reshape(10, 2), "b": np.arange(6.0).reshape(3, 2), "c": np.ones((4, 2))}
    last = make_windows(arrays, [0], 4, 1).last_inputs()
    assert list(last) == ["a", "c"]  # "b" is shorter than the lookback
    np.testing.assert_array_equal(last["a"], arrays["a"][-4:])
    np.testing.assert_array_equal(last["c"], arrays["c"])


def test_bad_window_options():
    with pytest.raises(UsageError, match="--lookback"):
        make_windows({"": np.zeros((5, 1))}, [0], 0, 1)
    with pytest.raises(UsageError, match="validation fraction"):
        make_windows({"": np.zeros((5, 1))}, [0], 1, 1).split(1.0)


# --- pipeline --------------------------------------------------------------------------------

def frame(values, start="2021-01-01", freq="D", columns=("y", "f")):
    index = pd.date_range(start, periods=len(values), freq=freq, name="date")
    return pd.DataFrame(np.asarray(values, dtype=np.float64), index=index, columns=list(columns))


def test_scalers_are_fitted_on_training_rows_only():
    rng = np.random.default_rng(1)
    base = rng.normal(10, 1, (200, 2))
    changed = base.copy()
    rows = train_rows(200, 20, 5, 0.2)
    changed[rows:] += 1000  # validation targets only: must not move the scalers
    a = Pipeline(["y"], ["f"], "D").fit({"": frame(base)}, {"": rows})
    b = Pipeline(["y"], ["f"], "D").fit({"": frame(changed)}, {"": rows})
    np.testing.assert_array_equal(a.center_[""], b.center_[""])
    np.testing.assert_array_equal(a.scale_[""], b.scale_[""])
    np.testing.assert_allclose(a.center_[""], base[:rows].mean(axis=0))


@pytest.mark.parametrize("transform", [None, "log", "diff", "pct"])
def test_pipeline_inverse_returns_original_units(transform):
    y = 100 + np.cumsum(np.random.default_rng(2).normal(0, 1, 50))
    f = frame(np.column_stack([y, np.arange(50.0)]))
    pipe = Pipeline(["y"], ["f"], "D", scaler="robust", transform=transform).fit({"a": f})
    arr = pipe.to_array("a", f)
    assert arr.dtype == np.float32 and arr.shape[1] == len(pipe.input_names) == 6
    shift = 1 if transform in ("diff", "pct") else 0
    back = pipe.inverse("a", arr[:, :1].astype(np.float64), anchor=f["y"].iloc[0] if shift else None)
    np.testing.assert_allclose(back[:, 0], y[shift:], rtol=1e-5)
    assert pipe.anchor(f)[0] == y[-1]


def test_pipeline_state_round_trips_through_arrays_and_json():
    ds = load_csv(SAMPLES / "stocks.csv", id_col="symbol")
    pipe, windows, train, val = prepare(ds, 24, 6, val_fraction=0.2, transform="log")
    arrays, meta = pipe.to_arrays()
    assert all(isinstance(a, np.ndarray) for a in arrays.values())
    again = Pipeline.from_arrays({k: v.copy() for k, v in arrays.items()}, json.loads(json.dumps(meta)))
    for key, f in ds.series.items():
        np.testing.assert_array_equal(again.to_array(key, f), pipe.to_array(key, f))
    bad = dict(arrays, **{"pipeline.scale": arrays["pipeline.scale"][:2]})
    with pytest.raises(ModelFileError, match="shape"):
        Pipeline.from_arrays(bad, meta)
    with pytest.raises(ModelFileError, match="incomplete"):
        Pipeline.from_arrays(arrays, {k: v for k, v in meta.items() if k != "freq"})
    with pytest.raises(ModelFileError, match="non-positive"):
        Pipeline.from_arrays(dict(arrays, **{"pipeline.scale": np.zeros_like(arrays["pipeline.scale"])}), meta)


def test_prepare_on_long_format_keeps_series_apart():
    ds = load_csv(SAMPLES / "stocks.csv", id_col="symbol")
    pipe, w, train, val = prepare(ds, 24, 6, val_fraction=0.2)
    assert w.keys == list(ds.series) and pipe.input_names == ["price", "month_sin", "month_cos"]
    assert len(w) == sum(len(f) - 30 + 1 for f in ds.series.values())
    x, y = w.take(val)
    for i, (xi, yi) in enumerate(zip(x, y)):
        key = w.keys[w.series[val[i]]]
        expected = pipe.to_array(key, ds.series[key])[w.starts[val[i]]:][:30]
        np.testing.assert_array_equal(xi, expected[:24])
        np.testing.assert_array_equal(yi, expected[24:, :1])


@pytest.mark.parametrize("transform", [None, "diff"])
def test_prepare_fits_scalers_on_rows_before_the_first_validation_target(transform):
    values = np.random.default_rng(3).normal(10, 1, (200, 2))
    ds = Dataset(series={"": frame(values)}, targets=["y"], features=["f"], freq="D", date_col="date",
                 id_col=None, notes=[], n_rows=200, sha256="")
    pipe, w, train, val = prepare(ds, 20, 5, val_fraction=0.2, transform=transform)
    seen = pipe.transformed(ds.series[""])[0][:w.starts[val].min() + 20]
    np.testing.assert_allclose(pipe.center_[""], seen.mean(axis=0))
    np.testing.assert_allclose(pipe.scale_[""], seen.std(axis=0))


def test_pipeline_names_the_column_a_transform_cannot_take():
    f = frame(np.column_stack([[1.0, 2.0, 3.0], [4.0, -1.0, 2.0]]), columns=("a", "b"))
    with pytest.raises(DataError, match=r"series 'x', column 'b': --transform log needs values above 0"):
        Pipeline(["a", "b"], [], "D", transform="log").fit({"x": f})
    with pytest.raises(UsageError, match="--transform"):
        Pipeline(["a"], [], "D", transform="sqrt")

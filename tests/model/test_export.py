"""ONNX export against lstmcast itself, run in the real onnxruntime: the whole graph on the
stored history against ``predict`` (the point and the bands), the network part against
``Net.predict`` and the PyTorch recordings, the calendar and season-position arithmetic
against ``calendar_features`` and ``season_position``, and the refusals. The fits are tiny and keep a random, unshrunk head, so that the network's
share of every forecast is large enough for a wrong graph to show."""

import dataclasses
import json
import sys

import numpy as np
import pandas as pd
import pytest

ort = pytest.importorskip("onnxruntime")
onnx = pytest.importorskip("onnx")

from conftest import FIXTURES, SAMPLES, assert_close, daily_frame, monthly_csv, tolerance, walk_csv  # noqa: E402
from lstmcast.data.dataset import future_index, load_csv  # noqa: E402
from lstmcast.data.timeparse import season_position  # noqa: E402
from lstmcast.errors import DataError, UsageError  # noqa: E402
from lstmcast.model import export, export_bands, export_time  # noqa: E402
from lstmcast.model.forecaster import LSTMForecaster  # noqa: E402
from lstmcast.nn import onnx as nn_onnx  # noqa: E402
from lstmcast.nn.network import Net  # noqa: E402
from lstmcast.prep.scaling import calendar_features  # noqa: E402

# the guard is off: a network that loses to a baseline would hide the network's graph
# (the guard's own graph is tested in test_guard_in_the_graph)
TINY = dict(hidden=8, epochs=4, seed=0, _head_init="random", _shrink=False, guard=False)


def session(model):
    return ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


def hourly(path, n=400, seed=1, level=50.0):
    """Two hourly targets with a daily cycle and one feature column."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    pd.DataFrame({"time": pd.date_range("2023-03-20 05:00", periods=n, freq="h").strftime("%Y-%m-%d %H:%M"),
                  "load": level + 10 * np.sin(2 * np.pi * t / 24) + rng.normal(0, 1, n),
                  "temp": 10 + 5 * np.cos(2 * np.pi * t / 24) + rng.normal(0, 1, n),
                  "other": 3 + rng.normal(0, 1, n)}).to_csv(path, index=False)
    return load_csv(str(path), targets=["load", "temp"], features=["other"])


def daily(path):
    daily_frame().to_csv(path, index=False)
    return load_csv(str(path))


DATA = {
    "monthly": lambda p: monthly_csv(p / "m.csv"),
    "walk": lambda p: walk_csv(p / "w.csv"),
    "daily": lambda p: daily(p / "d.csv"),
    "hourly": lambda p: hourly(p / "h.csv"),
    "stocks": lambda p: load_csv(str(SAMPLES / "stocks.csv"), id_col="symbol"),
}
CASES = [
    ("monthly", {}),
    ("monthly", {"layers": 2}),
    ("monthly", {"bidirectional": True}),
    ("monthly", {"layers": 2, "bidirectional": True, "normalize": "none"}),
    ("walk", {"normalize": "last"}),
    ("daily", {"normalize": "season"}),
    ("monthly", {"transform": "log"}),
    ("walk", {"transform": "diff"}),
    ("monthly", {"transform": "pct", "normalize": "season"}),
    ("hourly", {}),
    ("hourly", {"transform": "pct", "layers": 2, "bidirectional": True}),
    ("stocks", {}),
    ("stocks", {"transform": "log", "normalize": "season"}),
    ("stocks", {"ensemble": 3}),
    ("monthly", {"ensemble": 2, "layers": 2, "bidirectional": True}),
]


def check_export(m, **kwargs):
    """The exported graph on the stored history against predict(); returns the errors."""
    model, desc = export.to_onnx(m, **kwargs)
    assert export.read_description(model) == json.loads(json.dumps(desc))
    feeds = export.feeds(m, series=kwargs.get("series"))
    assert [i.name for i in model.graph.input] == [d["name"] for d in desc["inputs"]] == list(feeds)
    out = session(model).run(["forecast"], feeds)[0]
    assert out.dtype == np.float32 and out.shape == (len(desc["series"]), desc["horizon"], len(m.targets_))
    forecast = m.predict(desc["horizon"])
    errors = []
    for i, key in enumerate(desc["series"]):
        ref = forecast[key].point
        assert_close(out[i], ref, err_msg=key)  # a float32 graph in another engine
        errors.append((np.abs(out[i] - ref).max(), (np.abs(out[i] - ref) / np.abs(ref).max()).max()))
    return out, errors


def network_matters(m):
    """The head's share of the forecast is far above the tolerance (restores the head)."""
    ref = m.predict()
    head = {n: m.net_.params[n].copy() for n in ("head.weight", "head.bias")}
    for n in head:
        m.net_.params[n][:] = 0.0
    try:
        base = m.predict()
    finally:
        for n, v in head.items():
            m.net_.params[n][:] = v
    for key in ref.series:
        assert np.abs(ref[key].point - base[key].point).max() > 100 * tolerance() * np.abs(ref[key].point).max()


def ids(cases):
    """Test ids of (data, options) cases: monthly-transform=log."""
    return [f"{d}-{'-'.join(f'{k}={v}' for k, v in o.items())}" for d, o in cases]


@pytest.mark.parametrize("data, options", CASES, ids=ids(CASES))
def test_graph_matches_predict(tmp_path, data, options):
    m = LSTMForecaster(**TINY, **options).fit(DATA[data](tmp_path))
    for name, value in options.items():
        assert getattr(m.model_config_, name) == value
    network_matters(m)
    check_export(m)
    # the network part alone, on random windows of the model's input width
    x = np.random.default_rng(3).normal(size=(5, m.model_config_.lookback, m.net_.spec.input_size))
    x = x.astype(np.float32)
    got = session(nn_onnx.network_model(m.net_.params)).run(None, {"x": x})[0]
    assert_close(got, m.net_.predict(x, engine="numpy"))
    assert_close(got, m.net_.predict(x, engine="kernels"))


def test_inputs_follow_the_model(tmp_path):
    m = LSTMForecaster(**TINY, transform="diff").fit(hourly(tmp_path / "h.csv"))
    desc = export.describe(m)
    L = m.model_config_.lookback
    shapes = {d["name"]: (d["dtype"], d["shape"]) for d in desc["inputs"]}
    assert shapes == {"history": ("float32", ["batch", L + 1, 2]), "features": ("float32", ["batch", L + 1, 1]),
                      "time": ("int64", ["batch", L + 1])}
    assert desc["calendar"] == ["hour_sin", "hour_cos", "dow_sin", "dow_cos", "doy_sin", "doy_cos"]
    assert (desc["opset"], desc["horizon"], desc["freq"], desc["series"]) == (17, m.model_config_.horizon, "h", [""])
    yearly = LSTMForecaster(**TINY, calendar=False).fit(monthly_csv(tmp_path / "m.csv"))
    assert [d["name"] for d in export.describe(yearly)["inputs"]] == ["history"]


def test_several_series_are_chosen_by_series_index(tmp_path):
    m = LSTMForecaster(**TINY).fit(DATA["stocks"](tmp_path))
    out, _ = check_export(m)
    model, desc = export.to_onnx(m)
    feeds = export.feeds(m)
    backwards = {k: v[::-1].copy() for k, v in feeds.items()}  # rows in any order, any mix
    np.testing.assert_array_equal(session(model).run(None, backwards)[0], out[::-1])
    one, _ = check_export(m, series="GOOG")
    assert_close(one[0], out[desc["series"].index("GOOG")])
    assert "series_index" not in [i.name for i in export.to_onnx(m, series="GOOG")[0].graph.input]


def test_newer_data_and_a_shorter_horizon(tmp_path):
    """A service forecasts from rows the model never saw; feeds() builds them from frames."""
    full = hourly(tmp_path / "h.csv", n=460)
    old = hourly(tmp_path / "old.csv", n=400)
    m = LSTMForecaster(**TINY).fit(old)
    model, desc = export.to_onnx(m, horizon=5)
    out = session(model).run(None, export.feeds(m, frames=full.series))[0]
    ref = m.predict(5, dataset=full)[""].point
    assert out.shape == (1, 5, 2)
    assert_close(out[0], ref)
    short = {"": full.series[""].iloc[:10]}
    with pytest.raises(DataError, match=rf"the series has 10 rows; the exported model reads the last {desc['rows']}"):
        export.feeds(m, frames=short)


def test_nonnegative_floor(tmp_path):
    ds = walk_csv(tmp_path / "w.csv")
    frame = ds.series[""]
    frame["value"] -= frame["value"].iloc[-1] - 0.2  # ends just above 0: forecasts cross it
    m = LSTMForecaster(**TINY, normalize="last", nonnegative=True).fit(ds)
    out, _ = check_export(m)
    assert (out == 0).any() and (m.predict()[""].point == 0).any()
    unfloored = LSTMForecaster(**TINY, normalize="last", nonnegative=False).fit(ds)
    assert (check_export(unfloored)[0] < 0).any()


# ---------------------------------------------------------------- the bands

LEVELS = (80, 95)


def check_bands(m, levels=LEVELS, frames=None, dataset=None, **kwargs):
    """The graph's forecast, lower and upper against predict()'s point and bands (from the
    stored history, or from ``frames`` / ``dataset``, the same rows); returns predict's result."""
    model, desc = export.to_onnx(m, levels=levels, **kwargs)
    assert desc["levels"] == [float(v) for v in levels] and "prediction intervals" not in str(desc["not_included"])
    assert [o.name for o in model.graph.output] == ["forecast", "lower", "upper"]
    feeds = export.feeds(m, frames, kwargs.get("series"), levels=levels)
    point, lower, upper = session(model).run(["forecast", "lower", "upper"], feeds)
    n, H = len(desc["series"]), desc["horizon"]
    assert lower.shape == upper.shape == (len(levels), n, H, len(m.targets_))
    ref = m.predict(H, dataset=dataset, levels=levels)
    for i, key in enumerate(desc["series"]):
        want = ref[key]
        bands = np.stack([np.stack([want.lower[v], want.upper[v]]) for v in ref.levels])
        scale = float(np.abs(bands).max())  # float32 rounding relative to the data's size
        for got, expected in [(point[i], want.point), *[(a[j, i], b[v]) for j, v in enumerate(ref.levels)
                                                         for a, b in ((lower, want.lower), (upper, want.upper))]]:
            np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale, err_msg=key)
        slack = 1e-6 * scale
        assert (lower[:, i] <= point[i] + slack).all() and (point[i] <= upper[:, i] + slack).all()
        assert (lower[0, i] >= lower[-1, i] - slack).all() and (upper[0, i] <= upper[-1, i] + slack).all()
    return ref


BAND_CASES = [("monthly", {}), ("stocks", {}), ("monthly", {"transform": "log"}), ("walk", {"transform": "diff"}),
              ("monthly", {"transform": "pct", "normalize": "season"}),
              ("stocks", {"guard": True, "statistical": False})]


@pytest.mark.parametrize("data, options", BAND_CASES, ids=ids(BAND_CASES))
def test_bands_match_predict(tmp_path, data, options):
    m = LSTMForecaster(**{**TINY, **options}).fit(DATA[data](tmp_path))
    check_bands(m)
    if len(m.history_) > 1:  # one series of several, a shorter horizon, one level
        check_bands(m, levels=(90,), series="IBM", horizon=3)


def test_bands_where_the_floor_and_the_clip_bind(tmp_path):
    ds = walk_csv(tmp_path / "w.csv")
    frame = ds.series[""]
    low = frame.copy()
    low["value"] -= low["value"].iloc[-1] - 0.2  # ends just above 0: bands cross it
    m = LSTMForecaster(**TINY, normalize="last", nonnegative=True).fit(dataclasses.replace(ds, series={"": low}))
    ref = check_bands(m)
    assert (ref[""].lower[95.0] == 0).all() and (ref[""].upper[95.0] > 0).all()  # the floor binds
    m.residuals_ = m.residuals_ * 1e4  # bands far beyond the history's range: clipped there
    assert "clipped" in " ".join(check_bands(m).notes)
    # a floor the data chose (a series never below 0) is lifted for newer rows that go below 0,
    # in predict and in the graph; the stored history keeps it
    data = LSTMForecaster(**TINY, normalize="last").fit(ds)
    assert data.nonnegative_ == [True] and data.model_config_.nonnegative is None
    ref = check_bands(data, frames={"": low}, dataset=dataclasses.replace(ds, series={"": low}))
    assert (ref[""].lower[95.0] < 0).any() and "went below 0" in " ".join(ref.notes)
    check_bands(data)


def test_bands_after_update_use_the_adaptive_level(tmp_path):
    ds = walk_csv(tmp_path / "w.csv")
    frame = ds.series[""]
    m = LSTMForecaster(**TINY).fit(dataclasses.replace(ds, series={"": frame.iloc[:-30]}))
    for k in (20, 10, 0):  # three updates of 10 rows: each moves the calibrated levels
        m.update(dataclasses.replace(ds, series={"": frame.iloc[:len(frame) - k]}), epochs=1)
    desc = export.describe(m, levels=LEVELS)
    assert desc["intervals"]["calibrated_at"] != [80.0, 95.0] and "adaptive" in desc["intervals"]["widths"]
    check_bands(m)


def sunny(path, days=30):
    """Hourly irradiance: 0 every night, a noisy arch by day."""
    t = np.arange(24 * days)
    sun = np.maximum(0, np.sin(2 * np.pi * (t % 24 - 6) / 24)) * (100 + np.random.default_rng(2).normal(0, 5, len(t)))
    pd.DataFrame({"time": pd.date_range("2023-05-01", periods=len(t), freq="h").strftime("%Y-%m-%d %H:%M"),
                  "sun": sun.round(3)}).to_csv(path, index=False)
    return load_csv(str(path))


def test_zero_positions_and_position_factors_in_the_graph(tmp_path):
    """Nights forecast 0 with a band of [0, 0], the position of each step found in the graph
    from the time input (added for it when the model has no calendar features), and bands
    that follow the hour of day."""
    ds = sunny(tmp_path / "sun.csv")
    for options in ({}, {"calendar": False}, {"_bands": "auto"}):
        m = LSTMForecaster(**TINY, lookback=48, horizon=24, **options).fit(ds)
        assert m.zeros_ is not None
        desc = export.describe(m, levels=LEVELS)
        assert desc["season_positions"] and "time" in [i["name"] for i in desc["inputs"]]
        ref = check_bands(m)
        night = ref[""].point == 0
        assert night.any() and (ref[""].upper[95.0][night] == 0).all()
        check_bands(m, horizon=5)
    assert m.calibration_["positions"] and export_bands.calibrated(m, [80.0])[0]["rho"] is not None
    assert [i["name"] for i in export.describe(m)["inputs"]] == ["history", "time"]


@pytest.mark.parametrize("freq, season", [("h", 24), ("D", 7), ("B", 5), ("2B", 3), ("MS", 12), ("ME", 12),
                                          ("QS", 4), ("YS", 3), ("W-SUN", 52), ("15min", 96)])
def test_season_positions_match_season_position(freq, season):
    """The steps' positions in the graph against lstmcast's own, 1890-2150."""
    index = pd.date_range("1890-01-01", "2150-01-01", freq=freq)
    last = index[np.random.default_rng(0).integers(0, len(index), 200)]
    seconds = ((last - export.EPOCH) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    got = session(export_time.positions_model(freq, season, 9)).run(None, {"time": seconds})[0]
    want = np.stack([season_position(future_index(t, freq, 9), freq, season) for t in last])
    np.testing.assert_array_equal(got, want)


def test_bands_refusals(tmp_path):
    m = LSTMForecaster(**TINY, lookback=48, horizon=24).fit(sunny(tmp_path / "sun.csv"))
    with pytest.raises(UsageError, match=r"--level 0.8 would be a 0.8% interval"):
        export.describe(m, levels=(0.8,))
    m.data_["calendar"] = [1, 2, 3]
    with pytest.raises(UsageError, match=r"^ONNX export cannot find the season positions of the forecast steps "
                                         r"\(the model's trading calendar\), and the model forecasts 0 at the "
                                         r"positions where a series was always 0: refit with --no-nonnegative"):
        export.to_onnx(m)
    m.zeros_, m.freq_, m.data_["calendar"] = None, "SMS", None
    export.describe(m, levels=LEVELS)  # no position factors: nothing to find
    m.calibration_.update(pool=True, positions=True)
    with pytest.raises(UsageError, match=r"\(steps of SMS have no fixed length\), and the bands follow the "
                                         r"season: export without --level to export$"):
        export.describe(m, levels=LEVELS)
    export.describe(m)
    bare = LSTMForecaster(**TINY, val_fraction=0.0).fit(monthly_csv(tmp_path / "m.csv"))
    with pytest.raises(UsageError, match="no validation residuals"):
        export.to_onnx(bare, levels=LEVELS)


@pytest.mark.parametrize("data, options", [("monthly", {}), ("stocks", {"transform": "log"}),
                                           ("daily", {"normalize": "season"})])
def test_guard_in_the_graph(tmp_path, data, options):
    """Every guard choice (each baseline alone and blended, drift from the stored first row
    or from newer frames' own) in the graph against predict()."""
    ds = DATA[data](tmp_path)
    m = LSTMForecaster(**TINY, **options).fit(ds)
    S, nt = m.guard_["baseline"].shape
    for baseline in (0, 1, 2):
        for weight in (0.0, 0.5):
            m.guard_["baseline"][:] = baseline
            m.guard_["weight"][:] = weight
            m.guard_["baseline"][0] = -1  # the first series keeps the network
            desc = export.describe(m)
            assert desc["guard"]["drift"] == (baseline == 2 and S > 1)
            check_export(m)
    m.guard_["baseline"][:], m.guard_["weight"][:] = 2, 0.0
    model, desc = export.to_onnx(m)
    assert [i["name"] for i in desc["inputs"]][-2:] == ["drift_first", "drift_since"]
    newer = {k: f.iloc[5:] for k, f in ds.series.items()}  # drift from these rows' first
    out = session(model).run(None, export.feeds(m, frames=newer))[0]
    ref = m.predict(dataset=type(ds)(**{**ds.__dict__, "series": newer}))
    for i, key in enumerate(desc["series"]):
        assert_close(out[i], ref[key].point)
    drift = m.predict()
    m.guard_["baseline"][:] = 0
    assert all(np.abs(drift[k].point - m.predict()[k].point).max() > 0 for k in desc["series"])


def test_write_is_a_loadable_file(tmp_path):
    m = LSTMForecaster(**TINY).fit(monthly_csv(tmp_path / "m.csv"))
    desc = export.write(m, tmp_path / "m.onnx")
    model = onnx.load(str(tmp_path / "m.onnx"))
    assert export.read_description(model) == desc
    assert model.opset_import[0].version == 17 and model.ir_version == 8
    s = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert_close(s.run(None, export.feeds(m))[0][0], m.predict()[""].point)
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


# ---------------------------------------------------------------- the parts


def fixture_case(npz, case):
    return {k.split("/param/")[1]: npz[k].astype(np.float32) for k in npz.files if k.startswith(case + "/param/")}


@pytest.mark.parametrize("case", ["uni1_f64", "bi1_f32", "uni1_t1_f64", "uni2_f64", "bi2_f64"])
def test_gate_order_matches_pytorch(case, monkeypatch):
    """ONNX's LSTM with the reordered gates gives torch.nn.LSTM + Linear's recorded output."""
    npz = np.load(FIXTURES / "torch_lstm.npz")
    params = fixture_case(npz, case)
    got = session(nn_onnx.network_model(params)).run(None, {"x": npz[case + "/x"].astype(np.float32)})[0]
    assert_close(got, npz[case + "/out"])  # a float32 graph against recordings
    # and the order matters: PyTorch's order fed to ONNX unchanged is wrong
    monkeypatch.setattr(nn_onnx, "GATES_TO_ONNX", (0, 1, 2, 3))
    wrong = session(nn_onnx.network_model(params)).run(None, {"x": npz[case + "/x"].astype(np.float32)})[0]
    assert np.abs(wrong - npz[case + "/out"]).max() > 1e-2


def test_pytorch_safetensors_file_exports():
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    npz = np.load(FIXTURES / "torch_lstm.npz")
    params = safetensors_numpy.load_file(FIXTURES / "torch_lstm.safetensors")  # torch's own state dict
    got = session(nn_onnx.network_model(params)).run(None, {"x": npz["uni2_f32/x"]})[0]
    assert_close(got, npz["uni2_f32/out"])


def test_reorder_gates_moves_blocks():
    a = np.repeat(np.arange(4), 2)  # blocks i, f, g, o of a hidden size of 2
    assert nn_onnx.reorder_gates(a, 2).tolist() == [0, 0, 3, 3, 1, 1, 2, 2]  # i, o, f, c


@pytest.mark.parametrize("freq", ["h", "D", "MS"])
def test_calendar_arithmetic_matches_calendar_features(freq):
    """Integer civil-date arithmetic in the graph against pandas, 1900-2100, leap days included."""
    rng = np.random.default_rng(0)
    lo, hi = pd.Timestamp("1900-01-01").value // 10**9, pd.Timestamp("2100-12-31").value // 10**9
    seconds = rng.integers(lo, hi, size=4000)
    edges = pd.to_datetime(["1900-02-28", "1900-03-01", "1970-01-01", "1999-12-31 23:59:59", "2000-02-29",
                            "2000-03-01", "2000-12-31", "2024-02-29 12:00", "2024-12-31", "2100-03-01"], format="ISO8601")
    seconds = np.concatenate([seconds, (edges - export.EPOCH) // pd.Timedelta(seconds=1)])
    index = export.EPOCH + pd.to_timedelta(seconds, unit="s")
    ref, names = calendar_features(index, freq)
    got = session(export_time.calendar_model(names)).run(None, {"time": seconds.astype(np.int64)[None]})[0][0]
    np.testing.assert_allclose(got, ref, rtol=0, atol=2e-6)  # the hour's angle is float32 arithmetic


# ---------------------------------------------------------------- refusals


def test_unsupported_exports_are_refused(tmp_path):
    m = LSTMForecaster(**TINY).fit(monthly_csv(tmp_path / "m.csv"))
    H = m.model_config_.horizon
    with pytest.raises(UsageError, match=rf"trained horizon of {H} steps, not {H + 1}: forecasts past it are "
                                         rf"recursive \(refit with --horizon {H + 1}\)"):
        export.to_onnx(m, horizon=H + 1)
    with pytest.raises(UsageError, match=r"series 'nope' is not in the model"):
        export.to_onnx(m, series="nope")
    m.net_ = Net.from_params({k: v.astype(np.float64) for k, v in m.net_.params.items()})
    with pytest.raises(UsageError, match="ONNX export is float32, and this model's network is float64"):
        export.write(m, tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()
    with pytest.raises(UsageError, match="not fitted"):
        export.to_onnx(LSTMForecaster())


def test_missing_onnx_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # what an environment without it does on import
    with pytest.raises(UsageError, match=r"^ONNX export needs the onnx package: pip install 'lstmcast\[onnx\]'$"):
        nn_onnx.network_model(fixture_case(np.load(FIXTURES / "torch_lstm.npz"), "uni1_f64"))



@pytest.mark.parametrize("options", [dict(), dict(ensemble=2)])
def test_future_covariates_in_the_graph(tmp_path, options):
    # two series, a text covariate known ahead: the 'future' input carries it
    rng = np.random.default_rng(4)
    rows = []
    for key, level in (("a", 40.0), ("b", 90.0)):
        t = np.arange(230)
        promo = rng.random(230) < 0.2
        y = level + 5 * np.sin(2 * np.pi * t / 7) + 8 * promo + rng.normal(0, 1, 230)
        frame = pd.DataFrame({"date": pd.date_range("2023-01-01", periods=230).strftime("%Y-%m-%d"),
                              "shop": key, "y": y.round(3), "promo": np.where(promo, "on", "off")})
        frame.loc[frame.index[-14:], "y"] = np.nan
        rows.append(frame)
    pd.concat(rows).to_csv(tmp_path / "p.csv", index=False)
    ds = load_csv(tmp_path / "p.csv", id_col="shop", future=("promo",))
    fc = LSTMForecaster(**{**TINY, "lookback": 21, "horizon": 14, **options}).fit(ds)
    assert np.abs(fc.net_.params["future.weight"]).max() > 0
    model, desc = export.to_onnx(fc)
    assert [i["name"] for i in desc["inputs"]][-2:] == ["future", "series_index"]
    feeds = export.feeds(fc, future=ds.ahead)
    assert feeds["future"].shape == (2, 14, 1)
    got = session(model).run(None, feeds)[0]
    want = fc.predict(None, None, future=ds.ahead)
    for i, key in enumerate(desc["series"]):
        assert_close(got[i], want.series[key].point)
    with pytest.raises(UsageError, match="future covariates"):
        export.feeds(fc)

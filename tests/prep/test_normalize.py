"""Per-window normalisation (lstmcast.prep.normalize): offsets, and the automatic choice."""

import numpy as np
import pytest

from lstmcast.prep import normalize as nz
from lstmcast.model.baselines import seasonal_naive
from lstmcast.errors import ModelFileError, UsageError
from lstmcast.prep.normalize import Norm, es_offsets, window_change, window_offsets
from lstmcast.prep.windows import prepare
from conftest import monthly_csv, two_kinds_csv, walk_csv

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


def test_season_offset_averages_at_most_the_seasons_asked_for():
    x = np.array([[1.0, 5.0, 3.0, 11.0, 15.0, 13.0]])[:, :, None]
    _, base = window_offsets(x, 1, 3, "season", 3, 1)
    assert np.allclose(base[0, :, 0], [11.0, 15.0, 13.0])
    y = np.array([[1.0, 5.0, 3.0, 11.0, 16.0, 13.0]])[:, :, None]
    _, one = window_offsets(y, 1, 3, "season", 3, 1)
    _, two = window_offsets(y, 1, 3, "season", 3, 2)
    _, many = window_offsets(y, 1, 3, "season", 3, 9)   # never more than fit
    level = np.mean([11, 16, 13]) - np.mean([1, 5, 3, 11, 16, 13])
    assert np.allclose(one[0, :, 0], [11.0, 16.0, 13.0])
    assert np.allclose(two, many) and np.allclose(two[0, :, 0], np.array([6.0, 10.5, 8.0]) + level)


def test_season_offset_needs_a_whole_season():
    with pytest.raises(UsageError, match="at least one season"):
        window_offsets(np.zeros((2, 5, 1)), 1, 3, "season", 6)
    with pytest.raises(UsageError, match="--normalize"):
        window_offsets(np.zeros((2, 5, 1)), 1, 3, "mean", 2)


def test_offsets_only_touch_target_columns():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(5, 8, 3))  # 2 targets, 1 feature
    other = x.copy()
    other[:, :, 2] = rng.normal(size=(5, 8)) * 100  # a different feature column
    for mode in ("last", "season"):
        shift, base = window_offsets(x, 2, 3, mode, 4)
        assert shift.shape == (5, 2) and base.shape == (5, 3, 2)
        shift2, base2 = window_offsets(other, 2, 3, mode, 4)
        assert np.array_equal(shift, shift2) and np.array_equal(base, base2)
        assert not np.array_equal(window_offsets(x[:, :, ::-1], 2, 3, mode, 4)[1], base)


# ---------------------------------------------------------------- automatic choice


def choose_normalize(*args, **kw):
    """The chosen mode and seasons (the tests of last and season)."""
    norm = nz.choose_normalize(*args, **kw)
    return norm.mode, norm.seasons


def test_auto_picks_season_for_seasonal_and_last_for_a_random_walk(tmp_path):
    seasonal = monthly_csv(tmp_path / "s.csv", noise=0.5)
    _, w, tr, _ = prepare(seasonal, 24, 12)
    assert choose_normalize(w, tr, 1, 12, 12) == ("season", 2)
    walk = walk_csv(tmp_path / "w.csv")
    _, w, tr, _ = prepare(walk, 28, 7)
    assert choose_normalize(w, tr, 1, 7, 7) == ("last", None)
    # no season, or a season longer than the lookback: always last
    assert choose_normalize(w, tr, 1, 7, 1) == ("last", None)
    assert choose_normalize(w, tr, 1, 7, 29) == ("last", None)


def test_auto_keeps_last_when_there_are_many_windows(tmp_path):
    seasonal = monthly_csv(tmp_path / "s.csv", noise=0.5)
    _, w, tr, _ = prepare(seasonal, 24, 12)
    assert len(tr) < nz.SEASON_MAX_WINDOWS
    assert choose_normalize(w, tr, 1, 12, 12) == ("season", 2)
    assert choose_normalize(w, tr, 1, 12, 12, season_max_windows=len(tr)) == ("last", None)


def test_window_change():
    x = np.array([[0.0, 1.0, 3.0, 2.0], [5.0, 5.0, 5.0, 5.0]])[:, :, None]
    assert np.allclose(window_change(x, 1)[:, 0], [4.0 / 3.0, 0.0])


def _pattern_csv(path, pattern_of, n=120, noise=0.0, seed=0):
    """Monthly series whose seasonal pattern in year i is pattern_of(i), plus noise."""
    import pandas as pd

    from lstmcast.data.dataset import load_csv

    rng = np.random.default_rng(seed)
    y = np.concatenate([pattern_of(i) for i in range(n // 12)]) + rng.normal(0, noise, n)
    pd.DataFrame({"month": pd.date_range("2000-01-01", periods=n, freq="MS").strftime("%Y-%m"),
                  "value": 100 + y.round(4)}).to_csv(path, index=False)
    return load_csv(str(path))


def test_choice_of_seasons_follows_the_data(tmp_path):
    base = 10 * np.sin(2 * np.pi * np.arange(12) / 12)
    # a fixed pattern under heavy noise: averaging two seasons halves the noise
    noisy = _pattern_csv(tmp_path / "n.csv", lambda i: base, noise=4.0)
    _, w, tr, _ = prepare(noisy, 24, 12)
    assert choose_normalize(w, tr, 1, 12, 12) == ("season", 2)
    # a noiseless pattern that changes every year: last year's pattern is the better guess
    drift = _pattern_csv(tmp_path / "d.csv", lambda i: base * (1 + 0.3 * i) + np.roll(base, i))
    _, w, tr, _ = prepare(drift, 24, 12)
    assert choose_normalize(w, tr, 1, 12, 12) == ("season", 1)
    # season mode chooses k the same way, but never falls back to the last value
    assert choose_normalize(w, tr, 1, 12, 12, "season") == ("season", 1)
    _, w, tr, _ = prepare(noisy, 24, 12)
    assert choose_normalize(w, tr, 1, 12, 12, "season") == ("season", 2)
    walk = walk_csv(tmp_path / "w.csv")
    _, w, tr, _ = prepare(walk, 28, 7)
    assert choose_normalize(w, tr, 1, 7, 7) == ("last", None)
    assert choose_normalize(w, tr, 1, 7, 7, "season")[0] == "season"
    # a season of one step: every k is the last value, so k = 1 without scoring
    assert choose_normalize(w, tr, 1, 7, 1, "season") == ("season", 1)
    assert choose_normalize(w, tr, 1, 7, 7, "last") == ("last", None)
    assert choose_normalize(w, tr, 1, 7, 7, "none") == ("none", None)


def test_fit_records_the_seasons_and_forecasts_with_them(tmp_path, edit_model):
    from lstmcast.model.forecaster import LSTMForecaster, load_model

    base = 10 * np.sin(2 * np.pi * np.arange(12) / 12)
    drift = _pattern_csv(tmp_path / "d.csv", lambda i: base * (1 + 0.3 * i) + np.roll(base, i))
    m = LSTMForecaster(hidden=8, epochs=2, seed=0).fit(drift)
    assert (m.model_config_.normalize, m.model_config_.seasons) == ("season", 1)
    # the stored k is what the forecast uses: the file's value, read back, changes it
    path = tmp_path / "m.safetensors"
    m.save(path)
    one = load_model(path).predict(12)[""].point[:, 0]
    assert np.array_equal(one, m.predict(12)[""].point[:, 0])

    def seasons(k):
        return lambda doc: doc["config"]["model"].update(seasons=k)
    edit_model(path, seasons(2))
    two = load_model(path).predict(12)[""].point[:, 0]
    assert np.isfinite(two).all() and not np.allclose(one, two)
    for bad in (0, "2", 1.5):
        edit_model(path, seasons(bad))
        with pytest.raises(ModelFileError, match="config.model.seasons"):
            load_model(path)
    assert LSTMForecaster(hidden=8, epochs=2, normalize="last").fit(drift).model_config_.seasons is None
    with pytest.raises(UsageError, match="seasons"):
        LSTMForecaster(seasons=0)


def test_given_seasons_is_the_only_k_considered(tmp_path):
    noisy = _pattern_csv(tmp_path / "n.csv", lambda i: 10 * np.sin(2 * np.pi * np.arange(12) / 12),
                         noise=4.0)
    _, w, tr, _ = prepare(noisy, 24, 12)
    assert choose_normalize(w, tr, 1, 12, 12, "auto", 1) == ("season", 1)
    assert choose_normalize(w, tr, 1, 12, 12, "season", 1) == ("season", 1)
    # more seasons than the 24-step lookback holds: recorded as the 2 that are used
    assert choose_normalize(w, tr, 1, 12, 12, "season", 9) == ("season", 2)
    assert choose_normalize(w, tr, 1, 12, 12, "auto", 9) == ("season", 2)
    assert choose_normalize(w, tr, 1, 12, 12, "last", 1) == ("last", None)


# ---------------------------------------------------------------- es: exponential smoothing


def _es_reference(z, season, alpha, gamma, horizon):
    """One window's additive smoothing, step by step in plain Python (the textbook
    recurrences): (inputs, base)."""
    L = len(z)
    if gamma is None:
        level = z[0]
        for t in range(1, L):
            level = alpha * z[t] + (1 - alpha) * level
        return [v - level for v in z], [level] * horizon
    level = sum(z[:season]) / season
    idx = [z[j] - level for j in range(season)]
    for t in range(season, L):
        p = t % season
        new = alpha * (z[t] - idx[p]) + (1 - alpha) * level
        idx[p] = gamma * (z[t] - new) + (1 - gamma) * idx[p]
        level = new
    return ([z[t] - level - idx[t % season] for t in range(L)],
            [level + idx[(L + h) % season] for h in range(horizon)])


@pytest.mark.parametrize("season,gamma", [(1, None), (4, None), (4, 0.0), (4, 0.3), (5, 1.0)])
@pytest.mark.parametrize("alpha", [0.0, 0.25, 1.0])
def test_es_matches_the_textbook_recurrences(season, gamma, alpha):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 13, 2))
    inputs, base = es_offsets(x, 7, season, alpha, gamma)
    for b in range(6):
        for j in range(2):
            want_in, want_base = _es_reference(list(x[b, :, j]), season, alpha, gamma, 7)
            np.testing.assert_allclose(inputs[b, :, j], want_in, atol=1e-12)
            np.testing.assert_allclose(base[b, :, j], want_base, atol=1e-12)


def test_es_closed_forms():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 12, 1))
    # a level coefficient of 1 and no season is exactly "last"
    inputs, base = es_offsets(x, 4, 1, 1.0, None)
    shift, want = window_offsets(x, 1, 4, "last", 1)
    np.testing.assert_allclose(base, want)
    np.testing.assert_allclose(inputs, x - shift[:, None, :], atol=1e-12)
    # a level plus a fixed seasonal pattern is followed exactly, whatever the coefficients:
    # the base continues the pattern, the inputs are all 0
    pattern = np.array([3.0, -1.0, 0.5, -2.5])
    z = (7.0 + np.tile(pattern, 3))[None, :, None]
    for alpha, gamma in ((0.1, 0.05), (0.9, 0.5)):
        inputs, base = es_offsets(z, 6, 4, alpha, gamma)
        np.testing.assert_allclose(inputs, 0, atol=1e-12)
        np.testing.assert_allclose(base[0, :, 0], 7.0 + np.resize(pattern, 6), atol=1e-12)
    # a constant window: level and base are the constant for any alpha
    inputs, base = es_offsets(np.full((1, 9, 1), 2.5), 3, 1, 0.3, None)
    np.testing.assert_allclose(base, 2.5) and np.testing.assert_allclose(inputs, 0)
    with pytest.raises(UsageError, match="normalize es"):
        es_offsets(z, 6, 4, None, None)


def test_norm_applies_es_to_the_target_columns_only():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 12, 3)).astype(np.float32)
    norm = Norm("es", 4, None, 0.2, 0.1)
    out, base = norm.apply(x, 2, 5)
    want_in, want_base = es_offsets(x[:, :, :2], 5, 4, 0.2, 0.1)
    assert out.dtype == np.float32 and out is not x
    np.testing.assert_allclose(out[:, :, :2], want_in, rtol=1e-6)
    np.testing.assert_array_equal(out[:, :, 2], x[:, :, 2])
    np.testing.assert_allclose(base, want_base)
    assert Norm.of({"normalize": "es", "season": 4, "es_alpha": 0.2, "es_gamma": 0.1}) == norm


def test_es_chooses_its_coefficients_from_the_data(tmp_path):
    # a noisy level (random walk under heavy noise): a small alpha smooths the noise away
    rng = np.random.default_rng(5)
    level = np.cumsum(rng.normal(scale=0.1, size=400))
    _, w, tr, _ = prepare(walk_csv(tmp_path / "w.csv"), 28, 7)
    norm = nz.choose_normalize(w, tr, 1, 7, 7, "es")
    assert norm.mode == "es" and norm.alpha >= 0.7  # a random walk: the last value
    import pandas as pd
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=400, freq="D"),
                          "y": level + rng.normal(scale=2.0, size=400)})
    frame.to_csv(tmp_path / "noisy.csv", index=False)
    from lstmcast.data.dataset import load_csv
    _, w, tr, _ = prepare(load_csv(str(tmp_path / "noisy.csv")), 28, 7)
    norm = nz.choose_normalize(w, tr, 1, 7, 1, "es")
    assert norm.mode == "es" and norm.alpha <= 0.2 and norm.gamma is None
    # auto considers es only when asked (the evidence decides the default)
    assert nz.choose_normalize(w, tr, 1, 7, 1).mode == "last"
    assert nz.choose_normalize(w, tr, 1, 7, 1, es=True).mode == "es"


def test_fit_with_es_round_trips_and_updates(tmp_path):
    from lstmcast.model.forecaster import LSTMForecaster, load_model

    data = monthly_csv(tmp_path / "s.csv", noise=0.5)
    m = LSTMForecaster(hidden=8, epochs=2, seed=0, normalize="es").fit(data)
    c = m.model_config_
    assert c.normalize == "es" and 0 <= c.es_alpha <= 1 and c.es_gamma is not None
    path = tmp_path / "m.safetensors"
    m.save(path)
    back = load_model(path)
    assert back.model_config_.es_alpha == c.es_alpha and back.model_config_.es_gamma == c.es_gamma
    np.testing.assert_array_equal(back.predict(30)[""].point, m.predict(30)[""].point)
    # update trains on new windows normalised the same way, and forecasts on
    more = monthly_csv(tmp_path / "more.csv", n=132, noise=0.5)
    report = back.update(more)
    assert report.rows_added == 12
    assert np.isfinite(back.predict(12)[""].point).all()


def test_es_chooses_coefficients_per_series(tmp_path):
    # each series chooses on its own windows: the walk its last value, the noisy level a
    # small alpha; a series with too few windows keeps the model's coefficients
    data = two_kinds_csv(tmp_path / "two.csv", short=40)
    _, w, tr, _ = prepare(data, 14, 7)
    norm = nz.choose_normalize(w, tr, 1, 7, 1, "es", series_windows=nz.ES_SERIES_WINDOWS)
    # "short": fewer than ES_SERIES_WINDOWS windows, so the model's; a series whose best
    # are the model's is not in the map either (the loop below checks both ways)
    assert norm.series and "short" not in norm.series
    assert (tr[w.series[tr] == w.keys.index("short")].size < nz.ES_SERIES_WINDOWS)
    own = {**dict.fromkeys(("walk", "noisy"), (norm.alpha, norm.gamma)), **norm.series}
    assert own["walk"][0] >= 0.7 and own["noisy"][0] <= 0.2
    assert own["walk"][1] is None and norm.gamma is None  # a season of 1: no indices
    # each series' own coefficients are the best on its own windows, from the same grid
    for key, (alpha, _) in own.items():
        mine = tr[w.series[tr] == w.keys.index(key)]
        x, y = w.take(mine)
        err = {a: np.abs(y - Norm("es", 1, None, a, None).apply(x, 1, 7)[1]).sum() for a in nz.ES_ALPHAS}
        assert alpha == min(err, key=err.get)
    # one series alone: no per-series coefficients (the model's are its own)
    _, w1, tr1, _ = prepare(walk_csv(tmp_path / "w.csv"), 14, 7)
    assert nz.choose_normalize(w1, tr1, 1, 7, 1, "es", series_windows=nz.ES_SERIES_WINDOWS).series is None
    # off by default (the evidence: benchmarks/results/es-series-tuning.md)
    assert nz.choose_normalize(w, tr, 1, 7, 1, "es").series is None


def test_norm_applies_each_series_coefficients_to_its_windows():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(6, 16, 2)).astype(np.float32)
    keys = ["a", "b", "c", "a", "b", "c"]  # "c": not in the map, the model's coefficients
    norm = Norm("es", 4, None, 0.3, 0.1, {"a": (0.9, None), "b": (0.05, 0.4)})
    out, base = norm.apply(x, 1, 5, keys)
    for i, k in enumerate(keys):
        alpha, gamma = norm.series.get(k, (0.3, 0.1))
        want_in, want_base = es_offsets(x[i:i + 1, :, :1], 5, 4, alpha, gamma)
        np.testing.assert_allclose(out[i:i + 1, :, :1], want_in, rtol=1e-6)
        np.testing.assert_allclose(base[i:i + 1], want_base, rtol=1e-12)
    np.testing.assert_array_equal(out[:, :, 1], x[:, :, 1])
    # without keys, or without a map, every window takes the model's coefficients
    np.testing.assert_array_equal(norm.apply(x, 1, 5)[1], Norm("es", 4, None, 0.3, 0.1).apply(x, 1, 5)[1])


def test_fit_with_per_series_es_round_trips_updates_and_refuses_a_damaged_map(tmp_path):
    from lstmcast.files import store
    from lstmcast.model.forecaster import LSTMForecaster, load_model

    data = two_kinds_csv(tmp_path / "two.csv")
    m = LSTMForecaster(hidden=8, epochs=2, seed=0, normalize="es", lookback=14, horizon=7, guard=False,
                       _es_series_windows=nz.ES_SERIES_WINDOWS).fit(data)  # the network forecasts every series
    assert m.model_config_.es_series and m.es_series_
    path = tmp_path / "m.safetensors"
    m.save(path)
    back = load_model(path)
    assert back.es_series_ == m.es_series_
    before = m.predict(10)
    for k in ("walk", "noisy"):
        np.testing.assert_array_equal(back.predict(10)[k].point, before[k].point)
    # the coefficients matter: the same network with the model's coefficients for every
    # series forecasts otherwise
    back.es_series_ = None
    key = next(iter(m.es_series_))
    assert not np.array_equal(back.predict(10)[key].point, before[key].point)
    back = load_model(path)
    more = two_kinds_csv(tmp_path / "two.csv")  # the same rows: nothing new to learn from
    assert back.update(more).rows_added == 0
    # a file whose map is out of range, or missing while the config says it is there, is refused
    arrays, meta = store.load(path)
    bad = dict(arrays)
    bad["normalize.es"] = np.array(arrays["normalize.es"]) * 5.0
    store.save(tmp_path / "bad.safetensors", bad, meta)
    with pytest.raises(ModelFileError, match="normalize.es"):
        load_model(tmp_path / "bad.safetensors")
    bad = {k: v for k, v in arrays.items() if k != "normalize.es"}
    store.save(tmp_path / "bad2.safetensors", bad, meta)
    with pytest.raises(ModelFileError, match="normalize.es"):
        load_model(tmp_path / "bad2.safetensors")

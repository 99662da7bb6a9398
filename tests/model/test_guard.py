"""The baseline guard: its baselines against lstmcast.model.baselines on whole histories,
its choice on constructed errors, and a fitted forecaster whose network loses."""

import numpy as np
import pandas as pd
import pytest

from conftest import monthly_csv, walk_csv
from lstmcast.data.dataset import load_csv
from lstmcast.errors import ModelFileError
from lstmcast.files import store
from lstmcast.model import baselines as bl
from lstmcast.model import guard
from lstmcast.model.forecaster import LSTMForecaster, load_model


def test_window_baselines_equal_the_whole_history_baselines():
    rng = np.random.default_rng(0)
    hist = rng.normal(size=(50, 2)).cumsum(axis=0)
    L, H, season = 20, 9, 7
    got = guard.baselines(hist[None, -L:], hist[None, 0], np.array([len(hist) - 1]), H, season)
    np.testing.assert_allclose(got[0, 0], bl.naive(hist, H))
    np.testing.assert_allclose(got[1, 0], bl.seasonal_naive(hist, H, season))
    np.testing.assert_allclose(got[2, 0], bl.drift(hist, H))
    # a season longer than the window: seasonal naive is naive
    np.testing.assert_allclose(guard.baselines(hist[None, -5:], hist[None, 0], np.array([49]), H, 7)[1, 0],
                               bl.naive(hist, H))


def windows_of(series_errors, n=6, H=3):
    """Held-out windows where y = 0 and each candidate's forecast is a constant error."""
    nets, bases, series = [], [], []
    for s, (e_net, e_naive, e_snaive, e_drift) in enumerate(series_errors):
        nets.append(np.full((n, H, 1), e_net))
        bases.append(np.stack([np.full((n, H, 1), e) for e in (e_naive, e_snaive, e_drift)]))
        series += [s] * n
    return (np.concatenate(nets), np.concatenate(bases, axis=1), np.zeros((n * len(series_errors), H, 1)),
            np.array(series))


def test_choose_picks_the_lowest_error_and_blends():
    net, base, y, series = windows_of([(0.1, 1.0, 0.5, 2.0),     # the network wins
                                       (3.0, 0.2, 1.0, 1.0),     # naive wins
                                       (2.0, 2.0, 0.5, 3.0),     # seasonal naive wins
                                       (1.0, 9.0, -1.0, 9.0)])   # errors of opposite sign: the blend is exact
    b, w, scores = guard.choose(net, base, y, series, 4)
    assert b[:, 0].tolist() == [-1, 0, 1, 1] and w[:, 0].tolist() == [1.0, 0.0, 0.0, 0.5]
    assert scores[3, 0].tolist() == pytest.approx([1.0, 9.0, 1.0, 9.0, 0.0])
    fc = guard.combine(net, base, b[series], w[series])
    assert np.abs(fc[series == 3]).max() == 0
    assert guard.describe(b, w) == {"lstm": 1, "naive": 1, "seasonal_naive": 1, "blend_seasonal_naive": 1}


def test_the_best_of_several_blend_weights_competes():
    # network +1, best baseline (seasonal naive) -3: the blend w*1 + (1-w)*(-3) is exact at w = 0.75
    net, base, y, series = windows_of([(1.0, 5.0, -3.0, 5.0), (1.0, 5.0, -1.0, 5.0)])
    b, w, scores = guard.choose(net, base, y, series, 2, blends=(0.25, 0.5, 0.75))
    assert b[:, 0].tolist() == [1, 1] and w[:, 0].tolist() == [0.75, 0.5]
    assert scores[:, 0, 4].tolist() == pytest.approx([0.0, 0.0])
    # the even blend alone: 1.0 against the network's 1.0 for the first series, a tie the network wins
    b, w, scores = guard.choose(net, base, y, series, 2)
    assert b[:, 0].tolist() == [-1, 1] and w[:, 0].tolist() == [1.0, 0.5] and scores[0, 0, 4] == pytest.approx(1.0)
    # a series with too few windows of its own takes the weight best pooled over all
    few = np.concatenate([series, [2]])
    b, w, _ = guard.choose(np.concatenate([net, np.ones((1, 3, 1))]),
                           np.concatenate([base, np.full((3, 1, 3, 1), -3.0)], axis=1),
                           np.zeros((len(few), 3, 1)), few, 3, blends=(0.25, 0.5, 0.75))
    assert w[2, 0] == 0.75 and b[2, 0] == 0  # its baselines are all -3: the first, naive, is its best


def test_series_with_few_windows_take_the_pooled_choice():
    net, base, y, series = windows_of([(1.0, 0.1, 1.0, 1.0), (1.0, 0.1, 1.0, 1.0)])
    few = np.concatenate([series, [2]])  # series 2 has a single window, where the network is exact
    net = np.concatenate([net, np.zeros((1, 3, 1))])
    base = np.concatenate([base, np.full((3, 1, 3, 1), 5.0)], axis=1)
    b, w, _ = guard.choose(net, base, np.zeros((len(few), 3, 1)), few, 3)
    assert b[:, 0].tolist() == [0, 0, 0] and w[:, 0].tolist() == [0.0, 0.0, 0.0]


def hopeless(tmp_path):
    """A seasonal series and a network that cannot learn it (one epoch, no shrinkage)."""
    ds = monthly_csv(tmp_path / "m.csv", n=160, noise=0.2)
    return ds, LSTMForecaster(hidden=4, epochs=1, lr=1e-6, seed=0, normalize="none", _head_init="random", _combine="guard",
                              _shrink=False).fit(ds)


def test_a_losing_network_forecasts_the_baseline(tmp_path):
    ds, m = hopeless(tmp_path)
    assert m.guard_meta_["enabled"] and m.guard_["baseline"][0, 0] == 1 and m.guard_["weight"][0, 0] == 0
    y = ds.series[""]["value"].to_numpy()
    f = m.predict(30, levels=[80])
    np.testing.assert_allclose(f[""].point[:, 0], bl.seasonal_naive(y, 30, 12), rtol=1e-6)
    # the bands come from the baseline's own residuals: narrow, as the series is near periodic
    width = (f[""].upper[80] - f[""].lower[80])[:12, 0]
    assert width.max() < 0.25 * np.ptp(y[-24:])
    unguarded = LSTMForecaster(hidden=4, epochs=1, lr=1e-6, seed=0, normalize="none", _head_init="random", _combine="guard",
                               _shrink=False, guard=False).fit(ds)
    assert np.abs(unguarded.predict(30)[""].point - f[""].point).max() > 1
    loaded = load_model(m.save(tmp_path / "m.lstm") and tmp_path / "m.lstm")
    np.testing.assert_array_equal(loaded.predict(30)[""].point, f[""].point)
    # from newer data, drift and the seasonal profile continue that data
    newer = monthly_csv(tmp_path / "n.csv", n=190, noise=0.2)
    y2 = newer.series[""]["value"].to_numpy()
    np.testing.assert_allclose(m.predict(12, newer)[""].point[:, 0], bl.seasonal_naive(y2, 12, 12), rtol=1e-6)


def test_drift_continues_from_the_first_row(tmp_path):
    ds = walk_csv(tmp_path / "w.csv")
    m = LSTMForecaster(hidden=4, epochs=1, seed=0, _combine="guard").fit(ds)
    m.guard_["baseline"][:], m.guard_["weight"][:] = 2, 0.0
    y = ds.series[""]["value"].to_numpy()
    np.testing.assert_allclose(m.predict(20)[""].point[:, 0], bl.drift(y, 20), rtol=1e-6)
    part = type(ds)(**{**ds.__dict__, "series": {"": ds.series[""].iloc[100:]}})
    np.testing.assert_allclose(m.predict(20, part)[""].point[:, 0], bl.drift(y[100:], 20), rtol=1e-6)


def test_the_network_that_wins_is_kept(tmp_path):
    """A series the network learns (a clean cycle with a level that wanders) keeps it."""
    n = 300
    t = np.arange(n)
    rng = np.random.default_rng(0)
    value = 10 * np.sin(2 * np.pi * t / 9) + np.cumsum(rng.normal(0, 0.05, n))
    pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                  "value": value}).to_csv(tmp_path / "c.csv", index=False)
    m = LSTMForecaster(seed=0, hidden=16, _combine="guard").fit(load_csv(str(tmp_path / "c.csv")))
    assert m.guard_["baseline"][0, 0] == -1 or m.guard_["weight"][0, 0] > 0
    s = m.guard_["scores"][0, 0]
    assert s[0] < min(s[1:4])


def edit_arrays(path, change):
    """A crafted model file: ``change(arrays, doc)`` written back with a valid checksum."""
    arrays, doc = store.load(path)
    change(arrays, doc)
    store.save(path, arrays, doc)


def test_files_without_a_guard_and_damaged_guards(tmp_path):
    ds, m = hopeless(tmp_path)
    m.save(tmp_path / "m.lstm")

    def drop(arrays, doc):
        for k in [k for k in arrays if k.startswith("guard.")]:
            del arrays[k]
        del doc["forecaster"]["guard"]
    edit_arrays(tmp_path / "m.lstm", drop)
    old = load_model(tmp_path / "m.lstm")
    assert not old.guard_meta_["enabled"] and (old.guard_["baseline"] == -1).all()
    assert np.abs(old.predict(12)[""].point - m.predict(12)[""].point).max() > 1  # the network alone

    for name, value, match in [("guard.baseline", np.full((1, 1), 7, np.int8), "out of range"),
                               ("guard.weight", np.full((2, 1), 0.5, np.float32), "guard.weight does not match"),
                               ("guard.since", np.array([-3]), "out of range")]:
        m.save(tmp_path / "x.lstm")

        def change(arrays, doc, name=name, value=value):
            arrays[name] = value
        edit_arrays(tmp_path / "x.lstm", change)
        with pytest.raises(ModelFileError, match=match):
            load_model(tmp_path / "x.lstm")


def test_update_keeps_the_choice_and_moves_drift_on(tmp_path):
    full = walk_csv(tmp_path / "w.csv", n=320)
    y = full.series[""]["value"].to_numpy()
    old = type(full)(**{**full.__dict__, "series": {"": full.series[""].iloc[:280]}})
    m = LSTMForecaster(hidden=4, epochs=2, seed=0, _combine="guard").fit(old)
    m.guard_["baseline"][:], m.guard_["weight"][:] = 2, 0.0
    np.testing.assert_allclose(m.predict(5)[""].point[:, 0], bl.drift(y[:280], 5), rtol=1e-6)
    report = m.update(full)
    assert report.rows_added == 40 and m.guard_["since"][0] == 319
    np.testing.assert_allclose(m.predict(5)[""].point[:, 0], bl.drift(y, 5), rtol=1e-6)

"""Updating a fitted model with newer rows, and the decay check (lstmcast.model.update,
lstmcast.model.check): what is new, gaps, unknown series, kept weights, determinism,
scaling safety, recalibration, and the check's points and verdicts."""

import numpy as np
import pandas as pd
import pytest

from conftest import cron_files, daily_frame
from lstmcast.data.dataset import load_csv
from lstmcast.errors import DataError, UsageError
from lstmcast.model.check import check
from lstmcast.model.forecaster import LSTMForecaster, load_model

TINY = dict(hidden=8, epochs=6, seed=0, lookback=21, horizon=7)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("upd")
    cron_files(d)
    LSTMForecaster(**TINY).fit(load_csv(str(d / "old.csv"))).save(d / "m.safetensors")
    # 8 weeks of lookback: the seasonal profile averages out noise that seasonal naive keeps
    LSTMForecaster(**{**TINY, "lookback": 56}).fit(load_csv(str(d / "old.csv"))).save(d / "m56.safetensors")
    return d


def fresh(files):
    return load_model(files / "m.safetensors")


def test_update_adds_the_new_rows_and_records_itself(files, tmp_path):
    m = fresh(files)
    before = m.predict()
    report = m.update(load_csv(str(files / "all.csv")))
    assert report.rows_added == 70 and report.stopped in ("early-stopping", "max-epochs")
    assert report.val_loss_after <= report.val_loss_before
    assert str(m.history_[""].index[-1].date()) == str(pd.Timestamp("2021-01-01") + pd.Timedelta(days=399))[:10]
    after = m.predict()
    assert after.series[""].index[0] == before.series[""].index[0] + pd.Timedelta(days=70)
    m.save(tmp_path / "u.safetensors")
    again = load_model(tmp_path / "u.safetensors")
    [entry] = again.training_["updates"]
    assert entry["rows_added"] == 70 and entry["source"].endswith("all.csv")
    assert entry["val_loss_before"] == pytest.approx(report.val_loss_before)
    np.testing.assert_allclose(again.predict().series[""].point, after.series[""].point, rtol=1e-9)


def test_the_new_rows_alone_continue_the_stored_history(files):
    """A file with only the new rows: the stored tail gives the windows their lookback;
    the forecast continues from the same end as with the whole file."""
    whole, alone = fresh(files), fresh(files)
    whole.update(load_csv(str(files / "all.csv")))
    alone.update(load_csv(str(files / "new_only.csv")))
    assert alone.history_[""].index[-1] == whole.history_[""].index[-1]
    np.testing.assert_array_equal(alone.history_[""].to_numpy(), whole.history_[""].to_numpy())


def test_a_gap_after_the_history_and_an_unknown_series_are_refused(files, tmp_path):
    with pytest.raises(DataError, match=r"continues at 2021-12-07.*ends at 2021-11-26.*missing"):
        fresh(files).update(load_csv(str(files / "gap.csv")))
    other = daily_frame(400).assign(id="b")
    pd.concat([daily_frame(400).assign(id="a"), other]).to_csv(tmp_path / "long.csv", index=False)
    with pytest.raises(DataError, match="series 'a' was not in the training data"):
        fresh(files).update(load_csv(str(tmp_path / "long.csv"), id_col="id"))


def test_a_new_series_in_a_long_file_is_named(tmp_path):
    frames = [daily_frame(300, seed=i).assign(id=k) for i, k in enumerate("ab")]
    pd.concat(frames).to_csv(tmp_path / "two.csv", index=False)
    m = LSTMForecaster(**TINY).fit(load_csv(str(tmp_path / "two.csv"), id_col="id"))
    frames.append(daily_frame(330, seed=5).assign(id="c"))
    pd.concat(frames).to_csv(tmp_path / "three.csv", index=False)
    with pytest.raises(DataError, match="series 'c' was not in the training data.*refit"):
        m.update(load_csv(str(tmp_path / "three.csv"), id_col="id"))


def test_nothing_new_changes_nothing(files):
    m = fresh(files)
    theta = m.net_.theta.copy()
    report = m.update(load_csv(str(files / "old.csv")))
    assert report.stopped == "nothing-new" and report.rows_added == 0
    np.testing.assert_array_equal(m.net_.theta, theta)
    assert "updates" not in m.training_


def test_no_improvement_keeps_the_old_weights_exactly(files):
    m = fresh(files)
    theta = m.net_.theta.copy()
    report = m.update(load_csv(str(files / "all.csv")), lr=1e-12)
    assert report.kept_old_weights and report.val_loss_after == report.val_loss_before
    np.testing.assert_array_equal(m.net_.theta, theta)
    assert m.history_[""].index[-1] == pd.Timestamp("2022-02-04")  # history refreshed all the same


def test_same_update_same_model(files):
    a, b = fresh(files), fresh(files)
    a.update(load_csv(str(files / "tail.csv")))
    b.update(load_csv(str(files / "tail.csv")))
    np.testing.assert_array_equal(a.net_.theta, b.net_.theta)
    np.testing.assert_array_equal(a.residuals_, b.residuals_)


def test_new_rows_far_outside_the_scaling_are_refused(tmp_path):
    frame = daily_frame(400)
    frame.iloc[:330].to_csv(tmp_path / "old.csv", index=False)
    m = LSTMForecaster(**TINY, normalize="none").fit(load_csv(str(tmp_path / "old.csv")))
    frame.loc[330:, "value"] *= 40  # the level the network was scaled on is long gone
    frame.to_csv(tmp_path / "jump.csv", index=False)
    with pytest.raises(DataError, match="scaling no longer fits; refit"):
        m.update(load_csv(str(tmp_path / "jump.csv")))


def test_recalibration_keeps_the_set_size_and_puts_the_newest_last(files):
    m = fresh(files)
    stored = m.residuals_.copy()
    m.update(load_csv(str(files / "all.csv")))
    assert m.residuals_.shape == stored.shape
    assert not np.array_equal(m.residuals_[-5:], stored[-5:])


# ---------------------------------------------------------------- check


def test_check_scores_only_new_points_and_beats_the_baselines_on_a_seasonal_series(files):
    m = load_model(files / "m56.safetensors")
    default = check(m, load_csv(str(files / "all.csv")))
    assert default.points == 28 and default.origins == 4 and default.horizon == 7
    assert set(default.table["model"]) == {"lstm", "naive", "seasonal_naive", "drift"}
    result = check(m, load_csv(str(files / "all.csv")), last=100)
    assert result.points == 70 and any("only 70 new point" in n for n in result.notes)
    assert result.status == "ok" and result.model_score < 0.9 * result.baseline_score
    # the scores are those of the model's forecasts from the 10 origins, computed here again
    from lstmcast.model.backtest import _cut

    data = load_csv(str(files / "all.csv"))
    errors = [np.abs(m.predict(7, _cut(data, 70 - 7 * i)).series[""].point[:, 0]
                     - data.series[""]["value"].to_numpy()[330 + 7 * i:337 + 7 * i]).mean() for i in range(10)]
    assert result.table.set_index("model").loc["lstm", "MAE"] == pytest.approx(np.mean(errors))
    short = check(m, load_csv(str(files / "all.csv")), last=5)
    assert (short.points, short.origins, short.horizon) == (5, 1, 5)


def test_check_nothing_new_and_worse(files, tmp_path):
    assert check(fresh(files), load_csv(str(files / "old.csv"))).status == "nothing-new"
    frame = daily_frame(400)
    frame.iloc[:330].to_csv(tmp_path / "old.csv", index=False)
    m = LSTMForecaster(**TINY, normalize="none", guard=False).fit(load_csv(str(tmp_path / "old.csv")))
    frame.loc[330:, "value"] += 8  # a level shift: the model forecasts the old level
    frame.to_csv(tmp_path / "shift.csv", index=False)
    result = check(m, load_csv(str(tmp_path / "shift.csv")))
    assert result.status == "worse" and result.model_score > 2 * result.baseline_score
    with pytest.raises(UsageError, match="--last must be a whole number of 1 or more"):
        check(m, load_csv(str(tmp_path / "shift.csv")), last=0)


@pytest.mark.parametrize("gap", ["new rows", "replayed history"])
def test_a_masked_model_updates_over_missing_targets(tmp_path, gap):
    """``--missing mask``: missing targets in the rows update reads are left out of the
    recalibration as fit leaves them out (update once stored NaN scores and refused)."""
    frame = daily_frame(400)
    where = slice(350, 356) if gap == "new rows" else slice(318, 324)
    frame.loc[where, "value"] = np.nan
    frame.iloc[:330].to_csv(tmp_path / "old.csv", index=False)
    frame.to_csv(tmp_path / "all.csv", index=False)
    m = LSTMForecaster(**TINY).fit(load_csv(str(tmp_path / "old.csv"), missing="mask"))
    stored = len(m.residuals_)
    m.update(load_csv(str(tmp_path / "all.csv"), missing="mask"))
    assert len(m.residuals_) == stored and np.isfinite(m.residuals_).all()
    m.save(tmp_path / "m.safetensors")
    f = load_model(tmp_path / "m.safetensors").predict(levels=[80])
    assert np.isfinite(f.series[""].lower[80]).all()


def test_older_rows_that_contradict_the_history_are_refused(files, tmp_path):
    """Every older value x1000 was accepted and widened the 80 % band from [11.7, 13.3] to
    [0, 30]; a small revision (an adjusted close) is still data."""
    frame = daily_frame(400)
    scaled = frame.copy()
    scaled.loc[:329, "value"] *= 1000
    scaled.to_csv(tmp_path / "scaled.csv", index=False)
    m = fresh(files)
    before = m.history_[""].copy()
    with pytest.raises(DataError, match=r"'value' at 2021-11-\d\d is 2\d{4}.* in the file but .* in the model's history"):
        m.update(load_csv(str(tmp_path / "scaled.csv")))
    pd.testing.assert_frame_equal(m.history_[""], before)  # nothing changed
    revised = frame.copy()
    revised.loc[:329, "value"] *= 1.01
    revised.to_csv(tmp_path / "revised.csv", index=False)
    assert fresh(files).update(load_csv(str(tmp_path / "revised.csv"))).rows_added == 70
    # the same revision for a model of log values (its scaler's units are not the data's)
    logged = LSTMForecaster(**TINY, transform="log").fit(load_csv(str(files / "old.csv")))
    assert logged.update(load_csv(str(tmp_path / "revised.csv"))).rows_added == 70
    with pytest.raises(DataError, match="contradict"):
        LSTMForecaster(**TINY, transform="log").fit(load_csv(str(files / "old.csv"))).update(
            load_csv(str(tmp_path / "scaled.csv")))

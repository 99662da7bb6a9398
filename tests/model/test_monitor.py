"""The monitor (lstmcast.model.monitor): the verdict's arithmetic on closed-form records,
the record kept by update before it learns, and check judging on it whichever runs first."""

import math

import numpy as np
import pytest

from conftest import cron_files
from lstmcast.data.dataset import load_csv
from lstmcast.errors import DataError
from lstmcast.model import monitor
from lstmcast.model.check import check
from lstmcast.model.forecaster import LSTMForecaster, load_model

TINY = dict(hidden=8, epochs=6, seed=0, lookback=21, horizon=7)


def entry(points, lstm, naive, snaive, metric="MASE"):
    return {"until": "x", "metric": metric, "points": points, "series": 1,
            "scores": {"lstm": lstm, "naive": naive, "seasonal_naive": snaive, "drift": None}}


def test_the_verdict_weighs_the_newest_points_and_applies_the_tolerance():
    record = [entry(7, 9.0, 1.0, 1.0),      # old and terrible: outside a 14-point window
              entry(7, 1.2, 1.0, 2.0), entry(7, 1.0, 1.0, 2.0)]
    v = monitor.verdict(record, None, 14, 0.0)
    assert v.points == 14 and v.recorded == 14 and v.best_baseline == "naive"
    assert v.model == pytest.approx(1.1) and v.baseline == pytest.approx(1.0) and v.status == "worse"
    assert monitor.verdict(record, None, 14, 0.1).status == "ok"          # 1.1 is not above 1.0 x 1.1
    assert monitor.verdict(record, None, 14, 0.099).status == "worse"
    wide = monitor.verdict(record, None, 21, 0.5)  # the old entry now counts: (9 + 1.2 + 1) / 3
    assert wide.model == pytest.approx(11.2 / 3) and wide.status == "worse"
    part = monitor.verdict(record, None, 10, 0.0)  # 7 points of the newest, 3 of the one before
    assert part.points == 10 and part.model == pytest.approx((7 * 1.0 + 3 * 1.2) / 10)


def test_new_scores_come_before_the_record_and_nothing_means_no_verdict():
    new = monitor.Scores("MASE", 7, 1, 1, 7, "x", {}, origins_scored=[entry(7, 3.0, 1.0, 1.0)])
    v = monitor.verdict([entry(7, 1.0, 1.0, 1.0)], new, 7, 0.0)
    assert v.model == 3.0 and v.recorded == 0 and v.status == "worse"
    assert monitor.verdict([], None, 7, 0.0) is None
    assert monitor.verdict([entry(0, 1.0, 1.0, 1.0)], None, 7, 0.0) is None


def test_a_damaged_record_is_refused(tmp_path):
    model = LSTMForecaster(**TINY)
    model.training_ = {"monitor": [{"points": "seven"}]}
    with pytest.raises(DataError, match="record of scored forecasts"):
        monitor.record(model)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("mon")
    cron_files(d)
    model = LSTMForecaster(**TINY).fit(load_csv(str(d / "old.csv")))
    model.save(d / "m.safetensors")
    return d


def test_update_scores_the_new_rows_before_it_learns_and_check_then_judges_on_the_record(files):
    data = load_csv(str(files / "all.csv"))
    before = check(load_model(files / "m.safetensors"), data, last=70)  # what the model would have scored
    model = load_model(files / "m.safetensors")
    assert monitor.record(model) == []  # a fit starts an empty record
    model.update(data)
    record = monitor.record(model)
    assert sum(e["points"] for e in record) == 70 and len(record) == 10  # 10 origins of 7 steps
    after = check(model, data, last=70)
    assert after.status != "nothing-new" and after.verdict.recorded == 70  # the update-then-check order works
    assert after.model_score == pytest.approx(before.model_score)  # the same forecasts, scored before learning
    assert after.baseline_score == pytest.approx(before.baseline_score)
    assert math.isfinite(after.model_score)
    model.save(files / "u.safetensors")
    assert monitor.record(load_model(files / "u.safetensors")) == record  # kept in the model file


def test_check_with_nothing_new_and_an_empty_record_has_nothing_to_judge(files):
    model = load_model(files / "m.safetensors")
    assert check(model, load_csv(str(files / "old.csv"))).status == "nothing-new"


def test_a_level_shift_makes_a_fixed_level_model_worse(files):
    """A model that cannot follow the level (--normalize none) is called worse on the
    shifted rows, and by far more than on the same rows unshifted."""
    model = LSTMForecaster(**TINY, normalize="none", guard=False).fit(load_csv(str(files / "old.csv")))
    plain = check(model, load_csv(str(files / "all.csv")))
    shifted = check(model, load_csv(str(files / "shift.csv")))
    assert shifted.status == "worse" and shifted.model_score > shifted.baseline_score * (1 + monitor.TOLERANCE)
    assert shifted.model_score / shifted.baseline_score > 2 * plain.model_score / plain.baseline_score
    assert np.isfinite(shifted.table["MASE"]).all()

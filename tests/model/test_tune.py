"""The search: budgets, candidates, successive halving, the unseen folds, determinism."""

import numpy as np
import pytest

from conftest import monthly_csv
from lstmcast.config import ModelConfig, TrainConfig
from lstmcast.errors import DataError, UsageError
from lstmcast.model import tune


def test_budgets():
    from lstmcast.config import TuneConfig

    assert [TuneConfig(budget=b).seconds for b in ("90", "90s", "10m", "1.5h", " 2M ")] == [90, 90, 600, 5400, 120]
    for bad in ("", "m", "ten minutes", "-5m", "0", "nan", "inf"):
        with pytest.raises(UsageError, match="--budget must be a time"):
            TuneConfig(budget=bad)


def test_candidates_start_with_the_defaults_and_follow_the_seed():
    m, t = ModelConfig(), TrainConfig()
    a = tune.candidates(m, t, set(), 24, 12, seed=0, count=20)
    assert a[0] == {"lookback": 24, "hidden": None, "layers": 1, "lr": 0.003, "normalize": "auto", "dropout": 0.0,
                    "ensemble": 1}
    assert len(a) == 20 and len({tuple(sorted(p.items())) for p in a}) == 20
    assert a == tune.candidates(m, t, set(), 24, 12, seed=0, count=20)
    assert a != tune.candidates(m, t, set(), 24, 12, seed=1, count=20)
    assert all(p["dropout"] == 0 or p["layers"] == 2 for p in a)
    assert {p["lookback"] for p in a} <= {12, 24, 48}
    assert {p["ensemble"] for p in tune.candidates(m, t, set(), 24, 12, seed=0, count=60)} == {1, 3}
    assert tune._forecaster(m, t, {"ensemble": 3, "lr": 0.01}).model_config.ensemble == 3
    fixed = tune.candidates(m.replace(layers=2), t.replace(lr=0.01), {"layers", "lr"}, 24, 12, seed=0, count=30)
    assert {p["layers"] for p in fixed} == {2} and {p["lr"] for p in fixed} == {0.01}
    short = tune.candidates(m, t, set(), 5, 12, seed=0, count=400)  # no season fits in 2-10 steps
    assert all(p["normalize"] != "season" for p in short)


FAST = dict(epochs=3)


def test_successive_halving_and_the_unseen_folds(tmp_path):
    ds = monthly_csv(tmp_path / "m.csv", n=200)
    m, t = ModelConfig(hidden=8), TrainConfig(epochs=3)
    seen = []
    r = tune.tune(ds, m, t, fixed={"hidden"}, budget=600, trials=9, folds=2, holdout=1,
                  on_trial=lambda trial, done, total: seen.append((trial.number, done)))
    assert r.stopped == "complete" and r.folds_used == 2
    scored = [x for x in r.trials if x.status != "failed"]
    # rung 0: all on fold 0; rung 1: the best third on folds 0 and 1
    assert sum(len(x.scores) == 2 for x in scored) == 3
    assert all(x.status == "pruned" for x in scored if len(x.scores) == 1)
    top = sorted((x for x in scored if len(x.scores) == 2), key=lambda x: x.score(2))
    assert r.best is top[0] and r.best.score(2) == pytest.approx(np.mean(list(r.best.scores.values())))
    rung0 = sorted((x for x in scored), key=lambda x: x.scores[0])
    assert {x.number for x in rung0[:3]} == {x.number for x in top}
    assert {p["hidden"] for p in (x.params for x in r.trials)} == {8}
    assert set(r.holdout) == {"folds", "tuned", "defaults", "baselines"} and r.holdout["folds"] == 1
    assert [d for _, d in seen] == list(range(1, len(seen) + 1))
    again = tune.tune(ds, m, t, fixed={"hidden"}, budget=600, trials=9, folds=2, holdout=1)
    strip = lambda rows: [{k: v for k, v in x.row().items() if k != "seconds"} for x in rows]  # noqa: E731
    assert strip(again.trials) == strip(r.trials)


def test_budget_and_stop_end_the_search(tmp_path):
    ds = monthly_csv(tmp_path / "m.csv", n=200)
    m, t = ModelConfig(hidden=8), TrainConfig(epochs=3)
    with pytest.raises(DataError, match="no trial finished within the budget"):
        tune.tune(ds, m, t, fixed=set(), budget=1e-9, trials=5, folds=1, holdout=1)
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 40  # after a few fits (each fit asks at every batch)
    r = tune.tune(ds, m, t, fixed=set(), budget=600, trials=9, folds=2, holdout=1, should_stop=stop)
    assert r.stopped == "interrupted" and r.best.scores and "tuned" not in r.holdout
    assert any(not x.scores for x in r.trials)


def test_too_little_data_to_tune(tmp_path):
    ds = monthly_csv(tmp_path / "m.csv", n=40)
    with pytest.raises(DataError, match="too little data to tune"):
        tune.tune(ds, ModelConfig(), TrainConfig(), fixed=set(), budget=60, folds=4, holdout=2)

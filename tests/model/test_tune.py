"""The search: budgets, candidates, successive halving, the unseen folds, determinism,
and the time the search keeps for what comes after it."""

import numpy as np
import pytest

from conftest import monthly_csv
from lstmcast.config import ModelConfig, TrainConfig
from lstmcast.errors import DataError, UsageError
from lstmcast.model import tune
from lstmcast.model.budget import Budget, final, reserve


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
    seen, rungs = [], []
    r = tune.tune(ds, m, t, fixed={"hidden"}, budget=600, trials=9, folds=2, holdout=1,
                  on_trial=lambda trial, done, total: seen.append((trial.number, done)), on_rung=rungs.append)
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
    assert [(x.number, x.trials, x.scored + x.failed, x.cut + x.slow, x.folds, x.ended) for x in rungs] == [
        (0, 9, 9, 0, 1, "complete"), (1, 3, 3, 0, 2, "complete")]
    assert rungs[1].best is r.best and rungs[0].best.scores[0] == min(x.scores[0] for x in scored)
    assert all(x.ran for x in r.trials)
    again = tune.tune(ds, m, t, fixed={"hidden"}, budget=600, trials=9, folds=2, holdout=1)
    strip = lambda rows: [{k: v for k, v in x.row().items() if k != "seconds"} for x in rows]  # noqa: E731
    assert strip(again.trials) == strip(r.trials)


def test_budget_and_stop_end_the_search(tmp_path):
    ds = monthly_csv(tmp_path / "m.csv", n=200)
    m, t = ModelConfig(hidden=8), TrainConfig(epochs=3)
    # the smallest budget still scores the defaults once, and keeps no time for a comparison
    r = tune.tune(ds, m, t, fixed=set(), budget=1e-9, trials=5, folds=1, holdout=1)
    assert r.stopped == "budget" and r.best.number == 0 and r.best.scores
    assert [x.number for x in r.trials if x.ran] == [0] and r.holdout == {"folds": 1, "skipped": "budget"}
    calls = []

    def stop():
        calls.append(1)
        return len(calls) > 40  # after a few fits (each fit asks at every batch)
    r = tune.tune(ds, m, t, fixed=set(), budget=600, trials=9, folds=2, holdout=1, should_stop=stop)
    assert r.stopped == "interrupted" and r.best.scores and "tuned" not in r.holdout
    assert any(not x.ran for x in r.trials)


def test_the_search_keeps_time_for_the_comparison_and_the_final_fit():
    # best 2 s a fold, defaults 1 s, 2 unseen folds: 2 x (2 + 1) for the comparison and
    # the costlier of the two for the final fit, on 1.5 times the rows
    assert reserve(2.0, 1.0, holdout=2, best_is_defaults=False, scale=1.5) == pytest.approx(1.5 * (6 + 2))
    assert reserve(1.0, 1.0, holdout=2, best_is_defaults=True, scale=1.0) == pytest.approx(2 + 1)  # one comparison
    assert final(0.5, 3.0) == 3.0
    now = [100.0]
    b = Budget(60, clock=lambda: now[0])
    now[0] = 130.0
    assert (b.left(), b.spent()) == (30.0, 30.0)
    b.exclude(20.0)  # readying the kernels is not counted
    assert (b.deadline, b.left(), b.spent()) == (180.0, 50.0, 10.0)


def test_a_bigger_network_is_guessed_to_cost_at_least_as_much():
    small = {"ensemble": 1, "layers": 1, "hidden": 32, "lookback": 28, "lr": 0.01}
    assert tune.at_least_as_big({**small, "ensemble": 3, "lr": 0.001}, small)
    assert tune.at_least_as_big({**small, "layers": 2, "lookback": 56}, small)
    assert not tune.at_least_as_big({**small, "ensemble": 3, "hidden": 16}, small)  # smaller in one way
    assert not tune.at_least_as_big(small, {**small, "lookback": 56})
    assert tune.at_least_as_big({**small, "hidden": None}, small, hidden=32)  # None: the default size
    assert not tune.at_least_as_big({**small, "hidden": None}, small, hidden=16)


def test_a_fit_in_progress_stops_at_the_deadline(tmp_path):
    """After trial 0, every reading of the clock moves it on 100 s: trial 1's fit starts
    (the time it will take is unknown) and stops at a batch when its cost so far leaves no
    time for what comes after the search, should it be the best; the search goes on with
    the next trials until none fits."""
    ds = monthly_csv(tmp_path / "m.csv", n=200)
    now, reads = [0.0], []

    def clock():
        if reads:
            now[0] += 100.0
            reads.append(now[0])
        return now[0]

    def on_trial(trial, done, total):
        if trial.number == 0 and not reads:
            reads.append(now[0])  # the clock starts moving
    r = tune.tune(ds, ModelConfig(hidden=8), TrainConfig(epochs=3), fixed={"hidden"}, trials=5, folds=1, holdout=1,
                  budget=Budget(1000, clock=clock), on_trial=on_trial)
    assert r.stopped == "budget" and r.best.number == 0 and not r.trials[-1].ran
    one = r.trials[1]
    assert one.status == "stopped" and one.ran and not one.scores and one.seconds > 0
    assert one.note.startswith("stopped after") and one.note.endswith("too slow for the time left in the budget")
    assert len(reads) > 3  # may trial 1 start, its fit's start, its batches...
    assert r.holdout == {"folds": 1, "skipped": "budget"}


def test_too_little_data_to_tune(tmp_path):
    ds = monthly_csv(tmp_path / "m.csv", n=40)
    with pytest.raises(DataError, match="too little data to tune"):
        tune.tune(ds, ModelConfig(), TrainConfig(), fixed=set(), budget=60, folds=4, holdout=2)

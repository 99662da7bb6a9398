"""``tune``: a seeded search over the model's options, by successive halving, on
rolling-origin folds of the training part, under a wall-clock budget.

Owns the search space, the schedule and the verdict:

* The last ``holdout`` origins of the data (``holdout x horizon`` rows) are never seen by
  the search; the tuned options and the defaults are both backtested on them at the end
  (the gain the user can believe).
* Before them, fold ``i`` (``0`` the latest) fits on the rows before ``(holdout + i + 1)
  x horizon`` from the end and scores the next ``horizon`` rows (MASE, the mean over
  series and targets, as ``evaluate``).
* Trial 0 is the defaults; the others are distinct combinations of the searched options,
  shuffled by the seed. Rung ``r`` scores its trials on the ``2**r`` latest folds (at
  most ``folds``) and the best third (at least one) go on to the next rung, until one
  rung holds a single trial or every fold is used. A fold scored at a lower rung is not
  refitted.
* The budget is checked before every fit: when it is spent, or the search is stopped
  (``should_stop``), no new fit starts, and the best trial is the one with the lowest
  mean MASE among those scored on the most folds. The same data, options and seed give
  the same sequence of trials; how far a budget reaches depends on the machine.

Options the user set are fixed, not searched. The ensemble size is searched between 1
and :data:`ENSEMBLE` members (a 3-member trial costs about 3 fits).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from lstmcast.config import ModelConfig, TrainConfig, TuneConfig
from lstmcast.data.dataset import Dataset
from lstmcast.errors import DataError
from lstmcast.model.backtest import _cut, _skips

SEARCHED = ("lookback", "hidden", "layers", "lr", "normalize", "dropout", "ensemble")
HIDDEN = (16, 32, 64)
LAYERS = (1, 2)
LR = (1e-3, 3e-3, 1e-2)
NORMALIZE = ("auto", "last", "season", "none")
DROPOUT = (0.0, 0.2)  # between layers: only with two
ENSEMBLE = (1, 3)
FOLDS = 4    # search folds a trial is scored on, at most
HOLDOUT = 2  # latest folds kept from the search


@dataclass
class Trial:
    number: int
    params: dict
    scores: dict[int, float] = field(default_factory=dict)  # fold -> MASE
    seconds: float = 0.0
    rung: int = 0
    status: str = "pending"  # pending, scored, pruned, failed
    note: str = ""           # why a trial failed

    def score(self, folds: int) -> float:
        """Mean MASE over the ``folds`` latest folds (inf if any is missing)."""
        vals = [self.scores.get(i) for i in range(folds)]
        return float(np.mean(vals)) if all(v is not None for v in vals) else float("inf")

    def row(self) -> dict:
        n = len(self.scores)
        return {"trial": self.number, "rung": self.rung, "status": self.status, "folds": n,
                "MASE": round(self.score(n), 6) if n else None, "seconds": round(self.seconds, 3),
                **{k: self.params.get(k) for k in SEARCHED}, "note": self.note}


@dataclass
class TuneResult:
    trials: list[Trial]
    best: Trial
    folds_used: int
    stopped: str                   # "complete", "budget" or "interrupted"
    holdout: dict                  # {"folds", "tuned", "defaults"} MASE on the unseen folds
    seconds: float


def candidates(model: ModelConfig, train: TrainConfig, fixed: set[str], default_lookback: int,
               season: int, seed: int, count: int) -> list[dict]:
    """The trials' options: the defaults first, then up to ``count - 1`` distinct
    combinations of the options not in ``fixed``, in an order shuffled by ``seed``."""
    space = {
        "lookback": sorted({max(2, default_lookback // 2), default_lookback, 2 * default_lookback}),
        "hidden": HIDDEN, "layers": LAYERS, "lr": LR, "normalize": NORMALIZE, "dropout": DROPOUT,
        "ensemble": ENSEMBLE,
    }
    defaults = {"lookback": default_lookback, "hidden": model.hidden, "layers": model.layers,
                "lr": train.lr, "normalize": model.normalize, "dropout": model.dropout,
                "ensemble": model.ensemble}
    names = [k for k in SEARCHED if k not in fixed]
    combos = []
    for values in itertools.product(*(space[k] for k in names)):
        p = dict(zip(names, values))
        if p.get("dropout", 0.0) > 0 and p.get("layers", model.layers) < 2:
            continue  # dropout acts between layers
        if p.get("normalize") == "season" and p.get("lookback", default_lookback) < season:
            continue
        combos.append(p)
    order = np.random.default_rng(seed).permutation(len(combos))
    first = {k: defaults[k] for k in names}
    out = [first]
    for i in order:
        p = combos[i]
        if p != first and len(out) < count:
            out.append(p)
    return [{**{k: defaults[k] for k in SEARCHED if k in fixed}, **p} for p in out]


def _forecaster(model: ModelConfig, train: TrainConfig, params: dict):
    from lstmcast.model.forecaster import LSTMForecaster

    m = model.replace(**{k: v for k, v in params.items() if k in ("lookback", "hidden", "layers",
                                                                   "normalize", "dropout", "ensemble")})
    return LSTMForecaster(model=m, train=train.replace(lr=params.get("lr", train.lr)))


def tune(dataset: Dataset, model: ModelConfig, train: TrainConfig, *, fixed: set[str], budget: float,
         trials: int = 27, folds: int | None = None, holdout: int | None = None, should_stop=None,
         on_trial=None, runner=None) -> TuneResult:
    """Search (see the module docstring); ``on_trial(trial, done, total)`` after every fold
    scored. ``folds`` and ``holdout`` default to :data:`FOLDS` and :data:`HOLDOUT`, fewer
    when the shortest series has too few rows. Returns the trials and the unseen-fold
    comparison; the caller fits the best. ``runner(jobs, levels)`` fits and forecasts a
    rung's ``(forecaster, history, horizon)`` jobs elsewhere, all at once
    (:func:`lstmcast.cluster.spread.fit_predict_runner`), with the same results as here."""
    from lstmcast.model.backtest import backtest
    from lstmcast.model.forecaster import LSTMForecaster

    TuneConfig(trials=trials, folds=folds, holdout=holdout)  # the options' own rules
    started = time.perf_counter()
    stop = should_stop or (lambda: False)
    template = LSTMForecaster(model=model, train=train)
    m0, _ = template.resolved(dataset)
    H = m0.horizon
    model = model.replace(horizon=H)
    shortest = min(len(f) for f in dataset.series.values())
    room = max(4 * H, 20)  # rows the earliest fold fits on, at least
    if folds is None:  # as many as the data allows, up to FOLDS (and HOLDOUT unseen ones)
        folds = max(1, min(FOLDS, (shortest - room) // H - (holdout or HOLDOUT)))
    if holdout is None:
        holdout = max(1, min(HOLDOUT, (shortest - room) // H - folds))
    if shortest - (holdout + folds) * H < room:
        raise DataError(f"{dataset.source}: too little data to tune: {holdout} unseen + {folds} search folds of "
                        f"{H} steps leave {shortest - (holdout + folds) * H} rows to fit on "
                        "(try fewer --folds or --holdout, or a smaller --horizon)")
    search = _cut(dataset, holdout * H)
    base_lookback = LSTMForecaster(model=model, train=train).resolved(search)[0].lookback
    plan = [Trial(i, p) for i, p in enumerate(candidates(model, train, fixed, base_lookback, m0.season,
                                                          train.seed, trials))]
    # fits the schedule needs if nothing is cut short (the progress bar's total)
    total, n, need = 0, len(plan), 1
    while True:
        total += n * need if need == 1 else n * (need - need // 2)
        if n <= 1 or need >= folds:
            break
        n, need = max(1, n // 3), min(2 * need, folds)
    done = 0
    state = "complete"

    def may_start() -> bool:
        nonlocal state
        if stop():
            state = "interrupted"
        elif time.perf_counter() - started > budget:
            state = "budget"
        return state == "complete"

    def score(trial: Trial, fold: int, forecast=None, seconds: float = 0.0) -> bool:
        """Score one fold of a trial (here, or from a forecast made elsewhere)."""
        nonlocal done, state
        if forecast is None and not may_start():
            return False
        t0 = time.perf_counter()
        remote = None if forecast is None else (lambda f, histories, h, levels: [forecast])
        try:
            if isinstance(forecast, Exception):
                raise forecast
            bt = backtest(_cut(search, fold * H), folds=1, forecaster=_forecaster(model, train, trial.params),
                          should_stop=stop, runner=remote)
        except DataError as e:
            trial.status, trial.note = "failed", str(e).split(": ", 1)[-1]
            return True
        if bt is None:  # stopped inside the fit
            state = "interrupted"
            return False
        trial.scores[fold] = float(bt.table.set_index("model").loc["lstm", "MASE"])
        trial.seconds += seconds or time.perf_counter() - t0
        trial.status = "scored"
        done += 1
        if on_trial:
            on_trial(trial, done, max(total, done))
        return True

    alive = plan
    rung, used = 0, 0
    while alive and state == "complete":
        need = min(2 ** rung, folds)
        for trial in alive:
            trial.rung = rung
        todo = [(t, f) for t in alive for f in range(need) if f not in t.scores and t.status != "failed"]
        if runner is None:
            for trial, fold in todo:
                if not score(trial, fold):
                    break
        elif todo and may_start():  # the whole rung at once, elsewhere
            t0 = time.perf_counter()
            forecasts = runner([(_forecaster(model, train, t.params), *_fold_history(search, f, H))
                                for t, f in todo], [])
            if forecasts is None:
                state = "interrupted"
            else:
                share = (time.perf_counter() - t0) / len(todo)
                for (trial, fold), fc in zip(todo, forecasts):
                    score(trial, fold, fc, share)
        ranked = sorted((t for t in alive if len(t.scores) >= need), key=lambda t: t.score(need))
        if ranked:
            used = need
        if state != "complete" or len(ranked) <= 1 or need == folds:
            break
        keep = ranked[:max(1, len(ranked) // 3)]
        for t in alive:
            if t not in keep and t.status != "failed":
                t.status = "pruned"
        alive, rung = keep, rung + 1
    scored = [t for t in plan if len(t.scores) >= max(used, 1)]
    if not scored:
        raise DataError(f"{dataset.source}: no trial finished within the budget (give a longer --budget)"
                        if state == "budget" else f"{dataset.source}: no trial could be scored "
                        f"({plan[0].note})")
    best = min(scored, key=lambda t: (t.score(used), t.number))
    result = TuneResult(plan, best, used, state, {"folds": holdout}, 0.0)
    if state != "interrupted":
        result.holdout = _unseen(dataset, model, train, best, holdout, stop, runner)
    result.seconds = time.perf_counter() - started
    return result


def _fold_history(search, fold: int, H: int):
    """(history, steps) of search fold ``fold`` as :func:`backtest` cuts it: steps past H
    when a gap moved the origin back (--missing mask)."""
    data = _cut(search, fold * H)
    history = _cut(data, H)
    return history, H + max(_skips(data, history, H).values(), default=0)


def _unseen(dataset: Dataset, model: ModelConfig, train: TrainConfig, best: Trial, holdout: int, stop,
            runner=None) -> dict:
    """The tuned and the default options backtested on the folds the search never saw."""
    from lstmcast.model.backtest import backtest

    folds_runner = None if runner is None else (
        lambda f, histories, h, levels: runner([(f, x, h) for x in histories], levels))
    out = {"folds": holdout}
    for name, params in (("tuned", best.params), ("defaults", {})):
        if name == "defaults" and best.number == 0:
            out["defaults"] = out["tuned"]
            continue
        bt = backtest(dataset, folds=holdout, forecaster=_forecaster(model, train, params), should_stop=stop,
                      runner=folds_runner)
        if bt is None:
            return {"folds": holdout}
        out[name] = float(bt.table.set_index("model").loc["lstm", "MASE"])
        out["baselines"] = {m: float(v) for m, v in bt.table.set_index("model")["MASE"].items() if m != "lstm"}
    return out

"""``tune``: a seeded search over the model's options, by successive halving, on
rolling-origin folds of the training part, within a wall-clock budget.

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
* The budget (:mod:`lstmcast.model.budget`) is the whole run's: the search keeps, from
  the fits it measures, the time the comparison on the unseen folds and the final fit
  will take. A fit does not start, and a fit in progress stops at its next batch, when
  it would eat into that time; the comparison likewise keeps the final fit's time, and is
  skipped when it does not fit. Trial 0's first fold always runs, so the smallest budget
  still scores the defaults once. When the budget is spent, or the search is stopped
  (``should_stop``), the best trial is the one with the lowest mean MASE among those
  scored on the most folds. The same data, options and seed give the same sequence of
  trials; how far a budget reaches depends on the machine.

Options the user set are fixed, not searched. The ensemble size is searched between 1
and :data:`ENSEMBLE` members (a 3-member trial costs about 3 fits).
"""

from __future__ import annotations

import itertools
import math
import time
from dataclasses import dataclass, field

import numpy as np

from lstmcast.config import ModelConfig, TrainConfig, TuneConfig
from lstmcast.data.dataset import Dataset
from lstmcast.errors import DataError
from lstmcast.model.backtest import _cut, _skips
from lstmcast.model.budget import MARGIN, Budget, final, reserve

SEARCHED = ("lookback", "hidden", "layers", "lr", "normalize", "dropout", "ensemble")
HIDDEN = (16, 32, 64)
LAYERS = (1, 2)
LR = (1e-3, 3e-3, 1e-2)
NORMALIZE = ("auto", "last", "season", "es", "none")
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
    status: str = "pending"  # pending, scored, pruned, failed, stopped (too slow for the budget)
    note: str = ""           # why a trial failed or was stopped

    def score(self, folds: int) -> float:
        """Mean MASE over the ``folds`` latest folds (inf if any is missing)."""
        vals = [self.scores.get(i) for i in range(folds)]
        return float(np.mean(vals)) if all(v is not None for v in vals) else float("inf")

    def cost(self) -> float | None:
        """Seconds per search-fold fit, as measured (None before its first fold)."""
        return self.seconds / len(self.scores) if self.scores else None

    @property
    def ran(self) -> bool:
        """Scored on a fold, found impossible to fit, or stopped part-way by the budget; a
        trial that the budget or a stop signal left out has none of these."""
        return bool(self.scores) or self.status in ("failed", "stopped")

    def row(self) -> dict:
        n = len(self.scores)
        return {"trial": self.number, "rung": self.rung, "status": self.status, "folds": n,
                "MASE": round(self.score(n), 6) if n else None, "seconds": round(self.seconds, 3),
                **{k: self.params.get(k) for k in SEARCHED}, "note": self.note}


@dataclass
class Rung:
    """One rung as it ended (for a line of progress)."""
    number: int
    trials: int          # trials in the rung, failed ones included
    scored: int          # scored on all of the rung's folds
    failed: int
    cut: int             # stopped part-way: too slow for the time left in the budget
    slow: int            # not started: too slow for the time left
    folds: int
    seconds: float
    best: Trial | None   # the lowest mean MASE on the rung's folds
    ended: str           # "complete", "budget" or "interrupted"


@dataclass
class TuneResult:
    trials: list[Trial]
    best: Trial                    # trial 0, unscored, when the budget or a stop left no trial scored
    folds_used: int
    stopped: str                   # "complete", "budget" or "interrupted"
    holdout: dict                  # {"folds", "tuned", "defaults", "baselines"} MASE on the unseen folds,
    seconds: float                 # or {"folds", "skipped": "budget" | "interrupted"}


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


def at_least_as_big(a: dict, b: dict, hidden: int | None = None) -> bool:
    """Whether options ``a`` make a network at least as big as ``b`` in every way a fit's
    cost grows with (members, layers, hidden size, lookback), so its fit costs at least as
    much, about (the learning rate, dropout and normalisation change the epochs early
    stopping lets run, either way). ``hidden``: the size a None stands for."""
    for k in ("ensemble", "layers", "hidden", "lookback"):
        x, y = a.get(k), b.get(k)
        if k == "hidden":
            x, y = (hidden if x is None else x), (hidden if y is None else y)
        if x != y and (x is None or y is None or x < y):
            return False
    return True


def _forecaster(model: ModelConfig, train: TrainConfig, params: dict, search: bool = False):
    """The forecaster of a trial's options; in the ``search``, without the statistical
    members: they do not depend on the network's options, and refitting ETS and Theta
    for every trial and fold doubled a search's fits (the unseen folds and the final fit
    use the whole combiner)."""
    from lstmcast.model.forecaster import LSTMForecaster

    m = model.replace(**{k: v for k, v in params.items() if k in ("lookback", "hidden", "layers",
                                                                   "normalize", "dropout", "ensemble")})
    return LSTMForecaster(model=m, train=train.replace(lr=params.get("lr", train.lr)),
                          **({"_combine": "guard"} if search else {}))


def tune(dataset: Dataset, model: ModelConfig, train: TrainConfig, *, fixed: set[str], budget: float | Budget,
         trials: int = 27, folds: int | None = None, holdout: int | None = None, should_stop=None,
         on_trial=None, on_rung=None, runner=None) -> TuneResult:
    """Search (see the module docstring). ``budget``: seconds from now, or the run's
    :class:`~lstmcast.model.budget.Budget`; either way it includes the final fit, which the
    caller makes within what is left. ``on_trial(trial, done, total)`` after every fold
    scored, ``on_rung(rung)`` (a :class:`Rung`) after every rung. ``folds`` and ``holdout``
    default to :data:`FOLDS` and :data:`HOLDOUT`, fewer when the shortest series has too
    few rows. Returns the trials and the unseen-fold comparison. ``runner(jobs, levels,
    should_stop=...)`` fits and forecasts a rung's ``(forecaster, history, horizon)`` jobs
    elsewhere, all at once, on ``runner.workers`` workers
    (:func:`lstmcast.cluster.spread.fit_predict_runner`), with the same results as here
    (trial 0's first fold goes first, alone)."""
    from lstmcast.model.backtest import backtest
    from lstmcast.model.forecaster import LSTMForecaster

    TuneConfig(trials=trials, folds=folds, holdout=holdout)  # the options' own rules
    clock = budget if isinstance(budget, Budget) else Budget(budget)
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
    # a fit on all of the data costs about this many times one on the earliest search fold
    scale = (sum(len(f) for f in dataset.series.values())
             / sum(len(f) - (holdout + folds) * H for f in dataset.series.values()))
    base = LSTMForecaster(model=model, train=train).resolved(search)[0]
    base_lookback = base.lookback
    plan = [Trial(i, p) for i, p in enumerate(candidates(model, train, fixed, base_lookback, m0.season,
                                                          train.seed, trials))]
    # fits the schedule needs if nothing is cut short (the progress bar's total)
    total, n, need = 0, len(plan), 1
    while True:
        total += n * need if need == 1 else n * (need - need // 2)
        if n <= 1 or need >= folds:
            break
        n, need = max(1, n // 3), min(2 * need, folds)
    done, used = 0, 0
    state = "complete"
    workers = max(1, getattr(runner, "workers", 1))

    def leader() -> Trial | None:
        """The best trial so far, by the rule that picks the best at the end."""
        pool = [t for t in plan if t.scores and len(t.scores) >= max(used, 1)]
        return min(pool, key=lambda t: (t.score(max(used, 1)), t.number)) if pool else None

    def kept_for(cost: float, is_defaults: bool) -> float:
        """Seconds to keep for the comparison and the final fit of a best trial of ``cost``
        seconds a fold (with a margin: the estimate is one)."""
        d = plan[0].cost()
        return MARGIN * reserve(cost, cost if d is None else d, holdout=holdout, best_is_defaults=is_defaults,
                                scale=scale)

    def keep(trial: Trial | None = None, cost: float = 0.0) -> float:
        """Seconds to keep after the search: for the best trial so far, or for ``trial``
        (``cost`` seconds a fold) should it become the best."""
        best = leader()
        return max(kept_for(best.cost(), best.number == 0) if best else 0.0,
                   kept_for(cost, trial.number == 0) if trial else 0.0)

    def exempt(trial: Trial, fold: int) -> bool:
        return trial.number == 0 and fold == 0  # the defaults are scored once, whatever the budget

    def guess(trial: Trial) -> float:
        """Seconds a fold of ``trial`` will take, at least: as measured; else what a trial
        no bigger took (or ran for before it was stopped), or the cheapest trial's."""
        c = trial.cost()
        if c is not None:
            return c
        bounds = [t.cost() if t.scores else t.seconds for t in plan
                  if (t.scores or t.status == "stopped") and at_least_as_big(trial.params, t.params, base.hidden)]
        return max(bounds, default=min((t.cost() for t in plan if t.scores), default=0.0))

    def may_start(trial: Trial, fold: int) -> str:
        """``"yes"``; ``"slow"`` when this trial's fit (at least what :func:`guess` says)
        and what it keeps do not fit in the time left, though a cheaper one may; ``"out"``
        when no fit does any more (the search is over); ``"stop"`` on a stop signal."""
        nonlocal state
        if stop():
            state = "interrupted"
            return "stop"
        if exempt(trial, fold):
            return "yes"
        now, cheapest = clock.clock(), min((t.cost() for t in plan if t.scores), default=0.0)
        if now + cheapest + keep() > clock.deadline:
            state = "budget"
            return "out"
        return "yes" if now + guess(trial) + keep(trial, guess(trial)) <= clock.deadline else "slow"

    def fit_stop(trial: Trial, fold: int):
        """``should_stop`` for a search fit: a stop signal, or the time kept for after the
        search reached (the seconds the fit has taken so far standing for an unmeasured
        trial's cost)."""
        if exempt(trial, fold):
            return stop
        kept, t0, deadline = keep(), clock.clock(), clock.deadline
        cost, least = trial.cost(), guess(trial)

        def check() -> bool:
            if stop():
                return True
            now = clock.clock()
            c = max(now - t0, least) if cost is None else cost
            return now + max(kept, kept_for(c, trial.number == 0)) > deadline
        return check

    def score(trial: Trial, fold: int, forecast=None, seconds: float = 0.0) -> str:
        """Score one fold of a trial (here, or from a forecast made elsewhere): "scored",
        "failed", "cut" (stopped part-way, too slow for the time left), or why it did not
        start (:func:`may_start`)."""
        nonlocal done, state, used
        if forecast is None and (why := may_start(trial, fold)) != "yes":
            return why
        t0 = time.perf_counter()
        remote = None if forecast is None else (lambda f, histories, h, levels: [forecast])
        try:
            if isinstance(forecast, Exception):
                raise forecast
            bt = backtest(_cut(search, fold * H), folds=1, forecaster=_forecaster(model, train, trial.params, search=True),
                          should_stop=fit_stop(trial, fold), runner=remote)
        except DataError as e:
            trial.status, trial.note = "failed", str(e).split(": ", 1)[-1]
            return "failed"
        if bt is None:  # stopped inside the fit
            if stop():
                state = "interrupted"  # the trial is dropped
                return "stop"
            # too slow for the time left: dropped like a failed trial, and the search goes on
            spent = time.perf_counter() - t0
            trial.seconds += spent
            trial.status = "stopped"
            trial.note = f"stopped after {spent:.1f} s: too slow for the time left in the budget"
            return "cut"
        trial.scores[fold] = float(bt.table.set_index("model").loc["lstm", "MASE"])
        trial.seconds += seconds or time.perf_counter() - t0
        trial.status = "scored"
        if len(trial.scores) >= need:
            used = need
        done += 1
        if on_trial:
            on_trial(trial, done, max(total, done))
        return "scored"

    def remotely(todo: list) -> None:
        """Score a rung's fits on the runner: trial 0's first fold alone (it is exempt from
        the budget, and measures a fit), then as many of the others as fit in the budget, at
        once; the runner stops them when the time kept for after the search is reached, and
        the fits done by then are scored."""
        nonlocal state
        first = [(t, f) for t, f in todo if exempt(t, f)]
        for group in (first, [x for x in todo if not exempt(*x)]):
            if not group:
                continue
            if stop():
                state = "interrupted"
                return
            halt = stop
            if group is not first:
                costs = [t.cost() for t in plan if t.scores]
                if costs:  # any of these trials may cost as much as the costliest so far
                    big = max(costs)
                    kept = max(keep(), kept_for(big, False))
                    rounds = int((clock.left() - kept) // max(float(np.mean(costs)), 1e-3))
                    if rounds < 1:
                        state = "budget"
                        return
                    if rounds * workers < len(group):
                        group, state = group[:rounds * workers], "budget"
                    deadline = clock.deadline
                    halt = lambda: stop() or clock.clock() + kept > deadline  # noqa: E731
            t0 = time.perf_counter()
            forecasts = runner([(_forecaster(model, train, t.params, search=True), *_fold_history(search, f, H))
                                for t, f in group], [], should_stop=halt, partial=True)
            got = [(job, fc) for job, fc in zip(group, forecasts) if fc is not None]
            if len(got) < len(group):  # stopped: the jobs done by then are scored
                state = "interrupted" if stop() else "budget"
            wall = time.perf_counter() - t0
            each = min(wall, wall * workers / max(1, len(got)))  # one fit's seconds, about
            for (trial, fold), fc in got:
                score(trial, fold, fc, each)
            if state != "complete":
                return

    alive = plan
    rung = 0
    while alive and state == "complete":
        need = min(2 ** rung, folds)
        r0 = time.perf_counter()
        for trial in alive:
            trial.rung = rung
        todo = [(t, f) for t in alive for f in range(need)
                if f not in t.scores and t.status not in ("failed", "stopped")]
        cut, slow = set(), set()  # trials stopped part-way, or not started: too slow for the time left
        if runner is None:
            for trial, fold in todo:
                if trial.number in cut | slow:
                    continue
                why = score(trial, fold)
                if why in ("stop", "out"):
                    break
                if why == "cut":
                    cut.add(trial.number)
                elif why == "slow":
                    slow.add(trial.number)
        elif todo:
            remotely(todo)
        for t in alive:  # a trial scored before that this rung could not afford
            if t.number in slow and t.scores:
                t.status, t.note = "stopped", f"not scored on {need} folds: too slow for the time left in the budget"
        ranked = sorted((t for t in alive if len(t.scores) >= need), key=lambda t: t.score(need))
        if on_rung:
            on_rung(Rung(rung, len(alive), len(ranked), sum(t.status == "failed" for t in alive), len(cut),
                         len(slow), need, time.perf_counter() - r0,
                         min(ranked, key=lambda t: (t.score(need), t.number), default=None), state))
        if state != "complete" or len(ranked) <= 1 or need == folds:
            break
        survivors = ranked[:max(1, len(ranked) // 3)]
        for t in alive:
            if t not in survivors and t.status == "scored":
                t.status = "pruned"
        alive, rung = survivors, rung + 1
    scored = [t for t in plan if len(t.scores) >= max(used, 1)]
    if scored:
        best = min(scored, key=lambda t: (t.score(used), t.number))
    elif state != "complete" and plan[0].status != "failed":
        best = plan[0]  # stopped before any score: the defaults, unscored
    else:
        raise DataError(f"{dataset.source}: no trial finished within the budget (give a longer --budget)"
                        if state == "budget" else f"{dataset.source}: no trial could be scored "
                        f"({plan[0].note})")
    if state == "complete" and any(t.status == "stopped" or not t.ran for t in plan):
        state = "budget"  # the search went on past trials too slow for the time left
    result = TuneResult(plan, best, used, state, {"folds": holdout, "skipped": "interrupted"}, 0.0)
    if state != "interrupted":
        result.holdout = _unseen(dataset, model, train, best, plan[0], holdout, stop, runner, clock=clock,
                                 scale=scale, workers=workers)
    result.seconds = time.perf_counter() - started
    return result


def _fold_history(search, fold: int, H: int):
    """(history, steps) of search fold ``fold`` as :func:`backtest` cuts it: steps past H
    when a gap moved the origin back (--missing mask)."""
    data = _cut(search, fold * H)
    history = _cut(data, H)
    return history, H + max(_skips(data, history, H).values(), default=0)


def _unseen(dataset: Dataset, model: ModelConfig, train: TrainConfig, best: Trial, defaults: Trial, holdout: int,
            stop, runner=None, *, clock: Budget, scale: float, workers: int = 1) -> dict:
    """The tuned and the default options backtested on the folds the search never saw.
    They start only when their fits (at the cost the search measured) and the final fit
    fit in the budget, and stop at the next batch when only the final fit's time is left:
    ``{"folds", "skipped": "budget"}`` then (``"interrupted"`` on a stop signal)."""
    from lstmcast.model.backtest import backtest

    c, d = best.cost(), defaults.cost()
    if c is None:  # nothing scored: no comparison to make
        return {"folds": holdout, "skipped": "budget"}
    d = c if d is None else d
    kept, deadline = scale * final(c, d), clock.deadline
    rounds = math.ceil(holdout / workers)
    needed = scale * rounds * (c + (0.0 if best.number == 0 else d))
    if clock.clock() + needed + kept > deadline:
        return {"folds": holdout, "skipped": "budget"}

    def over() -> bool:
        return stop() or clock.clock() + kept > deadline
    folds_runner = None if runner is None else (
        lambda f, histories, h, levels: runner([(f, x, h) for x in histories], levels, should_stop=over))
    out = {"folds": holdout}
    for name, params in (("tuned", best.params), ("defaults", {})):
        if name == "defaults" and best.number == 0:
            out["defaults"] = out["tuned"]
            continue
        bt = backtest(dataset, folds=holdout, forecaster=_forecaster(model, train, params), should_stop=over,
                      runner=folds_runner)
        if bt is None:
            return {"folds": holdout, "skipped": "interrupted" if stop() else "budget"}
        out[name] = float(bt.table.set_index("model").loc["lstm", "MASE"])
        out["baselines"] = {m: float(v) for m, v in bt.table.set_index("model")["MASE"].items() if m != "lstm"}
    return out

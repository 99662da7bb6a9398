"""Rolling-origin backtests: the LSTM and the baselines on the very same folds.

Owns the fold layout and the comparison. For fold ``i`` of ``k`` every series is cut at
``origin_i = len - horizon - (k - 1 - i) * step`` rows; the model is refitted on the
rows before the cut (or, with ``fitted``, a given model forecasts from them), and the
next ``horizon`` rows are the test. Baselines (:mod:`lstmcast.model.baselines`) see exactly
the same history. Metrics come from :mod:`lstmcast.model.metrics`, averaged over series,
folds and targets; MASE is scaled by each history's own seasonal naive error.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from lstmcast.config import EvaluateConfig
from lstmcast.data.dataset import Dataset
from lstmcast.frequencies import season_length
from lstmcast.model import baselines, metrics
from lstmcast.model.forecast import Forecast, SeriesForecast
from lstmcast.errors import DataError

MODEL = "lstm"


@dataclass
class FoldResult:
    series: str
    fold: int
    history: pd.DataFrame          # the rows before the origin (targets)
    actual: pd.DataFrame           # the test rows
    forecasts: dict[str, np.ndarray]  # model name -> (horizon, targets)
    bounds: dict[float, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # the model's, by level


@dataclass(repr=False)
class Backtest:
    """A backtest's result: ``table`` (one row of scores per model), ``verdict`` (the
    sentence ``evaluate`` prints), the best baseline, and every fold's forecasts."""
    table: pd.DataFrame
    verdict: str
    best_baseline: str
    folds: list[FoldResult] = field(default_factory=list)
    seconds: float = 0.0
    methods: dict[str, int] = field(default_factory=dict)  # the guard's choices: (series, target, fold)s each
    n_folds: int = 0
    horizon: int = 0
    fold_tables: list[pd.DataFrame] = field(default_factory=list)  # ``table`` of each origin alone

    def __repr__(self) -> str:
        """A few lines (the frames inside run to hundreds): what was compared, the verdict,
        and where the rest is."""
        models = ", ".join(map(str, self.table["model"])) if "model" in self.table else ""
        series = len({f.series for f in self.folds})
        scores = ", ".join(str(c) for c in self.table.columns if c != "model")
        return (f"Backtest of {models} on {self.n_folds} folds of {self.horizon} steps ({series} series)\n"
                f"  {self.verdict}\n"
                f"  .table: the scores per model ({scores})\n"
                f"  .verdict: the sentence above; .folds: each fold's forecasts")

    def guard_note(self) -> str:
        """``the combiner forecast 10 series-folds: 8 with the LSTM, 2 with seasonal_naive``
        (``the baseline guard`` when no statistical member was among the choices)."""
        total = sum(self.methods.values())
        stats = any(m in name.split("+") for name in self.methods for m in ("ets", "theta"))
        who = "the combiner" if stats else "the baseline guard"
        if not total or set(self.methods) == {"lstm"}:
            return f"{who} kept the LSTM for all {total} series-folds" if total else ""
        parts = [f"{n} with {'the LSTM' if m == 'lstm' else m}" for m, n in
                 sorted(self.methods.items(), key=lambda kv: (kv[0] != "lstm", -kv[1]))]
        return f"{who} forecast {total} series-folds: " + ", ".join(parts)


def _cut(dataset: Dataset, rows_from_end: int) -> Dataset:
    """The history before the last ``rows_from_end`` rows; with future covariates, the
    cut rows are its ``ahead`` rows (their covariates are known at the origin). With
    missing targets kept (``--missing mask``), a history that would end on missing
    values ends at its last observed one instead (a forecast origin never rests on an
    invented value): :func:`_skips` says how many rows that moved each origin back."""
    series = {k: f.iloc[:len(f) - rows_from_end] for k, f in dataset.series.items()}
    if dataset.masked:
        for k, f in series.items():
            seen = f[dataset.targets].notna().all(axis=1).to_numpy()
            if len(seen) and not seen[-1] and seen.any():
                series[k] = f.iloc[:len(seen) - int(np.argmax(seen[::-1]))]
    ahead = ({k: dataset.series[k].iloc[len(f):] for k, f in series.items()}
             if getattr(dataset, "future", None) else {})
    return replace(dataset, series=series, notes=[], ahead=ahead)


def _skips(dataset: Dataset, history: Dataset, rows_from_end: int) -> dict[str, int]:
    """Per series, the rows between the history's end and the fold's origin (see :func:`_cut`)."""
    return {k: len(full) - rows_from_end - len(history.series[k]) for k, full in dataset.series.items()}


def _aligned(forecast: Forecast, skips: dict[str, int], horizon: int) -> Forecast:
    """``forecast`` with each series' first ``skips[key]`` steps dropped and ``horizon`` kept."""
    if not any(skips.values()):
        return forecast
    series = {}
    for key, s in forecast.series.items():
        a = skips.get(key, 0)
        cut = slice(a, a + horizon)
        series[key] = SeriesForecast(s.index[cut], s.point[cut], {lv: v[cut] for lv, v in s.lower.items()},
                                     {lv: v[cut] for lv, v in s.upper.items()}, s.method)
    return replace(forecast, series=series)


def backtest(dataset: Dataset, *, folds: int = 3, step: int | None = None, levels=(),
             forecaster=None, fitted=None, horizon: int | None = None, season: int | None = None,
             on_fold=None, runner=None, should_stop=None) -> Backtest | None:
    """Backtest ``forecaster`` (an unfitted LSTMForecaster, default options if None: a
    copy is refitted before each origin), or ``fitted``, a fitted one, as it is. The
    horizon is the forecaster's (``horizon`` forecasts another number of steps with
    ``fitted``); ``season`` (seasonal naive and MASE) defaults to the model's, else the
    frequency's. ``runner(forecaster, histories, horizon, levels) -> forecasts`` refits and forecasts every
    fold's history elsewhere (:func:`lstmcast.cluster.spread.backtest_runner`), with the same
    results as here. ``should_stop()`` is passed to the refits: None is returned when it
    stopped one (or when the runner returns None, stopped too)."""
    import time

    from lstmcast.model.forecaster import LSTMForecaster

    started = time.perf_counter()
    EvaluateConfig(folds=folds, step=step)  # the options' own rules (a UsageError naming the flag)
    if fitted is not None:
        horizon = horizon or fitted.model_config_.horizon
        season = season or fitted.model_config_.season
    else:
        template = forecaster or LSTMForecaster()
        horizon = template.resolved(dataset)[0].horizon
        forecaster = LSTMForecaster(model=template.model_config.replace(horizon=horizon),
                                    train=template.train_config, choices=template.choices)
        season = season or forecaster.model_config.season
    step = horizon if step is None else step
    season = season or season_length(dataset.freq)
    levels = list(levels)
    targets = list(dataset.targets)
    shortest = min(len(f) for f in dataset.series.values())
    needed = horizon + (folds - 1) * step
    # a refit needs rows to train on; a fitted model only its lookback (and a transform's row)
    least = (len(next(iter(fitted.history_.values()))) if fitted is not None else max(2 * horizon, 10))
    if shortest - needed < least:
        raise DataError(f"{dataset.source}: {folds} folds of {horizon} steps, {step} apart, leave only "
                        f"{shortest - needed} rows to train on in the shortest series "
                        "(try fewer --folds, a smaller --horizon or --step)")

    results: list[FoldResult] = []
    methods: dict[str, int] = {}
    scores: dict[str, list[dict]] = {}
    by_fold: list[dict[str, list[dict]]] = [{} for _ in range(folds)]
    backs = [horizon + (folds - 1 - i) * step for i in range(folds)]
    histories = [_cut(dataset, b) for b in backs]
    skips = [_skips(dataset, h, b) for h, b in zip(histories, backs)]
    extra = max(max(s.values(), default=0) for s in skips)  # origins moved back by a gap
    remote = (runner(forecaster, histories, horizon + extra, levels)
              if runner is not None and fitted is None else None)
    if runner is not None and fitted is None and remote is None:
        return None  # the runner was stopped
    for i, back in enumerate(backs):
        history = histories[i]
        steps = horizon + max(skips[i].values(), default=0)
        if remote is not None:
            forecast = remote[i]
        elif fitted is None:
            model = forecaster.clone().fit(history, should_stop=should_stop)
            if model.training_.get("stopped") == "interrupted":
                return None
            forecast = model.predict(steps, None, levels, future=history.ahead or None)
        else:
            forecast = fitted.predict(steps, history, levels)
        forecast = _aligned(forecast, skips[i], horizon)
        for key, full in dataset.series.items():
            n = len(full) - back
            hist = full[targets].iloc[:n]
            actual = full[targets].iloc[n:n + horizon]
            s = forecast[key]
            for m in s.method:
                methods[m] = methods.get(m, 0) + 1
            fc = {MODEL: np.asarray(s.point, dtype=np.float64)}
            bounds = {lv: (s.lower[lv], s.upper[lv]) for lv in forecast.levels}
            # missing targets (--missing mask): baselines carry the last observed value
            # forward, and only observed test points are scored
            known = hist.ffill().bfill() if dataset.masked else hist
            for name, fn in baselines.BASELINES.items():
                fc[name] = np.column_stack([fn(known[t].to_numpy(np.float64), horizon, season)
                                            for t in targets])
            y = actual.to_numpy(np.float64)
            for name, f in fc.items():
                for j, t in enumerate(targets):
                    seen = ~np.isnan(y[:, j])
                    if not seen.any():
                        continue
                    iv = ({lv: (lo[seen, j], hi[seen, j]) for lv, (lo, hi) in bounds.items()}
                          if name == MODEL and levels else None)
                    summary = metrics.summarize(y[seen, j], f[seen, j], hist[t].to_numpy(np.float64), season, iv)
                    scores.setdefault(name, []).append(summary)
                    by_fold[i].setdefault(name, []).append(summary)
            results.append(FoldResult(key, i, hist, actual, fc, bounds))
        if on_fold:
            on_fold(i + 1, folds)

    table = _table(scores)
    base = table[table["model"] != MODEL]
    # MASE is undefined where a history's seasonal naive error is 0 (a perfectly periodic
    # series): then compare on MAE
    metric = "MASE" if table["MASE"].notna().all() else "MAE"
    best = base.loc[base[metric].idxmin(), "model"] if base[metric].notna().any() else "naive"
    ours = float(table.loc[table["model"] == MODEL, metric].iloc[0])
    theirs = float(table.loc[table["model"] == best, metric].iloc[0])
    verdict = (f"the LSTM {'beats' if ours < theirs else 'does NOT beat'} the best baseline "
               f"({best}) on {metric}: {ours:.3f} vs {theirs:.3f} over {folds} folds of {horizon} steps")
    return Backtest(table, verdict, best, results, time.perf_counter() - started, methods, folds, horizon,
                    [_table(f) for f in by_fold])


def _table(scores: dict[str, list[dict]]) -> pd.DataFrame:
    """One row per model: each metric's mean over the (series, target, fold)s scored."""
    rows = []
    for name, items in scores.items():
        row = {"model": name}
        for metric in items[0]:
            vals = np.array([d[metric] for d in items], dtype=np.float64)
            row[metric] = float(np.nanmean(vals)) if np.isfinite(vals).any() else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)

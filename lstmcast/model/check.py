"""Is a fitted model still worth its keep? (``lstmcast check``)

Owns the decay check: the forecasts the model would have made for the newest observed
points, from origins before them and without refitting, scored against naive and
seasonal naive on the very same points (a rolling-origin backtest of the fitted model,
:func:`lstmcast.model.backtest.backtest`, over the rows after the model's history).

Which points: the last ``last`` new points of every series that has new rows (``last``
defaults to four horizons: one origin is too noisy a verdict to page anyone on). With ``last >= horizon`` they are covered by
``last // horizon`` origins, each forecasting ``horizon`` steps; with fewer, one origin
forecasts them all. Only rows newer than the model's history are ever scored, so the
model is never judged on data it was trained on.

The verdict compares MASE (MAE where a history's seasonal naive error is 0) averaged
over series, origins and targets: ``worse`` when the model's is above the best of naive
and seasonal naive.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from lstmcast.config import CheckConfig
from lstmcast.data.dataset import Dataset
from lstmcast.model.backtest import MODEL, backtest
from lstmcast.model.update import continued, when

JUDGES = ("naive", "seasonal_naive")  # the baselines the verdict compares against
DEFAULT_ORIGINS = 4  # --last defaults to this many horizons


@dataclass
class CheckResult:
    status: str                      # "ok", "worse" or "nothing-new"
    history_end: str                 # where the model's history ends (latest series)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    metric: str = "MASE"
    model_score: float | None = None
    best_baseline: str | None = None
    baseline_score: float | None = None
    points: int = 0                  # scored points per series and target
    origins: int = 0
    horizon: int = 0
    series: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        """JSON-able, for ``--format json``."""
        return {"status": self.status, "history_end": self.history_end, "metric": self.metric,
                "model": self.model_score, "best_baseline": self.best_baseline,
                "baseline": self.baseline_score, "points": self.points, "origins": self.origins,
                "horizon": self.horizon, "series": self.series,
                "table": json_records(self.table)}


def json_records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


def check(forecaster, dataset: Dataset, last: int | None = None) -> CheckResult:
    """Score ``forecaster`` on the newest points of ``dataset`` (see the module docstring)."""
    CheckConfig(last=last)  # the option's own rule (a UsageError naming --last)
    frames, added, notes = continued(forecaster, dataset)
    end = when(max(f.index[-1] for f in forecaster.history_.values()))
    if not frames:
        return CheckResult("nothing-new", end, notes=notes)
    H = forecaster.model_config_.horizon
    want = DEFAULT_ORIGINS * H if last is None else int(last)
    have = min(added[k] for k in frames)
    k = min(want, have)
    if k < want:
        notes.append(f"only {have} new point(s) per series{' (the fewest)' if len(frames) > 1 else ''}: "
                     f"scoring {k}, not {want}")
    horizon, folds = (H, k // H) if k >= H else (k, 1)
    if k % horizon:
        notes.append(f"scoring the last {folds * horizon} points ({folds} origins of {horizon} steps), "
                     f"not {k}")
    scored = folds * horizon
    counts = [int(np.isfinite(f[t].to_numpy(np.float64)[-scored:]).sum())
              for f in frames.values() for t in forecaster.targets_]
    observed = min(counts)
    if max(counts) == 0:
        notes.append(f"the newest {scored} points have no observed values (missing targets): nothing to score")
        return CheckResult("nothing-new", end, notes=notes)
    if observed < scored:
        notes.append(f"{scored - observed} of the {scored} newest points are missing (--missing mask) and "
                     "are not scored" + (" (in the series missing most)" if len(frames) > 1 else ""))
    newest = replace(dataset, series=frames, notes=[])
    result = backtest(newest, folds=folds, step=horizon, fitted=forecaster, horizon=horizon)
    table = result.table
    metric = "MASE" if table["MASE"].notna().all() else "MAE"
    judges = table[table["model"].isin(JUDGES)]
    best = judges.loc[judges[metric].idxmin()]
    ours = float(table.loc[table["model"] == MODEL, metric].iloc[0])
    status = "worse" if ours > float(best[metric]) else "ok"
    return CheckResult(status, end, table, metric, ours, str(best["model"]), float(best[metric]),
                       observed, folds, horizon, len(frames), notes)

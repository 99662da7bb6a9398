"""Is a fitted model still worth its keep? The record of its scored forecasts, and the
verdict on it (``lstmcast check`` and ``lstmcast update``).

Owns three things:

* **Scoring** (:func:`score_new`): the forecasts the model would have made for the rows
  newer than its history, from origins before them and without refitting, against naive,
  seasonal naive and drift on the very same points (a rolling-origin backtest of the
  fitted model, :func:`lstmcast.model.backtest.backtest`, over the new rows). With
  ``k >= horizon`` new points they are covered by ``k // horizon`` origins of ``horizon``
  steps; with fewer, one origin forecasts them all.
* **The record** (``training_["monitor"]`` in the model file): one entry per scoring by
  ``update``, which scores the new rows *before* it learns from them; each entry holds
  when, the newest time scored, the points scored per series, and each model's mean
  scaled error (MASE; MAE where a history's seasonal naive error is 0). A fit starts an
  empty record; ``check`` reads it and never changes it. So whichever runs first in a
  crontab, ``update`` or ``check``, every new row is scored once, by one of them.
* **The verdict** (:func:`verdict`): over the newest ``last`` scored points (rows that
  ``check`` scores now first, then the record, newest first), the points-weighted mean
  error of the model against the best of naive and seasonal naive: ``worse`` when the
  model's is above the best one's times ``1 + tolerance``; no verdict (``too-few``) on
  fewer points than one horizon.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from lstmcast.data.dataset import Dataset
from lstmcast.errors import DataError
from lstmcast.model import adaptive
from lstmcast.model.backtest import MODEL, backtest

JUDGES = ("naive", "seasonal_naive")  # the baselines the verdict compares against
SCORED = (MODEL, *JUDGES, "drift")
DEFAULT_ORIGINS = 4  # the verdict's window defaults to this many horizons
KEEP = 500           # entries the record keeps (far more than any window needs)
MAX_ORIGINS = 100    # origins one scoring forecasts from, at most (the newest)
# The margin by which the model must lose before it is called worse: chosen on the tuning
# half of the evidence base by benchmarks/production/monitor.py (the smallest margin whose
# false alarms, on series where the model is truly no worse over the whole run, stay at or
# below 1 weekly verdict in 20: 1.8 % of 906 verdicts on 24 datasets at 0.05, 12.8 % at 0;
# on the confirmation half 5.3 % of 507); benchmarks/results/monitor-*.md.
TOLERANCE = 0.05


@dataclass
class Scores:
    """One scoring of new rows: each model's mean error over them."""
    metric: str
    points: int             # scored points per series (the series with the fewest observed)
    series: int
    origins: int
    horizon: int
    until: str              # the newest time scored
    scores: dict[str, float]
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)
    origins_scored: list[dict] = field(default_factory=list)  # one record entry per origin, oldest first
    hits: dict[float, tuple[int, int]] = field(default_factory=dict)  # level -> (inside, points) of the bands


def _entry(until: str, metric: str, points: int, series: int, scores: dict[str, float]) -> dict:
    return {"when": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "until": until,
            "metric": metric, "points": points, "series": series,
            "scores": {k: (None if not math.isfinite(v) else v) for k, v in scores.items()}}


def _table_scores(table: pd.DataFrame) -> tuple[str, dict[str, float]] | None:
    """(metric, score per model) of a backtest's table; None when it scored nothing (an
    origin whose points are all missing)."""
    if not len(table) or "model" not in table:
        return None
    metric = "MASE" if table["MASE"].notna().all() else "MAE"
    return metric, {str(m): float(v) for m, v in zip(table["model"], table[metric]) if m in SCORED}


@dataclass
class Verdict:
    status: str             # "ok", "worse", or "too-few" (fewer points than one horizon)
    metric: str
    model: float
    best_baseline: str
    baseline: float
    points: int             # points in the window
    recorded: int           # ...of which came from the record
    tolerance: float

    def summary(self) -> dict:
        return {"status": self.status, "metric": self.metric, "model": self.model,
                "best_baseline": self.best_baseline, "baseline": self.baseline, "points": self.points,
                "from_record": self.recorded, "tolerance": self.tolerance}

    def sentence(self) -> str:
        if self.status == "too-few":
            return (f"no verdict yet: {self.points} scored point(s), fewer than one horizon ({self.metric} "
                    f"{self.model:.3f} vs {self.best_baseline} {self.baseline:.3f} so far)")
        how = "fine" if self.status == "ok" else "WORSE than the best simple baseline"
        margin = f" (tolerance {self.tolerance:.0%})" if self.tolerance else ""
        source = (f", {self.recorded} of them from the model's record" if self.recorded and
                  self.recorded < self.points else (", all from the model's record" if self.recorded else ""))
        return (f"the model is {how}{margin}: {self.metric} {self.model:.3f} vs {self.best_baseline} "
                f"{self.baseline:.3f} on the last {self.points} scored points{source}")


def window(forecaster, last: int | None) -> int:
    return DEFAULT_ORIGINS * forecaster.model_config_.horizon if last is None else int(last)


def least(forecaster, last: int | None) -> int:
    """The fewest points a verdict rests on: one horizon (or the whole window, if smaller)."""
    return min(forecaster.model_config_.horizon, window(forecaster, last))


def score_new(forecaster, dataset: Dataset, frames: dict[str, pd.DataFrame], added: dict[str, int],
              last: int | None = None) -> Scores | None:
    """Score the model on the newest points of ``frames`` (the model's history continued
    by new rows; ``added`` new rows per series): at most ``last`` per series (all new
    points when None). None when no new point is observed."""
    H = forecaster.model_config_.horizon
    have = min(added[k] for k in frames)
    k = have if last is None else min(int(last), have)
    notes = []
    if last is not None and k < last:
        notes.append(f"only {have} new point(s) per series{' (the fewest)' if len(frames) > 1 else ''}: "
                     f"scoring {k}, not {last}")
    horizon, folds = (H, k // H) if k >= H else (k, 1)
    if folds > MAX_ORIGINS:  # far more than any verdict's window; each origin is a forecast
        notes.append(f"scoring the newest {MAX_ORIGINS} origins of {horizon} steps of the {k} new points")
        folds, k = MAX_ORIGINS, MAX_ORIGINS * horizon
    if k % horizon:
        notes.append(f"scoring the last {folds * horizon} new points ({folds} origins of {horizon} steps), "
                     f"not {k}")
    scored = folds * horizon
    counts = [int(np.isfinite(f[t].to_numpy(np.float64)[-scored:]).sum())
              for f in frames.values() for t in forecaster.targets_]
    if max(counts) == 0:
        notes.append(f"the newest {scored} points have no observed values (missing targets): nothing to score")
        return Scores("MASE", 0, len(frames), 0, horizon, "", {}, notes=notes)
    observed = min(counts)
    if observed < scored:
        notes.append(f"{scored - observed} of the {scored} newest points are missing (--missing mask) and "
                     "are not scored" + (" (in the series missing most)" if len(frames) > 1 else ""))
    newest = replace(dataset, series=frames, notes=[])
    levels = adaptive.TRACKED if len(forecaster.residuals_) else ()
    result = backtest(newest, folds=folds, step=horizon, fitted=forecaster, horizon=horizon, levels=levels)
    metric, scores = _table_scores(result.table)  # at least one point is observed
    until = str(max(f.index[-1] for f in frames.values()))
    each = []  # the record keeps each origin's scores, so a window is counted in whole origins
    for i, one in enumerate(result.fold_tables):
        back = (folds - 1 - i) * horizon
        ends = [f.iloc[:len(f) - back] for f in frames.values()]
        seen = min(int(np.isfinite(f[t].to_numpy(np.float64)[-horizon:]).sum())
                   for f in ends for t in forecaster.targets_)
        found = _table_scores(one)
        if seen and found is not None:  # an origin whose points are all missing scores nothing
            each.append(_entry(str(max(f.index[-1] for f in ends)), found[0], seen, len(frames), found[1]))
    return Scores(metric, observed, len(frames), folds, horizon, until, scores, result.table, notes, each,
                  _hits(result, levels))


def _hits(result, levels) -> dict[float, tuple[int, int]]:
    """Per level, how many observed points fell inside the model's band, of how many."""
    out = {}
    for level in levels:
        inside = points = 0
        for fold in result.folds:
            y = fold.actual.to_numpy(np.float64)
            lo, hi = fold.bounds[level]
            seen = ~np.isnan(y)
            inside += int(((y >= lo) & (y <= hi))[seen].sum())
            points += int(seen.sum())
        out[level] = (inside, points)
    return out


def record(forecaster) -> list[dict]:
    """The model's record of scored forecasts, oldest first; checked, since it comes from a
    file."""
    entries = forecaster.training_.get("monitor", [])
    ok = isinstance(entries, list) and all(
        isinstance(e, dict) and isinstance(e.get("points"), int) and e["points"] >= 0
        and e.get("metric") in ("MASE", "MAE") and isinstance(e.get("scores"), dict)
        and all(isinstance(v, (int, float)) or v is None for v in e["scores"].values())
        for e in entries)
    if not ok:
        raise DataError("the model file's record of scored forecasts (training.monitor) is damaged; "
                        "refit the model")
    return entries


def remember(forecaster, scores: Scores) -> None:
    """Add one scoring to the model's record, an entry per origin (``update`` does,
    before it learns)."""
    if scores.points:
        forecaster.training_["monitor"] = [*record(forecaster), *scores.origins_scored][-KEEP:]


def _newest_first(recorded: list[dict], new: Scores | None) -> list[tuple[dict, bool]]:
    """(entry, from the record) pairs, newest first, without empty scorings."""
    fresh = list(reversed(new.origins_scored)) if new is not None else []
    pairs = [(e, False) for e in fresh] + [(e, True) for e in reversed(recorded)]
    return [(e, r) for e, r in pairs if e["points"]]


def means(recorded: list[dict], new: Scores | None, last: int) -> tuple[str, dict[str, float], int, int] | None:
    """Over the newest ``last`` scored points (``new`` first, then the record, newest
    first): (metric, each model's points-weighted mean error, points, points from the
    record). None without any scored point."""
    pairs = _newest_first(recorded, new)
    if not pairs:
        return None
    metric = pairs[0][0]["metric"]
    weights, taken, from_record, need = [], [], 0, last
    for e, in_record in pairs:
        if need <= 0 or e["metric"] != metric:
            break
        w = min(e["points"], need)
        need -= w
        weights.append(w)
        taken.append(e["scores"])
        from_record += w if in_record else 0
    w = np.asarray(weights, np.float64)
    out = {}
    for model in SCORED:
        v = np.asarray([math.nan if s.get(model) is None else s[model] for s in taken], np.float64)
        ok = np.isfinite(v)
        if ok.any():
            out[model] = float(np.sum(v[ok] * w[ok]) / np.sum(w[ok]))
    return metric, out, int(w.sum()), from_record


def verdict(recorded: list[dict], new: Scores | None, last: int, tolerance: float,
            least: int = 1) -> Verdict | None:
    """The verdict on the newest ``last`` scored points (see the module docstring); None
    without any; ``too-few`` with fewer than ``least`` (one horizon: a week of a daily
    model's points is too noisy to refit on)."""
    found = means(recorded, new, last)
    if found is None:
        return None
    metric, score, points, from_record = found
    judged = {j: score[j] for j in JUDGES if j in score}
    if MODEL not in score or not judged:
        return None
    best = min(judged, key=judged.get)
    status = "worse" if score[MODEL] > judged[best] * (1 + tolerance) else "ok"
    if points < least:
        status = "too-few"
    return Verdict(status, metric, score[MODEL], best, judged[best], points, from_record, tolerance)


def record_table(recorded: list[dict], last: int) -> pd.DataFrame:
    """The table ``check`` prints when it judges on the record alone: each model's
    points-weighted mean error over the window."""
    found = means(recorded, None, last)
    if found is None:
        return pd.DataFrame()
    metric, score, points, _ = found
    return pd.DataFrame([{"model": m, metric: v, "points": points} for m, v in score.items()])

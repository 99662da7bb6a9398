"""``lstmcast check``: is a fitted model still worth its keep?

Owns the check's result: the model's record of scored forecasts (kept by ``update``) plus
the rows of the data newer than the model's history, scored now, judged over the newest
``last`` points (default: four horizons) against the best of naive and seasonal naive
with a tolerance (:mod:`lstmcast.model.monitor` scores, keeps and judges). ``check``
never changes the model. Nothing to judge (no new row and an empty record) is
``nothing-new``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstmcast.config import CheckConfig
from lstmcast.data.dataset import Dataset
from lstmcast.model import monitor
from lstmcast.model.update import continued, when


@dataclass
class CheckResult:
    status: str                      # "ok", "worse", "too-few" or "nothing-new"
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
    verdict: monitor.Verdict | None = None

    def summary(self) -> dict:
        """JSON-able, for ``--format json``."""
        return {"status": self.status, "history_end": self.history_end, "metric": self.metric,
                "model": self.model_score, "best_baseline": self.best_baseline,
                "baseline": self.baseline_score, "points": self.points, "origins": self.origins,
                "horizon": self.horizon, "series": self.series,
                "from_record": self.verdict.recorded if self.verdict else 0,
                "tolerance": self.verdict.tolerance if self.verdict else None,
                "table": json_records(self.table)}


def json_records(frame: pd.DataFrame) -> list[dict]:
    return [{k: (None if isinstance(v, float) and not np.isfinite(v) else v) for k, v in row.items()}
            for row in frame.to_dict(orient="records")]


def check(forecaster, dataset: Dataset, last: int | None = None,
          tolerance: float | None = None) -> CheckResult:
    """Judge ``forecaster`` on its record and the newest points of ``dataset`` (see the
    module docstring)."""
    CheckConfig(last=last, tolerance=tolerance)  # the options' own rules (UsageErrors naming them)
    tolerance = monitor.TOLERANCE if tolerance is None else float(tolerance)
    frames, added, notes = continued(forecaster, dataset)
    end = when(max(f.index[-1] for f in forecaster.history_.values()))
    want = monitor.window(forecaster, last)
    new = monitor.score_new(forecaster, dataset, frames, added, want) if frames else None
    recorded = monitor.record(forecaster)
    if new is not None:
        notes += new.notes
    v = monitor.verdict(recorded, new, want, tolerance, monitor.least(forecaster, last))
    if v is None:
        return CheckResult("nothing-new", end, notes=notes)
    if new is not None and new.points:
        table, origins, horizon, series = new.table, new.origins, new.horizon, new.series
    else:
        table, origins, horizon, series = monitor.record_table(recorded, want), 0, 0, len(forecaster.history_)
    return CheckResult(v.status, end, table, v.metric, v.model, v.best_baseline, v.baseline,
                       v.points, origins, horizon, series, notes, v)

"""The result of a forecast: per series, timestamps, the point forecast and the interval
bounds per level, as arrays.

Owns the one place where a forecast becomes a frame (:meth:`Forecast.to_frame`, for
output); everything downstream (backtests, plots) reads the arrays, never column names.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstmcast.data.dataset import only_series



@dataclass(frozen=True)
class SeriesForecast:
    """One series' forecast: ``point`` is (steps, targets); ``lower[level]`` and
    ``upper[level]`` likewise, for each interval level in percent; ``method`` per target,
    what made the point forecast (the baseline guard's choice: ``lstm``, a baseline's name
    or ``blend_<baseline>``)."""

    index: pd.DatetimeIndex
    point: np.ndarray
    lower: dict[float, np.ndarray] = field(default_factory=dict)
    upper: dict[float, np.ndarray] = field(default_factory=dict)
    method: tuple[str, ...] = ()


@dataclass(frozen=True)
class Forecast:
    """Forecasts of every series, by id (``forecast["AAPL"]``; ``forecast.only`` for the
    single series of a file without an id column, whose key is ``""``)."""

    targets: list[str]
    levels: list[float]
    series: dict[str, SeriesForecast]
    date_col: str = "date"
    id_col: str | None = None
    notes: list[str] = field(default_factory=list)
    time_form: str | None = None  # how the input wrote its times (data.timeparse.time_form)

    def __getitem__(self, key: str) -> SeriesForecast:
        return self.series[key]

    @property
    def only(self) -> SeriesForecast:
        """The forecast of a single-series file (whose key is ``""``); a file of several
        series is indexed by its ids instead (``forecast["AAPL"]``)."""
        return only_series(self.series, "forecast", "forecast")

    @staticmethod
    def column(target: str, bound: str, level: float) -> str:
        """The output column of a bound: ``{target}_lower_{level}`` / ``_upper_``."""
        return f"{target}_{bound}_{level:g}"

    def to_frame(self) -> pd.DataFrame:
        """One row per series and step: id (long format), time, the targets and their
        bounds (``{target}_lower_{level}``, ``{target}_upper_{level}``). Times of input
        written with a UTC offset carry it (timezone-aware, as the command writes them:
        the input's one offset, or UTC where it had several)."""
        from lstmcast.data.timeparse import form_timezone

        zone = form_timezone(self.time_form) if isinstance(self.time_form, str) else None
        frames = []
        for key, s in self.series.items():
            index = s.index if zone is None or s.index.tz is not None else s.index.tz_localize(zone)
            out = pd.DataFrame(index=index)
            for j, t in enumerate(self.targets):
                out[t] = s.point[:, j]
            for level in self.levels:
                for j, t in enumerate(self.targets):
                    out[self.column(t, "lower", level)] = s.lower[level][:, j]
                    out[self.column(t, "upper", level)] = s.upper[level][:, j]
            out.index.name = self.date_col
            out = out.reset_index()
            if self.id_col:
                out.insert(0, self.id_col, key)
            frames.append(out)
        return pd.concat(frames, ignore_index=True)

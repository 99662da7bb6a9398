"""The future covariates of the forecast steps: the values a fitted forecaster's future
block reads, looked up for each series' forecast times.

Owns where they come from (``--future-data`` frames, the rows after the last target value
in the data, or the holiday calendar) and the refusal of anything missing: one
DataError naming the file's column and the first missing time; nothing is filled in.
``model`` below is a fitted :class:`~lstmcast.model.forecaster.LSTMForecaster`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmcast.data import covariates
from lstmcast.data.dataset import future_index
from lstmcast.data.timeparse import fmt_time
from lstmcast.errors import DataError
from lstmcast.prep.scaling import INPUT_MAX


def known_ahead(model, keys: list[str], tails: dict[str, pd.DataFrame], horizon: int,
                dataset, future: dict | None) -> np.ndarray | None:
    """The future covariates of the forecast steps, scaled as the model's inputs:
    (series, steps, covariates), steps a whole number of trained horizons (the steps
    past ``horizon`` are 0: each step's output reads only its own step's covariates).
    Missing values are a DataError naming the column and the first missing time."""
    names = model.future_
    if not names:
        return None
    H = model.model_config_.horizon
    steps = -(-horizon // H) * H
    source = future if future is not None else (dataset.ahead if dataset is not None else None)
    holidays = model.covariates_.get("holidays")
    from_file = [c for c in names if c not in model.covariates_.get("holiday_names", [])]
    raw = _raw_columns(model)
    if from_file and source is None:
        named = list(dict.fromkeys(raw.get(c, c) for c in from_file))
        raise DataError(f"the model reads future values of {', '.join(map(repr, named))}: give them "
                        "for the forecast steps, as rows after the last target value in DATA (target "
                        "empty) or with --future-data FILE")
    nt = len(model.targets_)
    cols = [nt + model.features_.index(c) for c in names]
    out = np.zeros((len(keys), steps, len(names)), dtype=np.float32)
    for i, key in enumerate(keys):
        when = future_index(tails[key].index[-1], model.freq_, horizon, model.trading_slots())
        values = np.full((horizon, len(names)), np.nan)
        where = f"series {key!r}, " if key else ""
        if from_file:
            frame = source.get(key)
            if frame is None:
                raise DataError(f"{where}no future values: the rows for {', '.join(map(repr, from_file))} "
                                f"after {tails[key].index[-1]} are missing")
            got = frame.reindex(when)
            for j, c in enumerate(names):
                if c in from_file:
                    values[:, j] = got[c].to_numpy(np.float64) if c in got else np.nan
        if holidays:
            from lstmcast.data import covariates

            hv, hn = covariates.holiday_features(when, model.freq_, holidays,
                                                 distance="holiday_distance" in names)
            for j, c in enumerate(names):
                if c in hn:
                    values[:, j] = hv[:, hn.index(c)]
        gaps = np.isnan(values)
        if gaps.any():
            r, j = np.argwhere(gaps)[0]
            raise DataError(f"{where}column {raw.get(names[j], names[j])!r} has no value for "
                            f"{fmt_time(np.datetime64(when[r]))} "
                            f"(forecast step {r + 1} of {horizon}): give every future row up to "
                            f"{fmt_time(np.datetime64(when[-1]))}, with its value (missing future "
                            "values are never filled in)")
        center, scale = model.pipeline_.center_[key][cols], model.pipeline_.scale_[key][cols]
        with np.errstate(over="ignore", invalid="ignore"):
            z = (values - center) / scale
        far = ~(np.abs(z) <= INPUT_MAX)
        if far.any():  # the data's fault, named as such (it once ended in "the model extrapolated")
            r, j = map(int, np.argwhere(far)[0])
            raise DataError(f"{where}column {raw.get(names[j], names[j])!r} at {fmt_time(np.datetime64(when[r]))}: "
                            f"{values[r, j]:.6g} is more than {INPUT_MAX:.0e} standard deviations from the "
                            "values the model was trained on (a unit or parsing error in the data?)")
        out[i, :horizon] = z
    return out

def _raw_columns(model) -> dict[str, str]:
    """Input column -> the file's column it was encoded from (``weather=rain`` -> ``weather``)."""
    return {name: column for column, mapping in model.covariates_.get("encodings", {}).items()
            for name in covariates.encoded_names(mapping)}

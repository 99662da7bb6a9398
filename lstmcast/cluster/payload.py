"""What crosses the wire to a Dask worker: numpy arrays and JSON text, never pickle.

Owns the conversion of a :class:`~lstmcast.data.dataset.Dataset` and of a
:class:`~lstmcast.model.forecast.Forecast` to and from ``(arrays, json)``: per series its
timestamps (datetime64 in their own unit) and values (float64), everything else as JSON.
A model travels as its model-file bytes (safetensors: arrays and a checked JSON
document), loaded on the worker with every check of :func:`load_model`.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from lstmcast.config import ReadConfig
from lstmcast.data.dataset import Dataset
from lstmcast.model.forecast import Forecast, SeriesForecast


def _stamps(index: pd.DatetimeIndex) -> np.ndarray:
    """The timestamps as datetime64 values in their own unit (sent as a plain array)."""
    return np.asarray(pd.DatetimeIndex(index).values)


def _index(stamps: np.ndarray, name) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(stamps, name=name)


def dataset_out(ds: Dataset) -> tuple[dict[str, np.ndarray], str]:
    arrays = {}
    keys = list(ds.series)
    columns = [*ds.targets, *ds.features]
    for i, key in enumerate(keys):
        frame = ds.series[key]
        arrays[f"{i}.time"] = _stamps(frame.index)
        arrays[f"{i}.values"] = frame[columns].to_numpy(np.float64)
    meta = {"keys": keys, "targets": list(ds.targets), "features": list(ds.features), "freq": ds.freq,
            "date_col": ds.date_col, "id_col": ds.id_col, "n_rows": ds.n_rows, "sha256": ds.sha256,
            "source": ds.source, "fill_limit": ds.fill_limit, "time_form": ds.time_form,
            "calendar": list(ds.calendar) if ds.calendar is not None else None,
            "read": ds.read.to_dict() if ds.read is not None else None,
            "future": list(ds.future), "static": list(ds.static), "holidays": ds.holidays,
            "holiday_names": list(ds.holiday_names), "encodings": ds.encodings, "masked": ds.masked,
            "ahead": {}}
    for i, key in enumerate(keys):  # rows after the history: the future covariates
        frame = ds.ahead.get(key)
        if frame is not None:
            arrays[f"{i}.ahead.time"] = _stamps(frame.index)
            arrays[f"{i}.ahead.values"] = frame.to_numpy(np.float64)
            meta["ahead"][str(i)] = [str(c) for c in frame.columns]
    return arrays, json.dumps(meta)


def dataset_in(arrays: dict[str, np.ndarray], text: str) -> Dataset:
    meta = json.loads(text)
    columns = [*meta["targets"], *meta["features"]]
    series = {key: pd.DataFrame(arrays[f"{i}.values"], columns=columns,
                                index=_index(arrays[f"{i}.time"], meta["date_col"]))
              for i, key in enumerate(meta["keys"])}
    read = ReadConfig.from_dict(meta["read"], "read") if meta["read"] is not None else None
    return Dataset(series=series, targets=meta["targets"], features=meta["features"], freq=meta["freq"],
                   date_col=meta["date_col"], id_col=meta["id_col"], notes=[], n_rows=meta["n_rows"],
                   sha256=meta["sha256"], source=meta["source"], fill_limit=meta["fill_limit"], read=read,
                   time_form=meta["time_form"],
                   calendar=tuple(meta["calendar"]) if meta["calendar"] is not None else None,
                   future=meta["future"], static=meta["static"], holidays=meta["holidays"],
                   holiday_names=meta["holiday_names"], encodings=meta["encodings"], masked=meta["masked"],
                   ahead={meta["keys"][int(i)]: pd.DataFrame(arrays[f"{i}.ahead.values"], columns=cols,
                                                             index=_index(arrays[f"{i}.ahead.time"], meta["date_col"]))
                          for i, cols in meta["ahead"].items()})


def forecast_out(fc: Forecast) -> tuple[dict[str, np.ndarray], str]:
    arrays = {}
    keys = list(fc.series)
    for i, key in enumerate(keys):
        s = fc.series[key]
        arrays[f"{i}.time"] = _stamps(s.index)
        arrays[f"{i}.point"] = np.asarray(s.point, dtype=np.float64)
        for j, level in enumerate(fc.levels):
            arrays[f"{i}.lower.{j}"] = np.asarray(s.lower[level], dtype=np.float64)
            arrays[f"{i}.upper.{j}"] = np.asarray(s.upper[level], dtype=np.float64)
    meta = {"keys": keys, "targets": fc.targets, "levels": fc.levels, "date_col": fc.date_col,
            "id_col": fc.id_col, "notes": fc.notes, "time_form": fc.time_form,
            "methods": [list(fc.series[k].method) for k in keys]}
    return arrays, json.dumps(meta)


def forecast_in(arrays: dict[str, np.ndarray], text: str) -> Forecast:
    meta = json.loads(text)
    levels = [float(v) for v in meta["levels"]]
    series = {}
    for i, key in enumerate(meta["keys"]):
        series[key] = SeriesForecast(
            _index(arrays[f"{i}.time"], meta["date_col"]), arrays[f"{i}.point"],
            {lv: arrays[f"{i}.lower.{j}"] for j, lv in enumerate(levels)},
            {lv: arrays[f"{i}.upper.{j}"] for j, lv in enumerate(levels)},
            tuple(str(m) for m in meta["methods"][i]))
    return Forecast(meta["targets"], levels, series, meta["date_col"], meta["id_col"], meta["notes"],
                    meta["time_form"])

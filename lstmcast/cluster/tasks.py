"""The functions a Dask worker runs. Each takes and returns arrays and JSON text only
(:mod:`lstmcast.cluster.payload`); Dask refers to them by module and name."""

from __future__ import annotations

import json
import os
import tempfile

import numpy as np


def version() -> str:
    import lstmcast

    return lstmcast.__version__


def fit_predict(data: dict[str, np.ndarray], meta: str, options: str, horizon: int,
                levels: list[float]) -> tuple[dict[str, np.ndarray], str]:
    """Fit a forecaster with ``options`` (JSON: model and train configs, internal choices)
    on the dataset, and forecast ``horizon`` steps: one backtest fold."""
    from lstmcast.config import ModelConfig, TrainConfig
    from lstmcast.cluster.payload import dataset_in, forecast_out
    from lstmcast.model.choices import Choices
    from lstmcast.model.forecaster import LSTMForecaster

    opts = json.loads(options)
    forecaster = LSTMForecaster(model=ModelConfig.from_dict(opts["model"], "model"),
                                train=TrainConfig.from_dict(opts["train"], "train"),
                                choices=Choices.from_dict(opts["choices"]))
    dataset = dataset_in(data, meta)
    return forecast_out(forecaster.fit(dataset).predict(horizon, None, levels, future=dataset.ahead or None))


def predict_shard(model: bytes, data: dict[str, np.ndarray], meta: str, horizon: int | None,
                  levels: list[float]) -> tuple[dict[str, np.ndarray], str]:
    """Forecast some series of a dataset with a model sent as its file's bytes (loaded
    with every check, as from a file)."""
    from lstmcast.cluster.payload import dataset_in, forecast_out
    from lstmcast.model.forecaster import load_model

    fd, path = tempfile.mkstemp(suffix=".safetensors", prefix="lstmcast-shard-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(model)
        forecaster = load_model(path)
    finally:
        os.unlink(path)
    return forecast_out(forecaster.predict(horizon, dataset_in(data, meta), levels))

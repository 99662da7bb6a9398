"""``lstmcast forecast``: load the model, read newer data the way fit read its data
(stored reading options, overridden by flags), forecast."""

from __future__ import annotations

from lstmcast.cli.data import load_data


def run(model_path: str, data: str | None, steps: int | None, levels: list[float], given_read: dict, msg,
        scheduler: str | None = None, future_data: str | None = None):
    """(the :class:`~lstmcast.model.forecast.Forecast`, the history it continues)."""
    from lstmcast.model.forecaster import load_model

    forecaster = load_model(model_path, given_read.get("max_input_mb"))
    dataset = future = None
    read = forecaster.read_config_.replace(**given_read)
    if data is not None:
        dataset = load_data(data, read, msg, expected_by=f"the model {model_path}", model=forecaster)
    if future_data is not None:
        from lstmcast.data.dataset import load_future
        from lstmcast.errors import UsageError

        if not read.future:
            raise UsageError(f"--future-data: the model {model_path} has no --future columns (refit with "
                             "--future COLUMN to use covariates known ahead)")
        future, notes = load_future(future_data, read, forecaster.covariates_.get("encodings"),
                                    expected_by=f"the model {model_path}")
        msg.notes(notes)
    if future is not None and scheduler is not None:  # the shards carry them as their rows ahead
        from dataclasses import replace

        dataset = replace(dataset if dataset is not None else forecaster.history_dataset(), ahead=future)
    if scheduler is None:
        result = forecaster.predict(steps, dataset, levels, future=future)
    else:
        result = _on_dask(scheduler, model_path, forecaster, dataset, steps, levels, msg)
    msg.notes(result.notes)
    history = dataset.series if dataset is not None else forecaster.history_
    return result, history


def _on_dask(scheduler: str, model_path: str, forecaster, dataset, steps, levels, msg):
    """Forecast in shards of series, one per worker, each loading the model from its bytes."""
    from lstmcast.cluster.spread import connect, forecast_shards

    if dataset is None:  # the model's own history, as a dataset of its series
        dataset = forecaster.history_dataset()
    with open(model_path, "rb") as fh:
        model_bytes = fh.read()
    with connect(scheduler) as client:
        shards = max(1, len(client.scheduler_info()["workers"]))
        msg.note(f"forecasting {len(dataset.series)} series in {shards} shard(s) on Dask ({scheduler})")
        return forecast_shards(client, model_bytes, dataset, steps, levels, shards)

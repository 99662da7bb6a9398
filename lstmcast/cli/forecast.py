"""``lstmcast forecast``: load the model, read newer data the way fit read its data
(stored reading options, overridden by flags), forecast."""

from __future__ import annotations

from lstmcast.cli.data import load_data


def run(model_path: str, data: str | None, steps: int | None, levels: list[float], given_read: dict, msg):
    """(the :class:`~lstmcast.model.forecast.Forecast`, the history it continues)."""
    from lstmcast.model.forecaster import load_model

    forecaster = load_model(model_path, given_read.get("max_input_mb"))
    dataset = None
    if data is not None:
        dataset = load_data(data, forecaster.read_config_.replace(**given_read), msg,
                            expected_by=f"the model {model_path}")
    result = forecaster.predict(steps, dataset, levels)
    msg.notes(result.notes)
    history = dataset.series if dataset is not None else forecaster.history_
    return result, history

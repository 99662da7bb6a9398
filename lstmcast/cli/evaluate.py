"""``lstmcast evaluate``: a rolling-origin backtest with the same options as ``fit``.

Given ``--model``, the backtest starts from that model's stored options (reading, model,
training), and flags override them; ``--no-refit`` uses the model as it is.
"""

from __future__ import annotations

from lstmcast.cli.console import Progress
from lstmcast.cli.data import load_data
from lstmcast.config import ModelConfig, ReadConfig, TrainConfig


def run(data: str, given: dict, *, folds: int, step: int | None, refit: bool, model_path: str | None,
        default_model: str, levels: list[float], msg, scheduler: str | None = None):
    from lstmcast.model import backtest
    from lstmcast.model.forecaster import LSTMForecaster, load_model

    fitted = None
    read, model, train = ReadConfig(), ModelConfig(), TrainConfig()
    if model_path is not None or not refit:
        fitted = load_model(model_path or default_model, given["read"].get("max_input_mb"))
        read, model, train = fitted.read_config_, fitted.model_config_, fitted.train_config_
    read, model, train = (read.replace(**given["read"]), model.replace(**given["model"]),
                          train.replace(**given["train"]))
    dataset = load_data(data, read, msg)

    def run_backtest(runner=None):
        with Progress(msg) as progress:
            return backtest.backtest(
                dataset, folds=folds, step=step, levels=levels, season=model.season,
                forecaster=LSTMForecaster(model=model, train=train) if refit else None,
                fitted=None if refit else fitted, horizon=given["model"].get("horizon"),
                on_fold=lambda i, n: progress.batch(i, n), runner=runner)

    if scheduler is None or not refit:
        if scheduler is not None:
            msg.note("--no-refit forecasts with the model as it is: nothing to spread over Dask")
        return run_backtest()
    from lstmcast.cluster.spread import backtest_runner, connect

    with connect(scheduler) as client:
        msg.note(f"refitting {folds} folds on Dask ({scheduler})")
        return run_backtest(backtest_runner(client))

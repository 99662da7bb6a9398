"""``lstmcast check``: is the model still better than the simple baselines, on its record
of scored forecasts and the newest data? Prints the scores (data) and the verdict
(stderr); the exit code says it to cron: 0 fine, 3 worse than the best of naive and
seasonal naive, 4 nothing to judge (documented in docs/guide/production.md)."""

from __future__ import annotations

from lstmcast.cli.data import load_data

WORSE, NOTHING_NEW = 3, 4


def run(model_path: str, data: str, last: int | None, tolerance: float | None, given_read: dict, msg):
    """The :class:`~lstmcast.model.check.CheckResult` and the exit code it means."""
    from lstmcast.model.check import check
    from lstmcast.model.forecaster import load_model

    forecaster = load_model(model_path, given_read.get("max_input_mb"))
    dataset = load_data(data, forecaster.read_config_.replace(**given_read), msg,
                        expected_by=f"the model {model_path}", model=forecaster)
    result = check(forecaster, dataset, last, tolerance)
    msg.notes(result.notes)
    if result.status == "nothing-new":
        msg.note(f"{dataset.source}: nothing newer than the model's history (it ends at "
                 f"{result.history_end}) and no scored forecasts in its record: nothing to check")
        return result, NOTHING_NEW
    scored = (f" ({result.origins} new origin{'s' if result.origins > 1 else ''} of {result.horizon} steps, "
              f"{result.series} series)" if result.origins else "")
    msg.note(result.verdict.sentence() + scored
             + (f"; refit: {refit_command(data, model_path)}" if result.status == "worse" else ""))
    return result, (WORSE if result.status == "worse" else 0)


def refit_command(data: str, model_path: str) -> str:
    """The command that refits the model with every option it was fitted with."""
    import shlex

    from lstmcast.cli.app import DEFAULT_MODEL

    return shlex.join(["lstmcast", "fit", data, "--like", model_path]
                      + (["--model", model_path] if model_path != DEFAULT_MODEL else []))

"""``lstmcast check``: is the model still better than the simple baselines on the newest
data? Prints the scores (data) and the verdict (stderr); the exit code says it to cron:
0 fine, 3 worse than the best of naive and seasonal naive, 4 nothing newer than the
model's history (documented in docs/guide/production.md)."""

from __future__ import annotations

from lstmcast.cli.data import load_data

WORSE, NOTHING_NEW = 3, 4


def run(model_path: str, data: str, last: int | None, given_read: dict, msg):
    """The :class:`~lstmcast.model.check.CheckResult` and the exit code it means."""
    from lstmcast.model.check import check
    from lstmcast.model.forecaster import load_model

    forecaster = load_model(model_path, given_read.get("max_input_mb"))
    dataset = load_data(data, forecaster.read_config_.replace(**given_read), msg,
                        expected_by=f"the model {model_path}", model=forecaster)
    result = check(forecaster, dataset, last)
    msg.notes(result.notes)
    if result.status == "nothing-new":
        msg.note(f"{dataset.source}: nothing newer than the model's history (it ends at "
                 f"{result.history_end}): nothing to check")
        return result, NOTHING_NEW
    verdict = "fine" if result.status == "ok" else "WORSE than the best simple baseline"
    msg.note(f"the model is {verdict}: {result.metric} {result.model_score:.3f} vs {result.best_baseline} "
             f"{result.baseline_score:.3f} on the last {result.points} points ({result.origins} origin"
             f"{'s' if result.origins > 1 else ''} of {result.horizon} steps, {result.series} series)"
             + ("; refit with lstmcast fit, or update it" if result.status == "worse" else ""))
    return result, (WORSE if result.status == "worse" else 0)

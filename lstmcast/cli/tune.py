"""``lstmcast tune``: search the model's options on folds of the data, then fit the best
options on all of it and write the model, all within a time budget.

Prints the table of the trials that ran (stdout, or ``-o``), says on stderr what was
searched, a line per rung when stderr is not a terminal (a progress bar when it is), how
many trials the budget left out, the best options and the gain over the defaults on the
folds the search never saw, and the ``lstmcast fit`` command with the tuned options. When
the tuned options lose to the defaults on those folds, the model is fitted with the
defaults (and says so). The budget counts from the command's start, except the time
readying the kernels (reported at the end), and covers the final fit: the search keeps
time for it (:mod:`lstmcast.model.budget`). The first Ctrl-C or SIGTERM ends the
search (a fit in progress stops at its next batch and its trial is dropped); the best
trial so far is then fitted and written, and the exit code is 130 or 143.
"""

from __future__ import annotations

import shlex
from contextlib import contextmanager

from lstmcast.cli.console import Messages, Progress, StopSignals
from lstmcast.cli.data import load_data
from lstmcast.cli.fit import _check_writable, warm_up_kernels
from lstmcast.config import ModelConfig, ReadConfig, TrainConfig, TuneConfig
from lstmcast.errors import Interrupted


def run(data: str, model_path: str, given: dict, *, search: TuneConfig, msg: Messages,
        scheduler: str | None = None):
    """Tune, fit the best, write it; returns (trials frame, summary dict)."""
    import pandas as pd

    from lstmcast.model import tune as tuning
    from lstmcast.model.budget import Budget
    from lstmcast.model.forecaster import save_model

    budget = Budget(search.seconds)
    read, model, train = (ReadConfig(**given["read"]), ModelConfig(**given["model"]), TrainConfig(**given["train"]))
    dataset = load_data(data, read, msg)
    _check_writable(model_path)
    fixed = {k for k in tuning.SEARCHED if k in given["model"] or k in given["train"]}
    # readying the kernels is not counted (about a second from the cache; a first run
    # compiles them, which can take a minute on a busy machine): said at the end
    budget.exclude(warm_up_kernels(msg, ensemble="ensemble" not in fixed or model.ensemble > 1))
    if fixed:
        msg.note(f"not searched (set on the command line): {', '.join(sorted(fixed))}")
    with StopSignals(msg) as stop, _runner(scheduler, stop, msg) as runner:
        with Progress(msg) as progress:
            def on_trial(trial, done, total):
                progress.batch(done, total)

            def on_rung(rung):
                if not msg.interactive:  # a log's progress; a terminal has the bar
                    msg.note(_rung_line(rung))
            result = tuning.tune(dataset, model, train, fixed=fixed, budget=budget, trials=search.trials,
                                 folds=search.folds, holdout=search.holdout, should_stop=stop, on_trial=on_trial,
                                 on_rung=on_rung, runner=runner)
    best = result.best
    left_out = sum(not t.ran for t in result.trials)
    if left_out:
        msg.note(f"{left_out} of {len(result.trials)} trials not run "
                 f"{'within the budget' if result.stopped == 'budget' else '(the search was stopped)'}")
    scored = sum(1 for t in result.trials if t.scores)
    ended = {"budget": "the budget ran out", "interrupted": "stopped"}.get(result.stopped, "complete")
    if best.scores:
        msg.note(f"{scored} of {len(result.trials)} trials scored in {result.seconds:.0f} s ({ended}); "
                 f"best: trial {best.number} {_options(best.params)}, MASE {best.score(result.folds_used):.3f} "
                 f"on the {result.folds_used} latest search fold(s)")
    else:
        msg.note(f"no trial scored in {result.seconds:.0f} s ({ended}): the model is fitted with the defaults")
    if result.stopped == "budget" and all(t.number == 0 for t in result.trials if t.scores):
        msg.note(f"the budget ({search.seconds:g} s) was too small for more than trial 0, the defaults "
                 "(give a longer --budget to search)")
    h = result.holdout
    if "tuned" in h:
        gain = (h["defaults"] - h["tuned"]) / h["defaults"] * 100 if h["defaults"] else 0.0
        msg.note(f"on the {h['folds']} latest folds, which the search did not see: MASE {h['tuned']:.3f} tuned, "
                 f"{h['defaults']:.3f} with the defaults ({gain:+.1f} %), best simple baseline "
                 f"{min(h['baselines'].values()):.3f}")
    elif h.get("skipped") == "budget" and best.scores:
        msg.note(f"no comparison on the {h['folds']} latest folds, which the search did not see: it did not fit "
                 "in the budget")
    params = best.params if best.scores else {}
    if "tuned" in h and h["tuned"] > h["defaults"]:
        msg.note("the tuned options lost to the defaults on the unseen folds: the model is fitted with the defaults")
        params = {}
    # the final fit: the chosen options on all of the data (a new handler: a Ctrl-C now
    # interrupts this fit and leaves the model file as it was)
    final = tuning._forecaster(model, train, params)
    with StopSignals(msg) as stop2:
        with Progress(msg) as progress:
            final.fit(dataset, on_epoch=progress.epoch, on_batch=progress.batch, should_stop=stop2)
        if final.training_["stopped"] == "interrupted":
            raise Interrupted(f"the final fit was stopped; {model_path} was not changed", exit_code=stop2.code)
        save_model(final, model_path)
    spent = budget.spent()
    msg.note(f"model written to {model_path} after {spent:.0f} s of the {search.seconds:g} s budget "
             f"(and {budget.excluded:.0f} s readying the kernels); "
             f"the same fit: {_command(data, model_path, given, params)}")
    frame = pd.DataFrame([t.row() for t in result.trials if t.ran], columns=list(tuning.Trial(0, {}).row()))
    summary = {"model": model_path, "best": best.row(), "fitted_with": params or "defaults",
               "stopped": result.stopped, "holdout": h, "not_run": left_out,
               "seconds": round(result.seconds, 3), "budget_seconds": round(spent, 3)}
    if result.stopped == "interrupted":
        return frame, summary, stop.code
    return frame, summary, None


def _rung_line(rung) -> str:
    """``rung 0: 27 trials on 1 fold in 9 s (8 failed); best MASE 0.908 (trial 19)``; a
    rung cut short says how many of its trials were scored, and why."""
    folds = f"{rung.folds} fold{'s' if rung.folds > 1 else ''}"
    whole = rung.scored + rung.failed == rung.trials
    trials = f"{rung.trials} trial{'s' if rung.trials > 1 else ''}"
    count = trials if whole else f"{rung.scored} of {trials} scored"
    extra = [f"{rung.failed} failed"] if rung.failed else []
    slow = [f"{rung.cut} stopped part-way"] * bool(rung.cut) + [f"{rung.slow} not started"] * bool(rung.slow)
    if slow:
        extra.append(f"{' and '.join(slow)}: too slow for the time left")
    if rung.ended != "complete":
        extra.append("the budget ran out" if rung.ended == "budget" else "stopped")
    line = f"rung {rung.number}: {count} on {folds} in {rung.seconds:.0f} s"
    line += f" ({'; '.join(extra)})" if extra else ""
    if rung.best is not None:
        line += f"; best MASE {rung.best.score(rung.folds):.3f} (trial {rung.best.number})"
    return line


@contextmanager
def _runner(scheduler: str | None, stop, msg: Messages):
    """None (trials run here), or a runner that scores each rung's trials on Dask."""
    if scheduler is None:
        yield None
        return
    from lstmcast.cluster.spread import connect, fit_predict_runner

    with connect(scheduler) as client:
        msg.note(f"scoring each rung's trials on Dask ({scheduler})")
        yield fit_predict_runner(client, should_stop=stop, return_errors=True)


def _options(params: dict) -> str:
    return " ".join(f"--{k} {v:g}" if isinstance(v, float) else f"--{k} {v}"
                    for k, v in params.items() if v is not None)


def _command(data: str, model_path: str, given: dict, params: dict) -> str:
    from lstmcast.cli.app import DEFAULT_MODEL

    read, model, train = (ReadConfig(**given["read"]), ModelConfig(**given["model"]), TrainConfig(**given["train"]))
    args = ["lstmcast", "fit", data, *(a for c in (read, model, train) for a in c.as_args())]
    args += _options({k: v for k, v in params.items() if k not in given["model"] and k not in given["train"]}).split()
    if model_path != DEFAULT_MODEL:
        args += ["--model", model_path]
    return shlex.join(args)

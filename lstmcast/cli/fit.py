"""``lstmcast fit``: read the data, train with progress and stop signals, then write the
model, or a checkpoint when stopped, atomically.

Owns checkpoints and resume: a checkpoint stores the options the user gave and the
data's checksum; ``--resume`` refuses, naming the option, when they differ.
"""

from __future__ import annotations

import os
import shlex
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

from lstmcast.cli.console import Messages, Progress, StopSignals
from lstmcast.cli.data import load_data
from lstmcast.config import ModelConfig, ReadConfig, TrainConfig
from lstmcast.errors import Interrupted, OutputError, UsageError


def checkpoint_path(model_path: str) -> str:
    """``MODEL.ckpt``; for a model name too long to take the suffix (file names are at most
    255 bytes), a shortened name with a hash of the whole one."""
    import hashlib

    folder, name = os.path.split(model_path)
    if len(os.fsencode(name)) + 5 <= 255:
        return f"{model_path}.ckpt"
    short = os.fsencode(name)[:200].decode("utf-8", "ignore")
    digest = hashlib.sha256(os.fsencode(name)).hexdigest()[:12]
    return os.path.join(folder, f"{short}.{digest}.ckpt")


def _checkpoint(ckpt: str, trainer, configs, dataset) -> dict:
    """Write the trainer's state as of its last complete epoch; its metadata."""
    from lstmcast.files import modelfile

    arrays, meta = trainer.state()
    arrays.update(trainer.net.params)  # under the network names, for the file's shape checks
    modelfile.write(ckpt, "checkpoint", arrays, {
        "config": {"read": configs[0].to_dict(), "model": configs[1].to_dict(), "train": configs[2].to_dict()},
        "forecaster": {"trainer": meta, "data_sha256": dataset.sha256},
        "network": asdict(trainer.net.spec), "dtype": trainer.net.theta.dtype.name})
    return meta


@contextmanager
def _parallel(scheduler: str | None, ckpt: str, configs, dataset, msg):
    """None, or the data-parallel rounds' factory on a Dask cluster, which checkpoints
    every round (so that --resume survives the loss of this process)."""
    if scheduler is None:
        yield None
        return
    from lstmcast.cluster.spread import connect
    from lstmcast.cluster.parallel import Rounds

    with connect(scheduler) as client:
        workers = len(client.scheduler_info()["workers"])
        msg.note(f"training data-parallel on {workers} Dask worker(s) ({scheduler}); a checkpoint "
                 "after every epoch")

        def on_round(trainer):
            if trainer.epoch:
                _checkpoint(ckpt, trainer, configs, dataset)
        yield lambda windows, m, t, spec, choices: Rounds(client, windows, m, t, spec, choices, on_round=on_round)


def run(data: str, model_path: str, given: dict, *, resume: bool, msg: Messages,
        scheduler: str | None = None, like: str | None = None) -> dict:
    """Train and write the model; the summary for ``--json``. ``like``: a model file whose
    options (reading, model, training) this fit starts from, flags overriding them."""
    from lstmcast.model.forecaster import LSTMForecaster, save_model

    configs = configs_like(like, given) if like else (
        ReadConfig(**given["read"]), ModelConfig(**given["model"]), TrainConfig(**given["train"]))
    dataset = load_data(data, configs[0], msg)
    _check_writable(model_path)
    _say_if_targets_change(model_path, dataset, like, msg)
    forecaster = LSTMForecaster(model=configs[1], train=configs[2])
    ckpt = checkpoint_path(model_path)
    state = _load_checkpoint(ckpt, configs, dataset.sha256) if resume else None
    if state is not None:
        msg.note(f"resuming from {ckpt} after epoch {state[1]['epoch']}")
    compile_seconds = warm_up_kernels(msg, ensemble=configs[1].ensemble > 1)
    started = time.perf_counter()
    with StopSignals(msg) as stop:
        with Progress(msg) as progress, _parallel(scheduler, ckpt, configs, dataset, msg) as parallel:
            forecaster.fit(dataset, on_epoch=progress.epoch, on_batch=progress.batch,
                           should_stop=stop, resume=state, parallel=parallel)
        if forecaster.training_["stopped"] == "interrupted":
            meta = _checkpoint(ckpt, forecaster.trainer_, configs, dataset)
            msg.note(f"checkpoint written to {ckpt} after {meta['epoch']} complete epochs; "
                     f"{model_path} was not changed")
        else:
            save_model(forecaster, model_path)
            stop.result_written()
            if os.path.isfile(ckpt) or os.path.islink(ckpt):
                os.remove(ckpt)
    if stop.code is not None and forecaster.training_["stopped"] == "interrupted":
        raise Interrupted(f"training stopped; resume with: {resume_command(data, model_path, configs)}",
                          exit_code=stop.code)
    if stop.code is not None:  # the signal came after training: the model was finished and written
        msg.note("a stop signal came after training had ended; the model was written in full")
    t, m = forecaster.training_, forecaster.model_config_
    seconds = time.perf_counter() - started
    msg.note(f"trained {t['epochs_run']} epochs in {seconds:.1f} s (best validation loss "
             f"{t['best_val_loss']:.4g} at epoch {t['best_epoch']}, {t['stopped']}); "
             f"model written to {model_path}")
    msg.note(f"{_describe(dataset.freq)} data ({dataset.freq}), {len(dataset.series)} series; "
             f"lookback {m.lookback}, horizon {m.horizon}, normalisation {_normalisation(m)}, "
             f"hidden {m.hidden} x {m.layers} layer{'s' if m.layers > 1 else ''}, "
             + (f"{m.ensemble} members, " if m.ensemble > 1 else "")
             + f"{forecaster.windows_['train']} training windows"
             + (f" ({forecaster.windows_['per_epoch']} sampled per epoch)"
                if forecaster.windows_["per_epoch"] < forecaster.windows_["train"] else ""))
    cov = forecaster.covariates_
    inputs = [f"known ahead: {', '.join(cov['future'])}" if cov["future"] else "",
              f"static: {', '.join(cov['static'])}" if cov["static"] else "",
              f"{cov['masked']} missing target values masked" if cov["masked"] else ""]
    if any(inputs):
        msg.note("covariates: " + "; ".join(i for i in inputs if i))
    guard = forecaster.guard_meta_
    if guard.get("enabled"):
        msg.note(_guard_line(guard, len(dataset.series) * len(forecaster.targets_)))
        if guard.get("statistical"):
            msg.note(guard["statistical"])
        if guard.get("members"):
            from lstmcast.model import combiner

            msg.note("members' mean weight / held-out error: " + combiner.line(guard["members"]))
    return {"model": str(model_path), "epochs": t["epochs_run"], "best_epoch": t["best_epoch"],
            "best_val_loss": t["best_val_loss"], "stopped": t["stopped"], "seconds": round(seconds, 3),
            "lookback": m.lookback, "horizon": m.horizon, "series": len(dataset.series),
            "windows": forecaster.windows_, "frequency": dataset.freq, "hidden": m.hidden,
            "normalize": m.normalize, "seasons": m.seasons, "compile_seconds": round(compile_seconds, 3),
            "guard": guard, "covariates": {k: cov[k] for k in ("future", "static", "masked")}}


def _guard_line(guard: dict, pairs: int) -> str:
    """``baseline guard: the LSTM for 4 of 5 series, seasonal_naive for 1 (lower error on
    279 held-out windows)``."""
    counts = guard["forecasts"]
    what = "series" if pairs == sum(counts.values()) else "series-targets"
    parts = [f"{n} {m}" for m, n in sorted(counts.items(), key=lambda kv: (kv[0] != "lstm", -kv[1]))]
    who = "combiner" if guard.get("rule", "guard") != "guard" else "baseline guard"
    return (f"{who}, by the lower error on {guard['windows']} held-out windows: "
            f"{', '.join(parts)} (of {pairs} {what})")


def warm_up_kernels(msg, ensemble: bool = False) -> float:
    """Compile or load the kernels before training (with ``ensemble``, their ensemble
    variant too), saying so on a first run."""
    from lstmcast.nn import jitcache
    from lstmcast.nn.warmup import warm_up

    cold = jitcache.is_cold()
    if cold:
        msg.note("compiling the training kernels for this machine (first run only, 5-10 s)")
    seconds, compiled = warm_up(ensemble=ensemble)
    if cold:
        msg.note(f"compiled in {seconds:.1f} s; later runs load them from {jitcache.cache_dir()}")
    elif compiled:  # a cache of other kernels (an upgrade), or an ensemble's first fit
        msg.note(f"compiled the training kernels{' with their ensemble variant' if ensemble else ''} "
                 f"in {seconds:.1f} s (once; cached in {jitcache.cache_dir()})")
    return seconds


def _describe(freq: str) -> str:
    from lstmcast.data.timeparse import period

    step = period(freq)[2].total_seconds()
    for below, word in ((3600, "sub-hourly"), (3601, "hourly"), (86400, "sub-daily"), (86401, "daily"),
                        (86400 * 8, "weekly"), (86400 * 32, "monthly"), (86400 * 93, "quarterly"),
                        (86400 * 367, "yearly")):
        if step < below:
            return word
    return "multi-year"


def _normalisation(m) -> str:
    if m.normalize == "season":
        k = m.seasons
        return f"season ({k} season{'s' if k and k > 1 else ''} of {m.season})" if k else f"season ({m.season})"
    if m.normalize == "es":
        season = f", season {m.season} gamma {m.es_gamma:g}" if m.es_gamma is not None else ""
        own = "; each series with enough windows its own" if m.es_series else ""
        return f"es (alpha {m.es_alpha:g}{season}{own})"
    return m.normalize


def configs_like(like: str, given: dict):
    """The (read, model, train) options ``like`` was fitted with, the given flags
    overriding them. What the data decided there (the lookback, the hidden size, the
    batch size, the epochs, ...) it decides again here, on this data: the model file keeps
    the options as they were given. (Files from before it kept them: the resolved ones,
    those that depend on the number of windows decided again.)"""
    from lstmcast.model.forecaster import load_model

    base = load_model(like, given["read"].get("max_input_mb"))
    if base.given_ is not None:
        model, train = ModelConfig(**base.given_["model"]), TrainConfig(**base.given_["train"])
    else:
        model = base.model_config_.replace(hidden=None)
        train = base.train_config_.replace(epochs=None, batch_size=None, epoch_windows=None, val_fraction=None)
    return (base.read_config_.replace(**given["read"]), model.replace(**given["model"]),
            train.replace(**given["train"]))


def _say_if_targets_change(model_path: str, dataset, like: str | None, msg: Messages) -> None:
    """A fit that replaces a model of other targets says so, even with --quiet: whatever
    reads the forecasts would find other columns."""
    from lstmcast.errors import LstmcastError
    from lstmcast.files import modelfile

    try:
        old = modelfile.read(model_path)[1]["forecaster"]["targets"]
    except (OSError, LstmcastError, KeyError, TypeError):  # no model there, or not one we can read
        return
    if list(old) != list(dataset.targets):
        hint = "" if like else f" (to keep its options: lstmcast fit DATA --like {shlex.quote(model_path)})"
        msg.warn(f"{model_path} was a model of {', '.join(map(repr, old))}; this fit replaces it with a model "
                 f"of {', '.join(map(repr, dataset.targets))}{hint}")


def resume_command(data: str, model_path: str, configs) -> str:
    """The command that resumes this fit: the same data, options and model path."""
    from lstmcast.cli.app import DEFAULT_MODEL

    args = ["lstmcast", "fit", data, *(a for c in configs for a in c.as_args())]
    if model_path != DEFAULT_MODEL:
        args += ["--model", model_path]
    return shlex.join([*args, "--resume"])


def network_spec(forecaster) -> dict:
    from dataclasses import asdict

    return asdict(forecaster.net_.spec)


def _check_writable(path: str) -> None:
    folder = Path(path).parent if Path(path).parent != Path("") else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: directory {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {path}: directory {folder} is not writable")


def _load_checkpoint(ckpt: str, configs, data_sha256: str):
    """(arrays, trainer state) of a checkpoint made with these options and data."""
    from lstmcast.files import modelfile

    arrays, doc, stored = modelfile.read(ckpt, kind="checkpoint", max_mb=configs[0].max_input_mb)
    if "update_of" in doc["forecaster"]:
        raise UsageError(f"{ckpt} is the checkpoint of an interrupted update, not of a fit; resume it with "
                         "lstmcast update DATA --resume, or delete it")
    differences = [d for new, old in zip(configs, stored) for d in new.differences(old)]
    if differences:
        raise UsageError(f"{ckpt} was made with other options: {'; '.join(differences)}; pass the same "
                         "options to resume, or delete the checkpoint to start afresh")
    fm = doc["forecaster"]
    if fm.get("data_sha256") != data_sha256:
        raise UsageError(f"{ckpt} was made from other data (the file's content differs); pass the same "
                         "data to resume, or delete the checkpoint to start afresh")
    return arrays, fm["trainer"]

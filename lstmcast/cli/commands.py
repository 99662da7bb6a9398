"""What each command does, between the command line and the forecaster.

Owns the orchestration of ``fit`` (progress display, checkpoints, resume, writing the
model), ``forecast`` (loading and validating the model and newer data), ``evaluate``
(delegated to :mod:`lstmcast.model.backtest`) and ``info``. Takes parsed options and a
message sink from :mod:`lstmcast.cli`; returns data, never prints it to stdout.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from lstmcast.files import store
from lstmcast.errors import InputMissingError, ModelFileError, UsageError


def checkpoint_path(model_path: str) -> str:
    return f"{model_path}.ckpt"


def _fingerprint(opts: dict, sha256: str) -> str:
    doc = json.dumps({"options": opts, "data": sha256}, sort_keys=True, default=str)
    return hashlib.sha256(doc.encode()).hexdigest()


# ---------------------------------------------------------------- fit


def fit(dataset, params: dict, model_path: str, *, resume: bool, msg, should_stop, reading: dict) -> dict:
    """Train, write the model atomically, and return a summary (for --json)."""
    from lstmcast.model.forecaster import LSTMForecaster

    started = time.perf_counter()
    _check_writable(model_path)
    forecaster = LSTMForecaster(**params)
    opts = forecaster.resolved(dataset)
    fingerprint = _fingerprint(opts, dataset.sha256)
    ckpt = checkpoint_path(model_path)
    state = None
    if resume:
        state = _load_checkpoint(ckpt, fingerprint)
        msg.note(f"resuming from {ckpt} after epoch {state[1]['epoch']}")
    progress = _Progress(msg)
    try:
        forecaster.fit(dataset, on_epoch=progress.epoch, on_batch=progress.batch,
                       should_stop=should_stop, resume=state)
    finally:
        progress.close()
    trainer = forecaster.trainer_
    if forecaster.training_["stopped"] == "interrupted":
        arrays, meta = trainer.state()
        arrays.update(forecaster.net_.params)  # best weights so far, under the network names
        store.save(ckpt, arrays, {"kind": "checkpoint", "network": _spec(forecaster),
                                  "dtype": forecaster.net_.theta.dtype.name,
                                  "forecaster": {"trainer": meta, "fingerprint": fingerprint}})
        msg.note(f"checkpoint written to {ckpt} after {meta['epoch']} complete epochs; "
                 f"{model_path} was not changed")
        return {}
    arrays, meta = forecaster.to_arrays()
    meta["forecaster"]["reading"] = reading
    store.save(model_path, arrays, {"kind": "model", **meta})
    if os.path.exists(ckpt):
        os.remove(ckpt)
    t = forecaster.training_
    seconds = time.perf_counter() - started
    summary = {"model": str(model_path), "epochs": t["epochs_run"], "best_epoch": t["best_epoch"],
               "best_val_loss": t["best_val_loss"], "stopped": t["stopped"], "seconds": round(seconds, 3),
               "lookback": forecaster.options_["lookback"], "horizon": forecaster.options_["horizon"],
               "series": len(dataset.series), "windows": forecaster.windows_}
    if not msg.quiet:
        msg.note(f"trained {t['epochs_run']} epochs in {seconds:.1f} s (best validation loss "
                 f"{t['best_val_loss']:.4g} at epoch {t['best_epoch']}, {t['stopped']}); "
                 f"model written to {model_path}")
    return summary


def _spec(forecaster) -> dict:
    from dataclasses import asdict

    return asdict(forecaster.net_.spec)


def _check_writable(path: str) -> None:
    from lstmcast.errors import OutputError

    folder = Path(path).parent if Path(path).parent != Path("") else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: directory {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise OutputError(f"cannot write {path}: directory {folder} is not writable")


def _load_checkpoint(ckpt: str, fingerprint: str):
    if not os.path.exists(ckpt):
        raise InputMissingError(f"no checkpoint at {ckpt} to resume from (run fit without --resume)")
    arrays, meta = store.load(ckpt)
    if meta.get("kind") != "checkpoint":
        raise ModelFileError(f"{ckpt} is not a checkpoint")
    fm = meta["forecaster"]
    if fm.get("fingerprint") != fingerprint:
        raise UsageError(f"{ckpt} was made with other data or options; pass the same data and options "
                         "to resume, or delete the checkpoint to start afresh")
    return arrays, fm["trainer"]


class _Progress:
    """A Rich progress bar on stderr for an interactive terminal; nothing otherwise."""

    def __init__(self, msg):
        self.bar = None
        if not msg.interactive:
            return
        from rich.progress import (BarColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.bar = Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(),
                            TextColumn("train {task.fields[train]}  val {task.fields[val]}"),
                            TimeElapsedColumn(), TimeRemainingColumn(),
                            console=msg.console, transient=True)
        self.task = None
        self.bar.start()

    def batch(self, done: int, total: int) -> None:
        if self.bar is None:
            return
        if self.task is None:
            self.task = self.bar.add_task("fit", total=total, epoch=1, train="-", val="-")
        self.bar.update(self.task, completed=done, total=total)

    def epoch(self, report) -> None:
        if self.bar is None or self.task is None:
            return
        self.bar.update(self.task, completed=0, epoch=f"{report.epoch + 1}/{report.epochs}",
                        train=f"{report.train_loss:.4g}", val=f"{report.val_loss:.4g}")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# ---------------------------------------------------------------- forecast


def load_forecaster(model_path: str):
    from lstmcast.model.forecaster import LSTMForecaster

    if not os.path.exists(model_path):
        raise InputMissingError(f"no model at {model_path} (train one with: lstmcast fit DATA, "
                                "or pass --model PATH)")
    arrays, meta = store.load(model_path)
    if meta.get("kind") != "model":
        raise ModelFileError(f"{model_path} is a {meta.get('kind')}, not a model "
                             "(resume the fit with --resume to finish it)")
    return LSTMForecaster.from_arrays(arrays, meta), meta


def forecast(model_path: str, data: str | None, horizon: int | None, levels: list[float], msg,
             reading: dict):
    """(forecast frame, the history frames it continues) for the CLI to print and plot."""
    forecaster, meta = load_forecaster(model_path)
    dataset = None
    if data is not None:
        from lstmcast.data.dataset import load_csv

        d = forecaster.data_
        stored = meta["forecaster"].get("reading", {})
        kw = {k: (v if v not in (None, ".") else stored.get(k, v)) for k, v in reading.items()}
        dataset = load_csv(data, date_col=d["date_col"], targets=forecaster.targets_,
                           features=forecaster.features_ or None, id_col=d["id_col"],
                           freq=forecaster.freq_, fill=stored.get("fill", "interpolate"),
                           dedupe=stored.get("dedupe"), **kw)
        for n in dataset.notes:
            msg.note(n)
    frame, notes = forecaster.predict(horizon, dataset, levels)
    for n in notes:
        msg.note(n)
    history = dataset.series if dataset is not None else forecaster.history_
    return frame, history


# ---------------------------------------------------------------- evaluate


def evaluate(dataset, *, folds, horizon, step, refit, season, model_path, levels, params, msg):
    from lstmcast.model import backtest as ev

    base = None
    if not refit:
        base, _ = load_forecaster(model_path)
    params = {k: v for k, v in params.items() if v is not None}
    progress = _Progress(msg)
    try:
        result = ev.backtest(dataset, folds=folds, horizon=horizon, step=step, season=season,
                             levels=levels, params=params, fitted=base,
                             on_fold=lambda i, n: progress.batch(i, n))
    finally:
        progress.close()
    return result.table, result.verdict, result


# ---------------------------------------------------------------- info


def info(model_path: str) -> dict:
    if not os.path.exists(model_path):
        raise InputMissingError(f"no model at {model_path}")
    arrays, meta = store.load(model_path)
    fm = meta.get("forecaster", {})
    if meta.get("kind") != "model":
        return {"file": model_path, "kind": meta.get("kind"), "lstmcast_version": meta.get("lstmcast_version")}
    training = dict(fm.get("training", {}))
    history = training.pop("history", [])
    return {
        "file": model_path, "format": f"{meta.get('format')} {meta.get('format_version')}",
        "lstmcast_version": meta.get("lstmcast_version"), "created": meta.get("created"),
        "data": fm.get("data"), "targets": fm.get("targets"), "features": fm.get("features"),
        "frequency": fm.get("freq"), "options": fm.get("options"), "network": meta.get("network"),
        "parameters": int(sum(arrays[n].size for n in arrays if not n.split(".")[0] in
                              ("pipeline", "calibration", "history"))),
        "training": training,
        "validation_loss_by_epoch": [round(h["val_loss"], 6) for h in history],
    }


def print_info(doc: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=False, show_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in doc.items():
        if key == "validation_loss_by_epoch":
            value = f"{len(value)} epochs, last {value[-1] if value else '-'}"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items() if not isinstance(v, (dict, list)))
        table.add_row(key, str(value))
    Console(no_color=bool(os.environ.get("NO_COLOR"))).print(table)



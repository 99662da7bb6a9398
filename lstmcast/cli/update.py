"""``lstmcast update``: continue training a model on the rows newer than its history, then
write it in place, atomically.

Signals and ``--resume`` behave as in ``fit``: a stop leaves the model as it was, writes
``MODEL.ckpt`` (the update's trainer state, with the checksums of the model file and of
the data it continues), exits 130 or 143 and prints the command that resumes it.
"""

from __future__ import annotations

import hashlib
import os
import shlex

from lstmcast.cli.console import Messages, Progress, StopSignals
from lstmcast.cli.data import load_data
from lstmcast.cli.fit import checkpoint_path, network_spec, warm_up_kernels
from lstmcast.errors import Interrupted, UsageError


REFIT = 3  # the exit code when the verdict after the update says: refit (as check's)


def run(data: str, model_path: str, given_read: dict, *, epochs: int | None, lr: float | None,
        resume: bool, msg: Messages, last: int | None = None, tolerance: float | None = None) -> dict:
    """Update the model; the summary for ``--json`` (its ``exit_code`` is 3 when the
    verdict on the model's record says it is worse than the simple baselines)."""
    from lstmcast.files.lock import exclusive

    if not os.path.exists(model_path):  # the one-line error load_model gives
        return _run(data, model_path, given_read, epochs, lr, resume, msg, last, tolerance)
    with exclusive(model_path):
        return _run(data, model_path, given_read, epochs, lr, resume, msg, last, tolerance)


def _verdict(forecaster, data: str, model_path: str, last, tolerance, msg) -> dict:
    """The verdict on the model's record after an update, said on stderr (even with
    --quiet when it says refit, since cron logs stderr)."""
    from lstmcast.cli.check import refit_command
    from lstmcast.model import monitor

    tolerance = monitor.TOLERANCE if tolerance is None else float(tolerance)
    v = monitor.verdict(monitor.record(forecaster), None, monitor.window(forecaster, last), tolerance,
                        monitor.least(forecaster, last))
    if v is None:
        return {"verdict": None, "exit_code": 0}
    if v.status == "worse":
        msg.warn(v.sentence() + f"; refit: {refit_command(data, model_path)}")
    else:
        msg.note(v.sentence())
    return {"verdict": v.summary(), "exit_code": REFIT if v.status == "worse" else 0}


def _run(data, model_path, given_read, epochs, lr, resume, msg, last=None, tolerance=None) -> dict:
    from lstmcast.files import modelfile
    from lstmcast.model.forecaster import load_model, save_model

    forecaster = load_model(model_path, given_read.get("max_input_mb"))
    model_sha = _file_sha256(model_path)
    dataset = load_data(data, forecaster.read_config_.replace(**given_read), msg,
                        expected_by=f"the model {model_path}", model=forecaster)
    ckpt = checkpoint_path(model_path)
    options = {"epochs": epochs, "lr": lr}
    state = _load_checkpoint(ckpt, model_sha, dataset.sha256, options, given_read.get("max_input_mb")) \
        if resume else None
    if state is not None:
        msg.note(f"resuming the update from {ckpt} after epoch {state[1]['epoch']}")
    warm_up_kernels(msg, ensemble=forecaster.model_config_.ensemble > 1)
    from lstmcast.model.update import when

    end = when(max(f.index[-1] for f in forecaster.history_.values()))
    with StopSignals(msg) as stop:
        with Progress(msg) as progress:
            report = forecaster.update(dataset, epochs=epochs, lr=lr, on_epoch=progress.epoch,
                                       on_batch=progress.batch, should_stop=stop, resume=state)
        msg.notes(report.notes)
        summary = {"model": str(model_path), "rows_added": report.rows_added, "series": len(report.series),
                   "val_loss_before": report.val_loss_before, "val_loss_after": report.val_loss_after,
                   "kept_old_weights": report.kept_old_weights, "epochs": report.epochs,
                   "seconds": round(report.seconds, 3), "stopped": report.stopped}
        if report.stopped == "nothing-new":
            msg.note(f"{dataset.source}: nothing newer than the model's history (it ends at {end}); "
                     f"{model_path} was not changed")
            return summary
        if report.stopped == "interrupted":
            arrays, meta = forecaster.trainer_.state()
            arrays.update(forecaster.net_.params)
            read, model, train = forecaster.read_config_, forecaster.model_config_, forecaster.train_config_
            modelfile.write(ckpt, "checkpoint", arrays, {
                "config": {"read": read.to_dict(), "model": model.to_dict(), "train": train.to_dict()},
                "forecaster": {"trainer": meta, "data_sha256": dataset.sha256,
                               "update_of": model_sha, "update_options": options},
                "network": network_spec(forecaster), "dtype": forecaster.net_.theta.dtype.name})
            msg.note(f"checkpoint written to {ckpt} after {meta['epoch']} complete epochs; "
                     f"{model_path} was not changed")
            raise Interrupted(f"update stopped; resume with: {resume_command(data, model_path, options)}",
                              exit_code=stop.code)
        save_model(forecaster, model_path)
        stop.result_written()
        if os.path.isfile(ckpt) or os.path.islink(ckpt):
            os.remove(ckpt)
    if stop.code is not None:
        msg.note("a stop signal came after the update had ended; the model was written in full")
    if report.kept_old_weights:
        msg.note(f"updated {model_path} with {report.rows_added} new rows: the continued training did not "
                 f"improve the validation loss ({report.val_loss_before:.4g}), so the weights were kept; "
                 "the history and the intervals are refreshed")
    else:
        msg.note(f"updated {model_path} with {report.rows_added} new rows in {report.epochs} epochs, "
                 f"{report.seconds:.1f} s (validation loss {report.val_loss_before:.4g} -> "
                 f"{report.val_loss_after:.4g}); history now ends at "
                 f"{when(max(f.index[-1] for f in forecaster.history_.values()))}")
    summary.update(_verdict(forecaster, data, model_path, last, tolerance, msg))
    return summary


def resume_command(data: str, model_path: str, options: dict) -> str:
    from lstmcast.cli.app import DEFAULT_MODEL

    args = ["lstmcast", "update", data]
    args += [a for flag, v in (("--epochs", options["epochs"]), ("--lr", options["lr"])) if v is not None
             for a in (flag, str(v))]
    if model_path != DEFAULT_MODEL:
        args += ["--model", model_path]
    return shlex.join([*args, "--resume"])


def _file_sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _load_checkpoint(ckpt: str, model_sha: str, data_sha256: str, options: dict, max_mb):
    """(arrays, trainer state) of the checkpoint of this very update: same model file,
    same data, same options."""
    from lstmcast.files import modelfile

    arrays, doc, _ = modelfile.read(ckpt, kind="checkpoint", max_mb=max_mb)
    fm = doc["forecaster"]
    if "update_of" not in fm:
        raise UsageError(f"{ckpt} is the checkpoint of an interrupted fit, not of an update; resume it "
                         "with lstmcast fit ... --resume, or delete it")
    if fm["update_of"] != model_sha:
        raise UsageError(f"{ckpt} was made while updating another version of the model file; delete it "
                         "and update again")
    if fm.get("data_sha256") != data_sha256:
        raise UsageError(f"{ckpt} was made from other data (the file's content differs); pass the same "
                         "data to resume, or delete the checkpoint to start afresh")
    if fm.get("update_options") != options:
        raise UsageError(f"{ckpt} was made with other options ({fm.get('update_options')}); pass the same "
                         "options to resume, or delete the checkpoint to start afresh")
    return arrays, fm["trainer"]

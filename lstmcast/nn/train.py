"""The training loop: batches, AdamW, clipping, learning-rate schedule, early stopping,
divergence and interrupt handling, progress callbacks, resumable state.

Knows nothing of files or the command line: it trains a :class:`~lstmcast.nn.network.Net`
on windows given by a ``take(indices) -> (X, Y)`` (or ``(X, Y, F)``) function. Missing
targets (NaN) are left out of every loss. The caller decides what
to do with an interrupted or diverged run (the CLI writes a checkpoint from
:meth:`Trainer.state`).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np

from lstmcast.errors import TrainingDiverged
from lstmcast.nn import losses
from lstmcast.nn.network import Net
from lstmcast.nn.optim import Adam


def predicted(net: Net, take, idx: np.ndarray, size: int):
    """Yield ``(x, y, prediction)`` for windows ``idx`` in slices of ``size``: bounded
    memory however many windows. Always the kernels, so every slice (a short last one
    too) is computed the same way."""
    for start in range(0, len(idx), size):
        x, y, f = unpack(take(idx[start:start + size]))
        yield x, y, net.predict(x, engine="kernels", f=f).reshape(y.shape)


def unpack(batch: tuple) -> tuple:
    """``take``'s (X, Y) or (X, Y, F) as (X, Y, F or None): F is the future block's input."""
    return (*batch, None) if len(batch) == 2 else batch


@dataclass(frozen=True)
class Plateau:
    """The fixed parts of the schedule (not user options): reduce-on-plateau of the
    learning rate."""

    lr_factor: float = 0.5          # reduce-on-plateau factor
    lr_patience: int = 4            # epochs without improvement before the lr is reduced
    min_lr: float = 1e-5


@dataclass
class EpochReport:
    epoch: int
    epochs: int
    train_loss: float
    val_loss: float
    best_val_loss: float
    lr: float
    seconds: float


@dataclass
class TrainResult:
    epochs_run: int
    best_epoch: int
    best_val_loss: float
    seconds: float
    stopped: str                     # "early-stopping" | "max-epochs" | "interrupted"
    history: list[dict] = field(default_factory=list)


class Trainer:
    """Trains ``net`` in place; the best weights (by validation loss) end up in ``net``."""

    def __init__(self, net: Net, config, *, dropout: float = 0.0, plateau: Plateau = Plateau(),
                 on_epoch: Callable[[EpochReport], None] | None = None,
                 on_batch: Callable[[int, int], None] | None = None,
                 should_stop: Callable[[], bool] | None = None, grad_mask: np.ndarray | None = None,
                 snapshots: int = 1):
        missing = [n for n in ("epochs", "batch_size") if getattr(config, n) is None]
        if missing:
            raise ValueError(f"the training config is not resolved: {', '.join(missing)} unset")
        self.net = net
        self.config = config  # a resolved lstmcast.config.TrainConfig (or anything with its fields)
        self.dropout = dropout
        self.schedule = plateau
        self.on_epoch = on_epoch
        self.on_batch = on_batch
        self.should_stop = should_stop or (lambda: False)
        # multiplies every gradient before the step: 0 keeps a weight where it is (an
        # ensemble's cross-member weights, lstmcast.model.ensemble)
        self.grad_mask = grad_mask
        self.opt = Adam(net.size, dtype=net.dtype, lr=config.lr, weight_decay=config.weight_decay,
                        clip_norm=config.clip_norm)
        self.rng = np.random.default_rng(config.seed)
        self.epoch = 0
        self.best_theta = net.theta.copy()
        self.best_val = math.inf
        self.best_epoch = 0
        self.bad_epochs = 0
        self.plateau = 0
        self.history: list[dict] = []
        self.seconds = 0.0
        # snapshot averaging: the weights of the best ``snapshots`` epochs, averaged at the
        # end where that validates better than the best epoch alone (1: off)
        self.snapshots = int(snapshots)
        self.pool: list[tuple[float, np.ndarray]] = []
        self.averaged = 0
        self._snapshot()

    # ------------------------------------------------------------------ state

    def _snapshot(self) -> None:
        """Remember the state at an epoch boundary: what :meth:`state` hands out."""
        self._snap_arrays = {"trainer.theta": self.net.theta.copy(), **self.opt.state()}
        self._snap_lr = self.opt.lr
        self._snap_rng = self.rng.bit_generator.state

    def state(self) -> tuple[dict[str, np.ndarray], dict]:
        """Everything needed to resume, as of the last completed epoch.

        An interrupted epoch is not saved half-done: resuming replays it from its
        start, so an interrupted and resumed run ends with exactly the weights of an
        uninterrupted one.
        """
        arrays = {**self._snap_arrays, "trainer.best_theta": self.best_theta.copy()}
        meta = {"epoch": self.epoch, "best_val": self.best_val if math.isfinite(self.best_val) else None,
                "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs, "plateau": self.plateau,
                "lr": self._snap_lr, "history": self.history, "seconds": self.seconds,
                "rng": self._snap_rng, "config": asdict(self.config)}
        return arrays, meta

    def load_state(self, arrays: dict[str, np.ndarray], meta: dict) -> None:
        self.net.theta[:] = arrays["trainer.theta"]
        self.best_theta[:] = arrays["trainer.best_theta"]
        self.opt.load_state(arrays)
        self.opt.lr = float(meta["lr"])
        self.epoch = int(meta["epoch"])
        self.best_val = math.inf if meta["best_val"] is None else float(meta["best_val"])
        self.best_epoch = int(meta["best_epoch"])
        self.bad_epochs = int(meta["bad_epochs"])
        self.plateau = int(meta["plateau"])
        self.history = list(meta["history"])
        self.seconds = float(meta["seconds"])
        self.rng.bit_generator.state = meta["rng"]
        self._snapshot()

    # ------------------------------------------------------------------ running

    def validation_loss(self, take, idx: np.ndarray, stoppable: bool = False) -> float | None:
        """Mean loss over windows ``idx`` (in batches, no dropout); None when ``stoppable``
        and ``should_stop()`` turned true between batches (1.6 M validation windows take
        half a minute)."""
        total, count = 0.0, 0
        for _, y, pred in predicted(self.net, take, idx, max(self.config.batch_size, 256)):
            if stoppable and self.should_stop():
                return None
            err = pred.astype(np.float64) - y
            err = err[~np.isnan(err)]  # missing targets (--missing mask)
            total += float(losses.get(self.config.loss).reference(err).sum())
            count += err.size
        return total / max(count, 1)

    def run_batches(self, take, order: np.ndarray) -> list[float] | None:
        """One epoch's optimiser steps over the windows ``order``, in batches; None when
        ``should_stop()`` turned true between batches."""
        cfg = self.config
        n_batches = max(1, math.ceil(len(order) / cfg.batch_size))
        losses = []
        for b in range(n_batches):
            if self.should_stop():
                return None
            batch = order[b * cfg.batch_size:(b + 1) * cfg.batch_size]
            x, y, f = unpack(take(batch))
            loss, grad = self.net.loss_and_grad(x, y.reshape(len(y), -1), cfg.loss, f=f,
                                                dropout=self.dropout, rng=self.rng)
            if not math.isfinite(loss) or not np.isfinite(grad).all():
                self._finish()
                raise TrainingDiverged(
                    f"training diverged in epoch {self.epoch + 1} (loss became {loss}); "
                    f"try a smaller --lr (now {self.opt.lr:g}) or --transform log for data "
                    "spanning orders of magnitude")
            if self.grad_mask is not None:
                grad *= self.grad_mask
            self.opt.step(self.net.theta, grad)
            losses.append(loss)
            if self.on_batch:
                self.on_batch(b + 1, n_batches)
        return losses

    def fit(self, take, train_idx: np.ndarray, val_idx: np.ndarray, rounds=None) -> TrainResult:
        """Train until early stopping, the epoch limit, or ``should_stop()``.

        ``rounds(trainer, order) -> losses or None`` runs an epoch's batches elsewhere
        (data-parallel workers, :mod:`lstmcast.cluster.parallel`) instead of
        :meth:`run_batches`; everything between epochs stays here."""
        cfg = self.config
        stopped = "max-epochs"
        n_epoch = len(train_idx) if cfg.epoch_windows is None else min(len(train_idx), cfg.epoch_windows)
        while self.epoch < cfg.epochs:
            started = time.perf_counter()
            order = self.rng.permutation(train_idx)[:n_epoch]  # all of them, or a fresh sample
            losses = self.run_batches(take, order) if rounds is None else rounds(self, order)
            if losses is None:
                self._finish()
                return self._result("interrupted")
            val = self.validation_loss(take, val_idx, True) if len(val_idx) else float(np.mean(losses))
            if val is None:  # stopped while validating: the epoch is not complete
                self._finish()
                return self._result("interrupted")
            self.epoch += 1
            if not math.isfinite(val):
                self._finish()
                raise TrainingDiverged(f"validation loss became {val} in epoch {self.epoch}; "
                                       f"try a smaller --lr (now {self.opt.lr:g})")
            self.seconds += time.perf_counter() - started
            self._after_epoch(float(np.mean(losses)), val)
            self._snapshot()
            if self.bad_epochs >= cfg.patience:
                stopped = "early-stopping"
                break
        self._finish()
        self._average(take, val_idx)
        return self._result(stopped)

    def _average(self, take, val_idx: np.ndarray) -> None:
        """Snapshot averaging: the mean of the pool's weights replaces the best epoch's
        where its validation loss is lower."""
        if self.snapshots < 2 or len(self.pool) < 2 or not len(val_idx):
            return
        best = self.net.theta.copy()
        self.net.theta[:] = np.mean([theta for _, theta in self.pool], axis=0, dtype=np.float64)
        val = self.validation_loss(take, val_idx)
        if val < self.best_val:
            self.best_val, self.averaged = val, len(self.pool)
            self.best_theta[:] = self.net.theta
        else:
            self.net.theta[:] = best

    def _after_epoch(self, train_loss: float, val: float) -> None:
        cfg = self.config
        if val < self.best_val * (1 - 1e-4):
            self.best_val, self.best_epoch = val, self.epoch
            self.best_theta[:] = self.net.theta
            self.bad_epochs = self.plateau = 0
        else:
            self.bad_epochs += 1
            self.plateau += 1
            if self.plateau >= self.schedule.lr_patience and self.opt.lr > self.schedule.min_lr:
                self.opt.lr = max(self.schedule.min_lr, self.opt.lr * self.schedule.lr_factor)
                self.plateau = 0
        if self.snapshots > 1 and (len(self.pool) < self.snapshots or val < self.pool[-1][0]):
            self.pool = sorted(self.pool + [(val, self.net.theta.copy())], key=lambda p: p[0])[:self.snapshots]
        self.history.append({"epoch": self.epoch, "train_loss": train_loss, "val_loss": val,
                             "lr": self.opt.lr})
        if self.on_epoch:
            self.on_epoch(EpochReport(self.epoch, cfg.epochs, train_loss, val, self.best_val,
                                      self.opt.lr, self.seconds))

    def _finish(self) -> None:
        """Put the best weights seen so far into the network."""
        if math.isfinite(self.best_val):
            self.net.theta[:] = self.best_theta

    def _result(self, stopped: str) -> TrainResult:
        return TrainResult(self.epoch, self.best_epoch, self.best_val, self.seconds, stopped,
                           list(self.history))

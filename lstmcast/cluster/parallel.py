"""Data-parallel training of one global model on Dask workers (``fit --scheduler``).

Owns the rounds. The series are cut into one contiguous shard per worker; each shard's
scaled arrays are sent once (``scatter``) and stay on its worker. An epoch is a round:

1. the driver draws the epoch's windows (the trainer's own permutation, as in a local
   fit) and gives each worker the ones of its series, in that order;
2. every worker starts from the same weights and optimiser state, takes its windows'
   optimiser steps, and returns its weights and Adam moments (arrays only);
3. the driver averages them, weighted by each worker's windows, in shard order (a fixed
   order: the same cluster size and seed give the same model), then validates, keeps the
   best weights and adapts the learning rate exactly as a local fit does.

With one worker, the worker takes the trainer's random state and returns it: the model
is the local fit's, bit for bit (tested). With more, each worker's dropout draws come
from seeds the trainer draws, in shard order. Before each round the driver writes the
checkpoint of the last complete round (``on_round``), so ``--resume`` survives the loss
of the driver; a lost worker's task is retried (its shard is kept by Dask's scatter).
"""

from __future__ import annotations

import json

import numpy as np

from lstmcast.cluster.spread import RETRIES
from lstmcast.prep.normalize import Norm


def train_shard(shard: dict[str, np.ndarray], setup: str, theta: np.ndarray, adam: dict[str, np.ndarray],
                order: np.ndarray, state: str) -> tuple[np.ndarray, dict[str, np.ndarray], str, np.ndarray]:
    """On a worker: the steps of one round over the shard's windows ``order`` (shard-local
    indices); (weights, Adam state, random state as JSON, losses)."""
    from lstmcast.config import TrainConfig
    from lstmcast.model import training
    from lstmcast.nn.network import Net, Spec
    from lstmcast.prep.windows import make_windows

    s, st = json.loads(setup), json.loads(state)
    nt = s["n_targets"]
    arrays = {}
    for i in range(s["n_series"]):
        a = shard[f"{i}"].copy()
        if f"{i}.targets" in shard:  # missing targets (--missing mask) travel as NaN
            a[:, :nt] = shard[f"{i}.targets"]
        arrays[str(i)] = a
    future = s.get("future_cols", [])
    windows = make_windows(arrays, list(range(nt)), s["lookback"], s["horizon"], s["stride"], future)
    K = int(s.get("ensemble", 1))
    take = training.taker(windows, nt, Norm(**s["norm"]), K)
    net = Net(Spec(**s["spec"]), theta.copy(), K)
    trainer = training.build_trainer(net, TrainConfig.from_dict(s["train"], "train"), dropout=s["dropout"],
                                     members=K, nt=nt, n_future=len(future), future_block=s["future_block"])
    trainer.opt.load_state(adam)
    trainer.opt.lr = float(st["lr"])
    if st["rng"] is not None:
        trainer.rng.bit_generator.state = st["rng"]
    else:
        trainer.rng = np.random.default_rng(st["seed"])
    losses = trainer.run_batches(take, np.asarray(order, dtype=np.int64))
    return net.theta, trainer.opt.state(), json.dumps(trainer.rng.bit_generator.state), np.asarray(losses)


class Rounds:
    """The ``rounds`` of :meth:`lstmcast.nn.train.Trainer.fit` on a Dask client."""

    def __init__(self, client, windows, m, t, spec, choices, on_round=None):
        workers = sorted(client.scheduler_info()["workers"])
        n = len(windows.keys)
        w = max(1, min(len(workers), n))
        cuts = np.linspace(0, n, w + 1).round().astype(int)
        self.client, self.on_round = client, on_round
        self.bounds = [(int(windows.offsets[a]), int(windows.offsets[b])) for a, b in zip(cuts[:-1], cuts[1:])]
        first_window = np.searchsorted(windows.series, np.arange(n + 1))
        self.window_bounds = [(int(first_window[a]), int(first_window[b])) for a, b in zip(cuts[:-1], cuts[1:])]
        self.shards, self.setups = [], []
        for i, (a, b) in enumerate(zip(cuts[:-1], cuts[1:])):
            part = {f"{j}": windows.data[windows.offsets[k]:windows.offsets[k + 1]] for j, k in enumerate(range(a, b))}
            if windows.masked:
                part.update({f"{j}.targets": windows.targets[windows.offsets[k]:windows.offsets[k + 1]]
                             for j, k in enumerate(range(a, b))})
            self.shards.append(client.scatter([part], workers=[workers[i % len(workers)]], hash=False)[0])
            self.setups.append(json.dumps({
                "n_series": int(b - a), "n_targets": windows.n_targets, "lookback": windows.lookback,
                "horizon": windows.horizon, "stride": windows.stride, "norm": Norm.of(m).to_dict(),
                "dropout": m.dropout, "ensemble": m.ensemble,
                "spec": {k: getattr(spec, k) for k in ("input_size", "hidden_size", "num_layers",
                                                          "output_size", "bidirectional", "future_size",
                                                          "future_hidden", "future_inputs")},
                "future_cols": list(windows.future_cols), "future_block": choices.future_block,
                "train": t.to_dict()}))
        self.shard_keys = [list(windows.keys[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
        self.message_bytes = 0  # what one round sends and receives, for the scaling estimate

    def with_norm(self, norm: Norm) -> None:
        """Send the workers ``norm`` as fit chose it, per-series coefficients keyed as each
        worker's windows are (by the series' place in its shard)."""
        for i, keys in enumerate(self.shard_keys):
            setup = json.loads(self.setups[i])
            setup["norm"] = norm.to_dict()
            if norm.series:
                setup["norm"]["series"] = {str(j): list(norm.series[k]) for j, k in enumerate(keys)
                                           if k in norm.series}
            self.setups[i] = json.dumps(setup)

    def __call__(self, trainer, order: np.ndarray):
        if self.on_round is not None:
            self.on_round(trainer)
        if trainer.should_stop():
            return None
        theta, adam = trainer.net.theta, trainer.opt.state()
        single = len(self.shards) == 1
        seeds = [None] if single else trainer.rng.integers(0, 2**63 - 1, size=len(self.shards)).tolist()
        futures = []
        for i, (lo, hi) in enumerate(self.window_bounds):
            mine = order[(order >= lo) & (order < hi)] - lo
            state = json.dumps({"lr": trainer.opt.lr,
                                "rng": trainer.rng.bit_generator.state if single else None,
                                "seed": None if single else int(seeds[i])})
            self.message_bytes = 2 * (theta.nbytes + sum(a.nbytes for a in adam.values())) + mine.nbytes
            futures.append(self.client.submit(train_shard, self.shards[i], self.setups[i], theta, adam, mine,
                                              state, retries=RETRIES, pure=False))
        results = [f.result() for f in futures]
        counts = np.array([max(1, int(np.sum((order >= lo) & (order < hi)))) for lo, hi in self.window_bounds],
                          dtype=np.float64)
        weights = counts / counts.sum()
        trainer.net.theta[:] = sum(wt * r[0].astype(np.float64) for wt, r in zip(weights, results)).astype(
            trainer.net.theta.dtype) if not single else results[0][0]
        merged = {}
        for name in adam:
            if name == "adam.steps":
                merged[name] = max((r[1][name] for r in results), key=lambda a: int(a[0]))
            else:
                merged[name] = (sum(wt * r[1][name].astype(np.float64) for wt, r in zip(weights, results))
                                .astype(adam[name].dtype) if not single else results[0][1][name])
        trainer.opt.load_state(merged)
        if single:
            trainer.rng.bit_generator.state = json.loads(results[0][2])
        return [float(v) for r in results for v in r[3]]

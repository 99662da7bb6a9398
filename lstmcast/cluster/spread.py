"""Connecting to Dask, and what is spread over it.

``--scheduler ADDRESS`` (or ``DASK_SCHEDULER_ADDRESS``): ``tcp://host:8786`` connects to a
running scheduler; ``local:N`` starts a LocalCluster of N single-threaded worker
processes on this machine. Needs ``pip install 'lstmcast[dask]'``.

Before any work, every worker is asked for its lstmcast version: a worker without
lstmcast, or with another version, is named in a one-line error. Tasks are retried
(``RETRIES``) when a worker is lost; results are collected in submission order, and
nothing is written until all have arrived, so a lost worker never leaves a file half
written. What travels is arrays and JSON (:mod:`lstmcast.cluster.payload`).
"""

from __future__ import annotations

import json
from contextlib import contextmanager

from lstmcast.errors import LstmcastError, UsageError

RETRIES = 3


@contextmanager
def connect(address: str):
    """A dask.distributed Client for ``address`` (see the module docstring), closed after."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--scheduler needs Dask: pip install 'lstmcast[dask]'") from None
    import lstmcast

    cluster = None
    if address.startswith("local:"):
        try:
            n = int(address.split(":", 1)[1])
            if n < 1:
                raise ValueError
        except ValueError:
            raise UsageError(f"--scheduler local:N takes a number of workers of 1 or more, not {address!r}") \
                from None
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0")
        client = Client(cluster)
    else:
        try:
            client = Client(address, timeout="20s")
        except (OSError, TimeoutError, ValueError) as e:
            raise UsageError(f"cannot reach the Dask scheduler at {address} ({str(e).splitlines()[0]})") \
                from None
    try:
        check_workers(client, lstmcast.__version__)
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def check_workers(client, want: str) -> None:
    from lstmcast.cluster import tasks

    if not client.scheduler_info().get("workers"):
        raise UsageError("the Dask cluster has no workers")
    answers = client.run(tasks.version, on_error="return")
    for worker, got in sorted(answers.items()):
        if isinstance(got, BaseException):
            raise UsageError(f"Dask worker {worker} cannot run lstmcast ({type(got).__name__}: {got}); "
                             f"install lstmcast {want} there")
        if got != want:
            raise UsageError(f"Dask worker {worker} has lstmcast {got}, this is {want}: install the same "
                             "version on every worker")


def fit_predict_runner(client, should_stop=None, return_errors: bool = False):
    """``run(jobs, levels) -> forecasts`` where each job is ``(forecaster, history,
    horizon)``: every job's fit and forecast as one task, all at once, in job order. With
    ``should_stop`` (here, or for one call), waiting ends (None is returned, the tasks
    cancelled) when it says so, or with ``partial`` the jobs done by then, None in place of
    the others; with ``return_errors``, a job that lstmcast refused gives its error in its
    place. ``run.workers``: the workers when it was made (``tune`` plans its budget with it)."""
    import distributed

    from lstmcast.cluster import tasks
    from lstmcast.cluster.payload import dataset_out, forecast_in

    default_stop = should_stop

    def run(jobs, levels, should_stop=None, partial: bool = False):
        should_stop = should_stop or default_stop
        futures = []
        for forecaster, history, horizon in jobs:
            options = json.dumps({"model": forecaster.model_config.to_dict(),
                                  "train": forecaster.train_config.to_dict(),
                                  "choices": forecaster.choices.to_dict()})
            data, meta = dataset_out(history)
            futures.append(client.submit(tasks.fit_predict, data, meta, options, horizon, list(levels),
                                         retries=RETRIES, pure=False))
        stopped = False
        while should_stop is not None and _pending(distributed, futures):
            if should_stop():
                client.cancel([f for f in futures if not f.done()] if partial else futures)
                if not partial:
                    return None
                stopped = True
                break
        out = []
        for f in futures:
            if stopped and f.status not in ("finished", "error"):
                out.append(None)
                continue
            try:
                out.append(forecast_in(*f.result()))
            except LstmcastError as e:
                if not return_errors:
                    raise
                out.append(e)
        return out
    run.workers = len(client.scheduler_info().get("workers", {})) or 1
    return run


def _pending(distributed, futures) -> bool:
    """Whether any future is still running after waiting up to 0.25 s for them all."""
    try:
        distributed.wait(futures, timeout=0.25)
    except distributed.TimeoutError:
        pass
    return not all(f.done() for f in futures)


def backtest_runner(client):
    """A ``runner`` for :func:`lstmcast.model.backtest.backtest`: every fold's refit and
    forecast as one task, all folds at once."""
    many = fit_predict_runner(client)

    def run(forecaster, histories, horizon, levels):
        return many([(forecaster, h, horizon) for h in histories], levels)
    return run


def forecast_shards(client, model_bytes: bytes, dataset, horizon, levels, shards: int):
    """Forecast every series of ``dataset`` (newer data, or the model's own history as a
    dataset) in ``shards`` tasks of consecutive series; one Forecast, series in order."""
    from dataclasses import replace

    from lstmcast.cluster import tasks
    from lstmcast.cluster.payload import dataset_out, forecast_in
    from lstmcast.model.forecast import Forecast

    keys = list(dataset.series)
    size = max(1, -(-len(keys) // shards))
    futures = []
    for start in range(0, len(keys), size):
        part = replace(dataset, series={k: dataset.series[k] for k in keys[start:start + size]})
        data, meta = dataset_out(part)
        futures.append(client.submit(tasks.predict_shard, model_bytes, data, meta, horizon, list(levels),
                                     retries=RETRIES, pure=False))
    parts = [forecast_in(*f.result()) for f in futures]
    first = parts[0]
    notes = list(dict.fromkeys(n for p in parts for n in p.notes))
    return Forecast(first.targets, first.levels, {k: v for p in parts for k, v in p.series.items()},
                    first.date_col, first.id_col, notes, first.time_form)

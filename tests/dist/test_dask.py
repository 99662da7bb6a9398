"""Dask, for real: a LocalCluster (in-process where that is enough, worker processes where
a worker must die), payloads of arrays and JSON, results identical to a local run."""

import json
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from conftest import daily_frame  # noqa: E402
from lstmcast.data.dataset import load_csv  # noqa: E402
from lstmcast.dist import cluster, payload  # noqa: E402
from lstmcast.errors import UsageError  # noqa: E402
from lstmcast.model.backtest import backtest  # noqa: E402
from lstmcast.model.forecaster import LSTMForecaster  # noqa: E402

TINY = dict(hidden=8, epochs=4, seed=2, lookback=21, horizon=7)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    d = tmp_path_factory.mktemp("dask")
    pd.concat([daily_frame(200, seed=i).assign(store=f"s{i}") for i in range(4)]).to_csv(d / "d.csv", index=False)
    return load_csv(str(d / "d.csv"), id_col="store")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=":0") as lc, distributed.Client(lc) as c:
        yield c


def only_arrays_and_text(arrays, text):
    assert isinstance(text, str) and json.loads(text) is not None
    assert all(isinstance(k, str) and isinstance(v, np.ndarray) and v.dtype != object for k, v in arrays.items())


def test_payloads_are_arrays_and_json_and_round_trip_exactly(data):
    arrays, text = payload.dataset_out(data)
    only_arrays_and_text(arrays, text)
    back = payload.dataset_in(arrays, text)
    assert back.targets == data.targets and back.freq == data.freq and back.read == data.read
    for k in data.series:
        np.testing.assert_array_equal(back.series[k].to_numpy(), data.series[k].to_numpy())
        assert (back.series[k].index == data.series[k].index).all()
    fc = LSTMForecaster(**TINY).fit(data).predict(None, None, [80, 95])
    arrays, text = payload.forecast_out(fc)
    only_arrays_and_text(arrays, text)
    pd.testing.assert_frame_equal(payload.forecast_in(arrays, text).to_frame(), fc.to_frame())


def test_folds_on_dask_give_the_local_result(data, client):
    forecaster = LSTMForecaster(**TINY)
    local = backtest(data, folds=3, forecaster=forecaster, levels=[80])
    remote = backtest(data, folds=3, forecaster=forecaster, levels=[80], runner=cluster.backtest_runner(client))
    pd.testing.assert_frame_equal(local.table, remote.table, check_exact=True)


def test_forecast_shards_give_the_local_forecast(data, client, tmp_path):
    model = LSTMForecaster(**TINY).fit(data)
    model.save(tmp_path / "m.safetensors")
    raw = (tmp_path / "m.safetensors").read_bytes()
    want = model.predict(14, None, [90]).to_frame()
    for shards in (1, 3, 10):
        got = cluster.forecast_shards(client, raw, model.history_dataset(), 14, [90], shards)
        pd.testing.assert_frame_equal(got.to_frame(), want, check_exact=True)


def test_a_worker_with_another_version_is_named(client):
    cluster.check_workers(client, __import__("lstmcast").__version__)
    with pytest.raises(UsageError, match=r"Dask worker inproc://\S+ has lstmcast .* this is 9\.9"):
        cluster.check_workers(client, "9.9")


def test_a_lost_worker_is_retried_and_nothing_is_lost(data):
    """Two worker processes; one is killed (SIGKILL) while the folds run: its task runs
    again elsewhere and the result is the local one."""
    forecaster = LSTMForecaster(**{**TINY, "epochs": 40, "patience": 40})
    local = backtest(data, folds=4, forecaster=forecaster)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as lc, distributed.Client(lc) as c:
        pids = c.run(os.getpid)
        victim = sorted(pids.values())[0]
        timer = threading.Timer(1.5, lambda: os.kill(victim, signal.SIGKILL))
        timer.start()
        started = time.monotonic()
        remote = backtest(data, folds=4, forecaster=forecaster, runner=cluster.backtest_runner(c))
        timer.cancel()
        assert time.monotonic() - started > 1.5, "finished before the worker was killed"
    pd.testing.assert_frame_equal(local.table, remote.table, check_exact=True)


def test_connect_refusals():
    with pytest.raises(UsageError, match="local:N takes a number of workers of 1 or more"):
        with cluster.connect("local:zero"):
            pass


def test_the_installed_command_spreads_evaluate_and_forecast(tmp_path):
    """`--scheduler local:2` (worker processes) and DASK_SCHEDULER_ADDRESS: the same
    output, byte for byte, as without."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    exe = shutil.which("lstmcast", path=str(Path(sys.executable).parent)) or shutil.which("lstmcast")
    pd.concat([daily_frame(150, seed=i).assign(store=f"s{i}") for i in range(3)]).to_csv(tmp_path / "d.csv",
                                                                                      index=False)
    fast = ["--epochs", "3", "--hidden", "4", "--lookback", "14", "--horizon", "7", "-q"]

    def run(*args, env=None):
        r = subprocess.run([exe, *args], cwd=tmp_path, capture_output=True, env={**os.environ, **(env or {})})
        assert r.returncode == 0 and b"Warning" not in r.stderr, r.stderr.decode()
        return r.stdout

    assert run("evaluate", "d.csv", "--id-col", "store", *fast) == \
        run("evaluate", "d.csv", "--id-col", "store", *fast, "--scheduler", "local:2")
    run("fit", "d.csv", "--id-col", "store", *fast)
    assert run("forecast", "--level", "80") == run("forecast", "--level", "80",
                                                   env={"DASK_SCHEDULER_ADDRESS": "local:2"})

"""Dask, for real: a LocalCluster (in-process where that is enough, worker processes where
a worker must die), payloads of arrays and JSON, results identical to a local run."""

import contextlib
import io
import json
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

from conftest import assert_same_bits, daily_frame, two_kinds_csv  # noqa: E402
from lstmcast.data.dataset import load_csv  # noqa: E402
from lstmcast.cluster import payload, spread  # noqa: E402
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
    remote = backtest(data, folds=3, forecaster=forecaster, levels=[80], runner=spread.backtest_runner(client))
    pd.testing.assert_frame_equal(local.table, remote.table, check_exact=True)


def test_tune_trials_on_dask_give_the_local_search(data, client):
    from lstmcast.config import ModelConfig, TrainConfig
    from lstmcast.model import tune

    m, t = ModelConfig(hidden=8, horizon=7), TrainConfig(epochs=3, seed=2)
    kw = dict(fixed={"hidden"}, budget=600, trials=6, folds=2, holdout=1)
    local = tune.tune(data, m, t, **kw)
    remote = tune.tune(data, m, t, **kw, runner=spread.fit_predict_runner(client, should_stop=lambda: False,
                                                                          return_errors=True))
    rows = lambda r: [{k: v for k, v in x.row().items() if k != "seconds"} for x in r.trials]  # noqa: E731
    assert rows(remote) == rows(local) and remote.best.number == local.best.number
    assert remote.holdout == local.holdout


def test_forecast_shards_give_the_local_forecast(data, client, tmp_path):
    model = LSTMForecaster(**TINY).fit(data)
    model.save(tmp_path / "m.safetensors")
    raw = (tmp_path / "m.safetensors").read_bytes()
    want = model.predict(14, None, [90]).to_frame()
    for shards in (1, 3, 10):
        got = spread.forecast_shards(client, raw, model.history_dataset(), 14, [90], shards)
        pd.testing.assert_frame_equal(got.to_frame(), want, check_exact=True)


def test_a_worker_with_another_version_is_named(client):
    spread.check_workers(client, __import__("lstmcast").__version__)
    with pytest.raises(UsageError, match=r"Dask worker inproc://\S+ has lstmcast .* this is 9\.9"):
        spread.check_workers(client, "9.9")


def test_a_lost_worker_is_retried_and_nothing_is_lost(data):
    """Two worker processes; one is killed (SIGKILL) while the folds run: its task runs
    again elsewhere and the result is the local one."""
    forecaster = LSTMForecaster(**{**TINY, "epochs": 40, "patience": 40})
    local = backtest(data, folds=4, forecaster=forecaster)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as lc, distributed.Client(lc) as c:
        address, victim = sorted(c.run(os.getpid).items())[0]
        killed = threading.Event()

        def kill_while_it_works():  # not after a fixed time: a fast machine finishes first
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed.is_set():
                if c.processing().get(address):
                    os.kill(victim, signal.SIGKILL)
                    killed.set()
                time.sleep(0.01)
        watcher = threading.Thread(target=kill_while_it_works, daemon=True)
        watcher.start()
        remote = backtest(data, folds=4, forecaster=forecaster, runner=spread.backtest_runner(c))
        done = killed.is_set()
        killed.set()
        watcher.join()
        assert done, "the folds finished before a worker was killed"
    pd.testing.assert_frame_equal(local.table, remote.table, check_exact=True)


def test_connect_refusals():
    with pytest.raises(UsageError, match="local:N takes a number of workers of 1 or more"):
        with spread.connect("local:zero"):
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
    tune = ["tune", "d.csv", "--id-col", "store", "--epochs", "3", "--hidden", "4", "--trials", "4", "-q"]
    drop = lambda csv: pd.read_csv(io.BytesIO(csv)).drop(columns="seconds")  # noqa: E731
    pd.testing.assert_frame_equal(drop(run(*tune, "-m", "a.safetensors")),
                                  drop(run(*tune, "-m", "b.safetensors", "--scheduler", "local:2")))


@contextlib.contextmanager
def one_worker():
    """A client of an in-process LocalCluster with one single-threaded worker."""
    one = distributed.Client(distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                                      dashboard_address=":0"))
    try:
        yield one
    finally:
        one.cluster.close()
        one.close()


def test_data_parallel_training_with_one_worker_is_the_local_fit(data, client):
    """Rounds on one worker take the trainer's random state and give it back: the same
    model as a local fit, bit for bit (dropout included). Two workers average their
    weights and still learn."""
    from lstmcast.cluster.parallel import Rounds

    opts = {**TINY, "epochs": 6, "dropout": 0.1}
    local = LSTMForecaster(**opts).fit(data)
    with one_worker() as one:
        remote = LSTMForecaster(**opts).fit(data, parallel=lambda w, m, t, spec, c: Rounds(one, w, m, t, spec, c))
    assert_same_bits(remote.net_.theta, local.net_.theta)  # a worker on this machine
    rounds = []
    two = LSTMForecaster(**opts).fit(data, parallel=lambda w, m, t, spec, c: rounds.append(Rounds(client, w, m, t, spec, c))
                                     or rounds[-1])
    assert len(rounds[0].shards) == 2 and rounds[0].message_bytes > 0
    assert two.training_["epochs_run"] == 6 and not np.array_equal(two.net_.theta, local.net_.theta)
    assert two.training_["best_val_loss"] < 1.5 * local.training_["best_val_loss"]


@pytest.mark.parametrize("kinds", [False, True])
def test_es_normalisation_travels_to_the_workers(data, tmp_path, kinds):
    """--normalize es's coefficients reach the workers' windows: one worker, the local fit;
    with series of two kinds, each series' own coefficients, keyed anew in the shard."""
    from lstmcast.cluster.parallel import Rounds

    opts = {**TINY, "epochs": 3, "normalize": "es", "_es_series_windows": 20}
    if kinds:
        data = two_kinds_csv(tmp_path / "two.csv")
    local = LSTMForecaster(**opts).fit(data)
    assert local.model_config_.es_alpha is not None
    assert bool(local.es_series_) == kinds
    with one_worker() as one:
        remote = LSTMForecaster(**opts).fit(data, parallel=lambda w, m, t, spec, c: Rounds(one, w, m, t, spec, c))
    assert_same_bits(remote.net_.theta, local.net_.theta)


def test_an_ensemble_trains_data_parallel_and_keeps_its_members_apart(data, client):
    from lstmcast.cluster.parallel import Rounds
    from lstmcast.model import ensemble

    opts = {**TINY, "epochs": 4, "ensemble": 3}
    fitted = LSTMForecaster(**opts).fit(data, parallel=lambda w, m, t, spec, c: Rounds(client, w, m, t, spec, c))
    mask = ensemble.mask(fitted.net_.spec, 3)
    params = fitted.net_.params
    assert all(not np.any(params[n][mask[n] == 0]) for n in params)
    assert np.isfinite(fitted.predict(7)["s0"].point).all()
    # the workers' kernels take the members' blocks as the local ones do: one worker, the local fit
    local = LSTMForecaster(**opts).fit(data)
    with one_worker() as one:
        remote = LSTMForecaster(**opts).fit(data, parallel=lambda w, m, t, spec, c: Rounds(one, w, m, t, spec, c))
    assert_same_bits(remote.net_.theta, local.net_.theta)  # a worker on this machine


def test_a_killed_driver_resumes_from_its_last_round(tmp_path):
    """`fit --scheduler` against a running cluster; the driver is SIGKILLed mid-training;
    `fit --resume` finishes it, and with one worker the model is the local fit's."""
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    exe = shutil.which("lstmcast", path=str(Path(sys.executable).parent)) or shutil.which("lstmcast")
    pd.concat([daily_frame(400, seed=i).assign(store=f"s{i}") for i in range(4)]).to_csv(tmp_path / "d.csv",
                                                                                      index=False)
    args = ["fit", "d.csv", "--id-col", "store", "--epochs", "30", "--patience", "30", "--hidden", "16", "-q"]
    env = {k: v for k, v in os.environ.items() if k != "DASK_SCHEDULER_ADDRESS"}
    assert subprocess.run([exe, *args, "-m", "local.safetensors"], cwd=tmp_path, env=env).returncode == 0
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as lc:
        run = [exe, *args, "-m", "m.safetensors", "--scheduler", lc.scheduler_address]
        proc = subprocess.Popen(run, cwd=tmp_path, env=env, stderr=subprocess.DEVNULL)
        ckpt = tmp_path / "m.safetensors.ckpt"
        deadline = time.monotonic() + 120
        while not ckpt.exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        time.sleep(0.3)  # a round or two more
        proc.kill()
        proc.wait()
        if proc.returncode == 0:
            pytest.skip("finished before the kill")
        assert ckpt.exists() and not (tmp_path / "m.safetensors").exists()
        done = subprocess.run([*[a for a in run if a != "-q"], "--resume"], cwd=tmp_path, env=env,
                              capture_output=True)
        assert done.returncode == 0, done.stderr.decode()
        import re

        assert int(re.search(rb"resuming from \S+ after epoch (\d+)", done.stderr)[1]) >= 1
        assert not ckpt.exists()
    from lstmcast.model.forecaster import load_model

    assert_same_bits(load_model(tmp_path / "m.safetensors").net_.theta,
                                  load_model(tmp_path / "local.safetensors").net_.theta)


@pytest.mark.parametrize("block", ["step", "full"])
def test_covariates_and_masked_targets_train_data_parallel_as_locally(tmp_path, block):
    # the future block, its mask (the model's own choice of block) and missing targets
    # reach the workers: one worker's rounds give the local fit's weights bit for bit
    from lstmcast.cluster.parallel import Rounds

    rng = np.random.default_rng(2)
    n = 260
    promo = rng.random(n) < 0.2
    y = 30 + 5 * np.sin(2 * np.pi * np.arange(n) / 7) + 6 * promo + rng.normal(0, 1, n)
    y[80:95] = np.nan
    pd.DataFrame({"date": pd.date_range("2022-01-01", periods=n).strftime("%Y-%m-%d"), "y": y.round(3),
                  "promo": promo.astype(int)}).to_csv(tmp_path / "c.csv", index=False)
    ds = load_csv(tmp_path / "c.csv", future=("promo",), missing="mask")
    options = dict(hidden=8, epochs=3, lookback=21, horizon=7, seed=0, _future_block=block)
    local = LSTMForecaster(**options).fit(ds)
    with one_worker() as one:
        remote = LSTMForecaster(**options).fit(ds, parallel=lambda w, m, t, s, c: Rounds(one, w, m, t, s, c))
    assert local.net_.spec.future_size == 7
    assert_same_bits(local.net_.theta, remote.net_.theta)

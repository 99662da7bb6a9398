"""``lstmcast tune`` through the installed command: the trials on stdout, the model
written, the unseen-fold comparison on stderr, and a real SIGINT that keeps the best."""

import io
import signal
import subprocess
import time

import pandas as pd

from test_cli import EXE, daily_csv, run

OPTS = ["--hidden", "8", "--epochs", "3", "--trials", "4", "--budget", "5m", "--seed", "2"]


def test_tune_writes_the_trials_and_the_model(tmp_path):
    daily_csv(tmp_path / "d.csv", n=300)
    r = run("tune", "d.csv", *OPTS, "-m", "t.safetensors", "-f", "csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    trials = pd.read_csv(io.StringIO(r.stdout.decode()))
    assert list(trials.columns[:6]) == ["trial", "rung", "status", "folds", "MASE", "seconds"]
    assert len(trials) == 4 and (trials["hidden"] == 8).all() and trials["trial"].tolist() == [0, 1, 2, 3]
    err = r.stderr.decode()
    assert "not searched (set on the command line): hidden" in err
    assert "which the search did not see" in err and "the same fit: lstmcast fit d.csv" in err
    info = run("info", "t.safetensors", "--json", cwd=tmp_path)
    assert info.returncode == 0 and b'"hidden": 8' in info.stdout
    again = run("tune", "d.csv", *OPTS, "-m", "u.safetensors", "-f", "csv", cwd=tmp_path)
    same = pd.read_csv(io.StringIO(again.stdout.decode()))
    assert same.drop(columns="seconds").equals(trials.drop(columns="seconds"))  # the same seed, the same search
    bad = run("tune", "d.csv", "--budget", "soon", cwd=tmp_path)
    assert bad.returncode == 2 and b"--budget must be a time" in bad.stderr


def test_ctrl_c_keeps_the_best_so_far(tmp_path):
    daily_csv(tmp_path / "d.csv", n=1500)
    proc = subprocess.Popen([EXE, "tune", "d.csv", "--trials", "27", "--epochs", "20", "--budget", "10m",
                             "-m", "t.safetensors", "-f", "csv"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(6)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    trials = pd.read_csv(io.StringIO(out.decode()))
    assert (trials["status"] == "scored").any() and (trials["folds"] == 0).any()  # stopped part-way
    assert b"the best trial so far was fitted and written" in err and (tmp_path / "t.safetensors").exists()
    assert b"Traceback" not in err


def test_an_ensemble_through_the_command(tmp_path):
    daily_csv(tmp_path / "d.csv", n=300)
    fast = ["--epochs", "3", "--hidden", "4", "--lookback", "14", "--horizon", "7"]
    fit = run("fit", "d.csv", *fast, "--ensemble", "3", "-m", "e.safetensors", cwd=tmp_path)
    assert fit.returncode == 0 and b"hidden 4 x 1 layer, 3 members, " in fit.stderr
    info = run("info", "e.safetensors", "--json", cwd=tmp_path)
    assert b'"ensemble": 3' in info.stdout and b'"hidden_size": 12' in info.stdout
    fc = run("forecast", "-m", "e.safetensors", "--level", "80", cwd=tmp_path)
    assert fc.returncode == 0 and len(fc.stdout.decode().strip().splitlines()) == 8
    assert run("fit", "d.csv", "--ensemble", "0", cwd=tmp_path).returncode == 2

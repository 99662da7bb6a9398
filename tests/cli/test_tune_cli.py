"""``lstmcast tune`` through the installed command: the trials on stdout, the model
written, the unseen-fold comparison on stderr, a real SIGINT that keeps the best, and the
budget kept by the whole run (timed from outside)."""

import io
import re
import signal
import subprocess
import time

import pandas as pd

from test_cli import EXE, SAMPLE, daily_csv, run

RUNG = re.compile(r"^lstmcast: rung (\d+): (?:(\d+) of )?(\d+) trials? (?:scored )?on (\d+) folds? in \d+ s")


def rung_lines(stderr: bytes) -> list[re.Match]:
    return [m for m in map(RUNG.match, stderr.decode().splitlines()) if m]


def ran(trials: pd.DataFrame) -> bool:
    """Every row is a trial that ran: scored on a fold, failed, or stopped part-way."""
    return bool(((trials["folds"] > 0) | trials["status"].isin(["failed", "stopped"])).all())


def timed(*args, cwd):
    """The command's result, its wall time, and the time the budget does not count: the
    process's start (as ``lstmcast --version`` takes) and readying the kernels (as the
    command says on stderr)."""
    t0 = time.perf_counter()
    run("--version")
    start = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = run(*args, cwd=cwd)
    wall = time.perf_counter() - t0
    kernels = re.search(rb"\(and (\d+) s readying the kernels\)", r.stderr)
    return r, wall, start + (int(kernels[1]) + 0.5 if kernels else 0.0)


def allowed(budget: float) -> float:
    """The rule: the whole run within the budget plus 10 %, or plus 15 s if more."""
    return budget + max(0.1 * budget, 15.0)


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
    rungs = rung_lines(r.stderr)  # stderr is not a terminal: one line per rung
    assert [int(m[1]) for m in rungs] == list(range(trials["rung"].max() + 1)) and int(rungs[0][3]) == 4
    assert "not run" not in err
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
    assert (trials["status"] == "scored").any() and ran(trials)
    left_out = re.search(rb"lstmcast: (\d+) of 27 trials not run \(the search was stopped\)", err)
    assert left_out and int(left_out[1]) == 27 - len(trials) > 0  # stopped part-way
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


def test_the_budget_covers_the_whole_run(tmp_path):
    """The search, the comparison on the unseen folds and the final fit end within the
    budget (plus the rule's margin); off a terminal, stderr has a line per rung; the table
    lists the trials that ran and one line counts the others."""
    budget = 20
    r, wall, uncounted = timed("tune", SAMPLE / "seattle-weather.csv", "--target", "temp_max",
                               "--budget", f"{budget}s", "-m", "t.safetensors", "-f", "csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    err = r.stderr.decode()
    assert wall <= allowed(budget) + uncounted, f"{wall:.1f} s for a {budget} s budget:\n{err}"
    assert (tmp_path / "t.safetensors").exists()
    trials = pd.read_csv(io.StringIO(r.stdout.decode()))
    assert ran(trials) and trials["trial"].iloc[0] == 0
    left_out = re.search(r"^lstmcast: (\d+) of 27 trials not run within the budget$", err, re.M)
    assert left_out and int(left_out[1]) == 27 - len(trials) > 0, err
    rungs = rung_lines(r.stderr)
    assert [int(m[1]) for m in rungs] == list(range(trials["rung"].max() + 1)), err
    assert rungs[0][2] and int(rungs[0][3]) == 27, err  # rung 0: "N of 27 trials scored"
    assert re.search(r"too slow for the time left|the budget ran out", rungs[0].string), err
    spent = re.search(r"after (\d+) s of the 20 s budget \(and \d+ s readying the kernels\)", err)
    assert spent and int(spent[1]) <= allowed(budget), err


def test_a_budget_too_small_for_more_than_the_defaults(tmp_path):
    """A budget shorter than two fits still scores trial 0 once and fits the defaults."""
    budget = 0.2  # shorter than trial 0 and what the search keeps after it, on any machine
    r, wall, uncounted = timed("tune", SAMPLE / "stocks.csv", "--id-col", "symbol", "--budget", f"{budget}s",
                               "-m", "t.safetensors", "-f", "csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    err = r.stderr.decode()
    assert wall <= allowed(budget) + uncounted, f"{wall:.1f} s for a {budget} s budget:\n{err}"
    trials = pd.read_csv(io.StringIO(r.stdout.decode()))
    assert trials["trial"].tolist() == [0] and trials["folds"].tolist() == [1]
    assert "lstmcast: 26 of 27 trials not run within the budget" in err
    assert "the budget (0.2 s) was too small for more than trial 0, the defaults (give a longer --budget" in err
    assert "no comparison on the 2 latest folds" in err and (tmp_path / "t.safetensors").exists()
    assert [m.string for m in rung_lines(r.stderr)] == [
        next(line for line in err.splitlines() if line.startswith("lstmcast: rung 0: 1 of 27 trials scored on 1 fold"))]

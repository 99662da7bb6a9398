"""Real signals sent to a real ``lstmcast fit`` at several points: the old model survives,
no temporary file is left, the checkpoint resumes to exactly the uninterrupted result."""

import shlex
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from conftest import assert_same_bits
from lstmcast.files import store
from test_cli import EXE, daily_csv, run

OPTS = ["--epochs", "100", "--patience", "1000", "--hidden", "32", "--lookback", "28",
        "--horizon", "7", "--seed", "4", "-q"]


def network(path):
    arrays, _ = store.load(path)
    return store.network_params(arrays)


class Dir(type(__import__("pathlib").Path())):
    seconds = 0.0


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = Dir(tmp_path_factory.mktemp("sig"))
    daily_csv(d / "data.csv", n=1500)
    # the uninterrupted reference (its wall time sets when to send signals), and an older
    # model that must survive every interruption
    started = time.monotonic()
    assert run("fit", "data.csv", *OPTS, "--model", "reference.safetensors", cwd=d).returncode == 0
    d.seconds = time.monotonic() - started
    assert run("fit", "data.csv", "--epochs", "1", "--hidden", "8", "--lookback", "28", "--horizon", "7",
               "-q", "--model", "old.safetensors", cwd=d).returncode == 0
    return d


def fit_and_signal(d, model, delays, sig):
    proc = subprocess.Popen([EXE, "fit", "data.csv", *OPTS, "--model", model], cwd=d,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for delay in delays:
        time.sleep(delay)
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


@pytest.mark.parametrize("when,sig,code", [
    (0.0, signal.SIGTERM, 143),   # still starting up (0.2 s in)
    (0.55, signal.SIGINT, 130),   # training (as a share of an uninterrupted fit's time)
    (0.7, signal.SIGTERM, 143),   # training, later
])
def test_interrupted_fit_keeps_the_old_model_and_resumes_exactly(setup, when, sig, code, tmp_path):
    d = setup
    delay = max(0.2, when * d.seconds)
    model = f"m{int(when * 100)}{sig.name}.safetensors"
    (d / model).write_bytes((d / "old.safetensors").read_bytes())
    before = (d / model).read_bytes()
    rc, err = fit_and_signal(d, model, [delay], sig)
    if rc == 0:
        pytest.skip(f"fit finished before the signal at {delay} s (machine too fast for this delay)")
    assert rc == code, err
    assert "Traceback" not in err
    assert (d / model).read_bytes() == before
    assert not [p.name for p in d.iterdir() if p.name.startswith(".") and p.name.endswith(".tmp")]
    ckpt = d / f"{model}.ckpt"
    if ckpt.exists():
        # the hint is the whole command, with every option the fit used: run it as it is
        hint = err.split("resume with: ", 1)[1].splitlines()[0]
        args = shlex.split(hint)
        assert args[:3] == ["lstmcast", "fit", "data.csv"] and args[-1] == "--resume"
        assert "--seed 4" in hint and "--lookback 28" in hint and f"--model {model}" in hint
        r = run(*args[1:], cwd=d)
        assert r.returncode == 0, r.stderr.decode()
        assert not ckpt.exists()
        ours, ref = network(d / model), network(d / "reference.safetensors")
        for name in ref:
            assert_same_bits(ours[name], ref[name], err_msg=name)  # same machine and threads
    else:
        assert when == 0.0, "a signal during training must leave a checkpoint"


def test_second_ctrl_c_quits_at_once(setup):
    d = setup
    (d / "twice.safetensors").write_bytes((d / "old.safetensors").read_bytes())
    before = (d / "twice.safetensors").read_bytes()
    started = time.monotonic()
    rc, err = fit_and_signal(d, "twice.safetensors", [0.55 * d.seconds, 0.02], signal.SIGINT)
    assert rc == 130, err
    assert time.monotonic() - started < d.seconds
    assert (d / "twice.safetensors").read_bytes() == before


def test_resume_refuses_other_options(setup):
    d = setup
    rc, _ = fit_and_signal(d, "other.safetensors", [0.55 * d.seconds], signal.SIGINT)
    if not (d / "other.safetensors.ckpt").exists():
        pytest.skip("no checkpoint was written (the fit ended first)")
    r = run("fit", "data.csv", *OPTS[:-1], "--lr", "0.01", "--model", "other.safetensors", "--resume", cwd=d)
    assert r.returncode == 2 and b"made with other options: --lr 0.003 (now 0.01)" in r.stderr
    other = d / "other.csv"
    other.write_bytes((d / "data.csv").read_bytes().replace(b"\n2021-01-02,", b"\n2021-01-02,1"))
    r = run("fit", "other.csv", *OPTS[:-1], "--model", "other.safetensors", "--resume", cwd=d)
    assert r.returncode == 2 and b"made from other data" in r.stderr


def test_same_seed_gives_identical_weights(setup):
    d = setup
    opts = ["--epochs", "3", "--hidden", "16", "--lookback", "28", "--horizon", "7", "-q"]
    for name in ("a", "b"):
        assert run("fit", "data.csv", *opts, "--model", f"{name}.safetensors", cwd=d).returncode == 0
    assert run("fit", "data.csv", *opts, "--seed", "9", "--model", "c.safetensors", cwd=d).returncode == 0
    a, b, c = (network(d / f"{n}.safetensors") for n in "abc")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not all(np.array_equal(a[k], c[k]) for k in a)


def test_a_signal_after_the_result_is_written_changes_nothing():
    """fit and update: once the model is written, a stop signal (cron's timeout, a late
    Ctrl-C) no longer turns the run into exit 130/143 (update once did)."""
    script = (
        "import os, signal, sys\n"
        "from lstmcast.cli import app\n"
        "from lstmcast.cli.console import Messages, StopSignals\n"
        "signal.signal(signal.SIGTERM, app._terminated)  # as main() installs them\n"
        "signal.signal(signal.SIGINT, app._interrupted)\n"
        "with StopSignals(Messages(True)) as stop:\n"
        "    stop.result_written()\n"
        "for s in (signal.SIGTERM, signal.SIGINT, signal.SIGINT):\n"
        "    os.kill(os.getpid(), s)\n"
        "print('finished', stop.code)\n")
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "finished 143", r.stderr
    assert r.stderr.count("after the result was written") == 1

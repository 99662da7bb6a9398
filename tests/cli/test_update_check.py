"""`lstmcast update` and `lstmcast check` as cron runs them: real processes, real
signals, exit codes, files left as they were."""

import json
import os
import signal
import subprocess
import time

import numpy as np
import pandas as pd
import pytest

from conftest import assert_same_bits, cron_files, daily_frame
from lstmcast.model.forecaster import load_model
from test_cli import EXE, run

FAST = ["--epochs", "6", "--hidden", "8", "--lookback", "56", "--horizon", "7", "--seed", "0", "-q"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("cron")
    cron_files(d)
    assert run("fit", "old.csv", *FAST, "-m", "base.safetensors", cwd=d).returncode == 0
    assert run("fit", "old.csv", *FAST, "--normalize", "none", "--no-guard", "-m", "flat.safetensors", cwd=d).returncode == 0
    return d


UPDATED = (0, 3)  # the update was written (3: and the verdict on the model's record says refit)


def copy(folder, name, to):
    (folder / to).write_bytes((folder / name).read_bytes())
    return folder / to


def test_update_then_forecast_continues_after_the_new_rows(folder):
    model = copy(folder, "base.safetensors", "u.safetensors")
    os.chmod(model, 0o600)
    r = run("update", "all.csv", "-m", model, "--json", cwd=folder)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["rows_added"] == 70 and summary["val_loss_after"] <= summary["val_loss_before"]
    assert b"updated" in r.stderr and b"70 new rows" in r.stderr
    assert os.stat(model).st_mode & 0o777 == 0o600
    info = json.loads(run("info", model, "--json", cwd=folder).stdout)
    assert [u["rows_added"] for u in info["updates"]] == [70]
    assert b"updates" in run("info", model, cwd=folder).stdout
    first = pd.read_csv(pd.io.common.StringIO(run("forecast", "-m", model, cwd=folder).stdout.decode()))
    assert first["date"].iloc[0] == "2022-02-05"  # the day after the last new row
    # cron again, nothing new: exit 0, the file untouched
    before = model.read_bytes()
    again = run("update", "all.csv", "-m", model, cwd=folder)
    assert again.returncode == 0 and b"nothing newer" in again.stderr and model.read_bytes() == before


def test_update_refusals_are_one_line_and_change_nothing(folder, tmp_path):
    model = copy(folder, "base.safetensors", "r.safetensors")
    before = model.read_bytes()
    frames = pd.concat([daily_frame(400).assign(id="a"), daily_frame(400, seed=1).assign(id="b")])
    frames.to_csv(tmp_path / "long.csv", index=False)
    for args, code in ((["update", str(tmp_path / "long.csv"), "-m", model, "--id-col", "id"], 2),
                       (["update", str(model), "-m", model], 73),
                       (["update", "missing.csv", "-m", model], 66)):
        r = run(*args, cwd=folder)
        assert r.returncode in (code, 65), (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1 and b"Traceback" not in r.stderr
    gap = daily_frame(400).iloc[340:]
    gap.to_csv(tmp_path / "gap.csv", index=False)
    r = run("update", str(tmp_path / "gap.csv"), "-m", model, cwd=folder)
    assert r.returncode == 65 and b"rows in between are missing" in r.stderr
    assert model.read_bytes() == before


def test_check_exit_codes_for_cron(folder):
    fine = run("check", "all.csv", "-m", "base.safetensors", "--last", "70", cwd=folder)
    assert fine.returncode == 0, fine.stderr
    table = pd.read_csv(pd.io.common.StringIO(fine.stdout.decode()))  # stdout is data only
    assert list(table["model"]) == ["lstm", "naive", "seasonal_naive", "drift"]
    assert b"the model is fine" in fine.stderr
    worse = run("check", "shift.csv", "-m", "flat.safetensors", "--format", "json", cwd=folder)
    assert worse.returncode == 3, worse.stderr
    doc = json.loads(worse.stdout)
    assert doc["status"] == "worse" and doc["exit_code"] == 3 and doc["model"] > doc["baseline"]
    assert doc["points"] == 28 and b"WORSE" in worse.stderr
    nothing = run("check", "old.csv", "-m", "base.safetensors", "-f", "json", cwd=folder)
    assert nothing.returncode == 4 and json.loads(nothing.stdout)["status"] == "nothing-new"
    quiet = run("check", "shift.csv", "-m", "flat.safetensors", "-q", cwd=folder)
    assert quiet.returncode == 3 and quiet.stderr == b""


@pytest.fixture(scope="module")
def minutes(tmp_path_factory):
    """An update that takes a few seconds: 20,000 new minutes after 40,000."""
    d = tmp_path_factory.mktemp("minutes")
    n = 60_000
    t = np.arange(n)
    v = 20 + 5 * np.sin(2 * np.pi * t / 60) + np.random.default_rng(0).normal(0, 0.5, n)
    frame = pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="min").strftime("%Y-%m-%d %H:%M"),
                          "value": v.round(3)})
    frame.iloc[:40_000].to_csv(d / "old.csv", index=False)
    frame.to_csv(d / "all.csv", index=False)
    assert run("fit", "old.csv", "--epochs", "2", "--hidden", "8", "--lookback", "30", "--horizon", "10",
               "-q", "-m", "base.safetensors", cwd=d).returncode == 0
    return d


@pytest.fixture(scope="module")
def uninterrupted(minutes):
    """The uninterrupted update, run once for both signals: the model every resumed update
    must equal, and its wall time (which sets when to send the signal)."""
    ref = copy(minutes, "base.safetensors", "ref.safetensors")
    started = time.monotonic()
    # a weak model (2 epochs): the update may end with the verdict "refit" (3), which is not under test here
    assert run("update", "all.csv", "-m", ref, "--epochs", "8", "-q", cwd=minutes).returncode in UPDATED
    return ref, time.monotonic() - started


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_update_keeps_the_model_and_resumes_exactly(minutes, uninterrupted, sig, code):
    ref, took = uninterrupted
    model = copy(minutes, "base.safetensors", "m.safetensors")
    before = model.read_bytes()
    proc = subprocess.Popen([EXE, "update", "all.csv", "-m", "m.safetensors", "--epochs", "8"], cwd=minutes,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(0.7 * took)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    if proc.returncode in UPDATED:
        pytest.skip("finished before the signal")
    assert proc.returncode == code, err.decode()
    assert model.read_bytes() == before and (minutes / "m.safetensors.ckpt").exists()
    assert b"lstmcast update all.csv --epochs 8 --model m.safetensors --resume" in err
    wrong = run("fit", "all.csv", "-m", model, "--resume", cwd=minutes)
    assert wrong.returncode == 2 and b"checkpoint of an interrupted update" in wrong.stderr
    resumed = run("update", "all.csv", "--epochs", "8", "--model", "m.safetensors", "--resume", cwd=minutes)
    assert resumed.returncode in UPDATED, resumed.stderr
    assert not (minutes / "m.safetensors.ckpt").exists()
    assert_same_bits(load_model(model).net_.theta, load_model(ref).net_.theta)  # same machine


def test_an_update_while_another_holds_the_model_is_a_temporary_failure(folder):
    """Overlapping cron runs: two updates of one model once both exited 0 and one's rows
    were lost. The second is refused with exit 75 and changes nothing; the next run works."""
    from lstmcast.files.lock import exclusive

    model = copy(folder, "base.safetensors", "busy.safetensors")
    before = model.read_bytes()
    with exclusive(model):  # what a running update holds
        r = run("update", "all.csv", "-m", model, cwd=folder)
    assert r.returncode == 75 and b"another lstmcast process" in r.stderr and len(r.stderr.splitlines()) == 1
    assert model.read_bytes() == before
    again = run("update", "all.csv", "-m", model, cwd=folder)
    assert again.returncode == 0 and b"70 new rows" in again.stderr
    # two at once: never two successes that both started from the old model
    procs = [subprocess.Popen([EXE, "update", "all.csv", "-m", str(copy(folder, "base.safetensors", "two.safetensors"))
                               if i == 0 else str(folder / "two.safetensors")], cwd=folder,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
    for p in procs:
        p.communicate(timeout=300)
    codes = sorted(p.returncode for p in procs)
    info = json.loads(run("info", folder / "two.safetensors", "--json", cwd=folder).stdout)
    assert codes in ([0, 0], [0, 75]) and len(info["updates"]) == 1  # the second found nothing new, or waited its turn


def test_check_of_a_masked_model_counts_only_observed_points(tmp_path):
    """`--missing mask`: check once reported "28 points" when one new value was observed."""
    frame = daily_frame(400)
    frame.loc[200:205, "value"] = np.nan
    frame.iloc[:330].to_csv(tmp_path / "old.csv", index=False)
    assert run("fit", "old.csv", *FAST, "--missing", "mask", cwd=tmp_path).returncode == 0
    newer = frame.copy()
    newer.loc[330:398, "value"] = np.nan  # of the 70 new days, only the last is observed
    newer.to_csv(tmp_path / "new.csv", index=False)
    r = run("check", "new.csv", "--missing", "mask", "-f", "json", cwd=tmp_path)
    summary = json.loads(r.stdout)
    assert summary["points"] == 1 and b"are missing" in r.stderr, (summary, r.stderr)

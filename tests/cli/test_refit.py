"""Refits that remember: ``fit --like MODEL`` fits with the options MODEL was fitted
with (what the data decided is decided again), a flag overriding one; a fit that would
change the targets of the model file it replaces says so, even with --quiet."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from conftest import ROOT

EXE = Path(sys.executable).parent / "lstmcast"


def lstmcast(*args, cwd):
    r = subprocess.run([str(EXE), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600)
    assert "Warning:" not in r.stderr, r.stderr
    return r


def prices(path: Path, n: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    close = 100 + np.cumsum(rng.normal(0, 1, n))
    pd.DataFrame({"Day": pd.bdate_range("2020-01-01", periods=n).strftime("%d/%m/%Y"),
                  "Close": close.round(2), "Adj Close": (close * 0.98).round(2),
                  "Volume": rng.integers(1000, 2000, n)}).to_csv(path, index=False, sep=";")


def info(model, cwd) -> dict:
    return json.loads(lstmcast("info", model, "--json", cwd=cwd).stdout)


def test_fit_like_refits_with_the_models_options_and_decides_the_data_ones_again(tmp_path):
    prices(tmp_path / "small.csv", 300)
    prices(tmp_path / "big.csv", 700)
    first = lstmcast("fit", "small.csv", "--target", "Adj Close", "--features", "Volume", "--dayfirst",
                     "--lookback", "20", "--normalize", "none", "--lr", "0.01", "--epochs", "7", "-q",
                     "-m", "m.safetensors", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    before = info("m.safetensors", tmp_path)
    again = lstmcast("fit", "big.csv", "--like", "m.safetensors", "--hidden", "8", "-q", "-m", "m.safetensors",
                     cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    after = info("m.safetensors", tmp_path)
    assert after["targets"] == ["Adj Close"] and after["features"] == ["Volume"]
    assert after["read"]["dayfirst"] is True and after["data"]["rows"] == 700
    assert (after["model"]["lookback"], after["model"]["normalize"]) == (20, "none")  # as given
    assert (after["train"]["lr"], after["train"]["epochs"]) == (0.01, 7)
    assert after["model"]["hidden"] == 8 and before["model"]["hidden"] == 16  # the flag overrides
    assert after["train"]["epoch_windows"] > before["train"]["epoch_windows"]  # decided again, on more data
    # a third refit, like the second: its flag is now one of the options it was given
    assert lstmcast("fit", "big.csv", "--like", "m.safetensors", "-q", "-m", "n.safetensors",
                    cwd=tmp_path).returncode == 0
    assert info("n.safetensors", tmp_path)["model"]["hidden"] == 8


def test_a_fit_that_changes_the_targets_of_the_model_it_replaces_says_so_even_quietly(tmp_path):
    prices(tmp_path / "p.csv", 300)
    assert lstmcast("fit", "p.csv", "--target", "Adj Close", "--dayfirst", "-q", cwd=tmp_path).returncode == 0
    same = lstmcast("fit", "p.csv", "--target", "Adj Close", "--dayfirst", "-q", cwd=tmp_path)
    assert same.returncode == 0 and same.stderr == ""
    other = lstmcast("fit", "p.csv", "--dayfirst", "-q", cwd=tmp_path)  # the first numeric column: Close
    assert other.returncode == 0
    assert "was a model of 'Adj Close'; this fit replaces it with a model of 'Close'" in other.stderr
    assert "--like lstmcast-model.safetensors" in other.stderr and len(other.stderr.splitlines()) == 1


def test_fit_like_reads_a_model_file_from_before_options_were_kept(tmp_path):
    old = ROOT / "tests/fixtures/model-2.2-weather.safetensors"
    r = lstmcast("fit", ROOT / "sample_data/seattle-weather.csv", "--like", old, "--epochs", "2", "-q",
                 "-m", "w.safetensors", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    was, now = info(old, tmp_path), info("w.safetensors", tmp_path)
    assert now["targets"] == was["targets"] and now["model"]["lookback"] == was["model"]["lookback"]
    assert now["train"]["epochs"] == 2

"""Options remembered between commands, flags and environment variables on every
command that reads data: each test here failed before the typed configuration."""

import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import daily_frame
from test_cli import EXE, run

FAST = ["--epochs", "2", "--hidden", "4", "--seed", "1", "-q"]


def weekly_with_gap(path, gap=18):
    rng = np.random.default_rng(0)
    dates = pd.date_range("2000-01-02", periods=200, freq="W-SUN")
    y = 350 + 0.05 * np.arange(200) + 3 * np.sin(2 * np.pi * np.arange(200) / 52) + rng.normal(0, 0.2, 200)
    frame = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "co2": y.round(2)})
    frame.loc[60:60 + gap - 1, "co2"] = np.nan
    frame.to_csv(path, index=False)


def test_fill_limit_is_remembered_and_can_be_overridden(tmp_path):
    weekly_with_gap(tmp_path / "co2.csv")
    assert run("fit", "co2.csv", *FAST, cwd=tmp_path).returncode == 65  # default limit: 3 weeks
    r = run("fit", "co2.csv", "--fill-limit", "18", *FAST, cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    r = run("forecast", "co2.csv", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    # a flag or LSTMCAST_FILL_LIMIT on forecast overrides the stored limit
    for extra, env in ((["--fill-limit", "2"], None), ([], {"LSTMCAST_FILL_LIMIT": "2"})):
        r = run("forecast", "co2.csv", *extra, cwd=tmp_path, env=env)
        assert r.returncode == 65 and b"fill limit of 2" in r.stderr, r.stderr.decode()


def test_a_price_file_with_an_unnamed_date_column_works_in_the_cron_recipe(tmp_path):
    """pandas and most price exports write the index without a header."""
    days = pd.bdate_range("2020-01-01", periods=300)
    close = 100 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.01, 300)))
    pd.DataFrame({"Open": close * 0.99, "Close": close, "Volume": 1000}, index=days).round(3) \
        .to_csv(tmp_path / "prices.csv")
    assert (tmp_path / "prices.csv").read_text().startswith(",Open,Close")
    r = run("fit", "prices.csv", "--target", "Close", *FAST, cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    r = run("forecast", "prices.csv", "-H", "3", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    lines = r.stdout.decode().splitlines()
    assert lines[0] == "date,Close" and len(lines) == 4


def test_forecast_reads_newer_data_with_a_given_thousands_separator(tmp_path):
    frame = daily_frame(200)
    frame["value"] = frame["value"] * 100  # thousands
    frame.to_csv(tmp_path / "data.csv", index=False)
    european = frame.assign(value=frame["value"].map(lambda v: f"{v:,.3f}".replace(",", "_")
                                                      .replace(".", ",").replace("_", ".")))
    european.to_csv(tmp_path / "new.csv", index=False, sep=";")
    assert run("fit", "data.csv", "--lookback", "14", "--horizon", "7", *FAST, cwd=tmp_path).returncode == 0
    plain = run("forecast", "data.csv", cwd=tmp_path)
    r = run("forecast", "new.csv", "--thousands", ".", "--decimal", ",", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout == plain.stdout


def test_evaluate_takes_every_model_option_by_flag_and_environment(tmp_path):
    daily_frame(260).to_csv(tmp_path / "data.csv", index=False)
    common = ["evaluate", "data.csv", "--folds", "1", "--lookback", "14", "--horizon", "7", "-f", "json",
              *FAST]
    base = run(*common, cwd=tmp_path)
    flag = run(*common, "--transform", "log", "--layers", "2", "--loss", "mae", cwd=tmp_path)
    env = run(*common, cwd=tmp_path, env={"LSTMCAST_TRANSFORM": "log", "LSTMCAST_LAYERS": "2",
                                          "LSTMCAST_LOSS": "mae"})
    assert base.returncode == flag.returncode == env.returncode == 0, flag.stderr.decode()
    assert flag.stdout == env.stdout and flag.stdout != base.stdout


def test_evaluate_with_a_model_refits_with_its_options(tmp_path):
    from lstmcast.data.dataset import load_csv
    from lstmcast.model.backtest import backtest
    from lstmcast.model.forecaster import LSTMForecaster, load_model

    frame = daily_frame(260)
    frame["other"] = frame["value"] * 2 + 1  # two numeric columns: the model's target decides
    frame.to_csv(tmp_path / "data.csv", index=False)
    r = run("fit", "data.csv", "--target", "other", "--transform", "log", "--lookback", "14",
            "--horizon", "7", *FAST, "--model", "log.safetensors", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    r = run("evaluate", "data.csv", "--model", "log.safetensors", "--folds", "1", "-f", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    m = load_model(tmp_path / "log.safetensors")
    assert m.model_config_.transform == "log"
    template = LSTMForecaster(model=m.model_config_, train=m.train_config_)
    expected = backtest(load_csv(str(tmp_path / "data.csv"), m.read_config_), folds=1,
                        forecaster=template).table
    got = pd.DataFrame(json.loads(r.stdout))
    np.testing.assert_allclose(got["MASE"], expected["MASE"], rtol=1e-8)
    # without --model: the defaults, another target ('value', by its name), another result
    r = run("evaluate", "data.csv", "--folds", "1", "-f", "json", *FAST, cwd=tmp_path)
    assert r.returncode == 0 and pd.DataFrame(json.loads(r.stdout))["MASE"][0] != got["MASE"][0]


def test_the_resume_hint_names_the_options_and_the_model(tmp_path):
    """SIGINT at the first batch: the hint is a command that resumes as it is."""
    import time

    daily_frame(1500).to_csv(tmp_path / "data.csv", index=False)
    assert run("fit", "data.csv", *FAST, "--model", "warm.safetensors", cwd=tmp_path).returncode == 0  # compiled
    # a signal before training (still reading, a slow start) has no checkpoint to resume
    # from: try later, rather than depend on how fast this machine starts (a fixed 8 s once
    # failed under load)
    for delay in (2, 5, 10):
        proc = subprocess.Popen([EXE, "fit", "data.csv", "--seed", "3", "--thousands", ",", "--epochs", "400",
                                 "--patience", "400", "--model", "m.safetensors"], cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        proc.send_signal(2)
        _, err = proc.communicate(timeout=120)
        if proc.returncode == 0:
            pytest.skip("the fit ended before the signal")
        if b"resume with: " in err:
            break
    hint = err.decode().split("resume with: ", 1)[1].splitlines()[0]
    assert hint == ("lstmcast fit data.csv --thousands , --epochs 400 --patience 400 --seed 3 "
                    "--model m.safetensors --resume")


def test_update_help_shows_the_defaults_update_uses(tmp_path):
    """update's --epochs and --lr are its own (a short continuation at a lower rate):
    its --help once showed fit's defaults for both."""
    import re

    from lstmcast import config

    text = re.sub(r"\s+", " ", run("update", "--help", cwd=tmp_path).stdout.decode())
    assert f"Default: {config.UPDATE_EPOCHS}." in text and "default from the data size" not in text
    assert f"Default: {config.UPDATE_LR_FACTOR:g} times the fit's" in text
    assert f"Default: {config.TrainConfig().lr:g}." not in text
    fit = re.sub(r"\s+", " ", run("fit", "--help", cwd=tmp_path).stdout.decode())
    assert f"Default: {config.TrainConfig().lr:g}." in fit

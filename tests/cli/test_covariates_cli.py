"""Covariates through the installed command, as a CSV user writes them: future rows at
the end of the same file (target empty), a separate --future-data file, and the
one-line refusals (exit 65 for data, 2 for usage)."""

import io

import numpy as np
import pandas as pd
import pytest

from test_cli import one_line_error, run

FAST = ["--epochs", "8", "--hidden", "8", "--lookback", "28", "--horizon", "7", "--seed", "1"]


def write_promo(path, n=400, future=7, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n + future)
    promo = rng.random(n + future) < 0.2
    sales = (100 + 10 * np.sin(2 * np.pi * t / 7)) * np.where(promo, 1.4, 1.0) + rng.normal(0, 2, n + future)
    frame = pd.DataFrame({"date": pd.date_range("2022-01-01", periods=n + future).strftime("%Y-%m-%d"),
                          "sales": sales.round(2), "promo": np.where(promo, "Yes", "No")})
    frame.loc[n:, "sales"] = np.nan
    frame.to_csv(path, index=False)
    return frame


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    d = tmp_path_factory.mktemp("cov")
    frame = write_promo(d / "sales.csv")
    r = run("fit", "sales.csv", "--future", "promo", *FAST, cwd=d)
    assert r.returncode == 0, r.stderr.decode()
    frame.iloc[-7:][["date", "promo"]].to_csv(d / "next.csv", index=False)
    frame.iloc[:-7].to_csv(d / "history.csv", index=False)
    return d, frame


def test_forecast_reads_the_future_rows_of_the_same_file(fitted):
    d, frame = fitted
    r = run("forecast", "sales.csv", "-q", cwd=d)
    assert r.returncode == 0, r.stderr.decode()
    out = pd.read_csv(io.BytesIO(r.stdout))
    assert list(out["date"]) == list(frame["date"].iloc[-7:])
    # the same numbers from the history and a separate file of future values
    r2 = run("forecast", "history.csv", "--future-data", "next.csv", "-q", cwd=d)
    assert r2.returncode == 0, r2.stderr.decode()
    assert r2.stdout == r.stdout
    # and from the model's stored history
    r3 = run("forecast", "--future-data", "next.csv", "-q", cwd=d)
    assert r3.stdout == r.stdout


def test_forecast_without_future_values_is_a_one_line_error(fitted):
    d, _ = fitted
    err = one_line_error(run("forecast", cwd=d), 65)
    assert "'promo'" in err and "--future-data" in err


def test_a_missing_future_value_names_the_column_and_time(fitted, tmp_path):
    d, frame = fitted
    short = frame.iloc[-7:][["date", "promo"]].copy()
    short.iloc[3, 1] = ""
    short.to_csv(tmp_path / "gap.csv", index=False)
    err = one_line_error(run("forecast", "--future-data", tmp_path / "gap.csv", cwd=d), 65)
    assert f"column 'promo' has no value for {frame['date'].iloc[-4]}" in err
    frame.iloc[-7:-3][["date", "promo"]].to_csv(tmp_path / "few.csv", index=False)
    err = one_line_error(run("forecast", "--future-data", tmp_path / "few.csv", cwd=d), 65)
    assert f"no value for {frame['date'].iloc[-3]}" in err
    ok = run("forecast", "--future-data", tmp_path / "few.csv", "-H", "4", "-q", cwd=d)
    assert ok.returncode == 0 and len(ok.stdout.splitlines()) == 5


def test_an_unseen_category_is_encoded_as_documented_with_a_note(fitted, tmp_path):
    d, frame = fitted
    odd = frame.iloc[-7:][["date", "promo"]].copy()
    odd["promo"] = "Maybe"
    odd.to_csv(tmp_path / "odd.csv", index=False)
    r = run("forecast", "--future-data", tmp_path / "odd.csv", cwd=d)
    assert r.returncode == 0
    assert '"Maybe" was not in the training data' in r.stderr.decode()


def test_future_data_for_a_model_without_future_columns_is_a_usage_error(tmp_path):
    write_promo(tmp_path / "s.csv", future=0)
    assert run("fit", "s.csv", "--target", "sales", *FAST, cwd=tmp_path).returncode == 0
    err = one_line_error(run("forecast", "--future-data", "s.csv", cwd=tmp_path), 2)
    assert "has no --future columns" in err


def test_evaluate_with_and_without_the_covariate(fitted):
    d, _ = fitted
    r = run("evaluate", "sales.csv", "--future", "promo", "--folds", "2", *FAST, "-q", "--format", "csv", cwd=d)
    assert r.returncode == 0, r.stderr.decode()
    table = pd.read_csv(io.BytesIO(r.stdout)).set_index("model")
    assert np.isfinite(table.loc["lstm", "MASE"])


def test_masked_gap_fits_where_filling_refuses(tmp_path):
    y = 50 + np.cumsum(np.random.default_rng(3).normal(0, 1, 260))
    y[100:118] = np.nan
    pd.DataFrame({"week": pd.date_range("2019-01-06", periods=260, freq="W-SUN").strftime("%Y-%m-%d"),
                  "units": y.round(2)}).to_csv(tmp_path / "gap.csv", index=False)
    one_line_error(run("fit", "gap.csv", cwd=tmp_path), 65)
    r = run("fit", "gap.csv", "--missing", "mask", "--epochs", "5", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert "18 missing target values left out of the loss" in r.stderr.decode()
    f = run("forecast", "-q", cwd=tmp_path)
    assert f.returncode == 0 and np.isfinite(pd.read_csv(io.BytesIO(f.stdout))["units"]).all()


def test_forecast_shards_on_dask_carry_the_future_values(fitted):
    pytest.importorskip("distributed")
    d, _ = fitted
    local = run("forecast", "--future-data", "next.csv", "-q", cwd=d)
    spread = run("forecast", "--future-data", "next.csv", "--scheduler", "local:2", "-q", cwd=d)
    assert spread.returncode == 0, spread.stderr.decode()
    assert spread.stdout == local.stdout
    same_file = run("forecast", "sales.csv", "--scheduler", "local:2", "-q", cwd=d)
    assert same_file.stdout == local.stdout


def test_a_long_target_gap_suggests_masking_where_it_would_work(tmp_path):
    """A gap too long to interpolate named --fill ffill, --fill-limit and --freq, never
    --missing mask; masking covers missing target values only, so it is suggested for
    those, in the commands that fit (not for an input column's gap, a gap in every
    column, or data read for a fitted model, whose columns are fixed)."""
    n = 200
    t = np.arange(n)
    full = pd.DataFrame({"date": pd.date_range("2021-01-01", periods=n).strftime("%Y-%m-%d"),
                         "value": (20 + 5 * np.sin(2 * np.pi * t / 7)).round(3), "temp": (10 + t * 0.01).round(2)})
    full.to_csv(tmp_path / "full.csv", index=False)
    full.assign(value=np.where((t >= 100) & (t < 118), np.nan, full["value"])).to_csv(tmp_path / "gap.csv", index=False)
    full[["date", "value"]].assign(value=np.where((t >= 100) & (t < 118), np.nan, full["value"])) \
        .to_csv(tmp_path / "target_only.csv", index=False)
    full.assign(temp=np.where((t >= 100) & (t < 118), np.nan, full["temp"])).to_csv(tmp_path / "input_gap.csv",
                                                                                    index=False)
    full.drop(index=range(100, 118)).to_csv(tmp_path / "rows_gap.csv", index=False)
    for args in [("fit", "target_only.csv"), ("fit", "gap.csv", "--target", "value", "--features", "temp"),
                 ("evaluate", "target_only.csv"), ("tune", "target_only.csv", "--budget", "1m")]:
        err = one_line_error(run(*args, cwd=tmp_path), 65)
        assert "18 values missing in a row" in err and "--missing mask" in err and "--fill-limit" in err, err
    assert run("fit", "target_only.csv", "--missing", "mask", "--epochs", "2", "-q", cwd=tmp_path).returncode == 0
    for args in [("fit", "input_gap.csv", "--target", "value", "--features", "temp"),
                 ("fit", "input_gap.csv", "--target", "value", "--features", "temp", "--missing", "mask"),
                 ("fit", "rows_gap.csv", "--target", "value", "--features", "temp")]:
        err = one_line_error(run(*args, cwd=tmp_path), 65)
        assert "18 values missing in a row" in err and "--fill-limit" in err and "--missing" not in err, err
    assert run("fit", "full.csv", "--target", "value", "--epochs", "2", "-q", cwd=tmp_path).returncode == 0
    err = one_line_error(run("forecast", "target_only.csv", cwd=tmp_path), 65)
    assert "18 values missing in a row" in err and "--missing" not in err, err

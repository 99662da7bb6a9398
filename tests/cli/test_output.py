"""Output people can read and messages that point at the real cause: times written the
way the input wrote them, numbers with the digits they need, short table headers, what
fit inferred, and errors that name the model's needs. Each failed before its fix."""

import json
import os
import subprocess

import numpy as np
import pandas as pd
import pytest

from conftest import daily_frame
from test_cli import EXE, SAMPLE, run

FAST = ["--epochs", "2", "--hidden", "4", "--seed", "1", "-q"]


@pytest.mark.parametrize("times,expected", [
    ([str(y) for y in range(1900, 2000)], "2000"),
    ([f"{y}Q{q}" for y in range(1990, 2015) for q in range(1, 5)], "2015Q1"),
    ([f"{y} Q{q}" for y in range(1990, 2015) for q in range(1, 5)], "2015 Q1"),
    ([f"{y}-{m:02d}" for y in range(2010, 2019) for m in range(1, 13)], "2019-01"),
    ([t.strftime("%Y-%m-%dT%H:%M:%S+00:00") for t in pd.date_range("2021-01-01", periods=300, freq="h")],
     "2021-01-13T12:00:00+00:00"),
    ([t.strftime("%Y-%m-%d %H:%M") for t in pd.date_range("2021-01-01", periods=300, freq="h")],
     "2021-01-13 12:00"),
])
def test_forecast_times_keep_the_inputs_form(tmp_path, times, expected):
    values = 100 + np.sin(np.arange(len(times)) / 2)
    pd.DataFrame({"time": times, "value": values.round(3)}).to_csv(tmp_path / "d.csv", index=False)
    assert run("fit", "d.csv", *FAST, cwd=tmp_path).returncode == 0
    r = run("forecast", "-H", "1", cwd=tmp_path)
    assert r.stdout.decode().splitlines()[1].split(",")[0] == expected


def test_csv_numbers_round_trip_and_tell_rows_apart(tmp_path):
    rng = np.random.default_rng(0)
    rate = 1.229 + np.cumsum(rng.normal(0, 0.0001, 400))  # an FX rate moving in the 4th decimal
    pd.DataFrame({"date": pd.date_range("2020-01-01", periods=400).strftime("%Y-%m-%d"),
                  "rate": rate.round(5)}).to_csv(tmp_path / "fx.csv", index=False)
    assert run("fit", "fx.csv", "--lookback", "14", "--horizon", "7", *FAST, cwd=tmp_path).returncode == 0
    csv = run("forecast", cwd=tmp_path).stdout.decode()
    table = run("forecast", "-f", "table", cwd=tmp_path, env={"COLUMNS": "120"}).stdout.decode()
    from lstmcast.model.forecaster import load_model

    exact = load_model(tmp_path / "lstmcast-model.safetensors").predict()[""].point[:, 0]
    got = pd.read_csv(__import__("io").StringIO(csv))["rate"].to_numpy()
    assert got.tolist() == exact.tolist()  # every digit that round-trips
    assert "e-" not in csv and "e+" not in csv
    rows = [line.split("│")[1].strip() for line in table.splitlines() if "│" in line]
    assert len(rows) == 7 and all(rows[i] != rows[i + 1] for i in range(6) if exact[i] != exact[i + 1])


def test_a_large_series_prints_every_digit(tmp_path):
    frame = daily_frame(200)
    frame["value"] = (2_345_678 + frame["value"] * 100).round(2)
    frame.to_csv(tmp_path / "big.csv", index=False)
    assert run("fit", "big.csv", "--lookback", "14", "--horizon", "7", *FAST, cwd=tmp_path).returncode == 0
    line = run("forecast", "-H", "1", "--level", "80", cwd=tmp_path).stdout.decode().splitlines()[1]
    assert "e+" not in line and all(len(v.split(".")[0]) == 7 for v in line.split(",")[1:])


def test_table_headers_are_short_and_use_the_terminal_width(tmp_path):
    daily_frame(200).assign(other=lambda f: f["value"] * 2).to_csv(tmp_path / "d.csv", index=False)
    assert run("fit", "d.csv", "--target", "value", "--target", "other", "--lookback", "14", "--horizon", "7",
               *FAST, cwd=tmp_path).returncode == 0
    out = run("forecast", "-f", "table", "--level", "80", "--level", "95", cwd=tmp_path,
              env={"COLUMNS": "160"}).stdout.decode()
    lines = out.splitlines()
    assert any("lo 80" in x and "hi 95" in x for x in lines) and "_lower_" not in out and "…" not in out
    assert max(len(x) for x in lines) <= 160 and max(len(x) for x in lines) > 80


def test_fit_says_what_it_inferred_and_when_it_compiles(tmp_path):
    daily_frame(200).to_csv(tmp_path / "d.csv", index=False)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cold")}
    cold = subprocess.run([EXE, "fit", "d.csv", "--epochs", "2"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert cold.returncode == 0, cold.stderr
    assert "compiling the training kernels" in cold.stderr and "compiled in" in cold.stderr
    assert "daily data (D), 1 series; lookback" in cold.stderr and "normalisation" in cold.stderr
    assert "hidden 16" in cold.stderr
    warm = subprocess.run([EXE, "fit", "d.csv", "--epochs", "2"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=600)
    assert "compiling" not in warm.stderr and "daily data" in warm.stderr
    # an ensemble's kernels are compiled (and said so) before its first fit, not inside its training
    fits = [subprocess.run([EXE, "fit", "d.csv", "--epochs", "2", "--ensemble", "2", "--json"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=600) for _ in range(2)]
    assert "with their ensemble variant" in fits[0].stderr and "compiled" not in fits[1].stderr
    assert json.loads(fits[0].stdout)["seconds"] < json.loads(fits[0].stdout)["compile_seconds"]


def test_forecast_errors_name_what_the_model_needs(tmp_path):
    daily_frame(200).to_csv(tmp_path / "d.csv", index=False)
    assert run("fit", "d.csv", "--lookback", "28", "--horizon", "7", *FAST, cwd=tmp_path).returncode == 0
    daily_frame(20).to_csv(tmp_path / "short.csv", index=False)
    err = run("forecast", "short.csv", cwd=tmp_path).stderr.decode()
    assert "reads the last 28 steps" in err and "refit with a smaller --lookback" in err
    assert "--lookback or --horizon" not in err
    daily_frame(60).rename(columns={"value": "sales"}).to_csv(tmp_path / "other.csv", index=False)
    err = run("forecast", "other.csv", cwd=tmp_path).stderr.decode()
    assert "no column 'value', the target column of the model" in err and "'sales'" in err
    pd.DataFrame({"date": [f"{y}-01-01" for y in range(1900, 2000)], "value": np.arange(100.0)}) \
        .to_csv(tmp_path / "yearly.csv", index=False)
    r = run("forecast", "yearly.csv", cwd=tmp_path)
    assert r.returncode == 65 and b"frequency mismatch" in r.stderr and b"fill limit" not in r.stderr


def _significant(cell: str) -> int:
    """Significant digits written in a table cell (``0.004560`` has 4, ``2346`` has 4)."""
    digits = cell.lstrip("-").replace(".", "").lstrip("0")
    return len(digits)


def test_evaluate_table_is_readable_and_csv_keeps_every_digit(tmp_path):
    """Interval columns are empty for the baselines: empty cells once made the table
    look for digits that told them apart and print 17 of them (``5.184418888989728``)."""
    args = ["evaluate", SAMPLE / "seattle-weather.csv", "--target", "temp_max", "--folds", "2",
            "--level", "80", *FAST]
    table = run(*args, "--format", "table", env={"COLUMNS": "200"}).stdout.decode()
    csv = pd.read_csv(__import__("io").StringIO(run(*args, "--format", "csv").stdout.decode()))
    rows = [[c.strip() for c in line.split("│")] for line in table.splitlines() if "│" in line]
    header = [h.strip() for h in next(x for x in table.splitlines() if "┃" in x).split("┃")]
    assert [r[0] for r in rows] == csv["model"].tolist() and "MSIS_80" in header
    for r, (_, exact) in zip(rows, csv.iterrows()):
        for name, cell in zip(header[1:], r[1:]):
            if not cell:
                assert np.isnan(exact[name])
                continue
            assert _significant(cell) <= 6, (name, cell)
            assert float(cell) == pytest.approx(exact[name], rel=1e-3), (name, cell)
    msis = csv.loc[csv["model"] == "lstm", "MSIS_80"].iloc[0]
    assert len(repr(msis).replace(".", "")) > 12  # CSV: every digit that round-trips


def test_table_numbers_never_claim_digits_they_do_not_have():
    """``check``'s table (the same rendering as every table) once printed a MAPE of 0.99998
    as ``1``, and a value of 2,345,678 as ``2346000``: rounding to 4 significant digits
    then dropping the zeros (or inventing them) misstated the value."""
    from lstmcast.cli.output import render

    frame = pd.DataFrame({"model": ["lstm", "naive", "seasonal_naive", "drift"],
                          "MAE": [0.5, 0.8123456, 1.25, 2_345_678.4],
                          "MAPE": [0.99998, 1.5, 22.497657992996153, 2.0],
                          "MASE": [0.4719401801833651, 0.5795404290036386, 0.7977678687991232, np.nan]})
    text = render(frame, "table", title="check")
    rows = {(cells := [c.strip() for c in line.split("│")])[0]: cells[1:]
            for line in text.splitlines() if "│" in line}
    assert rows["lstm"] == ["0.5", "1.000", "0.4719"]
    assert rows["naive"] == ["0.8123", "1.5", "0.5795"]
    assert rows["seasonal_naive"] == ["1.25", "22.50", "0.7978"]
    assert rows["drift"] == ["2345678", "2", ""]

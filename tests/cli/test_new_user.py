"""What a new user hit on real files and machines (too little data, levels given as
fractions, intervals that narrowed, negative counts, plots without matplotlib, huge
numbers, old dates): each test failed before its fix."""

import io
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import daily_frame
from test_cli import EXE, run

FAST = ["--epochs", "3", "--hidden", "4", "--seed", "1", "-q"]


def test_too_little_data_is_a_data_error_with_the_minimum(tmp_path):
    (tmp_path / "four.csv").write_text("date,value\n2021-01-01,1\n2021-01-02,2\n2021-01-03,3\n2021-01-04,4\n")
    r = run("fit", "four.csv", cwd=tmp_path)
    assert r.returncode == 65 and not (tmp_path / "lstmcast-model.safetensors").exists()
    err = r.stderr.decode()
    assert "too little data" in err and "at least 10" in err and "rows" in err, err


@pytest.mark.parametrize("command", [["forecast"], ["evaluate", "data.csv"]])
def test_a_level_given_as_a_fraction_asks_for_the_percentage(tmp_path, command):
    daily_frame().to_csv(tmp_path / "data.csv", index=False)
    r = run(*command, "--level", "0.95", cwd=tmp_path)
    assert r.returncode == 2 and r.stdout == b"" and b"did you mean 95?" in r.stderr


def hourly_temperatures(path, days=120, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(days * 24)
    temp = 12 + 6 * np.sin(2 * np.pi * (t % 24) / 24) + np.cumsum(rng.normal(0, 0.15, t.size))
    pd.DataFrame({"time": pd.date_range("2021-03-01", periods=t.size, freq="h").strftime("%Y-%m-%d %H:%M"),
                  "temp": temp.round(2)}).to_csv(path, index=False)


def test_interval_widths_never_shrink_as_the_step_grows(tmp_path):
    hourly_temperatures(tmp_path / "temp.csv")
    assert run("fit", "temp.csv", "--lookback", "48", *FAST, cwd=tmp_path).returncode == 0
    r = run("forecast", "-H", "48", "--level", "90", "--level", "50", "-f", "json", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    f = pd.DataFrame(json.loads(r.stdout))
    info = json.loads(run("info", "--json", cwd=tmp_path).stdout)
    # bands that follow the hour of day are never narrower than at the same hour a day before
    lag = 24 if "positions" in info["intervals"]["calibration"] else 1
    for level in ("50", "90"):  # trained horizon 24, recursive beyond: never narrower, either side
        up, down = f[f"temp_upper_{level}"] - f["temp"], f["temp"] - f[f"temp_lower_{level}"]
        up, down = up.to_numpy(), down.to_numpy()
        assert (up[lag:] - up[:-lag] >= -1e-9).all() and (down[lag:] - down[:-lag] >= -1e-9).all()
    assert (f["temp_upper_90"] - f["temp_lower_90"] >= f["temp_upper_50"] - f["temp_lower_50"] - 1e-9).all()


def counts_csv(path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    pd.DataFrame({"date": pd.date_range("2022-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                  "sales": rng.poisson(0.6, n)}).to_csv(path, index=False)


def test_counts_get_forecasts_and_bands_at_or_above_zero(tmp_path):
    counts_csv(tmp_path / "sales.csv")
    args = ["--lookback", "14", "--horizon", "7", *FAST]
    assert run("fit", "sales.csv", *args, cwd=tmp_path).returncode == 0
    r = run("forecast", "--level", "95", "-f", "json", cwd=tmp_path)
    f = pd.DataFrame(json.loads(r.stdout))
    assert (f[["sales", "sales_lower_95", "sales_upper_95"]].to_numpy() >= 0).all()
    assert (f["sales_lower_95"] == 0).any()  # the floor was needed
    info = json.loads(run("info", "--json", cwd=tmp_path).stdout)
    assert info["nonnegative"] == {"sales": True}
    # the user may say otherwise
    assert run("fit", "sales.csv", *args, "--no-nonnegative", "--model", "free.safetensors",
               cwd=tmp_path).returncode == 0
    f = pd.DataFrame(json.loads(run("forecast", "--model", "free.safetensors", "--level", "95", "-f", "json",
                                    cwd=tmp_path).stdout))
    assert (f["sales_lower_95"] < 0).any()


def test_plot_without_matplotlib_fails_before_any_work(tmp_path):
    daily_frame().to_csv(tmp_path / "data.csv", index=False)
    assert run("fit", "data.csv", "--lookback", "14", "--horizon", "7", *FAST, cwd=tmp_path).returncode == 0
    code = ("import sys; sys.modules['matplotlib'] = None\n"
            "from lstmcast.cli.app import main; main(sys.argv[1:])")
    for args in (["forecast", "-o", "out.csv", "--plot", "f.png"],
                 ["evaluate", "data.csv", "--epochs", "400", "--plot", "e.png"]):
        r = subprocess.run([sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 2 and r.stdout == "" and "pip install 'lstmcast[plot]'" in r.stderr
        assert not (tmp_path / "out.csv").exists()


def test_huge_numbers_fit_without_warnings(tmp_path):
    frame = daily_frame()
    frame["value"] = frame["value"] * 1e300
    frame.to_csv(tmp_path / "huge.csv", index=False)
    r = run("fit", "huge.csv", "--lookback", "14", "--horizon", "7", *FAST, cwd=tmp_path)  # run() refuses warnings
    assert r.returncode == 0, r.stderr.decode()
    f = run("forecast", "-f", "json", cwd=tmp_path)
    values = pd.DataFrame(json.loads(f.stdout))["value"]
    assert np.isfinite(values).all() and (values > 1e301).all()


def test_three_centuries_of_yearly_data(tmp_path):
    years = np.arange(1700, 2009)
    pd.DataFrame({"YEAR": years.astype(float), "SUNACTIVITY": (50 + 40 * np.sin(years / 1.7)).round(1)}) \
        .to_csv(tmp_path / "sunspots.csv", index=False)
    r = run("fit", "sunspots.csv", *FAST, cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    assert run("forecast", "sunspots.csv", "-H", "2", cwd=tmp_path).returncode == 0


def test_grid_size_spans_more_than_292_years_in_nanoseconds():
    """pyarrow-backed frames (pandas 2) give nanosecond times, whose difference overflows
    a Timedelta beyond 292 years."""
    from lstmcast.data.timeparse import grid_size

    start, end = pd.Timestamp("1700-01-01").as_unit("ns"), pd.Timestamp("2008-01-01").as_unit("ns")
    assert grid_size(start, end, "YS") == 309
    assert grid_size("2020-01-01", "2020-01-02 12:00", "h") == 37


def test_hourly_fx_closing_at_weekends_fits_and_forecasts_on_its_own_calendar(tmp_path):
    t = pd.date_range("2023-01-02", periods=8 * 7 * 24, freq="h")
    dow, h = t.day_of_week, t.hour
    t = t[~(((dow == 4) & (h >= 22)) | (dow == 5) | ((dow == 6) & (h < 22)))]
    t = t[t <= "2023-02-24 12:00"]  # ends on a Friday
    rate = 1.08 + np.cumsum(np.random.default_rng(0).normal(0, 5e-4, len(t)))
    pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M"), "eurusd": rate.round(5)}).to_csv(
        tmp_path / "fx.csv", index=False)
    r = subprocess.run([sys.executable, "-m", "lstmcast", "fit", "fx.csv", "--epochs", "2", "--hidden", "4"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "trading calendar: no rows on Sat" in r.stderr
    out = run("forecast", "-H", "30", cwd=tmp_path).stdout.decode().splitlines()[1:]
    times = pd.to_datetime([line.split(",")[0] for line in out])
    assert not (times.day_of_week == 5).any() and times[0] == pd.Timestamp("2023-02-24 13:00")
    assert pd.Timestamp("2023-02-24 21:00") in times and pd.Timestamp("2023-02-26 22:00") in times
    assert not ((times > "2023-02-24 21:00") & (times < "2023-02-26 22:00")).any()


def test_a_folder_of_files_and_a_parquet_file_from_the_shell(tmp_path):
    pytest.importorskip("pyarrow")
    stores = tmp_path / "stores"
    stores.mkdir()
    for i in range(3):
        daily_frame(150, seed=i).to_csv(stores / f"store-{i}.csv", index=False)
    fast = ["--epochs", "2", "--hidden", "4", "--lookback", "14", "--horizon", "7", "-q"]
    assert run("fit", "stores", *fast, "-m", "f.safetensors", cwd=tmp_path).returncode == 0
    out = run("forecast", "stores", "-m", "f.safetensors", cwd=tmp_path)
    frame = pd.read_csv(io.StringIO(out.stdout.decode()))
    assert sorted(frame["series"].unique()) == ["store-0", "store-1", "store-2"] and len(frame) == 21
    glob = run("fit", "stores/store-[01].csv", *fast, "-m", "g.safetensors", cwd=tmp_path)
    assert glob.returncode == 0, glob.stderr
    daily_frame(150).assign(date=lambda f: pd.to_datetime(f["date"])).to_parquet(tmp_path / "d.parquet")
    with open(tmp_path / "d.parquet", "rb") as fh:
        piped = subprocess.run([EXE, "fit", "-", *fast, "-m", "p.safetensors"], stdin=fh, cwd=tmp_path,
                               capture_output=True)
    assert piped.returncode == 0, piped.stderr

"""Accuracy benchmark: the default LSTM against naive, seasonal naive and drift.

For every dataset below, runs the same rolling-origin backtest as

    lstmcast evaluate DATA.csv [--target COL] [--id-col ID] --folds K --level 80 --level 95

(that is :func:`lstmcast.model.backtest.backtest` with default model options, refitting before
each origin) and prints one markdown table: MASE and sMAPE of the LSTM and of each
baseline on the same folds, the LSTM's empirical interval coverage at 80% and 95%, and
the wall time of the backtest. When ``statsforecast`` is installed, AutoETS is fitted on
exactly the same history as every other model in every fold and added to the table.

The datasets are the two in ``sample_data/`` and real public series that ship inside
PyPI packages (nothing is downloaded at run time):

    pip install statsmodels pmdarima          # the extra datasets (benchmark only)
    pip install statsforecast                 # optional: AutoETS column

    LSTMCAST_THREADS=1 python -m benchmarks.common.backtests [--only NAME ...] [--keep DIR]

``--keep DIR`` writes each dataset's CSV to DIR so that the printed ``lstmcast
evaluate`` command can be run as it is. A dataset whose package is missing is skipped
with a note. Models are always run one dataset at a time (refits are the heavy part).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_data"
LEVELS = (80.0, 95.0)
BASELINE_NAMES = ("naive", "seasonal_naive", "drift")


# ---------------------------------------------------------------- datasets


@dataclass
class Data:
    """One benchmark dataset: how to make its CSV and how to read it back."""

    name: str
    about: str                       # frequency and character, for the table
    make: Callable[[], pd.DataFrame] | None  # None: a file in sample_data/
    file: str = ""                   # the CSV's name (in sample_data/ or the work folder)
    targets: list[str] | None = None
    id_col: str | None = None
    folds: int = 5
    reading: dict = field(default_factory=dict)
    coverage: tuple[int, int] | None = None  # (folds, step) of the interval calibration check

    def args(self) -> list[str]:
        out = []
        for t in self.targets or []:
            out += ["--target", t]
        if self.id_col:
            out += ["--id-col", self.id_col]
        for key, value in self.reading.items():
            out += ["--" + key.replace("_", "-"), str(value)]
        return out


def _airpassengers() -> pd.DataFrame:
    from pmdarima.datasets import load_airpassengers

    y = load_airpassengers()
    return pd.DataFrame({"month": pd.date_range("1949-01-01", periods=len(y), freq="MS")
                         .strftime("%Y-%m"), "passengers": y})


def _ausbeer() -> pd.DataFrame:
    from pmdarima.datasets import load_ausbeer

    y = load_ausbeer()
    return pd.DataFrame({"quarter": pd.date_range("1956-01-01", periods=len(y), freq="QS")
                         .strftime("%Y-%m-%d"), "megalitres": y})


def _taylor() -> pd.DataFrame:
    from pmdarima.datasets import load_taylor

    y = load_taylor()
    return pd.DataFrame({"time": pd.date_range("2000-06-05", periods=len(y), freq="30min")
                         .strftime("%Y-%m-%d %H:%M"), "demand_mw": y})


def _msft() -> pd.DataFrame:
    from pmdarima.datasets import load_msft

    d = load_msft()
    d = d[d["Date"] >= "2012-01-01"]   # the last six years: ~1,500 business days
    return pd.DataFrame({"date": pd.to_datetime(d["Date"]).dt.strftime("%Y-%m-%d"),
                         "close": d["Close"].to_numpy(np.float64)})


def _co2() -> pd.DataFrame:
    import statsmodels.api as sm

    d = sm.datasets.co2.load_pandas().data          # weekly; an 18-week gap in 1964
    d = d[d.index >= "1965-01-01"]
    return pd.DataFrame({"week": d.index.strftime("%Y-%m-%d"), "co2_ppm": d["co2"].to_numpy()})


def _sunspots() -> pd.DataFrame:
    import statsmodels.api as sm

    d = sm.datasets.sunspots.load_pandas().data
    return pd.DataFrame({"year": d["YEAR"].astype(int), "sunspots": d["SUNACTIVITY"]})


def _elec_equip() -> pd.DataFrame:
    from statsmodels.datasets import elec_equip

    d = elec_equip.load().data
    return pd.DataFrame({"month": d.index.strftime("%Y-%m"), "orders_index": d.iloc[:, 0].to_numpy()})


DATASETS: list[Data] = [
    Data("seattle-weather", "daily max temperature, 4 years (sample_data)", None,
         "seattle-weather.csv", targets=["temp_max"], coverage=(26, 14)),
    Data("stocks", "monthly prices of 5 stocks, trending (sample_data)", None,
         "stocks.csv", id_col="symbol", folds=3, coverage=(8, 4)),
    Data("msft", "business-day MSFT close 2012-2017, trending (pmdarima)", _msft, "msft.csv"),
    Data("airpassengers", "monthly airline passengers 1949-60, trend x season (pmdarima)",
         _airpassengers, "airpassengers.csv", folds=3),
    Data("elec_equip", "monthly euro-area electrical equipment orders (statsmodels)",
         _elec_equip, "elec_equip.csv"),
    Data("ausbeer", "quarterly Australian beer production (pmdarima)", _ausbeer, "ausbeer.csv"),
    Data("co2", "weekly Mauna Loa CO2 1965-2001, trend + season (statsmodels)", _co2, "co2.csv",
         reading={"fill_limit": 5}),
    Data("sunspots", "yearly sunspot numbers 1700-2008, ~11-year cycle (statsmodels)",
         _sunspots, "sunspots.csv"),
    Data("taylor", "half-hourly electricity demand, 12 weeks (pmdarima)", _taylor, "taylor.csv"),
]


def materialise(data: Data, folder: Path) -> Path:
    """The dataset's CSV: the sample file, or one written to ``folder``."""
    if data.make is None:
        return SAMPLE / data.file
    path = folder / data.file
    if not path.exists():
        data.make().to_csv(path, index=False)
    return path


def load(data: Data, folder: Path):
    """Read the CSV exactly as the command line does."""
    from lstmcast.data.dataset import load_csv

    return load_csv(str(materialise(data, folder)), targets=data.targets, id_col=data.id_col,
                    **data.reading)


def available(data: Data) -> str | None:
    """None if the dataset can be made here, else why not."""
    try:
        if data.make is not None:
            data.make()
    except ImportError as e:
        return f"{e.name} is not installed"
    return None


# ---------------------------------------------------------------- AutoETS


def autoets_forecaster():
    """f(history, horizon, season) -> forecast, or None without statsforecast."""
    try:
        from statsforecast.models import AutoETS
    except ImportError:
        return None

    def forecast(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
        # ETS is seasonal only for seasons it can estimate (statsforecast, like R's
        # forecast::ets, drops the seasonal part when there are fewer than two seasons of
        # data or the season is above 24)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            season = season if 1 < season <= 24 and len(history) >= 2 * season + 2 else 1
            try:
                return AutoETS(season_length=season).fit(history).predict(horizon)["mean"]
            except Exception:  # noqa: BLE001 - a failed ETS fit is a failed benchmark cell
                return np.full(horizon, np.nan)

    return forecast


def score_extra(bt, season: int, name: str, fn) -> dict[str, float]:
    """MASE and sMAPE of ``fn`` on the backtest's own folds and histories."""
    from lstmcast.model import metrics

    rows = []
    for fold in bt.folds:
        for t in fold.history.columns:
            hist = fold.history[t].to_numpy(np.float64)
            y = fold.actual[t].to_numpy(np.float64)
            f = np.asarray(fn(hist, len(y), season), dtype=np.float64)
            if np.isfinite(f).all():
                rows.append(metrics.summarize(y, f, hist, season))
    if not rows:
        return {"MASE": math.nan, "sMAPE": math.nan}
    return {k: float(np.nanmean([r[k] for r in rows])) for k in ("MASE", "sMAPE")}


# ---------------------------------------------------------------- running


def run(data: Data, folder: Path, params: dict | None = None, folds: int | None = None,
        levels=LEVELS, ets=None, step: int | None = None) -> dict:
    """Backtest one dataset; a flat dict of results."""
    from lstmcast.frequencies import season_length
    from lstmcast.model.backtest import backtest
    from lstmcast.model.forecaster import LSTMForecaster

    dataset = load(data, folder)
    k = folds or data.folds
    bt = backtest(dataset, folds=k, levels=levels, forecaster=LSTMForecaster(**(params or {})), step=step)
    table = bt.table.set_index("model")
    season = season_length(dataset.freq)
    out = {"dataset": data.name, "freq": dataset.freq, "season": season,
           "series": len(dataset.series), "rows": min(len(f) for f in dataset.series.values()),
           "folds": k, "horizon": len(bt.folds[0].actual), "seconds": bt.seconds}
    for model in ("lstm", *BASELINE_NAMES):
        out[f"{model}_MASE"] = float(table.loc[model, "MASE"])
        out[f"{model}_sMAPE"] = float(table.loc[model, "sMAPE"])
    for lv in levels:
        out[f"coverage_{lv:g}"] = float(table.loc["lstm", f"coverage_{lv:g}"]) if levels else math.nan
    if ets is not None:
        s = score_extra(bt, season, "autoets", ets)
        out["autoets_MASE"], out["autoets_sMAPE"] = s["MASE"], s["sMAPE"]
    out["backtest"] = bt
    return out


def command(data: Data, path: Path, folds: int, step: int | None = None) -> str:
    return " ".join(["lstmcast evaluate", str(path), *data.args(), "--folds", str(folds),
                     *(["--step", str(step)] if step else []), "--level 80 --level 95"])


def coverage_check(chosen: list[Data], folder: Path) -> list[str]:
    """Interval coverage on the sample data over many forecast origins.

    A handful of folds gives a few dozen correlated test points: a coverage estimate
    from them is off by several points by chance alone. Here every sample dataset is
    backtested from many origins (a year of them for the daily weather)."""
    lines = ["| dataset | origins x horizon (step) | test points | coverage 80 | coverage 95 | "
             "within 5 points | evaluate s |", "|---|---|---|---|---|---|---|"]
    commands = []
    for data in chosen:
        if data.coverage is None:
            continue
        folds, step = data.coverage
        r = run(data, folder, folds=folds, step=step)
        points = sum(len(f.actual) * f.actual.shape[1] for f in r["backtest"].folds)
        ok = all(abs(r[f"coverage_{lv:g}"] - lv) <= 5 for lv in LEVELS)
        lines.append(f"| {data.name} | {folds} x {r['horizon']} ({step}) | {points} | "
                     f"{r['coverage_80']:.1f} | {r['coverage_95']:.1f} | {'yes' if ok else 'NO'} | "
                     f"{r['seconds']:.1f} |")
        commands.append(f"- {data.name}: `{command(data, materialise(data, folder), folds, step)}`")
    return lines + [""] + commands if commands else []


def markdown(results: list[dict], with_ets: bool) -> str:
    models = ["lstm", *BASELINE_NAMES] + (["autoets"] if with_ets else [])
    head = ["dataset", "freq", "rows", "folds x h"] + [f"MASE {m}" for m in models] \
        + [f"sMAPE {m}" for m in models] + ["cov 80", "cov 95", "evaluate s"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        best = min(r[f"{m}_MASE"] for m in BASELINE_NAMES)
        cells = [r["dataset"], r["freq"], str(r["rows"]) + (f" x{r['series']}" if r["series"] > 1 else ""),
                 f"{r['folds']} x {r['horizon']}"]
        for m in models:
            v = r[f"{m}_MASE"]
            s = f"{v:.3f}"
            cells.append(f"**{s}**" if m == "lstm" and v < best else s)
        cells += [f"{r[f'{m}_sMAPE']:.2f}" for m in models]
        cells += [f"{r['coverage_80']:.1f}", f"{r['coverage_95']:.1f}", f"{r['seconds']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(results: list[dict]) -> str:
    n = len(results)
    snaive = sum(r["lstm_MASE"] < r["seasonal_naive_MASE"] for r in results)
    best = sum(r["lstm_MASE"] < min(r[f"{m}_MASE"] for m in BASELINE_NAMES) for r in results)
    ets = [r for r in results if "autoets_MASE" in r and np.isfinite(r["autoets_MASE"])]
    line = (f"LSTM beats seasonal naive on {snaive}/{n} datasets and the best of naive / seasonal "
            f"naive / drift on {best}/{n} (lower MASE; bold above)")
    if ets:
        line += f"; beats AutoETS on {sum(r['lstm_MASE'] < r['autoets_MASE'] for r in ets)}/{len(ets)}"
    cov80 = np.mean([r["coverage_80"] for r in results])
    cov95 = np.mean([r["coverage_95"] for r in results])
    total = sum(r["seconds"] for r in results)
    return (line + f". Mean coverage {cov80:.1f}% (80) and {cov95:.1f}% (95); "
            f"evaluate wall time {total:.0f} s in all.")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run these datasets only")
    ap.add_argument("--folds", type=int, help="override every dataset's number of folds")
    ap.add_argument("--keep", metavar="DIR", help="write the datasets' CSVs to DIR")
    ap.add_argument("--no-ets", action="store_true", help="skip AutoETS even if installed")
    ap.add_argument("--no-coverage", action="store_true",
                    help="skip the many-origin interval coverage check of the sample data")
    args = ap.parse_args(argv)
    chosen = [d for d in DATASETS if not args.only or d.name in args.only]
    ets = None if args.no_ets else autoets_forecaster()
    if ets is None and not args.no_ets:
        print("note: statsforecast is not installed; no AutoETS column", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        results, commands = [], []
        for data in chosen:
            why = available(data)
            if why:
                print(f"note: skipping {data.name}: {why}", file=sys.stderr)
                continue
            started = time.perf_counter()
            r = run(data, folder, folds=args.folds, ets=ets)
            results.append(r)
            commands.append(command(data, materialise(data, folder), r["folds"]))
            print(f"{data.name}: LSTM MASE {r['lstm_MASE']:.3f}, seasonal naive "
                  f"{r['seasonal_naive_MASE']:.3f}, best baseline "
                  f"{min(r[f'{m}_MASE'] for m in BASELINE_NAMES):.3f} "
                  f"({time.perf_counter() - started:.1f} s)", file=sys.stderr, flush=True)
        coverage = [] if args.no_coverage else coverage_check(
            [d for d in chosen if any(r["dataset"] == d.name for r in results)], folder)
    threads = os.environ.get("LSTMCAST_THREADS", "all")
    print(markdown(results, ets is not None))
    print()
    print(summary(results))
    print()
    print(f"Threads: LSTMCAST_THREADS={threads}. Datasets:")
    for data, cmd in zip([d for d in chosen if any(r["dataset"] == d.name for r in results)], commands):
        print(f"- {data.name}: {data.about}. `{cmd}`")
    if coverage:
        print()
        print("Interval coverage of the sample data over many forecast origins:")
        print()
        print("\n".join(coverage))
    return 0


if __name__ == "__main__":
    sys.exit(main())

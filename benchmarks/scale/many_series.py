"""Many series on one machine: fit and forecast time, peak memory and accuracy for 100,
1,000 and 10,000 daily series of two years each, through the installed command.

    env -u OPENBLAS_CORETYPE LSTMCAST_THREADS=2 python -m benchmarks.scale.many_series [--sizes 100 1000 10000]
        [--full-epochs 1000] [--keep DIR]

Data: synthetic retail-like daily series (a level between 10 and 1,000, a weekly cycle of
5-30 %, a yearly cycle of up to 20 %, a small trend, 5 % noise, floored at 0; seed 0),
written as one long CSV (id, date, sales). No public set of 10,000 series ships inside a
PyPI package, so the data is synthetic and says so.

For each size: ``lstmcast fit`` (default options) on all but the last 28 days, then
``lstmcast forecast -H 28`` of every series to stdout; wall time and peak RSS of each
process (``resource.getrusage`` of the children); MASE of the forecast on the held-out 28
days, scaled by each series' in-sample seasonal naive error (season 7), against seasonal
naive's own MASE on the same days. ``--full-epochs N`` also fits the N-series set with every
training window in every epoch (``--epoch-windows`` = all), the evidence for sampling
32,768 windows an epoch. NeuralForecast's LSTM is added when installed (it is not a
dependency).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HOLD = 28
SEASON = 7
EXE = shutil.which("lstmcast", path=str(Path(sys.executable).parent)) or "lstmcast"


def make(n_series: int, n_days: int = 730, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    t = np.arange(n_days)
    level = rng.uniform(10, 1000, n_series)[:, None]
    weekly = rng.uniform(0.05, 0.3, n_series)[:, None] * np.sin(
        2 * np.pi * (t[None] + rng.integers(0, 7, n_series)[:, None]) / 7)
    yearly = rng.uniform(0, 0.2, n_series)[:, None] * np.sin(2 * np.pi * t[None] / 365.25)
    trend = rng.normal(0, 0.0005, n_series)[:, None] * t[None]
    noise = rng.normal(0, 0.05, (n_series, n_days))
    y = np.maximum(level * (1 + weekly + yearly + trend + noise), 0).round(2)
    dates = pd.date_range("2023-01-01", periods=n_days, freq="D").strftime("%Y-%m-%d")
    return pd.DataFrame({"id": np.repeat([f"s{i:05d}" for i in range(n_series)], n_days),
                         "date": np.tile(dates, n_series), "sales": y.ravel()})


_PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
         "sys.stderr.write('\\npeak-kb %d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); "
         "sys.exit(r.returncode)")


def timed(args: list[str], cwd: Path) -> tuple[float, float, bytes]:
    """(seconds, peak RSS of the command in MB, stdout). Each command runs under its own
    small parent, whose children's peak is that command's alone."""
    started = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", _PEAK, EXE, *args], cwd=cwd, capture_output=True)
    seconds = time.perf_counter() - started
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {r.stderr.decode()}")
    peak_kb = int(r.stderr.decode().rsplit("peak-kb ", 1)[1].split()[0])
    return seconds, peak_kb / 1024, r.stdout


def mase(actual: pd.DataFrame, forecast: pd.DataFrame, train: pd.DataFrame) -> tuple[float, float]:
    """Mean over series of (model MASE, seasonal naive MASE) on the held-out days."""
    out_m, out_s = [], []
    fc = forecast.set_index(["id", "date"])["sales"]
    for key, hist in train.groupby("id", sort=False):
        y = hist["sales"].to_numpy()
        scale = np.mean(np.abs(y[SEASON:] - y[:-SEASON]))
        if not scale > 0:
            continue
        act = actual[actual["id"] == key]
        truth = act["sales"].to_numpy()
        pred = fc.loc[key].reindex(act["date"]).to_numpy()
        snaive = np.resize(y[-SEASON:], HOLD)
        out_m.append(np.mean(np.abs(truth - pred)) / scale)
        out_s.append(np.mean(np.abs(truth - snaive)) / scale)
    return float(np.mean(out_m)), float(np.mean(out_s))


def run(n: int, folder: Path, extra: list[str] | None = None, label: str = "lstmcast") -> dict:
    frame = make(n)
    cut = frame.groupby("id").cumcount() < frame.groupby("id")["date"].transform("size") - HOLD
    train, actual = frame[cut], frame[~cut]
    train.to_csv(folder / f"s{n}.csv", index=False)
    model = f"m{n}{'-full' if extra else ''}.safetensors"
    fit_s, fit_mb, _ = timed(["fit", f"s{n}.csv", "--id-col", "id", "-q", "-m", model, *(extra or [])], folder)
    fc_s, fc_mb, out = timed(["forecast", "-m", model, "-H", str(HOLD), "-q"], folder)
    forecast = pd.read_csv(io.BytesIO(out))
    forecast["date"] = forecast["date"].astype(str)
    actual = actual.assign(date=actual["date"].astype(str))
    ours, snaive = mase(actual, forecast, train)
    return {"model": label, "series": n, "rows": len(train), "fit s": round(fit_s, 1),
            "fit peak MB": round(fit_mb), "forecast s": round(fc_s, 1), "forecast peak MB": round(fc_mb),
            "MASE": round(ours, 3), "seasonal naive MASE": round(snaive, 3)}


def neuralforecast_row(n: int) -> dict | None:
    try:
        from neuralforecast import NeuralForecast
        from neuralforecast.models import LSTM
    except ImportError:
        return None
    frame = make(n).rename(columns={"id": "unique_id", "date": "ds", "sales": "y"})
    frame["ds"] = pd.to_datetime(frame["ds"])
    cut = frame.groupby("unique_id").cumcount() < frame.groupby("unique_id")["ds"].transform("size") - HOLD
    train, actual = frame[cut], frame[~cut]
    started = time.perf_counter()
    # its documented defaults, on the CPU (as lstmcast), without Lightning's progress output
    nf = NeuralForecast(models=[LSTM(h=HOLD, input_size=2 * HOLD, accelerator="cpu", enable_progress_bar=False,
                                     enable_model_summary=False, logger=False)], freq="D")
    nf.fit(train)
    fit_s = time.perf_counter() - started
    started = time.perf_counter()
    pred = nf.predict().reset_index()
    fc_s = time.perf_counter() - started
    pred = pred.rename(columns={"unique_id": "id", "ds": "date", "LSTM": "sales"})
    pred["date"] = pred["date"].dt.strftime("%Y-%m-%d")
    act = actual.rename(columns={"unique_id": "id", "ds": "date", "y": "sales"})
    act["date"] = act["date"].dt.strftime("%Y-%m-%d")
    ours, snaive = mase(act, pred, train.rename(columns={"unique_id": "id", "y": "sales"}))
    return {"model": "NeuralForecast LSTM", "series": n, "rows": len(train), "fit s": round(fit_s, 1),
            "fit peak MB": None, "forecast s": round(fc_s, 1), "forecast peak MB": None,
            "MASE": round(ours, 3), "seasonal naive MASE": round(snaive, 3)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--full-epochs", type=int, default=None, help="also fit this size with full epochs")
    ap.add_argument("--keep", type=Path, default=None)
    args = ap.parse_args(argv)
    folder = args.keep or Path(tempfile.mkdtemp(prefix="lstmcast-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for n in args.sizes:
        rows.append(run(n, folder))
        print(rows[-1], file=sys.stderr, flush=True)
        peer = neuralforecast_row(n)
        if peer:
            rows.append(peer)
    if args.full_epochs:
        rows.append(run(args.full_epochs, folder, ["--epoch-windows", "100000000"],
                        "lstmcast, every window every epoch"))
    table = pd.DataFrame(rows)
    print(f"threads: LSTMCAST_THREADS={os.environ.get('LSTMCAST_THREADS', '(all cores)')}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}\n")
    print(table.to_markdown(index=False) if _has_tabulate() else table.to_string(index=False))
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    sys.exit(main())

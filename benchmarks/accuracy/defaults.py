"""The evidence behind the forecaster's defaults: candidate settings, backtested.

Every candidate is one change from the defaults (``LSTMForecaster()`` as shipped), run
through the same rolling-origin backtest as ``lstmcast evaluate`` on the datasets of
``benchmarks/common/backtests.py``. Per dataset it records the LSTM's MASE; the table shows, per
candidate, the MASE relative to the shipped defaults on each dataset (below 1 is
better), their geometric mean, the mean rank of the candidate within its group, how
many datasets it wins against seasonal naive, and the total evaluate time. The
defaults in ``lstmcast/options.py`` and ``lstmcast/normalize.py`` are the winners of
this table; losers are kept in it on purpose.

    pip install statsmodels pmdarima           # the extra datasets (benchmark only)
    LSTMCAST_THREADS=1 python -m benchmarks.accuracy.defaults [--group NAME ...] [--only DATASET ...]
        [--folds K] [--json results.json]

``--group`` runs some groups of candidates only (see ``GROUPS``); ``--json`` saves the
raw numbers (and ``--load`` reprints a table from saved numbers). ``--intervals``
compares the interval calibrations instead: coverage and MSIS at 80% and 95% with plain
split-conformal residuals and with residuals scaled by each window's step-to-step
change (the folds of backtests.py). Each candidate is a
full backtest of every dataset with refits, so the whole table takes a while: one
dataset at a time, on one thread.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import backtests  # noqa: E402  (Data, load, run: the backtest runner)


# (group, candidate name, LSTMForecaster params). Internal choices that are not options
# are the forecaster's underscored arguments (_head_init, _shrink, ...). The first
# candidate is the shipped configuration; "seed 1" repeats it with another seed (the
# noise floor: differences smaller than its own are not evidence); every other
# candidate changes one thing.
DEFAULT = ("default", "shipped defaults", {})
GROUPS: dict[str, list[tuple[str, dict]]] = {
    "noise": [
        ("shipped defaults, seed 1", {"seed": 1}),
    ],
    "normalize": [
        ("normalize=last", {"normalize": "last"}),
        ("normalize=season", {"normalize": "season"}),
        ("normalize=none", {"normalize": "none"}),
        ("season base = seasonal naive (1 season, not chosen)", {"seasons": 1}),
        ("season base = 2 seasons averaged (not chosen)", {"seasons": 2}),
        ("auto: season at any number of windows", {"_season_max_windows": 10**9}),
    ],
    "transform": [
        ("transform=log", {"transform": "log"}),
        ("transform=diff", {"transform": "diff"}),
    ],
    "head": [
        ("head init random", {"_head_init": "random"}),
        ("no validation shrinkage", {"_shrink": False}),
    ],
    "hidden": [
        ("hidden=16", {"hidden": 16}),
        ("hidden=32", {"hidden": 32}),
        ("hidden=64", {"hidden": 64}),
    ],
    "validation": [
        ("val_fraction=0.2 always", {"val_fraction": 0.2}),
        ("val_fraction=0.3 always", {"val_fraction": 0.3}),
    ],
    "lr": [
        ("lr=0.001", {"lr": 1e-3}),
    ],
    "lookback": [
        ("lookback 3 seasons", {"_lookback_seasons": 3}),
    ],
    "patience": [
        ("patience=5", {"patience": 5}),
    ],
}


def candidates(groups: list[str] | None):
    yield DEFAULT
    for group, items in GROUPS.items():
        if groups and group not in groups:
            continue
        for name, params in items:
            yield group, name, params


def run_candidate(params: dict, datasets, folder: Path, folds: int | None) -> dict:
    """{dataset: {"lstm": MASE, baselines' MASE, "seconds"}}; None where the candidate
    does not apply (``--transform log`` on data with zeros)."""
    from lstmcast.errors import DataError

    out = {}
    for data in datasets:
        try:
            r = backtests.run(data, folder, params=params, folds=folds, levels=())
        except DataError as e:
            print(f"  {data.name}: n/a ({e})", file=sys.stderr)
            out[data.name] = None
            continue
        out[data.name] = {"lstm": r["lstm_MASE"], "seconds": r["seconds"],
                          **{m: r[f"{m}_MASE"] for m in backtests.BASELINE_NAMES}}
    return out


def table(results: list[dict], names: list[str]) -> str:
    """Markdown: relative MASE per dataset, geometric mean, mean rank in group, wins."""
    base = next(r for r in results if r["group"] == "default")["mase"]
    head = ["group", "candidate"] + names + ["geo. mean", "mean rank", "beats snaive", "beats best", "seconds"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    # ranks within each group, the default taking part in every group
    def lstm(r, n):
        return r["mase"][n]["lstm"] if r["mase"][n] is not None else math.nan

    ranks: dict[str, float] = {}
    for group in dict.fromkeys(r["group"] for r in results if r["group"] != "default"):
        members = [r for r in results if r["group"] in (group, "default")]
        per = np.array([[lstm(r, n) for n in names] for r in members])
        from scipy.stats import rankdata

        order = rankdata(np.where(np.isnan(per), np.inf, per), axis=0)  # ties share a rank
        order[np.isnan(per)] = np.nan  # a candidate that does not apply has no rank there
        for r, rk in zip(members, np.nanmean(order, axis=1)):
            if r["group"] == group:
                ranks[r["name"]] = float(rk)
            else:
                ranks.setdefault(f"default/{group}", float(rk))
    for r in results:
        rel = [lstm(r, n) / base[n]["lstm"] for n in names]
        ok = [n for n in names if r["mase"][n] is not None]
        snaive = sum(r["mase"][n]["lstm"] < r["mase"][n]["seasonal_naive"] for n in ok)
        best = sum(r["mase"][n]["lstm"] < min(r["mase"][n][m] for m in backtests.BASELINE_NAMES)
                   for n in ok)
        rank = ranks.get(r["name"])
        if r["group"] == "default":
            rank_s = ", ".join(f"{k.split('/')[1]} {v:.2f}" for k, v in ranks.items() if k.startswith("default/"))
        else:
            rank_s = f"{rank:.2f}" if rank is not None else "-"
        cells = [r["group"], r["name"]] + [f"{v:.3f}" if v == v else "n/a" for v in rel] + [
            f"{math.exp(np.nanmean(np.log(rel))):.3f}", rank_s, f"{snaive}/{len(ok)}",
            f"{best}/{len(ok)}", f"{sum(r['mase'][n]['seconds'] for n in ok):.0f}"]
        lines.append("| " + " | ".join(cells) + " |")
    absolute = ["| dataset | " + " | ".join(["default LSTM", *backtests.BASELINE_NAMES]) + " |",
                "|---|---|---|---|---|"]
    for n in names:
        absolute.append(f"| {n} | " + " | ".join(
            f"{base[n][m]:.3f}" for m in ("lstm", *backtests.BASELINE_NAMES)) + " |")
    return "\n".join(lines) + "\n\nMASE of the shipped defaults and of the baselines:\n\n" + "\n".join(absolute)


def intervals(datasets, folder: Path, folds: int | None) -> str:
    """Coverage and MSIS of the 80% and 95% bands: plain split conformal (absolute
    validation residuals) against residuals scaled by each window's change."""
    rows = {}
    for scale in ("none", "change"):
        for data in datasets:
            r = backtests.run(data, folder, folds=folds, params={"_interval_scale": scale})
            t = r["backtest"].table.set_index("model").loc["lstm"]
            rows.setdefault(data.name, {})[scale] = {
                k: float(t[k]) for k in ("coverage_80", "coverage_95", "MSIS_80", "MSIS_95")}
            print(f"intervals {scale}: {data.name} {rows[data.name][scale]}", file=sys.stderr,
                  flush=True)
    head = ["dataset", "cov 80 plain", "cov 80 scaled", "cov 95 plain", "cov 95 scaled",
            "MSIS 80 plain", "MSIS 80 scaled", "MSIS 95 plain", "MSIS 95 scaled"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, r in rows.items():
        cells = [name]
        for key in ("coverage_80", "coverage_95", "MSIS_80", "MSIS_95"):
            cells += [f"{r['none'][key]:.1f}" if key.startswith("cov") else f"{r['none'][key]:.2f}",
                      f"{r['change'][key]:.1f}" if key.startswith("cov") else f"{r['change'][key]:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    gap = {s: [np.mean([abs(r[s]["coverage_80"] - 80) for r in rows.values()]),
               np.mean([abs(r[s]["coverage_95"] - 95) for r in rows.values()])] for s in ("none", "change")}
    lines.append("")
    lines.append(f"Mean |coverage - nominal|: plain {gap['none'][0]:.1f} (80) / {gap['none'][1]:.1f} (95); "
                 f"scaled {gap['change'][0]:.1f} (80) / {gap['change'][1]:.1f} (95) points.")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--group", nargs="+", choices=list(GROUPS), help="candidate groups to run")
    ap.add_argument("--only", nargs="+", metavar="DATASET", help="datasets to run")
    ap.add_argument("--folds", type=int, help="folds per dataset (default: as in backtests.py)")
    ap.add_argument("--json", metavar="PATH", help="save the raw results here")
    ap.add_argument("--load", metavar="PATH", help="print the table of saved results; run nothing")
    ap.add_argument("--intervals", action="store_true",
                    help="compare interval calibrations instead (folds as in backtests.py)")
    args = ap.parse_args(argv)
    if args.load:
        saved = json.loads(Path(args.load).read_text())
        print(table(saved["results"], saved["datasets"]))
        return 0
    datasets = [d for d in backtests.DATASETS if (not args.only or d.name in args.only)
                and backtests.available(d) is None]
    names = [d.name for d in datasets]
    if args.intervals:
        with tempfile.TemporaryDirectory() as tmp:
            print(intervals(datasets, Path(tmp), None))
        return 0
    results = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for group, name, params in candidates(args.group):
            t0 = time.perf_counter()
            mase = run_candidate(params, datasets, Path(tmp), args.folds)
            results.append({"group": group, "name": name, "params": params, "mase": mase})
            print(f"{name}: " + ", ".join(f"{n} {mase[n]['lstm']:.3f}" if mase[n] else f"{n} n/a"
                                          for n in names)
                  + f" ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
            if args.json:
                Path(args.json).write_text(json.dumps({"datasets": names, "folds": args.folds,
                                                       "results": results}, indent=1))
    print(table(results, names))
    folds = "folds as in backtests.py" if args.folds is None else f"{args.folds} folds each"
    print(f"\n{len(results)} candidates x {len(names)} datasets ({folds}), "
          f"{time.perf_counter() - started:.0f} s in all.")
    return 0


if __name__ == "__main__":
    sys.exit(main())

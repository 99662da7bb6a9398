"""The evidence behind the baseline guard's rule, on one half of ``benchmarks/common/datasets.py``.

For every dataset of the half and every fold of its rolling-origin backtest (the folds
of ``benchmarks/accuracy/evidence.py``), fits the default LSTM with the guard off, and records,
per series and target, the guard's held-out scores (the mean absolute errors of the
network, naive, seasonal naive, drift and the even blend on the validation windows) and
the test MASE each of those five would have scored on the fold. Then every candidate
rule (which of the five a series forecasts with, from its held-out scores alone) is
scored on the test folds, without refitting:

- ``off``: the network always;
- ``argmin``: the lowest held-out error;
- ``margin d``: the lowest held-out error, but away from the network only when it is
  below ``(1 - d)`` times the network's (the network's score is biased low: its epoch
  and shrinkage were picked on the same windows);
- ``blend d``: the blend or the network only, the blend when below ``(1 - d)`` times.

    LSTMCAST_THREADS=1 python -m benchmarks.accuracy.guard --half tuning [--only NAME ...] [--json FILE] [--load FILE]

Rules are compared on the tuning half; the shipped rule (``lstmcast.model.guard``) is the
winner there, fixed before the confirmation half is run: ``argmin`` (geometric mean 0.974
of ``off``; ``benchmarks/results/guard-tuning.md``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import backtests  # noqa: E402  (Data, load, run: the backtest runner)
from benchmarks.common import datasets  # noqa: E402  (the datasets and the split)

CANDIDATES = ("lstm", "naive", "seasonal_naive", "drift", "blend")
RULES = [("off", None), ("argmin", 0.0), ("margin 0.05", 0.05), ("margin 0.1", 0.1), ("margin 0.2", 0.2),
         ("blend 0", ("blend", 0.0)), ("blend 0.05", ("blend", 0.05)), ("blend 0.1", ("blend", 0.1))]


def records(data, folder: Path) -> list[dict]:
    """Per fold, series and target: the five held-out scores and the five test MASEs."""
    from lstmcast.model import baselines, metrics
    from lstmcast.model.backtest import _cut
    from lstmcast.model.forecaster import LSTMForecaster

    ds = backtests.load(data, folder)
    template = LSTMForecaster(guard=False)
    m, _ = template.resolved(ds)
    H, season = m.horizon, m.season
    out = []
    for i in range(data.folds):
        back = H + (data.folds - 1 - i) * H
        hist_ds = _cut(ds, back)
        f = template.clone().fit(hist_ds)
        fc = f.predict(H)
        keys = list(f.history_)
        for key, full in ds.series.items():
            s = keys.index(key)
            n = len(full) - back
            for j, t in enumerate(ds.targets):
                hist = full[t].to_numpy(np.float64)[:n]
                y = full[t].to_numpy(np.float64)[n:n + H]
                scores = f.guard_["scores"][s, j].astype(float)
                if (scores < 0).any():
                    continue
                fcs = {"lstm": fc[key].point[:, j]}
                for name, fn in baselines.BASELINES.items():
                    fcs[name] = fn(hist, H, season)
                best = ("naive", "seasonal_naive", "drift")[int(np.argmin(scores[1:4]))]
                fcs["blend"] = 0.5 * (fcs["lstm"] + fcs[best])
                mase = [metrics.summarize(y, fcs[c], hist, season)["MASE"] for c in CANDIDATES]
                out.append({"fold": i, "series": key, "target": t, "scores": scores.tolist(), "mase": mase})
    return out


def pick(scores: np.ndarray, rule) -> int:
    if rule is None:
        return 0
    if isinstance(rule, tuple):
        return 4 if scores[4] < (1 - rule[1]) * scores[0] else 0
    alt = 1 + int(np.argmin(scores[1:]))
    return alt if scores[alt] < (1 - rule) * scores[0] else 0


def table(results: dict[str, dict]) -> str:
    names = [n for n, _ in RULES]
    lines = ["| dataset | best baseline | " + " | ".join(names) + " |", "|---" * (len(names) + 2) + "|"]
    wins = {n: [0, 0] for n in names}
    logs = {n: [] for n in names}
    for ds, r in results.items():
        if not r["records"]:
            continue
        cells = []
        for name, rule in RULES:
            v = float(np.nanmean([rec["mase"][pick(np.array(rec["scores"]), rule)] for rec in r["records"]]))
            cells.append(v)
            wins[name][0] += v < r["snaive"]
            wins[name][1] += v < r["best"]
            logs[name].append(np.log(v / cells[0]) if cells[0] > 0 else 0.0)
        lines.append(f"| {ds} | {r['best']:.3f} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    n = sum(1 for r in results.values() if r["records"])
    lines.append("| geo. mean vs off | | " + " | ".join(f"{np.exp(np.mean(logs[k])):.3f}" for k in names) + " |")
    lines.append(f"| beats seasonal naive (of {n}) | | " + " | ".join(str(wins[k][0]) for k in names) + " |")
    lines.append(f"| beats best baseline (of {n}) | | " + " | ".join(str(wins[k][1]) for k in names) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--half", choices=["tuning", "confirmation"])
    ap.add_argument("--only", nargs="+")
    ap.add_argument("--json")
    ap.add_argument("--load")
    args = ap.parse_args(argv)
    if args.load:
        results = json.loads(Path(args.load).read_text())["results"]
    else:
        if not args.half:
            ap.error("--half is required unless --load")
        results = {}
        with tempfile.TemporaryDirectory() as tmp:
            for data in datasets.chosen(args.half):
                if args.only and data.name not in args.only:
                    continue
                why = backtests.available(data)
                if why:
                    print(f"note: skipping {data.name}: {why}", file=sys.stderr)
                    continue
                started = time.perf_counter()
                recs = records(data, Path(tmp))
                snaive = float(np.nanmean([r["mase"][2] for r in recs])) if recs else float("nan")
                best = min(float(np.nanmean([r["mase"][k] for r in recs])) for k in (1, 2, 3)) if recs else float("nan")
                results[data.name] = {"records": recs, "snaive": snaive, "best": best}
                print(f"{data.name}: {len(recs)} records, {time.perf_counter() - started:.1f} s", file=sys.stderr,
                      flush=True)
                if args.json:
                    Path(args.json).write_text(json.dumps({"command": " ".join(sys.argv), "results": results}))
    print(table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Ensembles: accuracy gained per second spent, on the tuning half of ``benchmarks/common/datasets.py``.

Compares ``evidence.py`` runs of the same half with ``--ensemble`` 1, 3 and 5 (the
shipped defaults otherwise): per dataset the MASE ratio to one network, and in all the
geometric mean of MASE, the datasets beating seasonal naive and the best simple
baseline, and the backtest seconds (refits included) relative to one network.

    LSTMCAST_THREADS=1 python -m benchmarks.accuracy.evidence --half tuning --no-ets --origins 0 --json one.json
    LSTMCAST_THREADS=1 python -m benchmarks.accuracy.evidence --half tuning --no-ets --origins 0 --params '{"ensemble": 3}' --json three.json
    LSTMCAST_THREADS=1 python -m benchmarks.accuracy.evidence --half tuning --no-ets --origins 0 --params '{"ensemble": 5}' --json five.json
    python -m benchmarks.accuracy.ensemble one.json three.json five.json

Rule for the default, fixed before the runs: the largest ensemble whose geometric-mean
MASE gain over one network is at least 2 % per doubling of the time; else 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", help="evidence.py --json files of the same half, one per ensemble size")
    files = parser.parse_args(argv).runs
    runs = [json.loads(Path(f).read_text()) for f in files]
    names = [str(r["meta"]["params"].get("ensemble", 1)) for r in runs]
    by = [{x["dataset"]: x for x in r["results"]} for r in runs]
    common = [d for d in by[0] if all(d in b for b in by)]
    print("| dataset | " + " | ".join(f"MASE ensemble {n}" for n in names) + " |")
    print("|---" * (len(names) + 1) + "|")
    for d in common:
        print(f"| {d} | " + " | ".join(f"{b[d]['lstm_MASE']:.3f}" for b in by) + " |")
    print()
    print("| ensemble | geo. mean MASE vs 1 | beats seasonal naive | beats best baseline | backtest s | time vs 1 |")
    print("|---|---|---|---|---|---|")
    base_s = sum(by[0][d]["seconds"] for d in common)
    for n, b in zip(names, by):
        ratio = np.exp(np.mean([np.log(b[d]["lstm_MASE"] / by[0][d]["lstm_MASE"]) for d in common]))
        snaive = sum(b[d]["lstm_MASE"] < b[d]["seasonal_naive_MASE"] for d in common)
        best = sum(b[d]["lstm_MASE"] < min(b[d][f"{m}_MASE"] for m in ("naive", "seasonal_naive", "drift"))
                   for d in common)
        secs = sum(b[d]["seconds"] for d in common)
        print(f"| {n} | {ratio:.3f} | {snaive}/{len(common)} | {best}/{len(common)} | {secs:.0f} | {secs / base_s:.2f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

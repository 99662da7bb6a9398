"""What an ensemble costs: one fit with ``--ensemble K`` against one network, same epochs.

Runs the installed ``lstmcast fit`` (a real subprocess each time) on two datasets of
``benchmarks/common/datasets.py``: the daily Seattle weather (hidden 16 by default) and a year
of hourly Seattle temperatures (hidden 32), with ``--epochs E --patience 1000`` so every
K trains the same number of epochs, and prints the median training time ``fit`` reports
(``--json`` "seconds") per K, and K = 5 against K = 1 (the issue's target: below 2.5x).

    env -u OPENBLAS_CORETYPE python -m benchmarks.speed.ensemble_cost [--repeats 3] [--members 1 3 5]

Unset ``OPENBLAS_CORETYPE`` for this command only (see the project brief): the table's
header names the BLAS library and the kernels it chose (threadpoolctl).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.common import backtests  # noqa: E402  (Data, load, run: the backtest runner)
from benchmarks.common import datasets  # noqa: E402  (the datasets and the split)

CASES = (("seattle-weather", 20), ("seattle-temps", 3))  # (dataset, epochs)


def blas() -> str:
    """The BLAS numpy (and so Numba's np.dot) calls, and the kernels it picked."""
    from threadpoolctl import threadpool_info

    import numpy  # noqa: F401  (loads the BLAS)

    infos = [i for i in threadpool_info() if i.get("user_api") == "blas"]
    return "; ".join(f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})" for i in infos) or "?"


def fit_seconds(csv: Path, args: list[str], K: int, epochs: int, model: Path) -> float:
    cmd = ["lstmcast", "fit", str(csv), *args, "--ensemble", str(K), "--epochs", str(epochs),
           "--patience", "1000", "-m", str(model), "--json"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(json.loads(out.stdout)["seconds"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3, help="fits per cell (the median is shown)")
    ap.add_argument("--members", type=int, nargs="+", default=[1, 3, 5])
    args = ap.parse_args(argv)
    by_name = {d.name: d for d in datasets.ALL}
    print(f"BLAS: {blas()}\n")
    print("| data | epochs | " + " | ".join(f"K = {k}" for k in args.members) + " | "
          + f"{args.members[-1]} vs {args.members[0]} |")
    print("|---|---|" + "---|" * (len(args.members) + 1))
    with tempfile.TemporaryDirectory() as tmp:
        for name, epochs in CASES:
            data = by_name[name]
            csv = backtests.materialise(data, Path(tmp))
            fit_seconds(csv, data.args(), 1, 1, Path(tmp) / "warm.lstm")  # compile once
            med = {}
            for K in args.members:
                med[K] = statistics.median(fit_seconds(csv, data.args(), K, epochs, Path(tmp) / "m.lstm")
                                           for _ in range(args.repeats))
            ratio = med[args.members[-1]] / med[args.members[0]]
            print(f"| {name} | {epochs} | " + " | ".join(f"{med[k]:.2f} s" for k in args.members)
                  + f" | {ratio:.1f}x |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

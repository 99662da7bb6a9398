"""What the default costs a user: ``lstmcast fit`` then ``lstmcast forecast``, warm.

Issue #31's cost targets: the default fit + forecast of a monthly series of 200 rows under
2 s warm on 2 cores, and of a year of hourly rows under 15 s. Each case is a real
dataset of ``benchmarks/common/datasets.py`` cut to its last rows (the monthly case: the
first monthly dataset with at least 200 rows; the hourly case: the hourly Seattle
temperatures, last 8,760 rows), written as a CSV the way a user has it, and run through
the installed command as real subprocesses: one run first to compile the kernels (not
counted), then ``--repeats`` runs of each command, wall time from start to exit (Python's
start-up and imports included, as a user waits for them). Prints the medians.

    env -u OPENBLAS_CORETYPE python -m benchmarks.speed.default_cost [--repeats 5]

Unset ``OPENBLAS_CORETYPE`` for this command only (see the project brief): the header
names the BLAS library and the kernels it chose (threadpoolctl).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from benchmarks.common import backtests, datasets
from benchmarks.speed.ensemble_cost import blas

# (case, dataset, rows, horizon, target seconds for fit + forecast)
CASES = (("monthly, 200 rows", None, 200, 12, 2.0),
         ("hourly, one year", "seattle-temps", 8760, 24, 15.0))


def _monthly() -> datasets.Series:
    return next(d for d in datasets.ALL if d.frequency == "monthly" and d.id_col is None
                and len(d.make()) >= 200)


def _timed(cmd: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5, help="runs of each command (the median is shown)")
    args = ap.parse_args(argv)
    by_name = {d.name: d for d in datasets.ALL}
    print(f"BLAS: {blas()}; {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
          f"lstmcast = {subprocess.run(['which', 'lstmcast'], capture_output=True, text=True).stdout.strip()}\n")
    print("| case | dataset | rows | fit (s) | forecast (s) | total (s) | target | met |")
    print("|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for case, name, rows, horizon, target in CASES:
            data = by_name[name] if name else _monthly()
            full = backtests.materialise(data, Path(tmp))
            csv = Path(tmp) / f"{data.name}-{rows}.csv"
            pd.read_csv(full).tail(rows).to_csv(csv, index=False)
            model = Path(tmp) / "m.safetensors"
            fit = ["lstmcast", "fit", str(csv), *data.args(), "-m", str(model), "-q"]
            forecast = ["lstmcast", "forecast", "-m", str(model), "--horizon", str(horizon)]
            _timed(fit), _timed(forecast)  # compile and warm the caches once
            fits = [_timed(fit) for _ in range(args.repeats)]
            fcs = [_timed(forecast) for _ in range(args.repeats)]
            f, c = statistics.median(fits), statistics.median(fcs)
            print(f"| {case} | {data.name} | {rows} | {f:.2f} | {c:.2f} | {f + c:.2f} | {target:.0f} s "
                  f"| {'yes' if f + c <= target else 'no'} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

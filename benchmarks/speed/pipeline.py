"""Benchmark of the data pipeline: read + clean + window a large hourly CSV.

Generates a CSV of ``--rows`` hourly rows (default 1,000,000) with a timestamp and five
numeric columns, with 0.1% of the hours missing and 0.1% of the cells empty, in a
temporary directory.  Then, in a fresh child process per run, times

    load_csv(path, targets=["load"], features=[the other four])   # read + clean
    prepare(dataset, lookback=168, horizon=24, val_fraction=0.2)  # scale + window + split
    windows.take(256 random windows)                              # one training batch

and reports seconds per stage and the child's peak resident memory (ru_maxrss of the
child, which includes the Python interpreter and the imported libraries).

    python -m benchmarks.speed.pipeline [--rows 1000000] [--repeat 3]

Target: under 3 s and under 1 GB for 1,000,000 rows.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

COLUMNS = ["load", "temperature", "humidity", "wind", "price"]


def generate(path: Path, rows: int, seed: int = 0) -> None:
    """Write the benchmark CSV: hourly timestamps, five columns, a few gaps."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    daily = np.sin(2 * np.pi * t / 24)
    data = np.column_stack([
        100 + 20 * daily + rng.normal(0, 3, rows),
        10 + 8 * daily + np.cumsum(rng.normal(0, 0.05, rows)),
        60 + 15 * rng.random(rows),
        np.abs(rng.normal(4, 2, rows)),
        50 + np.cumsum(rng.normal(0, 0.1, rows)),
    ]).round(3)
    frame = pd.DataFrame(data, columns=COLUMNS,
                         index=pd.date_range("2000-01-01", periods=rows, freq="h", name="timestamp"))
    frame = frame[rng.random(rows) >= 0.001]  # missing hours
    cells = rng.random(frame.shape) < 0.001   # empty cells
    cells[[0, -1], :] = False
    frame = frame.mask(cells)
    frame.to_csv(path)


def child(path: str) -> None:
    """One timed run; prints a JSON line with seconds per stage and peak RSS."""
    from lstmcast.data.dataset import load_csv
    from lstmcast.prep.windows import prepare

    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    dataset = load_csv(path, targets=[COLUMNS[0]], features=COLUMNS[1:])
    t1 = time.perf_counter()
    pipe, windows, train_idx, val_idx = prepare(dataset, 168, 24, val_fraction=0.2)
    t2 = time.perf_counter()
    batch = np.random.default_rng(0).choice(train_idx, 256, replace=False)
    x, y = windows.take(batch)
    t3 = time.perf_counter()
    print(json.dumps({
        "read+clean": t1 - t0, "scale+window+split": t2 - t1, "take batch": t3 - t2, "total": t3 - t0,
        "rss_imports_mb": rss_start / 1024,
        "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "windows": len(windows), "notes": dataset.notes,
        "x": list(x.shape), "y": list(y.shape),
    }))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs, each in a fresh process")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--generate", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args.child)
    if args.generate:
        return generate(Path(args.generate), args.rows)
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hourly.csv"
        t = time.perf_counter()
        # in a child too, so that this process stays small and its children's peaks are their own
        subprocess.run([sys.executable, __file__, "--generate", str(path), "--rows", str(args.rows)],
                       env=env, check=True)
        size = path.stat().st_size / 1e6
        print(f"generated {path.name}: {args.rows:,} hours, {size:.1f} MB in {time.perf_counter() - t:.1f} s")
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, __file__, "--child", str(path)], env=env,
                                 check=True, capture_output=True, text=True).stdout
            runs.append(json.loads(out))
    stages = ["read+clean", "scale+window+split", "take batch", "total"]
    print(f"\n{args.rows:,} rows x {len(COLUMNS)} columns, hourly, {size:.0f} MB; lookback 168, horizon 24; "
          f"{runs[0]['windows']:,} windows; {args.repeat} runs")
    print(f"{'stage':<22}{'best s':>10}{'median s':>10}")
    for s in stages:
        values = sorted(r[s] for r in runs)
        print(f"{s:<22}{values[0]:>10.2f}{values[len(values) // 2]:>10.2f}")
    peak = max(r["rss_peak_mb"] for r in runs)
    print(f"{'peak RSS (MB)':<22}{peak:>10.0f}   (of which {runs[0]['rss_imports_mb']:.0f} MB "
          "is Python + numpy + pandas after import)")
    for note in runs[0]["notes"]:
        print(f"note: {note}")


if __name__ == "__main__":
    main()

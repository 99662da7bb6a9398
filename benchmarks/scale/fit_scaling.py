"""How fit scales: seconds per epoch against data size, threads, and peak memory.

    python -m benchmarks.scale.fit_scaling [--rows 10000,30000,100000] [--big 1000000] [--big-seconds S]

Generates hourly series (5 numeric columns, one target) and fits them with default
options and one epoch; the epoch time comes from the model file (training only, not
start-up or CSV loading). Then the largest of them with LSTMCAST_THREADS=1 and 2. Then
a ``--big``-row series fitted for one whole epoch (loading, training, the validation
passes, conformal calibration and writing the model), whose peak resident memory is
measured; ``--big-seconds`` stops it early with SIGTERM (it writes a checkpoint and
exits 143), for a quick look at the training phase only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

EXE = shutil.which("lstmcast", path=str(Path(sys.executable).parent)) or "lstmcast"


def hourly_csv(path: Path, rows: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    t = np.arange(rows)
    daily = np.sin(2 * np.pi * t / 24)
    frame = pd.DataFrame({"timestamp": pd.date_range("2000-01-01", periods=rows, freq="h")})
    frame["load"] = 100 + 10 * daily + np.cumsum(rng.normal(0, 0.3, rows))
    for j in range(4):
        frame[f"sensor{j}"] = rng.normal(0, 1, rows) + daily * j
    frame.to_csv(path, index=False, float_format="%.4f")


def fit_epoch(csv: Path, cwd: Path, threads: int | None = None) -> dict:
    env = dict(os.environ)
    if threads:
        env["LSTMCAST_THREADS"] = str(threads)
    model = cwd / f"m{threads or 0}.safetensors"
    r = subprocess.run([EXE, "fit", str(csv), "--target", "load", "--epochs", "1", "--model", str(model),
                        "--json", "-q"], cwd=cwd, env=env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    info = json.loads(subprocess.run([EXE, "info", str(model), "--json"], capture_output=True,
                                     text=True, check=True).stdout)
    return {"windows": info["training"]["windows"]["train"], "seconds": info["training"]["seconds"],
            "batch": info["options"]["batch_size"], "lookback": info["options"]["lookback"]}


def peak_rss_mb(csv: Path, cwd: Path, seconds: float) -> tuple[float, int]:
    """Run fit in a child of a small wrapper; stop it after ``seconds``; its peak RSS in MB."""
    wrapper = textwrap.dedent(f"""
        import resource, signal, subprocess, sys
        p = subprocess.Popen({[EXE, "fit", str(csv), "--target", "load", "--epochs", "1", "-q",
                               "--model", str(cwd / "big.safetensors")]!r})
        try:
            code = p.wait(timeout={seconds or None})
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGTERM)
            code = p.wait()
        print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)
    """)
    out = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, check=True)
    kb, code = out.stdout.split()
    return int(kb) / 1024, int(code)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="10000,30000,100000")
    ap.add_argument("--big", type=int, default=1_000_000)
    ap.add_argument("--big-seconds", type=float, default=0, help="stop the big fit after this long")
    args = ap.parse_args()
    sizes = [int(v) for v in args.rows.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        print(f"hourly series, 5 numeric columns, target 'load', default options, 1 epoch; "
              f"{os.cpu_count()} cores")
        print()
        print("| rows | training windows | lookback | batch | seconds per epoch | microseconds per window |")
        print("| --- | --- | --- | --- | --- | --- |")
        for rows in sizes:
            csv = tmp / f"h{rows}.csv"
            hourly_csv(csv, rows)
            r = fit_epoch(csv, tmp)
            print(f"| {rows:,} | {r['windows']:,} | {r['lookback']} | {r['batch']} | {r['seconds']:.2f} "
                  f"| {1e6 * r['seconds'] / r['windows']:.0f} |", flush=True)
        print()
        print("| threads | seconds per epoch | speed-up |")
        print("| --- | --- | --- |")
        csv = tmp / f"h{sizes[-1]}.csv"
        one = fit_epoch(csv, tmp, threads=1)["seconds"]
        two = fit_epoch(csv, tmp, threads=2)["seconds"]
        print(f"| 1 | {one:.2f} | 1.00x |")
        print(f"| 2 | {two:.2f} | {one / two:.2f}x |", flush=True)
        if args.big:
            big = tmp / "big.csv"
            hourly_csv(big, args.big)
            mb, code = peak_rss_mb(big, tmp, args.big_seconds)
            print()
            print(f"fit on {args.big:,} hourly rows ({big.stat().st_size / 1e6:.0f} MB CSV): peak resident "
                  f"memory {mb:.0f} MB (target < 2048 MB); "
                  f"{'the whole fit' if code == 0 else f'stopped after {args.big_seconds:.0f} s (exit {code})'}")


if __name__ == "__main__":
    main()

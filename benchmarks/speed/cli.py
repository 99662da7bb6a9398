"""Whole-process times from the shell: start-up, a warm forecast, the first (cold) fit.

    python -m benchmarks.speed.cli [--repeat 7]

Runs the installed ``lstmcast`` command on the bundled weather data in a temporary
directory and prints the median wall time of each command (the cold fit uses an empty
NUMBA_CACHE_DIR, so it includes compiling every kernel; it runs 3 times).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXE = shutil.which("lstmcast", path=str(Path(sys.executable).parent)) or "lstmcast"
DATA = ROOT / "sample_data" / "seattle-weather.csv"
FIT = ["fit", str(DATA), "--target", "temp_max", "-q"]


def timed(args, cwd, env=None, repeat=7):
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        r = subprocess.run([EXE, *args], cwd=cwd, env=env, capture_output=True)
        times.append(time.perf_counter() - started)
        if r.returncode != 0:
            raise SystemExit(f"lstmcast {' '.join(args)} failed: {r.stderr.decode()}")
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([EXE, *FIT], cwd=tmp, check=True, capture_output=True)  # warm cache + model
        rows = [
            ("lstmcast --help", timed(["--help"], tmp, repeat=args.repeat), "< 0.3 s"),
            ("lstmcast --version", timed(["--version"], tmp, repeat=args.repeat), "< 0.3 s"),
            ("lstmcast forecast --horizon 30 (warm)", timed(["forecast", "--horizon", "30"], tmp,
                                                          repeat=args.repeat), "< 1.0 s"),
            ("lstmcast info", timed(["info"], tmp, repeat=args.repeat), ""),
            ("lstmcast fit (warm JIT cache)", timed(FIT, tmp, repeat=3), ""),
        ]
        cold = []
        for _ in range(3):
            cache = tempfile.mkdtemp(dir=tmp)
            cold.append(timed(FIT, tmp, env={**os.environ, "NUMBA_CACHE_DIR": cache}, repeat=1))
        rows.append(("lstmcast fit (cold JIT cache, first run)", statistics.median(cold), "< 15 s"))
    print(f"weather sample ({DATA.name}, 1461 daily rows, --target temp_max); "
          f"{os.cpu_count()} cores; median of {args.repeat} runs (fits: 3)")
    print()
    print("| command | seconds | target |")
    print("| --- | --- | --- |")
    for name, seconds, target in rows:
        print(f"| `{name}` | {seconds:.2f} | {target} |")


if __name__ == "__main__":
    main()

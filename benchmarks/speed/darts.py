"""The same job in lstmcast and in Darts' BlockRNNModel(model="LSTM"): wall time of fit + forecast.

    python -m benchmarks.speed.darts [--epochs 20] [--repeat 3]

Needs ``darts`` (and so torch) importable by this Python; lstmcast never needs them.
Both tools get the weather sample's daily maximum temperature, the same lookback (56),
horizon (14), hidden size (64), one layer, batch size (32), number of epochs (no early
stopping) and the same 80/20 train/validation split, and forecast 14 days. Each side
runs as whole processes, imports and start-up included: ``lstmcast fit`` then
``lstmcast forecast`` as commands, Darts as one Python process. Median of ``--repeat``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXE = shutil.which("lstmcast", path=str(Path(sys.executable).parent)) or "lstmcast"
DATA = ROOT / "sample_data" / "seattle-weather.csv"
LOOKBACK, HORIZON, HIDDEN, BATCH = 56, 14, 64, 32

DARTS = textwrap.dedent("""
    import sys, time
    import pandas as pd
    import torch
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.models import BlockRNNModel
    epochs, lookback, horizon, hidden, batch = map(int, sys.argv[2:7])
    torch.set_num_threads(2)
    df = pd.read_csv(sys.argv[1], parse_dates=["date"])
    series = TimeSeries.from_dataframe(df, "date", "temp_max", freq="D").astype("float32")
    cut = int(len(series) * 0.8)
    scaler = Scaler()
    train = scaler.fit_transform(series[:cut])
    val = scaler.transform(series[cut - lookback:])
    model = BlockRNNModel(model="LSTM", input_chunk_length=lookback, output_chunk_length=horizon,
                          hidden_dim=hidden, n_rnn_layers=1, batch_size=batch, n_epochs=epochs,
                          random_state=0, pl_trainer_kwargs={"accelerator": "cpu",
                          "enable_progress_bar": False, "enable_model_summary": False, "logger": False})
    started = time.perf_counter()
    model.fit(train, val_series=val, verbose=False)
    pred = scaler.inverse_transform(model.predict(horizon, series=scaler.transform(series)))
    print(time.perf_counter() - started, float(pred.values()[0, 0]))
""")


def run_lstmcast(tmp: str, epochs: int) -> float:
    started = time.perf_counter()
    subprocess.run([EXE, "fit", str(DATA), "--target", "temp_max", "--lookback", str(LOOKBACK),
                    "--horizon", str(HORIZON), "--hidden", str(HIDDEN), "--batch-size", str(BATCH),
                    "--epochs", str(epochs), "--patience", str(epochs + 1), "--val-fraction", "0.2",
                    "-q"], cwd=tmp, check=True)
    subprocess.run([EXE, "forecast", "--horizon", str(HORIZON)], cwd=tmp, check=True, capture_output=True)
    return time.perf_counter() - started


def run_darts(tmp: str, epochs: int) -> tuple[float, float]:
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", DARTS, str(DATA), str(epochs), str(LOOKBACK), str(HORIZON),
                          str(HIDDEN), str(BATCH)], cwd=tmp, check=True, capture_output=True, text=True)
    inner = float(out.stdout.split()[0])
    return time.perf_counter() - started, inner


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    try:
        import darts
    except ImportError:
        raise SystemExit("bench_darts.py needs darts: pip install darts") from None
    with tempfile.TemporaryDirectory() as tmp:
        run_lstmcast(tmp, 1)  # make sure the JIT cache is warm, as after any first run
        ours = statistics.median(run_lstmcast(tmp, args.epochs) for _ in range(args.repeat))
        darts_runs = [run_darts(tmp, args.epochs) for _ in range(args.repeat)]
    theirs = statistics.median(r[0] for r in darts_runs)
    theirs_fit = statistics.median(r[1] for r in darts_runs)
    print(f"weather temp_max, lookback {LOOKBACK}, horizon {HORIZON}, hidden {HIDDEN}, batch {BATCH}, "
          f"{args.epochs} epochs; Darts {darts.__version__}; median of {args.repeat}")
    print()
    print("| tool | fit + forecast, whole process (s) | speed-up |")
    print("| --- | --- | --- |")
    print(f"| lstmcast fit + lstmcast forecast | {ours:.1f} | {theirs / ours:.1f}x |")
    print(f"| Darts BlockRNNModel(model=\"LSTM\") | {theirs:.1f} (fit + predict alone {theirs_fit:.1f}) | 1.0x |")


if __name__ == "__main__":
    main()

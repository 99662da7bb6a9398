"""Data-parallel training on Dask against one process: time, accuracy, and what a round
costs in compute and in messages (the basis of the estimate for 8 and 32 workers).

    env -u OPENBLAS_CORETYPE python -m benchmarks.scale.dask_parallel [--series 1000] [--workers 1 2]

Data: benchmarks/scale/many_series.py's synthetic daily series (two years each), fit on all but the
last 28 days with default options, MASE of a 28-day forecast on those days. One process
uses both cores (LSTMCAST_THREADS unset); ``local:N`` runs N single-threaded worker
processes on this machine, so on 2 cores the comparison is about overhead, not speed-up.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from benchmarks.scale.many_series import HOLD, make, mase  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args(argv)

    import tempfile

    from distributed import Client, LocalCluster

    from lstmcast import LSTMForecaster, read_csv
    from lstmcast.cluster.parallel import Rounds

    frame = make(args.series)
    cut = frame.groupby("id").cumcount() < frame.groupby("id")["date"].transform("size") - HOLD
    train, actual = frame[cut], frame[~cut].assign(date=lambda f: f["date"].astype(str))
    folder = Path(tempfile.mkdtemp(prefix="lstmcast-parallel-"))
    train.to_csv(folder / "train.csv", index=False)
    data = read_csv(str(folder / "train.csv"), id_col="id")

    def score(model) -> float:
        fc = model.predict(HOLD).to_frame()
        fc["date"] = fc["date"].dt.strftime("%Y-%m-%d")
        return mase(actual, fc.rename(columns={"sales": "sales"}), train)[0]

    rows = []
    started = time.perf_counter()
    local = LSTMForecaster(seed=0).fit(data)
    rows.append({"run": "one process (2 threads)", "fit s": time.perf_counter() - started,
                 "epochs": local.training_["epochs_run"], "best val loss": local.training_["best_val_loss"],
                 "MASE": score(local), "round KB": None, "round compute s": None})
    for n in args.workers:
        with LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0") as lc, \
                Client(lc) as client:
            made = []

            def parallel(w, m, t, spec, choices):
                made.append(Rounds(client, w, m, t, spec, choices))
                return made[-1]

            started = time.perf_counter()
            model = LSTMForecaster(seed=0).fit(data, parallel=parallel)
            seconds = time.perf_counter() - started
            epochs = model.training_["epochs_run"]
            rows.append({"run": f"Dask local:{n} (single-threaded workers)", "fit s": seconds, "epochs": epochs,
                         "best val loss": model.training_["best_val_loss"], "MASE": score(model),
                         "round KB": made[0].message_bytes * n / 1024,
                         "round compute s": model.training_["seconds"] / max(epochs, 1)})
    table = pd.DataFrame(rows)
    print(f"{args.series} series, {len(train)} rows; peak memory not measured here (see scale.py)\n")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

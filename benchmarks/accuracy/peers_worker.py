"""Peer LSTMs on one dataset's folds: run by ``benchmarks/accuracy/peers.py`` in ANOTHER Python
(one with torch, neuralforecast and optionally darts); lstmcast is not imported here.

    python peers_worker.py TASK_DIR MODEL      # MODEL: nf_lstm | darts_lstm

``TASK_DIR/task.json`` (written by peers.py) names the horizon, lookback and folds; each
fold's history is ``TASK_DIR/<file>.csv`` (one column ``y``, oldest first). The forecasts
and the seconds (fit + predict of every fold, summed; imports and reading excluded) go
to ``TASK_DIR/<MODEL>.json``. JSON and CSV only: nothing is pickled.

Models, at their documented defaults except what the API requires:

- ``nf_lstm``: ``neuralforecast.models.LSTM(h=horizon)`` (``input_size=-1``, which NF turns
  into ``3 * h``; ``max_steps=1000``; ``scaler_type="robust"``; ``random_seed=1``), in
  ``NeuralForecast(freq=1)`` on integer time stamps (the LSTM reads no calendar features, so
  the stamps' kind does not change its forecasts); ``enable_progress_bar=False`` (display only).
- ``darts_lstm``: ``darts.models.BlockRNNModel(model="LSTM", input_chunk_length=lookback,
  output_chunk_length=horizon, random_state=0)`` (``hidden_dim=25``, ``n_rnn_layers=1``,
  ``n_epochs=100``, ``batch_size=32``, no scaling), series as float32 (Darts' advice for
  speed); ``fit(verbose=False)``. The lookback is the one lstmcast's defaults choose for
  the dataset, shortened only if a fold's history is too short for one training sample.

torch runs with one thread (``torch.set_num_threads(1)``).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

# benchmarks/ holds modules (series.py, covariates.py, ...) that would shadow packages the
# peers import (Darts imports ``holidays``): never look for imports next to this file
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _nf(history: np.ndarray, horizon: int, task: dict) -> np.ndarray:
    from neuralforecast import NeuralForecast
    from neuralforecast.models import LSTM

    df = pd.DataFrame({"unique_id": "s", "ds": np.arange(len(history)), "y": history})
    nf = NeuralForecast(models=[LSTM(h=horizon, enable_progress_bar=False)], freq=1)
    nf.fit(df)
    out = nf.predict()
    return out["LSTM"].to_numpy(np.float64)[:horizon]


def _darts(history: np.ndarray, horizon: int, task: dict) -> np.ndarray:
    from darts import TimeSeries
    from darts.models import BlockRNNModel

    lookback = min(task["lookback"], len(history) - horizon)
    ts = TimeSeries.from_values(history.astype(np.float32))
    model = BlockRNNModel(input_chunk_length=lookback, output_chunk_length=horizon, model="LSTM",
                          random_state=0)
    model.fit(ts, verbose=False)
    return model.predict(horizon, verbose=False).values().ravel().astype(np.float64)[:horizon]


def _darts_scaled(history: np.ndarray, horizon: int, task: dict) -> np.ndarray:
    """The same model with the ``Scaler()`` (min-max on the history) that Darts' examples add."""
    from darts import TimeSeries
    from darts.dataprocessing.transformers import Scaler
    from darts.models import BlockRNNModel

    lookback = min(task["lookback"], len(history) - horizon)
    scaler = Scaler()
    ts = scaler.fit_transform(TimeSeries.from_values(history.astype(np.float32)))
    model = BlockRNNModel(input_chunk_length=lookback, output_chunk_length=horizon, model="LSTM",
                          random_state=0)
    model.fit(ts, verbose=False)
    out = scaler.inverse_transform(model.predict(horizon, verbose=False))
    return out.values().ravel().astype(np.float64)[:horizon]


MODELS = {"nf_lstm": _nf, "darts_lstm": _darts, "darts_lstm_scaled": _darts_scaled}


def main(argv: list[str]) -> int:
    where, name = Path(argv[0]), argv[1]
    import torch

    torch.set_num_threads(1)
    warnings.simplefilter("ignore")
    logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
    logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
    os.chdir(where)   # lightning_logs/ and darts_logs/ land in the task folder
    task = json.loads((where / "task.json").read_text())
    fn = MODELS[name]
    forecasts, errors, seconds = [], [], 0.0
    for fold in task["folds"]:
        history = pd.read_csv(where / fold["file"])["y"].to_numpy(np.float64)
        started = time.perf_counter()
        try:
            f = fn(history, task["horizon"], task)
            err = None
        except Exception as e:  # noqa: BLE001 - a failed fit is a failed cell, reported
            traceback.print_exc()
            f, err = np.full(task["horizon"], np.nan), f"{type(e).__name__}: {e}"[:300]
        seconds += time.perf_counter() - started
        forecasts.append([float(v) for v in f])
        errors.append(err)
        print(f"{task['dataset']} {name} fold {fold['fold']}: {time.perf_counter() - started:.1f} s"
              + (f" ({err})" if err else ""), file=sys.stderr, flush=True)
    out = where / f"{name}.json"
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps({"model": name, "seconds": seconds, "forecasts": forecasts,
                               "errors": errors}))
    os.replace(tmp, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

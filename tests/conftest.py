"""Shared builders for the tests: paths to the sample data and fixtures, small CSVs, a way
to change a model file's settings with a valid checksum (as an attacker or a bug could),
and the one definition of how close a number must be to a recording (``assert_close``)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def docs_script(name: str):
    """A script of ``docs/scripts/`` (no package) as a module, without writing a
    ``__pycache__`` into ``docs/``."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location(f"docs_{name}", ROOT / "docs" / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    before, sys.dont_write_bytecode = sys.dont_write_bytecode, True
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = before
    return module
SAMPLES = ROOT / "sample_data"
FIXTURES = ROOT / "tests" / "fixtures"

# ------------------------------------------------------------------ numeric tolerances
# How close a result must be to a number computed elsewhere: a recording (the model-file
# fixtures, PyTorch's outputs and gradients), another engine (onnxruntime, the numpy
# reference), or this code on another CPU, BLAS kernel or thread count. Those change the
# order of summation, never the mathematics, so the error is rounding: about sqrt(n) units
# of roundoff after n operations, grown a little by a recursive forecast feeding its
# outputs back. Unit roundoff is 6.0e-8 in float32 and 1.1e-16 in float64; the networks
# here do a few thousand multiply-adds per output. Measured: a float32 forecast recorded on
# an Intel Xeon differed by 1.3e-9 relative on an AMD EPYC with other BLAS kernels; the
# float32 PyTorch cases agree to ~1e-7, the float64 ones to ~1e-15.
#   float32: 1e-5, about 100 units of roundoff: headroom for a few thousand operations and
#            a 20-step recursive rollout, and still 1,000 times smaller than any change a
#            wrong gate, weight or scale makes (the tests check that such changes fail).
#   float64: 1e-10, the same reasoning with room to spare (float64 runs are the
#            gradient checks and the PyTorch float64 cases).
# The tolerance is relative to the largest value compared (a norm-wise bound): single
# elements near zero carry the rounding of the large ones they were computed from.
TOLERANCE = {np.float32: 1e-5, np.float64: 1e-10}


def tolerance(dtype=np.float32) -> float:
    """The tolerance for results computed in ``dtype`` (see TOLERANCE above)."""
    return TOLERANCE[np.dtype(dtype).type]


def assert_close(got, want, dtype=np.float32, err_msg=""):
    """``got`` equals ``want`` up to the rounding of arithmetic in ``dtype`` done in
    another order: on another CPU, BLAS kernel, thread count or engine."""
    want = np.asarray(want, dtype=np.float64)
    tol = tolerance(dtype)
    scale = float(np.abs(want).max()) if want.size else 0.0
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), want, rtol=tol, atol=tol * scale,
                               err_msg=err_msg)


def assert_same_bits(got, want, err_msg=""):
    """Bit-identical results. Only for two computations on this machine, with the same
    thread count and BLAS kernels (the same process, or a worker process started with the
    same environment): the same operations in the same order give the same bits. Anything
    recorded elsewhere is compared with ``assert_close``."""
    np.testing.assert_array_equal(got, want, err_msg=err_msg)


def daily_frame(n=240, seed=0, start="2021-01-01", period=7):
    """A daily series with a weekly cycle and a little noise, dates as text."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    value = 20 + 5 * np.sin(2 * np.pi * t / period) + rng.normal(0, 0.5, n)
    return pd.DataFrame({"date": pd.date_range(start, periods=n, freq="D").strftime("%Y-%m-%d"),
                         "value": value.round(3)})


def cron_files(folder, n=400, cut=330):
    """A daily series as cron sees it: ``old.csv`` (the first ``cut`` rows, what a model
    was fitted on), ``all.csv`` (with the new rows), ``tail.csv`` (some history, then the
    new rows), ``new_only.csv`` (the new rows alone), ``gap.csv`` (10 new days missing),
    ``shift.csv`` (the new rows 8 higher: a level shift). Returns the whole frame."""
    full = daily_frame(n)
    full.iloc[:cut].to_csv(folder / "old.csv", index=False)
    full.to_csv(folder / "all.csv", index=False)
    full.iloc[cut - 30:].to_csv(folder / "tail.csv", index=False)
    full.iloc[cut:].to_csv(folder / "new_only.csv", index=False)
    full.iloc[cut + 10:].to_csv(folder / "gap.csv", index=False)
    shifted = full.copy()
    shifted.loc[cut:, "value"] += 8
    shifted.to_csv(folder / "shift.csv", index=False)
    return full


def monthly_csv(path, n=120, seed=0, trend=0.0, season_amp=10.0, noise=1.0):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    y = 100 + trend * t + season_amp * np.sin(2 * np.pi * t / 12) + rng.normal(0, noise, n)
    pd.DataFrame({"month": pd.date_range("2000-01-01", periods=n, freq="MS").strftime("%Y-%m"),
                  "value": y.round(4)}).to_csv(path, index=False)
    from lstmcast.data.dataset import load_csv

    return load_csv(str(path))


def walk_csv(path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = 50 + np.cumsum(rng.normal(0, 1, n))
    pd.DataFrame({"date": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                  "value": y.round(4)}).to_csv(path, index=False)
    from lstmcast.data.dataset import load_csv

    return load_csv(str(path))


def sine_windows(n=600, lookback=24, horizon=4, seed=0, period=25):
    """Windows of a noisy sine: x (n, lookback, 1), y (n, horizon), float32, and the series."""
    rng = np.random.default_rng(seed)
    t = np.arange(n + lookback + horizon)
    series = np.sin(2 * np.pi * t / period) + 0.1 * rng.normal(size=t.size)
    idx = np.arange(n)[:, None]
    x = series[idx + np.arange(lookback)][:, :, None].astype(np.float32)
    y = series[idx + lookback + np.arange(horizon)].astype(np.float32)
    return x, y, series


def edit_model_file(path, change) -> None:
    """Apply ``change(doc)`` to a model file's JSON document and write it back with a
    recomputed checksum (a crafted file that passes the container's checks)."""
    from lstmcast.files import store

    arrays, doc = store.load(path)
    change(doc)
    store.save(path, arrays, doc)


@pytest.fixture
def edit_model():
    return edit_model_file


def two_kinds_csv(path, short=0):
    """Long format: ``walk`` (a random walk: the last value is best, alpha near 1) and
    ``noisy`` (a slowly moving level under heavy noise: a small alpha smooths the noise
    away), 400 daily rows each; with ``short``, a third series of that many rows."""
    import pandas as pd

    rng = np.random.default_rng(11)
    dates = pd.date_range("2020-01-01", periods=400, freq="D").strftime("%Y-%m-%d")
    walk = 50 + np.cumsum(rng.normal(0, 1, 400))
    noisy = 50 + np.cumsum(rng.normal(0, 0.05, 400)) + rng.normal(0, 2.0, 400)
    frames = [pd.DataFrame({"id": "walk", "date": dates, "y": walk.round(4)}),
              pd.DataFrame({"id": "noisy", "date": dates, "y": noisy.round(4)})]
    if short:
        frames.append(pd.DataFrame({"id": "short", "date": dates[-short:], "y": walk[-short:].round(4)}))
    pd.concat(frames).to_csv(path, index=False)
    from lstmcast.data.dataset import load_csv

    return load_csv(str(path), id_col="id")

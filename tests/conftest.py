"""Shared builders for the tests: paths to the sample data and fixtures, small CSVs, and
a way to change a model file's settings with a valid checksum (as an attacker or a
bug could)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_data"
FIXTURES = ROOT / "tests" / "fixtures"


def daily_frame(n=240, seed=0, start="2021-01-01", period=7):
    """A daily series with a weekly cycle and a little noise, dates as text."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    value = 20 + 5 * np.sin(2 * np.pi * t / period) + rng.normal(0, 0.5, n)
    return pd.DataFrame({"date": pd.date_range(start, periods=n, freq="D").strftime("%Y-%m-%d"),
                         "value": value.round(3)})


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

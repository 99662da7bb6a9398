"""The Python API: what ``import lstmcast`` offers (the guide's example,
``docs/guide/python-api.md``, runs in ``tests/docs/test_examples.py``)."""

import os
import subprocess
import sys

import pytest

from conftest import ROOT


def test_a_model_saved_from_python_is_used_by_the_command(tmp_path):
    import lstmcast

    data = lstmcast.read_csv(str(ROOT / "sample_data" / "stocks.csv"), id_col="symbol")
    model = lstmcast.LSTMForecaster(hidden=4, epochs=2).fit(data)
    assert model.fit(data) is model  # fit returns self
    model.save(tmp_path / "m.safetensors")
    r = subprocess.run([sys.executable, "-m", "lstmcast", "forecast", "--model", "m.safetensors",
                        "-H", "2", "-f", "json"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    frame = model.predict(2).to_frame()
    import json

    records = json.loads(r.stdout)
    assert [x["symbol"] for x in records] == frame["symbol"].tolist()
    assert [round(x["price"], 6) for x in records] == [round(v, 6) for v in frame["price"]]


def test_importing_the_package_is_cheap():
    code = "import sys, lstmcast; print(sorted(m for m in ('numpy', 'pandas', 'numba') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT)}).stdout
    assert out.strip() == "[]"
    import lstmcast

    assert set(lstmcast.__all__) >= {"LSTMForecaster", "read_csv", "load_model", "Forecast"}


def test_a_backtest_prints_in_a_few_lines():
    """``print(lstmcast.backtest(...))`` once dumped every fold's frames (~300 lines)."""
    import lstmcast

    data = lstmcast.read_csv(str(ROOT / "sample_data" / "seattle-weather.csv"), targets=["temp_max"])
    result = lstmcast.backtest(data, forecaster=lstmcast.LSTMForecaster(hidden=4, epochs=2, seed=1), folds=2)
    text = repr(result)
    assert str(result) == text and len(text.splitlines()) <= 6 and max(map(len, text.splitlines())) < 120
    assert "2 folds of 14 steps" in text and "lstm, naive, seasonal_naive, drift" in text
    assert result.verdict in text and ".table" in text and ".verdict" in text


@pytest.mark.parametrize("zone,tz", [
    ("+02:00", "UTC+02:00"),        # one offset throughout: local wall time, offset kept
    ("Z", "UTC"),
    ("Europe/Berlin", "UTC"),       # daylight saving, two offsets: converted to UTC, as the CLI writes
])
def test_to_frame_keeps_the_inputs_utc_offset_as_the_command_does(tmp_path, zone, tz):
    """``to_frame()`` once gave naive times for data written with a UTC offset, while the
    command's CSV wrote the offset: the same model, two different times."""
    import io

    import lstmcast
    import numpy as np
    import pandas as pd

    times = pd.date_range("2021-03-20", periods=300, freq="h", tz="UTC")
    cells = ([t.tz_convert(zone).isoformat() for t in times] if "/" in zone
             else [t.strftime("%Y-%m-%dT%H:%M:%S") + zone for t in times])
    value = 20 + 5 * np.sin(np.arange(300) * 2 * np.pi / 24)
    pd.DataFrame({"time": cells, "value": value.round(3)}).to_csv(tmp_path / "d.csv", index=False)
    data = lstmcast.read_csv(str(tmp_path / "d.csv"))
    model = lstmcast.LSTMForecaster(hidden=4, epochs=2, seed=1).fit(data)
    got = model.predict(5).to_frame()["time"]
    model.save(tmp_path / "m.safetensors")
    r = subprocess.run([sys.executable, "-m", "lstmcast", "forecast", "--model", "m.safetensors", "-H", "5"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    written = pd.read_csv(io.StringIO(r.stdout))["time"]
    assert str(got.dt.tz) == tz
    assert got.tolist() == pd.to_datetime(written).tolist()
    assert [t.isoformat().replace("+00:00", "Z" if zone == "Z" else "+00:00") for t in got] == written.tolist()

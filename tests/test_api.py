"""The Python API: what ``import lstmcast`` offers (the guide's example,
``docs/guide/python-api.md``, runs in ``tests/docs/test_examples.py``)."""

import os
import subprocess
import sys

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

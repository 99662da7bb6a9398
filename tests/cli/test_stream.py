"""Forecast CSV streamed a chunk of series at a time is byte for byte the whole frame's CSV."""

import numpy as np
import pandas as pd

from lstmcast.cli import output
from lstmcast.model.forecast import Forecast, SeriesForecast


def many(n=1203, h=3):
    rng = np.random.default_rng(0)
    index = pd.date_range("2024-01-01", periods=h, freq="D")
    series = {}
    for i in range(n):
        # the second chunk of 500 is all near zero: zero only next to the other chunks' values
        point = rng.normal(size=(h, 1)) * (1e-14 if 500 <= i < 1000 else 100.0)
        series[f"s{i:05d}"] = SeriesForecast(index, point, {80.0: point - 1}, {80.0: point + 1}, ("lstm",))
    return Forecast(["sales"], [80.0], series, "date", "id")


def test_streamed_csv_is_the_whole_frames_csv(tmp_path):
    fc = many()
    assert len(fc.series) > output.STREAM_SERIES
    output.write_forecast(fc, "csv", str(tmp_path / "streamed.csv"))
    output.write(output.forecast_frame(fc), "csv", str(tmp_path / "whole.csv"))
    streamed = (tmp_path / "streamed.csv").read_bytes()
    assert streamed == (tmp_path / "whole.csv").read_bytes()
    assert streamed.count(b"\n") == 1203 * 3 + 1 and streamed.startswith(b"id,date,sales,")

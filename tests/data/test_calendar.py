"""Trading calendars found in the data: FX weekends and exchange hours are closures, not
gaps; forecasts skip them; a 24/7 series or a short one has none."""

import numpy as np
import pandas as pd

from lstmcast.data import calendar
from lstmcast.data.dataset import future_index, load_csv


def fx_times(weeks=8, freq="h"):
    """FX hours: closed from Friday 22:00 to Sunday 22:00."""
    t = pd.date_range("2023-01-02", periods=weeks * 7 * 24 * (2 if freq == "30min" else 1), freq=freq)
    dow, h = t.day_of_week, t.hour
    return t[~(((dow == 4) & (h >= 22)) | (dow == 5) | ((dow == 6) & (h < 22)))]


def exchange_times(weeks=6):
    """Half-hour bars 09:30-15:30, Monday to Friday."""
    t = pd.date_range("2023-01-02", periods=weeks * 7 * 48, freq="30min")
    minutes = t.hour * 60 + t.minute
    return t[(t.day_of_week < 5) & (minutes >= 570) & (minutes <= 930)]


def test_fx_weekend_is_found_and_described():
    cal = calendar.detect(fx_times().to_numpy(), "h")
    assert cal is not None and len(cal) == 7 * 24 - 48
    text = calendar.describe(cal, "h")
    assert "no rows on Sat" in text and "Fri" in text and "Sun" in text


def test_exchange_hours_are_found():
    cal = calendar.detect(exchange_times().to_numpy(), "30min")
    assert cal is not None and len(cal) == 5 * 13
    assert "no rows on Sat, Sun" in calendar.describe(cal, "30min")


def test_no_calendar_for_round_the_clock_short_or_daily_data():
    assert calendar.detect(pd.date_range("2023-01-01", periods=24 * 60, freq="h").to_numpy(), "h") is None
    assert calendar.detect(fx_times(weeks=2).to_numpy(), "h") is None  # too short to tell
    assert calendar.detect(pd.bdate_range("2023-01-02", periods=200).to_numpy(), "B") is None
    # one missing afternoon is a gap, not a closure
    t = pd.date_range("2023-01-02", periods=24 * 40, freq="h")
    assert calendar.detect(t[(t < "2023-01-10 12:00") | (t > "2023-01-10 16:00")].to_numpy(), "h") is None


def test_future_and_past_timestamps_follow_the_calendar():
    cal = calendar.detect(fx_times().to_numpy(), "h")
    friday = pd.Timestamp("2023-03-03 20:00")
    nxt = future_index(friday, "h", 4, cal)
    assert list(nxt.strftime("%a %H")) == ["Fri 21", "Sun 22", "Sun 23", "Mon 00"]
    back = calendar.past(pd.Timestamp("2023-03-05 23:00"), "h", 4, cal)
    assert list(back.strftime("%a %H")) == ["Fri 20", "Fri 21", "Sun 22", "Sun 23"]


def test_a_file_on_a_calendar_reads_without_gaps(tmp_path):
    t = fx_times()
    rate = 1.08 + np.cumsum(np.random.default_rng(0).normal(0, 5e-4, len(t)))
    pd.DataFrame({"time": t.strftime("%Y-%m-%d %H:%M"), "rate": rate.round(5)}).to_csv(tmp_path / "fx.csv",
                                                                                         index=False)
    ds = load_csv(str(tmp_path / "fx.csv"))
    frame = ds.series[""]
    assert ds.calendar is not None and len(frame) == len(t) and not frame["rate"].isna().any()
    assert any("trading calendar" in n for n in ds.notes)
    assert (frame.index == t).all()

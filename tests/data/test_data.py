"""Tests of lstmcast.data.dataset and lstmcast.data.timeparse: reading, time formats, cleaning, errors."""

from __future__ import annotations

import bz2
import csv
import gzip
import hashlib
import importlib.util
import io
import lzma
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstmcast.data.dataset import check_length, default_fill_limit, future_index, load_csv
from lstmcast.errors import DataError, InputMissingError, UsageError
from lstmcast.data.timeparse import infer_freq


# Every reading test runs twice: with pandas' strings stored by pyarrow (what users with
# pyarrow installed get) and by Python objects (what users without it get).
STORAGES = ["python"] + (["pyarrow"] if importlib.util.find_spec("pyarrow") else [])


@pytest.fixture(autouse=True, params=STORAGES)
def string_storage(request):
    with pd.option_context("mode.string_storage", request.param):
        yield request.param


SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"


def load(text, **options):
    """load_csv on CSV text given through stdin."""
    data = text.encode() if isinstance(text, str) else text
    return load_csv("-", stdin=io.BytesIO(data), **options)


def only(dataset) -> pd.DataFrame:
    assert list(dataset.series) == [""]
    return dataset.series[""]


def csv_text(header, rows):
    return "\n".join([header, *rows]) + "\n"


def daily(n=10, start="2020-01-01", fmt="%Y-%m-%d", freq="D"):
    return [t.strftime(fmt) for t in pd.date_range(start, periods=n, freq=freq)]


# --- time formats ----------------------------------------------------------------------------

@pytest.mark.parametrize("header, stamps, first, freq", [
    ("date", ["2020-01-01", "2020-01-02", "2020-01-03"], "2020-01-01", "D"),
    ("time", ["2020-01-01T00:00:00", "2020-01-01T01:00:00", "2020-01-01T02:00:00"], "2020-01-01 00:00", "h"),
    ("Date", ["2012/01/01", "2012/01/02", "2012/01/03"], "2012-01-01", "D"),
    ("Date", ["2010/01/01 00:00", "2010/01/01 01:00", "2010/01/01 02:00"], "2010-01-01 00:00", "h"),
    ("date", ["Jan 1 2000", "Feb 1 2000", "Mar 1 2000"], "2000-01-01", "MS"),
    ("date", ["Jan-1-1995", "Jan-2-1995", "Jan-3-1995"], "1995-01-01", "D"),
    ("Month", ["1991 Jul", "1991 Aug", "1991 Sep"], "1991-07-01", "MS"),
    ("Quarter", ["1970 Q1", "1970 Q2", "1970 Q3", "1970 Q4"], "1970-01-01", "QS-JAN"),
    ("Month", ["1958-03", "1958-04", "1958-05"], "1958-03-01", "MS"),
    ("Year", ["1700", "1701", "1702"], "1700-01-01", "YS-JAN"),
    ("date", ["19580329", "19580330", "19580331"], "1958-03-29", "D"),
    ("datum", ["31.12.2020", "01.01.2021", "02.01.2021"], "2020-12-31", "D"),
    ("date", ["12/30/2020 1:00 PM", "12/30/2020 2:00 PM", "12/30/2020 3:00 PM"], "2020-12-30 13:00", "h"),
    ("timestamp", ["2020-01-01 00:00:00+01:00", "2020-01-01 01:00:00+01:00", "2020-01-01 02:00:00+01:00"],
     "2020-01-01 00:00", "h"),
    ("week", ["2021-01-03", "2021-01-10", "2021-01-17"], "2021-01-03", "W-SUN"),
    ("date", ["2000-12-31", "2001-12-31", "2002-12-31"], "2000-12-31", "YE-DEC"),
    ("period", ["2000-03-31", "2000-06-30", "2000-09-30"], "2000-03-31", "QE-DEC"),
])
def test_time_formats_are_detected(header, stamps, first, freq):
    ds = load(csv_text(f"{header},value", [f"{s},{i}" for i, s in enumerate(stamps)]))
    frame = only(ds)
    assert ds.date_col == header and ds.freq == freq and frame.index.freqstr == freq
    assert frame.index[0] == pd.Timestamp(first)
    assert len(frame) == len(stamps) and frame.index.name == header
    assert frame["value"].tolist() == [float(i) for i in range(len(stamps))]


def test_several_utc_offsets_are_converted_to_utc_with_a_note():
    stamps = ["2020-03-29T00:00:00+01:00", "2020-03-29T01:00:00+01:00", "2020-03-29T03:00:00+02:00",
              "2020-03-29T04:00:00+02:00"]
    ds = load(csv_text("timestamp,v", [f"{s},1" for s in stamps]))
    assert only(ds).index[0] == pd.Timestamp("2020-03-28 23:00") and ds.freq == "h" and len(only(ds)) == 4
    assert any("UTC" in n for n in ds.notes)


def test_unix_seconds_in_a_timestamp_column():
    ds = load(csv_text("timestamp,v", ["1600000000,1", "1600003600,2", "1600007200,3"]))
    assert only(ds).index[0] == pd.Timestamp("2020-09-13 12:26:40") and ds.freq == "h"


def test_day_month_order_is_taken_from_a_day_above_12():
    ds = load(csv_text("date,v", [f"{d}/01/2020,1" for d in ("10", "11", "12", "13")]))
    assert only(ds).index[-1] == pd.Timestamp("2020-01-13")
    ds = load(csv_text("date,v", [f"01/{d}/2020,1" for d in ("10", "11", "12", "13")]))
    assert only(ds).index[-1] == pd.Timestamp("2020-01-13")


def test_day_month_order_found_beyond_the_sample():
    stamps = daily(400, start="2020-01-01", fmt="%d/%m/%Y")
    ds = load(csv_text("date,v", [f"{s},1" for s in stamps]))
    assert only(ds).index[-1] == pd.Timestamp("2020-01-01") + pd.Timedelta(days=399)


def test_ambiguous_day_month_is_refused_unless_dayfirst():
    text = csv_text("date,v", ["01/02/2020,1", "01/03/2020,2", "01/04/2020,3"])
    with pytest.raises(DataError, match="--dayfirst"):
        load(text)
    assert only(load(text, dayfirst=True)).index[0] == pd.Timestamp("2020-02-01")
    assert only(load(text, dayfirst=False)).index[0] == pd.Timestamp("2020-01-02")


@pytest.mark.parametrize("header", [",value", "value"])
def test_unnamed_index_column_is_the_time_column(header):
    ds = load(csv_text(header, ["2020-01-01,1", "2020-01-02,2", "2020-01-03,3"]))
    assert ds.date_col == "date" and ds.targets == ["value"] and len(only(ds)) == 3


def test_row_numbers_of_r_exports_are_neither_time_nor_target():
    ds = load(csv_text('"","date","x"', ['"1","2020-01-01",1.5', '"2","2020-01-02",2.5', '"3","2020-01-03",3']))
    assert ds.date_col == "date" and ds.targets == ["x"]
    with pytest.raises(DataError, match="no time column found"):
        load(csv_text('"","x"', ['"1",1.5', '"2",2.5']))


def test_time_column_found_by_content_and_year_like_numbers_are_not_time():
    text = csv_text("units,when,v", ["2001,2020-01-01,1", "2002,2020-01-02,2", "2003,2020-01-03,3"])
    ds = load(text, targets=["units"])
    assert ds.date_col == "when" and only(ds)["units"].tolist() == [2001, 2002, 2003]
    with pytest.raises(DataError, match="no time column"):
        load(csv_text("units,v", ["2001,1", "2002,2", "2003,3"]))


def test_date_col_option_and_its_errors():
    text = csv_text("a,b,v", ["2020-01-01,2021-01-01,1", "2020-01-02,2021-01-02,2", "2020-01-03,2021-01-03,3"])
    assert only(load(text, date_col="b")).index[0] == pd.Timestamp("2021-01-01")
    with pytest.raises(DataError, match="no column 'c'"):
        load(text, date_col="c")
    with pytest.raises(DataError, match="not years"):
        load(text, date_col="v")


def test_bad_timestamp_cell_names_line_and_value():
    with pytest.raises(DataError, match=r"<stdin> line 3, column 'date': cannot read \"foo\""):
        load(csv_text("date,v", ["2020-01-01,1", "foo,2", "2020-01-03,3", "2020-01-04,3"]))
    with pytest.raises(DataError, match="line 3, column 'date': no timestamp"):
        load(csv_text("date,v", ["2020-01-01,1", ",2", "2020-01-03,3"]))


# --- reading ---------------------------------------------------------------------------------

TEXT = csv_text("date,v", [f"{s},{i}" for i, s in enumerate(daily(5))])


@pytest.mark.parametrize("name, pack", [
    ("x.csv", lambda b: b),
    ("x.csv.gz", gzip.compress),
    ("x.csv.bz2", bz2.compress),
    ("x.csv.xz", lzma.compress),
    ("x.zip", lambda b: _zip(b)),
])
def test_compressed_files_by_extension(tmp_path, name, pack):
    raw = pack(TEXT.encode())
    (tmp_path / name).write_bytes(raw)
    ds = load_csv(tmp_path / name)
    assert only(ds)["v"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert ds.sha256 == hashlib.sha256(raw).hexdigest() and ds.n_rows == 5
    assert ds.source == str(tmp_path / name)


def _zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("x.csv", data)
    return out.getvalue()


def test_archives_must_hold_one_file(tmp_path):
    with tarfile.open(tmp_path / "x.tar.gz", "w:gz") as t:
        (tmp_path / "x.csv").write_text(TEXT)
        t.add(tmp_path / "x.csv", arcname="x.csv")
    assert len(only(load_csv(tmp_path / "x.tar.gz"))) == 5
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("a.csv", TEXT)
        z.writestr("b.csv", TEXT)
    (tmp_path / "two.zip").write_bytes(out.getvalue())
    with pytest.raises(DataError, match="archive holds 2 files"):
        load_csv(tmp_path / "two.zip")


def test_stdin_defaults_to_the_process_stdin(monkeypatch):
    class Stdin:
        buffer = io.BytesIO(TEXT.encode())
    monkeypatch.setattr("sys.stdin", Stdin)
    assert len(only(load_csv("-"))) == 5


def test_stdin_is_read_once_and_gzip_is_recognised_there():
    stream = io.BytesIO(gzip.compress(TEXT.encode()))
    ds = load_csv("-", stdin=stream)
    assert ds.source == "<stdin>" and len(only(ds)) == 5 and stream.read() == b""


def test_bom_semicolons_and_decimal_comma():
    text = "\ufeffdate;v\n2020-01-01;1,5\n2020-01-02;2,5\n2020-01-03;3\n"
    assert only(load(text, decimal=","))["v"].tolist() == [1.5, 2.5, 3.0]


def test_missing_and_unreadable_inputs(tmp_path):
    with pytest.raises(InputMissingError, match="no such file"):
        load_csv(tmp_path / "nope.csv")
    with pytest.raises(InputMissingError, match="an empty folder"):  # a folder is one series per file
        load_csv(tmp_path)


@pytest.mark.parametrize("data, message", [
    (b"", "is empty"),
    (b"date,v\n", "no data rows"),
    (b"date,v\n2020-01-01,1\n2020-01-02,\xe9\n", r"line 3: not UTF-8"),
    (b"date,v\n2020-01-01,1\n2020-01-02,2,3\n", r"line 3: 3 fields where the header has 2"),
    (gzip.compress(TEXT.encode())[:30], "cannot decompress as gzip"),
])
def test_unreadable_content(data, message):
    with pytest.raises(DataError, match=message):
        load(data)


def test_blank_lines_and_missing_markers():
    text = "date,v\n2020-01-01,1\n\n2020-01-02,.\n2020-01-03,3\n\n"
    ds = load(text)
    assert only(ds)["v"].tolist() == [1.0, 2.0, 3.0] and ds.n_rows == 3
    assert ds.notes == ["<stdin>: filled 1 missing value by interpolation"]


# --- targets and features --------------------------------------------------------------------

def test_only_numeric_column_is_the_target_and_text_is_ignored():
    ds = load(csv_text("date,label,v", ["2020-01-01,rain,1", "2020-01-02,sun,2", "2020-01-03,fog,3"]))
    assert ds.targets == ["v"] and ds.features == [] and list(only(ds).columns) == ["v"]
    assert ds.notes == []


def test_conventional_target_name_is_picked_with_a_note():
    rows = [f"{d},1,2,0.5,{i},100" for i, d in enumerate(daily(3))]
    ds = load(csv_text("Date,Open,High,Low,Close,Volume", rows))
    assert ds.targets == ["Close"] and len(ds.notes) == 1 and "'Close'" in ds.notes[0]


def test_several_numeric_columns_without_a_conventional_name_is_an_error():
    with pytest.raises(DataError, match=r"Numeric columns: 'a', 'b' \(pass --target COLUMN\)"):
        load(csv_text("date,a,b", ["2020-01-01,1,2", "2020-01-02,1,2", "2020-01-03,1,2"]))


def test_targets_features_and_their_errors():
    text = csv_text("date,a,b,c,w", [f"{d},1,{i},3,x" for i, d in enumerate(daily(3))])
    ds = load(text, targets=["B", "a"], features=["c"])
    assert ds.targets == ["b", "a"] and ds.features == ["c"] and list(only(ds).columns) == ["b", "a", "c"]
    assert all(only(ds).dtypes == np.float64)
    with pytest.raises(DataError, match=r"has no column 'z' \(columns: 'date', 'a', 'b', 'c', 'w'\)"):
        load(text, targets=["z"])
    with pytest.raises(DataError, match="line 2, column 'w': holds text"):
        load(text, targets=["w"])
    with pytest.raises(UsageError, match="both a target and a feature"):
        load(text, targets=["a"], features=["a"])
    with pytest.raises(UsageError, match="time column"):
        load(text, targets=["date"])


@pytest.mark.parametrize("cell, options, hint", [
    ('"1,234.5"', {}, "try --thousands ,"),
    ('"1,234"', {}, "try --thousands , or, for a European export, --decimal ,"),
    ('"3,5"', {}, "try --decimal ,"),
    ('"1.234,5"', {}, "try --thousands . --decimal ,"),
    ("$12", {}, "remove currency and percent signs from the column"),
])
def test_unparsable_numbers_say_line_column_value_and_fix(cell, options, hint):
    text = csv_text("date,close", ["2020-01-01,1", f"2020-01-02,{cell}", "2020-01-03,3"])
    value = cell.strip('"')
    with pytest.raises(DataError) as err:
        load(text, **options)
    assert str(err.value) == f'<stdin> line 3, column \'close\': cannot parse "{value}" as a number ({hint})'


def test_thousands_option_reads_the_numbers_and_leaves_dates_alone():
    text = csv_text("date,close", ["2020-01-01,1", '2020-01-02,"1,234.5"', "2020-01-03,3"])
    assert only(load(text, thousands=","))["close"].tolist() == [1.0, 1234.5, 3.0]
    text = "Datum;Wert\n13.01.2020;1.234,5\n14.01.2020;2,5\n15.01.2020;3\n"
    ds = load(text, thousands=".", decimal=",")
    assert only(ds)["Wert"].tolist() == [1234.5, 2.5, 3.0] and only(ds).index[0] == pd.Timestamp("2020-01-13")


def test_infinite_values_are_refused():
    with pytest.raises(DataError, match="line 3, column 'v': infinite"):
        load(csv_text("date,v", ["2020-01-01,1", "2020-01-02,inf", "2020-01-03,3"]))


# --- cleaning --------------------------------------------------------------------------------

def test_unsorted_rows_are_sorted_with_a_note():
    ds = load(csv_text("date,v", ["2020-01-03,3", "2020-01-01,1", "2020-01-02,2"]))
    assert only(ds)["v"].tolist() == [1.0, 2.0, 3.0]
    assert ds.notes == ["<stdin>: rows were not in time order; sorted by 'date'"]


def test_duplicates_are_refused_with_lines_unless_dedupe():
    text = csv_text("date,v", ["2020-01-01,1", "2020-01-02,2", "2020-01-02,4", "2020-01-03,3"])
    with pytest.raises(DataError) as err:
        load(text)
    assert str(err.value) == ("<stdin>: 1 row repeats an earlier timestamp, e.g. 2020-01-02 (lines 3, 4); "
                              "pass --dedupe first, last or mean, or --id-col COLUMN if the file holds "
                              "several series")
    assert only(load(text, dedupe="first"))["v"].tolist() == [1.0, 2.0, 3.0]
    assert only(load(text, dedupe="last"))["v"].tolist() == [1.0, 4.0, 3.0]
    mean = load(text, dedupe="mean")
    assert only(mean)["v"].tolist() == [1.0, 3.0, 3.0] and "merged 1 row" in mean.notes[0]


def test_business_days_with_holidays_are_inferred_and_filled():
    days = pd.bdate_range("2021-11-01", "2022-01-31")
    holidays = {pd.Timestamp("2021-11-25"), pd.Timestamp("2021-12-24"), pd.Timestamp("2022-01-17")}
    rows = [f"{d:%Y-%m-%d},{i}" for i, d in enumerate(days) if d not in holidays]
    ds = load(csv_text("Date,Close", rows))
    frame = only(ds)
    assert ds.freq == "B" and frame.index.equals(days) and not frame.isna().any().any()
    assert frame.loc["2021-11-25", "Close"] == 18.0  # linear between its neighbours, 17 and 19
    assert ds.notes == ["<stdin>: filled 3 missing values by interpolation, 3 missing B periods"]
    assert future_index(frame.index[-1], ds.freq, 2).tolist() == [pd.Timestamp("2022-02-01"),
                                                                 pd.Timestamp("2022-02-02")]


def test_gaps_beyond_the_limit_are_refused_with_the_fix():
    rows = [f"{d},{i}" for i, d in enumerate(daily(30)) if not 5 <= i < 15]
    with pytest.raises(DataError, match=r"10 values missing in a row from 2020-01-06 to 2020-01-15, "
                                        r"more than the fill limit of 7 \(try --fill ffill"):
        load(csv_text("date,v", rows))
    ffilled = only(load(csv_text("date,v", rows), fill="ffill"))
    assert ffilled["v"].iloc[5:15].tolist() == [4.0] * 10 and ffilled.index.freqstr == "D"
    assert len(only(load(csv_text("date,v", rows), fill_limit=10))) == 30
    with pytest.raises(DataError, match="fill limit of 3"):
        load(csv_text("date,v", rows), fill="ffill", fill_limit=3)


def test_fill_error_refuses_missing_periods_and_empty_cells():
    with pytest.raises(DataError, match="no row for 2020-01-03"):
        load(csv_text("date,v", ["2020-01-01,1", "2020-01-02,2", "2020-01-04,4"]), fill="error")
    with pytest.raises(DataError, match="line 3, column 'v': empty cell"):
        load(csv_text("date,v", ["2020-01-01,1", "2020-01-02,", "2020-01-03,4"]), fill="error")


def test_leading_and_trailing_gaps_are_trimmed_not_invented():
    rows = ["2020-01-01,,1", "2020-01-02,2,1", "2020-01-03,,1", "2020-01-04,4,1", "2020-01-05,5,"]
    ds = load(csv_text("date,v,w", rows), targets=["v"], features=["w"])
    frame = only(ds)
    assert frame.index[0] == pd.Timestamp("2020-01-02") and frame.index[-1] == pd.Timestamp("2020-01-04")
    assert frame["v"].tolist() == [2.0, 3.0, 4.0]
    assert "dropped 2 leading or trailing periods" in ds.notes[0]


def test_irregular_timestamps_are_refused_with_a_freq_suggestion():
    stamps = ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-04 07:00", "2020-01-05"]
    with pytest.raises(DataError) as err:
        load(csv_text("date,v", [f"{s},1" for s in stamps]))
    assert str(err.value) == ("<stdin> line 5, column 'date': 2020-01-04 07:00:00 is off the D grid of the "
                              "other rows (pass --freq to average rows per period, e.g. --freq D)")
    stamps = ["2020-01-01", "2020-03-01", "2020-06-01", "2020-08-01"]
    with pytest.raises(DataError, match="column 'date': timestamps are not evenly spaced .* --freq MS"):
        load(csv_text("date,v", [f"{s},1" for s in stamps]))


def test_freq_option_resamples_by_mean_and_bad_alias_is_a_usage_error():
    rows = [f"{d},{i}" for i, d in enumerate(daily(60))]
    ds = load(csv_text("date,v", rows), freq="MS")
    assert ds.freq == "MS" and only(ds)["v"].tolist() == [15.0, 45.0]
    assert "averaging" in ds.notes[0]
    with pytest.raises(UsageError, match="not a pandas frequency"):
        load(csv_text("date,v", rows), freq="fortnightly")
    with pytest.raises(DataError, match="coarser --freq"):
        load(csv_text("date,v", rows), freq="min")


@pytest.mark.parametrize("alias, expected", [("h", 24), ("15min", 96), ("D", 7), ("B", 5), ("W", 3), ("MS", 3)])
def test_default_fill_limit(alias, expected):
    assert default_fill_limit(alias) == expected


@pytest.mark.parametrize("freq", ["h", "30min", "D", "B", "W-WED", "MS", "ME", "QS-FEB", "YS-JAN", "3D"])
def test_infer_freq_tolerates_gaps(freq):
    index = pd.date_range("2001-03-01", periods=40, freq=freq)
    kept = index.delete([3, 10, 11, 25])
    assert infer_freq(kept.to_numpy()) == pd.tseries.frequencies.to_offset(freq).freqstr


# --- samples, long format, length --------------------------------------------------------------

def test_stocks_sample_in_long_format():
    ds = load_csv(SAMPLES / "stocks.csv", id_col="symbol")
    assert ds.freq == "MS" and ds.id_col == "symbol" and ds.targets == ["price"]
    assert list(ds.series) == ["MSFT", "AMZN", "IBM", "GOOG", "AAPL"]
    assert {k: len(f) for k, f in ds.series.items()} == {"MSFT": 123, "AMZN": 123, "IBM": 123,
                                                         "GOOG": 68, "AAPL": 123}
    assert ds.series["GOOG"].index[0] == pd.Timestamp("2004-08-01")
    assert ds.series["MSFT"]["price"].iloc[0] == 39.81 and ds.n_rows == 560


def test_ambiguous_long_format_asks_for_id_col(tmp_path):
    # two text columns could each name the series: no guess, the error names --id-col
    p = tmp_path / "two.csv"
    p.write_text("date,symbol,ticker,price\n2020-01-01,A,x,1\n2020-01-01,B,y,2\n"
                 "2020-01-02,A,x,3\n2020-01-02,B,y,4\n")
    with pytest.raises(DataError, match="--id-col"):
        load_csv(p)


def test_seattle_weather_sample():
    ds = load_csv(SAMPLES / "seattle-weather.csv", targets=["temp_max"], features=["precipitation"])
    frame = only(ds)
    assert ds.freq == "D" and len(frame) == 1461 and frame.index[0] == pd.Timestamp("2012-01-01")
    assert list(frame.columns) == ["temp_max", "precipitation"] and ds.notes == []


def test_empty_series_id_is_refused():
    text = csv_text("id,date,v", ["a,2020-01-01,1", ",2020-01-02,2", "a,2020-01-03,3"])
    with pytest.raises(DataError, match="line 3, column 'id': empty series id"):
        load(text, id_col="id")


def test_check_length_names_the_short_series():
    ds = load_csv(SAMPLES / "stocks.csv", id_col="symbol")
    check_length(ds, 68, "lookback 50 + horizon 12 + validation")
    with pytest.raises(DataError) as err:
        check_length(ds, 75, "lookback 48 + horizon 12 + validation")
    assert str(err.value).startswith(f"{SAMPLES / 'stocks.csv'}: series 'GOOG' has 68 rows; lookback 48 "
                                     "+ horizon 12 + validation needs at least 75")


@pytest.mark.parametrize("last, freq, expected", [
    ("2022-01-07", "B", ["2022-01-10", "2022-01-11"]),
    ("2022-01-01", "MS", ["2022-02-01", "2022-03-01"]),
    ("2022-01-01 23:00", "h", ["2022-01-02 00:00", "2022-01-02 01:00"]),
    ("1970-10-01", "QS-JAN", ["1971-01-01", "1971-04-01"]),
])
def test_future_index_continues_the_frequency(last, freq, expected):
    assert future_index(pd.Timestamp(last), freq, 2).tolist() == [pd.Timestamp(e) for e in expected]


# --- property: any CSV loads or raises DataError ---------------------------------------------------

CELLS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**6, 10**6).map(str),
    st.sampled_from(["", "NA", ".", "-", "1,234.5", "3,5", "nan", "x", "2020-01-01", "1700"]),
    st.text(alphabet="ab1,.;:- \"'Q/\n\r", max_size=6),
)
TIME_FORMATS = ["%Y-%m-%d", "%Y/%m/%d %H:%M", "%b %d %Y", "%d/%m/%Y", "%Y%m%d", "%Y", "%Y-%m",
                "%Y-%m-%dT%H:%M:%S%z"]


def rarely(draw, value, other):
    """``value`` most of the time, else a draw from the strategy ``other``."""
    return draw(other) if draw(st.integers(0, 9)) == 0 else value


@st.composite
def csv_files(draw):
    """Mostly well-formed CSV files with a few of the problems met in the wild."""
    n = draw(st.integers(0, 15))
    time_name = rarely(draw, "date", st.sampled_from(["", "Time", "when", "value"]))
    names = draw(st.lists(st.sampled_from(["value", "x", "Close", "y", "price", "date"]),
                          min_size=1, max_size=3, unique=True))
    names = [rarely(draw, c, st.sampled_from(["", "value"])) for c in names]
    freq = draw(st.sampled_from(["D", "h", "MS", "YS", "B"]))
    fmt = draw(st.sampled_from(TIME_FORMATS))
    stamps = [t.strftime(fmt) for t in pd.date_range("1999-12-30", periods=n, freq=freq, tz="UTC")]
    if draw(st.booleans()):  # drop some rows
        stamps = [s for s in stamps if draw(st.integers(0, 5))]
    if rarely(draw, False, st.just(True)):
        stamps = draw(st.permutations(stamps))
    if stamps and rarely(draw, False, st.just(True)):
        stamps.insert(draw(st.integers(0, len(stamps))), draw(st.sampled_from(stamps)))
    stamps = [rarely(draw, s, CELLS) if draw(st.integers(0, 4)) == 0 else s for s in stamps]
    numeric = st.floats(-1e6, 1e6, allow_nan=False).map(lambda v: f"{v:.3f}")
    rows = [[s] + [rarely(draw, draw(numeric), CELLS) for _ in names] for s in stamps]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([[time_name, *names], *rows])
    target = draw(st.sampled_from([None, names[0]]))
    return out.getvalue().encode(), (None if target in (None, "", time_name) else [target])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(file=csv_files(), fill=st.sampled_from(["interpolate", "ffill", "error"]),
       dedupe=st.sampled_from([None, "first", "mean"]))
def test_any_csv_loads_or_raises_data_error(file, fill, dedupe):
    data, targets = file
    try:
        ds = load(data, fill=fill, dedupe=dedupe, targets=targets)
    except DataError as e:
        assert "\n" not in str(e) and "\r" not in str(e) and str(e).startswith("<stdin>")
        return
    for frame in ds.series.values():
        assert list(frame.columns) == ds.targets + ds.features and len(frame) > 0
        assert (frame.dtypes == np.float64).all() and not frame.isna().to_numpy().any()
        assert frame.index.freqstr == ds.freq and frame.index.is_monotonic_increasing
        assert frame.index.equals(pd.date_range(frame.index[0], periods=len(frame), freq=ds.freq))


def test_long_format_id_column_is_found_without_id_col():
    ds = load_csv(SAMPLES / "stocks.csv")
    assert ds.id_col == "symbol" and sorted(ds.series) == ["AAPL", "AMZN", "GOOG", "IBM", "MSFT"]
    assert any("'symbol' is taken as the series id (5 series" in n for n in ds.notes)


def test_repeated_timestamps_without_an_id_column_are_still_an_error(tmp_path):
    p = tmp_path / "dup.csv"
    p.write_text("date,kind,value\n2020-01-01,a,1\n2020-01-01,a,2\n2020-01-02,a,3\n2020-01-02,b,4\n")
    with pytest.raises(DataError, match="--dedupe"):
        load_csv(str(p))


@pytest.mark.parametrize("alias,canonical", [("d", "D"), ("H", "h"), ("T", "min"), ("15T", "15min"),
                                             ("w-sun", "W-SUN"), ("MS", "MS"), ("A", "YE-DEC")])
def test_deprecated_frequency_spellings_are_read_without_a_warning(alias, canonical):
    """pandas warns (FutureWarning, Pandas4Warning) on old spellings such as --freq d; the
    suite turns warnings into errors, so this fails if one reaches a user."""
    from lstmcast.config import ReadConfig
    from lstmcast.data.timeparse import period

    assert period(alias)[0] == canonical and ReadConfig(freq=alias).freq == canonical


def test_quarters_and_mixed_offsets_parse_without_warnings():
    """On pandas 2 these raised FutureWarnings (downcasting in fillna; mixed time zones)."""
    from lstmcast.data.timeparse import _to_datetime

    quarters = _to_datetime(pd.Series(["1970 Q1", "1970Q2", None]), "quarter")
    assert quarters.iloc[1] == pd.Timestamp("1970-04-01") and pd.isna(quarters.iloc[2])
    mixed = _to_datetime(pd.Series(["2020-01-01T00:00:00+01:00", "2020-01-01T02:00:00+03:00"]), "ISO8601")
    assert str(mixed.dt.tz) == "UTC" and mixed.iloc[0] == mixed.iloc[1]


def test_the_single_series_is_only_and_several_series_go_by_id(tmp_path):
    one = tmp_path / "one.csv"
    one.write_text("date,y\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in range(1, 21)))
    data = load_csv(str(one))
    assert data.only is data.series[""]
    many = tmp_path / "many.csv"
    many.write_text("date,id,y\n" + "".join(f"2024-01-{d:02d},{k},{d}\n" for k in "abcd" for d in range(1, 21)))
    data = load_csv(str(many))
    assert data.series["b"]["y"].iloc[-1] == 20
    with pytest.raises(UsageError, match=r"the data holds 4 series \('a', 'b', 'c', \.\.\.\): .*data.series\['a'\]"):
        data.only

"""Covariates as numbers: text columns encoded as binary or one-hot inputs (missing cells,
unseen values, stored mappings checked), and public holidays from the holidays package
(daily, hourly and coarser data, subdivisions, distance, bad --holidays values)."""

import json
import time
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from lstmcast.data.covariates import (
    MAX_CATEGORIES,
    apply_encoding,
    check_mapping,
    encoded_names,
    fit_encoding,
    holiday_codes,
    holiday_features,
)
from lstmcast.errors import DataError, UsageError

nan = np.nan


def encode(train, later=None):
    mapping = fit_encoding(pd.Series(train, dtype=object), "weather", "f.csv")
    return mapping, apply_encoding(pd.Series(train if later is None else later, dtype=object), mapping, "f.csv")


# --- text columns -------------------------------------------------------------------------

@pytest.mark.parametrize("pair, zero", [
    (["No", "Yes"], "No"), (["yes", "NO"], "NO"), (["YES", "no"], "no"), (["ON", "off"], "off"),
    (["TRUE", "false"], "false"), (["y", "N"], "N"), (["T", "f"], "f"),
])
def test_a_false_true_pair_encodes_false_as_0_whatever_the_case(pair, zero):
    cells = [pair[0], pair[1], pair[1], pair[0]]
    mapping, (x, notes) = encode(cells)
    assert mapping["kind"] == "binary" and mapping["values"][0] == zero
    assert x[:, 0].tolist() == [float(c != zero) for c in cells] and notes == []
    assert encoded_names(mapping) == ["weather"]


def test_other_pairs_are_sorted_first_is_0():
    mapping, (x, _) = encode(["Male", "Female", "Male"])
    assert mapping == {"column": "weather", "kind": "binary", "values": ["Female", "Male"]}
    assert x.ravel().tolist() == [1.0, 0.0, 1.0]
    mapping, _ = encode(["yes", "maybe"])  # not a false/true pair
    assert mapping["values"] == ["maybe", "yes"]


def test_a_bool_column_is_binary():
    mapping = fit_encoding(pd.Series([True, False, True]), "open", "f.csv")
    assert mapping["values"] == ["False", "True"]
    x, _ = apply_encoding(pd.Series([False, True]), mapping, "f.csv")
    assert x.ravel().tolist() == [0.0, 1.0]


def test_three_or_more_values_are_one_hot_in_sorted_order():
    mapping, (x, notes) = encode(["Rain", "Clear", "Mist", " Rain ", "Clear"])
    assert mapping == {"column": "weather", "kind": "onehot", "values": ["Clear", "Mist", "Rain"]}
    assert encoded_names(mapping) == ["weather=Clear", "weather=Mist", "weather=Rain"]
    assert x.tolist() == [[0, 0, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 0, 0]]
    assert x.dtype == np.float64 and notes == []


def test_missing_and_empty_cells_are_nan_rows():
    mapping, (x, _) = encode(["Rain", None, "Clear", "", "Mist", "   ", nan])
    assert mapping["values"] == ["Clear", "Mist", "Rain"]
    assert np.isnan(x[[1, 3, 5, 6]]).all() and not np.isnan(x[[0, 2, 4]]).any()
    mapping, (x, _) = encode(["No", None, "Yes", ""])
    assert mapping["values"] == ["No", "Yes"]
    assert x[:, 0].tolist()[::2] == [0.0, 1.0] and np.isnan(x[[1, 3], 0]).all()


def test_numeric_columns_are_numbers():
    assert fit_encoding(pd.Series(["1", "0", None]), "open", "f.csv")["kind"] == "number"  # 0/1 text
    mapping = fit_encoding(pd.Series([1.5, 2.0, nan]), "temp", "f.csv")
    assert mapping == {"column": "temp", "kind": "number"} and encoded_names(mapping) == ["temp"]
    x, notes = apply_encoding(pd.Series([1.5, nan, 3.0]), mapping, "f.csv")
    assert x.shape == (3, 1) and x[[0, 2], 0].tolist() == [1.5, 3.0] and np.isnan(x[1, 0]) and notes == []
    dirty = pd.Series(["1,234.5", "2,000", None])
    mapping = fit_encoding(dirty, "sales", "f.csv")
    assert mapping["kind"] == "number"
    x, _ = apply_encoding(dirty, mapping, "f.csv", thousands=",")
    assert x[:2, 0].tolist() == [1234.5, 2000.0]
    with pytest.raises(DataError, match="line 2, column 'sales'.*--thousands ,"):
        apply_encoding(dirty, mapping, "f.csv")


def test_a_constant_or_empty_text_column_is_refused():
    with pytest.raises(DataError, match=r"column 'weather' has one value \"Rain\" everywhere"):
        encode(["Rain", "Rain", None, " Rain"])
    with pytest.raises(DataError, match="column 'weather' is empty"):
        encode([None, "", " "])


def test_too_many_categories_is_refused_naming_the_column_and_the_count():
    cities = [f"city{i:02d}" for i in range(MAX_CATEGORIES + 1)]
    with pytest.raises(DataError, match=r"f.csv: column 'weather' has 13 distinct text values "
                                        r"\(\"city00\", \"city01\".*drop it"):
        encode(cities)
    mapping, (x, _) = encode(cities[:MAX_CATEGORIES])
    assert mapping["kind"] == "onehot" and x.shape == (12, 12) and (x.sum(axis=1) == 1).all()


def test_an_unseen_one_hot_value_is_all_zeros_with_one_note_per_column():
    later = pd.Series(["Snow", "Rain", "Hail", "Snow", None], index=pd.date_range("2024-01-02", periods=5))
    mapping = fit_encoding(pd.Series(["Rain", "Clear", "Mist"]), "weather", "f.csv")
    x, notes = apply_encoding(later, mapping, "f.csv")
    assert x[[0, 2, 3]].tolist() == [[0, 0, 0]] * 3 and x[1].tolist() == [0, 0, 1] and np.isnan(x[4]).all()
    assert len(notes) == 1 and "\n" not in notes[0]
    assert notes[0].startswith("f.csv: column 'weather': ")
    assert '"Snow"' in notes[0] and '"Hail"' in notes[0] and "2024-01-02" in notes[0]
    assert "not in the training data" in notes[0] and "none of the known values" in notes[0]


def test_an_unseen_binary_value_is_one_half():
    _, (x, notes) = encode(["No", "Yes"], ["Yes", "Maybe", "No"])
    assert x.ravel().tolist() == [1.0, 0.5, 0.0]
    assert len(notes) == 1 and '"Maybe"' in notes[0] and "0.5" in notes[0] and "1 row" in notes[0]


def test_a_mapping_survives_json_and_check():
    for cells in (["No", "Yes"], ["Rain", "Clear", "Mist"], [1.0, 2.0]):
        mapping = fit_encoding(pd.Series(cells), "weather", "f.csv")
        back = check_mapping(json.loads(json.dumps(mapping)))
        assert back == mapping
        a, _ = apply_encoding(pd.Series(cells), mapping, "f.csv")
        b, _ = apply_encoding(pd.Series(cells), back, "f.csv")
        assert np.array_equal(a, b)


@pytest.mark.parametrize("damaged", [
    None, [], "binary", {"column": "w", "kind": "ordinal", "values": ["a", "b"]},
    {"column": "w", "kind": "binary"}, {"kind": "binary", "values": ["a", "b"]},
    {"column": "", "kind": "number"}, {"column": 3, "kind": "number"},
    {"column": "w", "kind": "binary", "values": "ab"}, {"column": "w", "kind": "binary", "values": ["a", "a"]},
    {"column": "w", "kind": "binary", "values": ["a", 1]}, {"column": "w", "kind": "binary", "values": ["a", ""]},
    {"column": "w", "kind": "binary", "values": ["a", " b"]},
    {"column": "w", "kind": "binary", "values": ["a", "b", "c"]},
    {"column": "w", "kind": "onehot", "values": ["a", "b"]},
    {"column": "w", "kind": "onehot", "values": [f"v{i}" for i in range(13)]},
    {"column": "w", "kind": "number", "values": ["a", "b"]},
    {"column": "w", "kind": "binary", "values": ["a", "b"], "extra": 1},
])
def test_a_damaged_mapping_is_a_value_error(damaged):
    with pytest.raises(ValueError, match=r"\S"):
        check_mapping(damaged)


# --- holidays -----------------------------------------------------------------------------

def days(start, end, freq="D"):
    return pd.date_range(start, end, freq=freq)


def at(index, column, when):
    return column[index.get_loc(pd.Timestamp(when))]


def test_us_public_holidays_on_daily_data():
    pytest.importorskip("holidays")
    index = days("2024-01-01", "2024-12-31")
    x, names = holiday_features(index, "D", "US")
    assert names == ["holiday"] and x.shape == (366, 1) and x.dtype == np.float64
    for day in ("2024-01-01", "2024-07-04", "2024-11-28", "2024-12-25"):
        assert at(index, x[:, 0], day) == 1.0
    for day in ("2024-07-05", "2024-07-03", "2024-12-24", "2024-03-31"):
        assert at(index, x[:, 0], day) == 0.0
    assert set(np.unique(x)) == {0.0, 1.0}


def test_every_hour_of_a_holiday_is_a_holiday():
    pytest.importorskip("holidays")
    index = days("2024-07-03", "2024-07-05 23:00", "h")
    x, _ = holiday_features(index, "h", "US")
    assert x[:, 0].tolist() == [0.0] * 24 + [1.0] * 24 + [0.0] * 24


def direct_counts(code, starts, ends):
    """Holidays in [start, end) for each pair, counted with the holidays package itself."""
    import holidays

    found = holidays.country_holidays(code, years=range(2023, 2027))
    return [sum(s <= d < e for d in found) for s, e in zip(starts, ends)]


def test_monthly_rows_count_the_holidays_of_their_month():
    pytest.importorskip("holidays")
    starts = pd.date_range("2024-01-01", periods=12, freq="MS")
    x, _ = holiday_features(starts, "MS", "US")
    expected = direct_counts("US", starts.date, (starts + pd.offsets.MonthBegin()).date)
    assert x[:, 0].tolist() == expected
    assert x[6, 0] == 1 and x[0, 0] == 2 and sum(expected) >= 11  # July 4; New Year's Day and MLK Day
    ends = pd.date_range("2024-01-31", periods=12, freq="ME")  # month-end labels: the same months
    assert holiday_features(ends, "ME", "US")[0][:, 0].tolist() == expected


def test_weekly_and_quarterly_rows_count_their_period():
    pytest.importorskip("holidays")
    weeks = pd.date_range("2024-06-03", periods=40, freq="W-MON")
    x, _ = holiday_features(weeks, "W-MON", "DE")
    assert x[:, 0].tolist() == direct_counts("DE", weeks.date, (weeks + pd.Timedelta(days=7)).date)
    quarters = pd.date_range("2024-01-01", periods=4, freq="QS")
    x, _ = holiday_features(quarters, "QS", "GB")
    ends = [date(2024, 4, 1), date(2024, 7, 1), date(2024, 10, 1), date(2025, 1, 1)]
    assert x[:, 0].tolist() == direct_counts("GB", quarters.date, ends)


def test_a_subdivision_adds_its_own_holidays():
    pytest.importorskip("holidays")
    index = days("2024-03-30", "2024-04-02")
    # Cesar Chavez Day, a California state holiday: Sunday 31 March 2024, observed Monday 1 April
    assert holiday_features(index, "D", "US-CA")[0][:, 0].tolist() == [0, 1, 1, 0]
    assert holiday_features(index, "D", "US")[0][:, 0].tolist() == [0, 0, 0, 0]
    assert holiday_codes("us-ca") == ("US", "CA")
    assert holiday_codes(" GB-sct ") == ("GB", "SCT") and holiday_codes("DE") == ("DE", None)
    jan2 = days("2024-01-02", "2024-01-02")  # a bank holiday in Scotland, not in England
    assert holiday_features(jan2, "D", "GB-SCT")[0][0, 0] == 1
    assert holiday_features(jan2, "D", "GB-ENG")[0][0, 0] == 0


def test_distance_to_the_nearest_holiday_in_days_over_7():
    pytest.importorskip("holidays")
    index = days("2024-06-20", "2024-12-31")
    x, names = holiday_features(index, "D", "US", distance=True)
    assert names == ["holiday", "holiday_distance"] and x.shape == (len(index), 2)
    # Juneteenth (19 June), Independence Day (4 July), Labor Day (2 September),
    # Christmas (25 December), New Year's Day 2025 (after the last row)
    expected = {"2024-06-20": 1, "2024-06-26": 7, "2024-07-01": 3, "2024-07-04": 0, "2024-07-05": 1,
                "2024-07-10": 6, "2024-07-20": 7, "2024-08-30": 3, "2024-12-28": 3, "2024-12-31": 1}
    for day, gap in expected.items():
        assert at(index, x[:, 1], day) == pytest.approx(gap / 7), day
    assert x[:, 1].min() == 0 and x[:, 1].max() == 1


def test_fast_for_a_year_of_hours_and_ten_years_of_days():
    pytest.importorskip("holidays")
    hours = days("2023-01-01", "2023-12-31 23:00", "h")
    daily = days("2014-01-01", "2023-12-31")
    began = time.perf_counter()
    x, _ = holiday_features(hours, "h", "FR", distance=True)
    y, _ = holiday_features(daily, "D", "FR-Zone A", distance=True)
    assert time.perf_counter() - began < 0.5
    assert x[:, 0].sum() == 24 * 11 and len(y) == len(daily)  # France: 11 public holidays in 2023


def test_future_years_and_the_package_range():
    pytest.importorskip("holidays")
    index = days("2095-08-10", "2095-08-20")
    assert at(index, holiday_features(index, "D", "IN")[0][:, 0], "2095-08-15") == 1  # no warning either
    assert at(index, holiday_features(index, "D", "US")[0][:, 0], "2095-08-15") == 0
    with pytest.raises(DataError, match=r"--holidays 'US'.*1\d{3}-2100 only.*2100-12-28 to 2101-01-03"):
        holiday_features(days("2100-12-28", "2101-01-03"), "D", "US")
    with pytest.raises(DataError, match=r"--holidays 'LK'.*2003-20\d\d only"):
        holiday_features(days("2024-01-01", "2120-01-01", "YS"), "YS", "LK")


def test_bad_holidays_values_are_usage_errors_naming_the_flag():
    pytest.importorskip("holidays")
    with pytest.raises(UsageError, match=r"--holidays 'XX': not a country code .*e\.g\. US"):
        holiday_codes("XX")
    with pytest.raises(UsageError, match=r"--holidays 'US-ZZ': 'ZZ' is not a subdivision of US.*US-AK"):
        holiday_features(days("2024-01-01", "2024-01-02"), "D", "US-ZZ")
    with pytest.raises(UsageError, match="--holidays ''"):
        holiday_codes("")


def test_empty_index_gives_empty_features():
    pytest.importorskip("holidays")
    x, names = holiday_features(pd.DatetimeIndex([]), "D", "US", distance=True)
    assert x.shape == (0, 2) and names == ["holiday", "holiday_distance"]


def test_direct_counts_reference_is_sane():
    pytest.importorskip("holidays")
    july = [date(2024, 7, 1) + timedelta(days=i) for i in range(31)]
    assert direct_counts("US", july, [d + timedelta(days=1) for d in july]) == [int(d.day == 4) for d in july]

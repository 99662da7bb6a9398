"""Time: finding the time column of a CSV, parsing it, and inferring its frequency.

Owns the rules that decide which column holds the timestamps and in which format:

* a column named like date/time/timestamp/datetime/month/year/quarter/period/day/week/ds
  (any word of the name, so ``observation_date`` and ``Date Time`` count), else the
  unnamed first column (an index written by pandas or R), else the first text column
  whose values parse as dates.  A column of integers is a time column only when its name
  says so or it is the unnamed first column, and only if its values are 4-digit years,
  ``YYYYMMDD``, ``YYYYMM``, or (when named like time/timestamp/epoch/unix) Unix seconds
  or milliseconds; a numeric value column is never mistaken for time otherwise.
* the format is detected once on a sample (ISO 8601 with or without time or UTC offset,
  ``2012/01/01``, ``Jan 1 2000``, ``Jan-1-1995``, ``1991 Jul``, ``1970 Q1``, ``1958-03``,
  ``1700``, ``19580329``, ``31.12.2020``, ``12/31/2020 13:00`` ...) and then applied to the
  whole column at once.  Day/month order is taken from the data when a day exceeds 12,
  else refused unless ``dayfirst`` is given.
* UTC offsets: one offset throughout is dropped (local wall time is kept); several
  offsets (daylight saving) are converted to UTC, with a note.

It also infers pandas frequency aliases from timestamps that may have gaps ("B" for
business days with holidays, "MS", "QS-JAN", "YS-JAN", "W-SUN", "h", "15min" ...).
Imports numpy, pandas and lstmcast (errors, csvfile) only; nothing here prints.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from lstmcast.data.csvfile import listed, shown
from lstmcast.errors import DataError
from lstmcast.frequencies import to_offset

_TIME_WORDS = {"date", "time", "timestamp", "datetime", "month", "year", "quarter", "period",
               "day", "week", "ds", "dt", "datum", "epoch", "unix", "yyyymmdd", "yearmonth"}
_DAY_MONTH = [("%d/%m/%Y", "%m/%d/%Y"), ("%d-%m-%Y", "%m-%d-%Y"), ("%d.%m.%Y", "%m.%d.%Y"),
              ("%d/%m/%y", "%m/%d/%y"), ("%d-%m-%y", "%m-%d-%y"), ("%d.%m.%y", "%m.%d.%y")]
_OTHER = ["%Y.%m.%d", "%b %d %Y", "%b %d, %Y", "%b-%d-%Y", "%B %d %Y", "%B %d, %Y",
          "%d %b %Y", "%d-%b-%Y", "%d %B %Y", "%d-%b-%y", "%d %b %y", "%a %b %d %Y",
          "%Y %b", "%Y-%b", "%Y %B", "%b %Y", "%b-%Y", "%B %Y", "%b-%y", "%b %y",
          "%m/%Y", "%m-%Y", "%m.%Y", "%Y%m"]
_TIMES = ["%H:%M", "%H:%M:%S", "%H:%M:%S.%f", "%I:%M %p", "%I:%M:%S %p"]
_QUARTER = (r"\s*(?:(?P<y1>\d{4})\s*[-/ ]?\s*[Qq](?P<q1>[1-4])"  # 1970 Q1, 1970-Q1, 1970Q1
            r"|[Qq](?P<q2>[1-4])\s*[-/ ]?\s*(?P<y2>\d{4}))\s*")  # Q1 1970
_MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAYS = ["MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"]


def fmt_time(t) -> str:
    """A timestamp for messages: the date alone when it is midnight."""
    t = pd.Timestamp(t)
    return str(t.date()) if t == t.normalize() else str(t)


def _timey(name: str) -> bool:
    words = re.findall(r"[a-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", name).lower())
    return any(w in _TIME_WORDS for w in words)


# --- finding and parsing the time column --------------------------------------------------

def time_column(df: pd.DataFrame, date_col: str | None, id_col: str | None, label: str,
                dayfirst: bool | None) -> tuple[str, np.ndarray, list[str]]:
    """(name, datetime64 values with NaT where empty, notes) of the time column."""
    if date_col is not None:
        return (date_col, *_parse(df[date_col], date_col, label, dayfirst, True, True))
    cols = [c for c in df.columns if c != id_col]
    named = [c for c in cols if _timey(c) or (c == cols[0] and c.startswith("Unnamed: "))]
    text = [c for c in cols if c not in named
            and not pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    for c in named + text:
        parsed = _parse(df[c], c, label, dayfirst, c in named, False)
        if parsed is not None:
            return (c, *parsed)
    for c in named:  # say why the column that should have been the time column is not
        if _timey(c):
            _parse(df[c], c, label, dayfirst, True, True)
    raise DataError(f"{label}: no time column found: no column is named like a date and none holds "
                    f"dates (columns: {listed(df.columns)}); pass --date-col COLUMN")


def _parse(s: pd.Series, name: str, label: str, dayfirst, named: bool, strict: bool):
    """Parse a column as timestamps: (values, notes), or None when it is not one (strict=False).

    A ``named`` column (named like a date, or the unnamed first column) may hold numbers,
    and is taken as the time column when most of its cells parse: the others are reported.
    """
    where = f"{label}, column {name!r}"
    if s.notna().sum() == 0:
        if strict:
            raise DataError(f"{where}: the column is empty (choose the time column with --date-col)")
        return None
    notes: list[str] = []
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        how = _number_format(s, name) if named else None
        if how is None:
            if strict:
                raise DataError(f"{where}: numbers such as {s.dropna().iloc[0]} are not years, YYYYMMDD "
                                "dates or Unix times (choose the time column with --date-col)")
            return None
        parsed = _from_numbers(s.to_numpy(dtype=np.float64, na_value=np.nan), how)
        if how in ("s", "ms"):
            unit = "seconds" if how == "s" else "milliseconds"
            notes.append(f"read {name!r} as Unix time in {unit} (UTC)")
        return _checked(parsed, s, "a year, YYYYMMDD or Unix time", label, name), notes
    text = s if pd.api.types.is_string_dtype(s) else s.astype("str")
    fmt = _detect(text, dayfirst, partial=named)
    if fmt is None:
        if strict:
            raise DataError(f"{where}: cannot read {shown(text.dropna().iloc[0])} as a date or time "
                            "(choose the time column with --date-col, or write the dates as YYYY-MM-DD)")
        return None
    if fmt == "ambiguous":
        raise DataError(f"{where}: dates such as {shown(text.dropna().iloc[0])} could be day/month or "
                        "month/day and no day is above 12 (pass --dayfirst or --no-dayfirst)")
    parsed = _to_datetime(text, fmt)
    if isinstance(parsed.dtype, pd.DatetimeTZDtype):
        if str(parsed.dt.tz) == "UTC" and not text.dropna().str.contains(r"(?:Z|[+-]00:?00)$").all():
            notes.append(f"column {name!r} has several UTC offsets; times were converted to UTC")
        parsed = parsed.dt.tz_localize(None)
    return _checked(parsed, s, f"a time like {shown(text.dropna().iloc[0])}", label, name), notes


def _checked(parsed: pd.Series, original: pd.Series, like: str, label: str, name: str) -> np.ndarray:
    """The parsed values; a DataError for the first cell that is not empty but did not parse."""
    nat = parsed.isna().to_numpy()
    if nat.any():
        filled = original.notna().to_numpy() & (original.astype("str") != "").to_numpy()
        bad = np.flatnonzero(nat & filled)
        if len(bad):
            i = int(bad[0])
            raise DataError(f"{label} line {i + 2}, column {name!r}: cannot read "
                            f"{shown(original.iloc[i])} as {like} (fix the cell or delete the row)")
    return parsed.to_numpy()


def _number_format(s: pd.Series, name: str) -> str | None:
    """How a column of whole numbers encodes time: "%Y", "%Y%m%d", "%Y%m", "s", "ms" or None."""
    v = s.dropna().to_numpy(dtype=np.float64)
    if not np.all(v == np.round(v)):
        return None
    lo, hi = v.min(), v.max()
    if 1000 <= lo and hi <= 2999:
        return "%Y"
    if 10000101 <= lo and hi <= 29991231:
        return "%Y%m%d"
    if 100001 <= lo and hi <= 299912:
        return "%Y%m"
    if re.search(r"time|stamp|epoch|unix", name, re.I):
        if 1e8 <= lo and hi < 1e10:
            return "s"
        if 1e11 <= lo and hi < 1e13:
            return "ms"
    return None


def _from_numbers(v: np.ndarray, how: str) -> pd.Series:
    if how in ("s", "ms"):
        return pd.Series(pd.to_datetime(v, unit=how))
    if how == "%Y%m%d":
        parts = {"year": v // 10000, "month": v // 100 % 100, "day": v % 100}
    elif how == "%Y%m":
        parts = {"year": v // 100, "month": v % 100, "day": 1.0}
    else:
        parts = {"year": v, "month": 1.0, "day": 1.0}
    return pd.to_datetime(pd.DataFrame(parts, index=range(len(v))), errors="coerce")


def _candidates(has_time: bool):
    """Formats to try, in order: ISO 8601, quarters, then the rest (with times if needed)."""
    yield "ISO8601"
    yield "quarter"
    for item in [*_DAY_MONTH, *_OTHER]:
        pair = item if isinstance(item, tuple) else (item,)
        if has_time:
            for t in _TIMES:
                yield tuple(f"{d} {t}" for d in pair) if len(pair) == 2 else f"{pair[0]} {t}"
        else:
            yield item


def _to_datetime(text: pd.Series, fmt: str) -> pd.Series:
    if fmt == "quarter":
        parts = text.str.extract(f"^{_QUARTER}$")
        # numbers before combining: fillna on text columns downcasts (a FutureWarning on pandas 2)
        year = pd.to_numeric(parts["y1"], errors="coerce").fillna(pd.to_numeric(parts["y2"], errors="coerce"))
        quarter = pd.to_numeric(parts["q1"], errors="coerce").fillna(pd.to_numeric(parts["q2"], errors="coerce"))
        months = (year - 1970) * 12 + (quarter - 1) * 3
        out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[s]")
        ok = months.notna().to_numpy()
        out[ok] = months.to_numpy()[ok].astype(np.int64).astype("datetime64[M]").astype("datetime64[s]")
        return pd.Series(out, index=text.index)
    if fmt == "ISO8601" and text.str.extract(r"(Z|[+-]\d{2}:?\d{2})\s*$")[0].dropna().nunique() > 1:
        # several UTC offsets: to UTC (pandas 2 would parse them to objects, with a warning)
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    try:
        return pd.to_datetime(text, format=fmt, errors="coerce")
    except (ValueError, OverflowError):  # several UTC offsets
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=True)


def _failures(text: pd.Series, fmt: str) -> int:
    return int((_to_datetime(text, fmt).isna() & text.notna()).sum())


def _detect(text: pd.Series, dayfirst, partial: bool = False):
    """The format that parses a sample of the column, "ambiguous", or None.

    With ``partial``, the format that fits most of the sample will do if it fits at least
    half of it (the cells that do not fit are then reported).
    """
    values = text.dropna()
    step = max(1, len(values) // 200)
    sample = pd.concat([values.iloc[:200], values.iloc[::step]]).drop_duplicates()
    if not partial and not sample.str.contains(r"\d").all():
        return None
    best, fewest = None, len(sample) / 2 if partial else 0.5
    for fmt in _candidates(bool(sample.str.contains(":").any())):
        if not isinstance(fmt, str) and dayfirst is not None:
            fmt = fmt[0] if dayfirst else fmt[1]
        if isinstance(fmt, str):
            fails = _failures(sample, fmt)
            if fails == 0:
                return fmt
        else:
            counts = [_failures(sample, f) for f in fmt]
            fits = [f for f, n in zip(fmt, counts) if n == 0]
            if len(fits) == 2:  # the sample may miss the rows with a day above 12
                fits = [f for f in fmt if _failures(values, f) == 0] or fits
                if len(fits) == 2:
                    return "ambiguous"
            if fits:
                return fits[0]
            fails, fmt = min(zip(counts, fmt))
        if fails < fewest:
            best, fewest = fmt, fails
    return best


# --- frequency ----------------------------------------------------------------------------

def period(freq: str) -> tuple[str, pd.DateOffset, pd.Timedelta]:
    """(canonical alias, offset, typical length of one step) of a frequency alias."""
    offset = to_offset(freq)
    ref = pd.Timestamp("2001-01-01") + offset  # 2001-01-01 is a Monday
    return offset.freqstr, offset, (ref + offset) - ref


def is_business(freq: str) -> bool:
    return isinstance(to_offset(freq), (pd.offsets.BusinessDay, pd.offsets.CustomBusinessDay))


def grid_size(start, end, freq: str) -> int:
    """About how many periods of ``freq`` lie between ``start`` and ``end``."""
    step = period(freq)[2]
    # in microseconds: nanosecond Timestamps (pyarrow-backed frames, pandas 2) cannot
    # subtract across more than 292 years ("Result is too large for pandas.Timedelta")
    def us(t) -> int:
        return int(pd.Timestamp(t).as_unit("us").asm8.astype(np.int64))
    return int((us(end) - us(start)) / (step.total_seconds() * 1e6)) + 1


def _mode(d: np.ndarray) -> int:
    if len(d) == 0:
        return 0
    if (d == d[0]).all():
        return int(d[0])
    vals, counts = np.unique(d, return_counts=True)
    return int(vals[np.argmax(counts)])


def infer_freq(ts: np.ndarray) -> str | None:
    """The frequency of sorted, unique datetime64 values that may have gaps, or None."""
    if len(ts) < 2:
        return None
    days = ts.astype("datetime64[D]")
    if (days == ts).all():  # all at midnight
        months = ts.astype("datetime64[M]")
        month_no = months.astype(np.int64)
        if (months == days).all() or pd.DatetimeIndex(ts).is_month_end.all():
            end = not (months == days).all()
            step = _mode(np.diff(month_no))
            if step <= 0 or np.any(np.diff(month_no) % step):
                return None
            m0 = int(month_no[0] % 12)
            if step == 1:
                return "ME" if end else "MS"
            if step == 3:
                return f"QE-{_MONTHS[m0 % 3 + 9]}" if end else f"QS-{_MONTHS[m0 % 3]}"
            if step == 12:
                return f"YE-{_MONTHS[m0]}" if end else f"YS-{_MONTHS[m0]}"
            return f"{step}{'ME' if end else 'MS'}"
        dd = np.diff(days).astype(np.int64)
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        if (weekday < 5).all():
            bd = np.busday_count(days[:-1], days[1:])
            if (bd != dd).any() and _mode(bd) == 1:
                return "B"
        step = _mode(dd)
        if step == 7:
            return f"W-{_DAYS[weekday[0]]}"
        return "D" if step == 1 else f"{step}D"
    d = np.diff(ts).astype("timedelta64[ns]").astype(np.int64)
    step = _mode(d)
    if step <= 0:
        return None
    day = 86_400_000_000_000
    if step % day == 0:
        return "D" if step == day else f"{step // day}D"
    return to_offset(pd.Timedelta(step, unit="ns")).freqstr


def suggest_freq(ts: np.ndarray) -> str:
    """A frequency to suggest for irregular timestamps, from their typical spacing."""
    days = _mode(np.diff(ts).astype("timedelta64[ns]").astype(np.int64)) / 86_400e9
    for lo, alias in ((360, "YS"), (88, "QS"), (27, "MS"), (6.5, "W"), (0.99, "D")):
        if days >= lo:
            return alias
    return "h" if days >= 1 / 24 else "min"


# --- writing times the way the input wrote them ---------------------------------------------

_FORMS = [  # (pattern of an input cell, the form to write times in; %q is the quarter)
    (re.compile(r"\d{4}(\.0)?"), "%Y"),
    (re.compile(r"\d{4}-\d{2}"), "%Y-%m"),
    (re.compile(r"\d{4}/\d{2}"), "%Y/%m"),
]
_QUARTER_FORM = re.compile(r"(\d{4})(\s*[-/ ]?\s*)([Qq])[1-4]")
_ISO_TIME = re.compile(r"\d{4}-\d{2}-\d{2}([T ])\d{2}:\d{2}(:\d{2})?(Z|[+-]\d{2}:?\d{2})?")


def time_form(column: pd.Series) -> str | None:
    """How the input wrote its times, as a :func:`format_times` form, when every cell is
    written one recognisable way (years, quarters, year-months, ISO times with their
    separator and UTC offset); None for the default ISO 8601."""
    cells = column.dropna().astype("str").str.strip()
    if cells.empty:
        return None
    first = cells.iloc[0]
    for pattern, form in _FORMS:
        if pattern.fullmatch(first) and cells.str.fullmatch(pattern.pattern).all():
            return form
    m = _QUARTER_FORM.fullmatch(first)
    if m and cells.str.fullmatch(_QUARTER_FORM.pattern).all():
        return f"%Y{m.group(2)}{m.group(3)}%q"
    m = _ISO_TIME.fullmatch(first)
    if m and cells.str.fullmatch(_ISO_TIME.pattern).all():
        offset = m.group(3) or ""
        if offset and not cells.str.endswith(offset).all():
            offset = "+00:00"  # several offsets: the times were converted to UTC
        return f"%Y-%m-%d{m.group(1)}%H:%M{':%S' if m.group(2) else ''}{offset}"
    return None


def form_timezone(form: str | None):
    """The UTC offset a :func:`time_form` writes (``+02:00``, ``Z``) as a tzinfo, else
    None: the times are that offset's wall times (several offsets were converted to UTC)."""
    from datetime import timedelta, timezone

    m = re.search(r"(Z|([+-])(\d{2}):?(\d{2}))$", form or "")
    if not m:
        return None
    if m.group(1) == "Z":
        return timezone.utc
    minutes = int(m.group(3)) * 60 + int(m.group(4))
    return timezone.utc if minutes == 0 else timezone(timedelta(minutes=-minutes if m.group(2) == "-" else minutes))


def format_times(times: pd.Series, form: str | None) -> pd.Series:
    """Times as text in ``form`` (:func:`time_form`), else ISO 8601 (plain dates when
    every time is midnight)."""
    ts = pd.Series(pd.to_datetime(times))
    if form and "%q" in form:
        quarter = ((ts.dt.month - 1) // 3 + 1).astype(str)
        return pd.Series([t.strftime(form.replace("%q", q)) for t, q in zip(ts, quarter)], index=times.index)
    if form:
        return ts.dt.strftime(form)
    midnight = (ts.dt.hour == 0).all() and (ts.dt.minute == 0).all() and (ts.dt.second == 0).all()
    return ts.dt.strftime("%Y-%m-%d") if midnight else ts.map(lambda t: t.isoformat())


SEASON_EPOCH = pd.Timestamp("2001-01-01")  # a Monday: season positions count steps from it


def season_unit(freq: str) -> tuple[str, int]:
    """How :func:`season_position` counts steps of ``freq``: ``("months", m)``, steps of
    ``m`` months from January of year 0; ``("busdays", n)``, steps of ``n`` business days
    from Monday 2001-01-01; or ``("us", u)``, steps of ``u`` microseconds from Monday
    2001-01-01 00:00 (a fixed length, or a typical one for anything else)."""
    offset = to_offset(freq)
    n = getattr(offset, "n", 1) or 1
    if isinstance(offset, (pd.offsets.MonthBegin, pd.offsets.MonthEnd, pd.offsets.BusinessMonthBegin,
                           pd.offsets.BusinessMonthEnd, pd.offsets.QuarterBegin, pd.offsets.QuarterEnd,
                           pd.offsets.YearBegin, pd.offsets.YearEnd)):
        months = {"Quarter": 3, "Year": 12}
        return "months", next((v for k, v in months.items() if k in type(offset).__name__), 1) * n
    if isinstance(offset, pd.offsets.BusinessDay):
        return "busdays", n
    return "us", max(int(period(freq)[2].value) // 1000, 1)  # microseconds reach the year 9999


def season_position(index, freq: str, season: int) -> np.ndarray:
    """Each timestamp's position in the season (0..season-1), the same for the same time
    of the cycle in any series: hour of day for hourly data and a season of 24, day of
    the week for daily data and 7, month of the year for monthly data and 12. Steps
    count as :func:`season_unit` says."""
    index = pd.DatetimeIndex(index)
    if index.tz is not None:
        index = index.tz_localize(None)
    season = max(int(season), 1)
    unit, size = season_unit(freq)
    if unit == "months":
        steps = (index.year.to_numpy(np.int64) * 12 + index.month.to_numpy(np.int64) - 1) // size
    elif unit == "busdays":
        days = index.normalize().to_numpy("datetime64[D]")
        steps = np.busday_count(SEASON_EPOCH.to_datetime64().astype("datetime64[D]"), days) // size
    else:
        epoch_us = SEASON_EPOCH.to_datetime64().astype("datetime64[us]").astype(np.int64)
        steps = (index.to_numpy("datetime64[us]").astype(np.int64) - epoch_us) // size
    return np.mod(steps, season).astype(np.int64)

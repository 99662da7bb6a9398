"""Covariates as numbers: text columns encoded, and public holidays as inputs.

Text. A feature column of text is encoded by the values seen when fitting: two distinct
values are one 0/1 column (a false/true pair such as No/Yes or off/on, in any case, has
false = 0; any other pair is sorted, the first = 0); 3 to MAX_CATEGORIES values are one-hot
columns named ``column=value``, values sorted. A constant column or one with more values
is refused. The mapping is a small JSON-able dict stored in the model file, and checked by
:func:`check_mapping` when read back. Cells are stripped; empty cells are missing and
encode as NaN rows, as missing numbers do. A value not seen in training
encodes as none of the known ones: an all-zero one-hot row, or 0.5 for a binary column,
with one note per column. Numeric columns pass through :func:`csvfile.to_numbers`.

Holidays. ``--holidays US`` (or ``GB-SCT``, ``DE-BY``) adds a ``holiday`` input from the
``holidays`` package (imported lazily: an optional dependency): 1 on a public holiday
(observed days included) for daily and finer data, the number of holiday days in each
period for coarser data, and optionally ``holiday_distance``: days to the nearest holiday,
clipped at 7, over 7. The package knows each country's holidays for a range of years
(1901-2100 for most, Sri Lanka 2003-2026) and silently gives none outside it, so dates
outside it are a DataError rather than a column of false zeros. The holiday dates are
built once per (country, subdivision, years) and looked up with ``np.searchsorted`` on
day numbers: 10 years of daily rows or a year of hourly rows take 1-4 ms.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pandas as pd

from lstmcast.data.csvfile import column_kind, shown, to_numbers
from lstmcast.data.timeparse import fmt_time, period
from lstmcast.errors import DataError, UsageError

MAX_CATEGORIES = 12
KINDS = ("number", "binary", "onehot")
_FALSE_TRUE = [("no", "yes"), ("false", "true"), ("n", "y"), ("off", "on"), ("f", "t")]  # 0 and 1 are read as numbers


# --- text columns -------------------------------------------------------------------------

def _cells(values: pd.Series) -> pd.Series:
    """The non-missing cells as stripped text, by position; empty cells are missing."""
    s = pd.Series(values).reset_index(drop=True)
    text = s[s.notna()].astype(str).str.strip()
    return text[text != ""]


def encode_column(column: pd.Series, name: str, label: str, thousands, decimal, mapping: dict | None = None):
    """One input column as numbers: (values (n, k), the k input names, the text mapping
    or None for a numeric column, notes). Encoded with ``mapping`` when a model gives
    one, else with a mapping fitted here."""
    if mapping is None:
        mapping = fit_encoding(column, name, label)
    block, notes = apply_encoding(column, mapping, label, thousands, decimal)
    return block, encoded_names(mapping), (None if mapping["kind"] == "number" else mapping), notes


def check_static(values: np.ndarray, used: list[str], static: list[str], parts: dict, lines, label: str) -> None:
    """A static column must hold one value per series (missing cells aside): ``values``
    (rows, ``used`` columns) get that value in every row of the series (``parts``: series
    id -> its rows; ``lines``: each row's line in the file)."""
    for name in static:
        j = used.index(name)
        for key, rows in parts.items():
            v = values[rows, j]
            seen = v[~np.isnan(v)]
            if len(seen) == 0:
                raise DataError(f"{label}, series {key!r}: static column {name!r} is empty in every row")
            if (seen != seen[0]).any():
                i = int(np.flatnonzero(~np.isnan(v) & (v != seen[0]))[0])
                raise DataError(f"{label} line {lines[rows][i]}, series {key!r}: static column {name!r} "
                                f"changes within the series ({seen[0]:g}, then {v[i]:g}); a --static column "
                                "must be constant per series (use --future or --features for one that varies)")
            values[rows, j] = seen[0]


def fit_encoding(values: pd.Series, column: str, label: str) -> dict:
    """The mapping that turns ``values`` (a raw column) into model inputs."""
    if column_kind(values) != "text":
        return {"column": column, "kind": "number"}
    seen = sorted(_cells(values).unique())
    where = f"{label}: column {column!r}"
    if not seen:
        raise DataError(f"{where} is empty (fill it in or leave it out of --features)")
    if len(seen) == 1:
        raise DataError(f"{where} has one value {shown(seen[0])} everywhere: it tells the model "
                        "nothing (leave it out of --features)")
    if len(seen) > MAX_CATEGORIES:
        first = ", ".join(shown(v) for v in seen[:5])
        raise DataError(f"{where} has {len(seen)} distinct text values ({first}, ...); at most "
                        f"{MAX_CATEGORIES} are one-hot encoded (drop it from --features, or encode "
                        "it as numbers yourself)")
    if len(seen) == 2:
        if tuple(v.casefold() for v in reversed(seen)) in _FALSE_TRUE:
            seen.reverse()
        return {"column": column, "kind": "binary", "values": seen}
    return {"column": column, "kind": "onehot", "values": seen}


def encoded_names(mapping: dict) -> list[str]:
    """The model's input columns for one mapping."""
    if mapping["kind"] == "onehot":
        return [f"{mapping['column']}={v}" for v in mapping["values"]]
    return [mapping["column"]]


def apply_encoding(values: pd.Series, mapping: dict, label: str, thousands=None,
                   decimal: str = ".") -> tuple[np.ndarray, list[str]]:
    """(float64 array (n, len(encoded_names)), notes): the column encoded by ``mapping``;
    NaN rows where a cell is missing. ``thousands`` and ``decimal`` read number columns."""
    column = mapping["column"]
    if mapping["kind"] == "number":
        return to_numbers(values, column, label, thousands, decimal)[:, None], []
    known = mapping["values"]
    cells = _cells(values)
    codes = pd.Index(known).get_indexer(cells.to_numpy())
    rows = cells.index.to_numpy()
    if mapping["kind"] == "binary":
        out = np.full((len(values), 1), np.nan)
        out[rows, 0] = np.where(codes >= 0, codes, 0.5)
        how = "0.5, neither known value"
    else:
        out = np.full((len(values), len(known)), np.nan)
        out[rows] = 0.0
        out[rows[codes >= 0], codes[codes >= 0]] = 1.0
        how = "none of the known values"
    unseen = cells[codes < 0]
    if unseen.empty:
        return out, []
    names = list(dict.fromkeys(unseen))
    what = ", ".join(shown(v) for v in names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    verb = "was" if len(names) == 1 else "were"
    index = pd.Series(values).index
    first = f", from {fmt_time(index[unseen.index[0]])}" if isinstance(index, pd.DatetimeIndex) else ""
    rows_text = f"{len(unseen)} row{'s' if len(unseen) > 1 else ''}{first}"
    note = (f"{label}: column {column!r}: {what} {verb} not in the training data "
            f"({rows_text}): encoded as {how}")
    return out, [note]


def check_mapping(obj) -> dict:
    """A stored mapping, checked (it comes from a model file); ValueError if malformed."""
    if not isinstance(obj, dict):
        # ValueError for every defect: the model-file loader turns it into a ModelFileError
        raise ValueError(f"a column encoding must be an object, not {type(obj).__name__}")  # noqa: TRY004
    kind, column = obj.get("kind"), obj.get("column")
    if kind not in KINDS:
        raise ValueError(f"unknown column encoding kind {kind!r} (expected one of {', '.join(KINDS)})")
    if not isinstance(column, str) or not column:
        raise ValueError(f"a column encoding needs a column name, not {column!r}")
    keys = {"column", "kind"} | ({"values"} if kind != "number" else set())
    if set(obj) != keys:
        raise ValueError(f"column encoding of {column!r} has keys {sorted(obj)}, expected {sorted(keys)}")
    if kind == "number":
        return {"column": column, "kind": kind}
    values = obj["values"]
    low, high = (2, 2) if kind == "binary" else (3, MAX_CATEGORIES)
    if (not isinstance(values, list) or not all(isinstance(v, str) and v and v == v.strip() for v in values)
            or len(set(values)) != len(values)):
        raise ValueError(f"column encoding of {column!r}: values must be a list of distinct, "
                         "non-empty, stripped strings")
    if not low <= len(values) <= high:
        raise ValueError(f"column encoding of {column!r}: a {kind} encoding has {low} to {high} "
                         f"values, not {len(values)}")
    return {"column": column, "kind": kind, "values": list(values)}


# --- holidays -----------------------------------------------------------------------------

def _holidays_package():
    try:
        import holidays
    except ImportError:
        raise UsageError("--holidays needs the holidays package (pip install holidays, or "
                         "pip install 'lstmcast[holidays]')") from None
    return holidays


@functools.lru_cache(maxsize=1)
def _supported() -> dict:
    return _holidays_package().list_supported_countries()  # 60 ms the first time


def holiday_codes(spec: str) -> tuple[str, str | None]:
    """(country, subdivision or None) of a ``--holidays`` value such as US, GB-SCT, DE-BY."""
    supported = _supported()
    country, _, sub = str(spec).strip().partition("-")
    country = country.strip().upper()
    if country not in supported:
        raise UsageError(f"--holidays {spec!r}: not a country code the holidays package knows "
                         "(e.g. US, GB, DE, FR; subdivisions as US-CA)")
    if not sub.strip():
        return country, None
    subs = supported[country]
    by_key = {s.casefold(): s for s in subs}
    if sub.strip().casefold() in by_key:
        return country, by_key[sub.strip().casefold()]
    if not subs:
        raise UsageError(f"--holidays {spec!r}: the holidays package has no subdivisions for "
                         f"{country} (use --holidays {country})")
    few = ", ".join(f"{country}-{s}" for s in subs[:6])
    few += f", ... ({len(subs) - 6} more)" if len(subs) > 6 else ""
    raise UsageError(f"--holidays {spec!r}: {sub.strip()!r} is not a subdivision of {country} that "
                     f"the holidays package knows (e.g. {few})")


@functools.lru_cache(maxsize=32)
def _holiday_days(country: str, subdiv: str | None, first: int, last: int) -> np.ndarray:
    """Sorted day numbers (days since 1970-01-01) of the holidays in years first..last."""
    package = _holidays_package()
    with warnings.catch_warnings():
        # India: "Requested Holidays are available only from 2001 to 2035." (its Hindu
        # holidays; the others are still given); it must not reach the user's stderr
        warnings.simplefilter("ignore")
        found = package.country_holidays(country, subdiv=subdiv, years=range(first, last + 1))
        days = np.array(sorted(found), dtype="datetime64[D]").astype(np.int64)
    days.flags.writeable = False
    return days


@functools.lru_cache(maxsize=32)
def _covered(country: str, subdiv: str | None) -> tuple[int, int]:
    """The years the package has holidays for (1901-2100 for most countries; Sri Lanka
    2003-2026, Guinea-Bissau from 2023): outside them it gives none, silently."""
    found = _holidays_package().country_holidays(country, subdiv=subdiv)
    return found.start_year, found.end_year


def _year(day: int) -> int:
    return int(np.datetime64(int(day), "D").astype("datetime64[Y]").astype(np.int64)) + 1970


def holiday_features(index: pd.DatetimeIndex, freq: str, spec: str,
                     distance: bool = False) -> tuple[np.ndarray, list[str]]:
    """(float64 (n, 1 or 2), names): ``holiday`` and, with ``distance``, ``holiday_distance``.

    Each row covers the dates [lo, hi): its own date for daily and finer data; for coarser
    data the period that starts at the timestamp (up to the next one of ``freq``), or that
    ends at it for end-anchored frequencies (ME, QE, YE, ...). ``holiday`` counts the
    holiday dates in it; ``holiday_distance`` is 0 when it holds one, else the days from
    it to the nearest holiday, clipped at 7, over 7.
    """
    country, subdiv = holiday_codes(spec)
    names = ["holiday", "holiday_distance"] if distance else ["holiday"]
    idx = pd.DatetimeIndex(index)
    if idx.tz is not None:
        idx = idx.tz_localize(None)  # holidays fall on local dates
    if len(idx) == 0:
        return np.empty((0, len(names))), names
    _, offset, step = period(freq)
    day = np.timedelta64(1, "D")

    def days(t):
        return pd.DatetimeIndex(t).to_numpy().astype("datetime64[D]")

    if step <= pd.Timedelta(days=1):
        lo = days(idx)
        hi = lo + day
    elif type(offset).__name__.endswith("End"):
        lo, hi = days(idx - offset) + day, days(idx) + day
    else:
        lo, hi = days(idx), days((idx + offset).ceil("D"))
    lo, hi = lo.astype(np.int64), hi.astype(np.int64)
    start_year, end_year = _covered(country, subdiv)
    if _year(lo.min()) < start_year or _year(hi.max() - 1) > end_year:
        dates = f"{np.datetime64(int(lo.min()), 'D')} to {np.datetime64(int(hi.max()) - 1, 'D')}"
        raise DataError(f"--holidays {spec!r}: the holidays package knows the holidays of "
                        f"{' '.join(filter(None, (country, subdiv)))} in {start_year}-{end_year} only, "
                        f"and the dates run from {dates} (leave out --holidays, or keep to those years)")
    first, last = max(_year(lo.min() - 8), start_year), min(_year(hi.max() + 8), end_year)
    h = _holiday_days(country, subdiv, first, last)
    start, end = np.searchsorted(h, lo), np.searchsorted(h, hi)
    count = (end - start).astype(np.float64)
    if not distance:
        return count[:, None], names
    padded = np.concatenate([[np.iinfo(np.int64).min // 2], h, [np.iinfo(np.int64).max // 2]])
    before = lo - padded[start]          # the last holiday before the period
    after = padded[end + 1] - (hi - 1)   # the first holiday after it
    gap = np.where(count > 0, 0, np.minimum(np.minimum(before, after), 7))
    return np.column_stack([count, gap / 7.0]), names


# --holidays adds the distance to the nearest holiday (days, up to a week, / 7) beside the
# indicator: daily electricity demand (fpp2 elecdaily, AU-VIC) MASE 0.723 without holidays,
# 0.687 with the indicator, 0.671 with both; daily bike rentals (ISLP Bikeshare summed per
# day, US-DC) 1.145, 1.130, 1.141: 0.906 against 0.9085 on the mean (8 folds each;
# benchmarks/results/holiday-columns.md).
HOLIDAY_DISTANCE = True


def with_holidays(frame: pd.DataFrame, freq: str, spec: str, at: int) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` with the holiday columns of ``spec`` inserted at column position ``at``."""
    values, names = holiday_features(frame.index, freq, spec, distance=HOLIDAY_DISTANCE)
    left, right = frame.iloc[:, :at], frame.iloc[:, at:]
    extra = pd.DataFrame(values, index=frame.index, columns=names)
    return pd.concat([left, extra, right], axis=1), names

"""Reading: a CSV file (a path, or ``-`` for stdin) -> validated, regular, numeric series.

This module owns the way from a raw frame (:mod:`lstmcast.data.csvfile` reads the bytes) to
clean series: the choice of targets and features and their numbers, the time column
(found and parsed by :mod:`lstmcast.data.timeparse`), splitting long-format files by an id
column, sorting, duplicates, the frequency, trimming and filling gaps.

Every rejection of the user's data is a :class:`DataError` whose message is one line
saying what, where (file, line, column) and what to try; a missing or unreadable file
is an :class:`InputMissingError`.  Nothing here prints: notes for the user (which target
was picked, how many values were filled) come back in ``Dataset.notes``.

Line numbers count the header as line 1 and assume no line breaks inside quoted cells.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstmcast.config import ReadConfig, build
from lstmcast.data import calendar, covariates, tables
from lstmcast.data.csvfile import column_kind, listed, decompress, read_bytes, to_numbers
from lstmcast.errors import DataError, UsageError
from lstmcast.data.timeparse import (fmt_time, grid_size, infer_freq, is_business, period,
                                     suggest_freq, time_column, time_form)

# Column names that conventionally hold the value to forecast, in order of preference.
CONVENTIONAL_TARGETS = ["close", "adjclose", "price", "value", "y", "target"]


@dataclass
class Dataset:
    """Clean series ready for windowing (see the module docstring)."""

    series: dict[str, pd.DataFrame]  # id -> frame ("" for a single series)
    targets: list[str]
    features: list[str]
    freq: str
    date_col: str
    id_col: str | None
    notes: list[str]
    n_rows: int  # data rows read (blank lines excluded)
    sha256: str  # of the raw input bytes
    source: str = ""  # the file name used in messages ("<stdin>" for -)
    fill_limit: int | None = field(default=None, repr=False)  # the limit that was applied
    # how it was read, with the columns that were found: reads a newer file the same way
    read: ReadConfig | None = field(default=None, repr=False)
    # how the input wrote its times (timeparse.time_form): forecasts write theirs the same way
    time_form: str | None = None
    # open slots of the week when the series keeps a trading calendar (data.calendar)
    calendar: tuple[int, ...] | None = None
    # covariates: ``features`` holds every input column besides the targets, in the order
    # past-only features, future-known ones (``future``: from the file, then the holiday
    # columns), static ones (``static``); names are the encoded ones (``weather=Rain``)
    future: list[str] = field(default_factory=list)
    static: list[str] = field(default_factory=list)
    holidays: str | None = None
    holiday_names: list[str] = field(default_factory=list)  # the holiday columns among ``future``
    encodings: dict = field(default_factory=dict)  # text column -> data.covariates mapping
    # rows after each series' last target value, with the future covariates filled in
    ahead: dict[str, pd.DataFrame] = field(default_factory=dict)
    masked: int = 0  # missing target values left unfilled (--missing mask)

    @property
    def only(self) -> pd.DataFrame:
        """The frame of a single-series file (key ``""``); several series go by their ids."""
        return only_series(self.series, "data", "data.series")


def only_series(series: dict, what: str, pick: str):
    """The one value of ``series`` (keyed ``""`` for a file without an id column), or a
    UsageError that names a few keys and shows ``pick[key]``."""

    if len(series) == 1:
        return next(iter(series.values()))
    if not series:
        raise UsageError(f"the {what} holds no series")
    names = ", ".join(repr(k) for k in list(series)[:3]) + (", ..." if len(series) > 3 else "")
    raise UsageError(f"the {what} holds {len(series)} series ({names}): pick one by its id, "
                     f"e.g. {pick}[{next(iter(series))!r}]")


def load_csv(source, config: ReadConfig | None = None, *, stdin=None, expected_by: str | None = None,
             encodings: dict | None = None, **options) -> Dataset:
    """Read a CSV into a :class:`Dataset`; ``source`` is a path or ``"-"`` for stdin.

    The options are a :class:`~lstmcast.config.ReadConfig`, or its fields as keywords
    (which override ``config``'s). ``Dataset.read`` is the config with the columns that
    were found filled in. ``expected_by`` (say "the model m.safetensors") is what asked
    for the columns and frequency of ``config``: messages then name it, not flags.

    ``fill``: ``"interpolate"`` (linear, at most ``fill_limit`` missing values in a row,
    by default :func:`default_fill_limit`), ``"ffill"`` (carry the last value forward, no
    limit unless ``fill_limit``) or ``"error"``.  ``dedupe``: what to do with rows that
    share a timestamp (``None`` refuses them).  ``dayfirst``: ``None`` detects the
    day/month order from the data.  ``freq``: a pandas alias; rows off its grid are
    averaged per period.  ``encodings``: a fitted model's text-column mappings
    (:mod:`lstmcast.data.covariates`), so that newer files are encoded the same way.
    """
    config = build(ReadConfig, {**(config or ReadConfig()).to_dict(),
                                **{k: v for k, v in options.items() if v is not None}})
    date_col, targets, features, id_col = config.date_col, config.targets, config.features, config.id_col
    freq, fill, fill_limit, dedupe = config.freq, config.fill, config.fill_limit, config.dedupe
    dayfirst, thousands, decimal = config.dayfirst, config.thousands, config.decimal
    limit = config.max_input_mb << 20
    files = tables.expand(source)
    if files is None:
        raw, label = read_bytes(source, stdin, limit)
        df = tables.read_table(decompress(raw, label, limit), label, decimal, limit)
        digest = hashlib.sha256(raw).hexdigest()
        del raw
    else:
        label = os.fspath(source)
        df, id_col, digest = tables.read_files(files, label, id_col, limit, decimal)
        config = dataclasses.replace(config, id_col=id_col)
    lines = np.arange(2, len(df) + 2)

    id_name = _resolve(df, id_col, label, expected_by, "series id") if id_col else None
    date_name = _resolve(df, date_col, label, expected_by, "time") if date_col else None
    date_name, times, time_notes = time_column(df, date_name, id_name, label, dayfirst)
    notes = [f"{label}: {n}" for n in time_notes]
    if id_name is None and dedupe is None:
        id_name = _guess_id(df, times, date_name, label, notes)
    future_raw = [_resolve(df, c, label, expected_by, "future covariate") for c in config.future]
    static_raw = [_resolve(df, c, label, expected_by, "static covariate") for c in config.static]
    tnames, fnames = _choose_columns(df, targets, [*features, *future_raw, *static_raw], date_name, id_name,
                                     label, notes, expected_by)
    fnames = fnames[:len(fnames) - len(future_raw) - len(static_raw)]
    if static_raw and not id_name:
        raise UsageError("--static needs a long-format file with a series column (--id-col): static "
                         "columns are constants of each series")
    date_source = date_name
    form = time_form(df[date_source])
    if date_name.startswith("Unnamed: ") and "date" not in df.columns:  # an index without a name
        date_name = "date"
    blocks = [np.column_stack([to_numbers(df[c], c, label, thousands, decimal) for c in tnames])]
    inputs: dict[str, list[str]] = {"features": [], "future": [], "static": []}
    found = {}
    for role, raw in (("features", fnames), ("future", future_raw), ("static", static_raw)):
        for c in raw:
            block, names, mapping, more = covariates.encode_column(df[c], c, label, thousands, decimal,
                                                     (encodings or {}).get(c))
            blocks.append(block)
            inputs[role] += names
            notes += more
            if mapping is not None:
                found[c] = mapping
    used = tnames + inputs["features"] + inputs["future"] + inputs["static"]
    values = np.hstack(blocks) if len(blocks) > 1 else blocks[0]
    del blocks

    # Rows without a timestamp: blank lines are dropped, anything else is refused.
    no_time = np.isnat(times)
    if no_time.any():
        blank = no_time & np.isnan(values).all(axis=1)
        if id_name:
            blank &= df[id_name].isna().to_numpy()
        if (no_time & ~blank).any():
            i = int(np.flatnonzero(no_time & ~blank)[0])
            raise DataError(f"{label} line {lines[i]}, column {date_name!r}: no timestamp "
                            "(fill it in or delete the row)")
        times, values, lines, df = times[~blank], values[~blank], lines[~blank], df[~blank]
        if len(times) == 0:
            raise DataError(f"{label} has a header but no data rows")

    parts = _split_by_id(df, id_name, lines, label) if id_name else {"": slice(None)}
    if inputs["static"]:
        covariates.check_static(values, used, inputs["static"], parts, lines, label)
    clean = _Cleaner(label, date_name, used, fill, dedupe, by_id=bool(id_name), n_targets=len(tnames),
                     keep_ahead=bool(inputs["future"]), mask=config.missing == "mask",
                     can_mask=expected_by is None)  # a fitted model's inputs are fixed
    sorted_parts = {k: clean.sort_dedupe(k, times[p], values[p], lines[p]) for k, p in parts.items()}
    longest = max(sorted_parts, key=lambda k: len(sorted_parts[k][0]))
    if freq is None:
        freq = clean.infer(longest, sorted_parts[longest][0])
    else:
        clean.freq_given = True
        _check_not_coarser(sorted_parts[longest][0], freq, label, expected_by)
    clean.freq = freq
    stamps = ([p[0] for p in sorted_parts.values()] if len(sorted_parts) > 1
              else None)  # one series: already sorted and unique (np.unique took 4 s on 8 M rows)
    clean.calendar = calendar.detect(np.unique(np.concatenate(stamps)) if stamps else sorted_parts[longest][0],
                                     freq)
    if clean.calendar is not None:
        notes.append(f"{label}: a trading calendar: {calendar.describe(clean.calendar, freq)}; trained on "
                     "the rows as observed, and forecasts skip the closed hours")
    clean.limit = fill_limit
    if fill_limit is None and fill == "interpolate":
        clean.limit = default_fill_limit(freq)
    series = {k: clean.regularise(k, *part) for k, part in sorted_parts.items()}
    if config.missing == "mask":  # an "observed" indicator per target, first of the features
        flags = [observed_column(t) for t in tnames]
        for k, frame in series.items():
            for j, t in enumerate(tnames):
                frame.insert(len(tnames) + j, flags[j], (~np.isnan(frame[t].to_numpy())).astype(np.float64))
        inputs["features"] = flags + inputs["features"]
        used = tnames + flags + used[len(tnames):]
    future, names = list(inputs["future"]), []
    if config.holidays:
        for k in series:
            series[k], names = covariates.with_holidays(series[k], freq, config.holidays,
                                                        len(used) - len(inputs["static"]))
        future += names
    features = [*inputs["features"], *future, *inputs["static"]]
    return Dataset(series=series, targets=tnames, features=features, freq=freq, date_col=date_name,
                   id_col=id_name, notes=notes + clean.notes(len(series)), n_rows=len(times),
                   sha256=digest, source=label, fill_limit=clean.limit,
                   time_form=form, calendar=clean.calendar,
                   read=dataclasses.replace(config, date_col=date_source, targets=tuple(tnames),
                                            features=tuple(fnames), future=tuple(future_raw),
                                            static=tuple(static_raw), id_col=id_name, freq=freq),
                   future=future, static=list(inputs["static"]), holidays=config.holidays,
                   holiday_names=names,
                   encodings=found, ahead=clean.ahead, masked=clean.counts["masked"])


def observed_column(target: str) -> str:
    """The name of the 0/1 input saying where ``target`` was observed (--missing mask)."""
    return f"{target}_observed"


def load_future(source, config: ReadConfig, encodings: dict | None = None, *, stdin=None,
                expected_by: str | None = None) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """(The future covariates of ``--future-data FILE``: series id -> frame of the
    ``config.future`` columns (encoded as ``encodings`` say) indexed by time. The file
    needs the time column, the series column of a long-format model and those columns;
    a target column, if any, is ignored; notes for the user). Rows are looked up by time when forecasting, so
    rows before or beyond the forecast steps do no harm."""
    limit = config.max_input_mb << 20
    raw, label = read_bytes(source, stdin, limit)
    df = tables.read_table(decompress(raw, label, limit), label, config.decimal, limit)
    del raw
    id_name = _resolve(df, config.id_col, label, expected_by, "series id") if config.id_col else None
    date_name = _resolve(df, config.date_col, label, expected_by, "time") if config.date_col else None
    date_name, times, _ = time_column(df, date_name, id_name, label, config.dayfirst)
    blocks, names, notes = [], [], []
    for c in config.future:
        name = _resolve(df, c, label, expected_by, "future covariate")
        block, encoded, _, more = covariates.encode_column(df[name], c, label, config.thousands, config.decimal,
                                             (encodings or {}).get(c))
        blocks.append(block)
        names += encoded
        notes += more
    values = np.hstack(blocks) if blocks else np.zeros((len(df), 0))
    keep = ~np.isnat(times)
    lines = np.arange(2, len(df) + 2)
    parts = _split_by_id(df[keep], id_name, lines[keep], label) if id_name else {"": slice(None)}
    out = {}
    for key, rows in parts.items():
        ts, v = times[keep][rows], values[keep][rows]
        frame = pd.DataFrame(v, index=pd.DatetimeIndex(ts, name=date_name), columns=names)
        if frame.index.has_duplicates:
            t = frame.index[frame.index.duplicated()][0]
            where = f", series {key!r}" if id_name else ""
            raise DataError(f"{label}{where}: {fmt_time(np.datetime64(t))} appears twice (one row per time step)")
        out[key] = frame.sort_index()
    return out, notes


def check_length(dataset: Dataset, needed_rows: int, what: str,
                 hint: str = "try a smaller --lookback or --horizon") -> None:
    """Refuse (DataError) when a series has fewer than ``needed_rows`` rows.

    ``what`` explains the need, e.g. ``"lookback 48 + horizon 12 + validation"``;
    ``hint`` says what to try.
    """
    short = {k: len(f) for k, f in dataset.series.items() if len(f) < needed_rows}
    if not short:
        return
    key = min(short, key=short.get)
    name = f"{dataset.source}: series {key!r}" if dataset.id_col else dataset.source
    more = f" (and {len(short) - 1} more series are too short)" if len(short) > 1 else ""
    raise DataError(f"{name} has {short[key]} rows; {what} needs at least {needed_rows}{more} ({hint})")


def future_index(last: pd.Timestamp, freq: str, horizon: int, trading=None) -> pd.DatetimeIndex:
    """The ``horizon`` timestamps after ``last``, continuing ``freq`` (business days stay
    business days, month starts stay month starts) on the ``trading`` calendar if any."""
    if trading is not None:
        return calendar.future(last, freq, horizon, trading)
    offset = period(freq)[1]
    try:
        end = pd.Timestamp(last) + offset * horizon
    except (OverflowError, ValueError):
        end = None
    if end is None or end.year > 9999:
        raise DataError(f"the forecast would pass the year 9999 ({horizon} steps of {freq} after "
                        f"{fmt_time(np.datetime64(pd.Timestamp(last)))}), which no date format can hold")
    return pd.date_range(pd.Timestamp(last) + offset, periods=horizon, freq=offset)


def default_fill_limit(freq: str) -> int:
    """Longest run of missing values interpolated by default: a day of sub-daily data,
    a week of daily (7) or business-day (5) data, 3 periods of anything coarser."""
    step = period(freq)[2]
    day = pd.Timedelta(days=1)
    if step < day:
        return max(1, int(day // step))
    if step == day:
        return 5 if is_business(freq) else 7
    return 3


def _check_not_coarser(ts: np.ndarray, freq: str, label: str, source: str | None) -> None:
    """A file whose rows are further apart than ``freq`` is another frequency, not a
    file with gaps (yearly rows under a monthly model): say so, not "too many missing"."""
    own = infer_freq(ts) if len(ts) > 2 else None
    if own is None or period(own)[2] <= period(freq)[2] * 1.5:
        return
    if source:
        raise DataError(f"{label}: the rows are {own} apart but {source} expects {freq}: a frequency "
                        f"mismatch (give data at frequency {freq}, or refit on this data)")
    raise DataError(f"{label}: the rows are {own} apart but --freq is {freq}: a frequency mismatch "
                    f"(choose a coarser --freq, such as {own})")


def _split_by_id(df: pd.DataFrame, id_name: str, lines: np.ndarray, label: str) -> dict:
    """Row positions of each series, in order of first appearance."""
    ids = df[id_name]
    if ids.isna().any():
        i = int(np.flatnonzero(ids.isna().to_numpy())[0])
        raise DataError(f"{label} line {lines[i]}, column {id_name!r}: empty series id "
                        "(fill it in or delete the row)")
    codes, keys = pd.factorize(ids.astype(str))
    order = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[order], np.arange(len(keys) + 1))
    return {str(k): order[bounds[j]:bounds[j + 1]] for j, k in enumerate(keys)}


def _guess_id(df: pd.DataFrame, times: np.ndarray, date_name: str, label: str, notes: list):
    """A long-format file's series column: when timestamps repeat and exactly one text
    column makes every (id, time) pair unique, that column (with a note); else None."""
    if not pd.Series(times).duplicated().any():
        return None
    found = []
    for c in df.columns:
        if c == date_name or column_kind(df[c]) != "text":
            continue
        ids = df[c].astype(str).to_numpy()
        n = len(set(ids))
        if 2 <= n <= len(df) // 2 and not pd.DataFrame({"i": ids, "t": times}).duplicated().any():
            found.append((c, n))
    if len(found) != 1:
        return None
    name, n = found[0]
    notes.append(f"{label}: timestamps repeat, so column {name!r} is taken as the series id "
                 f"({n} series; choose with --id-col)")
    return name


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --- columns and numbers -----------------------------------------------------------------

def _resolve(df: pd.DataFrame, name: str, label: str, expected_by: str | None = None,
             role: str = "") -> str:
    """The column called ``name``, matched exactly, else ignoring case and spaces."""
    if name in df.columns:
        return name
    matches = [c for c in df.columns if c.strip().casefold() == str(name).strip().casefold()]
    if len(matches) == 1:
        return matches[0]
    columns = listed(df.columns)
    if expected_by:
        raise DataError(f"{label} has no column {name!r}, the {role} column of {expected_by} "
                        f"(the file's columns: {columns}; give a file with the model's columns, or refit)")
    raise DataError(f"{label} has no column {name!r} (columns: {columns})")


def _choose_columns(df, targets, features, date_name, id_name, label, notes, expected_by=None):
    tnames = [_resolve(df, t, label, expected_by, "target") for t in (targets or [])]
    fnames = [_resolve(df, f, label, expected_by, "feature") for f in (features or [])]
    for role, names in (("target", tnames), ("feature", fnames)):
        for c in names:
            if c in (date_name, id_name):
                what = "time" if c == date_name else "series id"
                raise UsageError(f"column {c!r} is the {what} column; it cannot also be a {role}")
        if len(set(names)) < len(names):
            raise UsageError(f"a {role} column is given twice: {', '.join(names)}")
    if set(tnames) & set(fnames):
        both = sorted(set(tnames) & set(fnames))[0]
        raise UsageError(f"column {both!r} is both a target and a feature")
    if tnames:
        return tnames, fnames
    others = [c for c in df.columns if c not in (date_name, id_name, *fnames)
              and not c.startswith("Unnamed: ")]  # unnamed columns are row numbers
    numeric = [c for c in others if column_kind(df[c]) != "text"]
    if len(numeric) == 1:
        return numeric, fnames
    numeric_text = listed(numeric)
    by_key = {re.sub(r"[^a-z0-9]", "", c.casefold()): c for c in reversed(numeric)}
    for key in CONVENTIONAL_TARGETS:
        if key in by_key:
            notes.append(f"{label}: forecasting {by_key[key]!r} (numeric columns: {numeric_text}; "
                         "choose with --target)")
            return [by_key[key]], fnames
    if not numeric:
        raise DataError(f"{label}: no numeric column to forecast besides the time column {date_name!r} "
                        f"(columns: {listed(df.columns)})")
    raise DataError(f"{label}: which column should be forecast? Numeric columns: {numeric_text} "
                    "(pass --target COLUMN)")


# --- cleaning ----------------------------------------------------------------------------

def _longest_run(flags: np.ndarray) -> int:
    """The longest run of True in a boolean vector."""
    if not flags.any():
        return 0
    edges = np.diff(np.r_[0, flags.view(np.int8), 0])
    return int((np.flatnonzero(edges == -1) - np.flatnonzero(edges == 1)).max())


@dataclass
class _Cleaner:
    """Sorts, dedupes, regularises and fills the series of one file; counts for the notes."""

    label: str
    date_col: str
    columns: list[str]
    fill: str
    dedupe: str | None
    by_id: bool
    freq: str | None = None
    freq_given: bool = False
    limit: int | None = None
    calendar: tuple[int, ...] | None = None  # open slots of the week (data.calendar)
    n_targets: int = 1
    keep_ahead: bool = False  # rows after the last target value are future covariates
    mask: bool = False  # missing target values stay missing (NaN), not filled
    can_mask: bool = False  # the data is read to fit a model: --missing mask may be suggested
    ahead: dict[str, pd.DataFrame] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ["unsorted", "dups", "resampled", "trimmed", "cells", "periods", "masked", "ahead"], 0))

    def where(self, key: str) -> str:
        return f"{self.label}, series {key!r}" if self.by_id else self.label

    def sort_dedupe(self, key, ts, vals, lines):
        """Sort one series by time and resolve repeated timestamps."""
        if len(ts) > 1 and not (ts[1:] >= ts[:-1]).all():
            order = np.argsort(ts, kind="stable")
            ts, vals, lines = ts[order], vals[order], lines[order]
            self.counts["unsorted"] += 1
        dup = ts[1:] == ts[:-1]
        if not dup.any():
            return ts, vals, lines
        if self.dedupe is None:
            examples = []
            for t in pd.unique(ts[1:][dup])[:3]:
                at = lines[ts == t]
                more = ", ..." if len(at) > 3 else ""
                examples.append(f"{fmt_time(t)} (lines {', '.join(map(str, at[:3]))}{more})")
            hint = "" if self.by_id else ", or --id-col COLUMN if the file holds several series"
            repeat = "row repeats" if dup.sum() == 1 else "rows repeat"
            raise DataError(f"{self.where(key)}: {int(dup.sum())} {repeat} an earlier timestamp, e.g. "
                            f"{', '.join(examples)}; pass --dedupe first, last or mean{hint}")
        self.counts["dups"] += int(dup.sum())
        first = np.r_[True, ~dup]
        if self.dedupe == "mean":
            frame = pd.DataFrame(vals).groupby(ts, sort=True).mean()
            return frame.index.to_numpy(), frame.to_numpy(), lines[first]
        keep = first if self.dedupe == "first" else np.r_[~dup, True]
        return ts[keep], vals[keep], lines[keep]

    def infer(self, key, ts) -> str:
        if len(ts) < 2:
            raise DataError(f"{self.where(key)}: a single timestamp; cannot tell the frequency "
                            "(pass --freq)")
        freq = infer_freq(ts)
        if freq is None:
            raise DataError(f"{self.where(key)}, column {self.date_col!r}: timestamps are not evenly "
                            "spaced (pass --freq to put them on a grid, e.g. "
                            f"--freq {suggest_freq(ts)})")
        return freq

    def regularise(self, key, ts, vals, lines) -> pd.DataFrame:
        """One sorted, unique series on the grid of ``freq``, ends trimmed, gaps filled."""
        offset = period(self.freq)[1]
        n_grid = grid_size(ts[0], ts[-1], self.freq)
        if n_grid > 10 * len(ts) + 1000:
            raise DataError(f"{self.where(key)}: --freq {self.freq} would make {n_grid} periods out of "
                            f"{len(ts)} rows (choose a coarser --freq)")
        grid = pd.date_range(ts[0], ts[-1], freq=offset, unit=np.datetime_data(ts.dtype)[0])
        if self.calendar is not None:
            grid = grid[calendar.keep(grid, self.freq, self.calendar)]
        g, t = grid.asi8, ts.view(np.int64)
        if len(g) == len(t) and np.array_equal(g, t):
            full, line_at = vals, lines
        else:
            pos = np.minimum(np.searchsorted(g, t), max(len(g) - 1, 0))
            off = g[pos] != t if len(g) else np.ones(len(t), bool)
            if off.any() and not self.freq_given:
                i = int(np.argmax(off))
                raise DataError(f"{self.label} line {lines[i]}, column {self.date_col!r}: "
                                f"{fmt_time(ts[i])} is off the {self.freq} grid of the other rows "
                                f"(pass --freq to average rows per period, e.g. --freq {self.freq})")
            if off.any():
                frame = pd.DataFrame(vals, index=pd.DatetimeIndex(ts)).resample(offset).mean()
                self.counts["resampled"] += len(ts)
                if self.calendar is not None:
                    frame = frame[calendar.keep(frame.index, self.freq, self.calendar)]
                grid, full, line_at = frame.index, frame.to_numpy(), np.zeros(len(frame), np.int64)
            else:
                full = np.full((len(g), vals.shape[1]), np.nan)
                full[pos] = vals
                line_at = np.zeros(len(g), np.int64)
                line_at[pos] = lines
        if self.keep_ahead:  # the rows after the last target value: the future covariates
            known = ~np.isnan(full[:, :self.n_targets]).any(axis=1)
            end = len(known) - int(np.argmax(known[::-1])) if known.any() else 0
            offset_free = self.calendar is not None
            self.ahead[key] = pd.DataFrame(full[end:], columns=self.columns, copy=True, index=pd.DatetimeIndex(
                grid[end:], freq=None if offset_free else offset, name=self.date_col))
            self.counts["ahead"] = max(self.counts["ahead"], len(full) - end)
            grid, full, line_at = grid[:end], full[:end], line_at[:end]
        missing = np.isnan(full)
        if self.mask:  # interior missing targets are kept (masked later), ends still trimmed
            inner = missing.copy()
            inner[:, :self.n_targets] = False
            complete = ~inner.any(axis=1) & ~np.isnan(full[:, :self.n_targets]).all(axis=1)
        else:
            complete = ~missing.any(axis=1)
        if missing.any():
            if not complete.any():
                raise DataError(f"{self.where(key)}: no time step has a value in every one of the "
                                f"columns {listed(self.columns)}")
            a, b = int(np.argmax(complete)), len(complete) - int(np.argmax(complete[::-1]))
            if self.mask:  # the history starts and ends on observed targets
                known = np.flatnonzero(~np.isnan(full[a:b, :self.n_targets]).all(axis=1))
                a, b = a + int(known[0]), a + int(known[-1]) + 1
            self.counts["trimmed"] += len(complete) - (b - a)
            grid, full, line_at, missing = grid[a:b], full[a:b], line_at[a:b], missing[a:b]
        if self.mask and missing[:, :self.n_targets].any():
            self.counts["masked"] += int(missing[:, :self.n_targets].sum())
            missing = missing.copy()
            missing[:, :self.n_targets] = False
        if missing.any():
            if not full.flags.writeable:  # a view of pyarrow-backed data after dedupe: fill a copy
                full = full.copy()
            self._fill(key, full, missing, grid, line_at)
            self.counts["cells"] += int(missing.sum())
            self.counts["periods"] += int((missing.all(axis=1) & (line_at == 0)).sum())
        index = pd.DatetimeIndex(grid, freq=offset if self.calendar is None else None, name=self.date_col)
        return pd.DataFrame(full, index=index, columns=self.columns, copy=False)

    def _fill(self, key, full, missing, grid, line_at) -> None:
        """Fill interior gaps in place, refusing runs longer than ``limit``."""
        try_fill = "try --fill interpolate or --fill ffill"
        runs = [_longest_run(missing[:, j]) for j in range(len(self.columns))]
        # masking leaves missing targets out of the loss; inputs are still filled
        maskable = (self.can_mask and not self.mask and self.limit is not None
                    and max(runs[self.n_targets:], default=0) <= self.limit)
        for j, col in enumerate(self.columns):
            m = missing[:, j]
            if not m.any():
                continue
            edges = np.diff(np.r_[0, m.view(np.int8), 0])
            starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
            if self.fill == "error":
                i = int(starts[0])
                if line_at[i]:
                    raise DataError(f"{self.label} line {line_at[i]}, column {col!r}: empty cell "
                                    f"({try_fill})")
                raise DataError(f"{self.where(key)}: no row for {fmt_time(grid[i])} (the data is "
                                f"{self.freq}; {try_fill})")
            if self.limit is not None and (ends - starts).max() > self.limit:
                k = int(np.argmax(ends - starts))
                first, last = fmt_time(grid[starts[k]]), fmt_time(grid[ends[k] - 1])
                raise DataError(f"{self.where(key)}, column {col!r}: {ends[k] - starts[k]} values "
                                f"missing in a row from {first} to {last}, more than the fill limit "
                                f"of {self.limit} (try --fill ffill, a larger --fill-limit, "
                                + ("a coarser --freq, or --missing mask to leave them out of training)"
                                   if maskable and j < self.n_targets else "or a coarser --freq)"))
            if self.fill == "interpolate":
                known, gaps = np.flatnonzero(~m), np.flatnonzero(m)
                full[gaps, j] = np.interp(gaps, known, full[known, j])
            else:
                full[:, j] = full[np.maximum.accumulate(np.where(m, 0, np.arange(len(m)))), j]

    def notes(self, n_series: int) -> list[str]:
        c, label, notes = self.counts, self.label, []
        in_series = f" in {n_series} series" if self.by_id else ""
        if c["masked"]:
            notes.append(f"{label}: {_n(c['masked'], 'missing target value')}{in_series} left out of the "
                         "loss (--missing mask)")
        if c["unsorted"]:
            notes.append(f"{label}: rows were not in time order; sorted by {self.date_col!r}")
        if c["dups"]:
            notes.append(f"{label}: merged {_n(c['dups'], 'row')} with a repeated timestamp "
                         f"(--dedupe {self.dedupe})")
        if c["resampled"]:
            notes.append(f"{label}: put {_n(c['resampled'], 'row')} onto the {self.freq} grid, "
                         "averaging within each period")
        if c["trimmed"]:
            notes.append(f"{label}: dropped {_n(c['trimmed'], 'leading or trailing period')} where a "
                         f"column was empty{in_series}")
        if c["cells"]:
            how = "interpolation" if self.fill == "interpolate" else "carrying the last value forward"
            periods = f", {_n(c['periods'], f'missing {self.freq} period')}" if c["periods"] else ""
            filled = _n(c["cells"], "missing value")
            notes.append(f"{label}: filled {filled} by {how}{in_series}{periods}")
        return notes

"""Writing result frames: CSV, JSON or a Rich table, to stdout or atomically to a file.

Owns the data side of the command line's output: the CLI decides what to print, this
module decides how it looks. Progress and messages never come here (they go to stderr
in :mod:`lstmcast.cli`).
"""

from __future__ import annotations

import errno
import json
import re
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd




def choose_format(fmt: str | None, output: str | None) -> str:
    """Explicit --format; else from the output file's extension; else table on a terminal, CSV otherwise."""
    if fmt is not None:  # checked where the option is made (config.OutputConfig)
        return fmt
    if output and output != "-":
        suffix = Path(output).suffix.lower()
        return "json" if suffix == ".json" else "csv"
    return "table" if sys.stdout.isatty() else "csv"


def _dates_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps as ISO 8601 text: plain dates when every time is midnight."""
    frame = frame.copy()
    for col in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[col]):
            ts = frame[col]
            midnight = (ts.dt.hour == 0).all() and (ts.dt.minute == 0).all() and (ts.dt.second == 0).all()
            frame[col] = ts.dt.strftime("%Y-%m-%d") if midnight else ts.map(lambda t: t.isoformat())
    return frame


def render(frame: pd.DataFrame, fmt: str, title: str | None = None) -> str:
    """The frame as text in ``fmt`` (``table`` renders with Rich, no colours)."""
    frame = _dates_as_text(frame)
    if fmt == "csv":
        return _numbers_as_text(frame, exact=True).to_csv(index=False)
    if fmt == "json":
        records = json.loads(frame.to_json(orient="records", double_precision=10))
        return json.dumps(records, indent=2) + "\n"
    from rich.console import Console
    from rich.table import Table

    numeric = {c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])}
    text = _numbers_as_text(frame, exact=False)
    table = Table(title=title, show_edge=False, header_style="bold")
    needed = 0
    for col in frame.columns:
        header = _header(str(col), frame.columns)
        cells = text[col].astype(str)
        # numbers and times never wrap; long names (series ids, labels) fold at 24 characters
        wide = max([len(line) for line in header.split("\n")] + [len(c) for c in cells])
        fixed = col in numeric or _is_time(frame[col])
        width = wide if fixed else min(wide, 24)
        needed += width + 3
        table.add_column(header, justify="right" if col in numeric else "left", no_wrap=fixed,
                         overflow="fold", min_width=width if fixed else None, max_width=None if fixed else 24)
    for row in text.itertuples(index=False):
        table.add_row(*(str(v) for v in row))
    # the terminal's width; wider when the table needs it (the terminal wraps, digits stay whole)
    console = Console(file=_Capture(), width=max(shutil.get_terminal_size((100, 24)).columns, needed),
                      force_terminal=False, no_color=True)
    console.print(table)
    return console.file.text


def forecast_frame(forecast) -> pd.DataFrame:
    """A Forecast as the frame to print: times written the way the input wrote them."""
    from lstmcast.data.timeparse import format_times

    frame = forecast.to_frame()
    frame[forecast.date_col] = format_times(frame[forecast.date_col], forecast.time_form)
    return frame


STREAM_SERIES = 500  # series per chunk of streamed CSV forecast output


def write_forecast(forecast, fmt: str, output: str | None) -> None:
    """A forecast to stdout or ``output``: CSV streamed a chunk of series at a time (the
    first rows of 10,000 series' forecasts appear at once, and ``| head`` stops the work),
    JSON and tables whole. The text is the same as :func:`write` of the whole frame."""
    from dataclasses import replace

    keys = list(forecast.series)
    if fmt != "csv" or len(keys) <= STREAM_SERIES:
        write(forecast_frame(forecast), fmt, output, title="forecast")
        return
    limits = _limits(forecast)
    chunks = (forecast_frame(replace(forecast, series={k: forecast.series[k] for k in keys[a:a + STREAM_SERIES]}))
              for a in range(0, len(keys), STREAM_SERIES))

    def texts():
        for i, frame in enumerate(chunks):
            yield _numbers_as_text(_dates_as_text(frame), exact=True, limits=limits).to_csv(index=False, header=i == 0)
    if output and output != "-":
        from lstmcast.files.atomic import atomic_open

        with atomic_open(output, "w", encoding="utf-8", newline="") as fh:
            for text in texts():
                fh.write(text)
    else:
        for text in texts():
            to_stdout(text)


def _limits(forecast) -> dict[str, float]:
    """Each output column's largest finite magnitude over every series (what
    :func:`_numbers_as_text` measures "near zero" against), from the arrays."""
    out: dict[str, float] = {}

    def top(arrays, j):
        vals = np.concatenate([np.abs(a[:, j]) for a in arrays])
        vals = vals[np.isfinite(vals)]
        return float(vals.max()) if vals.size else 0.0
    series = list(forecast.series.values())
    for j, t in enumerate(forecast.targets):
        out[t] = top([s.point for s in series], j)
        for level in forecast.levels:
            out[forecast.column(t, "lower", level)] = top([s.lower[level] for s in series], j)
            out[forecast.column(t, "upper", level)] = top([s.upper[level] for s in series], j)
    return out


def write(frame: pd.DataFrame, fmt: str, output: str | None, title: str | None = None) -> None:
    """Print to stdout, or write ``output`` atomically."""
    text = render(frame, fmt, title)
    if output and output != "-":
        from lstmcast.files.atomic import atomic_open

        with atomic_open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        to_stdout(text)


def to_stdout(text: str | bytes) -> None:
    """Data (text, or bytes such as an ONNX file) to stdout, flushed; a full or broken
    stdout becomes exit 73, not a traceback; so does a stdout that was closed when the
    command started (``>&-``): the data would go nowhere."""
    if getattr(sys.stdout, "lstmcast_closed", False):
        e = OSError(errno.EBADF, "it was closed (>&-), so the data would be lost")
        e.lstmcast_stdout = True
        raise e
    try:
        if isinstance(text, bytes):
            sys.stdout.flush()
            sys.stdout.buffer.write(text)
            sys.stdout.buffer.flush()
        else:
            sys.stdout.write(text)
            sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as e:  # /dev/full, a closed descriptor
        e.lstmcast_stdout = True
        raise


def _is_time(column: pd.Series) -> bool:
    return bool(column.astype(str).str.match(r"\d{4}").all())


_BOUND = re.compile(r"(.+)_(lower|upper)_([0-9.]+)")


def _header(col: str, columns) -> str:
    """Short headers for the interval bounds: ``lo 80`` / ``hi 80`` (with the target's
    name above when there are several targets)."""
    m = _BOUND.fullmatch(col)
    if not m:
        return col
    short = f"{'lo' if m.group(2) == 'lower' else 'hi'} {m.group(3)}"
    targets = {b.group(1) for c in columns if (b := _BOUND.fullmatch(str(c)))}
    return f"{m.group(1)}\n{short}" if len(targets) > 1 else short


def _numbers_as_text(frame: pd.DataFrame, exact: bool, limits: dict[str, float] | None = None) -> pd.DataFrame:
    """Float columns as text without exponents for ordinary magnitudes: every digit that
    round-trips (``exact``, for CSV), or the fewest significant digits, from 4, that keep
    consecutive different values apart (tables). Values within 1e-12 of the column's
    largest magnitude (or ``limits[column]``) from zero are printed as 0. In tables, two
    empty cells (NaN) are alike, and so are values 1e-12 apart (float rounding noise, as
    between a model's mean and a baseline's that forecast the same): either once made a
    column look for 17 digits to tell them apart."""
    out = frame.copy()
    for col in frame.columns:
        if not pd.api.types.is_float_dtype(frame[col]):
            continue
        values = frame[col].to_numpy(dtype=np.float64)
        finite = np.abs(values[np.isfinite(values)])
        largest = limits[col] if limits and col in limits else (finite.max() if finite.size else 0)
        values = np.where(np.abs(values) < largest * 1e-12, 0.0, values)
        if exact:
            out[col] = [_number(v, None) for v in values]
            continue
        a, b = values[1:], values[:-1]
        both = np.isfinite(a) & np.isfinite(b)
        fa, fb = np.where(both, a, 0.0), np.where(both, b, 0.0)
        alike = ((a == b) | (np.isnan(a) & np.isnan(b))
                 | (both & (np.abs(fa - fb) <= 1e-12 * np.maximum(np.abs(fa), np.abs(fb)))))
        changes = np.flatnonzero(~alike)
        for digits in range(4, 18):
            texts = [_number(v, digits) for v in values]
            if all(texts[i] != texts[i + 1] for i in changes):
                break
        out[col] = texts
    return out


def _number(v: float, digits: int | None) -> str:
    """One number: positional for 1e-4 <= |v| < 1e16, else scientific; ``digits``
    significant digits, or as many as round-trip exactly (None). Rounded text never
    states digits the value does not have: the whole part is kept whole (2345678, not
    2346000), and trailing zeros that rounding made are kept (0.99998 is ``1.000``, not
    ``1``; 22.4977 is ``22.50``); they are dropped where the value is that exactly (2.5)."""
    if not np.isfinite(v):
        return "" if np.isnan(v) else ("inf" if v > 0 else "-inf")
    if v == 0:
        return "0"
    if 1e-4 <= abs(v) < 1e16:
        if digits is None:
            return np.format_float_positional(v, unique=True, trim="-")
        whole = len(str(int(abs(v)))) if abs(v) >= 1 else 0
        text = np.format_float_positional(v, precision=max(digits, whole), unique=False, fractional=False,
                                          trim="k").rstrip(".")
        short = text.rstrip("0").rstrip(".") if "." in text else text
        return short if abs(float(short) - v) <= 1e-12 * abs(v) else text
    return repr(float(v)) if digits is None else f"{v:.{digits}g}"


class _Capture:
    """A minimal text sink for Rich."""

    def __init__(self):
        self.parts: list[str] = []

    def write(self, s: str) -> int:
        self.parts.append(s)
        return len(s)

    def flush(self) -> None:
        pass

    @property
    def text(self) -> str:
        return "".join(self.parts)

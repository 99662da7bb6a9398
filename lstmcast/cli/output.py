"""Writing result frames: CSV, JSON or a Rich table, to stdout or atomically to a file.

Owns the data side of the command line's output: the CLI decides what to print, this
module decides how it looks. Progress and messages never come here (they go to stderr
in :mod:`lstmcast.cli`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd

from lstmcast.errors import UsageError

FORMATS = ("csv", "json", "table")


def choose_format(fmt: str | None, output: str | None) -> str:
    """Explicit --format; else from the output file's extension; else table on a terminal, CSV otherwise."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise UsageError(f"--format must be csv, json or table, not {fmt!r}")
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
        return frame.to_csv(index=False, float_format="%.6g")
    if fmt == "json":
        records = json.loads(frame.to_json(orient="records", double_precision=10))
        return json.dumps(records, indent=2) + "\n"
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_edge=False, header_style="bold")
    for col in frame.columns:
        table.add_column(str(col), justify="right" if pd.api.types.is_numeric_dtype(frame[col]) else "left")
    for row in frame.itertuples(index=False):
        table.add_row(*(_cell(v) for v in row))
    console = Console(file=_Capture(), width=max(80, min(200, 14 * len(frame.columns))),
                      force_terminal=False, no_color=True)
    console.print(table)
    return console.file.text


def write(frame: pd.DataFrame, fmt: str, output: str | None, title: str | None = None) -> None:
    """Print to stdout, or write ``output`` atomically."""
    text = render(frame, fmt, title)
    if output and output != "-":
        from lstmcast.files.atomic import atomic_open

        with atomic_open(output, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
    else:
        sys.stdout.write(text)
        sys.stdout.flush()


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1e5 else f"{v:,.0f}"
    return str(v)


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

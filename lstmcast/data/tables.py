"""Inputs beyond one CSV: Parquet files, and folders or globs of files (one series per file).

Owns which bytes make one raw frame:

* a Parquet file (by its magic bytes ``PAR1``, whatever its name, also on stdin) is read
  with pyarrow (``pip install 'lstmcast[parquet]'``); its timestamp columns arrive as
  times and its numbers as numbers;
* a folder (``data/``) or a glob (``'data/*.csv'``, quoted so that lstmcast expands it) is
  read file by file (CSV, compressed CSV or Parquet, in name order; hidden files skipped),
  every file one series whose id is the file's name without its extensions, in a column
  ``series`` (or ``--id-col NAME``); the files must share their columns. The input limit
  (``--max-input-mb``) counts all files together, and the checksum covers every file's
  name and bytes.

Everything below the raw frame (times, numbers, cleaning) is the same as for one CSV.
"""

from __future__ import annotations

import glob
import hashlib
import io
import os

import pandas as pd

from lstmcast.data.csvfile import MAX_COLUMNS, MB, decompress, read_bytes, read_frame
from lstmcast.errors import DataError, InputMissingError, LstmcastError, UsageError

SERIES_COL = "series"
_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip", ".csv", ".tsv", ".txt", ".parquet", ".pq")


def is_parquet(data: bytes) -> bool:
    return data[:4] == b"PAR1" and data[-4:] == b"PAR1"


def read_table(data: bytes, label: str, decimal: str = ".", limit: int = 1024 * MB) -> pd.DataFrame:
    """A raw frame from the (decompressed) bytes of one file: Parquet or CSV. A Parquet
    file is compressed inside: its size says nothing about the memory it takes (100
    million rows fit in 1 MB), so :func:`_read_parquet` keeps to ``limit`` as it reads."""
    if not is_parquet(data):
        return read_frame(data, label, decimal)
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise UsageError(f"{label} is a Parquet file; reading it needs pyarrow: "
                         "pip install 'lstmcast[parquet]'") from None
    try:
        df = _read_parquet(data, label, limit).to_pandas()
    except LstmcastError:
        raise
    except Exception as e:  # pyarrow's errors have no common base worth naming
        raise DataError(f"{label}: not a readable Parquet file ({str(e).splitlines()[0]})") from None
    if not isinstance(df.index, pd.RangeIndex):  # an index written by pandas: a column again
        df = df.reset_index()
    df.columns = [str(c) for c in df.columns]
    for c in df.columns:  # times with a zone are read as the zone's wall-clock times, as from CSV
        if isinstance(df[c].dtype, pd.DatetimeTZDtype):
            df[c] = df[c].dt.tz_localize(None)
    if len(df) == 0:
        raise DataError(f"{label} has no data rows")
    return df


def _read_parquet(data: bytes, label: str, limit: int):
    """The Arrow table of a Parquet file, refused before reading when its metadata says it
    is too big (rows x columns, the row groups' uncompressed sizes, the column count as
    for CSV), and while reading when the row groups read so far pass ``limit`` (the
    metadata of a crafted file may understate them)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(io.BytesIO(data))
    md = pf.metadata
    if md.num_columns > MAX_COLUMNS:
        raise DataError(f"{label}: {md.num_columns} columns; lstmcast reads at most {MAX_COLUMNS} "
                        "(keep the columns you need)")
    sizes = sum(md.row_group(i).total_byte_size for i in range(md.num_row_groups))
    if max(sizes, md.num_rows * md.num_columns * 8) > limit:
        raise DataError(f"{label}: {md.num_rows:,} rows x {md.num_columns} columns, more than "
                        f"{limit // MB} MB once read, the input limit (--max-input-mb; raise it if the "
                        "file is real)")
    parts, total = [], 0
    for i in range(md.num_row_groups):
        part = pf.read_row_group(i)
        total += part.nbytes
        if total > limit:
            raise DataError(f"{label}: more than {limit // MB} MB of data once read, the input limit "
                            "(--max-input-mb; raise it if the file is real)")
        parts.append(part)
    return pa.concat_tables(parts) if parts else pf.schema_arrow.empty_table()


def expand(source) -> list[str] | None:
    """The files of a folder or glob, in name order; None for one file or ``-``."""
    text = os.fspath(source)
    if text == "-":
        return None
    if os.path.isdir(text):
        files = [os.path.join(text, n) for n in sorted(os.listdir(text))
                 if not n.startswith(".") and os.path.isfile(os.path.join(text, n))]
        if not files:
            raise InputMissingError(f"{text}: an empty folder (expected one file per series)")
        return files
    if not os.path.exists(text) and any(c in text for c in "*?["):
        files = sorted(f for f in glob.glob(text) if os.path.isfile(f))
        if not files:
            raise InputMissingError(f"{text}: no file matches")
        return files
    return None


def series_name(path: str) -> str:
    """``data/store_7.csv.gz`` -> ``store_7``."""
    name = os.path.basename(path)
    while True:
        root, ext = os.path.splitext(name)
        if not ext or ext.lower() not in _SUFFIXES:
            return name
        name = root


def read_files(files: list[str], label: str, id_col: str | None, limit: int,
               decimal: str = ".") -> tuple[pd.DataFrame, str, str]:
    """(one long frame with the id column, the id column's name, sha256 of names and bytes)."""
    id_name = id_col or SERIES_COL
    digest = hashlib.sha256()
    frames, total, seen = [], 0, {}
    columns = None
    for path in files:
        try:
            raw, _ = read_bytes(path, limit=limit - total)
        except DataError:  # over what is left of the limit
            total = limit + 1
            break
        total += len(raw)
        digest.update(os.path.basename(path).encode("utf-8", "surrogateescape") + b"\0" + raw)
        df = read_table(decompress(raw, path, limit), path, decimal, limit)
        key = series_name(path)
        if key in seen:
            raise DataError(f"{label}: {seen[key]} and {path} are both series {key!r} (one file per series)")
        seen[key] = path
        if id_name in df.columns:
            raise DataError(f"{path} has a column {id_name!r}, the name lstmcast gives the series' id when "
                            f"reading a folder (pass --id-col with another name)")
        if columns is None:
            columns = list(df.columns)
        elif list(df.columns) != columns:
            raise DataError(f"{path}: columns {list(df.columns)[:12]} differ from {files[0]}'s {columns[:12]} "
                            "(the files of a folder must share their columns)")
        frames.append(df.assign(**{id_name: key}))
    if total > limit:
        raise DataError(f"{label}: more than {limit // MB} MB of data, the input limit "
                        "(raise it with --max-input-mb, or give fewer files)")
    return pd.concat(frames, ignore_index=True), id_name, digest.hexdigest()

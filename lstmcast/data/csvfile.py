"""CSV files: the bytes of a path or of stdin -> a raw pandas frame.

Owns the file format, not its meaning: reading a path or ``-`` (stdin, read once),
decompression (by extension: ``.gz``, ``.bz2``, ``.xz``, ``.zip``, ``.zst``, ``.tar*``;
by magic bytes when the name says nothing, as on stdin), UTF-8 with or without BOM,
the delimiter (``,``, ``;``, tab or ``|``, whichever the header line uses most) and the
parse into a frame whose columns are numbers where pandas could read them and strings
elsewhere.  Blank lines are kept as empty rows so that row ``i`` is line ``i + 2``.
Then, per column, the cells as float64 (:func:`to_numbers`), refusing the first cell
that is not a number with the fix to try (``--thousands ,``, ``--decimal ,`` ...).

A missing or unreadable file is an InputMissingError; bytes that are not a CSV are a
DataError.  Imports numpy, pandas and lstmcast.errors only.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import stat
import sys
import tarfile
import warnings
import zipfile
import zlib

import numpy as np
import pandas as pd

from lstmcast.errors import DataError, InputMissingError

# Cells read as missing, on top of pandas' defaults ("", "NA", "NaN", "null", "#N/A", ...):
# FRED writes ".", loggers "-" or "?".
NA_VALUES = [".", "-", "--", "?", "#VALUE!", "#DIV/0!"]
_EXTENSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip", ".zst": "zstd",
               ".tar": "tar", ".tgz": "tar"}
_MAGIC = {rb"\x1f\x8b": "gzip", rb"BZh[1-9]1AY&SY": "bz2", rb"\xfd7zXZ\x00": "xz",
          rb"PK\x03\x04": "zip", rb"\x28\xb5\x2f\xfd": "zstd"}


MB = 1 << 20
MAX_COLUMNS = 10_000


def _read_capped(stream, limit: int, label: str) -> bytes:
    """At most ``limit`` bytes of ``stream``, in chunks; more is a DataError (a file that
    never ends, such as /dev/zero, or a decompression bomb)."""
    chunks, total = [], 0
    while True:
        chunk = stream.read(min(16 * MB, limit + 1 - total))
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        total += len(chunk)
        if total > limit:
            raise DataError(f"{label}: more than {limit // MB} MB of data, the input limit "
                            "(raise it with --max-input-mb, or give a smaller file)")


def read_bytes(source, stdin=None, limit: int = 1024 * MB) -> tuple[bytes, str]:
    """(raw bytes, name for messages) of a path, or of stdin for ``"-"``; at most
    ``limit`` bytes."""
    if str(source) == "-":
        if stdin is None and sys.stdin is None:
            raise InputMissingError("cannot read - (stdin): it is closed")
        stream = stdin if stdin is not None else sys.stdin.buffer
        return _read_capped(stream, limit, "<stdin>"), "<stdin>"
    try:
        if stat.S_ISFIFO(os.stat(source).st_mode):
            return _read_fifo(str(source), limit), str(source)
        with open(source, "rb") as fh:
            return _read_capped(fh, limit, str(source)), str(source)
    except FileNotFoundError:
        raise InputMissingError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise InputMissingError(f"{source}: is a directory, not a CSV file") from None
    except PermissionError:
        raise InputMissingError(f"{source}: permission denied") from None
    except OSError as e:
        raise InputMissingError(f"{source}: cannot read ({e.strerror or e})") from None


FIFO_WAIT = 30.0  # seconds a named pipe may stay silent before it is taken to have no writer


def _read_fifo(path: str, limit: int) -> bytes:
    """A named pipe (or ``<(command)``): wait up to FIFO_WAIT s for its first bytes
    instead of hanging forever on one that no program writes to."""
    import select

    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        if not poller.poll(FIFO_WAIT * 1000):
            raise InputMissingError(f"{path}: a named pipe that nothing wrote to in {FIFO_WAIT:g} s "
                                    "(start the program that writes to it, or give a file)")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            return _read_capped(fh, limit, path)
    finally:
        os.close(fd)


def decompress(raw: bytes, label: str, limit: int = 1024 * MB) -> bytes:
    """Decompress by the extension of ``label``, else by magic bytes; plain bytes pass.
    At most ``limit`` bytes come out (a DataError beyond)."""
    name = label.lower()
    kind = next((k for ext, k in _EXTENSIONS.items() if name.endswith(ext)), None)
    if ".tar." in name:
        kind = "tar"
    elif kind is None:
        kind = next((k for magic, k in _MAGIC.items() if re.match(magic, raw)), None)
    try:
        if kind == "gzip":
            return _read_capped(gzip.GzipFile(fileobj=io.BytesIO(raw)), limit, label)
        if kind == "bz2":
            return _read_capped(bz2.BZ2File(io.BytesIO(raw)), limit, label)
        if kind == "xz":
            return _read_capped(lzma.LZMAFile(io.BytesIO(raw)), limit, label)
        if kind == "zstd":
            try:
                import zstandard
            except ImportError:
                raise DataError(f"{label}: reading .zst files needs the zstandard package "
                                "(pip install zstandard, or decompress the file first)") from None
            return _read_capped(zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw)), limit, label)
        if kind in ("zip", "tar"):
            return _single_member(raw, kind, label, limit)
    except (OSError, EOFError, ValueError, zlib.error, lzma.LZMAError, zipfile.BadZipFile,
            tarfile.TarError) as e:
        raise DataError(f"{label}: cannot decompress as {kind} ({e}); is the file complete?") from None
    return raw


def _single_member(raw: bytes, kind: str, label: str, limit: int) -> bytes:
    if kind == "zip":
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            names = [n for n in z.namelist() if not n.endswith("/") and not n.startswith("__MACOSX")]
            if len(names) == 1:
                with z.open(names[0]) as member:
                    return _read_capped(member, limit, label)
    else:
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:*") as t:
            members = [m for m in t.getmembers() if m.isfile()]
            if len(members) == 1:
                return _read_capped(t.extractfile(members[0]), limit, label)
            names = [m.name for m in members]
    raise DataError(f"{label}: the {kind} archive holds {len(names)} files, expected one CSV "
                    "(extract the one you want)")


def read_frame(data: bytes, label: str, decimal: str = ".") -> pd.DataFrame:
    """Parse CSV bytes into a frame of numbers and strings.

    Thousands separators are left to :func:`to_numbers`: given to pandas, they would
    turn dates such as ``01.02.2020`` into numbers.
    """
    head = data[:4096].lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    sep = max([b",", b";", b"\t", b"|"], key=head.count).decode()
    header = data.lstrip(b"\xef\xbb\xbf").split(b"\n", 1)[0]
    if header.count(sep.encode()) + 1 > MAX_COLUMNS:  # pandas renames duplicates in quadratic time
        raise DataError(f"{label}: the header has {header.count(sep.encode()) + 1} columns; lstmcast reads "
                        f"at most {MAX_COLUMNS} (keep the columns you need)")
    try:
        with warnings.catch_warnings():  # mixed types across chunks are checked cell by cell later
            warnings.simplefilter("ignore", pd.errors.DtypeWarning)
            df = pd.read_csv(io.BytesIO(data), sep=sep, encoding="utf-8-sig", skip_blank_lines=False,
                             decimal=decimal, na_values=NA_VALUES)
    except pd.errors.EmptyDataError:
        raise DataError(f"{label} is empty (expected a header line, then one row per time step)") \
            from None
    except pd.errors.ParserError as e:
        m = re.search(r"[Ee]xpected (\d+) fields in line (\d+), saw (\d+)", str(e))
        what = (f"line {m[2]}: {m[3]} fields where the header has {m[1]}" if m
                else str(e).strip().splitlines()[-1])
        raise DataError(f"{label} {what} (check the delimiter and quoting)") from None
    except UnicodeDecodeError:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            raise DataError(f"{label} line {line}: not UTF-8 text (byte 0x{data[e.start]:02x}); "
                            "save the file as UTF-8") from None
        raise
    if not isinstance(df.index, pd.RangeIndex):  # the header is one field short: an index
        df = df.reset_index()
        df.columns = ["Unnamed: 0", *df.columns[1:]]
    df.columns = [str(c) for c in df.columns]
    if len(df) == 0:
        raise DataError(f"{label} has a header but no data rows")
    return df


# --- cells -> numbers ---------------------------------------------------------------------

def listed(names, limit: int = 12) -> str:
    """Column names for a one-line message: the first ``limit``, then how many more."""
    names = [shown(n, 40) if len(str(n)) > 40 else repr(str(n)) for n in names]
    more = f", ... ({len(names) - limit} more)" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def shown(value, limit: int = 40) -> str:
    """A cell for a one-line message: in double quotes, control characters escaped, shortened."""
    text = str(value)
    text = text if len(text) <= limit else text[:limit] + "..."
    return '"' + re.sub(r"[\x00-\x1f\x7f]", lambda m: repr(m[0])[1:-1], text) + '"'


_NUMBERISH = r"\s*[-+(]?\s*[$€£¥]?\s*[-+]?[\d.,' ]*\d[\d.,' ]*\s*[%)]?\s*"


def column_kind(s: pd.Series) -> str:
    """"numeric", "dirty" (text that mostly looks like numbers) or "text"."""
    if pd.api.types.is_bool_dtype(s):
        return "text"
    if pd.api.types.is_numeric_dtype(s):
        return "numeric"
    sample = s.dropna().iloc[:1000].astype(str)
    if len(sample) and sample.str.fullmatch(_NUMBERISH).mean() >= 0.5:
        return "dirty"
    return "text"


def to_numbers(s: pd.Series, name: str, label: str, thousands, decimal) -> np.ndarray:
    """A column as float64, or a DataError naming the first cell that is not a number."""
    if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
        v = s.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        text = s.astype("str")
        if thousands:
            text = text.str.replace(thousands, "", regex=False)
            if decimal != ".":
                text = text.str.replace(decimal, ".", regex=False)
        v = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(np.isnan(v) & s.notna().to_numpy())
        if len(bad):
            i = int(bad[0])
            if column_kind(s) == "text":
                raise DataError(f"{label} line {i + 2}, column {name!r}: holds text such as "
                                f"{shown(s.iloc[i])}, not numbers (choose numeric columns with --target "
                                "and --features)")
            raise DataError(f"{label} line {i + 2}, column {name!r}: cannot parse {shown(s.iloc[i])} "
                            f"as a number ({_number_hint(str(s.iloc[i]), thousands, decimal)})")
    inf = np.flatnonzero(np.isinf(v))
    if len(inf):
        raise DataError(f"{label} line {int(inf[0]) + 2}, column {name!r}: infinite value "
                        "(replace it by a number or leave the cell empty)")
    return v


def _number_hint(value: str, thousands, decimal) -> str:
    v = value.strip()
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+", v) and thousands != "," and decimal != ",":
        return "try --thousands , or, for a European export, --decimal ,"
    if re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d*)?", v) and thousands != ",":
        return "try --thousands ,"
    if re.fullmatch(r"[-+]?\d*,\d+", v) and decimal != ",":
        return "try --decimal ,"
    if re.fullmatch(r"[-+]?\d{1,3}(\.\d{3})+(,\d*)?", v):
        return "try --thousands . --decimal ,"
    if re.search(r"[$€£¥%]", v):
        return "remove currency and percent signs from the column"
    return "fix the cell, or empty it to have it filled"

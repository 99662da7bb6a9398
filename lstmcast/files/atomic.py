"""Atomic file writes: readers see the old file or the complete new one, never a part.

Every file lstmcast writes (model, checkpoint, ``--output``, ``--plot``) goes through
:func:`atomic_open`: a hidden temporary file in the same directory, flushed and
fsynced, then moved into place with ``os.replace``, then the directory fsynced.
"""

from __future__ import annotations

import os
import secrets
from contextlib import contextmanager

from lstmcast.errors import OutputError


@contextmanager
def atomic_open(path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None):
    """Open ``path`` for writing so that readers see the old file or the complete new one.

    Writes go to a hidden temporary file in the same directory, which is flushed,
    fsynced and moved into place when the block ends; then the directory is fsynced
    (best effort). If the block raises anything (KeyboardInterrupt included) the
    temporary file is removed and ``path`` is untouched. An OSError, from the block's
    writes or from the move, becomes :class:`OutputError`: the block should only write.
    """
    if mode not in ("w", "wt", "wb"):
        raise ValueError(f"atomic_open writes whole files: mode must be 'w' or 'wb', got {mode!r}")
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    binary = "b" in mode
    tmp = None
    try:
        fd, tmp = _create_temp(folder, os.path.basename(target))
        with os.fdopen(fd, mode, encoding=None if binary else encoding,
                       newline=None if binary else newline) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
        tmp = None
    except BaseException as exc:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            raise OutputError(f"cannot write {target}: {reason} "
                              "(check the directory exists and is writable)") from None
        raise
    _fsync_dir(folder)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def _create_temp(folder: str, name: str) -> tuple[int, str]:
    """A new hidden file next to the target, created with the usual (umask) permissions."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{name[:120]}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


def _fsync_dir(folder: str) -> None:
    """Make the rename durable; not every platform can open a directory, so best effort."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)

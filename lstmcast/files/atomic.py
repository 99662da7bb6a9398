"""Atomic file writes: readers see the old file or the complete new one, never a part.

Every file lstmcast writes (model, checkpoint, ``--output``, ``--plot``) goes through
:func:`atomic_open`: a hidden temporary file in the same directory, flushed and
fsynced, then moved into place with ``os.replace``, then the directory fsynced.

What is at the destination decides the details:

- a regular file is replaced, keeping its permission bits, and its owner and group
  where the user may set them (a ``chmod 600`` model stays private); a new file gets
  the umask's permissions;
- a symbolic link is followed: the file it points to is replaced atomically and the link
  stays a link;
- anything that is not a regular file (``/dev/null``, ``/dev/stdout``, a terminal, a
  FIFO) is written straight through, never replaced;
- a directory is an :class:`OutputError`.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import stat
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
    binary = "b" in mode
    try:
        existing = os.stat(target)  # follows symbolic links
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None
    if existing is not None and stat.S_ISDIR(existing.st_mode):
        raise OutputError(f"cannot write {target}: it is a directory")
    if existing is not None and not stat.S_ISREG(existing.st_mode):
        with _straight_through(target, mode, encoding, newline) as fh:
            yield fh
        return
    if os.path.islink(target):
        target = os.path.realpath(target)
    folder = os.path.dirname(os.path.abspath(target))
    tmp = None
    try:
        fd, tmp = _create_temp(folder, os.path.basename(target))
        if existing is not None:
            _keep_mode_and_owner(fd, existing)
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
            hint = ("free some space there, or write elsewhere; nothing was changed"
                    if exc.errno in (errno.ENOSPC, errno.EDQUOT)
                    else "check the directory exists and is writable")
            raise OutputError(f"cannot write {target}: {reason} ({hint})") from None
        raise
    _fsync_dir(folder)


@contextmanager
def _straight_through(target: str, mode: str, encoding, newline):
    """Write to a device, terminal or FIFO as it is (replacing it would break it)."""
    binary = "b" in mode
    try:
        with open(target, mode, encoding=None if binary else encoding,
                  newline=None if binary else newline) as fh:
            yield fh
    except OSError as exc:
        raise OutputError(f"cannot write {target}: {exc.strerror or exc}") from None


def _keep_mode_and_owner(fd: int, old: os.stat_result) -> None:
    """Give the new file the replaced file's permissions, owner and group (as far as this
    user may: root keeps both, others keep the group when they belong to it)."""
    os.fchmod(fd, stat.S_IMODE(old.st_mode))
    if hasattr(os, "fchown"):
        for uid, gid in ((old.st_uid, old.st_gid), (-1, old.st_gid)):
            try:
                os.fchown(fd, uid, gid)
                break
            except OSError:
                continue
        os.fchmod(fd, stat.S_IMODE(old.st_mode))  # chown may clear set-id bits


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_open`)."""
    with atomic_open(path, "wb") as fh:
        fh.write(data)


def _create_temp(folder: str, name: str) -> tuple[int, str]:
    """A new hidden file next to the target, created with the usual (umask) permissions."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    # cut by bytes at a character boundary: the name plus 18 bytes must fit NAME_MAX (255)
    short = os.fsencode(name)[:200].decode("utf-8", "ignore")
    _remove_stale(folder, short)
    for _ in range(100):
        tmp = os.path.join(folder, f".{short}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name in {folder}")


STALE_SECONDS = 24 * 3600  # a temporary file this old was left by a killed run, not a running one


def _remove_stale(folder: str, short: str) -> None:
    """Remove this destination's temporary files left by a SIGKILL (older than a day)."""
    import glob
    import time

    now = time.time()
    for tmp in glob.glob(os.path.join(glob.escape(folder), f".{glob.escape(short)}.*.tmp")):
        if re.fullmatch(r"\.[0-9a-f]{12}\.tmp", tmp[len(os.path.join(folder, "." + short)):]):
            try:
                if now - os.lstat(tmp).st_mtime > STALE_SECONDS:
                    os.unlink(tmp)
            except OSError:
                pass


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

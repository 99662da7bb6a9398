"""One writer at a time for a model file: overlapping cron runs must not lose an update.

:func:`exclusive` takes an advisory lock (``flock``) on the model file itself, not on a
file beside it, so nothing is left in the user's folder. Two processes that would both
read the model, change it and write it back (``update``) cannot overlap: the second one
is refused with :class:`~lstmcast.errors.Busy` (exit 75, a temporary failure; cron's next
run tries again) instead of one silently losing the other's rows. A writer replaces the
file atomically (a new inode), and a process that gets the lock reads the model by its
path after locking, so it always builds on the newest complete file.
"""

from __future__ import annotations

import os
from contextlib import contextmanager

from lstmcast.errors import Busy

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking
    fcntl = None


@contextmanager
def exclusive(path, what: str = "the model"):
    """Hold an exclusive lock on ``path`` (which must exist) for the block, or raise
    Busy at once when another process holds it."""
    if fcntl is None:
        yield
        return
    fd = os.open(os.fspath(path), os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Busy(f"{path}: another lstmcast process is changing {what} (an update still "
                       "running?); try again when it has finished") from None
        yield
    finally:
        os.close(fd)  # releases the lock

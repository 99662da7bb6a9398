"""Where Numba caches compiled kernels, decided before Numba is imported.

Numba caches beside the package (``__pycache__``). When that folder is not writable
(a read-only install) it falls back to a cache under the user's home, and when there
is no writable home either (a cron job as a system user) every ``cache=True``
function fails at import with "no locator available". :func:`configure` sets
``NUMBA_CACHE_DIR`` for those cases; a user's own setting always wins.
"""

from __future__ import annotations

import os
import sys
import tempfile

def cache_dir(package_dir: str, writable=lambda d: os.access(d, os.W_OK)) -> str | None:
    """Where Numba should cache: None (beside the package) when that is writable, else
    ``$XDG_CACHE_HOME/lstmcast/numba`` (``~/.cache/...``), else a per-user temp folder.

    Numba's own fallback needs a writable home; without one (a cron job as a system
    user, a read-only install) every ``cache=True`` function fails at import.
    """
    pycache = os.path.join(package_dir, "__pycache__")
    if writable(pycache if os.path.isdir(pycache) else package_dir):
        return None
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    for candidate in (os.path.join(home, "lstmcast", "numba"),
                      os.path.join(tempfile.gettempdir(), f"lstmcast-numba-{os.getuid()}")):
        try:
            os.makedirs(candidate, mode=0o700, exist_ok=True)
        except OSError:
            continue
        if writable(candidate):
            return candidate
    return None


def configure() -> None:
    """Set NUMBA_CACHE_DIR when the package folder is not writable (idempotent)."""
    if "NUMBA_CACHE_DIR" in os.environ:
        return
    folder = cache_dir(os.path.dirname(os.path.abspath(__file__)))
    if folder:
        os.environ["NUMBA_CACHE_DIR"] = folder
        if "numba.core.config" in sys.modules:  # Numba was imported before us
            sys.modules["numba.core.config"].CACHE_DIR = folder

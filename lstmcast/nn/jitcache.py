"""Where Numba caches compiled kernels: a per-user folder keyed by versions, decided
before Numba is imported, never inside the installed package.

Files that pip does not own must not land in ``site-packages``: after ``pip install .``
and a first fit, a later ``pip install -e .`` left ``lstmcast/`` holding only Numba's
cache files, a namespace package that shadowed the editable install (``cannot import
name '__version__'``). So the kernels are cached in, by order of preference:

- ``$NUMBA_CACHE_DIR``, the user's own choice, used as it is;
- ``$XDG_CACHE_HOME/lstmcast/<key>`` (``~/.cache/lstmcast/<key>`` without it);
- ``<tempdir>/lstmcast-<uid>/<key>``, for a cron job as a system user whose home does
  not exist or is not writable.

``<key>`` names the lstmcast, Python and Numba versions, so an upgrade, a downgrade or a
switch between an installed and an editable copy never loads code compiled for another
(Numba also keys its files by the source file's path and timestamp).
"""

from __future__ import annotations

import os
import sys
import tempfile


def cache_key() -> str:
    """``lstmcast-<version>-py<X.Y>-numba-<version>``, without importing Numba."""
    from importlib.metadata import PackageNotFoundError, version

    from lstmcast import __version__

    try:
        numba = version("numba")
    except PackageNotFoundError:  # pragma: no cover - numba is a dependency
        numba = "unknown"
    return f"lstmcast-{__version__}-py{sys.version_info[0]}.{sys.version_info[1]}-numba-{numba}"


def cache_dir(writable=lambda d: os.access(d, os.W_OK)) -> str | None:
    """The folder for Numba's cache (see the module docstring); None when nothing is
    writable (Numba then compiles every run)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return os.environ["NUMBA_CACHE_DIR"]
    key = cache_key()
    home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    for candidate in (os.path.join(home, "lstmcast", key),
                      os.path.join(tempfile.gettempdir(), f"lstmcast-{uid}", key)):
        try:
            os.makedirs(candidate, mode=0o700, exist_ok=True)
        except OSError:
            continue
        if writable(candidate):
            return candidate
    return None


def configure() -> None:
    """Point Numba's cache at :func:`cache_dir` (idempotent; a user's setting wins)."""
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    folder = cache_dir()
    if folder:
        os.environ["NUMBA_CACHE_DIR"] = folder
        if "numba.core.config" in sys.modules:  # Numba was imported before us
            sys.modules["numba.core.config"].CACHE_DIR = folder


def is_cold() -> bool:
    """True when no compiled kernels are cached yet (the next training compiles them)."""
    folder = os.environ.get("NUMBA_CACHE_DIR") or cache_dir()
    if not folder or not os.path.isdir(folder):
        return True
    for _root, _dirs, files in os.walk(folder):
        if any(f.startswith("kernels.") and f.endswith(".nbi") for f in files):
            return False
    return True


def enabled() -> bool:
    """True when Numba caches compiled kernels: a writable cache folder (after
    :func:`configure`)."""
    folder = os.environ.get("NUMBA_CACHE_DIR")
    if not folder:
        return False
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)

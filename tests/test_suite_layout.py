"""The test suite runs all of itself: every ``test_*.py`` under ``tests/`` is collected by
the plain ``pytest`` command CI runs. pytest skips folders named ``dist``, ``build`` and
others by default (``norecursedirs``), and the Dask tests once went unrun for a whole
stage that way."""

import subprocess
import sys

from conftest import ROOT


def test_every_test_file_under_tests_is_collected():
    on_disk = {p.relative_to(ROOT).as_posix() for p in (ROOT / "tests").rglob("test_*.py")}
    r = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    collected = {line.split("::", 1)[0] for line in r.stdout.splitlines() if "::" in line}
    assert on_disk - collected == set(), "test files pytest does not collect"
    assert "tests/cluster/test_dask.py" in collected

"""The benchmark scripts stay runnable: each imports as a module of the ``benchmarks``
package (run from the repository's root as ``python -m benchmarks.<group>.<name>``), so a
moved helper or a renamed import fails here, not months later in a benchmark run."""

import subprocess
import sys

from conftest import ROOT


def test_every_benchmark_script_imports():
    scripts = sorted(p.relative_to(ROOT).with_suffix("").as_posix().replace("/", ".")
                     for p in (ROOT / "benchmarks").rglob("*.py")
                     if p.name != "__init__.py"
                     # runs in another Python (torch, neuralforecast), by path: not a module here
                     and p.name != "peers_worker.py")
    assert len(scripts) >= 20 and "benchmarks.accuracy.evidence" in scripts
    code = "import importlib, sys\nfor name in sys.argv[1:]:\n    importlib.import_module(name)\n"
    r = subprocess.run([sys.executable, "-c", code, *scripts], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]

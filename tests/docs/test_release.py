"""The release: ``python -m build`` makes a wheel and an sdist; the sdist is a checkout in
which the README's quick start works as written, and the wheel installs and forecasts.
The version a user sees is the one written in ``lstmcast/__init__.py``."""

import re
import subprocess
import sys
import tarfile
import zipfile

import pytest

import lstmcast
from conftest import ROOT


def quick_start() -> str:
    """The README's quick-start command, as a newcomer copies it."""
    section = (ROOT / "README.md").read_text().split("## Quick start", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0].strip()


def run(command, cwd, timeout=900):
    r = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                       shell=isinstance(command, str), executable="/bin/bash" if isinstance(command, str) else None)
    assert r.returncode == 0, f"{command}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope="module")
def dist(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)], cwd=out)
    return out


def test_the_version_is_written_once():
    sources = [p for p in [ROOT / "pyproject.toml", *ROOT.joinpath("lstmcast").rglob("*.py")]
               if re.search(r"""version_*\s*=\s*["']\d""", p.read_text())]
    assert sources == [ROOT / "lstmcast/__init__.py"]
    assert 'dynamic = ["version"]' in (ROOT / "pyproject.toml").read_text()
    assert f"## [{lstmcast.__version__}] - " in (ROOT / "CHANGELOG.md").read_text()


def test_the_wheel_and_the_sdist_hold_what_they_should(dist):
    wheel = next(dist.glob(f"lstmcast-{lstmcast.__version__}-py3-none-any.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "lstmcast/cli/app.py" in names and not any(n.startswith(("tests/", "benchmarks/")) for n in names)
    metadata = zipfile.ZipFile(wheel).read(f"lstmcast-{lstmcast.__version__}.dist-info/METADATA").decode()
    assert f"Version: {lstmcast.__version__}" in metadata and "Provides-Extra: all" in metadata
    sdist = next(dist.glob(f"lstmcast-{lstmcast.__version__}.tar.gz"))
    inside = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    assert {"README.md", "CHANGELOG.md", "LICENSE", "pyproject.toml", "sample_data/seattle-weather.csv",
            "lstmcast/__init__.py"} <= inside


def test_the_quick_start_runs_in_the_sdist_and_the_wheel_installs(dist, tmp_path):
    sdist = next(dist.glob("lstmcast-*.tar.gz"))
    with tarfile.open(sdist) as tar:
        tar.extractall(tmp_path, filter="data")
    src = next(tmp_path.glob("lstmcast-*"))
    base = getattr(sys, "_base_executable", sys.executable)  # a python3 outside the test's venv
    command = quick_start().replace("python3 ", f"{base} ", 1)
    r = run(command, cwd=src)
    header = "date,temp_max,temp_max_lower_80,temp_max_upper_80,temp_max_lower_95,temp_max_upper_95"
    lines = r.stdout.strip().splitlines()  # pip's own lines come first
    assert header in lines, r.stdout[-2000:]
    rows = lines[lines.index(header):]
    assert len(rows) == 15 and rows[1].startswith("2016-01-01,")
    assert (src / "lstmcast-model.safetensors").exists()
    wheel = next(dist.glob("lstmcast-*.whl"))
    run([str(src / ".venv/bin/pip"), "install", "-q", "--force-reinstall", "--no-deps", str(wheel)], cwd=src)
    version = run([str(src / ".venv/bin/lstmcast"), "--version"], cwd=tmp_path).stdout
    assert version.strip() == f"lstmcast {lstmcast.__version__}"
    again = run([str(src / ".venv/bin/lstmcast"), "forecast", "--model", str(src / "lstmcast-model.safetensors"),
                 "-H", "3"], cwd=tmp_path).stdout.splitlines()
    assert again == ["date,temp_max"] + [",".join(r.split(",")[:2]) for r in rows[1:4]]  # the same model


def _extra_requirements(extra: str) -> set[str]:
    """The distributions an extra of the installed lstmcast brings (its metadata, made
    from pyproject.toml: reinstall with ``pip install --no-deps -e .`` after editing it)."""
    from importlib.metadata import requires

    names = set()
    for req in requires("lstmcast") or []:
        spec, _, marker = req.partition(";")
        if re.search(rf"""extra\s*==\s*["']{extra}["']""", marker) or (extra == "" and not marker.strip()):
            names.add(re.match(r"[A-Za-z0-9_.-]+", spec.strip()).group(0).lower().replace("_", "-"))
    return names


def test_the_onnx_extra_brings_what_the_docs_onnx_example_imports():
    """The ONNX guide's Python example runs with ``pip install '.[onnx]'`` and nothing
    else: each module it imports is the standard library's, lstmcast's own dependencies'
    or the ``onnx`` extra's (``all`` too). The extra once brought onnx, not onnxruntime."""
    import ast
    from importlib.metadata import packages_distributions

    examples = __import__("conftest").docs_script("examples")
    page = (ROOT / "docs" / "guide" / "model-file.md").read_text()
    body = next(b.body for b in examples.blocks(page) if b.kind == "python" and "InferenceSession" in b.body)
    modules = {alias.name.split(".")[0] for node in ast.walk(ast.parse(body)) if isinstance(node, ast.Import)
               for alias in node.names}
    modules |= {node.module.split(".")[0] for node in ast.walk(ast.parse(body))
                if isinstance(node, ast.ImportFrom) and node.module}
    dists = packages_distributions()
    needed = {d.lower().replace("_", "-") for m in modules - set(sys.stdlib_module_names)
              for d in dists.get(m, [m])}
    assert "onnxruntime" in needed
    base = _extra_requirements("")
    assert needed - base <= _extra_requirements("onnx"), needed - base - _extra_requirements("onnx")
    assert needed - base <= _extra_requirements("all"), needed - base - _extra_requirements("all")
    # and the install page says what the extra installs
    line = next(x for x in (ROOT / "docs" / "getting-started.md").read_text().splitlines() if "'.[onnx]'" in x)
    assert all(name in line for name in _extra_requirements("onnx")), line

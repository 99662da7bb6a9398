"""Cron-style use: several processes at once on a cold JIT cache, and a package folder
that the running user cannot write to."""

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lstmcast.files import store
from lstmcast.nn.jitcache import cache_dir, cache_key
from test_cli import EXE, run

PACKAGE = Path(__file__).resolve().parents[2] / "lstmcast"


def test_cache_dir_is_the_users_own_choice_first(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_dir() == str(tmp_path / "mine")


def test_cache_dir_is_a_user_cache_keyed_by_versions(tmp_path, monkeypatch):
    import numba

    import lstmcast

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    got = cache_dir()
    key = f"lstmcast-{lstmcast.__version__}-py{sys.version_info[0]}.{sys.version_info[1]}-numba-{numba.__version__}"
    assert got == str(tmp_path / "xdg" / "lstmcast" / key) and os.path.isdir(got)
    assert cache_key() == key


def test_cache_dir_falls_back_to_temp_without_a_home(tmp_path, monkeypatch):
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/proc/no-such-place")
    got = cache_dir(writable=lambda d: not d.startswith("/proc"))
    assert got == os.path.join(__import__("tempfile").gettempdir(), f"lstmcast-{os.getuid()}", cache_key())


@pytest.fixture(scope="module")
def first_fits(tmp_path_factory):
    """A user's first fits, on which the two tests below check different things (one cold
    compile for both, about 8 s): a copy of the package as pip installs it (a folder on the
    path), an empty user cache in the default place (no NUMBA_ variables), two overlapping
    fits (same seed, same data) that both find the cache cold, then a third fit."""
    folder = tmp_path_factory.mktemp("first-fits")
    site = folder / "site-packages"
    shutil.copytree(PACKAGE, site / "lstmcast", ignore=shutil.ignore_patterns("__pycache__"))
    before = sorted(p.relative_to(site) for p in site.rglob("*"))
    many_series_csv(folder / "many.csv", n_series=3)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_")}
    env.update(PYTHONPATH=str(site), XDG_CACHE_HOME=str(folder / "cache"), PYTHONDONTWRITEBYTECODE="1")
    fit = [sys.executable, "-m", "lstmcast", "fit", "many.csv", "--id-col", "id", "--epochs", "2", "--hidden", "8",
           "--lookback", "14", "--horizon", "5", "-q"]
    procs = [subprocess.Popen([*fit, "--model", f"m{i}.safetensors"], cwd=folder, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in range(2)]
    outs = [p.communicate(timeout=900) for p in procs]
    started = time.perf_counter()
    third = subprocess.run([*fit, "--model", "m2.safetensors"], cwd=folder, env=env, capture_output=True)
    return dict(folder=folder, site=site, before=before, cache=folder / "cache" / "lstmcast" / cache_key(),
                codes=[p.returncode for p in procs], errors=[e.decode()[-500:] for _, e in outs],
                third=third, third_seconds=time.perf_counter() - started)


def test_a_fit_writes_nothing_into_the_installed_package(first_fits):
    """A copy of the package as pip installs it (a folder on the path): after a first fit
    from it, it holds exactly the files it had, so a later pip install (-e or not) owns
    every file in it; the compiled kernels are in the user cache."""
    assert first_fits["codes"] == [0, 0], first_fits["errors"]
    site = first_fits["site"]
    assert sorted(p.relative_to(site) for p in site.rglob("*")) == first_fits["before"]
    assert any(first_fits["cache"].rglob("*.nbi"))


def many_series_csv(path, n_series=20, n=120):
    rng = np.random.default_rng(3)
    frames = [pd.DataFrame({"id": f"s{i:02d}", "date": pd.date_range("2020-01-01", periods=n, freq="D"),
                            "value": (10 + i + np.sin(np.arange(n) / 3) + rng.normal(0, 0.1, n)).round(3)})
              for i in range(n_series)]
    pd.concat(frames).to_csv(path, index=False)


def test_concurrent_forecasts_with_a_cold_jit_cache(tmp_path):
    many_series_csv(tmp_path / "many.csv")
    r = run("fit", "many.csv", "--id-col", "id", "--epochs", "1", "--hidden", "8", "--lookback", "14",
            "--horizon", "5", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    cold = tmp_path / "cold-cache"
    cold.mkdir()
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cold)}
    # forecasts run the numpy forward pass: nothing to compile, even on a cold cache
    procs = [subprocess.Popen([EXE, "forecast", "-H", "5", "-q"], cwd=tmp_path, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(3)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [e.decode()[-500:] for _, e in outs]
    assert outs[0][0] == outs[1][0] == outs[2][0]
    assert len(outs[0][0].decode().splitlines()) == 1 + 20 * 5
    assert not any(cold.rglob("*.nbi")), "a forecast compiled something"


def test_a_forecast_with_statistical_members_never_loads_numba(tmp_path):
    # ETS and Theta forecast from their stored states in numpy: their kernels (and Numba)
    # load only to fit, advance or filter
    n = 60
    pd.DataFrame({"month": pd.date_range("2015-01-01", periods=n, freq="MS").strftime("%Y-%m"),
                  "sales": 100 + 10 * np.sin(np.arange(n) * np.pi / 6) + np.arange(n)}).to_csv(
        tmp_path / "monthly.csv", index=False)
    r = run("fit", "monthly.csv", "--epochs", "2", "--hidden", "8", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    info = run("info", cwd=tmp_path)
    assert b"ets" in info.stdout + info.stderr and b"theta" in info.stdout + info.stderr
    code = ("import sys; sys.argv = ['lstmcast', 'forecast', '-H', '30', '-q']\n"
            "from lstmcast.cli.app import main\n"
            "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
            "print('numba' in sys.modules, code, file=sys.stderr)")
    p = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert p.stderr.strip().splitlines()[-1] in ("False 0", "False None"), p.stderr[-500:]
    assert len(p.stdout.splitlines()) == 1 + 30


def test_overlapping_fits_fill_a_cold_cache_safely(first_fits):
    assert first_fits["codes"] == [0, 0], first_fits["errors"]
    assert any(first_fits["cache"].rglob("*.nbi"))
    # same seed, same data: both compiled independently and agree on every array (the
    # metadata differs: it records each fit's own timings)
    a0, _ = store.load(first_fits["folder"] / "m0.safetensors")
    a1, _ = store.load(first_fits["folder"] / "m1.safetensors")
    assert a0.keys() == a1.keys() and all(np.array_equal(a0[k], a1[k]) for k in a0)
    assert first_fits["third"].returncode == 0 and first_fits["third_seconds"] < 15


def can_switch_to_nobody():
    return os.geteuid() == 0 and shutil.which("setpriv") and sys.platform.startswith("linux")


def as_nobody(*args, env=None):
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *args],
                          capture_output=True, env=env, cwd="/", timeout=600)


def readable_copy(folder: Path, script: str) -> Path:
    """The lstmcast package and every installed distribution that ``script`` imports,
    copied (hard-linked where the file system allows) into ``folder/site``, readable by
    every user. The clone and its virtual environment may live where user nobody cannot
    read (a ``mktemp -d`` folder, a home of mode 0700): common, and not what this test is
    about. Returns the folder to put on PYTHONPATH."""
    probe = script + textwrap.dedent("""
        import importlib.metadata as md, json, sys
        owners = md.packages_distributions()
        names = {d for m in list(sys.modules) for d in owners.get(m.split(".")[0], []) if d != "lstmcast"}
        files = []
        for name in sorted(names):
            dist = md.distribution(name)
            root = dist.locate_file("")
            files += [[str(root), str(f)] for f in dist.files or [] if ".." not in f.parts]
        print(json.dumps(files))
    """)
    listing = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    listing = listing.stdout.splitlines()[-1]
    site = folder / "site"
    for root, name in __import__("json").loads(listing):
        source, target = Path(root) / name, site / name
        if not source.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            if not os.stat(source).st_mode & 0o004:
                raise OSError("not readable by others: copy it")
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)
            os.chmod(target, 0o644)
    shutil.copytree(PACKAGE, site / "lstmcast", ignore=shutil.ignore_patterns("__pycache__"))
    for path in [folder, *folder.rglob("*")]:
        if path.is_dir():
            os.chmod(path, 0o755)
        elif path.is_relative_to(site / "lstmcast"):  # copies, not links
            os.chmod(path, 0o644)
    return site


@pytest.mark.skipif(not can_switch_to_nobody(), reason="needs root and setpriv to run as another user")
def test_jit_cache_works_when_the_package_is_read_only():
    """As user nobody: the package folder is not writable and the home does not exist."""
    script = textwrap.dedent("""
        import time, numpy as np
        t = time.perf_counter()
        from lstmcast.nn import network
        from lstmcast.nn.network import Net
        net = Net.from_params(network.init_params(2, 4, 1, 1, dtype=np.float64))
        net.loss_and_grad(np.ones((3, 5, 2)), np.ones((3, 1)))
        import os
        print(os.environ.get("NUMBA_CACHE_DIR", ""), time.perf_counter() - t)
    """)
    python = getattr(sys, "_base_executable", sys.executable)  # a venv's own may be unreadable
    if as_nobody(python, "-c", "pass").returncode != 0:
        pytest.skip(f"user nobody cannot run this Python interpreter ({python})")
    folder = Path(__import__("tempfile").mkdtemp(prefix="lstmcast-nobody-"))
    try:
        site = readable_copy(folder, script)
        cache = Path(__import__("tempfile").gettempdir()) / "lstmcast-65534" / cache_key()
        shutil.rmtree(cache, ignore_errors=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NUMBA_", "XDG_", "PYTHON"))}
        env.update(HOME="/nonexistent", PYTHONPATH=str(site), PYTHONNOUSERSITE="1")
        cmd = [python, "-c", script]
        first = as_nobody(*cmd, env=env)
        assert first.returncode == 0, first.stderr.decode()[-800:]
        where, first_seconds = first.stdout.decode().split()
        assert where == str(cache) and any(cache.rglob("*.nbi"))
        started = time.perf_counter()
        second = as_nobody(*cmd, env=env)
        assert second.returncode == 0, second.stderr.decode()[-800:]
        # the second process loads from the cache instead of compiling
        assert float(second.stdout.decode().split()[1]) < float(first_seconds) / 3, \
            (first_seconds, second.stdout, time.perf_counter() - started)
        assert as_nobody("test", "-w", str(site / "lstmcast")).returncode != 0  # read-only for nobody
    finally:
        shutil.rmtree(folder, ignore_errors=True)

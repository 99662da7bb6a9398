"""The installed ``lstmcast`` command, run in subprocesses: output streams, pipes,
exit codes, files. Training is kept tiny (few epochs, small network)."""

import json
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

EXE = shutil.which("lstmcast", path=str(Path(sys.executable).parent)) or shutil.which("lstmcast")
SAMPLE = Path(__file__).resolve().parents[2] / "sample_data"
FAST = ["--epochs", "3", "--hidden", "8", "--lookback", "14", "--horizon", "7", "--seed", "1"]


def run(*args, input=None, cwd=None, env=None, timeout=300):
    full_env = {**os.environ, **(env or {})}
    full_env.pop("LSTMCAST_MODEL", None) if env is None or "LSTMCAST_MODEL" not in env else None
    r = subprocess.run([EXE, *map(str, args)], input=input, capture_output=True, cwd=cwd,
                       env=full_env, timeout=timeout)
    assert b"Warning:" not in r.stderr, r.stderr.decode()  # no Python warning reaches a user
    return r


def daily_csv(path: Path, n=240, seed=0, start="2021-01-01"):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    value = 20 + 5 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.5, n)
    pd.DataFrame({"date": pd.date_range(start, periods=n, freq="D").strftime("%Y-%m-%d"),
                  "value": value.round(3)}).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A directory with data.csv and a model fitted on it."""
    d = tmp_path_factory.mktemp("cli")
    daily_csv(d / "data.csv")
    r = run("fit", "data.csv", *FAST, cwd=d)
    assert r.returncode == 0, r.stderr.decode()
    return d


def test_version_and_help():
    r = run("--version")
    assert r.returncode == 0 and r.stdout.decode().startswith("lstmcast ")
    for cmd in ("fit", "forecast", "evaluate", "info"):
        r = run(cmd, "--help")
        assert r.returncode == 0
        assert "Example:" in r.stdout.decode()


def test_python_dash_m_runs_the_same_command(trained):
    """``python -m lstmcast`` is the installed script: same version, same exit codes."""
    m = subprocess.run([sys.executable, "-m", "lstmcast", "--version"], capture_output=True)
    assert m.returncode == 0 and m.stdout == run("--version").stdout
    m = subprocess.run([sys.executable, "-m", "lstmcast", "forecast", "--model", "missing.safetensors"],
                       capture_output=True, cwd=trained)
    assert m.returncode == run("forecast", "--model", "missing.safetensors", cwd=trained).returncode != 0
    assert m.stdout == b"" and b"Traceback" not in m.stderr


def test_fit_is_silent_on_stdout_and_summarises_on_stderr(trained):
    assert (trained / "lstmcast-model.safetensors").exists()
    r = run("fit", "data.csv", *FAST, "--model", "second.safetensors", cwd=trained)
    assert r.returncode == 0
    assert r.stdout == b""
    err = r.stderr.decode()
    assert "trained 3 epochs" in err and "second.safetensors" in err and "\x1b[" not in err


def test_fit_quiet_prints_nothing_and_json_prints_summary(trained):
    r = run("fit", "data.csv", *FAST, "--model", "q.safetensors", "--quiet", cwd=trained)
    assert r.returncode == 0 and r.stdout == b"" and r.stderr == b""
    r = run("fit", "data.csv", *FAST, "--model", "j.safetensors", "--json", "-q", cwd=trained)
    doc = json.loads(r.stdout)
    assert doc["epochs"] == 3 and doc["model"] == "j.safetensors" and doc["horizon"] == 7


def test_forecast_csv_continues_the_dates(trained):
    r = run("forecast", "--horizon", "10", cwd=trained)
    assert r.returncode == 0, r.stderr.decode()
    out = pd.read_csv(pd.io.common.BytesIO(r.stdout))
    assert list(out.columns) == ["date", "value"] and len(out) == 10
    assert out["date"].iloc[0] == "2021-08-29"  # the day after the 240th
    assert np.isfinite(out["value"]).all()
    assert "recursively" in r.stderr.decode()  # 10 > trained horizon 7


def test_forecast_intervals_and_json(trained):
    r = run("forecast", "-H", "7", "--level", "80", "--level", "95", "--format", "json", cwd=trained)
    rows = json.loads(r.stdout)
    assert len(rows) == 7
    for row in rows:
        assert row["value_lower_95"] <= row["value_lower_80"] <= row["value"] <= row["value_upper_80"] \
            <= row["value_upper_95"]


def test_forecast_from_newer_data(trained):
    daily_csv(trained / "newer.csv", n=250)
    r = run("forecast", "newer.csv", "-H", "3", cwd=trained)
    assert r.returncode == 0, r.stderr.decode()
    assert r.stdout.decode().splitlines()[1].startswith("2021-09-08")  # after row 250


def test_output_file_is_written_and_stdout_stays_empty(trained):
    r = run("forecast", "-H", "5", "-o", "fc.json", cwd=trained)
    assert r.returncode == 0 and r.stdout == b""
    assert len(json.loads((trained / "fc.json").read_text())) == 5
    assert not [p for p in trained.iterdir() if p.name.startswith(".fc.json")]


def test_stdin_and_pipes(trained):
    data = (trained / "data.csv").read_bytes()
    r = run("fit", "-", *FAST, "--model", "stdin.safetensors", "-q", input=data, cwd=trained)
    assert r.returncode == 0, r.stderr.decode()
    # a reader that goes away early: no BrokenPipeError, no traceback
    p = subprocess.run(f"'{EXE}' forecast -H 20000 --model stdin.safetensors | head -1", shell=True,
                       capture_output=True, cwd=trained, timeout=300)
    assert p.stdout.decode().strip() == "date,value"
    assert b"Traceback" not in p.stderr and b"BrokenPipe" not in p.stderr


def test_environment_variables_and_flags_win(trained):
    env = {"LSTMCAST_MODEL": str(trained / "j.safetensors")}
    r = run("info", "--json", cwd=trained, env=env)
    assert json.loads(r.stdout)["file"].endswith("j.safetensors")
    r = run("forecast", "-H", "2", "--model", "lstmcast-model.safetensors", cwd=trained,
            env={"LSTMCAST_MODEL": "missing.safetensors"})
    assert r.returncode == 0
    r = run("forecast", "-H", "2", cwd=trained, env={"LSTMCAST_MODEL": "missing.safetensors",
                                                     "LSTMCAST_HORIZON": "4"})
    assert r.returncode == 66


def one_line_error(r, code):
    err = r.stderr.decode()
    assert r.returncode == code, err
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.strip()]
    assert lines and lines[-1].startswith(("lstmcast: error:", "Error", "Usage", "Try")), err
    return err


@pytest.mark.parametrize("args,code,text", [
    (("fit", "no-such.csv"), 66, "no-such.csv"),
    (("fit", "bad.csv", "-q"), 65, "line 3"),
    (("fit", "data.csv", "--fill", "sometimes"), 2, "--fill"),
    (("fit", "data.csv", "--no-such-option"), 2, "no-such-option"),
    (("fit", "data.csv", "--lookback", "1000"), 65, "rows"),
    (("forecast", "--model", "absent.safetensors"), 66, "absent.safetensors"),
    (("forecast", "--model", "corrupt.safetensors"), 65, "corrupt.safetensors"),
    (("forecast", "-o", "no/such/dir/out.csv"), 73, "out.csv"),
    (("forecast", "--level", "150"), 2, "level"),
    (("fit", "data.csv", "--model", "no/such/dir/m.safetensors"), 73, "no/such/dir"),
])
def test_exit_codes_and_one_line_errors(trained, args, code, text):
    (trained / "bad.csv").write_text("date,value\n2021-01-01,1\n2021-01-02,abc\n")
    (trained / "corrupt.safetensors").write_bytes(b"\x00" * 100)
    err = one_line_error(run(*args, cwd=trained), code)
    assert text in err


def test_debug_shows_a_traceback(trained):
    r = run("fit", "no-such.csv", "--debug", cwd=trained)
    assert r.returncode == 66 and b"Traceback" in r.stderr


def test_evaluate_reports_all_models(trained):
    r = run("evaluate", "data.csv", "--folds", "2", "--format", "json", "--epochs", "2",
            "--lookback", "14", "--level", "80", cwd=trained)
    assert r.returncode == 0, r.stderr.decode()
    rows = {row["model"]: row for row in json.loads(r.stdout)}
    assert set(rows) == {"lstm", "naive", "seasonal_naive", "drift"}
    # a pure weekly pattern: seasonal naive must beat plain naive on MASE
    assert rows["seasonal_naive"]["MASE"] < rows["naive"]["MASE"]
    # coverage counts the test points inside the band: 2 folds of 14 steps (daily default)
    inside = rows["lstm"]["coverage_80"] * 28 / 100
    assert inside == pytest.approx(round(inside), abs=1e-6) and rows["lstm"]["MSIS_80"] > 0
    assert "best baseline" in r.stderr.decode()


def png_size(path: Path):
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


def test_plots_are_real_pngs_of_the_documented_size(trained):
    pytest.importorskip("matplotlib")
    r = run("forecast", "-H", "7", "--level", "80", "--plot", "fc.png", cwd=trained)
    assert r.returncode == 0, r.stderr.decode()
    assert png_size(trained / "fc.png") == (1000, 320)
    r = run("evaluate", "data.csv", "--folds", "2", "--epochs", "1", "--lookback", "14",
            "--plot", "ev.png", "-q", cwd=trained)
    assert r.returncode == 0, r.stderr.decode()
    assert png_size(trained / "ev.png") == (1000, 640)


def test_long_format_forecasts_every_series(tmp_path):
    shutil.copy(SAMPLE / "stocks.csv", tmp_path / "stocks.csv")
    r = run("fit", "stocks.csv", "--id-col", "symbol", "--epochs", "2", "--hidden", "8", "-q", cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    out = pd.read_csv(pd.io.common.BytesIO(run("forecast", "-H", "3", cwd=tmp_path).stdout))
    assert sorted(out["symbol"].unique()) == ["AAPL", "AMZN", "GOOG", "IBM", "MSFT"]
    assert (out.groupby("symbol").size() == 3).all()
    assert set(out["date"]) == {"2010-04-01", "2010-05-01", "2010-06-01"}


def test_diverged_fit_exits_65_and_keeps_the_old_model(trained):
    before = (trained / "lstmcast-model.safetensors").read_bytes()
    r = run("fit", "data.csv", *FAST, "--lr", "1e30", cwd=trained)
    err = one_line_error(r, 65)
    assert "diverged" in err and "--lr" in err
    assert (trained / "lstmcast-model.safetensors").read_bytes() == before


def test_shell_completion_script():
    # as a user types it, in bash: Typer finds the shell among the command's parents
    # (under `timeout` or a CI runner pytest's own parents may not be a shell)
    r = subprocess.run(["bash", "-c", f"'{EXE}' --show-completion; exit $?"], capture_output=True, timeout=60)
    assert r.returncode == 0 and b"complete -o" in r.stdout and b"_lstmcast_completion" in r.stdout


@pytest.mark.parametrize("kind", [RuntimeError, ValueError, KeyError])
def test_a_bug_exits_1_with_one_line(monkeypatch, capsys, kind):
    """Only lstmcast's own errors have their codes: a ValueError from a bug is exit 1
    with the request to report it, not a usage error (exit 2)."""
    from lstmcast.cli import app as cli
    from lstmcast.cli import info

    def broken(*args):
        raise kind("something impossible")

    monkeypatch.setattr(info, "describe", broken)
    with pytest.raises(SystemExit) as exc:
        cli.main(["info", "whatever.safetensors"])
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert f"internal error: {kind.__name__}:" in err and "something impossible" in err
    assert "please report" in err and "--debug" in err and "Traceback" not in err

"""The cron recipe of docs/guide/production.md, run as written: its crontab lines, under
cron's empty environment (``env -i`` with the recipe's PATH and a HOME), with the
installed command, over three simulated weeks of daily rows with a level shift. The
forecast is written every day; the weekly line updates the model and, once the verdict
says refit, refits it with the options it was fitted with."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from conftest import ROOT

EXE = Path(sys.executable).parent / "lstmcast"


def recipe() -> tuple[str, list[tuple[str, str]]]:
    """(the PATH line's value, [(schedule, command)]) of the documented crontab."""
    page = (ROOT / "docs/guide/production.md").read_text()
    block = page.split("## From cron", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    path, entries = None, []
    for line in block.splitlines():
        if line.startswith("PATH="):
            path = line[len("PATH="):]
        elif line.strip() and not line.startswith("#"):
            fields = line.split(None, 5)
            entries.append((" ".join(fields[:5]), fields[5]))
    return path, entries


def cron(command: str, folder: Path, path: str) -> subprocess.CompletedProcess:
    """One crontab command as cron runs it: /bin/sh, an empty environment but PATH and HOME."""
    command = command.replace("/srv/forecast", str(folder))
    env_path = path.replace("/srv/forecast/.venv/bin", str(EXE.parent))
    return subprocess.run(["env", "-i", f"PATH={env_path}", f"HOME={os.environ['HOME']}", "/bin/sh", "-c", command],
                          capture_output=True, text=True, timeout=600)


def mean_reverting(n: int, seed: int = 0) -> pd.DataFrame:
    """A daily reading around a fixed level: a weekly cycle plus AR(1) noise (phi 0.7)."""
    rng = np.random.default_rng(seed)
    noise = np.zeros(n)
    for i in range(1, n):
        noise[i] = 0.7 * noise[i - 1] + rng.normal(0, 1)
    value = 20 + 4 * np.sin(2 * np.pi * np.arange(n) / 7) + noise
    return pd.DataFrame({"date": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                         "value": value.round(3)})


def info(folder: Path) -> dict:
    r = subprocess.run([str(EXE), "info", "--json"], cwd=folder, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_the_documented_cron_recipe_runs_and_refits_after_a_level_shift(tmp_path):
    path, entries = recipe()
    daily = [c for when, c in entries if when.endswith("* * *")]
    weekly = [c for when, c in entries if not when.endswith("* * *")]
    assert path and len(daily) == 1 and len(weekly) == 1 and "lstmcast" in daily[0] and "--like" in weekly[0]
    # a bare `lstmcast` is not found under cron without the recipe's PATH line
    assert cron("lstmcast --version", tmp_path, "/usr/bin:/bin").returncode == 127

    start, days, shift_day = 300, 21, 8
    full = mean_reverting(start + days)
    full.loc[start + shift_day - 1:, "value"] += 8.0  # from the 8th new day on, the level is 8 higher
    full.iloc[:start].to_csv(tmp_path / "prices.csv", index=False)
    # a model of a fixed level (it beats naive and seasonal naive on this mean-reverting
    # series), which cannot follow a shift of the level: the refit is its remedy
    fit = subprocess.run([str(EXE), "fit", "prices.csv", "--normalize", "none", "--no-guard", "-q"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert fit.returncode == 0, fit.stderr

    refit_after = None
    for day in range(1, days + 1):
        full.iloc[:start + day].to_csv(tmp_path / "prices.csv", index=False)  # the day's row appended
        if day % 7 == 0:  # Sunday 05:30, before the day's forecast
            r = cron(weekly[0], tmp_path, path)
            assert r.returncode == 0, (day, r.stdout, r.stderr)  # updated, or refitted after the verdict
            now = info(tmp_path)  # a refit starts a model without updates; an update adds one
            if day < shift_day:
                assert len(now["updates"]) == 1  # before the shift: an update, no refit
            if now["updates"] == [] and refit_after is None:
                refit_after = day
                assert now["model"]["normalize"] == "none" and not now["guard"]["enabled"]  # its options kept
                assert now["targets"] == ["value"] and now["data"]["rows"] == start + day
        if day % 7 not in (0, 6):  # the daily line on two days a week is enough to test it
            continue
        r = cron(daily[0], tmp_path, path)
        assert r.returncode == 0, (day, r.stderr)
        forecast = pd.read_csv(tmp_path / "next30.csv")
        assert len(forecast) == 30 and list(forecast.columns[:2]) == ["date", "value"]
        assert forecast["date"].iloc[0] == (pd.Timestamp(full["date"].iloc[start + day - 1])
                                            + pd.Timedelta(days=1)).strftime("%Y-%m-%d")

    log = (tmp_path / "forecast.log").read_text()
    assert "Traceback" not in log and "Warning" not in log
    assert refit_after is not None and refit_after - shift_day < 14, (refit_after, log)  # within two weekly runs
    assert re.search(r"the model is WORSE than the best simple baseline .* refit: lstmcast fit prices.csv --like", log), log
    assert "lstmcast: updated" not in log  # -q: only what a log must show

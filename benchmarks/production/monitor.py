"""The evidence behind ``check``'s and ``update``'s verdict: false alarms and detection.

Simulates weekly cron on the evidence base (``benchmarks/common/datasets.py``): per
dataset, a model is fitted with the default options on the rows before the last C cycles
(a cycle is a week of rows, or one row for series with a longer step, as in
``benchmarks/production/update.py``; C = 52, or fewer so that the first fit keeps 60 % of
the rows; datasets with fewer than 12 cycles are left out). Each cycle the cycle's rows
are scored as ``update`` scores them, before learning (:func:`lstmcast.model.monitor.score_new`,
from origins at the model's history end, no refit), and added to the model's record; the
verdict (:func:`lstmcast.model.monitor.verdict`, window four horizons) is taken as
``update`` takes it (once at least one horizon of points is scored), at every tolerance
of the grid. (The first run of this script took verdicts only once the window was full;
the CLI's one-horizon minimum came after it, and both halves were run again.) The weights never change (an update's
learning is another question: ``update.py``), so the model's quality over the run is
fixed and known:

* **False alarms**: on the datasets where the model is truly no worse than the best of
  naive and seasonal naive over all the run's scored points (its points-weighted mean
  MASE at most theirs), the share of weekly verdicts that say "worse".
* **Detection**: the same run with a level shift added to every target from the middle
  cycle on (3 times the standard deviation of the series' one-step changes in the first
  fit's rows); the cycles from the shift to the first "worse" verdict, among the datasets
  where the shifted run's points after the shift are truly worse for the model.

Rule for the default tolerance, written before the run: the smallest tolerance of the
grid whose pooled false-alarm rate on the **tuning** half is at most 5 % (1 week in 20);
the confirmation half reports it. Markdown to stdout, progress to stderr:

    LSTMCAST_THREADS=1 python -m benchmarks.production.monitor --half tuning > benchmarks/results/monitor-tuning.md
    LSTMCAST_THREADS=1 python -m benchmarks.production.monitor --half confirmation > benchmarks/results/monitor-confirmation.md
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from lstmcast.errors import DataError

from benchmarks.common import backtests, datasets
from benchmarks.production.update import cycle_rows

GRID = (0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5)
MAX_CYCLES, MIN_CYCLES, FIRST_SHARE = 52, 12, 0.6
SHIFT_SDS = 3.0
RULE_RATE = 0.05


def simulate(forecaster, full, back0: int, week: int, cycles: int, shift_from: int | None, shift: np.ndarray):
    """Per cycle: the record entries it added and the verdict per tolerance (None before
    the window fills)."""
    from lstmcast.model import monitor
    from lstmcast.model.update import continued

    targets = forecaster.targets_
    series = {}
    for key, f in full.series.items():
        g = f.copy()
        if shift_from is not None:
            start = len(f) - back0 + shift_from * week
            g.iloc[start:, [g.columns.get_loc(t) for t in targets]] += shift
        series[key] = g
    keep = {k: len(h) for k, h in forecaster.history_.items()}
    record, out = [], []
    window = monitor.window(forecaster, None)
    for c in range(cycles):
        end = {k: len(f) - back0 + c * week for k, f in series.items()}
        forecaster.history_ = {k: series[k].iloc[:end[k]].iloc[-keep[k]:] for k in keep}
        now = replace(full, series={k: f.iloc[:end[k] + week] for k, f in series.items()}, notes=[])
        frames, added, _ = continued(forecaster, now)
        scores = monitor.score_new(forecaster, now, frames, added) if frames else None
        entries = scores.origins_scored if scores is not None and scores.points else []
        record += entries
        least = monitor.least(forecaster, None)
        verdicts = {}
        for tol in GRID:  # as update gives it: none on fewer points than one horizon
            v = monitor.verdict(record, None, window, tol, least)
            verdicts[tol] = None if v is None or v.status == "too-few" else v.status
        out.append((entries, verdicts))
    return out


def overall(entries: list[dict]) -> tuple[float, float]:
    """(model, best of naive and seasonal naive): points-weighted mean MASE over all entries."""
    from lstmcast.model import monitor

    _, score, _, _ = monitor.means(entries, None, sum(e["points"] for e in entries))
    return score.get(monitor.MODEL, math.nan), min(score.get(j, math.nan) for j in monitor.JUDGES)


def run_dataset(data, folder: Path) -> dict | None:
    from lstmcast.model.forecaster import LSTMForecaster

    full = backtests.load(data, folder)
    week, label = cycle_rows(full.freq)
    rows = min(len(f) for f in full.series.values())
    cycles = min(MAX_CYCLES, int((1 - FIRST_SHARE) * rows) // week)
    if cycles < MIN_CYCLES:
        return None
    back0 = cycles * week
    first = replace(full, series={k: f.iloc[:len(f) - back0] for k, f in full.series.items()}, notes=[])
    started = time.perf_counter()
    try:
        forecaster = LSTMForecaster(seed=0).fit(first)
    except DataError:  # too short for a fit on its first rows
        return None
    hist = dict(forecaster.history_)
    steps = np.concatenate([np.diff(f[forecaster.targets_].to_numpy(np.float64), axis=0)
                            for f in first.series.values()])
    shift = SHIFT_SDS * np.nanstd(steps, axis=0)
    plain = simulate(forecaster, full, back0, week, cycles, None, shift)
    forecaster.history_ = dict(hist)
    half = cycles // 2
    shifted = simulate(forecaster, full, back0, week, cycles, half, shift)
    model, best = overall([e for entries, _ in plain for e in entries])
    after = [e for entries, _ in shifted[half:] for e in entries]
    s_model, s_best = overall(after)
    return {"dataset": data.name, "freq": full.freq, "cycle": label, "cycles": cycles,
            "mase": model, "best": best, "no_worse": model <= best,
            "verdicts": {tol: [v[tol] for _, v in plain if v[tol] is not None] for tol in GRID},
            "shift_worse": s_model > s_best, "shift_mase": s_model, "shift_best": s_best,
            "delay": {tol: next((i for i, (_, v) in enumerate(shifted[half:]) if v[tol] == "worse"), None)
                      for tol in GRID},
            "seconds": time.perf_counter() - started}


def report(results: list[dict], half: str) -> str:
    lines = [f"# The verdict's tolerance: false alarms and detection ({half} half)", "",
             f"Command: `LSTMCAST_THREADS=1 python -m benchmarks.production.monitor --half {half}`; "
             f"run on {time.strftime('%Y-%m-%d')} at commit {_commit()}. "
             "See the script's docstring for the protocol and the rule.", "",
             "| dataset | freq | cycle | cycles | model MASE | best baseline MASE | truly no worse | "
             + " | ".join(f"alarms at {t:g}" for t in GRID) + " | after the shift: model / best | "
             + " | ".join(f"delay at {t:g}" for t in GRID) + " |",
             "|" + "---|" * (9 + 2 * len(GRID))]
    for r in results:
        alarms = [f"{sum(v == 'worse' for v in r['verdicts'][t])}/{len(r['verdicts'][t])}" for t in GRID]
        delays = ["-" if not r["shift_worse"] else ("none" if r["delay"][t] is None else str(r["delay"][t]))
                  for t in GRID]
        lines.append(f"| {r['dataset']} | {r['freq']} | {r['cycle']} | {r['cycles']} | {r['mase']:.3f} | "
                     f"{r['best']:.3f} | {'yes' if r['no_worse'] else 'no'} | " + " | ".join(alarms)
                     + f" | {r['shift_mase']:.3f} / {r['shift_best']:.3f} | " + " | ".join(delays) + " |")
    good = [r for r in results if r["no_worse"]]
    shifted = [r for r in results if r["shift_worse"]]
    lines += ["", "| tolerance | false alarms (weekly verdicts, truly no-worse datasets) | "
              "shifted datasets truly worse: signalled within 2 cycles | median delay (cycles) |",
              "|---|---|---|---|"]
    rates = {}
    for t in GRID:
        n = sum(len(r["verdicts"][t]) for r in good)
        k = sum(sum(v == "worse" for v in r["verdicts"][t]) for r in good)
        rates[t] = k / n if n else math.nan
        d = [r["delay"][t] for r in shifted]
        within = sum(x is not None and x <= 2 for x in d)
        med = np.median([x if x is not None else np.inf for x in d]) if d else math.nan
        lines.append(f"| {t:g} | {k}/{n} ({100 * rates[t]:.1f} %) | {within}/{len(d)} | {med:g} |")
    chosen = next((t for t in GRID if rates[t] <= RULE_RATE), None)
    lines += ["", f"Datasets: {len(results)} ({len(good)} where the model is truly no worse; "
              f"{len(shifted)} where the shifted run is truly worse after the shift). "
              f"By the rule (false alarms <= {100 * RULE_RATE:g} %): "
              + (f"tolerance {chosen:g}." if chosen is not None else "no tolerance of the grid qualifies.")]
    return "\n".join(lines) + "\n"


def _commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip() or "?"
    except OSError:
        return "?"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--half", choices=["tuning", "confirmation"], default="tuning")
    parser.add_argument("--only", nargs="*", help="dataset names (a quick look; not evidence)")
    args = parser.parse_args(argv)
    chosen = [d for d in datasets.chosen(args.half) if not args.only or d.name in args.only]
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for data in chosen:
            why = backtests.available(data)
            if why:
                print(f"{data.name}: skipped ({why})", file=sys.stderr)
                continue
            r = run_dataset(data, Path(folder))
            print(f"{data.name}: " + ("too short" if r is None else
                  f"{r['cycles']} cycles, {r['seconds']:.0f} s"), file=sys.stderr, flush=True)
            if r is not None:
                results.append(r)
    print(report(results, args.half))
    return 0


if __name__ == "__main__":
    sys.exit(main())

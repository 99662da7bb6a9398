"""The evidence behind ``lstmcast update``: a year of cron, updating against refitting.

Simulates a weekly cron job on real series and compares what it could do each week:

* ``never``: the first model forever (it forecasts from the newer data, never learns);
* ``update``: ``model.update(data so far)`` each cycle, through the model file, as cron
  does (load, update, save; the timing is the ``update`` call alone);
* ``refit``: ``LSTMForecaster(seed=0).fit(data so far)`` each cycle;
* seasonal naive and naive on the same points.

Per series: the first model is fitted with default options on the rows before the first
cycle. Then, each cycle, every strategy forecasts the first model's horizon H from the
data up to the cycle's start and is scored on the next H actual rows (MASE with the
in-sample seasonal naive scale at the first model's season, as
:func:`lstmcast.model.metrics.mase`; and MAE), then ingests the cycle's rows. A cycle is
the rows one week adds (daily 7, business daily 5, weekly 1, half-hourly 336); series
with a step longer than a week get one row per cycle (a month, a quarter, a year per
"week"), labelled so. There are 52 cycles, or fewer where 52 would leave less than 60%
of the (shortest) series for the first fit: the half-hourly ``taylor`` (12 weeks) gets 4
cycles, which also keeps its 17-second refits affordable; nothing is subsampled.

The update's constants (``_lr_factor``, ``_replay`` and ``epochs`` of
:func:`lstmcast.model.update.update`) are chosen on a tuning half of the series and
reported on the other half. The split is fixed here, before any result: the series of
``benchmarks/common/backtests.py`` sorted by name, alternately tuning (1st, 3rd, ...) and
confirmation (2nd, 4th, ...). The tuning winner is the setting with the lowest geometric
mean, over the tuning series, of its mean MASE divided by the refit's. Noise floors, run
on both halves: ``refit s1`` refits with seed 1 instead of 0, and ``update s1`` updates
(with the current defaults) a first model fitted with seed 1; a difference smaller than
theirs is not evidence.

Targets (the issue): an update costs at most a fifth of a refit (summed ingest time,
update / refit <= 0.2) and its mean MASE is within a few percent of refitting's
(update / refit <= ~1.03). The tables report what is reached, misses included.

    /work/main/.venv/bin/pip install statsmodels pmdarima    # the datasets (benchmark only)
    LSTMCAST_THREADS=1 python -m benchmarks.production.update [--quick] [--only NAME ...] [--cycles N] \
        > benchmarks/results/update.md

Markdown to stdout, progress to stderr. ``--quick``: at most 6 cycles and the grid
without its ``epochs`` axis (a smoke run of a minute or two). The full run takes about
15 minutes on a 2-core VM at one thread (refits are most of it).

``--shrink-study`` (results in ``benchmarks/results/update-shrink.md``) runs, instead of
the grid, the current defaults with and without ``_shrink=True`` (re-applying fit's head
shrinkage after an accepted update), with the same references, cycles and seeds, on the
tuning half. Its rule, fixed before any result: shrink is adopted if its geometric mean
MASE / refit over the tuning series is at least 1 % lower than without
(shrink / without <= 0.99); only then is the confirmation half run, with both.

    LSTMCAST_THREADS=1 python -m benchmarks.production.update --shrink-study > benchmarks/results/update-shrink.md
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import backtests  # noqa: E402  (Data, load, run: the backtest runner)

ROOT = Path(__file__).resolve().parents[2]
CYCLES = 52              # a year of weekly cron
INITIAL_SHARE = 0.6      # the first fit keeps at least this share of the (shortest) series
QUICK_CYCLES = 6
GRID_LR = (0.1, 0.3, 1.0)
GRID_REPLAY = (1, 4, 16)
GRID_EPOCHS = (5, 10, 20)
TARGET_TIME, TARGET_MASE = 0.2, 1.03
SHRINK_GAIN = 0.99       # --shrink-study: adopt shrink if its geo. mean / refit <= this x without


def split(names: list[str]) -> dict[str, str]:
    """The fixed rule: sorted by name, alternately tuning and confirmation."""
    return {name: ("tuning" if i % 2 == 0 else "confirmation") for i, name in enumerate(sorted(names))}


# ---------------------------------------------------------------- cycles


def cut(dataset, rows_from_end: int):
    """The dataset without its last ``rows_from_end`` rows (every series ends on the same
    date here), as :func:`lstmcast.model.backtest._cut`."""
    series = {k: f.iloc[:len(f) - rows_from_end] for k, f in dataset.series.items()}
    return replace(dataset, series=series, notes=[])


def cycle_rows(freq: str) -> tuple[int, str]:
    """(rows one cycle adds, its label): a week of rows, or one row for longer steps."""
    from lstmcast.data.timeparse import is_business, period

    step = period(freq)[2]
    if is_business(freq):
        return 5, "5 rows (a trading week)"
    week = pd.Timedelta(days=7)
    if step <= week:
        rows = int(round(week / step))
        return rows, f"{rows} row{'s' if rows > 1 else ''} (a week)"
    unit = "month" if step <= pd.Timedelta(days=31) else "quarter" if step <= pd.Timedelta(days=92) else "year"
    return 1, f"1 row (a {unit}; one row per cycle)"


@dataclass
class Plan:
    name: str
    half: str
    dataset: object
    week: int
    week_label: str
    cycles: int
    back0: int         # rows after the first fit's data (from the end)
    rows: int          # rows of the shortest series


def plan(data: backtests.Data, folder: Path, half: str, cap: int) -> Plan | None:
    from lstmcast.model.forecaster import LSTMForecaster

    dataset = backtests.load(data, folder)
    n = min(len(f) for f in dataset.series.values())
    week, label = cycle_rows(dataset.freq)
    # the horizon on all the data bounds the first model's (which sees fewer rows)
    h_max = LSTMForecaster(seed=0).resolved(dataset)[0].horizon
    room = int((1 - INITIAL_SHARE) * n)
    tail = max(h_max, week)   # the last cycle needs its rows and H actuals after its start
    cycles = min(cap, (room - tail) // week + 1)
    if cycles < 1:
        return None
    return Plan(data.name, half, dataset, week, label, cycles, (cycles - 1) * week + tail, n)


# ---------------------------------------------------------------- strategies


@dataclass
class Record:
    """One strategy on one series: scores per cycle (per series and target), ingest times."""
    mase: list[float] = field(default_factory=list)
    mae: list[float] = field(default_factory=list)
    seconds: float = 0.0
    ingests: int = 0
    kept_old: int = 0
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def mean_mase(self) -> float:
        v = np.asarray(self.mase, dtype=np.float64)
        return float(np.nanmean(v)) if np.isfinite(v).any() else math.nan

    @property
    def mean_mae(self) -> float:
        return float(np.mean(self.mae)) if self.mae else math.nan


class Never:
    def __init__(self, model):
        self.model = model
        self.record = Record()

    def forecast(self, dataset, horizon):
        return self.model.predict(horizon, dataset)

    def ingest(self, dataset, cycle):
        pass


class Refit(Never):
    def __init__(self, model, seed: int):
        super().__init__(model)
        self.seed = seed

    def ingest(self, dataset, cycle):
        from lstmcast.model.forecaster import LSTMForecaster

        started = time.perf_counter()
        self.model = LSTMForecaster(seed=self.seed).fit(dataset)
        self.record.seconds += time.perf_counter() - started
        self.record.ingests += 1


class Update(Never):
    """Cron's ``lstmcast update``: the model file is loaded, updated and saved each cycle."""

    def __init__(self, model_file: Path, path: Path, **options):
        from lstmcast.model.forecaster import load_model

        super().__init__(load_model(model_file))
        self.path, self.options = path, options

    def ingest(self, dataset, cycle):
        from lstmcast.errors import LstmcastError
        from lstmcast.model.forecaster import load_model

        started = time.perf_counter()
        try:
            report = self.model.update(dataset, **self.options)
        except LstmcastError as e:  # cron fails; the model file stays as it was
            self.record.errors.append(f"cycle {cycle}: {type(e).__name__}: {e}")
            return
        self.record.seconds += time.perf_counter() - started
        self.record.ingests += 1
        self.record.kept_old += bool(report.kept_old_weights)
        self.record.notes += [f"cycle {cycle}: {n}" for n in report.notes]
        self.model.save(self.path)
        self.model = load_model(self.path)


def update_name(lr: float, replay: float, epochs: int, shrink: bool = False) -> str:
    return f"update lr x{lr:g} replay {replay:g} epochs {epochs}" + (" shrink" if shrink else "")


def defaults() -> tuple[float, float, int]:
    from lstmcast.model import update

    return update.LR_FACTOR, update.REPLAY, update.EPOCHS


# ---------------------------------------------------------------- simulation


def simulate(p: Plan, settings: list[tuple[float, float, int]], folder: Path) -> dict:
    """Run every strategy through the plan's cycles; {name: Record} plus the first model's facts."""
    from lstmcast.model import baselines, metrics
    from lstmcast.model.forecaster import LSTMForecaster

    first = cut(p.dataset, p.back0)
    started = time.perf_counter()
    models = {seed: LSTMForecaster(seed=seed).fit(first) for seed in (0, 1)}
    first_fit = time.perf_counter() - started
    files = {}
    for seed, model in models.items():
        files[seed] = folder / f"{p.name}-first-s{seed}.safetensors"
        model.save(files[seed])
    m = models[0].model_config_
    H, season = m.horizon, m.season
    lr0, replay0, epochs0 = defaults()
    strategies = {"never": Never(models[0]), "never s1": Never(models[1]),
                  "refit": Refit(models[0], 0), "refit s1": Refit(models[1], 1)}
    for i, setting in enumerate(settings):
        lr, replay, epochs, *more = setting   # (lr, replay, epochs[, shrink]); shrink only when asked
        options = {"_shrink": True} if more and more[0] else {}
        strategies[update_name(*setting)] = Update(
            files[0], folder / f"{p.name}-u{i}.safetensors", _lr_factor=lr, _replay=replay, epochs=epochs,
            **options)
    strategies["update s1"] = Update(files[1], folder / f"{p.name}-us1.safetensors",
                                     _lr_factor=lr0, _replay=replay0, epochs=epochs0)
    base = {"seasonal naive": Record(), "naive": Record()}
    targets = list(p.dataset.targets)
    for c in range(p.cycles):
        back = p.back0 - c * p.week
        now, later = cut(p.dataset, back), cut(p.dataset, back - p.week)
        actual = {}
        for key, full in p.dataset.series.items():
            n = len(full) - back
            actual[key] = (full[targets].iloc[:n].to_numpy(np.float64),
                           full[targets].iloc[n:n + H].to_numpy(np.float64))

        def score(record: Record, key: str, f: np.ndarray):
            hist, y = actual[key]
            for j in range(len(targets)):
                record.mase.append(metrics.mase(y[:, j], f[:, j], hist[:, j], season))
                record.mae.append(metrics.mae(y[:, j], f[:, j]))

        for key in p.dataset.series:
            hist = actual[key][0]
            score(base["seasonal naive"], key, baselines.seasonal_naive(hist, H, season))
            score(base["naive"], key, baselines.naive(hist, H))
        for name, s in strategies.items():
            try:
                fc = s.forecast(now, H)
                points = {key: np.asarray(fc[key].point, dtype=np.float64) for key in p.dataset.series}
            except Exception as e:  # noqa: BLE001 - a failed forecast is scored as naive, and reported
                s.record.errors.append(f"cycle {c}: forecast: {type(e).__name__}: {e}")
                points = {key: baselines.naive(actual[key][0], H) for key in p.dataset.series}
            for key, f in points.items():
                score(s.record, key, f)
            s.ingest(later, c)
        if sys.stderr.isatty():
            print(f"  {p.name}: cycle {c + 1}/{p.cycles}", file=sys.stderr, end="\r", flush=True)
    records = {name: s.record for name, s in strategies.items()} | base
    return {"plan": p, "records": records, "H": H, "season": season, "lookback": m.lookback,
            "hidden": m.hidden, "first_rows": min(len(f) for f in first.series.values()),
            "first_fit": first_fit}


# ---------------------------------------------------------------- tables


def geomean(values) -> float:
    v = np.asarray([x for x in values if np.isfinite(x) and x > 0], dtype=np.float64)
    return float(np.exp(np.log(v).mean())) if len(v) else math.nan


def ratio(results: dict, name: str, over: str) -> float:
    return results["records"][name].mean_mase / results["records"][over].mean_mase


def f3(x: float) -> str:
    return "n/a" if not np.isfinite(x) else f"{x:.3f}"


def series_table(results: list[dict]) -> str:
    lines = ["| series | half | freq | rows | cycle (cron week) | cycles | first fit rows | H | "
             "season | lookback | hidden |", "|" + "---|" * 11]
    for r in results:
        p = r["plan"]
        rows = f"{p.rows}" + (f" (shortest of {len(p.dataset.series)})" if len(p.dataset.series) > 1 else "")
        lines.append(f"| {p.name} | {p.half} | {p.dataset.freq} | {rows} | {p.week_label} | {p.cycles} | "
                     f"{r['first_rows']} | {r['H']} | {r['season']} | {r['lookback']} | {r['hidden']} |")
    return "\n".join(lines)


def grid_table(results: list[dict], settings, winner) -> str:
    names = [r["plan"].name for r in results]
    head = ["setting", *[f"{n} / refit" for n in names], "geo. mean / refit", "geo. mean / never",
            "ingest s", "time / refit", "old weights kept", "errors"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    refit_s = sum(r["records"]["refit"].seconds for r in results)
    rows = [(update_name(*s), s) for s in settings] + [(n, None) for n in
                                                       ("never", "refit s1", "seasonal naive", "naive")]
    for name, s in rows:
        per = [ratio(r, name, "refit") for r in results]
        label = name + (" (defaults)" if s == defaults() else "")
        if s is not None and s == winner:
            label = f"**{label}**"
        recs = [r["records"][name] for r in results]
        ingests = sum(x.ingests for x in recs)
        secs = sum(x.seconds for x in recs)
        timing = (f"{secs:.1f} | {secs / refit_s:.3f}" if name not in ("never", "seasonal naive", "naive")
                  else "0 | 0")
        kept = f"{sum(x.kept_old for x in recs)}/{ingests}" if s is not None else "-"
        lines.append(f"| {label} | " + " | ".join(f3(x) for x in per) +
                     f" | {f3(geomean(per))} | {f3(geomean(ratio(r, name, 'never') for r in results))} | "
                     f"{timing} | {kept} | {sum(len(x.errors) for x in recs)} |")
    return "\n".join(lines)


def mase_table(results: list[dict], winner_name: str | None) -> str:
    d = update_name(*defaults())
    cols = [("never", "never"), (d, "update (defaults)")]
    if winner_name and winner_name != d:
        cols.append((winner_name, "update (tuning winner)"))
    cols += [("refit", "refit"), ("update s1", "update s1"), ("refit s1", "refit s1"),
             ("seasonal naive", "seasonal naive"), ("naive", "naive")]
    head = ["series", "half", *[f"MASE {c[1]}" for c in cols], "MAE never", "MAE update (defaults)", "MAE refit"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        rec = r["records"]
        lines.append(f"| {r['plan'].name} | {r['plan'].half} | " + " | ".join(f3(rec[c].mean_mase) for c, _ in cols)
                     + " | " + " | ".join(f"{rec[c].mean_mae:.4g}" for c in ("never", d, "refit")) + " |")
    return "\n".join(lines)


def confirmation_table(results: list[dict], name: str, label: str) -> tuple[str, dict]:
    head = ["series", "MASE update / refit", "update / never", "noise: update s1 / refit s1",
            "noise: refit s1 / refit", "update s", "refit s", "time update / refit", "old weights kept",
            "errors", "notes"]
    lines = [f"{label} (`{name}`):", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    agg = {"mase": [], "never": [], "s1": [], "noise": []}
    tu = tr = 0.0
    for r in results:
        rec = r["records"]
        u, rf = rec[name], rec["refit"]
        q, qn, q1, qr = (ratio(r, name, "refit"), ratio(r, name, "never"), ratio(r, "update s1", "refit s1"),
                         ratio(r, "refit s1", "refit"))
        for k, v in zip(agg, (q, qn, q1, qr)):
            agg[k].append(v)
        tu, tr = tu + u.seconds, tr + rf.seconds
        lines.append(f"| {r['plan'].name} | {f3(q)} | {f3(qn)} | {f3(q1)} | {f3(qr)} | {u.seconds:.2f} | "
                     f"{rf.seconds:.2f} | {u.seconds / rf.seconds:.3f} | {u.kept_old}/{u.ingests} | "
                     f"{len(u.errors)} | {len(u.notes)} |")
    g = {k: geomean(v) for k, v in agg.items()}
    lines.append(f"| **all (geo. mean; total s)** | {f3(g['mase'])} | {f3(g['never'])} | {f3(g['s1'])} | "
                 f"{f3(g['noise'])} | {tu:.2f} | {tr:.2f} | {tu / tr:.3f} | | | |")
    per_time = [r["records"][name].seconds / r["records"]["refit"].seconds for r in results]
    verdict = (f"Targets: time update / refit <= {TARGET_TIME}: {tu / tr:.3f} in total, "
               f"{sum(t <= TARGET_TIME for t in per_time)}/{len(results)} series "
               f"({'met' if tu / tr <= TARGET_TIME else 'MISSED'}); MASE update / refit <= {TARGET_MASE}: "
               f"{g['mase']:.3f} geo. mean, {sum(q <= TARGET_MASE for q in agg['mase'])}/{len(results)} series "
               f"({'met' if g['mase'] <= TARGET_MASE else 'MISSED'}).")
    return "\n".join(lines + ["", verdict]), {"time": tu / tr, **g}


def problems(results: list[dict]) -> list[str]:
    out = []
    for r in results:
        for name, rec in r["records"].items():
            for e in rec.errors[:3] + rec.notes[:2]:
                out.append(f"- {r['plan'].name}, {name}: {e}")
            extra = len(rec.errors) + len(rec.notes) - len(rec.errors[:3]) - len(rec.notes[:2])
            if extra > 0:
                out.append(f"- {r['plan'].name}, {name}: ... and {extra} more")
    return out


def environment(blas_only: bool = False) -> list[str]:
    """The run's facts: called at the start (the code imported then is the code measured;
    others may commit during a run), and with ``blas_only`` at the end, once the kernels
    have set their BLAS limit."""
    def git(*args) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return "?"

    if blas_only:
        try:
            from threadpoolctl import threadpool_info
        except ImportError:
            return ["- threadpoolctl not installed: BLAS threads not recorded"]
        blas = [f"{i.get('internal_api')} {i.get('version')} ({i.get('threading_layer', '')}, "
                f"{i.get('num_threads')} thread(s))" for i in threadpool_info()]
        return ["- BLAS / OpenMP pools at the end of the run (threadpoolctl): " + "; ".join(blas),
                f"- load average at the end: {os.getloadavg()[0]:.2f} (other work on the machine slows "
                "updates and refits alike)"]
    update_py = ROOT / "lstmcast" / "model" / "update.py"
    dirty = git("status", "--porcelain", "--", "lstmcast")
    cpu = "?"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    lines = [f"- started: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; commit {git('rev-parse', '--short', 'HEAD')}"
             + (" with uncommitted changes under lstmcast/ (" + ", ".join(
                 x.split()[-1] for x in dirty.splitlines()) + ")" if dirty else ""),
             f"- lstmcast/model/update.py sha256 {hashlib.sha256(update_py.read_bytes()).hexdigest()[:16]}; "
             f"defaults LR_FACTOR={defaults()[0]:g} REPLAY={defaults()[1]:g} EPOCHS={defaults()[2]}",
             f"- machine: {cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()}, "
             f"numpy {np.__version__}, pandas {pd.__version__}",
             f"- threads: LSTMCAST_THREADS={os.environ.get('LSTMCAST_THREADS', '(unset: all CPUs)')}"]
    return lines


def replay_note(results: list[dict]) -> str:
    """Where the replay axis can change anything: the update keeps
    max(new rows x (1 + replay), MIN_ROWS) rows, so one cycle's rows must exceed
    MIN_ROWS / (1 + replay) for the replay to count."""
    from lstmcast.model.update import MIN_ROWS

    live = [f"{r['plan'].name} ({r['plan'].week} rows a cycle)" for r in results
            if any(r["plan"].week * (1 + rp) > MIN_ROWS for rp in GRID_REPLAY)]
    return (f"The update trains on max(new rows x (1 + replay), MIN_ROWS = {MIN_ROWS}) rows (plus a "
            f"window), so the replay axis changes anything only where a cycle's rows x (1 + replay) exceed "
            f"{MIN_ROWS}: " + (", ".join(live) if live else "no series here") + "; on the other series "
            "the replay values train on the same rows (identical cells).")


# ---------------------------------------------------------------- main


def pick(tuning: list[dict], grid) -> tuple[tuple, dict]:
    """The rule, fixed before any result: the lowest geometric mean over the tuning series
    of the setting's mean MASE / the refit's (ties: the smaller setting)."""
    scores = {s: geomean(ratio(r, update_name(*s), "refit") for r in tuning) for s in grid}
    return min(grid, key=lambda s: (scores[s], s)), scores


def shrink_mase_table(results: list[dict], names: list[str]) -> str:
    cols = [("never", "never"), (names[0], "update"), (names[1], "update shrink"), ("refit", "refit"),
            ("update s1", "update s1 (no shrink)"), ("refit s1", "refit s1"), ("seasonal naive", "seasonal naive")]
    head = ["series", "half", *[f"MASE {c[1]}" for c in cols]]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        rec = r["records"]
        lines.append(f"| {r['plan'].name} | {r['plan'].half} | "
                     + " | ".join(f3(rec[c].mean_mase) for c, _ in cols) + " |")
    return "\n".join(lines)


def shrink_study(args, halves: dict[str, str], cap: int, started: float, facts: list[str]) -> int:
    """--shrink-study: the current defaults with and without ``_shrink=True`` on the tuning
    half; the confirmation half only if the rule (module docstring) adopts shrink."""
    plain = defaults()
    shrunk = (*plain, True)
    settings = [plain, shrunk]
    names = [update_name(*s) for s in settings]
    chosen = [d for d in backtests.DATASETS if not args.only or d.name in args.only]
    results = {"tuning": [], "confirmation": []}

    def run(half: str, folder: Path):
        for data in (d for d in chosen if halves[d.name] == half):   # the main run's order
            why = backtests.available(data)
            if why:
                print(f"note: skipping {data.name}: {why}", file=sys.stderr)
                continue
            p = plan(data, folder, half, cap)
            if p is None:
                print(f"note: skipping {data.name}: too short for one cycle", file=sys.stderr)
                continue
            t0 = time.perf_counter()
            r = simulate(p, settings, folder)
            results[half].append(r)
            rec = r["records"]
            print(f"{p.name} ({half}, {p.cycles} cycles): MASE never {rec['never'].mean_mase:.3f}, "
                  f"update {rec[names[0]].mean_mase:.3f}, update shrink {rec[names[1]].mean_mase:.3f}, "
                  f"refit {rec['refit'].mean_mase:.3f}; ingest s update {rec[names[0]].seconds:.1f}, "
                  f"shrink {rec[names[1]].seconds:.1f}, refit {rec['refit'].seconds:.1f} "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)

    command = ("LSTMCAST_THREADS=1 python -m benchmarks.production.update --shrink-study"
               + (" --quick" if args.quick else "") + (f" --cycles {args.cycles}" if args.cycles else "")
               + (" --only " + " ".join(args.only) if args.only else ""))
    with tempfile.TemporaryDirectory() as tmp:
        run("tuning", Path(tmp))
        tuning = results["tuning"]
        if not tuning:
            print("no tuning-half series ran", file=sys.stderr)
            return 1
        score = {n: geomean(ratio(r, n, "refit") for r in tuning) for n in names}
        gain = score[names[1]] / score[names[0]]
        adopt = gain <= SHRINK_GAIN
        if adopt:
            run("confirmation", Path(tmp))
        confirmation = results["confirmation"]
        noise = geomean(ratio(r, "refit s1", "refit") for r in tuning)
        noise_u = geomean(ratio(r, "update s1", "refit s1") for r in tuning)
        out = ["# `lstmcast update`: the head shrinkage after an update (`_shrink`)", "",
               f"Produced by `{command}` (see its docstring).", "",
               *facts, *environment(blas_only=True), "",
               f"Compared: the current defaults `{names[0]}` (no shrink, as `lstmcast update` does now) and "
               f"the same with `_shrink=True`: after an update whose new weights are accepted, the head is "
               f"scaled by the validation least-squares factor in [0, 1], as `fit` does after training. "
               f"References as in `update.md` (same cycles, seeds, first models): never, refit, and the noise "
               f"floors refit s1 and update s1 (seed-1 first model, updated with the defaults, no shrink).", "",
               f"Rule, fixed before any result: adopt shrink if its geometric mean over the tuning series of "
               f"mean MASE / refit is at least 1 % lower than without (shrink / without <= {SHRINK_GAIN}); "
               f"then, and only then, run the confirmation half with both.", "",
               "MASE: mean over cycles (and series, targets) of each forecast's MASE over the first model's "
               "horizon H, scaled by the history's in-sample seasonal naive error at the first model's season. "
               "Ingest s: wall time of the `update` calls (or of the refits) summed over the cycles.", "",
               "## Series", "", series_table(tuning + confirmation), "",
               "## Tuning half", "",
               "Each cell: the setting's mean MASE divided by the refit's on that series.", "",
               grid_table(tuning, settings, shrunk if adopt else None), "",
               confirmation_table(tuning, names[0], "Without shrink (current defaults), tuning half")[0], "",
               confirmation_table(tuning, names[1], "With shrink, tuning half")[0], "",
               f"Geo. mean MASE / refit: without shrink {score[names[0]]:.3f}, with shrink "
               f"{score[names[1]]:.3f}; shrink / without {gain:.3f}. Noise floors on these series: refit s1 / "
               f"refit {noise:.3f}, update s1 / refit s1 {noise_u:.3f}.", "",
               f"**Decision by the rule: {'ADOPT' if adopt else 'do not adopt'} shrink** "
               f"({gain:.3f} {'<=' if adopt else '>'} {SHRINK_GAIN}).", ""]
        if adopt:
            out += ["## Confirmation half (run because the rule adopted shrink)", ""]
            if confirmation:
                c = {n: confirmation_table(confirmation, n, label) for n, label in
                     zip(names, ("Without shrink (current defaults)", "With shrink"))}
                out += [c[names[0]][0], "", c[names[1]][0], "",
                        f"Confirmation geo. mean MASE / refit: without shrink {c[names[0]][1]['mase']:.3f}, "
                        f"with shrink {c[names[1]][1]['mase']:.3f}; shrink / without "
                        f"{c[names[1]][1]['mase'] / c[names[0]][1]['mase']:.3f}.", ""]
            else:
                out += ["(No confirmation-half series ran.)", ""]
        else:
            out += ["The confirmation half was not run (the rule did not adopt shrink).", ""]
        out += ["## MASE by strategy", "", shrink_mase_table(tuning + confirmation, names), ""]
        found = problems(tuning + confirmation)
        out += ["## Errors and notes from update / forecast", "", *(found or ["- none"]), "",
                f"Total wall time {time.perf_counter() - started:.0f} s."]
    print("\n".join(out))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--only", nargs="+", metavar="NAME", help="run these series only")
    ap.add_argument("--quick", action="store_true",
                    help=f"at most {QUICK_CYCLES} cycles, and no epochs axis in the grid (a smoke run)")
    ap.add_argument("--cycles", type=int, help=f"at most this many cycles per series (default {CYCLES})")
    ap.add_argument("--shrink-study", action="store_true",
                    help="the current defaults with and without _shrink=True instead of the grid: tuning "
                         "half, then the confirmation half if the rule adopts shrink (see the docstring)")
    args = ap.parse_args(argv)
    started = time.perf_counter()
    facts = environment()   # before the run: the code measured is the code imported now
    import lstmcast.model.forecaster  # noqa: F401  (import it now, with the facts above)
    import lstmcast.model.update  # noqa: F401
    halves = split([d.name for d in backtests.DATASETS])
    cap = args.cycles or (QUICK_CYCLES if args.quick else CYCLES)
    if args.shrink_study:
        return shrink_study(args, halves, cap, started, facts)
    epochs_axis = (defaults()[2],) if args.quick else GRID_EPOCHS
    grid = [(lr, rp, ep) for lr in GRID_LR for rp in GRID_REPLAY for ep in epochs_axis]
    if defaults() not in grid:
        grid.append(defaults())
    results = []
    winner = None
    chosen = [d for d in backtests.DATASETS if not args.only or d.name in args.only]
    # the tuning half first: its winner is fixed before any confirmation series is run
    chosen.sort(key=lambda d: halves[d.name] != "tuning")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for data in chosen:
            why = backtests.available(data)
            if why:
                print(f"note: skipping {data.name}: {why}", file=sys.stderr)
                continue
            p = plan(data, folder, halves[data.name], cap)
            if p is None:
                print(f"note: skipping {data.name}: too short for one cycle", file=sys.stderr)
                continue
            if p.half == "confirmation" and winner is None and any(r["plan"].half == "tuning" for r in results):
                winner = pick(results, grid)[0]
            settings = grid if p.half == "tuning" else sorted({defaults(), *([winner] if winner else [])})
            t0 = time.perf_counter()
            r = simulate(p, settings, folder)
            results.append(r)
            rec = r["records"]
            d = update_name(*defaults())
            print(f"{p.name} ({p.half}, {p.cycles} cycles): MASE never {rec['never'].mean_mase:.3f}, "
                  f"update {rec[d].mean_mase:.3f}, refit {rec['refit'].mean_mase:.3f}; ingest s update "
                  f"{rec[d].seconds:.1f}, refit {rec['refit'].seconds:.1f} "
                  f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        tuning = [r for r in results if r["plan"].half == "tuning"]
        confirmation = [r for r in results if r["plan"].half == "confirmation"]
        out = ["# `lstmcast update`: a year of cron, update vs refit vs never", "",
               "Produced by `LSTMCAST_THREADS=1 python -m benchmarks.production.update"
               + (" --quick" if args.quick else "") + (f" --cycles {args.cycles}" if args.cycles else "")
               + (" --only " + " ".join(args.only) if args.only else "") + "` (see its docstring).", "",
               *facts, *environment(blas_only=True), "",
               "MASE: mean over cycles (and series, targets) of each forecast's MASE over the first model's "
               "horizon H, scaled by the history's in-sample seasonal naive error at the first model's season. "
               "Ingest s: wall time of the `update` calls (or of the refits) summed over the cycles. "
               "s1: the noise floor (seed 1 instead of 0).", "",
               "## Series", "", series_table(results), ""]
        if tuning:
            winner, scores = pick(tuning, grid)
            ranked = sorted(grid, key=lambda s: scores[s])
            noise = geomean(ratio(r, "refit s1", "refit") for r in tuning)
            noise_u = geomean(ratio(r, "update s1", "refit s1") for r in tuning)
            out += ["## Tuning half: the grid", "",
                    "Each cell: the setting's mean MASE divided by the refit's on that series (below 1: the "
                    "update beats refitting). Reference rows below the grid.", "",
                    grid_table(tuning, grid, winner), "",
                    f"Winner (lowest geo. mean / refit): `{update_name(*winner)}` at {scores[winner]:.3f}; "
                    f"the current defaults `{update_name(*defaults())}` score {scores[defaults()]:.3f} "
                    f"(winner / defaults {scores[winner] / scores[defaults()]:.3f}; rank of the defaults "
                    f"{ranked.index(defaults()) + 1} of {len(grid)}). Noise floors on these series: refit s1 / "
                    f"refit {noise:.3f}, update s1 / refit s1 {noise_u:.3f} against update / refit "
                    f"{scores[defaults()]:.3f} at seed 0.", "", replay_note(tuning), ""]
        winner_name = update_name(*winner) if winner else None
        out += ["## MASE by strategy (every series)", "",
                "Tuning-half series are in-sample for the choice of the winner.", "",
                mase_table(results, winner_name), ""]
        if confirmation:
            out += ["## Confirmation half", ""]
            table, _ = confirmation_table(confirmation, update_name(*defaults()), "Current defaults")
            out += [table, ""]
            if winner and winner != defaults():
                table, _ = confirmation_table(confirmation, winner_name, "Tuning winner")
                out += [table, ""]
            elif winner:
                out += ["The tuning winner is the current defaults.", ""]
        if tuning and not confirmation:
            out += ["(No confirmation-half series in this run.)", ""]
        if tuning:
            out += ["## Tuning half with the current defaults (in-sample: the winner was chosen here)", "",
                    confirmation_table(tuning, update_name(*defaults()), "Current defaults, tuning half")[0], ""]
        found = problems(results)
        out += ["## Errors and notes from update / forecast", "", *(found or ["- none"]), "",
                f"Total wall time {time.perf_counter() - started:.0f} s."]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())

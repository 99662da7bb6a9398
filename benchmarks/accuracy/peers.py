"""Peer LSTMs (NeuralForecast's ``LSTM``, Darts' ``BlockRNNModel(model="LSTM")``) on the
very folds of ``benchmarks/accuracy/evidence.py``, scored with lstmcast's own MASE.

lstmcast never imports torch: the peers run in another Python (one with torch,
neuralforecast and, optionally, darts) through ``benchmarks/accuracy/peers_worker.py``. For each
dataset of a half (``benchmarks/common/datasets.py``), this script reads the CSV exactly as
evidence.py does (``backtests.load``), takes the horizon and season the default
``LSTMForecaster`` and :func:`lstmcast.model.backtest.backtest` take, cuts the same
``data.folds`` rolling origins (``back_i = horizon + (k - 1 - i) * horizon`` rows from the
end), writes each fold's history as a CSV in a temporary folder, runs the worker once per
dataset and model, and scores the returned forecasts with
:func:`lstmcast.model.metrics.summarize` (MASE: MAE over the history's in-sample seasonal
naive MAE with the dataset's season), averaged over folds, series and targets with
``nanmean`` as the backtest does. Seasonal naive is scored on the same cuts as a check
that the folds are evidence.py's (compare with its ``seasonal_naive_MASE``).

    # the peers (one JSON per model; saved after every dataset)
    python -m benchmarks.accuracy.peers --half confirmation --python /tmp/nfvenv/bin/python \\
        --models nf_lstm --json /tmp/peers-nf.json
    python -m benchmarks.accuracy.peers --half confirmation --python /tmp/nfvenv/bin/python \\
        --models darts_lstm --json /tmp/peers-darts.json
    # lstmcast on the same half, then the comparison
    LSTMCAST_THREADS=1 python -m benchmarks.accuracy.evidence --half confirmation --no-ets --origins 0 \\
        --json /tmp/ev-conf.json
    python -m benchmarks.accuracy.peers --report /tmp/ev-conf.json /tmp/peers-nf.json /tmp/peers-darts.json

Datasets run in a fixed order (``--order``: the half's own order, or fewest rows first)
and stop at ``--deadline`` seconds; the ones not run are named in the report.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import backtests  # noqa: E402  (Data, load, run: the backtest runner)
from benchmarks.common import datasets  # noqa: E402  (the datasets and the split)

HERE = Path(__file__).resolve().parent
WORKER = HERE / "peers_worker.py"
NAMES = {"nf_lstm": "NeuralForecast LSTM", "darts_lstm": "Darts BlockRNNModel(LSTM)",
         "darts_lstm_scaled": "Darts BlockRNNModel(LSTM) + Scaler()"}


# ---------------------------------------------------------------- the folds

def folds_of(data: datasets.Series, folder: Path) -> dict:
    """The dataset's folds as backtest() cuts them with the default forecaster."""
    from lstmcast.frequencies import season_length
    from lstmcast.model.forecaster import LSTMForecaster

    dataset = backtests.load(data, folder)
    m, _ = LSTMForecaster().resolved(dataset)
    horizon = m.horizon
    season = m.season or season_length(dataset.freq)
    k = data.folds
    if dataset.masked:
        raise NotImplementedError(f"{data.name}: masked targets are not handled here")
    backs = [horizon + (k - 1 - i) * horizon for i in range(k)]
    cuts = []
    for i, back in enumerate(backs):
        for key, full in dataset.series.items():
            n = len(full) - back
            for t in dataset.targets:
                cuts.append({"fold": i, "series": str(key), "target": t,
                             "history": full[t].iloc[:n].to_numpy(np.float64),
                             "actual": full[t].iloc[n:n + horizon].to_numpy(np.float64)})
    return {"dataset": data.name, "freq": dataset.freq, "horizon": horizon, "season": season,
            "lookback": m.lookback, "folds": k, "cuts": cuts,
            "rows": min(len(f) for f in dataset.series.values()), "series": len(dataset.series)}


def score(cuts: list[dict], forecasts: list, season: int) -> float:
    """Mean MASE over the cuts, as backtest() averages it (NaN forecasts: NaN rows)."""
    from lstmcast.model import metrics

    vals = []
    for c, f in zip(cuts, forecasts):
        f = np.asarray(f, dtype=np.float64)
        y = c["actual"]
        seen = ~np.isnan(y)
        if not seen.any():
            continue
        if f.shape != y.shape or not np.isfinite(f[seen]).all():
            vals.append(math.nan)
            continue
        vals.append(metrics.summarize(y[seen], f[seen], c["history"], season)["MASE"])
    vals = np.array(vals, dtype=np.float64)
    return float(np.nanmean(vals)) if np.isfinite(vals).any() else math.nan


# ---------------------------------------------------------------- running

def run_peer(python: str, model: str, info: dict, where: Path, timeout: float) -> dict:
    task = {"dataset": info["dataset"], "horizon": info["horizon"], "lookback": info["lookback"],
            "folds": []}
    for j, c in enumerate(info["cuts"]):
        name = f"cut{j}.csv"
        pd.DataFrame({"y": c["history"]}).to_csv(where / name, index=False, float_format="%.17g")
        task["folds"].append({"fold": c["fold"], "series": c["series"], "target": c["target"], "file": name})
    (where / "task.json").write_text(json.dumps(task))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore"}
    env.pop("PYTHONPATH", None)
    started = time.perf_counter()
    log = where / f"{model}.log"
    with open(log, "w") as err:
        try:
            rc = subprocess.run([python, "-I", str(WORKER), str(where), model], stdout=err, stderr=err,
                                env=env, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = "timeout"
    wall = time.perf_counter() - started
    out = where / f"{model}.json"
    if rc != 0 or not out.exists():
        tail = log.read_text()[-600:]
        return {"MASE": math.nan, "seconds": math.nan, "process_seconds": wall,
                "error": f"worker exit {rc}: {tail}"}
    got = json.loads(out.read_text())
    errors = [e for e in got["errors"] if e]
    return {"MASE": score(info["cuts"], got["forecasts"], info["season"]), "seconds": got["seconds"],
            "process_seconds": wall, "failed_folds": len(errors),
            **({"error": errors[0]} if errors else {})}


def versions(python: str) -> dict:
    code = ("import json, importlib.metadata as m\nout = {}\n"
            "for p in ('torch', 'neuralforecast', 'darts', 'pytorch-lightning', 'pandas'):\n"
            "    try: out[p] = m.version(p)\n    except m.PackageNotFoundError: out[p] = None\n"
            "print(json.dumps(out))")
    return json.loads(subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout)


def save(path: Path, meta: dict, results: list[dict]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"meta": meta, "results": results}, indent=1, default=float) + "\n")
    os.replace(tmp, path)


def run(args) -> int:
    from lstmcast.model import baselines

    chosen = datasets.chosen(args.half)
    if args.only:
        chosen = [d for d in chosen if d.name in args.only]
    started = time.monotonic()
    ver = versions(args.python)
    for m in args.models:
        if m.startswith("darts") and not ver.get("darts"):
            print(f"note: darts is not installed in that Python; {m} not run", file=sys.stderr)
    models = [m for m in args.models if not m.startswith("darts") or ver.get("darts")]
    meta = {"command": shlex.join(["python", "benchmarks/accuracy/peers.py", *sys.argv[1:]]),
            "half": args.half, "python": args.python, "versions": ver, "models": models,
            "date": datetime.date.today().isoformat(), "order": args.order,
            "threads": "torch.set_num_threads(1), OMP_NUM_THREADS=1", "not_run": []}
    results: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        infos = []
        for data in chosen:
            why = backtests.available(data)
            if why:
                meta["not_run"].append(f"{data.name} ({why})")
                continue
            infos.append(folds_of(data, folder))
        if args.order == "rows":
            infos.sort(key=lambda d: (d["rows"] * d["series"], d["dataset"]))
        for i, info in enumerate(infos, 1):
            left = args.deadline - (time.monotonic() - started)
            if left <= 0:
                meta["not_run"].append(f"{info['dataset']} (deadline)")
                continue
            r = {k: info[k] for k in ("dataset", "freq", "horizon", "season", "lookback", "folds",
                                      "rows", "series")}
            r["seasonal_naive_MASE"] = score(info["cuts"], [baselines.BASELINES["seasonal_naive"](
                c["history"], info["horizon"], info["season"]) for c in info["cuts"]], info["season"])
            for m in models:
                where = folder / f"{info['dataset']}-{m}"
                where.mkdir()
                p = run_peer(args.python, m, info, where, max(1.0, left))
                r.update({f"{m}_{k}": v for k, v in p.items()})
                left = args.deadline - (time.monotonic() - started)
            if any(str(r.get(f"{m}_error", "")).startswith("worker exit timeout") for m in models):
                meta["not_run"].append(f"{info['dataset']} (cut off at the deadline)")
                print(f"[{i}/{len(infos)}] {info['dataset']}: cut off at the deadline", file=sys.stderr)
                continue
            results.append(r)
            print(f"[{i}/{len(infos)}] {info['dataset']}: " + ", ".join(
                f"{m} MASE {r[f'{m}_MASE']:.3f} ({r[f'{m}_seconds']:.1f} s)" for m in models)
                + f", snaive {r['seasonal_naive_MASE']:.3f}"
                + "".join(f" [{m}: {r[f'{m}_error'][:200]}]" for m in models if f"{m}_error" in r),
                file=sys.stderr, flush=True)
            if args.json:
                save(Path(args.json), meta, results)
    if args.json:
        save(Path(args.json), meta, results)
    return 0


# ---------------------------------------------------------------- reporting

def _f(v, fmt=".3f") -> str:
    return "n/a" if v is None or not np.isfinite(v) else format(v, fmt)


def report(evidence: Path, peer_files: list[Path]) -> str:
    ev = json.loads(evidence.read_text())
    lstm = {r["dataset"]: r for r in ev["results"]}
    peers, metas = {}, []
    for p in peer_files:
        saved = json.loads(p.read_text())
        metas.append(saved["meta"])
        for m in saved["meta"]["models"]:  # a later file of the same model adds datasets (a continued run)
            peers.setdefault(m, {}).update({r["dataset"]: r for r in saved["results"]})
    models = [m for m in NAMES if m in peers]
    order = [r["dataset"] for r in ev["results"]]
    head = (["dataset", "freq", "rows", "folds x h", "lstmcast MASE", "lstmcast s"]
            + sum([[f"{NAMES[m]} MASE", f"{NAMES[m]} s"] for m in models], [])
            + (["Darts"] if "darts_lstm" not in models else []) + ["seasonal naive MASE"])
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for d in order:
        r = lstm[d]
        cells = [d, r["freq"], str(r["rows"]), f"{r['folds']} x {r['horizon']}",
                 _f(r["lstm_MASE"]), _f(r["seconds"], ".1f")]
        for m in models:
            p = peers[m].get(d)
            if p is None:
                cells += ["not run", "not run"]
            else:
                mase = _f(p[f"{m}_MASE"])
                cells += [mase + (" (failed)" if f"{m}_error" in p and not np.isfinite(p[f"{m}_MASE"]) else ""),
                          _f(p[f"{m}_seconds"], ".1f")]
        if "darts_lstm" not in models:
            cells.append("not run")
        cells.append(_f(r["seasonal_naive_MASE"]))
        lines.append("| " + " | ".join(cells) + " |")

    summary = ["| | datasets | mean MASE (lstmcast on the same datasets) | median MASE (lstmcast) "
               "| total seconds (lstmcast on the same datasets) | lstmcast lower MASE on | lstmcast faster on |",
               "|---|---|---|---|---|---|---|"]
    for m in models:
        both = [d for d in order if d in peers[m] and np.isfinite(peers[m][d][f"{m}_MASE"])]
        if not both:
            continue
        pm = np.mean([peers[m][d][f"{m}_MASE"] for d in both])
        lm = np.mean([lstm[d]["lstm_MASE"] for d in both])
        ps = sum(peers[m][d][f"{m}_seconds"] for d in both)
        ls = sum(lstm[d]["seconds"] for d in both)
        wins = sum(lstm[d]["lstm_MASE"] < peers[m][d][f"{m}_MASE"] for d in both)
        fast = sum(lstm[d]["seconds"] < peers[m][d][f"{m}_seconds"] for d in both)
        pmed = np.median([peers[m][d][f"{m}_MASE"] for d in both])
        lmed = np.median([lstm[d]["lstm_MASE"] for d in both])
        summary.append(f"| {NAMES[m]} | {len(both)}/{len(order)} | {pm:.3f} ({lm:.3f}) | {pmed:.3f} ({lmed:.3f}) "
                       f"| {ps:.1f} ({ls:.1f}) | "
                       f"{wins}/{len(both)} | {fast}/{len(both)} |")
    all_l = np.mean([lstm[d]["lstm_MASE"] for d in order])
    all_s = np.mean([lstm[d]["seasonal_naive_MASE"] for d in order])
    summary.append(f"| lstmcast, all datasets | {len(order)}/{len(order)} | {all_l:.3f} | "
                   f"{np.median([lstm[d]['lstm_MASE'] for d in order]):.3f} | "
                   f"{sum(lstm[d]['seconds'] for d in order):.1f} | | |")
    summary.append(f"| seasonal naive, all datasets | {len(order)}/{len(order)} | {all_s:.3f} | "
                   f"{np.median([lstm[d]['seasonal_naive_MASE'] for d in order]):.3f} | | | |")

    checks = []
    for m in models:
        for d in order:
            p = peers[m].get(d)
            if p is not None and abs(p["seasonal_naive_MASE"] - lstm[d]["seasonal_naive_MASE"]) > 1e-9:
                checks.append(f"{d} ({p['seasonal_naive_MASE']:.6f} vs {lstm[d]['seasonal_naive_MASE']:.6f})")
    fold_note = ("Seasonal naive scored on peers.py's cuts equals evidence.py's on every dataset "
                 "run: the folds are identical." if not checks else
                 "FOLD MISMATCH (seasonal naive differs): " + ", ".join(sorted(set(checks))))
    notes = []
    for meta in metas:
        notes.append(f"- `{meta['command']}` ({meta['date']}; peer Python {meta['python']}: "
                     + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + f"; order {meta['order']}; "
                     f"{meta['threads']})" + (f"; not run: {', '.join(meta['not_run'])}" if meta["not_run"] else ""))
    fails = [f"{d} {m}: {peers[m][d][f'{m}_error'][:160]}" for m in models for d in order
             if d in peers[m] and f"{m}_error" in peers[m][d]]
    em = ev["meta"]
    return "\n".join(
        lines + ["", "Summary:", ""] + summary + ["", fold_note, ""]
        + [f"lstmcast: `{em['command']}` ({em['date']}, commit {em['commit']}, lstmcast files of commit "
           f"{em.get('lstmcast_commit') or 'unknown'}{' WITH UNCOMMITTED CHANGES' if em['lstmcast_uncommitted'] else ''}"
           f"; LSTMCAST_THREADS={em['threads']}; {em['machine']}).", "", "Peers:"] + notes
        + (["", "Failures:"] + [f"- {x}" for x in fails] if fails else [])) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--half", choices=("tuning", "confirmation"))
    ap.add_argument("--only", nargs="+", metavar="NAME")
    ap.add_argument("--python", default=sys.executable, help="the Python with torch / neuralforecast / darts")
    ap.add_argument("--models", nargs="+", choices=tuple(NAMES), default=list(NAMES))
    ap.add_argument("--json", metavar="FILE", help="save the numbers (after every dataset)")
    ap.add_argument("--order", choices=("series", "rows"), default="series",
                    help="the half's own order, or fewest rows first")
    ap.add_argument("--deadline", type=float, default=math.inf, metavar="SECONDS",
                    help="start no dataset after this many seconds (a running one is cut off there)")
    ap.add_argument("--report", nargs="+", metavar="JSON",
                    help="EVIDENCE_JSON PEERS_JSON...: print the markdown comparison; run nothing")
    args = ap.parse_args(argv)
    if args.report:
        print(report(Path(args.report[0]), [Path(p) for p in args.report[1:]]), end="")
        return 0
    if not args.half:
        ap.error("--half is required (or --report)")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())

"""Evidence for issue #25: ``update``'s adaptive intervals over a simulated production period.

``benchmarks/accuracy/intervals.py`` fits once and forecasts from many origins with no
update between them, so it cannot see adaptive conformal inference
(:mod:`lstmcast.model.adaptive`), which only acts in ``update``. Here, for every dataset of
one half of ``benchmarks/common/datasets.py`` (``--half`` required; the confirmation half
is for the report, never for choosing), the shipped default is fitted once on the rows
before the first of up to ``--origins`` origins half a horizon apart in the last 30 % of
the data (the origins of ``intervals.py``), and then the origins are walked in time order,
as production would: forecast the horizon from the history so far with 80 % and 95 %
intervals, note per point whether each band covered the actual, then
``forecaster.update(the data up to the next origin)`` (the real update: network
fine-tuning with its default epochs, statistical members moved on, recalibration, the
ACI step) and on to the next origin.

Two arms start from the same fitted model (saved once, loaded for each):

* ``adaptive``: the shipped update;
* ``static``: the same updates with the ACI step disabled (``adaptive.GAMMA`` set to 0 for
  the arm, a benchmark-only patch: every level's working miss rate stays nominal).

The update's training is seeded by the number of earlier updates and does not read the
ACI state, so both arms train the same networks: the point forecasts must agree (the
table's "points differ" note checks it) and any difference in coverage is ACI alone.

Per dataset and arm: coverage at 80 and 95 over every origin, and over the second half
of the origins alone (where ACI has had the first half to act), the adaptive arm's final
working level of each band (what ``lstmcast info`` shows as "calibrated at"), and the
seconds of the walk (forecasts and updates). Then the summary of ``intervals.py``: how many
datasets are within 5 points of nominal at both levels, and the mean absolute miss at
each level, static against adaptive, all origins and second half.

    LSTMCAST_THREADS=1 python -m benchmarks.production.adaptive --half tuning [--only NAME ...]
        [--origins 40] [--epochs N] [--json FILE]
    python -m benchmarks.production.adaptive --load FILE

``--epochs N`` caps the update's epochs (default: the update's own, with early stopping);
the table's header says which ran.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.accuracy import evidence, intervals
from benchmarks.common import backtests, datasets

LEVELS = intervals.LEVELS
ARMS = ("static", "adaptive")
COLUMNS = {"static": "static, all", "adaptive": "adaptive, all",
           "static_late": "static, 2nd half", "adaptive_late": "adaptive, 2nd half"}


@contextlib.contextmanager
def aci(on: bool):
    """The ACI step as shipped (``on``) or disabled (its step size set to 0)."""
    from lstmcast.model import adaptive

    gamma = adaptive.GAMMA
    adaptive.GAMMA = gamma if on else 0.0
    try:
        yield
    finally:
        adaptive.GAMMA = gamma


def walk(model, ds, H: int, k: int, step: int, season: int, epochs: int | None) -> tuple[dict, list]:
    """Forecast from each of the ``k`` origins and update to the next: (coverage over all
    origins and over the last ceil(k/2), the final working levels and the rest; the point
    forecasts)."""
    from lstmcast.errors import LstmcastError
    from lstmcast.model import adaptive
    from lstmcast.model.backtest import MODEL, _cut, backtest

    started = time.perf_counter()
    folds, points, errors, kept, epochs_run = [], [], [], 0, 0
    options = {} if epochs is None else {"epochs": epochs}
    for i in range(k):
        back = (k - 1 - i) * step   # rows after origin i's horizon
        bt = backtest(_cut(ds, back), folds=1, fitted=model, levels=LEVELS)
        folds.append(bt.folds)
        points += [f.forecasts[MODEL] for f in bt.folds]
        if i < k - 1:
            try:
                report = model.update(_cut(ds, back + H - step), **options)
                kept += bool(report.kept_old_weights)
                epochs_run += report.epochs
            except LstmcastError as e:   # as cron: the model stays as it was, the next update catches up
                errors.append(f"origin {i}: {type(e).__name__}: " + str(e).replace(f"{Path(ds.source).parent}/", ""))
    def score(origins):
        return intervals._score([f for fs in origins for f in fs], season, intervals.bands)

    out = score(folds) | {f"late_{key}": v for key, v in score(folds[k // 2:]).items()}
    state = adaptive.realised(model.calibration_)
    out.update({f"level_{lv:g}": state.get(f"{lv:g}", {}).get("calibrated_at", math.nan) for lv in LEVELS})
    out.update({f"scored_{lv:g}": state.get(f"{lv:g}", {}).get("coverage", math.nan) for lv in LEVELS})
    out.update(seconds=time.perf_counter() - started, kept_old=kept, epochs_run=epochs_run, errors=errors)
    return out, points


def run_one(data, folder: Path, origins: int, epochs: int | None) -> dict:
    from lstmcast.frequencies import season_length
    from lstmcast.model.backtest import _cut
    from lstmcast.model.forecaster import LSTMForecaster, load_model

    ds = backtests.load(data, folder)
    season = season_length(ds.freq)
    f = LSTMForecaster()
    H = f.resolved(ds)[0].horizon
    k, step = intervals._origins(ds, H, origins)
    started = time.perf_counter()
    path = folder / f"{data.name}-first.safetensors"
    f.fit(_cut(ds, H + (k - 1) * step)).save(path)
    out = {"dataset": data.name, "frequency": data.frequency, "freq": ds.freq, "series": len(ds.series),
           "origins": k, "horizon": H, "step": step, "fit_seconds": time.perf_counter() - started}
    points = {}
    for arm in ARMS:
        with aci(arm == "adaptive"):
            r, points[arm] = walk(load_model(path), ds, H, k, step, season, epochs)
        out.update({f"{arm}_{key}": v for key, v in r.items()})   # late_cov_80 -> static_late_cov_80
    out["points_differ"] = max(float(np.nanmax(np.abs(a - b), initial=0.0))
                               for a, b in zip(points["static"], points["adaptive"]))
    return out


# ---------------------------------------------------------------- reporting

def _f(v, fmt=".1f"):
    return evidence._f(v, fmt)


def _cov(r: dict, name: str) -> str:
    cov = f"{_f(r.get(f'{name}_cov_80'))} / {_f(r.get(f'{name}_cov_95'))}"
    return f"**{cov}**" if intervals._within(r, name) else cov


def closer(results: list[dict]) -> str:
    """Per level and span: on how many datasets ACI moved coverage toward nominal."""
    lines = ["| datasets where adaptive is, against static | " + " | ".join(f"at {lv:g}" for lv in LEVELS) + " |",
             "|---|" + "---|" * len(LEVELS)]
    for span, late in (("all origins", ""), ("2nd half", "_late")):
        cells = []
        for lv in LEVELS:
            miss = [[abs(r.get(f"{arm}{late}_cov_{lv:g}", math.nan) - lv) for arm in ARMS] for r in results]
            miss = [(s, a) for s, a in miss if np.isfinite(s) and np.isfinite(a)]
            cells.append(f"closer {sum(a < s - 1e-9 for s, a in miss)}, farther {sum(a > s + 1e-9 for s, a in miss)}, "
                         f"same {sum(abs(a - s) <= 1e-9 for s, a in miss)}")
        lines.append(f"| {span} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(meta: dict, results: list[dict]) -> str:
    epochs = (f"the update's own epochs: at most {meta['update_epochs']}, with early stopping"
              if meta.get("epochs") is None else f"`--epochs {meta['epochs']}` passed to every update")
    head = ["dataset", "freq", "origins x h (step)", *(f"{c} cov 80 / 95" for c in COLUMNS.values()),
            "adaptive final level 80 / 95", "adaptive update's record 80 / 95", "seconds fit / static / adaptive"]
    lines = [f"# Intervals in production: {meta['half']} half ({len(results)} datasets)", "",
             f"Command: `{meta['command']}`", "",
             f"Run on {meta['date']} at commit {meta['commit']} ({'with' if meta['lstmcast_uncommitted'] else 'no'} "
             f"uncommitted changes in lstmcast/), {meta['machine']}, LSTMCAST_THREADS={meta['threads']}.", "",
             f"One fit of the shipped default before the first origin, then at each origin a forecast with 80 % "
             f"and 95 % intervals and `update` with the rows up to the next origin ({epochs}; ACI step size "
             f"{meta['gamma']:g} per scored point, at most {meta['max_step']:g} per update). Static: the same "
             "updates with the ACI step disabled. Coverage: % of the points inside each interval, over every "
             "origin and over the second half of the origins alone (the last ceil(k/2) of k); final level: the adaptive arm's working "
             "level of each band after the last update (`lstmcast info`'s \"calibrated at\"); update's record: "
             "the coverage `update` itself scored and stepped on (`info`'s \"realised coverage\": the new "
             "rows of each update, i.e. the first `step` points of each origin's forecast). Seconds: the walk "
             "(forecasts and updates).", "",
             *([f"Not in the table: {'; '.join(meta['missing'])}.", ""] if meta.get("missing") else []),
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r["dataset"], r["freq"], f"{r['origins']} x {r['horizon']} ({r['step']})",
                 *(_cov(r, c) for c in COLUMNS),
                 f"{_f(r.get('adaptive_level_80'))} / {_f(r.get('adaptive_level_95'))}",
                 f"{_f(r.get('adaptive_scored_80'))} / {_f(r.get('adaptive_scored_95'))}",
                 f"{r['fit_seconds']:.1f} / {r['static_seconds']:.1f} / {r['adaptive_seconds']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Bold: within 5 points of nominal at both levels.", "",
              intervals.summary(results, list(COLUMNS), COLUMNS), "", closer(results), ""]
    differ = [f"{r['dataset']} ({r['points_differ']:.3g})" for r in results if r.get("points_differ", 0) > 0]
    lines.append("Point forecasts of the two arms: " + (
        "identical at every origin on every dataset (the difference is ACI alone)." if not differ
        else "differ on " + ", ".join(differ) + " (largest absolute difference)."))
    found = [f"- {r['dataset']} {arm}: {e}" for r in results for arm in ARMS for e in r.get(f"{arm}_errors", [])]
    kept = sum(r.get("adaptive_kept_old", 0) for r in results)
    updates = sum(max(r["origins"] - 1, 0) for r in results)
    epochs_run = sum(r.get("adaptive_epochs_run", 0) for r in results)
    lines += ["", f"Updates that kept the old weights (validation loss not improved), adaptive arm: {kept} of "
              f"{updates}; epochs run over all updates: {epochs_run}.", "", "Errors from update:", "", *(found or ["- none"])]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--half", choices=("tuning", "confirmation"))
    ap.add_argument("--only", nargs="+", metavar="NAME")
    ap.add_argument("--origins", type=int, default=40)
    ap.add_argument("--epochs", type=int, metavar="N", help="most epochs of each update (default: update's own)")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--load", metavar="FILE")
    args = ap.parse_args(argv)
    if evidence.reprinted(ap, args, markdown):
        return 0
    from lstmcast.errors import LstmcastError
    from lstmcast.model import adaptive, update

    meta = {**evidence.provenance(args.half, {}, False), "origins": args.origins, "epochs": args.epochs,
            "update_epochs": update.EPOCHS, "gamma": adaptive.GAMMA, "max_step": adaptive.MAX_STEP}
    chosen = [d for d in datasets.chosen(args.half) if not args.only or d.name in args.only]
    refused = {}

    def run(data, folder):
        try:
            return run_one(data, folder, args.origins, args.epochs)
        except LstmcastError as e:   # each_dataset notes it and goes on; the table's header names it
            refused[data.name] = str(e).replace(f"{folder}/", "")
            raise

    results = evidence.each_dataset(
        chosen, run, meta, args.json,
        lambda i, data, r: print(f"[{i}/{len(chosen)}] {data.name}: " + ", ".join(
            f"{c} {_f(r.get(f'{c}_cov_80'))}/{_f(r.get(f'{c}_cov_95'))}" for c in COLUMNS)
            + f" ({r['static_seconds'] + r['adaptive_seconds']:.0f} s)", file=sys.stderr))
    done = {r["dataset"] for r in results}
    meta["missing"] = [f"{d.name} ({refused.get(d.name) or backtests.available(d)})"
                       for d in chosen if d.name not in done]
    if args.json:
        evidence.save(Path(args.json), meta, results)
    print(markdown(meta, results), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

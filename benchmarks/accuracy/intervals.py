"""Evidence for issue #25: interval coverage and interval score, lstmcast against AutoETS.

For every dataset of one half of ``benchmarks/common/datasets.py`` (``--half`` required;
the confirmation half is for the report, never for choosing), one fit of each lstmcast
configuration on the rows before up to ``--origins`` origins half a horizon apart in the
last 30 % of the data (the "many origins" of ``benchmarks/accuracy/evidence.py``), then
forecasts from every origin with 80 % and 95 % intervals; statsforecast's AutoETS
(optional) refitted at every origin gives its own intervals on the same points.

Per dataset and configuration: coverage at 80 and 95, MSIS at 95 (the M4 interval score,
scaled by the history's seasonal naive error), how many calibration scores stand behind
each level, the band calibration chosen (``auto``), and for sub-daily data the 80 %
coverage at night (00:00-05:59) and in the day (10:00-15:59). Then the issue's targets:

- coverage within 5 points of nominal at both levels on at least 70 % of the datasets,
  and a mean absolute miss of at most 3 points at each level;
- MSIS at 95 % below AutoETS's on at least half of the datasets;
- on sub-daily series with a day-night cycle, night and day 80 % coverage both within 5.

    LSTMCAST_THREADS=1 python -m benchmarks.accuracy.intervals --half tuning [--only NAME ...]
        [--configs step pooled auto] [--json FILE]
    python -m benchmarks.accuracy.intervals --load FILE
"""

from __future__ import annotations

import argparse
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.accuracy import evidence
from benchmarks.common import backtests, datasets

LEVELS = (80.0, 95.0)
CONFIGS = {"step": {"_bands": "step"}, "pooled": {"_bands": "pooled"}, "auto": {"_bands": "auto"}}
NIGHT, DAY = range(0, 6), range(10, 16)
TOLERANCE, SHARE, MEAN_MISS = 5.0, 0.70, 3.0


def _origins(ds, H: int, n: int) -> tuple[int, int]:
    shortest = min(len(s) for s in ds.series.values())
    step = max(1, H // 2)
    return max(1, min(n, (int(0.3 * shortest) - H) // step + 1)), step


def _score(folds, season: int, get) -> dict:
    """Coverage (and night / day coverage) and MSIS over every fold, series and target;
    ``get(fold, target) -> (lower80, upper80, lower95, upper95)`` or None."""
    from lstmcast.model import metrics

    inside = {lv: [] for lv in LEVELS}
    night, day, msis = [], [], []
    for fold in folds:
        for t in fold.actual.columns:
            bounds = get(fold, t)
            if bounds is None:
                continue
            y = fold.actual[t].to_numpy(np.float64)
            hist = fold.history[t].to_numpy(np.float64)
            for i, lv in enumerate(LEVELS):
                lo, hi = bounds[2 * i], bounds[2 * i + 1]
                inside[lv].append((y >= lo) & (y <= hi))
            hours = pd.DatetimeIndex(fold.actual.index).hour
            ok = inside[80.0][-1]
            night.append(ok[np.isin(hours, NIGHT)])
            day.append(ok[np.isin(hours, DAY)])
            msis.append(metrics.msis(y, bounds[2], bounds[3], 95.0, hist, season))
    out = {f"cov_{lv:g}": 100 * float(np.concatenate(v).mean()) if v else math.nan for lv, v in inside.items()}
    out["msis_95"] = float(np.nanmean(msis)) if msis else math.nan
    n_night, n_day = np.concatenate(night) if night else [], np.concatenate(day) if day else []
    out["night_80"] = 100 * float(np.mean(n_night)) if len(n_night) else math.nan
    out["day_80"] = 100 * float(np.mean(n_day)) if len(n_day) else math.nan
    out["points"] = int(sum(len(v) for v in inside[80.0]))
    return out


def bands(fold, t):
    """The model's (lower80, upper80, lower95, upper95) of target ``t`` in a backtest fold,
    for :func:`_score`."""
    j = list(fold.actual.columns).index(t)
    return tuple(np.asarray(fold.bounds[lv][b][:, j], np.float64) for lv in LEVELS for b in (0, 1))


def _autoets(history: np.ndarray, horizon: int, season: int):
    from statsforecast.models import AutoETS

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        season = season if 1 < season <= 24 and len(history) >= 2 * season + 2 else 1
        try:
            p = AutoETS(season_length=season).fit(history).predict(horizon, level=[80, 95])
            return (p["lo-80"], p["hi-80"], p["lo-95"], p["hi-95"])
        except Exception:  # noqa: BLE001 - a failed peer fit is a failed benchmark cell
            return None


def run_one(data, folder: Path, configs: dict, origins: int, with_ets: bool) -> dict:
    from lstmcast.errors import DataError
    from lstmcast.frequencies import season_length
    from lstmcast.model import calibration
    from lstmcast.model.backtest import _cut, backtest
    from lstmcast.model.forecaster import LSTMForecaster

    ds = backtests.load(data, folder)
    season = season_length(ds.freq)
    out = {"dataset": data.name, "frequency": data.frequency, "freq": ds.freq, "series": len(ds.series)}
    bt = None
    for name, params in configs.items():
        started = time.perf_counter()
        f = LSTMForecaster(**params)
        H = f.resolved(ds)[0].horizon
        k, step = _origins(ds, H, origins)
        try:
            model = f.fit(_cut(ds, H + (k - 1) * step))
            bt = backtest(ds, folds=k, step=step, fitted=model, levels=LEVELS)
        except DataError as e:
            print(f"note: {data.name} {name}: {e}", file=sys.stderr)
            continue

        r = _score(bt.folds, season, bands)
        out.update({f"{name}_{k2}": v for k2, v in r.items()})
        out[f"{name}_scores"] = calibration.scores_behind(model.residuals_, model.calibration_)
        out[f"{name}_how"] = "+".join(k2 for k2 in ("pool", "positions", "signed") if model.calibration_.get(k2)) \
            or "step"
        out[f"{name}_seconds"] = time.perf_counter() - started
        out.update(origins=k, horizon=H)
    if with_ets and bt is not None:
        started = time.perf_counter()
        r = _score(bt.folds, season, lambda fold, t: _autoets(fold.history[t].to_numpy(np.float64),
                                                               len(fold.actual), season))
        out.update({f"autoets_{k2}": v for k2, v in r.items()})
        out["autoets_seconds"] = time.perf_counter() - started
    return out


# ---------------------------------------------------------------- reporting

def _f(v, fmt=".1f"):
    return evidence._f(v, fmt)


def _within(r, name) -> bool:
    return all(abs(r.get(f"{name}_cov_{lv:g}", math.nan) - lv) <= TOLERANCE for lv in LEVELS)


def markdown(meta: dict, results: list[dict]) -> str:
    names = list(meta["configs"]) + (["autoets"] if any("autoets_cov_80" in r for r in results) else [])
    head = ["dataset", "freq", "origins x h"]
    for n in names:
        head += [f"{n} cov 80 / 95", f"{n} MSIS"]
    head += [f"{n} scores / how" for n in meta["configs"]]
    lines = [f"# Interval evidence: {meta['half']} half ({len(results)} datasets)", "",
             f"Command: `{meta['command']}`", "",
             f"Run on {meta['date']} at commit {meta['commit']} ({'with' if meta['lstmcast_uncommitted'] else 'no'} "
             f"uncommitted changes in lstmcast/), {meta['machine']}, LSTMCAST_THREADS={meta['threads']}; "
             f"statsforecast {meta.get('statsforecast') or 'not installed'}.", "",
             "Coverage: % of the points inside the 80 % and 95 % intervals over every origin (one fit "
             "before the first); MSIS: M4's interval score at 95 % (lower is better); scores: calibration "
             "scores behind each level; how: the band calibration (step, pool, positions, signed).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [r["dataset"], r["freq"], f"{r.get('origins')} x {r.get('horizon')}"]
        for n in names:
            cov = f"{_f(r.get(f'{n}_cov_80'))} / {_f(r.get(f'{n}_cov_95'))}"
            cells += [f"**{cov}**" if _within(r, n) else cov, _f(r.get(f"{n}_msis_95"), ".2f")]
        cells += [f"{r.get(f'{n}_scores', '')} / {r.get(f'{n}_how', '')}" for n in meta["configs"]]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Bold: within 5 points of nominal at both levels.", "", summary(results, names)]
    sub = [r for r in results if r.get("frequency") in ("hourly", "half-hourly")]
    if sub:
        lines += ["", "Sub-daily series: 80 % coverage at night (00:00-05:59) and in the day (10:00-15:59)", "",
                  "| dataset | " + " | ".join(f"{n} night / day" for n in names) + " |",
                  "|---|" + "---|" * len(names)]
        for r in sub:
            lines.append(f"| {r['dataset']} | " + " | ".join(
                f"{_f(r.get(f'{n}_night_80'))} / {_f(r.get(f'{n}_day_80'))}" for n in names) + " |")
    return "\n".join(lines) + "\n"


def summary(results: list[dict], names: list[str], labels: dict[str, str] | None = None) -> str:
    """The targets' table over ``results``, a column per name (headed by ``labels``, if
    given); the seconds row only for names that have seconds."""
    n = len(results)
    lines = ["| measure | " + " | ".join((labels or {}).get(c, c) for c in names) + " | target |",
             "|---|" + "---|" * (len(names) + 1)]

    def row(label, fn, target=""):
        lines.append(f"| {label} | " + " | ".join(fn(c) for c in names) + f" | {target} |")

    row("within 5 points at 80 and 95", lambda c: evidence._share(sum(_within(r, c) for r in results), n),
        ">= 70 %")
    for lv in LEVELS:
        row(f"mean coverage {lv:g}", lambda c, lv=lv: _f(np.nanmean([r.get(f"{c}_cov_{lv:g}", math.nan)
                                                                     for r in results])))
        row(f"mean absolute miss at {lv:g}", lambda c, lv=lv: _f(np.nanmean(
            [abs(r.get(f"{c}_cov_{lv:g}", math.nan) - lv) for r in results])), "<= 3")
    if "autoets" in names:
        def beats(c):
            pairs = [(r.get(f"{c}_msis_95", math.nan), r.get("autoets_msis_95", math.nan)) for r in results]
            pairs = [(a, b) for a, b in pairs if np.isfinite(a) and np.isfinite(b)]
            return evidence._share(sum(a < b for a, b in pairs), len(pairs)) if c != "autoets" else ""
        row("MSIS below AutoETS's", beats, ">= 50 %")
    row("geometric mean MSIS", lambda c: _f(float(np.exp(np.nanmean(np.log(
        [r.get(f"{c}_msis_95", math.nan) for r in results if r.get(f"{c}_msis_95", 0) > 0])))), ".3f"))
    row("seconds", lambda c: f"{sum(r.get(f'{c}_seconds', 0) for r in results):.0f}"
        if any(f"{c}_seconds" in r for r in results) else "")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--half", choices=("tuning", "confirmation"))
    ap.add_argument("--only", nargs="+", metavar="NAME")
    ap.add_argument("--configs", nargs="*", default=list(CONFIGS), metavar="NAME")
    ap.add_argument("--origins", type=int, default=40)
    ap.add_argument("--no-ets", action="store_true")
    ap.add_argument("--json", metavar="FILE")
    ap.add_argument("--load", metavar="FILE")
    args = ap.parse_args(argv)
    if evidence.reprinted(ap, args, markdown):
        return 0
    configs = {k: CONFIGS[k] for k in args.configs}
    with_ets = not args.no_ets and backtests.autoets_forecaster() is not None
    meta = {**evidence.provenance(args.half, {}, with_ets), "configs": list(configs)}
    chosen = [d for d in datasets.chosen(args.half) if not args.only or d.name in args.only]
    results = evidence.each_dataset(
        chosen, lambda data, folder: run_one(data, folder, configs, args.origins, with_ets), meta, args.json,
        lambda i, data, r: print(f"[{i}/{len(chosen)}] {data.name}: " + ", ".join(
            f"{c} {_f(r.get(f'{c}_cov_80'))}/{_f(r.get(f'{c}_cov_95'))}" for c in [*configs, "autoets"]),
            file=sys.stderr))
    print(markdown(meta, results), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())

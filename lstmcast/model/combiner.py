"""The combiner: per series and target, the forecast as a weighted mix of members.

Members (:data:`MEMBERS`): the network, the three baselines of :mod:`lstmcast.model.guard`
and the statistical members of :mod:`lstmcast.model.members`. A mix is a weight per
member, summing to 1 (array ``(..., len(MEMBERS))``). The baseline guard's choice (the
network, a baseline, or a blend of the two) is one mix (:func:`from_guard`); the
combiner's rule (:data:`RULES`, an internal choice) decides the rest on the same held-out
windows the guard uses:

- ``guard``: the guard's choice alone (what lstmcast 0.2 did);
- ``select``: per (series, target) the candidate (:func:`candidates`) with the lowest mean
  absolute error on the held-out windows: the guard's choice, each statistical member,
  and equal-weight means of the network and the statistical members; series with fewer
  than :data:`lstmcast.model.guard.MIN_WINDOWS` windows take the candidate best pooled
  over all series;
- ``mean``: the equal-weight mean of the guard's choice and the statistical members
  (no selection: the M4 lesson that a plain mean is hard to beat);
- ``stats``: ``select`` without the network (the series' best baseline in place of the
  guard's choice, no candidate with the network): the evidence's "combination without
  the LSTM", which tells whether the network earns its place.

A member that loses everywhere gets weight 0. Everything is in the network's scaled units
(per-series affine, so a mix means the same in the data's units). Pure numpy.
"""

from __future__ import annotations

import numpy as np

from lstmcast.model import guard

MEMBERS = ("lstm", "naive", "seasonal_naive", "drift", "ets", "theta")
STATISTICAL = ("ets", "theta")
RULES = ("guard", "select", "mean", "stats")
M = len(MEMBERS)
_AT = {name: i for i, name in enumerate(MEMBERS)}


def from_guard(baseline: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The mix (..., M) of the guard's choice: the network with ``weight``, the baseline
    ``baseline`` (-1: none) with the rest."""
    baseline, weight = np.asarray(baseline), np.asarray(weight, dtype=np.float64)
    mix = np.zeros((*baseline.shape, M))
    w = np.where(baseline < 0, 1.0, weight)
    mix[..., 0] = w
    for b in range(len(guard.BASELINES)):
        mix[..., 1 + b] += np.where(baseline == b, 1.0 - w, 0.0)
    return mix


def _even(names: tuple[str, ...]) -> np.ndarray:
    mix = np.zeros(M)
    for n in names:
        mix[_AT[n]] = 1.0 / len(names)
    return mix


# the fixed candidates of the "select" rule besides the guard's choice and its mean with
# the statistical members
FIXED = (("ets",), ("theta",), ("ets", "theta"), ("lstm", "ets", "theta"), ("lstm", "ets"), ("lstm", "theta"))


def candidates(guard_mix: np.ndarray, rule: str) -> np.ndarray:
    """The mixes a rule chooses among: (candidates, series, targets, M)."""
    stats = _even(STATISTICAL)
    mean = (guard_mix + len(STATISTICAL) * stats) / (1 + len(STATISTICAL))
    if rule == "guard":
        return guard_mix[None]
    if rule == "mean":
        return mean[None]
    if rule in ("select", "stats"):
        fixed = [np.broadcast_to(_even(c), guard_mix.shape) for c in FIXED if rule == "select" or "lstm" not in c]
        return np.stack([guard_mix, mean, *fixed])
    raise ValueError(f"unknown combiner rule {rule!r}")


def mixed(forecasts: np.ndarray, mix: np.ndarray) -> np.ndarray:
    """The mix of ``forecasts`` (M, n, horizon, targets) by ``mix`` (n, targets, M): (n,
    horizon, targets). Members of weight 0 may hold anything finite (or be zeros)."""
    return np.einsum("mnht,ntm->nht", forecasts, mix)


def choose(forecasts: np.ndarray, actual: np.ndarray, series: np.ndarray, guard_mix: np.ndarray,
           rule: str) -> tuple[np.ndarray, np.ndarray]:
    """``(mix (S, nt, M), scores (S, nt, M + 1))`` from held-out windows: ``forecasts``
    (M, n, horizon, nt) of each member, ``actual`` (n, horizon, nt) (NaN: missing),
    ``series`` (n,) each window's series, ``guard_mix`` (S, nt, M) the guard's choice.
    ``scores``: each member's mean absolute error, then the chosen mix's (-1: no window)."""
    S, nt = guard_mix.shape[:2]
    count = np.bincount(series, minlength=S).astype(np.float64)

    def per_series(err: np.ndarray) -> np.ndarray:  # (n, nt) -> (S, nt) sums
        return np.stack([np.bincount(series, weights=err[:, j], minlength=S) for j in range(nt)], axis=1)

    def mean_abs(f: np.ndarray) -> np.ndarray:  # (n, H, nt) -> (n, nt)
        e = f - actual
        seen = ~np.isnan(e)
        return np.abs(np.where(seen, e, 0.0)).sum(axis=1) / np.maximum(seen.sum(axis=1), 1)

    sums = np.zeros((S, nt, M + 1))
    for m in range(M):
        sums[:, :, m] = per_series(mean_abs(forecasts[m]))
    if rule == "stats":  # the series' best baseline stands in for the guard's choice
        best = 1 + np.argmin(sums[:, :, 1:1 + len(guard.BASELINES)], axis=2)
        guard_mix = np.zeros((S, nt, M))
        np.put_along_axis(guard_mix, best[:, :, None], 1.0, axis=2)
    cands = candidates(guard_mix, rule)
    cand_sums = np.stack([per_series(mean_abs(mixed(forecasts, c[series]))) for c in cands])  # (C, S, nt)
    pick = np.argmin(cand_sums, axis=0)          # ties: the earlier candidate (the guard's choice first)
    few = count < guard.MIN_WINDOWS
    pick[few] = int(np.argmin(cand_sums.sum(axis=(1, 2))))
    mix = np.take_along_axis(cands, pick[None, :, :, None], axis=0)[0]
    sums[:, :, M] = np.take_along_axis(cand_sums, pick[None], axis=0)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        scores = sums / count[:, None, None]
    return mix, np.where(np.isnan(scores), -1.0, scores)


def uses(mix: np.ndarray, names=STATISTICAL) -> bool:
    """Whether any (series, target) gives weight to a member of ``names``."""
    return bool((mix[..., [_AT[n] for n in names]] > 0).any())


def name(mix_row: np.ndarray) -> str:
    """What made a forecast: ``lstm``, a member's name, ``blend_<baseline>`` (the guard's
    blend of the network and a baseline), or the members mixed, joined by ``+``."""
    used = [MEMBERS[m] for m in range(M) if mix_row[m] > 0]
    if len(used) == 1:
        return used[0]
    if len(used) == 2 and used[0] == "lstm" and used[1] in guard.BASELINES:
        return f"blend_{used[1]}"
    return "+".join(used) if used else "lstm"


def describe(mix: np.ndarray) -> dict[str, int]:
    """How many (series, target) pairs forecast with each mix, by :func:`name`."""
    out: dict[str, int] = {}
    for row in mix.reshape(-1, M):
        out[name(row)] = out.get(name(row), 0) + 1
    return out


def summary(keys: list[str], mix: np.ndarray) -> dict:
    """For the model file and ``info``: how many (series, target) pairs use each mix, and
    the first :data:`lstmcast.model.guard.SHOWN` series that do not use the network alone."""
    others = {}
    for i, key in enumerate(keys):
        names = [name(row) for row in mix[i]]
        if any(n != "lstm" for n in names) and len(others) < guard.SHOWN:
            others[key] = names if len(names) > 1 else names[0]
    return {"forecasts": describe(mix), "series": others}


def table(mix: np.ndarray, scores: np.ndarray) -> dict[str, dict[str, float]]:
    """Per member, its mean weight and its mean held-out absolute error (scaled units)
    over the (series, target) pairs scored: what ``fit``, ``info`` and ``evaluate`` show."""
    seen = scores[..., 0] >= 0
    out = {}
    for m, member in enumerate(MEMBERS):
        err = scores[..., m][seen]
        out[member] = {"weight": round(float(mix[..., m].mean()), 4),
                       "error": round(float(err.mean()), 4) if err.size else None}
    return out


def line(members: dict[str, dict]) -> str:
    """``lstm 1/0.41, naive 0/0.528, ...``: each member's mean weight / held-out error."""
    return ", ".join(f"{m} {v['weight']:.2g}/{'-' if v['error'] is None else format(v['error'], '.3g')}"
                     for m, v in members.items())


def check(mix: np.ndarray, S: int, nt: int) -> np.ndarray:
    """A stored mix, checked (a ValueError says what is wrong)."""
    mix = np.asarray(mix, dtype=np.float64)
    if mix.shape != (S, nt, M):
        raise ValueError(f"guard.mix does not match the model's {S} series and {nt} target(s)")
    if not (np.isfinite(mix).all() and (mix >= 0).all() and np.allclose(mix.sum(axis=2), 1.0, atol=1e-5)):
        raise ValueError("the combiner's weights are out of range (the file is damaged)")
    return mix

"""Calibration: held-out windows scored, the guard's choice, the conformal scores and the
band widths a forecast is given.

Plain functions over arrays, called openly by the forecaster's ``fit`` and ``predict`` and
by ``update`` (which recalibrates through :func:`guarded_residuals` and :func:`scale`, as
fit does). Everything is in scaled units (the pipeline's), the scores optionally divided
by each window's typical step-to-step change (normalised conformal prediction: bands
widen in volatile stretches); the choice between the two is
:attr:`lstmcast.model.choices.Choices.interval_scale`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from lstmcast.config import ModelConfig
from lstmcast.errors import UsageError
from lstmcast.model import adaptive, bands, combiner, conformal, guard, members, training
from lstmcast.nn.network import Net
from lstmcast.prep.normalize import Norm, window_change


class Scored(NamedTuple):
    """Held-out windows forecast in scaled units (n windows, H steps, nt targets)."""

    network: np.ndarray    # (n, H, nt) the network's forecasts, normalisation undone
    baselines: np.ndarray  # (3, n, H, nt) naive, seasonal naive, drift (:func:`guard.baselines`)
    actual: np.ndarray     # (n, H, nt) what happened (NaN where a target is missing)
    change: np.ndarray     # (n, nt) each window's typical step-to-step change
    series: np.ndarray     # (n,) each window's series
    members: np.ndarray | None = None  # (2, n, H, nt) ETS and Theta (:mod:`lstmcast.model.members`)

    def forecasts(self) -> np.ndarray:
        """Every member's forecasts (len(combiner.MEMBERS), n, H, nt); zeros for
        statistical members not fitted."""
        stats = self.members if self.members is not None else np.zeros((2, *self.network.shape))
        return np.concatenate([self.network[None], self.baselines, stats])


def scored(net: Net, m: ModelConfig, nt: int, windows, idx: np.ndarray, first: np.ndarray,
           row0: np.ndarray, norm: Norm | None = None) -> Scored:
    """Forecasts of held-out windows ``idx``; ``first`` (series, targets) is each series'
    first value and ``row0`` (series,) how many rows before the windows' first row it lies
    (drift starts there). ``norm``: the model's normalisation (``Norm.of(m)`` when None:
    no per-series coefficients)."""
    norm = Norm.of(m) if norm is None else norm
    L, H = m.lookback, m.horizon
    out = np.zeros((len(idx), H, nt))
    base = np.zeros((3, len(idx), H, nt))
    ys = np.zeros((len(idx), H, nt))
    change = np.zeros((len(idx), nt))
    series = windows.series[idx]
    for a in range(0, len(idx), training.PREDICT_BATCH):
        part = idx[a:a + training.PREDICT_BATCH]
        x, y = windows.take(part)
        xn, offset = norm.apply(x, nt, H, norm.keys_of(windows, part))
        pred = training.predict(net, m.ensemble, xn, "kernels", windows.take_future(part)).reshape(len(part), H, nt)
        b = slice(a, a + len(part))
        out[b] = pred.astype(np.float64) + offset
        ys[b] = y
        change[b] = window_change(x, nt)
        s = series[b]
        base[:, b] = guard.baselines(x[:, :, :nt], first[s], windows.starts[part] + L - 1 + row0[s], H, m.season)
    return Scored(out, base, ys, change, series)


def choose_guard(net: Net, m: ModelConfig, nt: int, windows, idx: np.ndarray, blends,
                 norm: Norm | None = None) -> tuple[dict, dict, Scored]:
    """Each series' forecaster (:mod:`lstmcast.model.guard`) chosen on windows ``idx``:
    ``(guard arrays, guard metadata, what :func:`scored` returned)``.
    The guard is scored even when it is off (``info`` shows the scores)."""
    S = len(windows.keys)
    first = windows.data[windows.offsets[:-1]][:, :nt].astype(np.float64)
    arrays = guard.empty(S, nt, first, np.diff(windows.offsets) - 1)
    meta = {"enabled": False}
    result = scored(net, m, nt, windows, idx, first, np.zeros(S, np.int64), norm)
    if m.transform not in ("diff", "pct") and len(idx):
        b, w, scores = guard.choose(result.network, result.baselines, result.actual, result.series, S, blends)
        arrays["scores"] = scores.astype(np.float32)
        if m.guard:
            arrays.update(baseline=b, weight=w)
            meta = {"enabled": True, "windows": int(len(idx)), **guard.summary(windows.keys, b, w)}
    return arrays, meta, result


def choose_mix(arrays: dict, meta: dict, result: Scored, windows, pipe, m: ModelConfig, idx: np.ndarray,
               rule: str):
    """The combiner's mix (:mod:`lstmcast.model.combiner`) on the held-out windows ``idx``,
    with the statistical members fitted (:func:`lstmcast.model.members.fit`): stores
    ``mix`` and ``member_scores`` in the guard's ``arrays`` and its summary in ``meta``;
    returns ``(members, result with the members' held-out forecasts)``."""
    nt = result.actual.shape[2]
    fitted, held = members.fit(windows, pipe, nt, m.season, idx)
    result = result._replace(members=np.stack([held[n] for n in members.NAMES]))
    guard_mix = combiner.from_guard(arrays["baseline"], arrays["weight"])
    mix, scores = combiner.choose(result.forecasts(), result.actual, result.series, guard_mix, rule)
    arrays.update(mix=mix.astype(np.float32), member_scores=scores.astype(np.float32))
    meta.update({"enabled": True, "rule": rule, "windows": int(len(idx)), **combiner.summary(windows.keys, mix),
                 "members": combiner.table(mix, scores)})
    return fitted, result


def mix_of(guard_arrays: dict) -> np.ndarray:
    """Each series' mix (S, nt, M): the combiner's, or the guard's choice as one."""
    if "mix" in guard_arrays:
        return guard_arrays["mix"].astype(np.float64)
    return combiner.from_guard(guard_arrays["baseline"], guard_arrays["weight"])


def guarded_residuals(result: Scored, guard_arrays: dict,
                      rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(residuals, change, kept)`` of the combined forecasts of ``result``, each window with its
    series' mix (``rows``: the series' rows in ``guard_arrays``, when the windows
    number their series differently). Windows with a missing target (``--missing mask``)
    are left out while any window is whole (``kept`` says which windows are in);
    missing values left count as zero error."""
    s = result.series if rows is None else rows[result.series]
    r = result.actual - combiner.mixed(result.forecasts(), mix_of(guard_arrays)[s])
    change = result.change
    whole = ~np.isnan(r).any(axis=(1, 2))
    if not whole.all() and whole.any():
        r, change = r[whole], change[whole]
    else:
        whole = np.ones(len(r), bool)
    return np.nan_to_num(r), change, whole


def new_scores(r: np.ndarray, change: np.ndarray, how: str) -> tuple[np.ndarray, dict]:
    """Conformal scores from residuals ``r`` (n, horizon, targets) and the calibration
    that made them: ``how`` is "none", "change" or "auto" (whichever of the two covers
    one half better when calibrated on the other, from 40 windows on; else "change")."""
    r = r.astype(np.float32)
    if how == "auto" and len(r) >= 40:
        how = conformal.better_scale(r, change)
    if how not in ("change", "auto") or not len(r):
        return r, {"scale": "none"}
    # a floor, so that a flat stretch does not get a zero-width band
    floor = np.maximum(0.1 * np.median(change, axis=0), 1e-6)
    calibration = {"scale": "change", "floor": [float(v) for v in floor]}
    return scale(r, change, calibration), calibration


def scale(r: np.ndarray, change: np.ndarray, calibration: dict) -> np.ndarray:
    """Residuals ``r`` as scores of an existing ``calibration`` (float32)."""
    if calibration.get("scale") == "change":
        r = r / np.maximum(change, np.asarray(calibration["floor"]))[:, None, :]
    return np.asarray(r, dtype=np.float32)


def band_scale(calibration: dict, x: np.ndarray, nt: int) -> np.ndarray:
    """What the calibrated half-widths are multiplied by for the series whose last window
    of inputs is ``x`` (lookback, inputs): (nt,)."""
    if calibration.get("scale") != "change":
        return np.ones(nt)
    return np.maximum(window_change(x[None], nt)[0], np.asarray(calibration["floor"]))


def prepared(scores: np.ndarray, calibration: dict, levels, notes: list[str],
             positions: np.ndarray | None = None, season: int = 1) -> dict:
    """The band calibration of the stored scores (n, trained horizon, targets) for
    ``levels`` (:func:`lstmcast.model.bands.quantiles`, the way ``calibration`` says;
    ``positions``: each score window's first season position). Adds a note when a level
    has too few scores for its guarantee."""
    n, H, nt = scores.shape
    how = {k: bool(calibration.get(k)) for k in ("pool", "positions", "signed")}
    if levels and n == 0:
        raise UsageError("the model has no validation residuals to calibrate intervals "
                         "(it was fitted with --val-fraction 0); refit with a validation split")
    behind = n * H if how["pool"] else n
    working = adaptive.effective(calibration, levels)  # as update's adaptive steps moved them
    small = [v for v, w in zip(levels, working) if behind < conformal.min_calibration_size(w, signed=how["signed"])]
    if small:
        notes.append(f"only {behind} calibration scores: the {', '.join(f'{v:g}%' for v in small)} "
                     "intervals use the largest one and may be too narrow")
    if positions is None or len(positions) != n:
        how["positions"] = False
    cal = bands.quantiles(scores.astype(np.float64), working, how, season, positions)
    cal["monotone"] = bool(calibration.get("monotone"))  # files of lstmcast 0.1: as they were
    return cal


def scores_behind(scores: np.ndarray, calibration: dict) -> int:
    """How many calibration scores stand behind each level's quantile."""
    n, H = scores.shape[:2]
    return int(n * H if calibration.get("pool") else n)

"""ONNX export's way back to the data's units: the point and predict's bands, as nodes.

Owns the part of :mod:`lstmcast.model.export`'s graph between the scaled forecast (the
network's, the guard applied) and the outputs, done as :meth:`LSTMForecaster.predict`
and :func:`lstmcast.model.rollout.in_units` do it for the trained horizon:

1. the half-widths (:func:`half_widths`): the calibration in force at export time, after
   any ``update`` (whose adaptive steps move the level each band is calibrated at:
   :mod:`lstmcast.model.adaptive`), made into widths per level, step and target by
   :func:`lstmcast.model.bands.widths` and stored as constants; times the window's typical
   step-to-step change where the calibration is normalised by it
   (:func:`lstmcast.model.calibration.band_scale`, computed in the graph from the scaled
   history), and times each step's season-position factor where the widths follow the
   season. The widths are the same for every series (the calibration is the model's);
2. the point, the point minus the lower width and the point plus the upper width go
   through the inverse scaling and transform together (``export``'s inverse: ``log``
   makes a band asymmetric in units, ``diff`` and ``pct`` accumulate it over the steps);
3. :func:`in_units`: each band widened to hold the point and never narrower than at an
   earlier step (at the same season position where the widths follow it), clipped at
   :data:`~lstmcast.model.rollout.ABSURD` times the history's range from its last value
   (predict's clip; its refusal of an absurd point is not in the graph); the floor at 0
   of the targets the model keeps non-negative (not where the history given goes below
   0 and the floor was the data's choice); and 0, with a band of [0, 0], at the season
   positions where a series was always 0.

The season positions of the forecast steps come from the ``time`` input
(:func:`lstmcast.model.export_time.positions`); what cannot be positioned exactly (a
trading calendar, steps of no fixed length) is refused by :func:`check`.
"""

from __future__ import annotations

import numpy as np

from lstmcast.errors import UsageError
from lstmcast.model import bands, calibration, export_time
from lstmcast.model.rollout import ABSURD
from lstmcast.nn.onnx import Graph


def calibrated(forecaster, levels: list[float]) -> tuple[dict | None, list[str]]:
    """predict's band calibration for ``levels`` (None without levels) and its notes (a
    level with too few scores for its guarantee)."""
    if not levels:
        return None, []
    notes: list[str] = []
    cal = calibration.prepared(forecaster.residuals_, forecaster.calibration_, levels, notes,
                               getattr(forecaster, "positions_", None), forecaster.model_config_.season)
    return cal, notes


def zero_table(forecaster, keys: list[str]) -> np.ndarray | None:
    """(series, season, targets) bool: where each of ``keys`` forecasts 0 (predict's
    ``zeros_``), or None when none does."""
    zeros = getattr(forecaster, "zeros_", None)
    if zeros is None or forecaster.model_config_.season <= 1:
        return None
    zeros = zeros[forecaster.series_rows(keys)]
    return np.ascontiguousarray(zeros.transpose(0, 2, 1)) if zeros.any() else None


def check(forecaster, keys: list[str], cal: dict | None) -> bool:
    """Whether the graph needs the season positions of the forecast steps (and so the
    ``time`` input); a UsageError when it needs them and cannot find them exactly."""
    zeros = zero_table(forecaster, keys) is not None
    factors = cal is not None and cal.get("rho") is not None
    if not (zeros or factors):
        return False
    trading = forecaster.data_.get("calendar")
    reason = "the model's trading calendar" if trading else export_time.unpositioned(forecaster.freq_)
    if reason:
        what, fix = (("the model forecasts 0 at the positions where a series was always 0",
                      "refit with --no-nonnegative") if zeros else
                     ("the bands follow the season", "export without --level"))
        raise UsageError(f"ONNX export cannot find the season positions of the forecast steps "
                         f"({reason}), and {what}: {fix} to export")
    return True


def half_widths(g: Graph, forecaster, cal: dict, levels: list[float], H: int, scaled: str,
                positions: str | None) -> tuple[str, str]:
    """``(lower, upper)`` half-widths in scaled units: float32 (levels, batch or 1, H,
    targets). ``scaled``: the scaled target window (batch, lookback, targets), before
    the window normalisation; ``positions``: (batch, H) int64, where the widths follow
    the season."""
    lo, hi = bands.widths(cal, levels, H)  # (levels, H, nt), without the positions' factors
    lower = g.const(lo[:, None].astype(np.float32), "band_lower_width")
    upper = g.const(hi[:, None].astype(np.float32), "band_upper_width")
    by = None
    c = forecaster.calibration_
    if c.get("scale") == "change":  # calibration.band_scale: the window's mean absolute change
        L = forecaster.model_config_.lookback
        floor = np.asarray(c["floor"], np.float32)[None, None, :]
        if L < 2:  # window_change is 1 then
            by = g.const(np.maximum(floor, np.float32(1.0)), "band_change")
        else:
            steps = g.op("Sub", g.slice(scaled, 1, L, axis=1), g.slice(scaled, 0, L - 1, axis=1))
            change = g.op("ReduceMean", g.op("Abs", steps), axes=[1], keepdims=1)      # (batch, 1, nt)
            by = g.op("Max", change, g.const(floor, "band_change_floor"))
    if cal.get("rho") is not None:  # each step's position factor, (batch, H, nt)
        factor = g.op("Gather", g.const(np.asarray(cal["rho"], np.float32), "band_position_factors"),
                      positions, axis=0)
        by = factor if by is None else g.op("Mul", by, factor)
    if by is not None:
        lower, upper = g.op("Mul", lower, by), g.op("Mul", upper, by)
    return lower, upper


def in_units(g: Graph, forecaster, units: str, levels: int, hist: str, R: int, s_t: str,
             positions: str | None, zeros: np.ndarray | None, several: bool) -> tuple[str, str | None, str | None]:
    """``(point, lower, upper)`` in the data's units from ``units``: the inverted point
    (batch, H, targets) alone, or with ``levels`` the inverted point, lower and upper
    stacked on a first axis (1 + 2 levels, batch, H, targets); ``hist``: the history
    input (batch, R, targets), ``s_t`` the targets' scales, ``zeros`` :func:`zero_table`
    (``several``: gathered by ``series_index``)."""
    lower = upper = None
    if levels:
        point = g.slice(units, 0, 1, axis=0)                                      # (1, batch, H, nt)
        lower = g.op("Min", g.slice(units, 1, 1 + levels, axis=0), point)
        upper = g.op("Max", g.slice(units, 1 + levels, 1 + 2 * levels, axis=0), point)
        m = forecaster.model_config_
        if forecaster.calibration_.get("monotone"):
            period = m.season if forecaster.calibration_.get("positions") else 1
            lower = g.op("Sub", point, _monotone(g, g.op("Sub", point, lower), m.horizon, period))
            upper = g.op("Add", point, _monotone(g, g.op("Sub", upper, point), m.horizon, period))
        lower, upper = _clipped(g, lower, upper, hist, R, s_t if m.transform is None else None)
        point = g.op("Squeeze", point, g.ints([0]))
    else:
        point = units
    floor, floored = _floor(g, forecaster, hist, zeros is not None)
    if floor is not None:
        point, lower, upper = (None if a is None else g.op("Max", a, floor) for a in (point, lower, upper))
    if zeros is not None:
        night = g.op("And", _zero_at(g, zeros, positions, several), floored)     # (batch, H, nt)
        nought = g.const(np.float32(0.0))
        point, lower, upper = (None if a is None else g.op("Where", night, nought, a) for a in (point, lower, upper))
    return point, lower, upper


def _monotone(g: Graph, width: str, H: int, period: int) -> str:
    """bands.monotone along the steps (axis -2): each step at least the same position's
    ``period`` steps earlier; unrolled, as ONNX has no cumulative maximum."""
    steps = [g.slice(width, h, h + 1, axis=-2) for h in range(H)]
    for h in range(period, H):
        steps[h] = g.op("Max", steps[h], steps[h - period])
    return g.op("Concat", *steps, axis=-2) if H > 1 else steps[0]


def _clipped(g: Graph, lower: str, upper: str, hist: str, R: int, s_t: str | None) -> tuple[str, str]:
    """rollout.sane's clip: bands at most ABSURD times the history's range from its last
    row (``s_t``: the targets' scales, a floor of that range without a transform)."""
    span = g.op("Sub", g.op("ReduceMax", hist, axes=[1], keepdims=1), g.op("ReduceMin", hist, axes=[1], keepdims=1))
    tiny = g.op("Max", g.op("Mul", g.op("ReduceMax", g.op("Abs", hist), axes=[1], keepdims=1),
                            g.const(np.float32(1e-9))), g.const(np.float32(1e-12)))
    span = g.op("Max", span, tiny)
    if s_t is not None:
        span = g.op("Max", span, s_t)
    room = g.op("Mul", span, g.const(np.float32(ABSURD)))
    last = g.slice(hist, R - 1, R, axis=1)                                         # (batch, 1, nt)
    return g.op("Max", lower, g.op("Sub", last, room)), g.op("Min", upper, g.op("Add", last, room))


def _floor(g: Graph, forecaster, hist: str, mask: bool) -> tuple[str | None, str | None]:
    """``(floor, floored)``: 0 or -inf per target (batch or 1, 1, nt), and (``mask``)
    where it is 0, bool; a floor the data chose is lifted where the history given goes
    below 0, as predict lifts it. Nones when no target is kept non-negative."""
    keep = np.asarray(forecaster.nonnegative_, dtype=bool)
    if not keep.any():
        return None, None
    base = g.const(np.where(keep, 0.0, -np.inf).astype(np.float32)[None, None, :], "floor")
    kept = g.const(keep[None, None, :], "floored") if mask else None
    if forecaster.model_config_.nonnegative is not None:  # the user's choice holds whatever the data
        return base, kept
    below = g.op("Less", g.op("ReduceMin", hist, axes=[1], keepdims=1), g.const(np.float32(0.0)))
    return (g.op("Where", below, g.const(np.float32(-np.inf)), base),
            g.op("And", g.op("Not", below), kept) if mask else None)


def _zero_at(g: Graph, zeros: np.ndarray, positions: str, several: bool) -> str:
    """(batch, H, nt) bool: the forecast steps at a position where the series was always 0."""
    S, season, nt = zeros.shape
    table = g.const(zeros.reshape(S * season, nt), "zero_positions")
    if several:  # row series_index * season + position of the flattened table
        offset = g.op("Mul", g.op("Unsqueeze", "series_index", g.ints([1])), g.ints(season))
        positions = g.op("Add", offset, positions)
    return g.op("Gather", table, positions, axis=0)

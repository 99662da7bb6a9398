"""Time in the exported graph: calendar features and season positions from int64 seconds.

Owns the integer arithmetic that turns each row's time (whole seconds since 1970-01-01,
the ``time`` input of :mod:`lstmcast.model.export`) into what the network reads: the
sin/cos of hour of day, day of week, day of year and month, from index tables made by
:func:`lstmcast.prep.scaling.calendar_features` itself (so the graph and lstmcast cannot
disagree on a convention), with day of year and month from Howard Hinnant's civil-date
algorithm in integer operators only; and the season positions of the forecast steps
(:func:`lstmcast.data.timeparse.season_position`), which the bands' position factors and
the positions forecast as 0 read.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmcast.data.timeparse import SEASON_EPOCH, season_unit
from lstmcast.frequencies import to_offset
from lstmcast.nn.onnx import IR_VERSION, OPSET, Graph, require_onnx
from lstmcast.prep.scaling import calendar_features

# Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar (the civil-date
# algorithm counts from a March 1 so that the leap day ends the year).
CIVIL_EPOCH_DAYS = 719468
CYCLES = ("hour", "dow", "doy", "month")
SEASON_EPOCH_SECONDS = int((SEASON_EPOCH - pd.Timestamp("1970-01-01")) // pd.Timedelta(seconds=1))


def cycle_table(cycle: str) -> np.ndarray:
    """(n, 2) float32 sin/cos of a whole-day cycle, indexed by day of week (Monday 0),
    day of year (January 1 is 0; 366 rows) or month (January 0), from calendar_features."""
    start, periods, freq = {"dow": ("2001-01-01", 7, "D"), "doy": ("2000-01-01", 366, "D"),
                            "month": ("2001-01-01", 12, "MS")}[cycle]
    values, names = calendar_features(pd.date_range(start, periods=periods, freq=freq), freq)
    return values[:, [names.index(f"{cycle}_sin"), names.index(f"{cycle}_cos")]].astype(np.float32)


def civil(g: Graph, days: str) -> tuple[str, str, str]:
    """Days since 1970-01-01 (int64) -> (day of year from 0, month from 0, year): Howard
    Hinnant's days_from_civil inverse, in integer ops only (exact for years 0 to 10^14)."""
    c = g.ints

    def div(a, b):  # operands are >= 0 here, so truncation is floor division
        return g.op("Div", a, c(b))

    z = g.op("Add", days, c(CIVIL_EPOCH_DAYS))
    era = div(z, 146097)
    doe = g.op("Sub", z, g.op("Mul", era, c(146097)))                    # [0, 146096]
    yoe = div(g.op("Sub", g.op("Add", g.op("Sub", doe, div(doe, 1460)), div(doe, 36524)),
                   div(doe, 146096)), 365)                               # [0, 399]
    year = g.op("Add", yoe, g.op("Mul", era, c(400)))                    # March-based year
    doy_mar = g.op("Sub", doe, g.op("Sub", g.op("Add", g.op("Mul", yoe, c(365)), div(yoe, 4)),
                                    div(yoe, 100)))                      # [0, 365] from March 1
    mp = div(g.op("Add", g.op("Mul", doy_mar, c(5)), c(2)), 153)         # [0, 11] from March
    month0 = g.op("Mod", g.op("Add", mp, c(2)), c(12))
    jan_feb = g.op("GreaterOrEqual", mp, c(10))
    year = g.op("Add", year, g.op("Cast", jan_feb, to=7))                # 7: INT64
    leap = g.op("Or", g.op("And", g.op("Equal", g.op("Mod", year, c(4)), c(0)),
                           g.op("Not", g.op("Equal", g.op("Mod", year, c(100)), c(0)))),
                g.op("Equal", g.op("Mod", year, c(400)), c(0)))
    doy0 = g.op("Where", jan_feb, g.op("Sub", doy_mar, c(306)),
                g.op("Add", g.op("Add", doy_mar, c(59)), g.op("Cast", leap, to=7)))
    return doy0, month0, year



def calendar(g: Graph, seconds: str, names: list[str]) -> str:
    """calendar_features of int64 times (batch, L): float32 (batch, L, len(names))."""
    c = g.ints

    of_day = g.op("Mod", seconds, c(86400))  # integer Mod takes the divisor's sign: in [0, 86400)
    days = g.op("Div", g.op("Sub", seconds, of_day), c(86400))           # exact
    doy0 = month0 = None
    parts = []
    for cycle in dict.fromkeys(n.rsplit("_", 1)[0] for n in names):
        if cycle == "hour":  # (hour + minute / 60 + second / 3600) / 24
            angle = g.op("Mul", g.op("Cast", of_day, to=1), g.const(np.float32(2 * np.pi / 86400)))
            parts += [g.op("Unsqueeze", g.op(fn, angle), c([2])) for fn in ("Sin", "Cos")]
            continue
        if cycle == "dow":  # 1970-01-01 was a Thursday (3, counting from Monday 0)
            index = g.op("Mod", g.op("Add", days, c(3)), c(7))
        else:
            if doy0 is None:
                doy0, month0, _ = civil(g, days)
            index = doy0 if cycle == "doy" else month0
        parts.append(g.op("Gather", g.const(cycle_table(cycle), f"calendar_{cycle}"), index, axis=0))
    return g.op("Concat", *parts, axis=2, name="calendar_features") if len(parts) > 1 else parts[0]


def unpositioned(freq: str) -> str | None:
    """Why :func:`positions` cannot count the steps of ``freq``, or None: the steps of a
    fixed length must be whole seconds (the ``time`` input's unit)."""
    unit, size = season_unit(freq)
    if unit == "us" and not isinstance(to_offset(freq), (pd.offsets.Tick, pd.offsets.Day, pd.offsets.Week)):
        return f"steps of {freq} have no fixed length"
    if unit == "us" and size % 10**6:
        return f"steps of {freq} are not whole seconds"
    return None


def positions(g: Graph, seconds: str, freq: str, season: int, steps: int) -> str:
    """The season positions of the ``steps`` steps after the times ``seconds`` (batch,)
    int64: int64 (batch, steps), each step one count of :func:`season_unit` after the one
    before (as :func:`lstmcast.data.dataset.future_index` continues a frequency without a
    trading calendar)."""
    c = g.ints

    def floor_div(a, b: int):  # integer Div truncates; take the remainder (>= 0) off first
        return g.op("Div", g.op("Sub", a, g.op("Mod", a, c(b))), c(b))

    unit, size = season_unit(freq)
    if unit == "us":
        count = floor_div(g.op("Sub", seconds, c(SEASON_EPOCH_SECONDS)), size // 10**6)
    elif unit == "busdays":  # np.busday_count from the Monday: five a week, at most five of a week begun
        days = g.op("Sub", floor_div(seconds, 86400), c(SEASON_EPOCH_SECONDS // 86400))
        weeks, weekday = floor_div(days, 7), g.op("Mod", days, c(7))
        count = floor_div(g.op("Add", g.op("Mul", weeks, c(5)), g.op("Min", weekday, c(5))), size)
    else:
        _, month0, year = civil(g, floor_div(seconds, 86400))
        count = floor_div(g.op("Add", g.op("Mul", year, c(12)), month0), size)
    ahead = g.op("Add", g.op("Unsqueeze", count, c([1])), c(np.arange(1, steps + 1)))
    return g.op("Mod", ahead, c(season), name="season_positions")


def calendar_model(names: list[str]):
    """The calendar part alone (input ``time`` int64 (batch, L), output ``calendar``): for tests."""
    g = Graph()
    return _alone(g, calendar(g, "time", names), ["batch", "L"], 1, ["batch", "L", len(names)])


def positions_model(freq: str, season: int, steps: int):
    """The season positions alone (input ``time`` int64 (batch,), output ``positions``
    (batch, steps)): for tests."""
    g = Graph()
    return _alone(g, positions(g, "time", freq, season, steps), ["batch"], 7, ["batch", steps])


def _alone(g: Graph, out: str, time_shape: list, out_type: int, out_shape: list):
    """``g`` as a checked model from ``time`` to ``out`` (renamed to ``calendar`` or
    ``positions``, by its type: 1 FLOAT, 7 INT64)."""
    onnx = require_onnx()
    from onnx import TensorProto, helper

    name = "calendar" if out_type == 1 else "positions"
    g.nodes.append(helper.make_node("Identity", [out], [name]))
    graph = helper.make_graph(
        g.nodes, f"lstmcast_{name}", [helper.make_tensor_value_info("time", TensorProto.INT64, time_shape)],
        [helper.make_tensor_value_info(name, out_type, out_shape)], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    return model

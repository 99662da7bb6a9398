"""Time in the exported graph: calendar features from int64 seconds.

Owns the integer arithmetic that turns each row's time (whole seconds since 1970-01-01,
the ``time`` input of :mod:`lstmcast.model.export`) into what the network reads: the
sin/cos of hour of day, day of week, day of year and month, from index tables made by
:func:`lstmcast.prep.scaling.calendar_features` itself (so the graph and lstmcast cannot
disagree on a convention), with day of year and month from Howard Hinnant's civil-date
algorithm in integer operators only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstmcast.nn.onnx import IR_VERSION, OPSET, Graph, require_onnx
from lstmcast.prep.scaling import calendar_features

# Days from 0000-03-01 to 1970-01-01 in the proleptic Gregorian calendar (the civil-date
# algorithm counts from a March 1 so that the leap day ends the year).
CIVIL_EPOCH_DAYS = 719468
CYCLES = ("hour", "dow", "doy", "month")


def cycle_table(cycle: str) -> np.ndarray:
    """(n, 2) float32 sin/cos of a whole-day cycle, indexed by day of week (Monday 0),
    day of year (January 1 is 0; 366 rows) or month (January 0), from calendar_features."""
    start, periods, freq = {"dow": ("2001-01-01", 7, "D"), "doy": ("2000-01-01", 366, "D"),
                            "month": ("2001-01-01", 12, "MS")}[cycle]
    values, names = calendar_features(pd.date_range(start, periods=periods, freq=freq), freq)
    return values[:, [names.index(f"{cycle}_sin"), names.index(f"{cycle}_cos")]].astype(np.float32)


def civil(g: Graph, days: str) -> tuple[str, str]:
    """Days since 1970-01-01 (int64) -> (day of year from 0, month from 0): Howard
    Hinnant's days_from_civil inverse, in integer ops only (exact for years 0 to 10^14)."""
    def c(v):
        return g.const(np.array(v, np.int64))

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
    return doy0, month0



def calendar(g: Graph, seconds: str, names: list[str]) -> str:
    """calendar_features of int64 times (batch, L): float32 (batch, L, len(names))."""
    def c(v):
        return g.const(np.array(v, np.int64))

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
                doy0, month0 = civil(g, days)
            index = doy0 if cycle == "doy" else month0
        parts.append(g.op("Gather", g.const(cycle_table(cycle), f"calendar_{cycle}"), index, axis=0))
    return g.op("Concat", *parts, axis=2, name="calendar_features") if len(parts) > 1 else parts[0]


def calendar_model(names: list[str]):
    """The calendar part alone (input ``time`` int64 (batch, L), output ``calendar``): for tests."""
    onnx = require_onnx()
    from onnx import TensorProto, helper

    g = Graph()
    out = calendar(g, "time", names)
    g.nodes.append(helper.make_node("Identity", [out], ["calendar"]))
    graph = helper.make_graph(
        g.nodes, "lstmcast_calendar", [helper.make_tensor_value_info("time", TensorProto.INT64, ["batch", "L"])],
        [helper.make_tensor_value_info("calendar", TensorProto.FLOAT, ["batch", "L", len(names)])], g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    onnx.checker.check_model(model, full_check=True)
    return model

"""ONNX export: a fitted forecaster as one ONNX graph, from original units to original units.

Owns the graph around the network (:mod:`lstmcast.nn.onnx`): everything
:meth:`LSTMForecaster.predict` does for the trained horizon that can be done exactly in
float32 ONNX operators (opset 17), in this order:

1. the target transform of the ``history`` rows (``log``; ``diff`` and ``pct`` read one
   row more than the lookback);
2. each series' scaler (center and scale of targets and features; with several series,
   an int64 ``series_index`` input gathers them from tables in the graph);
3. the calendar features (sin/cos of hour of day, day of week, day of year, month) from
   an int64 ``time`` input, seconds since 1970-01-01 of each row's (zone-less) time
   (:mod:`lstmcast.model.export_time`);
4. the per-window normalisation (``none``, ``last``, ``season``:
   :func:`lstmcast.prep.normalize.window_offsets`);
5. the network, its output added to the normalisation's base, and the guard's baselines;
6. with interval levels (``levels``; ``lstmcast export --level``), the half-widths of
   ``predict``'s bands at each level, from the calibration in force at export time
   (:mod:`lstmcast.model.export_bands`); the point and the bands through the scaling and
   the transform inverted together (``diff``: the last row plus the cumulative sum;
   ``pct``: the last row times the cumulative product, unrolled over the horizon), each
   band holding the point, never narrower with the step and clipped where ``predict``
   clips it; the floor at 0 of the targets the model keeps non-negative, and 0 with a
   band of [0, 0] at the season positions where a series was always 0 (positions the
   graph finds from the ``time`` input: :mod:`lstmcast.model.export_time`).

Outputs: ``forecast`` (batch, horizon, targets) and, with levels, ``lower`` and ``upper``
(levels, batch, horizon, targets). Not in the graph: forecasts past the trained horizon
(recursive), the band widths of later updates, and the range checks of ``predict`` (a
forecast far outside the history is refused there, returned here). What cannot be
exported exactly is refused with a UsageError.

The description (:func:`describe`) says what each input and output holds; it is also
stored as JSON in the model's ``metadata_props`` under ``lstmcast``. :func:`feeds` builds
the inputs from a forecaster's stored history (or newer frames), the reference for other
languages.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

import lstmcast
from lstmcast.config import ExportConfig, check_levels
from lstmcast.errors import DataError, UsageError
from lstmcast.files.atomic import atomic_write_bytes
from lstmcast.model import adaptive, ahead, calibration, combiner, export_bands, export_time, guard
from lstmcast.nn.onnx import IR_VERSION, OPSET, Graph, network_nodes, require_onnx

FORMAT = "lstmcast-onnx"
FORMAT_VERSION = 1
METADATA_KEY = "lstmcast"
EPOCH = pd.Timestamp("1970-01-01")

FLOAT32_SAFE = 1e30  # scales and centres beyond this leave no float32 headroom in the graph


def to_onnx(forecaster, series: str | None = None, horizon: int | None = None, levels=()):
    """``(model, description)``: the checked ModelProto and its JSON-able description.

    ``series``: export that series alone (no ``series_index`` input); by default every
    series, and with more than one, ``series_index`` chooses each row's. ``horizon``:
    steps in the output, at most the trained horizon (the default). ``levels``: interval
    levels in percent, whose bands the outputs ``lower`` and ``upper`` hold (none: the
    point forecast alone)."""
    onnx = require_onnx()
    from onnx import TensorProto, helper

    desc = describe(forecaster, series, horizon, levels)
    levels = desc["levels"]
    cal, _ = export_bands.calibrated(forecaster, levels)
    m = forecaster.model_config_
    pipe = forecaster.pipeline_
    L, H, R = desc["lookback"], m.horizon, desc["rows"]
    nt, nf, nc = len(desc["targets"]), len(desc["features"]), len(desc["calendar"])
    keys = desc["series"]
    g = Graph()
    inputs = [helper.make_tensor_value_info("history", TensorProto.FLOAT, ["batch", R, nt])]
    if nf:
        inputs.append(helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", R, nf]))
    if _has(desc, "time"):
        inputs.append(helper.make_tensor_value_info("time", TensorProto.INT64, ["batch", R]))
    if len(keys) > 1:
        inputs.append(helper.make_tensor_value_info("series_index", TensorProto.INT64, ["batch"]))
    nu = len(desc["future"])
    if nu:
        inputs.append(helper.make_tensor_value_info("future", TensorProto.FLOAT, ["batch", H, nu]))
    if desc["guard"]["drift"]:
        inputs.append(helper.make_tensor_value_info("drift_first", TensorProto.FLOAT, ["batch", nt]))
        inputs.append(helper.make_tensor_value_info("drift_since", TensorProto.INT64, ["batch"]))

    center = np.array([pipe.center_[k] for k in keys], dtype=np.float32)  # (series, nt + nf)
    scale = np.array([pipe.scale_[k] for k in keys], dtype=np.float32)

    def per_series(table: np.ndarray, name: str) -> str:
        """(batch or 1, 1, columns): this row's series' values of ``table``."""
        if len(keys) == 1:
            return g.const(table[:, None, :], name)
        picked = g.op("Gather", g.const(table, name + "_table"), "series_index", axis=0)
        return g.op("Unsqueeze", picked, g.const(np.array([1], np.int64)))

    # 1-2: transform and scale the targets; scale the features (rows R - L.. when R > L)
    hist = "history"
    if m.transform == "log":
        z = g.op("Log", hist)
    elif m.transform in ("diff", "pct"):
        curr, prev = g.slice(hist, 1, R, axis=1), g.slice(hist, 0, R - 1, axis=1)
        z = g.op("Sub", curr, prev) if m.transform == "diff" else \
            g.op("Sub", g.op("Div", curr, prev), g.const(np.float32(1.0)))
    else:
        z = hist
    c_t, s_t = per_series(center[:, :nt], "center_targets"), per_series(scale[:, :nt], "scale_targets")
    x_t = g.op("Div", g.op("Sub", z, c_t), s_t, name="scaled_targets")  # (batch, L, nt)
    scaled = x_t
    columns = []
    if nf:
        f = g.slice("features", R - L, R, axis=1)
        columns.append(g.op("Div", g.op("Sub", f, per_series(center[:, nt:], "center_features")),
                            per_series(scale[:, nt:], "scale_features"), name="scaled_features"))
    if nc:
        columns.append(export_time.calendar(g, g.slice("time", R - L, R, axis=1), desc["calendar"]))

    # 4: per-window normalisation (window_offsets), on the scaled targets
    shift, base = _offsets(g, x_t, L, H, nt, m.normalize, m.season, m.seasons)
    if shift is not None:
        x_t = g.op("Sub", x_t, shift)
    x = g.op("Concat", x_t, *columns, axis=2, name="network_input") if columns else x_t

    # 5: the network, the base, the scaler and the transform inverted
    net_nodes, net_inits = network_nodes(forecaster.net_.params, x, "network_output")
    g.nodes += net_nodes
    g.inits += net_inits
    out = "network_output"
    if nu:  # the future block: each step's scaled covariates times future.weight
        cols = [nt + forecaster.features_.index(c) for c in desc["future"]]
        fs = g.op("Div", g.op("Sub", "future", per_series(center[:, cols], "center_future")),
                  per_series(scale[:, cols], "scale_future"), name="scaled_future")
        params, spec = forecaster.net_.params, forecaster.net_.spec
        if spec.future_hidden:  # each step's covariates and their tanh units
            w1 = np.ascontiguousarray(params["future.hidden.weight"].T, dtype=np.float32)
            units = g.op("Tanh", g.op("Add", g.op("MatMul", fs, g.const(w1, "future_hidden_weight")),
                                      g.const(np.asarray(params["future.hidden.bias"], np.float32),
                                              "future_hidden_bias")))
            fs = g.op("Concat", fs, units, axis=2)
        flat = g.op("Reshape", fs, g.const(np.array([0, spec.future_width], np.int64)))
        weight = np.ascontiguousarray(forecaster.net_.params["future.weight"].T, dtype=np.float32)
        out = g.op("Add", out, g.op("MatMul", flat, g.const(weight, "future_weight")), name="with_future")
    if m.ensemble > 1:  # the members' mean (lstmcast.model.ensemble)
        out = g.op("ReduceMean", g.op("Reshape", out, g.const(np.array([0, m.ensemble, H * nt], np.int64))),
                   axes=[1], keepdims=0)
    pred = g.op("Reshape", out, g.const(np.array([0, H, nt], np.int64)))  # (batch, H, nt)
    if base is not None:
        pred = g.op("Add", pred, base)
    if desc["guard"]["used"]:
        pred = _guard(g, forecaster, keys, pred, scaled, per_series, L, H, m.transform, c_t, s_t)

    # 6: the bands (export_bands), inverted with the point; the floor and the zero positions
    positions = None
    if desc["season_positions"]:  # of the steps after the last history row
        last = g.op("Squeeze", g.slice("time", R - 1, R, axis=1), g.ints([1]))
        positions = export_time.positions(g, last, forecaster.freq_, m.season, H)
    z = pred
    if levels:
        lo, hi = export_bands.half_widths(g, forecaster, cal, levels, H, scaled, positions)
        first = g.op("Unsqueeze", pred, g.ints([0]))
        z = g.op("Concat", first, g.op("Sub", pred, lo), g.op("Add", pred, hi), axis=0)  # (1 + 2 levels, ...)
    units = _inverse(g, z, m.transform, hist, R, H, c_t, s_t)
    results = export_bands.in_units(g, forecaster, units, len(levels), hist, R, s_t, positions,
                                    export_bands.zero_table(forecaster, keys), len(keys) > 1)
    outputs = []
    for item, result in zip(desc["outputs"], results):
        if desc["horizon"] < H:
            result = g.slice(result, 0, desc["horizon"], axis=-2)
        g.nodes.append(helper.make_node("Identity", [result], [item["name"]]))
        outputs.append(helper.make_tensor_value_info(item["name"], TensorProto.FLOAT, item["shape"]))
    graph = helper.make_graph(g.nodes, "lstmcast_forecast", inputs, outputs, g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="lstmcast", producer_version=lstmcast.__version__,
                              ir_version=IR_VERSION,
                              doc_string="lstmcast forecaster; see metadata_props['lstmcast']")
    helper.set_model_props(model, {METADATA_KEY: json.dumps(desc, sort_keys=True)})
    onnx.checker.check_model(model, full_check=True)
    return model, desc


def write(forecaster, path, series: str | None = None, horizon: int | None = None, levels=()) -> dict:
    """Write :func:`to_onnx`'s model to ``path`` atomically; returns the description."""
    model, desc = to_onnx(forecaster, series, horizon, levels)
    atomic_write_bytes(path, model.SerializeToString())
    return desc


def describe(forecaster, series: str | None = None, horizon: int | None = None, levels=()) -> dict:
    """The JSON-able contract of the exported graph (refusing what cannot be exported)."""
    forecaster.check_fitted()
    m, pipe = forecaster.model_config_, forecaster.pipeline_
    L, H = m.lookback, m.horizon
    horizon = H if horizon is None else int(horizon)
    levels = check_levels(levels)  # the --level option's own rule
    if horizon > H:
        raise UsageError(f"ONNX export covers the trained horizon of {H} steps, not {horizon}: "
                         f"forecasts past it are recursive (refit with --horizon {horizon})")
    ExportConfig(horizon=horizon)  # the option's own rule (a UsageError naming --horizon)
    if np.dtype(forecaster.net_.dtype) != np.float32:
        raise UsageError(f"ONNX export is float32, and this model's network is "
                         f"{np.dtype(forecaster.net_.dtype).name} (refit it)")
    if m.normalize == "es":
        raise UsageError("ONNX export cannot carry --normalize es (the exponential smoothing through each "
                         "window); refit with --normalize auto, last or season to export")
    if m.transform not in (None, "log", "diff", "pct") or m.normalize not in ("none", "last", "season"):
        raise UsageError(f"ONNX export cannot represent --transform {m.transform} with "
                         f"--normalize {m.normalize}")
    keys = list(pipe.center_)
    largest = max(float(np.max(np.abs(np.r_[pipe.center_[k], pipe.scale_[k]]))) for k in keys)
    if largest > FLOAT32_SAFE:  # a graph of float32 constants would hold inf
        raise UsageError(f"ONNX export is float32, and this model's data reach {largest:.3g} (float32 stops "
                         "near 3.4e38): rescale the data (e.g. to thousands) and refit to export it")
    if series is not None:
        if series not in pipe.center_:
            raise UsageError(f"series {series!r} is not in the model (series: {', '.join(map(repr, keys))})")
        keys = [series]
    rows = forecaster.series_rows(keys)
    mix = calibration.mix_of(forecaster.guard_)[rows]
    plain = combiner.from_guard(forecaster.guard_["baseline"][rows], forecaster.guard_["weight"][rows])
    if not np.allclose(mix, plain, atol=1e-6):
        odd = [k for k, a, b in zip(keys, mix, plain) if not np.allclose(a, b, atol=1e-6)]
        used = sorted({n for row in mix.reshape(-1, combiner.M) for n in combiner.name(row).split("+")}
                      & set(combiner.STATISTICAL))
        raise UsageError(f"ONNX export cannot carry the statistical members ({', '.join(used)}) this model's "
                         f"combiner mixes into {len(odd)} series' forecasts (the first: {odd[0] or 'the series'!r}); "
                         "refit with --no-statistical to export (or forecast with lstmcast)")
    for name in pipe.calendar_names:
        if name.rsplit("_", 1)[0] not in export_time.CYCLES:
            raise UsageError(f"ONNX export cannot compute the calendar feature {name!r}")
    cal, notes = export_bands.calibrated(forecaster, levels)
    positions = export_bands.check(forecaster, keys, cal)
    R = L + (1 if m.transform in ("diff", "pct") else 0)
    nt, nf, nc = len(forecaster.targets_), len(forecaster.features_), len(pipe.calendar_names)
    row = f"the last {R} rows of the series, oldest first (the rows lstmcast keeps as the model's history)"
    inputs = [{"name": "history", "dtype": "float32", "shape": ["batch", R, nt],
               "meaning": f"target values in original units, columns {forecaster.targets_}: {row}"}]
    if nf:
        inputs.append({"name": "features", "dtype": "float32", "shape": ["batch", R, nf],
                       "meaning": f"feature values in original units, columns {forecaster.features_}, "
                                  "of the same rows as history"})
    if nc or positions:
        uses = [f"the calendar features {pipe.calendar_names}"] if nc else []
        uses += ["the season positions of the forecast steps (from the last row's)"] if positions else []
        inputs.append({"name": "time", "dtype": "int64", "shape": ["batch", R],
                       "meaning": "each history row's time as whole seconds since 1970-01-01 00:00:00, "
                                  "reading the data's times as UTC (lstmcast's times carry no zone); "
                                  f"the graph computes {' and '.join(uses)} from it"})
    future = forecaster.future_
    if future:
        inputs.append({"name": "future", "dtype": "float32", "shape": ["batch", m.horizon, len(future)],
                       "meaning": f"the future covariates {future} of the {m.horizon} steps after the last "
                                  "history row, original (encoded) units; a step's forecast reads only its own "
                                  "step's values, so steps past the exported horizon may hold anything"})
    if len(keys) > 1:
        inputs.append({"name": "series_index", "dtype": "int64", "shape": ["batch"],
                       "meaning": "each row's series, as its position in 'series' (its scaling is "
                                  "that series' own)"})
    last = {k: str(forecaster.history_[k].index[-1]) for k in keys}
    rows = forecaster.series_rows(keys)
    gb, gw = forecaster.guard_["baseline"][rows], forecaster.guard_["weight"][rows]
    used = (gb >= 0) & (gw < 1)
    drift = bool((used & (gb == guard.BASELINES.index("drift"))).any())
    if drift:
        inputs.append({"name": "drift_first", "dtype": "float32", "shape": ["batch", nt],
                       "meaning": "the series' first target values in original units (the drift baseline "
                                  "of the guard is the line through them and the last history row)"})
        inputs.append({"name": "drift_since", "dtype": "int64", "shape": ["batch"],
                       "meaning": "how many rows the last history row lies after the series' first row"})
    outputs, intervals = _outputs(forecaster, keys, horizon, levels, cal, notes)
    return {
        "format": FORMAT, "format_version": FORMAT_VERSION, "lstmcast": lstmcast.__version__,
        "opset": OPSET, "ir_version": IR_VERSION,
        "inputs": inputs, "outputs": outputs, "levels": levels, "intervals": intervals,
        "series": keys, "history_last": last, "targets": list(forecaster.targets_),
        "features": list(forecaster.features_), "calendar": list(pipe.calendar_names),
        "future": list(forecaster.future_),
        "lookback": L, "rows": R, "horizon": horizon, "trained_horizon": H,
        "freq": forecaster.freq_, "trading_calendar": forecaster.data_.get("calendar"),
        "transform": m.transform, "normalize": m.normalize, "season": m.season, "season_positions": positions,
        "nonnegative": [bool(v) for v in forecaster.nonnegative_],
        "guard": {"used": bool(used.any()), "drift": drift,
                  "baseline": [[guard.BASELINES[b] if b >= 0 else None for b in r] for r in gb.tolist()],
                  "network_weight": gw.tolist()},
        "not_included": (["the band widths of later updates (export again after an update)"] if levels else
                         ["prediction intervals (export with --level to include them)"])
        + ["steps past the trained horizon", "predict's refusal of forecasts far outside the history's range"]
        + (["missing target values in history (fill them, as lstmcast does, linearly in time; the "
            "_observed feature columns say which were missing)"] if forecaster.read_config_.missing == "mask"
           else []),
    }


def _outputs(forecaster, keys: list[str], horizon: int, levels: list[float], cal: dict | None,
             notes: list[str]) -> tuple[list[dict], dict | None]:
    """The description's outputs, and its ``intervals`` (None without levels)."""
    nt, m = len(forecaster.targets_), forecaster.model_config_
    floor = [t for t, keep in zip(forecaster.targets_, forecaster.nonnegative_) if keep]
    held = ""
    if floor:
        held = f"; at 0 or above for {floor}"
        if m.nonnegative is None:
            held += " (as the training data were; not where the history given goes below 0)"
        if export_bands.zero_table(forecaster, keys) is not None:
            held += ", and 0 at the season positions where a series was 0 in every cycle of its training data"
    columns = f"original units, columns {forecaster.targets_}"
    outputs = [{"name": "forecast", "dtype": "float32", "shape": ["batch", horizon, nt],
                "meaning": f"point forecasts of the next {horizon} steps after the last history row, "
                           f"{columns}{held}"}]
    if not levels:
        return outputs, None
    working = adaptive.effective(forecaster.calibration_, levels)
    moved = [f"{v:g}% at {w:.4g}%" for v, w in zip(levels, working) if abs(v - w) > 1e-9]
    for side in ("lower", "upper"):
        outputs.append({"name": side, "dtype": "float32", "shape": [len(levels), "batch", horizon, nt],
                        "meaning": f"the {side} ends of the prediction intervals at the levels {levels} (percent, "
                                   f"the first axis in that order) of forecast's steps, {columns}; lstmcast "
                                   f"forecast's bands, from the band widths in force at export time{held}"})
    intervals = {"calibrated_at": [round(w, 6) for w in working],
                 "scores": calibration.scores_behind(forecaster.residuals_, forecaster.calibration_),
                 "widths": "in force at export time" + (
                     f" (update's adaptive steps calibrate {', '.join(moved)})" if moved else ""),
                 "notes": notes}
    return outputs, intervals


def feeds(forecaster, frames: dict | None = None, series: str | None = None,
          future: dict | None = None, levels=()) -> dict[str, np.ndarray]:
    """The graph's inputs for the forecaster's stored history, or for ``frames`` (series
    key -> frame with the model's columns, its last rows used), in the order of the
    description's ``series``: what a service in another language builds itself.
    ``future`` (series key -> frame of the future covariates indexed by time, as
    ``predict`` takes them) fills the ``future`` input of a model with covariates;
    ``levels``: those of the export (a graph with bands may read the ``time`` input)."""
    desc = describe(forecaster, series, levels=levels)
    R, keys = desc["rows"], desc["series"]
    frames = forecaster.history_ if frames is None else frames
    tails = [frames[k].iloc[-R:] for k in keys]
    for key, tail in zip(keys, tails):
        if len(tail) < R:
            where = f"series {key!r}" if key else "the series"
            raise DataError(f"{where} has {len(tail)} rows; the exported model reads the last {R}")
    out = {"history": np.stack([f[desc["targets"]].to_numpy(np.float32) for f in tails])}
    if desc["features"]:
        out["features"] = np.stack([f[desc["features"]].to_numpy(np.float32) for f in tails])
    if _has(desc, "time"):
        out["time"] = np.stack([np.asarray((f.index - EPOCH) // pd.Timedelta(seconds=1), dtype=np.int64)
                                for f in tails])
    if len(keys) > 1:
        out["series_index"] = np.arange(len(keys), dtype=np.int64)
    if desc["future"]:
        if future is None:
            raise UsageError("the model reads future covariates: give their values (future=...)")
        H = forecaster.model_config_.horizon
        nt = len(forecaster.targets_)
        cols = [nt + forecaster.features_.index(c) for c in desc["future"]]
        scaled = ahead.known_ahead(forecaster, keys, {k: t for k, t in zip(keys, tails)}, H, None, future)
        out["future"] = np.stack([
            scaled[i] * forecaster.pipeline_.scale_[k][cols] + forecaster.pipeline_.center_[k][cols]
            for i, k in enumerate(keys)]).astype(np.float32)
    if desc["guard"]["drift"]:
        g = forecaster.guard_
        rows = forecaster.series_rows(keys)
        if frames is forecaster.history_:
            out["drift_first"] = np.stack([forecaster.pipeline_.inverse(k, g["first"][r][None, :])[0]
                                           for k, r in zip(keys, rows)]).astype(np.float32)
            out["drift_since"] = g["since"][rows].astype(np.int64)
        else:
            out["drift_first"] = np.stack([frames[k][desc["targets"]].iloc[0].to_numpy(np.float32) for k in keys])
            out["drift_since"] = np.array([len(frames[k]) - 1 for k in keys], dtype=np.int64)
    return out


def read_description(model) -> dict:
    """The description stored in an exported model's ``metadata_props``."""
    for prop in model.metadata_props:
        if prop.key == METADATA_KEY:
            return json.loads(prop.value)
    raise UsageError("not an lstmcast ONNX export (no 'lstmcast' metadata)")


# ------------------------------------------------------------------ graph pieces


def _guard(g: Graph, forecaster, keys, pred: str, scaled: str, per_series, L: int, H: int,
           transform, c_t: str, s_t: str) -> str:
    """The baseline guard (:mod:`lstmcast.model.guard`) on the scaled forecast ``pred``
    (batch, H, nt): each series' baseline, from the scaled window ``scaled`` (batch, L,
    nt), mixed in by its network weight."""
    rows = forecaster.series_rows(keys)
    gb = forecaster.guard_["baseline"][rows]
    gw = np.where(gb < 0, 1.0, forecaster.guard_["weight"][rows]).astype(np.float32)
    season = forecaster.model_config_.season
    last = g.slice(scaled, L - 1, L, axis=1)                        # (batch, 1, nt)
    steps = np.arange(1, H + 1, dtype=np.float32)[None, :, None]
    if 1 < season <= L:
        snaive = g.op("Gather", scaled, g.const((L - season + np.arange(H) % season).astype(np.int64)), axis=1)
    else:
        snaive = last
    mix = g.op("Mul", pred, per_series(gw, "guard_network_weight"))
    for b, base in enumerate([last, snaive, None]):
        share = np.where(gb == b, 1.0 - gw, 0.0).astype(np.float32)     # (series, nt)
        if not share.any():
            continue
        if base is None:  # drift: scale the first value as the history is scaled
            first = g.op("Log", "drift_first") if transform == "log" else "drift_first"
            first = g.op("Div", g.op("Sub", g.op("Unsqueeze", first, g.const(np.array([1], np.int64))), c_t), s_t)
            since = g.op("Cast", g.op("Max", "drift_since", g.const(np.array(1, np.int64))), to=1)
            since = g.op("Reshape", since, g.const(np.array([-1, 1, 1], np.int64)))
            slope = g.op("Div", g.op("Sub", last, first), since)
            base = g.op("Add", last, g.op("Mul", slope, g.const(steps)))
        mix = g.op("Add", mix, g.op("Mul", base, per_series(share, f"guard_share_{b}")))
    return mix


def _last_row(g: Graph, hist: str, R: int) -> str:
    """The anchor of diff and pct: the last history row's targets, (batch, 1, nt)."""
    return g.slice(hist, R - 1, R, axis=1)


def _inverse(g: Graph, z: str, transform, hist: str, R: int, H: int, c_t: str, s_t: str) -> str:
    """Scaled forecasts ``z`` (..., batch, H, nt) in original units: the scaler and the
    transform inverted along the steps (axis -2), as ``Pipeline.inverse`` does."""
    zt = g.op("Add", g.op("Mul", z, s_t), c_t)
    if transform == "log":
        return g.op("Exp", zt)
    if transform == "diff":
        return g.op("Add", _last_row(g, hist, R), g.op("CumSum", zt, g.ints(-2)))
    if transform == "pct":
        growth = g.op("Add", zt, g.const(np.float32(1.0)))
        steps = [g.slice(growth, 0, 1, axis=-2)]
        for h in range(1, H):  # ONNX has no CumProd: H multiplications, in numpy's order
            steps.append(g.op("Mul", steps[-1], g.slice(growth, h, h + 1, axis=-2)))
        return g.op("Mul", _last_row(g, hist, R), g.op("Concat", *steps, axis=-2) if H > 1 else steps[0])
    return zt


def _has(desc: dict, name: str) -> bool:
    """Whether the description lists an input ``name``."""
    return any(i["name"] == name for i in desc["inputs"])


def _offsets(g: Graph, x: str, L: int, H: int, nt: int, normalize: str, season: int,
             seasons: int | None) -> tuple[str | None, str | None]:
    """window_offsets as nodes: (shift (batch, 1, nt), base (batch, H or 1, nt)), or Nones."""
    if normalize == "none":
        return None, None
    last = g.slice(x, L - 1, L, axis=1)
    if normalize == "last":
        return last, last
    if not 1 <= season <= L:
        raise UsageError(f"--normalize season needs a lookback of at least one season "
                         f"({season} steps), not {L}")
    k = max(1, min(L // season, seasons or L))
    whole = g.op("Reshape", g.slice(x, L - k * season, L, axis=1),
                 g.const(np.array([0, k, season, nt], np.int64)))        # (batch, k, season, nt)
    profile = g.op("ReduceMean", whole, axes=[1], keepdims=0)            # (batch, season, nt)
    recent = g.op("ReduceMean", g.slice(whole, k - 1, k, axis=1), axes=[1, 2], keepdims=0)
    overall = g.op("ReduceMean", whole, axes=[1, 2], keepdims=0)         # (batch, nt)
    level = g.op("Unsqueeze", g.op("Sub", recent, overall), g.const(np.array([1], np.int64)))
    rows = g.const(np.arange(H, dtype=np.int64) % season)
    return last, g.op("Add", g.op("Gather", profile, rows, axis=1), level, name="base")

"""Scaling: from clean frames to model units and back.

Owns the invertible steps between a :class:`~lstmcast.data.Dataset` frame and the
numbers the network sees:

* target transforms for trending series (``log``, ``diff``, ``pct``) with an exact
  inverse (:func:`apply_transform`, :func:`invert_transform`);
* per-series, per-column scalers (``standard``: mean/std, ``robust``: median/IQR),
  fitted on the training rows only (:func:`fit_scaler`);
* calendar features, sin/cos pairs chosen by frequency, known for future steps too
  (:func:`calendar_features`);
* :class:`Pipeline`, which holds the fitted state and turns a frame into a float32
  array and scaled predictions back into original units.  Its state round-trips through
  plain numpy arrays and a JSON-able dict (:meth:`Pipeline.to_arrays`), never pickle.

Imports numpy, pandas and lstmcast.errors only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstmcast.config import SCALERS
from lstmcast.frequencies import to_offset
from lstmcast.config import TRANSFORMS as _TRANSFORMS
from lstmcast.errors import DataError, ModelFileError, UsageError

TRANSFORMS = (None, *_TRANSFORMS)

INPUT_MAX = 1e6   # scaled inputs beyond this many standard deviations are not data the model can use


def fit_scaler(values: np.ndarray, method: str = "standard") -> tuple[np.ndarray, np.ndarray]:
    """(center, scale) per column of ``values`` (n, k), ignoring NaN.

    ``standard``: mean and standard deviation; ``robust``: median and interquartile range
    divided by 1.349 (the IQR of a unit normal), falling back to the standard deviation
    when the IQR is 0.  A scale that is 0 or not finite becomes 1, so dividing is safe.
    """
    v = np.asarray(values, dtype=np.float64)
    v = v.reshape(len(v), -1)
    if method not in SCALERS:
        raise ValueError(f"scaler must be one of {SCALERS}, not {method!r}")
    if len(v) == 0:
        return np.zeros(v.shape[1]), np.ones(v.shape[1])
    # |values| beyond ~1e154 would overflow the squares of the standard deviation: compute
    # it on values divided by their magnitude (only then, so other data keeps its digits)
    finite = np.where(np.isfinite(v), np.abs(v), 0.0)
    magnitude = np.where(finite.max(axis=0) > 1e150, finite.max(axis=0), 1.0)
    std = np.nanstd(v / magnitude, axis=0) * magnitude
    if method == "standard":
        center, scale = np.nanmean(v / magnitude, axis=0) * magnitude, std
    else:
        q25, center, q75 = np.nanpercentile(v, [25, 50, 75], axis=0)
        scale = (q75 - q25) / 1.349
        scale = np.where(scale > 0, scale, std)
    tiny = np.finfo(np.float64).eps * np.maximum(1.0, np.abs(center))
    scale = np.where(np.isfinite(scale) & (scale > tiny), scale, 1.0)
    return np.where(np.isfinite(center), center, 0.0), scale


def _time_axis(a: np.ndarray) -> int:
    return 0 if a.ndim == 1 else a.ndim - 2


def apply_transform(y: np.ndarray, kind: str | None) -> np.ndarray:
    """Transform target values ``y`` (time along axis 0 for 1-D/2-D, axis -2 otherwise).

    ``None``: unchanged; ``log``: natural log (every value must be > 0); ``diff``:
    ``y[t] - y[t-1]``; ``pct``: ``y[t] / y[t-1] - 1`` (no value may be 0).  ``diff`` and
    ``pct`` return one step fewer: output step ``i`` belongs to input step ``i + 1``.
    """
    y = np.asarray(y, dtype=np.float64)
    ax = _time_axis(y)
    if kind is None:
        return y.copy()
    if kind == "log":
        if np.any(y <= 0):
            raise DataError(f"--transform log needs values above 0, found {np.min(y):g} "
                            "(try --transform diff)")
        return np.log(y)
    prev, curr = np.delete(y, -1, axis=ax), np.delete(y, 0, axis=ax)
    if kind == "diff":
        return curr - prev
    if kind == "pct":
        if np.any(prev == 0):
            raise DataError("--transform pct divides by the previous value, and a value is 0 "
                            "(try --transform diff)")
        return curr / prev - 1.0
    raise ValueError(f"transform must be one of {TRANSFORMS}, not {kind!r}")


def invert_transform(z: np.ndarray, kind: str | None, anchor=None) -> np.ndarray:
    """Exact inverse of :func:`apply_transform` (up to float rounding).

    ``diff`` and ``pct`` need ``anchor``: the original value(s) at the step just before
    ``z``'s first step, shaped like one step of ``z`` (e.g. the last observed values when
    ``z`` is a forecast).  ``invert_transform(apply_transform(y, k), k, y[0]) == y[1:]``.
    """
    z = np.asarray(z, dtype=np.float64)
    ax = _time_axis(z)
    if kind is None:
        return z.copy()
    if kind == "log":
        return np.exp(z)
    if anchor is None:
        raise ValueError(f"invert_transform({kind!r}) needs the anchor value before the first step")
    a = np.expand_dims(np.asarray(anchor, dtype=np.float64), ax)
    if kind == "diff":
        return a + np.cumsum(z, axis=ax)
    if kind == "pct":
        return a * np.cumprod(1.0 + z, axis=ax)
    raise ValueError(f"transform must be one of {TRANSFORMS}, not {kind!r}")


def calendar_features(index: pd.DatetimeIndex, freq: str) -> tuple[np.ndarray, list[str]]:
    """Sin/cos pairs of the position in the calendar cycles that matter at ``freq``.

    Sub-daily: hour of day, day of week, day of year.  Daily and business-day: day of
    week, day of year.  Weekly: day of year.  Monthly and quarterly: month of year.
    Yearly and coarser: none (an (n, 0) array).
    """
    offset = to_offset(freq)
    ref = pd.Timestamp("2001-01-01") + offset
    days = ((ref + offset) - ref) / pd.Timedelta(days=1)
    idx = pd.DatetimeIndex(index)
    cycles = []
    if days < 1:
        cycles.append(("hour", (idx.hour + idx.minute / 60 + idx.second / 3600) / 24))
    if days < 7:
        cycles.append(("dow", idx.day_of_week / 7))
    if days < 28:
        cycles.append(("doy", (idx.day_of_year - 1) / 365.25))
    elif days < 360:
        cycles.append(("month", (idx.month - 1) / 12))
    out = np.empty((len(idx), 2 * len(cycles)))
    names = []
    for j, (name, phase) in enumerate(cycles):
        angle = 2 * np.pi * np.asarray(phase, dtype=np.float64)
        out[:, 2 * j], out[:, 2 * j + 1] = np.sin(angle), np.cos(angle)
        names += [f"{name}_sin", f"{name}_cos"]
    return out, names


def columns_of(frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    """``frame[names]`` as float64 values, without pandas' column lookup when the frame
    starts with exactly those columns (as a series' frame does: 0.6 ms a lookup, three
    a series, was 18 s of a 10,000-series forecast)."""
    if list(frame.columns[:len(names)]) == list(names):
        return frame.to_numpy(dtype=np.float64)[:, :len(names)]
    return frame[list(names)].to_numpy(dtype=np.float64)


@functools.lru_cache(maxsize=256)
def _calendar_cached(freq: str, dtype: str, stamps: bytes) -> np.ndarray:
    values = calendar_features(pd.DatetimeIndex(np.frombuffer(stamps, dtype=dtype)), freq)[0]
    values.flags.writeable = False
    return values


def calendar_rows(index: pd.DatetimeIndex, freq: str) -> np.ndarray:
    """:func:`calendar_features`' values, remembered: the series of a long-format file
    mostly share their timestamps (10,000 series computed them 10,000 times: 15 s)."""
    index = pd.DatetimeIndex(index)
    if index.tz is not None:  # .values would be UTC: compute in the index's own zone
        return calendar_features(index, freq)[0]
    stamps = np.asarray(index.values)
    return _calendar_cached(freq, stamps.dtype.str, stamps.tobytes())


@functools.lru_cache(maxsize=64)
def calendar_names_of(freq: str) -> tuple[str, ...]:
    return tuple(calendar_features(pd.DatetimeIndex([]), freq)[1])


@dataclass
class Pipeline:
    """Transform, scale and add calendar features; fitted state per series.

    Hyperparameters are the constructor arguments; the fitted scalers live in
    ``center_`` and ``scale_`` (series id -> one value per target and feature column).
    """

    targets: list[str]
    features: list[str]
    freq: str
    scaler: str = "standard"
    transform: str | None = None
    calendar: bool = True
    center_: dict[str, np.ndarray] = field(default_factory=dict)
    scale_: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        if self.scaler not in SCALERS:
            raise UsageError(f"--scaler must be standard or robust, not {self.scaler!r}")
        if self.transform not in TRANSFORMS:
            raise UsageError(f"--transform must be log, diff or pct, not {self.transform!r}")

    @property
    def calendar_names(self) -> list[str]:
        return list(calendar_names_of(self.freq)) if self.calendar else []

    @property
    def input_names(self) -> list[str]:
        """Columns of the model input: targets, then features, then calendar features."""
        return [*self.targets, *self.features, *self.calendar_names]

    def transformed(self, frame: pd.DataFrame, key: str = "") -> tuple[np.ndarray, pd.DatetimeIndex]:
        """Unscaled values (targets transformed, features as they are) and their index."""
        values = columns_of(frame, [*self.targets, *self.features])
        nt = len(self.targets)
        try:
            z = apply_transform(values[:, :nt], self.transform)
        except DataError:  # say which column, then why
            for j, name in enumerate(self.targets):
                try:
                    apply_transform(values[:, j], self.transform)
                except DataError as e:
                    where = f"series {key!r}, " if key else ""
                    raise DataError(f"{where}column {name!r}: {e}") from None
            raise
        if self.transform in ("diff", "pct"):
            return np.hstack([z, values[1:, nt:]]), frame.index[1:]
        return np.hstack([z, values[:, nt:]]), frame.index

    def fit(self, frames: dict[str, pd.DataFrame], rows: dict[str, int] | None = None,
            shared: list[str] = ()) -> Pipeline:
        """Fit one scaler per series on its first ``rows[key]`` transformed rows (all rows
        when ``rows`` is None): pass the training rows only. The ``shared`` feature
        columns (static covariates: one value per series, which a per-series scaler would
        turn into 0) get one scaler across the series."""
        self.center_, self.scale_ = {}, {}
        for key, frame in frames.items():
            values = self.transformed(frame, key)[0]
            n = len(values) if rows is None else rows[key]
            self.center_[key], self.scale_[key] = fit_scaler(values[:n], self.scaler)
        if shared and frames:
            cols = [len(self.targets) + self.features.index(c) for c in shared]
            firsts = np.array([columns_of(f, [*self.targets, *self.features])[0, cols] for f in frames.values()])
            center, scale = fit_scaler(firsts, self.scaler)
            for key in frames:
                self.center_[key][cols], self.scale_[key][cols] = center, scale
        return self

    def to_array(self, key: str, frame: pd.DataFrame) -> np.ndarray:
        """The model inputs of one series: (rows, n_inputs) float32, C-contiguous."""
        values, index = self.transformed(frame, key)
        k = values.shape[1]
        out = np.empty((len(values), len(self.input_names)), dtype=np.float32)
        with np.errstate(over="ignore", invalid="ignore"):
            z = (values - self.center_[key]) / self.scale_[key]
        far = np.abs(z) > INPUT_MAX  # NaN (a missing value) is not far
        if far.any():  # float32 inputs of inf or 1e300: the data's fault, not the model's
            i, j = map(int, np.argwhere(far)[0])
            name = (self.targets + self.features)[j]
            raise DataError(f"{'series ' + repr(key) + ', ' if key else ''}{name!r} at {index[i]}: "
                            f"{values[i, j]:.6g} is more than {INPUT_MAX:.0e} standard deviations from the "
                            "values the model was trained on (a unit or parsing error in the data?)")
        out[:, :k] = z
        if self.calendar:
            out[:, k:] = calendar_rows(index, self.freq)
        return out

    def anchor(self, frame: pd.DataFrame) -> np.ndarray | None:
        """What :meth:`inverse` needs after the last row of ``frame``: its target values."""
        return columns_of(frame, self.targets)[-1] if len(frame) else None

    def inverse(self, key: str, scaled: np.ndarray, anchor: np.ndarray | None = None) -> np.ndarray:
        """Scaled target predictions (..., horizon, n_targets) -> original units.

        ``anchor`` (:meth:`anchor` of the frame the forecast continues) is required for
        the ``diff`` and ``pct`` transforms.
        """
        nt = len(self.targets)
        z = np.asarray(scaled, dtype=np.float64) * self.scale_[key][:nt] + self.center_[key][:nt]
        return invert_transform(z, self.transform, anchor)

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        """The fitted state as named float64 arrays plus a JSON-able dict."""
        keys = list(self.center_)
        k = len(self.targets) + len(self.features)
        arrays = {"pipeline.center": np.array([self.center_[s] for s in keys]).reshape(len(keys), k),
                  "pipeline.scale": np.array([self.scale_[s] for s in keys]).reshape(len(keys), k)}
        meta = {"targets": list(self.targets), "features": list(self.features), "freq": self.freq,
                "scaler": self.scaler, "transform": self.transform, "calendar": bool(self.calendar),
                "series": keys, "input_names": self.input_names}
        return arrays, meta

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict) -> Pipeline:
        """Rebuild from :meth:`to_arrays`; anything inconsistent is a ModelFileError."""
        try:
            pipe = cls(targets=[str(t) for t in meta["targets"]],
                       features=[str(f) for f in meta["features"]], freq=str(meta["freq"]),
                       scaler=meta["scaler"], transform=meta["transform"],
                       calendar=bool(meta["calendar"]))
            keys = [str(s) for s in meta["series"]]
            center = np.asarray(arrays["pipeline.center"], dtype=np.float64)
            scale = np.asarray(arrays["pipeline.scale"], dtype=np.float64)
            to_offset(pipe.freq)
        except (KeyError, TypeError, ValueError, UsageError) as e:
            raise ModelFileError(f"model file: pipeline settings are incomplete or invalid ({e})") \
                from None
        shape = (len(keys), len(pipe.targets) + len(pipe.features))
        if center.shape != shape or scale.shape != shape:
            raise ModelFileError(f"model file: scaler arrays have shape {center.shape}/{scale.shape}, "
                                 f"expected {shape}")
        if not (np.isfinite(center).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ModelFileError("model file: scaler arrays hold non-finite or non-positive scales")
        if (scale < 1e-250).any():  # dividing by it overflows every input
            raise ModelFileError(f"model file: a scale of {float(scale.min()):.3g} is not from a real fit "
                                 "(the file is damaged)")
        if meta.get("input_names", pipe.input_names) != pipe.input_names:
            raise ModelFileError("model file: the input columns do not match the pipeline settings")
        pipe.center_ = dict(zip(keys, center))
        pipe.scale_ = dict(zip(keys, scale))
        return pipe

"""A fitted forecaster as named arrays and JSON sections, and back: what the model file holds.

Owns the mapping between an :class:`~lstmcast.model.forecaster.LSTMForecaster`'s learned
state and the model file's arrays (network, scalers, calibration residuals, guard,
history) and its ``forecaster`` section, and the checks of everything read back before
use (a crafted or damaged file is a ModelFileError). :mod:`lstmcast.files.modelfile`
owns the file itself; the forecaster's ``to_state`` / ``from_state`` call these.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pandas as pd

from lstmcast.data import calendar
from lstmcast.data.timeparse import period
from lstmcast.errors import ModelFileError, UsageError
from lstmcast.model import adaptive, combiner, ensemble, guard, members
from lstmcast.model.choices import Choices
from lstmcast.nn.network import Net, Spec
from lstmcast.prep.scaling import Pipeline

# Calibration residuals are in scaled units divided by each window's typical change:
# anything near this is not from a real fit (a crafted or damaged file)
RESIDUAL_MAX = 1e6
SCALE_RATIO = 1e6  # a scale this many times every stored value and the centre is not a fit's
# The dtype of every array outside the network (whose dtype is the file's ``dtype``), as
# every released version wrote them; anything else was altered.
DTYPES = {"pipeline.center": "float64", "pipeline.scale": "float64", "calibration.residuals": "float32",
          "history.values": "float64", "guard.baseline": "int8", "guard.weight": "float32",
          "guard.scores": "float32", "guard.first": "float64", "guard.since": "int64",
          "guard.mix": "float32", "guard.member_scores": "float32", "calibration.positions": "int64",
          "bounds.zeros": "uint8", "normalize.es": "float64"}


def _checked_positions(a, n: int, season: int):
    """The season position of each calibration window, checked (ValueError), or None."""
    if a is None:
        return None
    a = np.asarray(a)
    if a.shape != (n,) or (n and not (0 <= a.min() and a.max() < max(season, 1))):
        raise ValueError("calibration.positions does not match the calibration scores and the season")
    return a.astype(np.int64)


def _checked_zeros(a, S: int, nt: int, season: int):
    """Where each series is forecast as 0 (bool (S, nt, season)), checked, or None."""
    if a is None:
        return None
    a = np.asarray(a)
    if a.shape != (S, nt, season) or not np.isin(a, (0, 1)).all():
        raise ValueError("bounds.zeros does not match the model's series, targets and season")
    return a.astype(bool)


def _es_array(own: dict, keys: list[str]) -> np.ndarray:
    """Per-series es coefficients as (series, 2) [alpha, gamma] in the history's order
    (a model file holds no NaN): gamma -1 for no season, alpha -1 for a series with the
    model's coefficients."""
    out = np.full((len(keys), 2), -1.0)
    for i, k in enumerate(keys):
        if k in own:
            a, g = own[k]
            out[i] = a, -1.0 if g is None else g
    return out


def _checked_es(a, keys: list[str], m) -> dict | None:
    """The per-series es coefficients of ``normalize.es``, checked (ValueError), or None."""
    if bool(m.es_series) != (a is not None):
        raise ValueError("normalize.es does not match config.model.es_series")
    if a is None:
        return None
    a = np.asarray(a)
    if a.shape != (len(keys), 2):
        raise ValueError(f"normalize.es has shape {a.shape}, not ({len(keys)}, 2)")
    alpha, gamma = a[:, 0], a[:, 1]
    own = alpha != -1.0
    if (m.normalize != "es" or not own.any() or (gamma[~own] != -1.0).any()
            or not ((alpha[own] > 0) & (alpha[own] <= 1)).all()
            or not (((gamma[own] >= 0) & (gamma[own] <= 1)) | (gamma[own] == -1.0)).all()):
        raise ValueError("normalize.es does not hold smoothing coefficients in 0..1 for each series")
    return {k: (float(alpha[i]), None if gamma[i] == -1.0 else float(gamma[i]))
            for i, k in enumerate(keys) if own[i]}


def to_state(self) -> tuple[dict[str, np.ndarray], dict]:
    """``self``'s learned state as named arrays and JSON sections (no pickle): ``config`` (the
    resolved configs), ``forecaster`` (everything else), ``network`` and ``dtype``.
    :mod:`lstmcast.files.modelfile` writes and checks them."""
    self.check_fitted()
    arrays = dict(self.net_.params)
    parrays, pmeta = self.pipeline_.to_arrays()
    arrays.update(parrays)
    arrays["calibration.residuals"] = self.residuals_
    arrays.update({f"guard.{name}": a for name, a in self.guard_.items()})
    if getattr(self, "members_", None) is not None:
        arrays.update(members.to_arrays(self.members_))
    if getattr(self, "positions_", None) is not None:
        arrays["calibration.positions"] = np.asarray(self.positions_, dtype=np.int64)
    if getattr(self, "zeros_", None) is not None:
        arrays["bounds.zeros"] = np.asarray(self.zeros_, dtype=np.uint8)
    keys = list(self.history_)
    if getattr(self, "es_series_", None):
        arrays["normalize.es"] = _es_array(self.es_series_, keys)
    arrays["history.values"] = np.stack([
        f[[*self.targets_, *self.features_]].to_numpy(np.float64) for f in self.history_.values()])
    state = {"pipeline": pmeta, "data": self.data_, "nonnegative": self.nonnegative_,
             "covariates": getattr(self, "covariates_", {}),
             "targets": self.targets_, "features": self.features_, "freq": self.freq_,
             "history": {"series": keys, "last": [str(self.history_[k].index[-1]) for k in keys]},
             "calibration": self.calibration_, "training": self.training_, "guard": self.guard_meta_,
             "choices": self.choices.to_dict()}
    if getattr(self, "given_", None) is not None:
        state["given"] = self.given_
    configs = {"read": self.read_config_.to_dict(), "model": self.model_config_.to_dict(),
               "train": self.train_config_.to_dict()}
    network = {k: v for k, v in asdict(self.net_.spec).items()
               if not (k.startswith("future_") and v == 0)}  # only a network with a future block says so
    return arrays, {"config": configs, "forecaster": state, "network": network,
                    "dtype": np.dtype(self.net_.dtype).name}



def from_state(cls, arrays: dict[str, np.ndarray], doc: dict, configs):
    """A fitted ``cls`` (an LSTMForecaster class) from :func:`to_state`'s output; ``configs`` are the
    (read, model, train) configs, already checked. Anything inconsistent is a
    ModelFileError."""
    read, m, t = configs
    wrong = [f"{name} is {arrays[name].dtype}, not {dtype}" for name, dtype in DTYPES.items()
             if name in arrays and str(arrays[name].dtype) != dtype]
    if wrong:
        raise ModelFileError(f"model file: array {wrong[0]} (the file was altered or damaged)")
    try:
        fm = doc["forecaster"]
        # files from before the section read with today's choices
        self = cls(model=m, train=t, choices=Choices.from_dict(fm.get("choices", {})))
        self.read_config_, self.model_config_, self.train_config_ = read, m, t
        self.targets_ = [str(x) for x in fm["targets"]]
        self.features_ = [str(x) for x in fm["features"]]
        self.freq_ = str(fm["freq"])
        period(self.freq_)  # a ValueError for anything that is not a frequency
        self.data_ = dict(fm["data"])
        slots = self.data_.get("calendar")
        if slots is not None and not (isinstance(slots, list) and slots
                                      and all(type(s) is int and 0 <= s < 7 * 86400 for s in slots)):
            raise ValueError(f"calendar {slots!r}")
        self.windows_ = dict(fm["training"]["windows"])
        self.training_ = dict(fm["training"])
        self.shrink_ = float(self.training_.get("shrink", 1.0))
        self.calibration_ = dict(fm.get("calibration", {"scale": "none"}))
        # files from before the floor at 0 forecast as they always did
        self.nonnegative_ = [bool(v) for v in fm.get("nonnegative", [False] * len(self.targets_))]
        if len(self.nonnegative_) != len(self.targets_) or not all(
                type(v) is bool for v in fm.get("nonnegative", [])):
            raise ValueError(f"nonnegative {fm.get('nonnegative')!r}")
        if not isinstance(self.calibration_.get("monotone", False), bool):
            raise ValueError(f"calibration {self.calibration_}")
        adaptive.check(self.calibration_)
        if self.calibration_["scale"] not in ("none", "change") or (
                self.calibration_["scale"] == "change"
                and (len(self.calibration_["floor"]) != len(self.targets_)
                     or not all(math.isfinite(v) and v > 0 for v in self.calibration_["floor"]))):
            raise ValueError(f"calibration {self.calibration_}")
        self.covariates_ = _checked_covariates(fm.get("covariates", {}), self.features_)
        self.given_ = _checked_given(fm.get("given"))
        spec = Spec(**doc["network"])
        params = {name: arrays[name] for name in spec.shapes()}
        self.pipeline_ = Pipeline.from_arrays(arrays, fm["pipeline"])
        keys = [str(k) for k in fm["history"]["series"]]
        values = np.asarray(arrays["history.values"], dtype=np.float64)
        residuals = np.asarray(arrays["calibration.residuals"], dtype=np.float32)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
        raise ModelFileError(f"model file: incomplete or inconsistent forecaster settings ({e})") from None
    if residuals.size and not float(np.abs(residuals).max()) < RESIDUAL_MAX:
        raise ModelFileError(f"model file: calibration residuals up to {float(np.abs(residuals).max()):.3g} "
                             f"(scaled units; at most {RESIDUAL_MAX:g} is plausible): the file is damaged")
    if len(fm["history"]["last"]) != len(keys):
        raise ModelFileError(f"model file: history.last has {len(fm['history']['last'])} timestamps for "
                             f"{len(keys)} series")
    L, H = m.lookback, m.horizon
    nt, nf = len(self.targets_), len(self.features_)
    rows = L + (1 if m.transform in ("diff", "pct") else 0)
    if values.shape != (len(keys), rows, nt + nf):
        raise ModelFileError(f"model file: history has shape {values.shape}, expected "
                             f"{(len(keys), rows, nt + nf)}")
    _check_scales(self.pipeline_, keys, values)
    if residuals.ndim != 3 or residuals.shape[1:] != (H, nt):
        raise ModelFileError(f"model file: calibration residuals have shape {residuals.shape}")
    if len(residuals) == 0 and t.val_fraction > 0:  # only a fit without validation has none
        raise ModelFileError(f"model file: no calibration residuals, though it was fitted with "
                             f"--val-fraction {t.val_fraction:g} (the file is damaged)")
    if m.season > rows * 1000:  # no fit chooses a season a thousand times its window
        raise ModelFileError(f"model file: config.model.season {m.season} is not from a real fit "
                             f"(the model reads {rows} rows; the file is damaged)")
    K = m.ensemble
    if (spec.output_size != H * nt * K or spec.input_size != len(self.pipeline_.input_names)
            or spec.hidden_size != K * m.hidden):
        raise ModelFileError("model file: the network's shape does not match its options")
    if spec.future_size != H * len(self.future_):
        raise ModelFileError("model file: the future block does not match the future covariates")
    if K > 1 and any(np.any(params[n][w == 0]) for n, w in ensemble.mask(spec, K).items()):
        raise ModelFileError("model file: the ensemble's members share weights (the file was altered)")
    self.net_ = Net.from_params(params, K)
    self.residuals_ = residuals
    try:
        self.guard_, self.guard_meta_ = guard.from_arrays(arrays, fm.get("guard"), len(keys), nt)
        if "guard.mix" in arrays:
            self.guard_["mix"] = combiner.check(arrays["guard.mix"], len(keys), nt).astype(np.float32)
            self.guard_["member_scores"] = np.asarray(arrays["guard.member_scores"], dtype=np.float32).reshape(
                len(keys), nt, len(combiner.MEMBERS) + 1)
        self.members_ = members.from_arrays(arrays, len(keys), nt)
        self.positions_ = _checked_positions(arrays.get("calibration.positions"), len(residuals), m.season)
        self.zeros_ = _checked_zeros(arrays.get("bounds.zeros"), len(keys), nt, m.season)
        self.es_series_ = _checked_es(arrays.get("normalize.es"), keys, m)
        if self.members_ is None and "mix" in self.guard_ and combiner.uses(self.guard_["mix"]):
            raise ValueError("the combiner weighs statistical members the file does not hold")
    except ValueError as e:
        raise ModelFileError(f"model file: {e}") from None
    self.history_ = {}
    for i, k in enumerate(keys):
        last = pd.Timestamp(fm["history"]["last"][i])
        idx = (pd.date_range(end=last, periods=rows, freq=period(self.freq_)[1]) if self.trading_slots() is None
               else calendar.past(last, self.freq_, rows, self.trading_slots()))
        idx.name = self.data_["date_col"]
        self.history_[k] = pd.DataFrame(values[i], index=idx, columns=[*self.targets_, *self.features_])
    return self


def _check_scales(pipe, keys: list[str], values: np.ndarray) -> None:
    """Each series' scale and centre belong to the values the file stores: a fit's scale
    is the spread of values like its history's, so one a million times larger than every
    stored value and the centre (1e300 for temperatures of 20) was written by someone else."""
    names = [*pipe.targets, *pipe.features]
    center = np.abs(np.stack([pipe.center_[k] for k in keys]))  # (series, columns), as values
    scale = np.stack([pipe.scale_[k] for k in keys])
    size = np.fmax(np.abs(values).max(axis=1), center)  # the file refuses NaN in the history
    far = scale > SCALE_RATIO * np.maximum(size, 1.0)
    if far.any():
        i, j = map(int, np.argwhere(far)[0])
        raise ModelFileError(f"model file: a scale of {float(scale[i, j]):.3g} for {names[j]!r} does not belong "
                             f"to the values it stores (at most {float(size[i, j]):.3g}); the file is damaged")


def _checked_covariates(cov: dict, features: list[str]) -> dict:
    """A model file's covariate settings, checked (a ValueError otherwise); files from
    before covariates have none."""
    from lstmcast.data import covariates

    if not isinstance(cov, dict):
        raise ValueError("covariates is not an object")
    out = {"future": [str(c) for c in cov.get("future", [])], "static": [str(c) for c in cov.get("static", [])],
           "holidays": cov.get("holidays"), "holiday_names": [str(c) for c in cov.get("holiday_names", [])],
           "encodings": {str(k): covariates.check_mapping(v) for k, v in dict(cov.get("encodings", {})).items()},
           "masked": int(cov.get("masked", 0))}
    unknown = [c for c in (*out["future"], *out["static"], *out["holiday_names"]) if c not in features]
    if unknown or not set(out["holiday_names"]) <= set(out["future"]):
        raise ValueError(f"covariate columns {unknown} are not among the inputs")
    if out["holidays"] is not None:
        out["holidays"] = str(out["holidays"])  # its codes are checked when used
    return out


def _checked_given(given) -> dict | None:
    """The options the fit was given (None: decided by the data), as stored; None for files
    from before they were stored. Each setting is checked as its flag is."""
    from lstmcast.config import ModelConfig, TrainConfig

    if given is None:
        return None
    if not isinstance(given, dict):
        raise ValueError(f"given {given!r}")
    try:
        return {"model": ModelConfig.from_dict(given.get("model", {}), "forecaster.given.model").to_dict(),
                "train": TrainConfig.from_dict(given.get("train", {}), "forecaster.given.train").to_dict()}
    except UsageError as e:
        raise ModelFileError(f"model file: {e}") from None

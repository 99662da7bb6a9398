"""LSTMForecaster: fit on a Dataset, forecast any horizon with conformal intervals.

Owns the modelling choices: per-window normalisation (the network predicts a correction
to the last value or to the window's seasonal profile, chosen from the data:
:mod:`lstmcast.prep.normalize`), a zero-initialised output layer and a
validation-fitted shrinkage of it, direct multi-horizon output (recursive only beyond
the trained horizon), the stored history tail, and the conformal calibration residuals
(scaled by each window's volatility). The evidence for each choice is in
``benchmarks/defaults.py``; the defaults the data decides (lookback, horizon, validation
share, hidden size, batch size, epochs) come from :mod:`lstmcast.model.defaults`. Hyperparameters are set in
``__init__`` and only stored there; learned state lives in attributes ending in ``_``.
Converts to and from plain arrays + JSON (:meth:`to_arrays`, :meth:`from_arrays`) for
:mod:`lstmcast.files.store`.
"""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pandas as pd

from lstmcast.model import baselines
from lstmcast.model import conformal
from lstmcast.model import defaults as options
from lstmcast.data.dataset import Dataset, check_length, future_index
from lstmcast.errors import DataError, ModelFileError, UsageError
from lstmcast.nn.network import Net, Spec, init_params
from lstmcast.prep.normalize import choose_normalize, window_change, window_offsets
from lstmcast.prep.scaling import Pipeline, calendar_features
from lstmcast.data.timeparse import period
from lstmcast.nn.train import TrainConfig, Trainer, predicted
from lstmcast.prep.windows import min_rows, prepare

# The network's output layer starts at zero, so an untrained model forecasts exactly the
# normalisation's base (the last value, or the seasonal profile) and training learns
# the correction to it. "random" is PyTorch's uniform initialisation. Evidence:
# benchmarks/defaults.py.
HEAD_INIT = "zeros"
# After training, scale the network's output (its head) by the factor in [0, 1] that
# minimises the squared error on the validation windows: the forecast is base + factor *
# correction, so a network whose corrections do not hold up out of sample falls back
# towards the base.
SHRINK = True
# Conformal scores: "change" divides each validation residual by its window's typical
# step-to-step change (mean |x[t] - x[t-1]| over the lookback, scaled units), and a
# forecast's band is the quantile times its own window's change, so bands widen in
# volatile stretches and narrow in calm ones (normalised conformal prediction).
# "none": plain absolute residuals. Evidence: benchmarks/defaults.py --intervals.
INTERVAL_SCALE = "change"

PREDICT_BATCH = 4096  # windows per slice when predicting every validation window (bounded memory)


class LSTMForecaster:
    """An LSTM that maps the last ``lookback`` steps to the next ``horizon`` steps."""

    def __init__(self, lookback: int | None = None, horizon: int | None = None,
                 hidden: int | None = None, layers: int = 1, dropout: float = 0.0,
                 bidirectional: bool = False, epochs: int | None = None,
                 batch_size: int | None = None, lr: float = 3e-3, patience: int = 10,
                 val_fraction: float | None = None, seed: int = 0, loss: str = "mse",
                 transform: str | None = None, scaler: str = "standard",
                 normalize: str = "auto", calendar: bool = True, stride: int = 1,
                 weight_decay: float = 0.0, season: int | None = None,
                 seasons: int | None = None):
        self.lookback = lookback
        self.horizon = horizon
        self.hidden = hidden
        self.layers = layers
        self.dropout = dropout
        self.bidirectional = bidirectional
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.patience = patience
        self.val_fraction = val_fraction
        self.seed = seed
        self.loss = loss
        self.transform = transform
        self.scaler = scaler
        self.normalize = normalize
        self.calendar = calendar
        self.stride = stride
        self.weight_decay = weight_decay
        self.season = season
        self.seasons = seasons

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in (
            "lookback", "horizon", "hidden", "layers", "dropout", "bidirectional", "epochs",
            "batch_size", "lr", "patience", "val_fraction", "seed", "loss", "transform",
            "scaler", "normalize", "calendar", "stride", "weight_decay", "season", "seasons")}

    # ------------------------------------------------------------------ fitting

    def resolved(self, dataset: Dataset) -> dict:
        """The options with every default that the data decides filled in."""
        return options.resolve(self.get_params(), dataset)

    def fit(self, dataset: Dataset, *, on_epoch=None, on_batch=None, should_stop=None,
            resume: tuple[dict, dict] | None = None) -> "LSTMForecaster":
        """Train on ``dataset``. ``resume`` is a (arrays, meta) trainer state to continue from."""
        opts = self.resolved(dataset)
        L, H = opts["lookback"], opts["horizon"]
        need = min_rows(L, H, opts["val_fraction"], opts["stride"], opts["transform"])
        check_length(dataset, need, f"lookback {L} + horizon {H} + validation")
        pipe, windows, train_idx, val_idx = prepare(
            dataset, L, H, val_fraction=opts["val_fraction"], stride=opts["stride"],
            scaler=opts["scaler"], transform=opts["transform"], calendar=opts["calendar"])
        options.resolve_schedule(opts, len(train_idx))
        self.targets_ = list(dataset.targets)
        nt = len(self.targets_)
        spec = Spec(windows.n_inputs, int(opts["hidden"]), int(opts["layers"]), H * nt,
                    bool(opts["bidirectional"]))
        params = init_params(spec.input_size, spec.hidden_size, spec.num_layers,
                             spec.output_size, seed=opts["seed"], bidirectional=spec.bidirectional)
        if HEAD_INIT == "zeros":
            params["head.weight"][:] = 0.0
            params["head.bias"][:] = 0.0
        net = Net.from_params(params)
        config = TrainConfig(epochs=int(opts["epochs"]), batch_size=int(opts["batch_size"]),
                             lr=float(opts["lr"]), patience=int(opts["patience"]),
                             loss=opts["loss"], dropout=float(opts["dropout"]),
                             weight_decay=float(opts["weight_decay"]), seed=int(opts["seed"]))
        trainer = Trainer(net, config, on_epoch=on_epoch, on_batch=on_batch, should_stop=should_stop)
        if resume is not None:
            trainer.load_state(*resume)
        opts["normalize"], opts["seasons"] = choose_normalize(
            windows, train_idx, nt, H, int(opts["season"]), opts["normalize"], opts["seasons"])
        take = self._taker(windows, nt, opts["normalize"], int(opts["season"]), opts["seasons"])
        self.trainer_ = trainer
        result = trainer.fit(take, train_idx, val_idx)
        self.options_ = opts
        self.net_ = net
        self.shrink_ = self._shrink(take, val_idx) if SHRINK and result.stopped != "interrupted" else 1.0
        self.pipeline_ = pipe
        self.freq_ = dataset.freq
        self.features_ = list(dataset.features)
        self.residuals_ = self._residuals(take, val_idx, H, nt)
        self.history_ = self._tails(dataset, L, opts["transform"])
        self.data_ = {"source": dataset.source, "rows": dataset.n_rows, "sha256": dataset.sha256,
                      "date_col": dataset.date_col, "id_col": dataset.id_col,
                      "fill_limit": dataset.fill_limit,
                      "series": {k: [str(f.index[0]), str(f.index[-1]), len(f)]
                                 for k, f in dataset.series.items()}}
        self.windows_ = {"train": int(len(train_idx)), "validation": int(len(val_idx))}
        self.training_ = {**asdict(result), "windows": self.windows_, "shrink": self.shrink_}
        return self

    @staticmethod
    def _taker(windows, nt: int, normalize: str, season: int, seasons: int | None):
        """take(idx) -> (X, Y) with per-window normalisation applied (:func:`window_offsets`)."""
        if normalize == "none":
            return windows.take
        horizon = windows.horizon

        def take(idx):
            x, y = windows.take(idx)
            shift, base = window_offsets(x, nt, horizon, normalize, season, seasons)
            x[:, :, :nt] -= shift[:, None, :]
            return x, y - base
        return take

    def _shrink(self, take, val_idx: np.ndarray) -> float:
        """Scale the head by the least-squares factor in [0, 1] on the validation windows."""
        pp = pt = 0.0
        for _, y, pred in predicted(self.net_, take, val_idx, PREDICT_BATCH):
            p64 = pred.astype(np.float64)
            pp += float((p64 * p64).sum())
            pt += float((p64 * y).sum())
        factor = 1.0 if pp <= 0 else float(np.clip(pt / pp, 0.0, 1.0))
        if factor < 1.0:
            self.net_.params["head.weight"][:] *= factor
            self.net_.params["head.bias"][:] *= factor
        return factor

    def _residuals(self, take, val_idx, H: int, nt: int) -> np.ndarray:
        """Validation residuals (n, horizon, targets) for conformal intervals: in scaled
        units, divided by each window's change (see :data:`INTERVAL_SCALE`); sets
        ``calibration_``."""
        self.calibration_ = {"scale": "none"}
        r = np.zeros((len(val_idx), H, nt), dtype=np.float32)
        change = np.zeros((len(val_idx), nt))
        pos = 0
        for x, y, pred in predicted(self.net_, take, val_idx, PREDICT_BATCH):
            r[pos:pos + len(x)] = y - pred
            change[pos:pos + len(x)] = window_change(x, nt)
            pos += len(x)
        if INTERVAL_SCALE == "change" and len(val_idx):
            # a floor, so that a flat stretch does not get a zero-width band
            floor = np.maximum(0.1 * np.median(change, axis=0), 1e-6)
            self.calibration_ = {"scale": "change", "floor": [float(v) for v in floor]}
            r /= np.maximum(change, floor)[:, None, :].astype(np.float32)
        return r

    def _band_scale(self, key: str, frame: pd.DataFrame) -> np.ndarray:
        """What the calibrated half-widths are multiplied by for this series: (nt,)."""
        nt = len(self.targets_)
        if self.calibration_.get("scale") != "change":
            return np.ones(nt)
        x = self.pipeline_.to_array(key, frame)[-int(self.options_["lookback"]):][None]
        return np.maximum(window_change(x, nt)[0], np.asarray(self.calibration_["floor"]))

    @staticmethod
    def _tails(dataset: Dataset, lookback: int, transform: str | None) -> dict[str, pd.DataFrame]:
        rows = lookback + (1 if transform in ("diff", "pct") else 0)
        return {k: f.iloc[-rows:].copy() for k, f in dataset.series.items()}

    # ------------------------------------------------------------------ forecasting

    def _check_fitted(self):
        if not hasattr(self, "net_"):
            raise UsageError("the forecaster is not fitted yet")

    def predict(self, horizon: int | None = None, dataset: Dataset | None = None,
                levels=()) -> tuple[pd.DataFrame, list[str]]:
        """Forecast ``horizon`` steps after the stored history (or after ``dataset``).

        Returns the forecast frame (one row per series and step: id, time, targets and
        ``{target}_lower_{level}`` / ``{target}_upper_{level}``) and notes for stderr.
        """
        self._check_fitted()
        notes: list[str] = []
        H = self.options_["horizon"]
        horizon = H if horizon is None else int(horizon)
        if horizon < 1:
            raise UsageError(f"--horizon must be 1 or more, not {horizon}")
        levels = sorted(set(float(v) for v in levels))
        for v in levels:
            if not 0 < v < 100:
                raise UsageError(f"--level must be between 0 and 100 (a percentage), not {v:g}")
        tails = self.history_ if dataset is None else self._tails_from(dataset)
        if horizon > H:
            if self.features_:
                raise UsageError(f"the model was trained for {H} steps and uses --features, whose "
                                 f"future values are unknown; forecast at most {H} steps or refit "
                                 f"with --horizon {horizon}")
            notes.append(f"the model was trained for {H} steps; steps {H + 1}-{horizon} are "
                         "forecast recursively from its own forecasts (less accurate, wider intervals)")
        q = self._quantiles(levels, horizon, notes)
        frames = []
        for key, frame in tails.items():
            scaled = self._predict_scaled(key, frame, horizon)  # (horizon, targets)
            band = q * self._band_scale(key, frame)[None, None, :] if len(q) else q
            idx = future_index(frame.index[-1], self.freq_, horizon)
            anchor = self.pipeline_.anchor(frame)
            out = pd.DataFrame(index=idx)
            point = self.pipeline_.inverse(key, scaled, anchor)
            for j, t in enumerate(self.targets_):
                out[t] = point[:, j]
            for li, level in enumerate(levels):
                lo = self.pipeline_.inverse(key, scaled - band[li], anchor)
                hi = self.pipeline_.inverse(key, scaled + band[li], anchor)
                name = f"{level:g}"
                for j, t in enumerate(self.targets_):
                    out[f"{t}_lower_{name}"] = np.minimum(lo[:, j], point[:, j])
                    out[f"{t}_upper_{name}"] = np.maximum(hi[:, j], point[:, j])
            out.index.name = self.data_["date_col"]
            out = out.reset_index()
            if self.data_["id_col"]:
                out.insert(0, self.data_["id_col"], key)
            frames.append(out)
        result = pd.concat(frames, ignore_index=True)
        values = result.select_dtypes("number").to_numpy()
        if not np.isfinite(values).all():
            raise DataError("the forecast is not finite (the model extrapolated out of range); "
                            "try --transform log, or refit on more data")
        return result, notes

    def _tails_from(self, dataset: Dataset) -> dict[str, pd.DataFrame]:
        """Validate newer data against the model and return the tails to forecast from."""
        if list(dataset.targets) != self.targets_ or list(dataset.features) != self.features_:
            raise DataError(f"{dataset.source}: columns {dataset.targets + dataset.features} do not "
                            f"match the model's {self.targets_ + self.features_}")
        if dataset.freq != self.freq_:
            raise DataError(f"{dataset.source}: frequency {dataset.freq} does not match the model's "
                            f"{self.freq_} (pass --freq {self.freq_} or refit)")
        unknown = [k for k in dataset.series if k not in self.pipeline_.center_]
        if unknown:
            raise DataError(f"{dataset.source}: series {unknown[0]!r} was not in the training data "
                            "(each series has its own scaling; refit to include it)")
        rows = len(next(iter(self.history_.values())))
        check_length(dataset, rows, f"lookback {self.options_['lookback']}")
        return {k: f.iloc[-rows:] for k, f in dataset.series.items()}

    def _predict_scaled(self, key: str, frame: pd.DataFrame, horizon: int) -> np.ndarray:
        """Scaled (transformed) target forecasts (horizon, targets), recursive past H."""
        L, H = self.options_["lookback"], self.options_["horizon"]
        nt = len(self.targets_)
        hist = self.pipeline_.to_array(key, frame)[-L:]
        index = frame.index[-len(hist):]
        out = []
        normalize, season = self.options_["normalize"], int(self.options_["season"])
        seasons = self.options_.get("seasons")
        while sum(len(o) for o in out) < horizon:
            x = hist[None, -L:].copy()
            shift, base = window_offsets(x, nt, H, normalize, season, seasons)
            x[0, :, :nt] -= shift[0]
            pred = self.net_.predict(x).reshape(H, nt).astype(np.float64) + base[0]
            out.append(pred)
            if sum(len(o) for o in out) >= horizon:
                break
            future = future_index(index[-1], self.freq_, H)
            rows = np.zeros((H, hist.shape[1]), dtype=np.float32)
            rows[:, :nt] = pred
            if self.pipeline_.calendar:
                rows[:, hist.shape[1] - len(self.pipeline_.calendar_names):] = \
                    calendar_features(future, self.freq_)[0]
            hist = np.vstack([hist, rows])
            index = index.append(future)
        return np.vstack(out)[:horizon]

    def _quantiles(self, levels, horizon: int, notes: list[str]) -> np.ndarray:
        """Half-widths (levels, horizon, targets) in scaled units from the stored residuals."""
        H, nt = self.options_["horizon"], len(self.targets_)
        if not levels:
            return np.zeros((0, horizon, nt))
        n = len(self.residuals_)
        if n == 0:
            raise UsageError("the model has no validation residuals to calibrate intervals "
                             "(it was fitted with --val-fraction 0); refit with a validation split")
        small = [v for v in levels if n < conformal.min_calibration_size(v)]
        if small:
            notes.append(f"only {n} validation windows: the {', '.join(f'{v:g}%' for v in small)} "
                         "intervals use the largest residual and may be too narrow")
        q = conformal.calibrate(self.residuals_.astype(np.float64), levels)  # (levels, H, nt)
        if horizon <= H:
            return q[:, :horizon]
        # beyond the trained horizon: widen the last step's band like a random walk's
        extra = q[:, -1:, :] * np.sqrt(np.arange(H + 1, horizon + 1) / H)[None, :, None]
        return np.concatenate([q, extra], axis=1)

    # ------------------------------------------------------------------ persistence

    def to_arrays(self) -> tuple[dict[str, np.ndarray], dict]:
        """Learned state as named arrays and a JSON-able dict (no pickle)."""
        self._check_fitted()
        arrays = dict(self.net_.params)
        parrays, pmeta = self.pipeline_.to_arrays()
        arrays.update(parrays)
        arrays["calibration.residuals"] = self.residuals_
        keys = list(self.history_)
        arrays["history.values"] = np.stack([
            f[[*self.targets_, *self.features_]].to_numpy(np.float64) for f in self.history_.values()])
        meta = {"options": dict(self.options_), "pipeline": pmeta, "data": self.data_,
                "targets": self.targets_, "features": self.features_, "freq": self.freq_,
                "history": {"series": keys, "last": [str(self.history_[k].index[-1]) for k in keys]},
                "calibration": self.calibration_,
                "training": self.training_}
        spec = self.net_.spec
        return arrays, {"forecaster": meta, "network": asdict(spec),
                        "dtype": np.dtype(self.net_.dtype).name}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], meta: dict) -> "LSTMForecaster":
        """Rebuild a fitted forecaster; anything inconsistent is a ModelFileError."""
        try:
            fm = meta["forecaster"]
            opts = dict(fm["options"])
            if "season" not in opts:  # written before --normalize season existed
                opts["season"] = baselines.season_length(str(fm["freq"]))
            opts.setdefault("seasons", None)  # before the choice of k: every whole season
            k = opts["seasons"]
            if k is not None and (type(k) is not int or k < 1):
                raise ValueError(f"seasons {k!r}")
            self = cls(**{k: opts[k] for k in cls().get_params()})
            self.options_ = opts
            self.targets_ = [str(t) for t in fm["targets"]]
            self.features_ = [str(f) for f in fm["features"]]
            self.freq_ = str(fm["freq"])
            self.data_ = dict(fm["data"])
            self.windows_ = dict(fm["training"]["windows"])
            self.training_ = dict(fm["training"])
            self.calibration_ = dict(fm.get("calibration", {"scale": "none"}))
            if self.calibration_["scale"] not in ("none", "change") or (
                    self.calibration_["scale"] == "change"
                    and (len(self.calibration_["floor"]) != len(self.targets_)
                         or not all(math.isfinite(v) and v > 0 for v in self.calibration_["floor"]))):
                raise ValueError(f"calibration {self.calibration_}")
            spec = Spec(**meta["network"])
            params = {name: arrays[name] for name in spec.shapes()}
            self.pipeline_ = Pipeline.from_arrays(arrays, fm["pipeline"])
            keys = [str(k) for k in fm["history"]["series"]]
            values = np.asarray(arrays["history.values"], dtype=np.float64)
            residuals = np.asarray(arrays["calibration.residuals"], dtype=np.float32)
            L, H = int(opts["lookback"]), int(opts["horizon"])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelFileError(f"model file: incomplete or inconsistent forecaster settings ({e})") from None
        nt, nf = len(self.targets_), len(self.features_)
        rows = L + (1 if opts.get("transform") in ("diff", "pct") else 0)
        if values.shape != (len(keys), rows, nt + nf):
            raise ModelFileError(f"model file: history has shape {values.shape}, expected "
                                 f"{(len(keys), rows, nt + nf)}")
        if residuals.ndim != 3 or residuals.shape[1:] != (H, nt):
            raise ModelFileError(f"model file: calibration residuals have shape {residuals.shape}")
        if spec.output_size != H * nt or spec.input_size != len(self.pipeline_.input_names):
            raise ModelFileError("model file: the network's shape does not match its options")
        self.net_ = Net.from_params(params)
        self.residuals_ = residuals
        self.history_ = {}
        for i, k in enumerate(keys):
            last = pd.Timestamp(fm["history"]["last"][i])
            idx = pd.date_range(end=last, periods=rows, freq=period(self.freq_)[1])
            idx.name = self.data_["date_col"]
            self.history_[k] = pd.DataFrame(values[i], index=idx, columns=[*self.targets_, *self.features_])
        return self

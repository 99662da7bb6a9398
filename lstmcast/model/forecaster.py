"""LSTMForecaster: fit on a Dataset, forecast any horizon with conformal intervals.

Owns the modelling choices: per-window normalisation (the network predicts a correction
to the last value or to the window's seasonal profile, chosen from the data:
:mod:`lstmcast.prep.normalize`), a zero-initialised output layer and a
validation-fitted shrinkage of it, direct multi-horizon output (recursive only beyond
the trained horizon), the stored history tail, and the conformal calibration residuals
(scaled by each window's volatility). The evidence for each choice is in
``benchmarks/accuracy/defaults.py``; the defaults the data decides (lookback, horizon, validation
share, hidden size, batch size, epochs) come from :mod:`lstmcast.model.defaults`.

In the scikit-learn manner: the options (:class:`~lstmcast.config.ModelConfig` and
:class:`~lstmcast.config.TrainConfig` fields) are set in ``__init__`` and only stored
there; ``fit`` returns ``self``; learned state lives in attributes ending in ``_``, the
resolved configs among them (``model_config_``, ``train_config_``, ``read_config_``).
Converts to and from named arrays + JSON sections through :mod:`lstmcast.model.persist`;
:mod:`lstmcast.files.modelfile` owns the file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, replace as dataclass_replace

import numpy as np
import pandas as pd

from lstmcast import config as cfg
from lstmcast.config import ForecastConfig, ModelConfig, ReadConfig, TrainConfig, check_levels
from lstmcast.data.dataset import Dataset, check_length, future_index, observed_column
from lstmcast.errors import DataError, UsageError
from lstmcast.files import modelfile
from lstmcast.data.timeparse import season_position
from lstmcast.model import ahead, bands, calibration, combiner, defaults, ensemble, persist, rollout, training
from lstmcast.model import members as statistical
from lstmcast.model.choices import Choices
from lstmcast.model.forecast import Forecast, SeriesForecast
from lstmcast.nn.network import Net, Spec, init_params
from lstmcast.prep.normalize import Norm, choose_normalize
from lstmcast.prep.windows import fill_missing, min_rows, prepare, rows_for_training

# Fewest training windows a fit accepts: below this the weights, the early stopping and
# the intervals are noise (a 4-row file used to "fit" on one window).
MIN_TRAIN_WINDOWS = 10


class LSTMForecaster:
    """An LSTM that maps the last ``lookback`` steps to the next ``horizon`` steps."""

    def __init__(self, model: ModelConfig | None = None, train: TrainConfig | None = None, *,
                 choices: Choices | None = None, **options):
        """``LSTMForecaster(hidden=32, lr=0.01)``, or with whole configs
        (``model=ModelConfig(...)``); keyword options override the configs' fields. The
        underscored arguments (``_shrink=False``) override the internal choices
        (:class:`~lstmcast.model.choices.Choices`), for the evidence in ``benchmarks/``."""
        underscored = {k: options.pop(k) for k in list(options) if k.startswith("_")}
        m_opts, rest = ModelConfig.split(options)
        t_opts, rest = TrainConfig.split(rest)
        names = {f.name for f in dataclasses.fields(Choices)}
        rest.update({k: v for k, v in underscored.items() if k[1:] not in names})
        if rest:
            names = sorted(f.name for c in (ModelConfig, TrainConfig) for f in cfg.fields_of(c))
            raise UsageError(f"unknown option {sorted(rest)[0]!r} (options: {', '.join(names)})")
        self.model_config = cfg.build(ModelConfig, {**(model or ModelConfig()).to_dict(), **m_opts})
        self.train_config = cfg.build(TrainConfig, {**(train or TrainConfig()).to_dict(), **t_opts})
        self.choices = dataclasses.replace(choices or Choices(), **{k[1:]: v for k, v in underscored.items()})

    def clone(self) -> "LSTMForecaster":
        """An unfitted copy with the same options and choices (for refits in a backtest)."""
        return LSTMForecaster(model=self.model_config, train=self.train_config, choices=self.choices)

    def get_params(self) -> dict:
        """Every option, by name (the fields of both configs)."""
        return {**self.model_config.to_dict(), **self.train_config.to_dict()}

    # ------------------------------------------------------------------ fitting

    def resolved(self, dataset: Dataset) -> tuple[ModelConfig, TrainConfig]:
        """The configs with every default that the data decides filled in (batch size and
        epochs come later, from the number of training windows)."""
        return defaults.resolve(self.model_config, self.train_config, dataset,
                                self.choices.lookback_seasons)

    def fit(self, dataset: Dataset, *, on_epoch=None, on_batch=None, should_stop=None,
            resume: tuple[dict, dict] | None = None, parallel=None) -> "LSTMForecaster":
        """Train on ``dataset``. ``resume`` is a (arrays, meta) trainer state to continue from.
        ``parallel(windows, model_config, train_config, spec, choices)`` makes the ``rounds`` that
        train each epoch on Dask workers (:class:`lstmcast.cluster.parallel.Rounds`)."""
        m, t = self.resolved(dataset)
        L, H = m.lookback, m.horizon
        need = min_rows(L, H, t.val_fraction, m.stride, m.transform)
        check_length(dataset, need, f"lookback {L} + horizon {H} + validation")
        pipe, windows, train_idx, val_idx = prepare(
            dataset, L, H, val_fraction=t.val_fraction, stride=m.stride,
            scaler=m.scaler, transform=m.transform, calendar=m.calendar)
        if len(train_idx) < MIN_TRAIN_WINDOWS:
            rows = rows_for_training(MIN_TRAIN_WINDOWS, L, H, t.val_fraction, m.stride, m.transform)
            raise DataError(f"{dataset.source or 'the data'}: too little data: {dataset.n_rows} rows give "
                            f"{len(train_idx)} training window(s) at lookback {L} and horizon {H}; "
                            f"a fit needs at least {MIN_TRAIN_WINDOWS}, which takes at least {rows} rows "
                            "in one series (or a smaller --lookback or --horizon)")
        t = defaults.resolve_schedule(t, len(train_idx))
        n_val = len(val_idx)
        if n_val > defaults.VAL_WINDOWS:  # a fixed sample, the same for every epoch
            pick = np.random.default_rng(t.seed).choice(n_val, defaults.VAL_WINDOWS, replace=False)
            val_idx = val_idx[np.sort(pick)]
        val_idx, held_idx = training.holdout_split(windows, val_idx, H, self.choices.holdout)
        self.targets_ = list(dataset.targets)
        # the options as given (None: the data decides), so a refit like this one decides them again
        self.given_ = {"model": self.model_config.to_dict(), "train": self.train_config.to_dict()}
        nt = len(self.targets_)
        K = m.ensemble
        n_future = len(windows.future_cols)
        kh = self.choices.future_hidden if n_future else 0
        members = [init_params(windows.n_inputs, m.hidden, m.layers, H * nt, seed=t.seed + i,
                               bidirectional=m.bidirectional, future_size=H * n_future,
                               future_hidden=kh, future_inputs=n_future) for i in range(K)]
        params = members[0] if K == 1 else ensemble.stack(members)
        spec = Spec.from_params(params)
        if n_future:  # starts at zero: the plain model, until the covariates earn a weight
            params["future.weight"][:] = 0.0
        if self.choices.head_init == "zeros":
            params["head.weight"][:] = 0.0
            params["head.bias"][:] = 0.0
        net = Net.from_params(params, K)
        trainer = training.build_trainer(net, t, dropout=m.dropout, members=K, nt=nt, n_future=n_future,
                                         future_block=self.choices.future_block, on_epoch=on_epoch,
                                         on_batch=on_batch, should_stop=should_stop,
                                         snapshots=self.choices.snapshots)
        if resume is not None:
            trainer.load_state(*resume)
        norm = choose_normalize(windows, train_idx, nt, H, m.season, m.normalize, m.seasons,
                                self.choices.season_max_windows, self.choices.auto_es,
                                self.choices.es_series_windows)
        m = dataclass_replace(m, normalize=norm.mode, seasons=norm.seasons, es_alpha=norm.alpha, es_gamma=norm.gamma,
                              es_series=bool(norm.series))
        take = training.taker(windows, nt, norm, K)
        self.trainer_ = trainer
        self.es_series_ = norm.series
        rounds = parallel(windows, m, t, spec, self.choices) if parallel is not None else None
        if rounds is not None and hasattr(rounds, "with_norm"):
            rounds.with_norm(norm)
        result = trainer.fit(take, train_idx, val_idx, rounds=rounds)
        self.model_config_, self.train_config_ = m, t
        self.net_ = net
        if result.stopped == "interrupted":
            # not a model: the trainer's state is what a checkpoint needs, and the
            # post-training work (residuals over every validation window took 70 s on
            # 8 M rows) would delay the stop
            self.training_ = asdict(result)
            return self
        self.read_config_ = dataset.read if dataset.read is not None else ReadConfig(
            date_col=dataset.date_col, targets=dataset.targets, features=dataset.features,
            id_col=dataset.id_col, freq=dataset.freq)
        self.shrink_ = (training.shrink(net, K, training.taker(windows, nt, norm),
                                        val_idx) if self.choices.shrink else 1.0)
        self.pipeline_ = pipe
        self.freq_ = dataset.freq
        self.features_ = list(dataset.features)
        self.covariates_ = {"future": list(dataset.future), "static": list(dataset.static),
                            "holidays": dataset.holidays, "holiday_names": list(dataset.holiday_names),
                            "encodings": dict(dataset.encodings),
                            "masked": int(windows.masked)}
        self.guard_, self.guard_meta_, scored = calibration.choose_guard(net, m, nt, windows, held_idx,
                                                                        self.choices.guard_blends, norm)
        self.members_ = None
        many = len(windows.keys) > statistical.MAX_SERIES
        if many and self.choices.combine != "guard" and self.guard_meta_.get("enabled") and m.statistical:
            self.guard_meta_["statistical"] = (f"ETS and Theta not fitted: {len(windows.keys)} series, more "
                                               f"than {statistical.MAX_SERIES} (the guard alone chose)")
        if (self.choices.combine != "guard" and self.guard_meta_.get("enabled") and m.statistical and not many
                and m.transform not in ("diff", "pct") and len(held_idx)):
            self.members_, scored = calibration.choose_mix(self.guard_, self.guard_meta_, scored, windows, pipe,
                                                           m, held_idx, self.choices.combine)
        r, change, kept = calibration.guarded_residuals(scored, self.guard_)
        self.residuals_, self.calibration_ = calibration.new_scores(r, change, self.choices.interval_scale)
        self.calibration_["monotone"] = True
        self.nonnegative_ = [bool(m.nonnegative) if m.nonnegative is not None
                             else bool(all((f[t].dropna() >= 0).all() for f in dataset.series.values()))
                             for t in self.targets_]
        phase = self._phases(dataset, m)
        self.positions_ = None
        if phase is not None:
            first = (phase[windows.series[held_idx]] + windows.starts[held_idx] + L) % m.season
            self.positions_ = first[kept].astype(np.int64)
        if self.choices.bands == "auto":
            self.calibration_.update(bands.choose(self.residuals_.astype(np.float64), m.season, self.positions_))
        elif self.choices.bands == "pooled":
            self.calibration_.update(pool=True, positions=False, signed=False)
        self.zeros_ = self._zero_positions(dataset, m)
        self.data_ = {"source": dataset.source, "rows": dataset.n_rows, "sha256": dataset.sha256,
                      "date_col": dataset.date_col, "id_col": dataset.id_col,
                      "fill_limit": dataset.fill_limit, "time_form": dataset.time_form,
                      "calendar": list(dataset.calendar) if dataset.calendar is not None else None,
                      "series": {k: [str(f.index[0]), str(f.index[-1]), len(f)]
                                 for k, f in dataset.series.items()}}
        self.windows_ = {"train": int(len(train_idx)), "validation": int(n_val),
                         "per_epoch": int(t.epoch_windows), "validation_used": int(len(val_idx)),
                         "held_out": int(len(held_idx))}
        self.training_ = {**asdict(result), "windows": self.windows_, "shrink": self.shrink_}
        self.history_ = self._tails(dataset, L, m.transform)
        return self

    def _phases(self, dataset: Dataset, m: ModelConfig) -> np.ndarray | None:
        """Each series' season position of its first windowed row (None without a season)."""
        if m.season <= 1:
            return None
        skip = 1 if m.transform in ("diff", "pct") else 0
        return np.array([season_position(f.index[skip:skip + 1], dataset.freq, m.season)[0]
                         for f in dataset.series.values()], dtype=np.int64)

    def _zero_positions(self, dataset: Dataset, m: ModelConfig) -> np.ndarray | None:
        """(series, targets, season) bool: where a series floored at 0 has been 0 at every
        observation (two cycles at least), which it then forecasts as 0 with no band."""
        if m.season <= 1 or not any(self.nonnegative_):
            return None
        out = np.zeros((len(dataset.series), len(self.targets_), m.season), bool)
        for i, f in enumerate(dataset.series.values()):
            pos = season_position(f.index, dataset.freq, m.season)
            out[i] = bands.zero_positions(f[self.targets_].to_numpy(np.float64), pos, m.season).T
        out &= np.asarray(self.nonnegative_, bool)[None, :, None]
        return out if out.any() else None

    def _net_predict(self, x: np.ndarray, engine: str = "auto", f: np.ndarray | None = None) -> np.ndarray:
        """The network's output for windows ``x`` (and future block inputs ``f``), an
        ensemble's members averaged."""
        return training.predict(self.net_, self.model_config_.ensemble, x, engine, f)

    @staticmethod
    def _tails(dataset: Dataset, lookback: int, transform: str | None) -> dict[str, pd.DataFrame]:
        """The history kept in the model: each series' last rows, missing targets
        (--missing mask) filled linearly as the network's inputs fill them (their
        ``_observed`` column still says they were missing)."""
        rows = lookback + (1 if transform in ("diff", "pct") else 0)
        tails = {k: f.iloc[-rows:].copy() for k, f in dataset.series.items()}
        for f in tails.values():
            values = f[dataset.targets].to_numpy(np.float64, copy=True)
            if np.isnan(values).any():
                f[dataset.targets] = fill_missing(values, range(values.shape[1]))
        return tails

    # ------------------------------------------------------------------ forecasting

    def trading_slots(self) -> tuple[int, ...] | None:
        """The open slots of the week of a series on a trading calendar, else None."""
        slots = self.data_.get("calendar")
        return tuple(slots) if slots else None

    def save(self, path) -> "LSTMForecaster":
        """Write the fitted model to ``path`` (atomically); returns ``self``."""
        save_model(self, path)
        return self

    def norm(self) -> Norm:
        """The fitted model's window normalisation, per-series es coefficients included."""
        return Norm.of(self.model_config_, getattr(self, "es_series_", None))

    def check_fitted(self):
        if not hasattr(self, "history_"):  # set last: an interrupted fit has only the network
            interrupted = getattr(self, "training_", {}).get("stopped") == "interrupted"
            raise UsageError("the forecaster is not fitted yet" + (" (its fit was interrupted)" if interrupted else ""))

    @property
    def future_(self) -> list[str]:
        """The input columns known for the forecast steps (future covariates, holidays)."""
        return list(getattr(self, "covariates_", {}).get("future", []))

    def _past_only(self) -> list[str]:
        """Input columns whose values after the last row are unknown."""
        cov = getattr(self, "covariates_", {})
        known = set(cov.get("future", [])) | set(cov.get("static", []))
        if self.read_config_.missing == "mask":  # forecasts count as observed
            known |= {observed_column(t) for t in self.targets_}
        return [c for c in self.features_ if c not in known]

    def predict(self, horizon: int | None = None, dataset: Dataset | None = None,
                levels=(), future: dict[str, pd.DataFrame] | None = None) -> Forecast:
        """Forecast ``horizon`` steps (default: the trained horizon) after the stored
        history, or after ``dataset``, with intervals at ``levels`` (percent).
        A model with future covariates takes their values for the forecast steps from
        ``future`` (series id -> frame indexed by time, as :func:`load_future` reads
        ``--future-data``), else from ``dataset``'s rows after its last target value.
        Notes for the user (recursive steps, small calibration sets) are in ``.notes``."""
        self.check_fitted()
        notes: list[str] = []
        H = self.model_config_.horizon
        horizon = H if horizon is None else int(horizon)
        ForecastConfig(horizon=horizon)  # the option's own rule (a UsageError naming --horizon)
        levels = check_levels(levels)
        tails = self.history_ if dataset is None else self._tails_from(dataset)
        if horizon > H:
            if self._past_only():
                raise UsageError(f"the model was trained for {H} steps and uses --features, whose "
                                 f"future values are unknown; forecast at most {H} steps or refit "
                                 f"with --horizon {horizon} (or give them as --future columns)")
            notes.append(f"the model was trained for {H} steps; steps {H + 1}-{horizon} are "
                         "forecast recursively from its own forecasts (less accurate, wider intervals)")
        season = self.model_config_.season
        cal = calibration.prepared(self.residuals_, self.calibration_, levels, notes,
                                   getattr(self, "positions_", None), season)
        keys = list(tails)
        inputs = {k: fill_missing(self.pipeline_.to_array(k, tails[k])[-self.model_config_.lookback:],
                                  range(len(self.targets_))) for k in keys}
        known = ahead.known_ahead(self, keys, tails, horizon, dataset, future)
        all_scaled = rollout.network_steps(self, keys, tails, inputs, horizon, known)  # (series, horizon, targets)
        rows = self.series_rows(keys)
        all_scaled = rollout.guarded(self, keys, rows, inputs, all_scaled, dataset)
        mixes = calibration.mix_of(self.guard_)
        futures: dict = {}  # series ending at the same time share their future timestamps
        series = {}
        for i, (key, frame) in enumerate(tails.items()):
            scaled = all_scaled[i]
            last = frame.index[-1]
            if last not in futures:
                futures[last] = future_index(last, self.freq_, horizon, self.trading_slots())
            steps = season_position(futures[last], self.freq_, season) if season > 1 else None
            lo, hi = bands.widths(cal, levels, horizon, None if steps is None else int(steps[0]))
            by = calibration.band_scale(self.calibration_, inputs[key], len(self.targets_))[None, None, :]
            g = rows[i]
            zeros = None if getattr(self, "zeros_", None) is None or steps is None else self.zeros_[g][:, steps].T
            point, lower, upper = rollout.in_units(self, key, frame, scaled, (lo * by, hi * by), levels, notes,
                                                   zeros)
            series[key] = SeriesForecast(futures[last], point, lower, upper,
                                         tuple(combiner.name(row) for row in mixes[g]))
        form = dataset.time_form if dataset is not None and dataset.time_form else self.data_.get("time_form")
        return Forecast(list(self.targets_), levels, series, self.data_["date_col"],
                        self.data_["id_col"], notes, form if isinstance(form, str) else None)

    def update(self, dataset: Dataset, **options):
        """Continue training on the rows of ``dataset`` newer than the stored history
        (:func:`lstmcast.model.update.update`, whose report is returned)."""
        from lstmcast.model.update import update

        self.check_fitted()
        return update(self, dataset, **options)

    def history_dataset(self) -> Dataset:
        """The stored history as a Dataset (to forecast it elsewhere, as ``predict()`` does)."""
        self.check_fitted()
        slots = self.trading_slots()
        return Dataset(series=dict(self.history_), targets=list(self.targets_), features=list(self.features_),
                       freq=self.freq_, date_col=self.data_["date_col"], id_col=self.data_["id_col"], notes=[],
                       n_rows=sum(len(f) for f in self.history_.values()), sha256="",
                       source="the model's history", read=self.read_config_,
                       time_form=self.data_.get("time_form") if isinstance(self.data_.get("time_form"), str)
                       else None, calendar=slots)

    def check_compatible(self, dataset: Dataset) -> None:
        """A DataError unless ``dataset`` has the model's columns, frequency and series."""
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

    def _tails_from(self, dataset: Dataset) -> dict[str, pd.DataFrame]:
        """Validate newer data against the model and return the tails to forecast from."""
        self.check_compatible(dataset)
        rows = len(next(iter(self.history_.values())))
        check_length(dataset, rows, f"the model, which reads the last {self.model_config_.lookback} steps,",
                     hint="give more history, or refit with a smaller --lookback")
        return {k: f.iloc[-rows:] for k, f in dataset.series.items()}

    def series_rows(self, keys) -> np.ndarray:
        """Each series' position in the model (its row of the guard's and the history's arrays)."""
        order = {k: i for i, k in enumerate(self.history_)}
        return np.array([order[k] for k in keys], dtype=np.int64)

    # ------------------------------------------------------------------ persistence

    def to_state(self) -> tuple[dict[str, np.ndarray], dict]:
        """Learned state as named arrays and JSON sections (:func:`lstmcast.model.persist.to_state`)."""
        return persist.to_state(self)

    @classmethod
    def from_state(cls, arrays: dict[str, np.ndarray], doc: dict, configs) -> "LSTMForecaster":
        """Rebuild a fitted forecaster (:func:`lstmcast.model.persist.from_state`)."""
        return persist.from_state(cls, arrays, doc, configs)


def save_model(forecaster: LSTMForecaster, path) -> None:
    """Write a fitted forecaster to ``path`` atomically (:mod:`lstmcast.files.modelfile`)."""
    arrays, doc = forecaster.to_state()
    modelfile.write(path, "model", arrays, doc)


def load_model(path, max_mb: int | None = None) -> LSTMForecaster:
    """A fitted forecaster from a model file of any released format; everything checked
    (array data over ``max_mb``, default 1024 MiB, refused before it is read)."""
    arrays, doc, configs = modelfile.read(path, max_mb=max_mb)
    return LSTMForecaster.from_state(arrays, doc, configs)

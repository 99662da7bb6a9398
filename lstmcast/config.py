"""The option definitions: one frozen dataclass per concern, one field per option.

Owns every option a user can set for reading data (:class:`ReadConfig`), for the
model (:class:`ModelConfig`: window, network, normalisation), for training
(:class:`TrainConfig`) and for each command's own run (``OutputConfig``,
``ScheduleConfig``, ``ForecastConfig``, ``EvaluateConfig``, ``TuneConfig``, ``CheckConfig``,
``ExportConfig``): its name, type, default, valid values, command-line flag, environment
variable (``LSTMCAST_<FLAG>``) and help text; how a field is made and checked is
:mod:`lstmcast.options`. The CLI builds its flags from
these fields (:mod:`lstmcast.cli.flags`), the model file stores them as they are
(:mod:`lstmcast.files.modelfile`), and ``info`` shows them: a new option is a field here,
the code that uses it, a test and a CHANGELOG line.

``None`` means "the data decides"; :func:`lstmcast.model.defaults.resolve` returns a
copy with every such value filled in. A config is validated once, when it is made: a
bad value is a :class:`~lstmcast.errors.UsageError` that names the flag, so the layers
below get valid values and never name flags themselves.

Importing this module is cheap (no numpy, no pandas): the CLI imports it for ``--help``.
The tables of valid names (losses, scalers, ...) are checked against the lower layers'
own tables by ``tests/test_config.py``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

from lstmcast.errors import UsageError
from lstmcast.options import Config, Opt, check_value, opt_of, option  # noqa: F401  (cli.flags reads them here)

FILLS = ("interpolate", "ffill", "error")
MISSING = ("fill", "mask")
DEDUPES = ("first", "last", "mean")
TRANSFORMS = ("log", "diff", "pct")
SCALERS = ("standard", "robust")
NORMALIZE = ("auto", "last", "season", "es", "none")
LOSSES = ("mse", "mae", "huber")


@dataclass(frozen=True)
class ReadConfig(Config):
    """How to read a data file. ``fit`` stores the resolved copy (the columns it found),
    so ``forecast NEWFILE`` reads newer files the same way."""

    date_col: str | None = option(None, "--date-col", "Time column (found by itself if omitted).")
    targets: tuple = option((), "--target", "Column to forecast (repeatable).", short="-t", many=True)
    features: tuple = option((), "--features", "Extra input column, known up to the last row "
                             "(repeatable).", many=True)
    future: tuple = option((), "--future", "Input column whose values are known for the forecast "
                           "steps too, e.g. a promotion or a temperature forecast (repeatable); "
                           "forecasts read them from rows after the last target value, or from "
                           "--future-data.", many=True)
    static: tuple = option((), "--static", "Per-series constant column of a long-format file, e.g. "
                           "store type or region (repeatable).", many=True)
    holidays: str | None = option(None, "--holidays", "Public holidays of a country (US, GB, DE-BY, "
                                  "...) as an input known ahead (needs the holidays package).")
    missing: str = option("fill", "--missing", "Missing target values: fill (as --fill says) or mask "
                          "(left out of the loss; the inputs carry an observed indicator).",
                          choices=MISSING)
    id_col: str | None = option(None, "--id-col", "Column naming the series in a long-format file.")
    freq: str | None = option(None, "--freq", "Frequency (pandas alias: D, B, h, MS, ...); inferred if omitted.")
    fill: str = option("interpolate", "--fill", "Missing values: interpolate, ffill or error.",
                       choices=FILLS)
    fill_limit: int | None = option(None, "--fill-limit", "Longest run of missing values to fill "
                                    "(default from the frequency).", kind=int, minimum=0)
    dedupe: str | None = option(None, "--dedupe", "Repeated timestamps: first, last or mean.",
                                choices=DEDUPES)
    dayfirst: bool | None = option(None, "--dayfirst", "Day before month in dates (detected if omitted).",
                                   kind=bool)
    thousands: str | None = option(None, "--thousands", "Thousands separator in numbers, e.g. ','.",
                                   char=True)
    decimal: str = option(".", "--decimal", "Decimal mark in numbers, e.g. ','.", char=True)
    max_input_mb: int = option(1024, "--max-input-mb", "Largest input read, in MB (after "
                               "decompression): a bigger or endless input is refused.", kind=int, minimum=1)

    # the fields that say which columns are the model's: fixed once a model is fitted
    COLUMNS = ("targets", "features", "id_col", "future", "static", "holidays")

    def _check(self) -> None:
        if self.thousands is not None and self.thousands == self.decimal:
            raise UsageError(f"--thousands and --decimal cannot both be {self.decimal!r}")
        roles = (("--target", "target", self.targets), ("--features", "feature", self.features),
                 ("--future", "future covariate", self.future), ("--static", "static covariate", self.static))
        for i, (name, role, values) in enumerate(roles):
            if len(set(values)) < len(values):
                raise UsageError(f"a {name} column is given twice: {', '.join(values)}")
            for _, other, others in roles[i + 1:]:
                both = sorted(set(values) & set(others))
                if both:
                    raise UsageError(f"column {both[0]!r} is both a {role} and a {other}")
        if self.freq is not None:
            from lstmcast.frequencies import to_offset  # pandas: only when a freq is given

            try:
                object.__setattr__(self, "freq", to_offset(self.freq).freqstr)
            except ValueError:
                raise UsageError(f"--freq {self.freq!r} is not a pandas frequency "
                                 "(e.g. h, D, B, W, MS, QS, YS)") from None


@dataclass(frozen=True)
class ModelConfig(Config):
    """The model: its window, network and normalisation."""

    lookback: int | None = option(None, "--lookback", "Input steps per window (default from the "
                                  "frequency and the data's length).", kind=int, minimum=1)
    horizon: int | None = option(None, "--horizon", "Steps the model forecasts at once (default "
                                 "from the frequency).", kind=int, short="-H", minimum=1)
    hidden: int | None = option(None, "--hidden", "LSTM hidden size (default from the data size).",
                                kind=int, minimum=1)
    layers: int = option(1, "--layers", "Stacked LSTM layers.", kind=int, minimum=1)
    dropout: float = option(0.0, "--dropout", "Dropout between layers.", kind=float, minimum=0, below=1)
    bidirectional: bool = option(False, "--bidirectional", "Also read each window backwards.", kind=bool)
    transform: str | None = option(None, "--transform", "Target transform: log, diff or pct.",
                                   choices=TRANSFORMS)
    scaler: str = option("standard", "--scaler", "Scaling: standard or robust.", choices=SCALERS)
    normalize: str = option("auto", "--normalize", "Per-window normalisation: auto, last (predict the "
                            "change from the last value), season (predict the correction to the "
                            "seasonal profile of the last whole seasons), es (predict the correction to an "
                            "exponential smoothing of the window: level and seasonal indices) or none.",
                            choices=NORMALIZE)
    season: int | None = option(None, "--season", "Season length, for --normalize season, seasonal "
                                "naive and MASE (default from the frequency).", kind=int, minimum=1)
    seasons: int | None = option(None, None, "seasons: whole seasons averaged into the seasonal "
                                 "profile (chosen from the data).", kind=int, minimum=1)
    es_alpha: float | None = option(None, None, "es_alpha: the level's smoothing coefficient of "
                                    "--normalize es (chosen from the data).", kind=float, minimum=0)
    es_gamma: float | None = option(None, None, "es_gamma: the seasonal indices' smoothing coefficient of "
                                    "--normalize es (chosen from the data; none: no season).", kind=float,
                                    minimum=0)
    es_series: bool = option(False, None, "es_series: whether series have their own --normalize es "
                             "coefficients (the model file's normalize.es; chosen from the data).", kind=bool)
    nonnegative: bool | None = option(None, "--nonnegative", "Keep forecasts and bands at 0 or above "
                                      "(default: for a target whose training values are all >= 0).",
                                      kind=bool)
    ensemble: int = option(1, "--ensemble", "Networks trained together from seeds seed, seed+1, ...; "
                           "the forecast is their mean.", kind=int, minimum=1)
    guard: bool = option(True, "--guard", "Per series, forecast with naive, seasonal naive, drift, ETS, Theta, "
                         "a blend or a mix with the network where that beats the network on held-out "
                         "windows (--no-guard: the network alone).", kind=bool)
    statistical: bool = option(True, "--statistical", "Fit ETS and Theta beside the network for the guard "
                               "to mix in (--no-statistical: baselines only, a model ONNX export can carry).",
                               kind=bool)
    calendar: bool = option(True, None, "calendar: calendar features as inputs.", kind=bool)
    stride: int = option(1, None, "stride: steps between training windows.", kind=int, minimum=1)


@dataclass(frozen=True)
class TrainConfig(Config):
    """Training: the schedule, the loss and the seed."""

    epochs: int | None = option(None, "--epochs", "Most epochs (default from the data size).",
                                kind=int, minimum=1)
    batch_size: int | None = option(None, "--batch-size", "Windows per batch (default from the data "
                                    "size).", kind=int, minimum=1)
    epoch_windows: int | None = option(None, "--epoch-windows", "Training windows sampled per epoch "
                                       "(default: all of them up to 32,768; a fresh sample each epoch).",
                                       kind=int, minimum=1)
    lr: float = option(3e-3, "--lr", "Learning rate.", kind=float, minimum=1e-12)
    patience: int = option(10, "--patience", "Epochs without improvement before stopping.",
                           kind=int, minimum=1)
    val_fraction: float | None = option(None, "--val-fraction", "Share of windows held out for "
                                        "validation (default 0.3 below 1,000 windows, else 0.2).",
                                        kind=float, minimum=0, below=1)
    seed: int = option(0, "--seed", "Random seed.", kind=int, minimum=0)
    loss: str = option("mse", "--loss", "Training loss: mse, mae or huber.", choices=LOSSES)
    clip_norm: float = option(1.0, "--clip-norm", "Largest global norm of a batch's gradient "
                              "(larger ones are scaled down to it).", kind=float, minimum=1e-12)
    weight_decay: float = option(0.0, None, "weight_decay: AdamW's decoupled weight decay.",
                                 kind=float, minimum=0)


CONFIGS = {"read": ReadConfig, "model": ModelConfig, "train": TrainConfig}


# ---------------------------------------------------------------- the commands' own options
# Options of one command's run rather than of the model: not stored in a model file.

LOCAL_WORKERS_PER_CORE = 4  # --scheduler local:N: more worker processes than this per core only thrash


@dataclass(frozen=True)
class OutputConfig(Config):
    """Where a command's data goes (stdout or a file), its format, its levels, a picture."""

    levels: tuple = option((), "--level", "Prediction interval level in percent (repeatable), e.g. 80.",
                           kind=float, short="-l", many=True)
    format: str | None = option(None, "--format", "Output: csv, json or table (default: table on a "
                                "terminal, else csv; from -o's extension).", short="-f",
                                choices=("csv", "json", "table"))
    output: str | None = option(None, "--output", "Write to this file (atomically) instead of stdout.",
                                short="-o")
    plot: str | None = option(None, "--plot", "Also draw a PNG (needs: pip install 'lstmcast[plot]').")

    def _check(self) -> None:
        object.__setattr__(self, "levels", tuple(check_levels(self.levels)))


@dataclass(frozen=True)
class ScheduleConfig(Config):
    """Where the work runs: here, or spread over Dask."""

    scheduler: str | None = option(None, "--scheduler", "Spread the work over Dask: a scheduler "
                                   "address (tcp://host:8786), or local:N for N worker processes here "
                                   "(needs: pip install 'lstmcast[dask]').",
                                   also_env=("DASK_SCHEDULER_ADDRESS",))

    def _check(self) -> None:
        address = self.scheduler
        if address is None:
            return
        if address.startswith("local:"):
            n, most = address.split(":", 1)[1], LOCAL_WORKERS_PER_CORE * (os.cpu_count() or 1)
            if not (n.isdigit() and int(n) >= 1):
                raise UsageError(f"--scheduler local:N takes a number of workers of 1 or more, not {address!r}")
            if int(n) > most:
                raise UsageError(f"--scheduler {address}: at most {most} local workers on this machine "
                                 f"({LOCAL_WORKERS_PER_CORE} per core); for more, start a Dask cluster "
                                 "and give its address")
        elif "://" in address and not address.startswith("tcp://"):
            raise UsageError(f"--scheduler {address!r}: lstmcast connects to tcp://HOST:PORT, HOST:PORT or "
                             f"local:N (other protocols, such as tls:// or ucx://, need settings it does not take)")


@dataclass(frozen=True)
class ForecastConfig(Config):
    """forecast: how far, and where the known-ahead covariates come from."""

    horizon: int | None = option(None, "--horizon", "Steps to forecast (default: the model's horizon).",
                                 kind=int, short="-H", minimum=1)
    future_data: str | None = option(None, "--future-data", "File with the values of the model's "
                                     "--future columns for the forecast steps (time column, series "
                                     "column if any, those columns).")


@dataclass(frozen=True)
class EvaluateConfig(Config):
    """evaluate: the backtest's origins."""

    folds: int = option(3, "--folds", "Forecast origins to test.", kind=int, short="-k", minimum=1)
    step: int | None = option(None, "--step", "Steps between origins (default: the horizon).", kind=int,
                              minimum=1)
    refit: bool = option(True, "--refit", "Refit before each origin, or (--no-refit) forecast with "
                         "--model as it is.", kind=bool)


@dataclass(frozen=True)
class TuneConfig(Config):
    """tune: the run's budget, the search's size and folds."""

    budget: str = option("10m", "--budget", "Wall-clock time for the whole run (the search, the check on "
                         "unseen folds, the final fit): 90s, 10m, 1h.")
    trials: int = option(27, "--trials", "Option sets to try, the defaults first (successive halving "
                         "keeps the best third at each rung).", kind=int, minimum=1)
    folds: int | None = option(None, "--folds", "Most search folds a trial is scored on (default 4, "
                               "fewer on short data).", kind=int, short="-k", minimum=1)
    holdout: int | None = option(None, "--holdout", "Latest folds kept from the search, to compare the "
                                 "tuned options with the defaults (default 2, 1 on short data).",
                                 kind=int, minimum=1)

    def _check(self) -> None:
        self.seconds  # a UsageError for anything that is not a time

    @property
    def seconds(self) -> float:
        """The budget in seconds (``90``, ``90s``, ``10m``, ``1.5h``)."""
        s = self.budget.strip().lower()
        unit = {"s": 1, "m": 60, "h": 3600}.get(s[-1:], None)
        try:
            value = float(s[:-1] if unit else s) * (unit or 1)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise UsageError(f"--budget must be a time such as 90s, 10m or 1h, not {self.budget!r}")
        return value


@dataclass(frozen=True)
class CheckConfig(Config):
    """check and update: the verdict's window and margin."""

    last: int | None = option(None, "--last", "The verdict's window: the newest scored points per series, "
                              "from the model's record and the new rows (default: 4 times the model's "
                              "horizon).", kind=int, short="-k", minimum=1)
    tolerance: float | None = option(None, "--tolerance", "How much worse than the best of naive and "
                                     "seasonal naive the model may score before it is called worse, as a "
                                     "share (0.1: ten percent worse; default: chosen on the evidence, see "
                                     "docs/guide/production.md).", kind=float, minimum=0.0)


EXPORT_FORMATS = ("onnx",)


@dataclass(frozen=True)
class ExportConfig(Config):
    """export: the format, the file, which series and how many steps."""

    format: str = option("onnx", "--format", "Export format: onnx (needs: pip install 'lstmcast[onnx]').",
                         short="-f", choices=EXPORT_FORMATS, envvar="LSTMCAST_EXPORT_FORMAT")
    output: str | None = option(None, "--output", "The file to write (atomically), or - for stdout. "
                                "Default: the model's name with .onnx.", short="-o")
    series: str | None = option(None, "--series", "Export this series alone (a long-format model); "
                                "default: every series, chosen by a series_index input.")
    horizon: int | None = option(None, "--horizon", "Steps in the output, at most the trained horizon "
                                 "(the default).", kind=int, short="-H", minimum=1)


def check_levels(levels) -> list[float]:
    """The ``--level`` option: interval levels in percent, sorted and unique; a UsageError
    for anything else (``0.95`` is a 0.95 % interval: asked whether 95 was meant). The
    math below it (:mod:`lstmcast.model.conformal`) only checks that each is in (0, 100)."""
    out = []
    for v in levels:
        try:
            level = float(v)
        except (TypeError, ValueError):
            raise UsageError(f"--level must be a percentage, not {v!r}") from None
        if 0 < level < 1:
            raise UsageError(f"--level {level:g} would be a {level:g}% interval; did you mean "
                             f"{level * 100:g}? (levels are percentages, e.g. --level 95)")
        if not (math.isfinite(level) and 0 < level < 100):
            raise UsageError(f"--level must be between 0 and 100 (a percentage), not {level:g}")
        out.append(level)
    return sorted(set(out))


# `update` takes two training options with defaults of its own (a short continuation at a
# lower learning rate, not a fit); its --help shows these, not fit's
UPDATE_EPOCHS = 20
UPDATE_PATIENCE = 3
UPDATE_LR_FACTOR = 0.3
UPDATE_HELP = {
    "epochs": f"Most epochs of the update (it stops after {UPDATE_PATIENCE} without improvement). "
              f"Default: {UPDATE_EPOCHS}.",
    "lr": f"Learning rate of the update. Default: {UPDATE_LR_FACTOR:g} times the fit's.",
}


def fields_of(cls) -> list[dataclasses.Field]:
    return list(dataclasses.fields(cls))


def build(cls, values: dict):
    """``cls(**values)`` for the Python API: a TypeError for an unknown name becomes a UsageError."""
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise UsageError(f"unknown option {unknown[0]!r} (options: {', '.join(sorted(names))})")
    return cls(**values)

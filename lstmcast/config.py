"""The option definitions: one frozen dataclass per concern, one field per option.

Owns every option a user can set for reading data (:class:`ReadConfig`), for the
model (:class:`ModelConfig`: window, network, normalisation) and for training
(:class:`TrainConfig`): its name, type, default, valid values, command-line flag,
environment variable (``LSTMCAST_<FLAG>``) and help text. The CLI builds its flags from
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
from dataclasses import dataclass, field
from typing import Any

from lstmcast.errors import UsageError

FILLS = ("interpolate", "ffill", "error")
MISSING = ("fill", "mask")
DEDUPES = ("first", "last", "mean")
TRANSFORMS = ("log", "diff", "pct")
SCALERS = ("standard", "robust")
NORMALIZE = ("auto", "last", "season", "none")
LOSSES = ("mse", "mae", "huber")


@dataclass(frozen=True)
class Opt:
    """How one option is set and checked (the metadata of a config field)."""

    flag: str | None            # "--fill-limit"; None: no flag (Python API and model file only)
    help: str
    kind: type = str            # the type of one value: str, int, float or bool
    short: str | None = None    # "-H"
    many: bool = False          # repeatable; the value is a tuple
    choices: tuple | None = None
    minimum: float | None = None
    below: float | None = None  # the value must be smaller than this
    char: bool = False          # a single character
    envvar: str | None = None   # instead of LSTMCAST_<FLAG> (an option whose flag another one shares)
    also_env: tuple = ()        # further environment variables, read after the first

    @property
    def name(self) -> str:
        """The name used in messages: the flag, or the Python name given by :func:`option`."""
        return self.flag or self.help.split(":", 1)[0]

    @property
    def env(self) -> str | None:
        if self.envvar:
            return self.envvar
        return f"LSTMCAST_{self.flag[2:].replace('-', '_').upper()}" if self.flag else None


def option(default, flag: str | None, help: str, **kw) -> Any:
    """A config field with its :class:`Opt`."""
    return field(default=default, metadata={"opt": Opt(flag, help, **kw)})


def opt_of(f: dataclasses.Field) -> Opt:
    return f.metadata["opt"]


def check_value(opt: Opt, value, name: str | None = None):
    """``value`` converted to the option's type, or a UsageError naming the flag (or
    ``name``, for values read from a file)."""
    name = name or opt.name
    if value is None:
        return None
    if opt.many:
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            value = (value,)
        return tuple(check_value(dataclasses.replace(opt, many=False), v, name) for v in value)
    kind = opt.kind
    if kind is bool:
        if not isinstance(value, bool):
            raise UsageError(f"{name} must be true or false, not {value!r}")
        return value
    if kind in (int, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)) and not _is_number(value):
            raise UsageError(f"{name} must be a number, not {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise UsageError(f"{name} must be a finite number, not {value!r}")
        if kind is int:
            if number != int(number):
                raise UsageError(f"{name} must be a whole number, not {value!r}")
            value = int(number)
        else:
            value = number
        if opt.minimum is not None and value < opt.minimum:
            if kind is int:
                raise UsageError(f"{name} must be a whole number of {opt.minimum:g} or more, not {value}")
            raise UsageError(f"{name} must be at least {opt.minimum:g}{_below(opt)}, not {value:g}")
        if opt.below is not None and not value < opt.below:
            raise UsageError(f"{name} must be below {opt.below:g}, not {value:g}")
        return value
    if not isinstance(value, str):
        raise UsageError(f"{name} must be text, not {value!r}")
    if opt.choices is not None and value not in opt.choices:
        raise UsageError(f"{name} must be {_or(opt.choices)}, not {value!r}")
    if opt.char and len(value) != 1:
        raise UsageError(f"{name} must be a single character, not {value!r}")
    return value


def _is_number(value) -> bool:  # numpy scalars
    return hasattr(value, "__float__") and hasattr(value, "dtype")


def _below(opt: Opt) -> str:
    return f" and below {opt.below:g}" if opt.below is not None else ""


def _or(choices) -> str:
    words = [str(c) for c in choices]
    return ", ".join(words[:-1]) + " or " + words[-1] if len(words) > 1 else words[0]


class _Config:
    """What the three configs share: checking, copying, JSON, and the differences."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.default is not None:
                raise UsageError(f"{opt_of(f).name} must be set (default {_shown(f.default)}), not None")
            object.__setattr__(self, f.name, check_value(opt_of(f), value))
        self._check()

    def _check(self) -> None:
        """Checks across fields (subclasses)."""

    def replace(self, **changes):
        """A checked copy with ``changes``; ``None`` values in ``changes`` are ignored."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return dataclasses.replace(self, **changes) if changes else self

    def to_dict(self) -> dict:
        return {f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
                for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, values: dict, label: str):
        """A config from stored ``values`` (a model file's section ``label``): every
        field's type and range checked, errors naming ``label.field`` instead of a flag;
        unknown keys are refused. Missing keys take their defaults."""
        if not isinstance(values, dict):
            raise UsageError(f"{label} is not a JSON object")
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise UsageError(f"{label} has an unknown setting {unknown[0]!r}")
        for key, value in values.items():
            opt = opt_of(names[key])
            if opt.many and not isinstance(value, list):
                raise UsageError(f"{label}.{key} must be a list, not {value!r}")
            check_value(opt, value, f"{label}.{key}")
        try:
            return cls(**values)
        except UsageError as e:  # a check across fields
            raise UsageError(f"{label}: {e}") from None

    def unresolved(self) -> list[str]:
        """The fields still ``None`` (the data has not decided them yet)."""
        return [f.name for f in dataclasses.fields(self) if getattr(self, f.name) is None]

    @classmethod
    def split(cls, values: dict) -> tuple[dict, dict]:
        """(the items of ``values`` that are fields of this config, the rest)."""
        names = {f.name for f in dataclasses.fields(cls)}
        return ({k: v for k, v in values.items() if k in names},
                {k: v for k, v in values.items() if k not in names})

    def changed(self) -> dict:
        """The fields that differ from their defaults."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) != f.default}

    def differences(self, other) -> list[str]:
        """``--flag A (now B)`` for every field that differs from ``other``'s."""
        return [f"{opt_of(f).name} {_shown(getattr(other, f.name))} (now {_shown(getattr(self, f.name))})"
                for f in dataclasses.fields(self) if getattr(self, f.name) != getattr(other, f.name)]

    def as_args(self) -> list[str]:
        """The command-line arguments that give the fields differing from the defaults."""
        args: list[str] = []
        for f in dataclasses.fields(self):
            opt, value = opt_of(f), getattr(self, f.name)
            if value == f.default or opt.flag is None:
                continue
            if opt.kind is bool:
                args.append(opt.flag if value else f"--no-{opt.flag[2:]}")
            elif opt.many:
                for v in value:
                    args += [opt.flag, str(v)]
            elif value is not None:
                args += [opt.flag, f"{value:g}" if isinstance(value, float) else str(value)]
        return args


def _shown(value) -> str:
    if value is None:
        return "not set"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)


@dataclass(frozen=True)
class ReadConfig(_Config):
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
class ModelConfig(_Config):
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
                            "seasonal profile of the last whole seasons) or none.", choices=NORMALIZE)
    season: int | None = option(None, "--season", "Season length, for --normalize season, seasonal "
                                "naive and MASE (default from the frequency).", kind=int, minimum=1)
    seasons: int | None = option(None, None, "seasons: whole seasons averaged into the seasonal "
                                 "profile (chosen from the data).", kind=int, minimum=1)
    nonnegative: bool | None = option(None, "--nonnegative", "Keep forecasts and bands at 0 or above "
                                      "(default: for a target whose training values are all >= 0).",
                                      kind=bool)
    ensemble: int = option(1, "--ensemble", "Networks trained together from seeds seed, seed+1, ...; "
                           "the forecast is their mean.", kind=int, minimum=1)
    guard: bool = option(True, "--guard", "Per series, forecast with naive, seasonal naive, drift or a blend "
                         "with the network where that beats the network on held-out windows "
                         "(--no-guard: the network alone).", kind=bool)
    calendar: bool = option(True, None, "calendar: calendar features as inputs.", kind=bool)
    stride: int = option(1, None, "stride: steps between training windows.", kind=int, minimum=1)


@dataclass(frozen=True)
class TrainConfig(_Config):
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
class OutputConfig(_Config):
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
class ScheduleConfig(_Config):
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
class ForecastConfig(_Config):
    """forecast: how far, and where the known-ahead covariates come from."""

    horizon: int | None = option(None, "--horizon", "Steps to forecast (default: the model's horizon).",
                                 kind=int, short="-H", minimum=1)
    future_data: str | None = option(None, "--future-data", "File with the values of the model's "
                                     "--future columns for the forecast steps (time column, series "
                                     "column if any, those columns).")


@dataclass(frozen=True)
class EvaluateConfig(_Config):
    """evaluate: the backtest's origins."""

    folds: int = option(3, "--folds", "Forecast origins to test.", kind=int, short="-k", minimum=1)
    step: int | None = option(None, "--step", "Steps between origins (default: the horizon).", kind=int,
                              minimum=1)
    refit: bool = option(True, "--refit", "Refit before each origin, or (--no-refit) forecast with "
                         "--model as it is.", kind=bool)


@dataclass(frozen=True)
class TuneConfig(_Config):
    """tune: the search's budget, size and folds."""

    budget: str = option("10m", "--budget", "Wall-clock time for the search: 90s, 10m, 1h.")
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
class CheckConfig(_Config):
    """check: how many of the newest points are scored."""

    last: int | None = option(None, "--last", "Newest points to score per series (default: 4 times the "
                              "model's horizon, or all new points).", kind=int, short="-k", minimum=1)


EXPORT_FORMATS = ("onnx",)


@dataclass(frozen=True)
class ExportConfig(_Config):
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

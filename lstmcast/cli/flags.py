"""Command-line flags made from the option definitions in :mod:`lstmcast.config`.

Owns the translation of a config field into a Typer option (flag, short name,
environment variable ``LSTMCAST_<FLAG>``, help with its default) and the decorator
:func:`with_configs`, which adds a config's flags to a command and hands the command
the values the user gave (by flag or environment variable), per config:
``given = {"read": {...}, "model": {...}, "train": {...}}``. Every flag defaults to
"not given", so a command can tell a stored setting from a flag that overrides it.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import typing
from typing import Annotated, List, Optional

import typer

from lstmcast import config


def _default_text(f: dataclasses.Field) -> str:
    if f.default is None or f.default == ():
        return ""
    value = f.default
    if isinstance(value, bool):
        return f" Default: {'yes' if value else 'no'}."
    return f" Default: {value:g}." if isinstance(value, float) else f" Default: {value}."


def parameter(f: dataclasses.Field, help: str | None = None) -> inspect.Parameter:
    """The Typer parameter of one config field (``help``: a command's own text and default)."""
    opt = config.opt_of(f)
    kind = opt.kind
    annotation = Optional[List[kind]] if opt.many else Optional[kind]
    names = [f"{opt.flag}/--no-{opt.flag[2:]}"] if kind is bool else [opt.flag]
    if opt.short:
        names.append(opt.short)
    option = typer.Option(*names, help=help or opt.help + _default_text(f),
                          envvar=[opt.env, *opt.also_env] if opt.also_env else opt.env,
                          show_envvar=False, show_default=False)
    return inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=None,
                             annotation=Annotated[annotation, option])


def flagged(cls, only: tuple[str, ...] | None = None) -> list[dataclasses.Field]:
    """The fields of ``cls`` that have a flag (``only`` those, when given)."""
    return [f for f in dataclasses.fields(cls)
            if config.opt_of(f).flag and (only is None or f.name in only)]


def with_configs(*groups: tuple):
    """Add the flags of each ``(name, config class, fields or None for all[, help texts
    by field])`` to a command, which receives ``given`` (see the module docstring)."""
    def decorate(fn):
        hints = typing.get_type_hints(fn, include_extras=True)
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in inspect.signature(fn).parameters.values() if p.name != "given"]
        owner: dict[str, str] = {}
        extra = []
        for name, cls, only, *helps in groups:
            for f in flagged(cls, only):
                extra.append(parameter(f, (helps[0] if helps else {}).get(f.name)))
                owner[f.name] = name

        @functools.wraps(fn)
        def command(*args, **kwargs):
            given: dict[str, dict] = {group[0]: {} for group in groups}
            for key, group in owner.items():
                value = kwargs.pop(key, None)
                if value is not None and value != []:
                    given[group][key] = value
            return fn(*args, **kwargs, given=given)

        params = own + extra
        command.__signature__ = inspect.Signature(params)
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command
    return decorate


READ = ("read", config.ReadConfig, None)
# reading a newer file for a fitted model: how to parse it, never which columns it uses
READ_PARSING = ("read", config.ReadConfig,
                tuple(f.name for f in dataclasses.fields(config.ReadConfig)
                      if f.name not in config.ReadConfig.COLUMNS + ("freq",)))
# commands that read only a model file: how much of it they read
READ_LIMIT = ("read", config.ReadConfig, ("max_input_mb",))
MODEL = ("model", config.ModelConfig, None)
TRAIN = ("train", config.TrainConfig, None)
# the commands' own options
OUTPUT = ("output", config.OutputConfig, None)
OUTPUT_TABLE = ("output", config.OutputConfig, ("format", "output"))  # a table, no levels or plot
# export: forecast's --level (the same option and checks), for the bands the graph outputs
OUTPUT_LEVELS = ("output", config.OutputConfig, ("levels",),
                 {"levels": "Prediction interval level in percent (repeatable), e.g. 80: the graph also outputs "
                            "the lower and upper bands at these levels, with the band widths in force now "
                            "(as forecast --level prints them). Default: none, as forecast."})
SCHEDULE = ("schedule", config.ScheduleConfig, None)
FORECAST = ("forecast", config.ForecastConfig, None)
EVALUATE = ("evaluate", config.EvaluateConfig, None)
TUNE = ("tune", config.TuneConfig, None)
CHECK = ("check", config.CheckConfig, None)
EXPORT = ("export", config.ExportConfig, None)
# update continues a fit: its own epochs and learning rate, with its own defaults
TRAIN_UPDATE = ("train", config.TrainConfig, ("epochs", "lr"), config.UPDATE_HELP)

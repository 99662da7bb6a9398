"""How an option is defined and checked: the metadata of a config field (:class:`Opt`,
made by :func:`option`), the conversion and checks of one value (:func:`check_value`),
and what every config shares (:class:`Config`: checks when made, copies, JSON, the
differences and the command-line arguments of a config). The options themselves are
defined in :mod:`lstmcast.config`. No numpy, no pandas: the CLI imports this for ``--help``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from lstmcast.errors import UsageError


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


class Config:
    """What the three configs share: checking, copying, JSON, and the differences."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value is None and f.default is not None:
                raise UsageError(f"{opt_of(f).name} must be set (default {shown(f.default)}), not None")
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
        return [f"{opt_of(f).name} {shown(getattr(other, f.name))} (now {shown(getattr(self, f.name))})"
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


def shown(value) -> str:
    if value is None:
        return "not set"
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "none"
    return f"{value:g}" if isinstance(value, float) else str(value)

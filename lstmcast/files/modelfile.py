"""The model file's document: its sections, and the migrations from older versions.

A model (or a training checkpoint) is one safetensors file written and checked by
:mod:`lstmcast.files.store` (the container: arrays, a checksummed JSON document, the
envelope keys with the format's name and version number). This module owns what the
document holds, and it is the only place that knows the layout of a version:

Format ``lstmcast-model`` 3.0, kind ``model`` (3.0 added the combiner's ``guard.mix`` and
``guard.member_scores`` and the statistical members' ``members.*`` arrays: a 2.x reader
would forecast such a model without them, so it is a major version; 2.3 added
``forecaster.choices``; 2.2 the covariates; 2.1 the guard, and a 2.0 file forecasts with
the network alone):

- ``config``: ``{"read", "model", "train"}``, the resolved options
  (:mod:`lstmcast.config`): how the data was read (with the columns fit found), the
  model's window, network and normalisation, and the training schedule. Every value is
  checked on load with the option's own rules; errors name the setting.
- ``forecaster``: learned state that is not an array: targets, features, frequency,
  the pipeline's settings, the data's provenance, the history's series and last
  timestamps, the interval calibration, the training report, and the internal choices
  (:class:`lstmcast.model.choices.Choices`; absent before 2.3: today's values).
- ``network`` / ``dtype``: the network's shape (:class:`lstmcast.nn.network.Spec`) and
  float type, checked against the arrays by the container.
- arrays: the network under PyTorch's names, ``pipeline.center`` / ``pipeline.scale``,
  ``calibration.residuals``, ``history.values``, ``guard.*`` (the baseline guard:
  :mod:`lstmcast.model.guard`, and the combiner's mix: :mod:`lstmcast.model.combiner`;
  their metadata in ``forecaster.guard``), ``members.*`` (:mod:`lstmcast.model.members`).

Kind ``checkpoint``: ``config`` as above (before the data decided batch size and epochs)
and ``forecaster: {"trainer", "fingerprint"}``, with the trainer's arrays.

A file of an older major version is read through :data:`MIGRATIONS`, one step per
version, so every released version keeps loading (``tests/files/test_modelfile.py``
loads a committed file of each and checks its forecast). A newer minor version only adds
keys and is read; a newer major version is refused.
"""

from __future__ import annotations

import os

from lstmcast.config import ModelConfig, ReadConfig, TrainConfig
from lstmcast.frequencies import season_length
from lstmcast.errors import InputMissingError, ModelFileError, UsageError
from lstmcast.files import store
from lstmcast.files.store import FORMAT_VERSION

SECTIONS = {
    "model": ("config", "forecaster", "network", "dtype"),
    "checkpoint": ("config", "forecaster", "network", "dtype"),
}
CONFIGS = {"read": ReadConfig, "model": ModelConfig, "train": TrainConfig}


def _from_1(doc: dict) -> dict:
    """1.x (lstmcast 0.1) -> 2.0: the flat ``forecaster.options`` and ``reading`` dicts
    become the three configs."""
    if doc.get("kind") != "model":
        raise ModelFileError("a checkpoint of an older lstmcast cannot be resumed; fit again")
    fm = dict(doc["forecaster"])
    opts = dict(fm.pop("options"))
    reading = dict(fm.pop("reading", {}) or {})
    if "season" not in opts:  # written before --normalize season existed
        opts["season"] = season_length(str(fm["freq"]))
    opts.setdefault("seasons", None)  # before the choice of k: every whole season
    model, train = ModelConfig.split(opts)
    train, _ = TrainConfig.split(train)
    data = fm.get("data", {})
    date_col = data.get("date_col")
    read = {**{k: v for k, v in reading.items() if k in ("dayfirst", "thousands", "decimal", "fill", "dedupe")},
            # 0.1 stored the output's name of the time column ("date" for a header-less
            # index); the reader finds the time column by itself
            "date_col": None if date_col == "date" else date_col,
            "targets": list(fm["targets"]), "features": list(fm["features"]),
            "id_col": data.get("id_col"), "freq": fm["freq"], "fill_limit": data.get("fill_limit")}
    if read.get("decimal") is None:
        read["decimal"] = "."
    if read.get("fill") is None:
        read["fill"] = "interpolate"
    return {**doc, "format_version": "2.0", "config": {"read": read, "model": model, "train": train},
            "forecaster": fm}


def _from_2(doc: dict) -> dict:
    """2.x (lstmcast 0.2) -> 3.0: the combiner (:mod:`lstmcast.model.combiner`) of a 2.x
    model is its guard alone (rule ``guard``, no statistical members), as it forecast."""
    if doc.get("kind") != "model":  # a checkpoint holds the trainer, unchanged
        return {**doc, "format_version": "3.0"}
    fm = dict(doc["forecaster"])
    fm["choices"] = {**fm.get("choices", {}), "combine": "guard", "bands": "step"}
    return {**doc, "format_version": "3.0", "forecaster": fm}


# major version -> the function that turns such a document into the next major version
MIGRATIONS = {1: _from_1, 2: _from_2}


def migrate(doc: dict) -> dict:
    """The document in the current format, through every step from its version."""
    major = int(str(doc["format_version"]).split(".")[0])
    try:
        while major < FORMAT_VERSION[0]:
            doc = MIGRATIONS[major](doc)
            major += 1
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ModelFileError(f"model file of format {doc.get('format_version')}: incomplete settings ({e})") \
            from None
    return doc


def configs(doc: dict, label: str, resolved: bool = True) -> tuple[ReadConfig, ModelConfig, TrainConfig]:
    """The three configs of a (migrated) document, each setting checked."""
    section = doc.get("config")
    if not isinstance(section, dict):
        raise ModelFileError(f"{label}: the settings section 'config' is missing ({_DAMAGED})")
    out = []
    for name, cls in CONFIGS.items():
        try:
            c = cls.from_dict(section.get(name, {}), f"config.{name}")
        except UsageError as e:
            raise ModelFileError(f"{label}: {e} ({_DAMAGED})") from None
        missing = [f for f in c.unresolved() if f in _RESOLVED[name]] if resolved else []
        if missing:
            raise ModelFileError(f"{label}: setting config.{name}.{missing[0]} is missing ({_DAMAGED})")
        out.append(c)
    return tuple(out)


_DAMAGED = "the file is damaged or was not written by lstmcast; train again with lstmcast fit"
# the fields a fitted model always has decided
_RESOLVED = {"read": ("freq",), "model": ("lookback", "horizon", "hidden", "season"),
             "train": ("epochs", "batch_size", "val_fraction")}


def write(path, kind: str, arrays: dict, doc: dict) -> None:
    """Write a model or checkpoint atomically; ``doc`` holds the kind's sections."""
    missing = [s for s in SECTIONS[kind] if s not in doc]
    if missing:
        raise ValueError(f"a {kind} needs the sections {', '.join(SECTIONS[kind])}; {missing[0]} is missing")
    store.save(path, arrays, {"kind": kind, **doc})


def read(path, kind: str = "model", max_mb: int | None = None):
    """(arrays, the migrated document, (read, model, train) configs) of a model or
    checkpoint file; everything checked. ``max_mb`` caps the array data (default 1024 MiB,
    ``--max-input-mb``)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        what = "no model at" if kind == "model" else "no checkpoint at"
        hint = ("train one with: lstmcast fit DATA, or give the path of yours: --model PATH, "
                "or lstmcast info PATH" if kind == "model" else "run fit without --resume")
        raise InputMissingError(f"{what} {path} ({hint})")
    arrays, doc = store.load(path, store.MAX_DATA_BYTES if max_mb is None else int(max_mb) << 20)
    if doc.get("kind") != kind:
        if kind == "model":
            raise ModelFileError(f"{path} is a {doc.get('kind')}, not a model "
                                 "(resume the fit with --resume to finish it)")
        raise ModelFileError(f"{path} is not a checkpoint")
    doc = migrate(doc)
    return arrays, doc, configs(doc, path, resolved=(kind == "model"))


def _intervals(arrays: dict, calibration: dict) -> dict:
    """What stands behind the model's bands: how they are calibrated, how many scores each
    level's quantile is taken from, the fewest a level needs for its guarantee, and the
    realised coverage of the forecasts ``update`` has scored (with the level each tracked
    level is now calibrated at)."""
    from lstmcast.model import adaptive, conformal

    shape = arrays["calibration.residuals"].shape if "calibration.residuals" in arrays else (0, 0)
    n = int(shape[0] * shape[1]) if calibration.get("pool") else int(shape[0])
    how = "+".join(k for k in ("pool", "positions", "signed") if calibration.get(k)) or "per step"
    signed = bool(calibration.get("signed"))
    return {"calibration": how, "scores_per_level": n,
            "needed": {f"{lv:g}": conformal.min_calibration_size(lv, signed=signed) for lv in (80.0, 95.0, 99.0)},
            "realised": adaptive.realised(calibration)}


def describe(path, max_mb: int | None = None) -> dict:
    """What ``lstmcast info`` shows: provenance, options, network, training."""
    arrays, doc, (read_cfg, model_cfg, train_cfg) = read(path, max_mb=max_mb)
    fm = doc["forecaster"]
    training = dict(fm.get("training", {}))
    history = training.pop("history", [])
    updates = training.pop("updates", [])
    scored = training.pop("monitor", [])
    return {
        "file": os.fspath(path), "format": f"{doc.get('format')} {doc.get('format_version')}",
        "lstmcast_version": doc.get("lstmcast_version"), "created": doc.get("created"),
        "data": fm.get("data"), "targets": fm.get("targets"), "features": fm.get("features"),
        "frequency": fm.get("freq"),
        "nonnegative": dict(zip(fm.get("targets", []), fm.get("nonnegative", [False] * len(fm.get("targets", []))))),
        "read": read_cfg.to_dict(), "model": model_cfg.to_dict(),
        "train": train_cfg.to_dict(), "network": doc.get("network"),
        "parameters": int(sum(arrays[n].size for n in arrays
                              if n.split(".")[0] not in ("pipeline", "calibration", "history", "guard",
                                                         "members", "bounds"))),
        "guard": fm.get("guard", {"enabled": False}),
        "intervals": _intervals(arrays, fm.get("calibration", {})),
        "training": training,
        "validation_loss_by_epoch": [round(h["val_loss"], 6) for h in history],
        "updates": updates,
        "scored_forecasts": scored,
    }

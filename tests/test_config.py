"""The option definitions: checking, copying, the CLI flags made from them, and the
tables of names that the lower layers implement."""

import dataclasses
import inspect

import numpy as np
import pytest
import typer

from lstmcast import config
from lstmcast.config import ModelConfig, ReadConfig, TrainConfig
from lstmcast.errors import UsageError


@pytest.mark.parametrize("cls,values,flag", [
    (ModelConfig, {"lookback": 0}, "--lookback must be a whole number of 1 or more, not 0"),
    (ModelConfig, {"hidden": 2.5}, "--hidden must be a whole number"),
    (ModelConfig, {"layers": True}, "--layers must be a number"),
    (ModelConfig, {"dropout": 1.0}, "--dropout must be below 1"),
    (ModelConfig, {"normalize": "mean"}, "--normalize must be auto, last, season, es or none"),
    (ModelConfig, {"stride": None}, "stride must be set"),
    (TrainConfig, {"lr": float("nan")}, "--lr must be a finite number"),
    (TrainConfig, {"lr": 0}, "--lr must be at least"),
    (TrainConfig, {"val_fraction": 1}, "--val-fraction must be below 1"),
    (TrainConfig, {"loss": "l2"}, "--loss must be mse, mae or huber"),
    (TrainConfig, {"seed": -1}, "--seed must be a whole number of 0 or more"),
    (ReadConfig, {"fill_limit": -1}, "--fill-limit must be a whole number of 0 or more"),
    (ReadConfig, {"thousands": ",,"}, "--thousands must be a single character"),
    (ReadConfig, {"thousands": ".", "decimal": "."}, "--thousands and --decimal cannot both be"),
    (ReadConfig, {"freq": "fortnightly"}, "--freq 'fortnightly' is not a pandas frequency"),
    (ReadConfig, {"targets": ("a", "b", "a")}, "given twice"),
    (ReadConfig, {"targets": ("a",), "features": ("a",)}, "both a target and a feature"),
    (config.OutputConfig, {"levels": (0.95,)}, "--level 0.95 would be a 0.95% interval; did you mean 95?"),
    (config.OutputConfig, {"levels": (80, 100)}, "--level must be between 0 and 100"),
    (config.OutputConfig, {"format": "xml"}, "--format must be csv, json or table"),
    (config.ScheduleConfig, {"scheduler": "local:0"}, "--scheduler local:N takes a number of workers"),
    (config.ScheduleConfig, {"scheduler": "local:10000"}, "--scheduler local:10000: at most"),
    (config.ScheduleConfig, {"scheduler": "tls://10.0.0.1:8786"}, "lstmcast connects to tcp://HOST:PORT"),
    (config.ScheduleConfig, {"scheduler": "ucx://h:1"}, "other protocols"),
    (config.ForecastConfig, {"horizon": 0}, "--horizon must be a whole number of 1 or more"),
    (config.EvaluateConfig, {"folds": 0}, "--folds must be a whole number of 1 or more"),
    (config.EvaluateConfig, {"step": 1.5}, "--step must be a whole number"),
    (config.TuneConfig, {"budget": "soon"}, "--budget must be a time such as 90s"),
    (config.TuneConfig, {"trials": 0}, "--trials must be a whole number of 1 or more"),
    (config.CheckConfig, {"last": -3}, "--last must be a whole number of 1 or more"),
    (config.ExportConfig, {"format": "tflite"}, "--format must be onnx"),
])
def test_a_bad_value_is_a_usage_error_naming_the_flag(cls, values, flag):
    with pytest.raises(UsageError, match=flag.replace("(", r"\(")):
        cls(**values)


def test_values_are_converted_once_where_the_config_is_made():
    m = ModelConfig(lookback=np.int64(24), dropout=0)
    assert type(m.lookback) is int and type(m.dropout) is float
    r = ReadConfig(targets=["a", "b"], features="c", freq="D")
    assert r.targets == ("a", "b") and r.features == ("c",) and r.freq == "D"


def test_replace_checks_and_ignores_unset_values():
    m = ModelConfig(hidden=8)
    assert m.replace(hidden=None) is m and m.replace(layers=2).layers == 2
    with pytest.raises(UsageError, match="--layers"):
        m.replace(layers=0)


def test_differences_and_args_name_the_flags():
    old, new = TrainConfig(seed=1), TrainConfig(seed=1, lr=0.01)
    assert new.differences(old) == ["--lr 0.003 (now 0.01)"]
    args = ModelConfig(lookback=28, bidirectional=True, seasons=2).as_args()
    assert args == ["--lookback", "28", "--bidirectional"]  # seasons has no flag
    assert ReadConfig(targets=("a", "b"), dayfirst=False).as_args() == [
        "--target", "a", "--target", "b", "--no-dayfirst"]


def test_stored_values_are_checked_with_the_setting_named():
    assert ModelConfig.from_dict({"lookback": 24}, "config.model").lookback == 24
    for values, text in (({"lookback": "56"}, "config.model.lookback must be a number"),
                         ({"normalize": "bogus"}, "config.model.normalize must be"),
                         ({"season": 2.5}, "config.model.season must be a whole number"),
                         ({"wat": 1}, "unknown setting 'wat'")):
        with pytest.raises(UsageError, match=text):
            ModelConfig.from_dict(values, "config.model")
    with pytest.raises(UsageError, match="config.read.targets must be a list"):
        ReadConfig.from_dict({"targets": "close"}, "config.read")


def test_the_names_are_the_ones_the_lower_layers_implement():
    from lstmcast.nn import kernels, losses
    from lstmcast.prep import normalize, scaling

    assert config.LOSSES == tuple(losses.LOSSES)
    assert [losses.LOSSES[n].code for n in ("mse", "mae", "huber")] == [
        kernels.LOSS_MSE, kernels.LOSS_MAE, kernels.LOSS_HUBER]
    assert scaling.TRANSFORMS == (None, *config.TRANSFORMS) and scaling.SCALERS == config.SCALERS
    x = np.zeros((2, 30, 1), np.float32)
    for name in config.NORMALIZE[1:]:  # auto is resolved before windows are normalised
        normalize.Norm(name, 7, None, 0.5, 0.1).apply(x, 1, 3)


def _typer_options(command):
    """{parameter name: typer OptionInfo} of a command of the app."""
    out = {}
    for p in inspect.signature(command).parameters.values():
        meta = getattr(p.annotation, "__metadata__", ())
        out.update({p.name: m for m in meta if isinstance(m, typer.models.OptionInfo)})
    return out


@pytest.mark.parametrize("command,groups", [
    ("fit", (ReadConfig, ModelConfig, TrainConfig, config.ScheduleConfig)),
    ("evaluate", (ReadConfig, ModelConfig, TrainConfig, config.EvaluateConfig, config.OutputConfig,
                  config.ScheduleConfig)),
    ("forecast", (ReadConfig, config.ForecastConfig, config.OutputConfig, config.ScheduleConfig)),
    ("tune", (ReadConfig, ModelConfig, TrainConfig, config.TuneConfig)),
    ("check", (config.CheckConfig,)),
    ("export", (config.ExportConfig,)),
])
def test_every_flag_comes_from_its_definition(command, groups):
    from lstmcast.cli import app

    options = _typer_options(getattr(app, command))
    for cls in groups:
        for f in dataclasses.fields(cls):
            opt = config.opt_of(f)
            if opt.flag is None or (command == "forecast" and f.name in (*ReadConfig.COLUMNS, "freq")):
                assert f.name not in options
                continue
            info = options[f.name]
            decls = (info.default, *info.param_decls)  # Annotated: the first declaration is in default
            envvars = [opt.env, *opt.also_env] if opt.also_env else opt.env
            assert decls[0].split("/")[0] == opt.flag and info.envvar == envvars
            assert (opt.short in decls) if opt.short else len(decls) == 1
            assert info.help.startswith(opt.help)
            assert inspect.signature(getattr(app, command)).parameters[f.name].default is None


def test_evaluate_and_fit_accept_the_same_model_options():
    from lstmcast.cli import app

    model_flags = {n for n in _typer_options(app.fit) if n not in ("model", "resume", "json_out", "quiet", "debug", "like")}
    assert model_flags <= set(_typer_options(app.evaluate))

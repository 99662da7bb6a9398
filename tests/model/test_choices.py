"""The internal choices (model/choices.py): one frozen set, stored in the model file, used
by fit, update and a Dask worker alike; older files read with today's values."""

import numpy as np
import pandas as pd
import pytest

from conftest import FIXTURES
from lstmcast.data.dataset import load_csv
from lstmcast.errors import ModelFileError, UsageError
from lstmcast.model.choices import Choices
from lstmcast.model.forecaster import LSTMForecaster, load_model


def promo_csv(path, n=240, seed=3):
    rng = np.random.default_rng(seed)
    promo = rng.random(n) < 0.3
    y = 20 + 3 * np.sin(2 * np.pi * np.arange(n) / 7) + 5 * promo + rng.normal(0, 0.5, n)
    pd.DataFrame({"date": pd.date_range("2022-01-01", periods=n).strftime("%Y-%m-%d"), "y": y.round(3),
                  "promo": promo.astype(int)}).to_csv(path, index=False)
    return load_csv(str(path), future=("promo",))


def off_step(model):
    """The future block's weights from one step's covariates to another step's output."""
    w = model.net_.params["future.weight"]
    H = model.model_config_.horizon
    out_step = np.repeat(np.arange(H), len(model.targets_))
    in_step = np.repeat(np.arange(H), w.shape[1] // H)
    return w[out_step[:, None] != in_step[None, :]]


def test_underscored_arguments_set_the_choices_and_unknown_ones_are_refused():
    m = LSTMForecaster(hidden=4, _shrink=False, _guard_blends=[0.5])
    assert m.choices == Choices(shrink=False, guard_blends=(0.5,))
    assert m.clone().choices == m.choices
    with pytest.raises(UsageError, match="_nonsense"):
        LSTMForecaster(_nonsense=1)
    with pytest.raises(ValueError, match="future_block"):
        Choices(future_block="diagonal")


def test_the_model_file_stores_the_choices(tmp_path):
    ds = promo_csv(tmp_path / "p.csv")
    m = LSTMForecaster(hidden=4, epochs=2, lookback=14, horizon=7, _future_block="full",
                       _interval_scale="change").fit(ds)
    m.save(tmp_path / "m.safetensors")
    again = load_model(tmp_path / "m.safetensors")
    assert again.choices == m.choices == Choices(future_block="full", interval_scale="change")


def test_files_without_choices_read_with_todays_values():
    m = load_model(FIXTURES / "model-1.0-weather.safetensors")
    # ... but the combiner of lstmcast 0.2 (format 2.x and older): the guard alone
    assert m.choices == Choices(combine="guard", bands="step")
    assert load_model(FIXTURES / "model-2.3-weather.safetensors").choices.combine == "guard"


@pytest.mark.parametrize("bad", [{"future_block": "diagonal"}, {"shrink": "yes"}, {"guard_blends": [2.0]},
                                 {"es_series_windows": "20"}, {"brand_new": 1}, []])
def test_a_crafted_choice_is_a_model_file_error(tmp_path, edit_model, bad):
    m = LSTMForecaster(hidden=4, epochs=1).fit(promo_csv(tmp_path / "p.csv"))
    m.save(tmp_path / "m.safetensors")

    def change(doc):
        doc["forecaster"]["choices"] = bad if isinstance(bad, list) else {**doc["forecaster"]["choices"], **bad}
    edit_model(tmp_path / "m.safetensors", change)
    with pytest.raises(ModelFileError):
        load_model(tmp_path / "m.safetensors")


def test_update_trains_with_the_models_own_future_block(tmp_path):
    """A model whose future block reads every step's covariates keeps training them in
    update (update once built its trainer with the default 'step' mask, freezing them)."""
    ds = promo_csv(tmp_path / "p.csv", n=300)
    old = load_csv_rows(ds, tmp_path, 260)
    full = LSTMForecaster(hidden=4, epochs=3, lookback=14, horizon=7, seed=1, _future_block="full",
                          _head_init="random", _shrink=False).fit(old)
    before = off_step(full).copy()
    assert np.abs(before).max() > 0  # trained: "full" lets the cross-step weights move
    full.update(ds, epochs=3)
    assert full.training_["updates"][-1]["kept_old_weights"] is False
    assert np.abs(off_step(full) - before).max() > 0
    step = LSTMForecaster(hidden=4, epochs=3, lookback=14, horizon=7, seed=1, _head_init="random",
                          _shrink=False).fit(old)
    step.update(ds, epochs=3)
    assert not off_step(step).any()  # and a "step" model's stay 0


def load_csv_rows(ds, folder, rows):
    frame = ds.series[""].iloc[:rows].reset_index()
    frame.to_csv(folder / "old.csv", index=False)
    return load_csv(str(folder / "old.csv"), future=("promo",))

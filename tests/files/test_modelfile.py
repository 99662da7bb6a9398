"""The model file's owner: every released format keeps loading and forecasting the same
numbers, older versions are migrated, and every stored setting is checked on load."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import FIXTURES, SAMPLES, assert_close
from lstmcast.data.dataset import load_csv
from lstmcast.errors import ModelFileError
from lstmcast.files import modelfile, store
from lstmcast.model.forecaster import LSTMForecaster, load_model

# format versions with committed fixtures (tests/fixtures/make_model_fixture.py): 1.0 from
# lstmcast 0.1; 2.2 from the main branch before the internal choices were stored (2.3);
# 2.3 from lstmcast 0.2.0, before the combiner (3.0)
RELEASED = ["1.0", "2.2", "2.3"]


def recorded(version, case):
    return json.loads((FIXTURES / f"model-{version}-{case}-forecast.json").read_text())


def as_records(forecast):
    frame = forecast.to_frame()
    for col in frame.columns:
        if str(frame[col].dtype).startswith("datetime"):
            frame[col] = frame[col].dt.strftime("%Y-%m-%d")
    return frame.to_dict(orient="records")


def assert_same_records(got, want):
    """The same rows and labels, and the same numbers up to float32 rounding (the network
    runs in float32; the recording was made on another CPU: conftest.TOLERANCE), each row's
    point and bounds compared together."""
    assert len(got) == len(want) and [list(g) for g in got] == [list(w) for w in want]
    for g, w in zip(got, want):
        numbers = [key for key, value in w.items() if isinstance(value, float)]
        assert numbers and all(g[key] == value for key, value in w.items() if key not in numbers)
        assert_close([g[key] for key in numbers], [w[key] for key in numbers], np.float32, err_msg=str(w))


@pytest.mark.parametrize("version, case", [(v, c) for v in RELEASED for c in ("weather", "stocks")]
                         + [("2.2", "bikes"), ("2.3", "bikes")])
def test_released_model_files_forecast_the_same_numbers_forever(version, case):
    m = load_model(FIXTURES / f"model-{version}-{case}.safetensors")
    if case == "bikes":  # covariates known ahead: their values come from the file's last rows
        ds = load_csv(str(SAMPLES / "bikes-daily.csv"), m.read_config_)
        forecast = m.predict(14, ds, levels=[80, 95], future=ds.ahead)
    else:
        forecast = m.predict(20, levels=[80, 95])
    assert_same_records(as_records(forecast), recorded(version, case))


def test_released_model_file_through_the_installed_command(tmp_path):
    path = FIXTURES / "model-1.0-weather.safetensors"
    r = subprocess.run([sys.executable, "-m", "lstmcast", "forecast", "--model", str(path), "-H", "20",
                        "--level", "80", "--level", "95", "-f", "json"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert_same_records(json.loads(r.stdout), recorded("1.0", "weather"))


def test_a_migrated_file_has_the_three_configs():
    m = load_model(FIXTURES / "model-1.0-stocks.safetensors")
    assert m.read_config_.id_col == "symbol" and m.read_config_.targets == ("price",)
    assert m.model_config_.transform == "diff" and m.model_config_.layers == 2
    assert m.train_config_.seed == 5 and m.train_config_.epochs == 3
    # it forecasts newer data, read the way fit read it
    ds = load_csv(str(SAMPLES / "stocks.csv"), m.read_config_)
    assert set(m.predict(3, ds).series) == set(ds.series)


def _write_as(path, version, doc, arrays, monkeypatch):
    """Write ``doc`` as a file of an older format version (a crafted or old file)."""
    monkeypatch.setattr(store, "FORMAT_VERSION", version)
    store.save(path, arrays, doc)
    monkeypatch.undo()


def test_version_1_files_without_later_keys_load_with_the_old_meaning(tmp_path, monkeypatch):
    """0.1 files from before --normalize season (no season) and before the choice of k
    (no seasons: every whole season) and before scaled bands (no calibration)."""
    arrays, doc = store.load(FIXTURES / "model-1.0-weather.safetensors")
    for key in ("season", "seasons"):
        del doc["forecaster"]["options"][key]
    del doc["forecaster"]["calibration"]
    _write_as(tmp_path / "old.safetensors", (1, 0), doc, arrays, monkeypatch)
    old = load_model(tmp_path / "old.safetensors")
    assert old.model_config_.season == 7 and old.model_config_.seasons is None
    assert old.calibration_ == {"scale": "none"}
    assert np.isfinite(old.predict(5, levels=[80])[""].upper[80]).all()


def test_a_new_file_round_trips(tmp_path):
    ds = load_csv(str(SAMPLES / "seattle-weather.csv"), targets=["temp_max"])
    m = LSTMForecaster(hidden=4, epochs=2, lookback=14, horizon=7).fit(ds)
    m.save(tmp_path / "m.safetensors")
    doc = store.load(tmp_path / "m.safetensors")[1]
    assert doc["format_version"] == "%d.%d" % modelfile.FORMAT_VERSION
    assert set(doc["config"]) == {"read", "model", "train"}
    again = load_model(tmp_path / "m.safetensors")
    assert (again.read_config_, again.model_config_, again.train_config_) == (
        m.read_config_, m.model_config_, m.train_config_)
    assert again.predict(7)[""].point.tolist() == m.predict(7)[""].point.tolist()


@pytest.mark.parametrize("section,key,value,text", [
    ("model", "lookback", "56", "config.model.lookback must be a number"),
    ("model", "normalize", "bogus", "config.model.normalize must be"),
    ("model", "season", 0, "config.model.season must be a whole number of 1 or more"),
    ("model", "horizon", None, "config.model.horizon is missing"),
    ("read", "freq", "bogus", "is not a pandas frequency"),
    ("train", "lr", -1, "config.train.lr must be at least"),
    ("train", "colour", "red", "unknown setting 'colour'"),
])
def test_crafted_settings_are_refused_naming_the_setting(tmp_path, edit_model, section, key, value, text):
    path = tmp_path / "m.safetensors"
    path.write_bytes((FIXTURES / "model-1.0-weather.safetensors").read_bytes())
    load_model(path).save(path)  # now in today's format
    edit_model(path, lambda doc: doc["config"][section].update({key: value}))
    with pytest.raises(ModelFileError, match=text):
        load_model(path)
    r = subprocess.run([sys.executable, "-m", "lstmcast", "forecast", "--model", str(path)],
                       capture_output=True, text=True)
    assert r.returncode == 65 and r.stdout == "" and len(r.stderr.splitlines()) == 1, r.stderr

"""`lstmcast export --format onnx` as a user runs it: the installed command writes the
file, onnxruntime (a real one) runs it, and its forecast and bands are lstmcast's."""

import io
import json
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import assert_close
from test_cli import SAMPLE, run

ort = pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    args = ["--epochs", "3", "--hidden", "8", "--seed", "1", "-q", "--no-statistical"]  # exportable
    assert run("fit", SAMPLE / "seattle-weather.csv", "--target", "temp_max", *args, "-m", "w.safetensors",
               cwd=d).returncode == 0
    assert run("fit", SAMPLE / "stocks.csv", "--id-col", "symbol", *args, "-m", "s.safetensors",
               cwd=d).returncode == 0
    return d


def forecast(folder, model, *args):
    r = run("forecast", "-m", model, "-f", "csv", *args, cwd=folder)
    assert r.returncode == 0
    return pd.read_csv(io.StringIO(r.stdout.decode()))


def test_the_exported_graph_forecasts_what_lstmcast_forecasts(fitted):
    r = run("export", "-m", "w.safetensors", "--json", cwd=fitted)
    assert r.returncode == 0, r.stderr
    desc = json.loads(r.stdout)
    assert b"wrote w.onnx" in r.stderr and (fitted / "w.onnx").exists()
    # what a service does: the last rows of its data, as the description says
    data = pd.read_csv(SAMPLE / "seattle-weather.csv", parse_dates=["date"]).tail(desc["rows"])
    feeds = {"history": data[desc["targets"]].to_numpy(np.float32)[None]}
    if any(i["name"] == "time" for i in desc["inputs"]):
        feeds["time"] = data["date"].to_numpy("datetime64[s]").astype(np.int64)[None]
    session = ort.InferenceSession(str(fitted / "w.onnx"))
    got = session.run(["forecast"], feeds)[0][0, :, 0]
    want = forecast(fitted, "w.safetensors")["temp_max"].to_numpy()
    assert_close(got, want)  # a float32 graph in onnxruntime


def test_the_exported_bands_are_forecast_levels(fitted):
    """export --level carries forecast --level's bands: (levels, batch, steps, targets)."""
    r = run("export", "-m", "s.safetensors", "-o", "bands.onnx", "--level", "95", "-l", "80", "--json", cwd=fitted)
    assert r.returncode == 0, r.stderr
    desc = json.loads(r.stdout)
    assert desc["levels"] == [80.0, 95.0] and [o["name"] for o in desc["outputs"]] == ["forecast", "lower", "upper"]
    assert re.search(rb"; lower \[2, batch, \d+, 1\]; upper \[2, batch, \d+, 1\] at levels 80, 95 ", r.stderr)
    from lstmcast.model.export import feeds
    from lstmcast.model.forecaster import load_model

    session = ort.InferenceSession(str(fitted / "bands.onnx"))
    point, lower, upper = session.run(None, feeds(load_model(fitted / "s.safetensors"), levels=desc["levels"]))
    want = forecast(fitted, "s.safetensors", "--level", "80", "--level", "95")
    for row, key in enumerate(desc["series"]):
        rows = want[want["symbol"] == key]
        scale = float(rows[["price_upper_95", "price_lower_95"]].abs().to_numpy().max())
        for j, level in enumerate(("80", "95")):
            for got, side in ((lower, "lower"), (upper, "upper")):
                np.testing.assert_allclose(got[j, row, :, 0], rows[f"price_{side}_{level}"], rtol=1e-4,
                                           atol=1e-5 * scale)
        assert (lower[:, row] <= point[row]).all() and (point[row] <= upper[:, row]).all()
    r = run("export", "-m", "s.safetensors", "-o", "bands.onnx", "--level", "0.95", cwd=fitted)
    assert r.returncode == 2 and b"did you mean 95?" in r.stderr


def test_a_long_format_model_exports_every_series_or_one(fitted):
    assert run("export", "-m", "s.safetensors", "-o", "all.onnx", cwd=fitted).returncode == 0
    desc = json.loads(run("export", "-m", "s.safetensors", "-o", "ibm.onnx", "--series", "IBM", "--json",
                          cwd=fitted).stdout)
    assert desc["series"] == ["IBM"] and all(i["name"] != "series_index" for i in desc["inputs"])
    want = forecast(fitted, "s.safetensors")
    from lstmcast.model.export import feeds
    from lstmcast.model.forecaster import load_model

    model = load_model(fitted / "s.safetensors")
    session = ort.InferenceSession(str(fitted / "all.onnx"))
    got = session.run(["forecast"], feeds(model))[0][:, :, 0]
    for row, key in enumerate(model.history_):
        assert_close(got[row], want[want["symbol"] == key]["price"].to_numpy())


def test_export_refusals(fitted):
    before = (fitted / "w.safetensors").read_bytes()
    for args, code, text in ((["-o", "w.safetensors"], 73, b"same file"),
                             (["-H", "99"], 2, b"trained horizon of"),
                             (["--format", "pmml"], 2, b"--format must be onnx"),
                             (["--series", "X"], 2, b"not in the model"),
                             (["--json", "-o", "-"], 2, b"both write to stdout")):
        r = run("export", "-m", "w.safetensors", *args, cwd=fitted)
        assert r.returncode == code and text in r.stderr, (args, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1
    assert (fitted / "w.safetensors").read_bytes() == before
    # without the onnx package: one line saying what to install (onnx hidden from the import system)
    hide = ("import sys; sys.modules['onnx'] = None; from lstmcast.cli.app import main; "
            "main(['export', '-m', 'w.safetensors', '-o', 'x.onnx'])")
    r = subprocess.run([sys.executable, "-c", hide], cwd=fitted, capture_output=True)
    assert r.returncode == 2 and b"pip install 'lstmcast[onnx]'" in r.stderr, r.stderr
    assert not (fitted / "x.onnx").exists()

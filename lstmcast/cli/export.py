"""``lstmcast export``: the fitted model as a file another runtime can run (ONNX), and
what its inputs hold (:mod:`lstmcast.model.export` owns the graph)."""

from __future__ import annotations

import os




def default_output(model_path: str) -> str:
    """``prices.safetensors`` -> ``prices.onnx``, beside the model."""
    root, _ = os.path.splitext(model_path)
    return root + ".onnx"


def run(model_path: str, fmt: str, output: str, series: str | None, horizon: int | None,
        max_mb: int | None, msg) -> dict:
    """Write the export; its description (the contract of the inputs and output)."""
    from lstmcast.model import export
    from lstmcast.model.forecaster import load_model

    forecaster = load_model(model_path, max_mb)
    if output == "-":
        from lstmcast.cli.output import to_stdout

        model, desc = export.to_onnx(forecaster, series, horizon)
        to_stdout(model.SerializeToString())
    else:
        desc = export.write(forecaster, output, series, horizon)
    shapes = "; ".join(f"{i['name']} {_shape(i['shape'])}" for i in desc["inputs"])
    out = desc["outputs"][0]
    msg.note(f"wrote {'stdout' if output == '-' else output}: ONNX opset {desc['opset']}, inputs {shapes}; "
             f"output {out['name']} {_shape(out['shape'])} (lstmcast export --json, or the guide's "
             "'ONNX export' in docs/guide/model-file.md, says what each input holds)")
    return desc


def _shape(shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"

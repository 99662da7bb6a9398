"""``lstmcast export``: the fitted model as a file another runtime can run (ONNX), and
what its inputs hold (:mod:`lstmcast.model.export` owns the graph)."""

from __future__ import annotations

import os




def default_output(model_path: str) -> str:
    """``prices.safetensors`` -> ``prices.onnx``, beside the model."""
    root, _ = os.path.splitext(model_path)
    return root + ".onnx"


def run(model_path: str, fmt: str, output: str, series: str | None, horizon: int | None, levels: list[float],
        max_mb: int | None, msg) -> dict:
    """Write the export; its description (the contract of the inputs and outputs)."""
    from lstmcast.model import export
    from lstmcast.model.forecaster import load_model

    forecaster = load_model(model_path, max_mb)
    if output == "-":
        from lstmcast.cli.output import to_stdout

        model, desc = export.to_onnx(forecaster, series, horizon, levels)
        to_stdout(model.SerializeToString())
    else:
        desc = export.write(forecaster, output, series, horizon, levels)
    msg.notes((desc["intervals"] or {}).get("notes", []))
    shapes = "; ".join(f"{i['name']} {_shape(i['shape'])}" for i in desc["inputs"])
    outs = "; ".join(f"{o['name']} {_shape(o['shape'])}" for o in desc["outputs"])
    bands = f" at levels {', '.join(f'{v:g}' for v in levels)}" if levels else ""
    msg.note(f"wrote {'stdout' if output == '-' else output}: ONNX opset {desc['opset']}, inputs {shapes}; "
             f"output{'s' if levels else ''} {outs}{bands} (lstmcast export --json, or the guide's "
             "'ONNX export' in docs/guide/model-file.md, says what each input and output holds)")
    return desc


def _shape(shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"

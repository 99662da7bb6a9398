"""Reading the data a command was given, with its notes on stderr."""

from __future__ import annotations

from lstmcast.config import ReadConfig


def load_data(path: str, read: ReadConfig, msg, expected_by: str | None = None, model=None):
    """The dataset at ``path``; read as ``model`` (a fitted forecaster) encodes its text
    covariates when one is given."""
    from lstmcast.data.dataset import load_csv

    encodings = getattr(model, "covariates_", {}).get("encodings") if model is not None else None
    dataset = load_csv(path, read, expected_by=expected_by, encodings=encodings)
    msg.notes(dataset.notes)
    return dataset


def refuse_own_inputs(outputs: dict, inputs: dict) -> None:
    """An OutputError (exit 73) when an output is the same file as an input: a command
    must never overwrite what it reads (``forecast small.csv -o small.csv``).
    ``outputs`` and ``inputs`` map a flag (or "DATA") to a path; None and "-" are skipped."""
    import os
    import stat

    from lstmcast.errors import OutputError

    def same(a: str, b: str) -> bool:
        try:
            return os.path.samefile(a, b)
        except OSError:
            return os.path.realpath(a) == os.path.realpath(b)

    for out_flag, out in outputs.items():
        if not out or out == "-":
            continue
        try:
            if not stat.S_ISREG(os.stat(out).st_mode):
                continue  # /dev/null, a FIFO, a terminal: written through, not replaced
        except OSError:
            pass
        for in_flag, src in inputs.items():
            if src and src != "-" and same(out, src):
                raise OutputError(f"refusing to write {out_flag} {out}: it is the same file as {in_flag} "
                                  f"{src}, which this command reads (choose another output)")

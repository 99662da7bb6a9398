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
    must never overwrite what it reads (``forecast small.csv -o small.csv``), standard
    input included when it is read (``fit - --model /dev/stdin < d.csv``: the same file by
    device and inode, whatever its name). A UsageError (exit 2) when two outputs are one
    file (``forecast -o p.png --plot p.png``). ``outputs`` and ``inputs`` map a flag (or
    "DATA") to a path; None and "-" are skipped."""
    import os
    import stat

    from lstmcast.errors import OutputError, UsageError

    def same(a: str, b: str) -> bool:
        try:
            return os.path.samefile(a, b)
        except OSError:
            return os.path.realpath(a) == os.path.realpath(b)

    def replaced(path: str) -> bool:  # /dev/null, a FIFO, a terminal: written through, not replaced
        try:
            return stat.S_ISREG(os.stat(path).st_mode)
        except OSError:
            return True  # a new file

    files = [(flag, out) for flag, out in outputs.items() if out and out != "-" and replaced(out)]
    for i, (flag, out) in enumerate(files):
        for other_flag, other in files[i + 1:]:
            if same(out, other):
                raise UsageError(f"{flag} {out} and {other_flag} {other} are the same file: each output "
                                 "needs its own")
    stdin = None
    if "-" in inputs.values():
        try:
            stdin = os.fstat(0)
        except OSError:
            pass
    for out_flag, out in files:
        if stdin is not None and stat.S_ISREG(stdin.st_mode):
            try:
                st = os.stat(out)
                if (st.st_dev, st.st_ino) == (stdin.st_dev, stdin.st_ino):
                    raise OutputError(f"refusing to write {out_flag} {out}: it is the file standard input "
                                      "comes from, which this command reads (choose another output)")
            except FileNotFoundError:
                pass
        for in_flag, src in inputs.items():
            if src and src != "-" and same(out, src):
                raise OutputError(f"refusing to write {out_flag} {out}: it is the same file as {in_flag} "
                                  f"{src}, which this command reads (choose another output)")

"""``lstmcast info``: what a model file holds, as a table or JSON."""

from __future__ import annotations

import os


def describe(model_path: str) -> dict:
    from lstmcast.files import modelfile

    return modelfile.describe(model_path)


def print_table(doc: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=False, show_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for key, value in doc.items():
        if key == "validation_loss_by_epoch":
            value = f"{len(value)} epochs, last {value[-1] if value else '-'}"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={','.join(map(str, v)) if isinstance(v, list) else v}"
                              for k, v in value.items() if not isinstance(v, dict))
        table.add_row(key, str(value))
    import io
    import shutil

    from lstmcast.cli.output import to_stdout

    buffer = io.StringIO()
    Console(file=buffer, width=shutil.get_terminal_size((100, 24)).columns, force_terminal=False,
            no_color=True).print(table)
    to_stdout(buffer.getvalue())

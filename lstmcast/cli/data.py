"""Reading the data a command was given, with its notes on stderr."""

from __future__ import annotations

from lstmcast.config import ReadConfig


def load_data(path: str, read: ReadConfig, msg, expected_by: str | None = None):
    from lstmcast.data.dataset import load_csv

    dataset = load_csv(path, read, expected_by=expected_by)
    msg.notes(dataset.notes)
    return dataset

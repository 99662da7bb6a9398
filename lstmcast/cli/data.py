"""Reading the data a command was given, with its notes on stderr."""

from __future__ import annotations

from lstmcast.config import ReadConfig


def load_data(path: str, read: ReadConfig, msg):
    from lstmcast.data.dataset import load_csv

    dataset = load_csv(path, read)
    msg.notes(dataset.notes)
    return dataset

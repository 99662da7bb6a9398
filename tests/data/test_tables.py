"""Parquet files and folders or globs of files (lstmcast.data.tables): the same Dataset as
from one long CSV, and one-line errors for what does not fit together."""

import io
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import daily_frame
from lstmcast.data.dataset import load_csv
from lstmcast.errors import DataError, InputMissingError, UsageError

pytest.importorskip("pyarrow")


def long_frame(n_series=3, n=120):
    return pd.concat([daily_frame(n, seed=i).assign(store=f"s{i}") for i in range(n_series)],
                     ignore_index=True)


def same(a, b):
    assert list(a.series) == list(b.series) and a.freq == b.freq and a.targets == b.targets
    for k in a.series:
        pd.testing.assert_frame_equal(a.series[k], b.series[k], check_names=False)


def test_parquet_reads_as_the_csv_does_by_path_and_on_stdin(tmp_path):
    frame = long_frame()
    frame.to_csv(tmp_path / "d.csv", index=False)
    typed = frame.assign(date=pd.to_datetime(frame["date"]))  # real timestamps, as Parquet keeps them
    typed.to_parquet(tmp_path / "d.parquet", index=False)
    typed.to_parquet(tmp_path / "no-extension", index=False)
    want = load_csv(str(tmp_path / "d.csv"), id_col="store")
    same(load_csv(str(tmp_path / "d.parquet"), id_col="store"), want)
    same(load_csv(str(tmp_path / "no-extension"), id_col="store"), want)
    stdin = io.BytesIO((tmp_path / "d.parquet").read_bytes())
    same(load_csv("-", stdin=stdin, id_col="store"), want)


def test_a_folder_or_a_glob_is_one_series_per_file(tmp_path):
    frame = long_frame()
    frame.to_csv(tmp_path / "long.csv", index=False)
    folder = tmp_path / "stores"
    folder.mkdir()
    for key, part in frame.groupby("store"):
        part.drop(columns="store").to_csv(folder / f"{key}.csv.gz" if key == "s1" else folder / f"{key}.csv",
                                          index=False)
    (folder / ".hidden").write_text("not data")
    want = load_csv(str(tmp_path / "long.csv"), id_col="store")
    got = load_csv(str(folder))
    assert got.id_col == "series" and got.read.id_col == "series"
    same(got, want)
    same(load_csv(str(folder / "*.csv*")), want)
    assert load_csv(str(folder / "s[02].csv")).series.keys() == {"s0", "s2"}
    assert load_csv(str(folder), id_col="store_id").id_col == "store_id"
    # the checksum follows names and bytes
    assert got.sha256 != load_csv(str(folder / "s[02].csv")).sha256


def test_folder_refusals(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputMissingError, match="an empty folder"):
        load_csv(str(tmp_path / "empty"))
    with pytest.raises(InputMissingError, match="no file matches"):
        load_csv(str(tmp_path / "*.csv"))
    bad = tmp_path / "bad"
    bad.mkdir()
    daily_frame(60).to_csv(bad / "a.csv", index=False)
    daily_frame(60).rename(columns={"value": "sales"}).to_csv(bad / "b.csv", index=False)
    with pytest.raises(DataError, match=r"b.csv: columns \['date', 'sales'\] differ from .*a.csv"):
        load_csv(str(bad))
    twice = tmp_path / "twice"
    twice.mkdir()
    daily_frame(60).to_csv(twice / "a.csv", index=False)
    daily_frame(60).to_csv(twice / "a.csv.gz", index=False, compression="gzip")
    with pytest.raises(DataError, match="are both series 'a'"):
        load_csv(str(twice))
    big = tmp_path / "big"
    big.mkdir()
    for i in range(3):
        pd.DataFrame({"date": pd.date_range("2000-01-01", periods=30_000, freq="h").strftime("%Y-%m-%d %H:%M"),
                      "value": np.arange(30_000.0)}).to_csv(big / f"{i}.csv", index=False)
    with pytest.raises(DataError, match="more than 1 MB of data"):
        load_csv(str(big), max_input_mb=1)


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    daily_frame(60).to_parquet(tmp_path / "d.parquet", index=False)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(UsageError, match=r"needs pyarrow: pip install 'lstmcast\[parquet\]'"):
        load_csv(str(tmp_path / "d.parquet"))

"""Hardening (real processes, real signals, real special files): Ctrl-C and SIGTERM
outside training, devices and links as outputs, outputs that are inputs, permissions,
long names, a signal after training. Each failed before its fix."""

import os
import signal
import stat
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from conftest import daily_frame
from test_cli import EXE, run

FAST = ["--epochs", "2", "--hidden", "4", "--lookback", "14", "--horizon", "7", "--seed", "1", "-q"]


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    d = tmp_path_factory.mktemp("hard")
    daily_frame(200).to_csv(d / "data.csv", index=False)
    n = 600_000
    # the minutes as text through numpy: the same bytes as pandas' strftime, in 1 s instead of 6
    start = np.datetime64("2000-01-01T00:00")
    minutes = np.char.replace(np.datetime_as_string(np.arange(start, start + n), unit="m"), "T", " ")
    pd.DataFrame({"date": minutes,
                  "value": np.random.default_rng(0).normal(size=n).round(3)}).to_csv(d / "big.csv", index=False)
    assert run("fit", "data.csv", *FAST, cwd=d).returncode == 0
    # without ETS and Theta: a model ONNX export carries
    assert run("fit", "data.csv", *FAST, "--no-statistical", "-m", "plain.safetensors", cwd=d).returncode == 0
    return d


@pytest.mark.parametrize("args", [["fit", "big.csv"], ["evaluate", "big.csv"], ["forecast", "-H", "300000"]])
@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_outside_training_exits_with_its_code_within_a_second(fitted, args, sig, code):
    proc = subprocess.Popen([EXE, *args, "--model", "other.safetensors" if args[0] == "fit" else
                             "lstmcast-model.safetensors"], cwd=fitted, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    time.sleep(1.5)  # started, reading or forecasting
    sent = time.monotonic()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("finished before the signal")
    assert proc.returncode == code, err.decode()
    assert time.monotonic() - sent < 1.5 and b"Traceback" not in err
    assert not (fitted / "other.safetensors").exists()


def test_devices_and_fifos_are_written_through_and_links_followed(fitted, tmp_path):
    # a private null device and a private link to our stdout, so that a regression cannot
    # replace the machine's own /dev/null or /dev/stdout
    null = tmp_path / "null"
    try:
        os.mknod(null, stat.S_IFCHR | 0o666, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node needs root")
    before = os.stat(null)
    assert run("forecast", "-o", str(null), cwd=fitted).returncode == 0
    assert run("fit", "data.csv", *FAST, "--model", str(null), cwd=fitted).returncode == 0
    after = os.stat(null)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    (tmp_path / "stdout").symlink_to("/proc/self/fd/1")
    r = subprocess.run(f"'{EXE}' forecast -H 2 -o '{tmp_path / 'stdout'}' | cat", shell=True, cwd=fitted,
                       capture_output=True)
    assert r.returncode == 0 and r.stdout.decode().count("\n") == 3
    assert (tmp_path / "stdout").is_symlink()
    # a symbolic link: the file it points to is replaced, the link stays
    (tmp_path / "real.csv").write_text("old\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    assert run("forecast", "-H", "2", "-o", str(tmp_path / "link.csv"), cwd=fitted).returncode == 0
    assert (tmp_path / "link.csv").is_symlink() and (tmp_path / "real.csv").read_text().startswith("date,")
    # a FIFO with a reader
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    assert run("forecast", "-H", "2", "-o", str(fifo), cwd=fitted).returncode == 0
    assert reader.communicate(timeout=30)[0].decode().count("\n") == 3 and stat.S_ISFIFO(os.stat(fifo).st_mode)


@pytest.mark.parametrize("args", [
    ["forecast", "data.csv", "-o", "data.csv"],
    ["forecast", "-o", "lstmcast-model.safetensors"],
    ["fit", "data.csv", "--model", "data.csv"],
    ["evaluate", "data.csv", "-o", "./data.csv"],
    ["forecast", "data.csv", "-H", "2", "--plot", "data.csv"],
])
def test_an_output_that_is_an_input_is_refused(fitted, args):
    before = (fitted / "data.csv").read_bytes(), (fitted / "lstmcast-model.safetensors").read_bytes()
    r = run(*args, cwd=fitted)
    assert r.returncode == 73 and b"same file" in r.stderr and len(r.stderr.splitlines()) == 1
    assert ((fitted / "data.csv").read_bytes(), (fitted / "lstmcast-model.safetensors").read_bytes()) == before


def test_a_refit_keeps_the_models_permissions_and_group(fitted, tmp_path):
    model = tmp_path / "private.safetensors"
    model.write_bytes((fitted / "lstmcast-model.safetensors").read_bytes())
    os.chmod(model, 0o640)
    if os.geteuid() == 0:
        os.chown(model, 0, 65534)  # another group: root may set it, and it must stay
    before = os.stat(model)
    assert run("fit", str(fitted / "data.csv"), *FAST, "--model", str(model), cwd=tmp_path).returncode == 0
    after = os.stat(model)
    assert after.st_ino != before.st_ino  # replaced, not rewritten in place
    assert stat.S_IMODE(after.st_mode) == 0o640 and after.st_gid == before.st_gid
    new = tmp_path / "new.safetensors"
    old_umask = os.umask(0o077)
    try:
        assert run("fit", str(fitted / "data.csv"), *FAST, "--model", str(new), cwd=tmp_path).returncode == 0
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(os.stat(new).st_mode) == 0o600


def test_long_utf8_names_and_a_checkpoint_that_is_a_directory(fitted, tmp_path):
    name = "é" * 118 + ".safetensors"  # 248 bytes: temp and checkpoint names must still fit
    assert len(os.fsencode(name)) == 248
    r = run("fit", str(fitted / "data.csv"), *FAST, "--model", name, cwd=tmp_path)
    assert r.returncode == 0, r.stderr.decode()
    from lstmcast.cli.fit import checkpoint_path

    assert len(os.fsencode(os.path.basename(checkpoint_path(name)))) <= 255
    (tmp_path / "m.safetensors.ckpt").mkdir()
    r = run("fit", str(fitted / "data.csv"), *FAST, "--model", "m.safetensors", cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path / "m.safetensors").exists(), r.stderr.decode()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_a_signal_after_training_finishes_the_model_and_exits_0(fitted, tmp_path, monkeypatch, capsys):
    """SIGINT while the model is being written: it is written in full, and the command
    succeeds (it used to replace the model and then report failure)."""
    from lstmcast.cli import app
    from lstmcast.model import forecaster

    real_save = forecaster.save_model

    def save_with_a_signal(model, path):
        os.kill(os.getpid(), signal.SIGINT)
        real_save(model, path)
    monkeypatch.setattr(forecaster, "save_model", save_with_a_signal)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exc:
        app.main(["fit", str(fitted / "data.csv"), *FAST[:-1], "--model", "m.safetensors"])
    assert exc.value.code == 0
    assert "after training had ended" in capsys.readouterr().err
    assert (tmp_path / "m.safetensors").exists() and not (tmp_path / "m.safetensors.ckpt").exists()


def test_endless_and_inflating_inputs_are_refused_at_the_limit(tmp_path):
    import gzip

    r = run("fit", "/dev/zero", "--max-input-mb", "20", cwd=tmp_path)
    assert r.returncode == 65 and b"more than 20 MB" in r.stderr and b"--max-input-mb" in r.stderr
    with gzip.open(tmp_path / "bomb.csv.gz", "wb") as fh:  # ~200 kB that inflates to 256 MB
        fh.write(b"date,v\n")
        for _ in range(16):
            fh.write(b"0" * (16 << 20))
    r = run("fit", "bomb.csv.gz", "--max-input-mb", "64", cwd=tmp_path)
    assert r.returncode == 65 and b"more than 64 MB" in r.stderr


def test_a_header_of_100000_columns_is_refused_at_once(tmp_path):
    (tmp_path / "wide.csv").write_text(",".join(["date"] + ["x"] * 100_000) + "\n"
                                       + ",".join(["2021-01-01"] + ["1"] * 100_000) + "\n")
    started = time.monotonic()
    r = run("fit", "wide.csv", cwd=tmp_path)
    assert r.returncode == 65 and b"100001 columns" in r.stderr and time.monotonic() - started < 20


def test_closed_and_full_streams(fitted, tmp_path):
    shell = lambda cmd: subprocess.run(cmd, shell=True, cwd=fitted, capture_output=True)  # noqa: E731
    for cmd in ("info", "forecast", f"export -o - -m '{fitted}/plain.safetensors'"):
        r = shell(f"'{EXE}' {cmd} >&-")  # the data would be lost: once exit 0 ("wrote stdout")
        assert r.returncode == 73 and r.stderr.count(b"\n") == 1 and b"it was closed" in r.stderr, (cmd, r.stderr)
    r = shell(f"'{EXE}' fit data.csv {' '.join(FAST[:-1])} --model '{tmp_path}/m.safetensors' 2>&-")
    assert r.returncode == 0 and (tmp_path / "m.safetensors").exists()
    r = shell(f"'{EXE}' fit data.csv {' '.join(FAST)} --model '{tmp_path}/m2.safetensors' >&-")
    assert r.returncode == 0 and (tmp_path / "m2.safetensors").exists()  # no data for stdout: fine
    r = shell(f"'{EXE}' fit - <&-")
    assert r.returncode == 66 and b"stdin" in r.stderr and b"Traceback" not in r.stderr
    for cmd in ("forecast", "info", "info --json"):
        r = shell(f"'{EXE}' {cmd} > /dev/full")
        assert r.returncode == 73 and b"cannot write to stdout" in r.stderr, (cmd, r.stderr)


@pytest.mark.parametrize("change,text", [
    (lambda arrays, doc: arrays["calibration.residuals"].__setitem__(..., 3e38), "calibration residuals"),
    (lambda arrays, doc: arrays["pipeline.scale"].__setitem__(..., 1e-300), "scale of 1e-300"),
    (lambda arrays, doc: doc["forecaster"]["history"].update(last=[]), "history.last"),
    (lambda arrays, doc: doc["forecaster"].update(freq="bogus"), "forecaster settings"),
    # each of these was accepted, or refused as a usage error (exit 2)
    (lambda arrays, doc: arrays["pipeline.scale"].__setitem__(..., 1e300), "scale of 1e+300 for 'value' does not belong"),
    (lambda arrays, doc: doc["config"]["model"].update(season=10**18), "season 1000000000000000000"),
    (lambda arrays, doc: arrays.update({"calibration.residuals": arrays["calibration.residuals"][:0]}),
     "no calibration residuals"),
    (lambda arrays, doc: arrays.update({"pipeline.center": arrays["pipeline.center"].astype(np.float32)}),
     "pipeline.center is float32, not float64"),
    (lambda arrays, doc: arrays.update({"history.values": arrays["history.values"].astype(np.float32)}),
     "history.values is float32"),
    (lambda arrays, doc: arrays.update({"guard.weight": arrays["guard.weight"].astype(np.int64)}),
     "guard.weight is int64"),
])
def test_absurd_stored_values_are_refused(fitted, tmp_path, change, text):
    from lstmcast.files import store

    path = tmp_path / "m.safetensors"
    arrays, doc = store.load(fitted / "lstmcast-model.safetensors")
    change(arrays, doc)
    store.save(path, arrays, doc)
    for command in (["forecast", "--level", "80"], ["export", "-o", str(tmp_path / "m.onnx")]):
        r = run(*command, "--model", str(path), cwd=tmp_path)
        assert r.returncode == 65 and text.encode() in r.stderr and len(r.stderr.splitlines()) == 1, r.stderr
    assert not (tmp_path / "m.onnx").exists()


def test_stale_temporary_files_are_removed_on_the_next_write(fitted, tmp_path):
    old = tmp_path / ".out.csv.0123456789ab.tmp"
    fresh = tmp_path / ".out.csv.ba9876543210.tmp"
    other = tmp_path / ".other.csv.0123456789ab.tmp"
    for p in (old, fresh, other):
        p.write_text("left by a killed run")
    day_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (day_ago, day_ago))
    os.utime(other, (day_ago, day_ago))
    assert run("forecast", "-H", "2", "-o", str(tmp_path / "out.csv"), cwd=fitted).returncode == 0
    assert not old.exists() and fresh.exists() and other.exists()  # only this path's, only old ones


def test_small_ones(fitted, tmp_path):
    # a wide file's error lists a few columns, not a megabyte of them
    (tmp_path / "wide.csv").write_text(",".join(["date"] + [f"c{i}" for i in range(5000)]) + "\n"
                                       + ",".join(["2021-01-01"] + ["x"] * 5000) + "\n")
    r = run("fit", "wide.csv", cwd=tmp_path)
    assert r.returncode == 65 and len(r.stderr) < 600 and b"more)" in r.stderr
    # a perfectly periodic series: seasonal naive is exact, MASE is undefined: compare on MAE
    days = pd.date_range("2021-01-01", periods=200)
    pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "v": np.tile([1.0, 5, 3, 8, 2, 9, 4], 30)[:200]}) \
        .to_csv(tmp_path / "periodic.csv", index=False)
    r = run("evaluate", "periodic.csv", "--folds", "2", *FAST[:-1], cwd=tmp_path)
    assert r.returncode == 0 and b"nan vs nan" not in r.stderr and b"on MAE" in r.stderr, r.stderr
    # data ending in 9999: no forecast past the year 9999
    pd.DataFrame({"date": [f"{y}-01-01" for y in range(9900, 10000)], "v": np.arange(100.0)}) \
        .to_csv(tmp_path / "y9999.csv", index=False)
    assert run("fit", "y9999.csv", *FAST, "--model", "y.safetensors", cwd=tmp_path).returncode == 0
    r = run("forecast", "--model", "y.safetensors", cwd=tmp_path)
    assert r.returncode == 65 and b"year 9999" in r.stderr
    # environment values mean what they say; usage errors are one line
    r = run("fit", "missing.csv", cwd=tmp_path, env={"LSTMCAST_DEBUG": "false"})
    assert r.returncode == 66 and b"Traceback" not in r.stderr
    r = run("evaluate", str(fitted / "data.csv"), cwd=tmp_path, env={"LSTMCAST_STEP": "0"})
    assert r.returncode == 2 and b"--step" in r.stderr
    r = run("fit", "x.csv", "--no-such-flag", cwd=tmp_path)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and b"--no-such-flag" in r.stderr
    # a newline or an escape sequence in a file name cannot forge an error line
    bad = tmp_path / "evil\nlstmcast: error: \x1b[31mfake.csv"
    bad.write_text("date,v\n")
    r = run("fit", str(bad), cwd=tmp_path)
    assert r.returncode == 65 and len(r.stderr.splitlines()) == 1 and b"\x1b" not in r.stderr
    assert b"\\n" in r.stderr and b"\\x1b" in r.stderr


def test_absurd_forecasts_are_refused_and_wild_bands_clipped(fitted):
    from lstmcast.errors import DataError
    from lstmcast.model.forecaster import load_model
    from lstmcast.model.rollout import ABSURD, sane

    m = load_model(fitted / "lstmcast-model.safetensors")
    frame = m.history_[""]
    last, span = frame["value"].iloc[-1], frame["value"].max() - frame["value"].min()
    point = np.full((3, 1), last)
    wild = {95.0: point - 1000 * span}, {95.0: point + 1000 * span}
    notes = []
    lower, upper = sane(m, "", frame, point, *wild, notes)
    assert np.allclose(upper[95.0] - last, ABSURD * span) and "clipped" in notes[0]
    with pytest.raises(DataError, match="extrapolated"):
        sane(m, "", frame, point - 1.6e85, {}, {}, [])


def test_a_named_pipe_with_no_writer_does_not_hang(fitted, tmp_path, monkeypatch):
    from lstmcast.data import csvfile
    from lstmcast.data.dataset import load_csv
    from lstmcast.errors import InputMissingError

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    monkeypatch.setattr(csvfile, "FIFO_WAIT", 0.5)
    started = time.monotonic()
    with pytest.raises(InputMissingError, match="nothing wrote to"):
        load_csv(str(fifo))
    assert time.monotonic() - started < 5
    r = run("forecast", "--model", str(fifo), cwd=fitted)  # a model is never read from a pipe
    assert r.returncode == 65 and b"not a regular file" in r.stderr
    # a pipe that is written to, as <(command) gives, is read as usual
    r = subprocess.run(["bash", "-c", f"'{EXE}' forecast <(cat data.csv) -H 2"], cwd=fitted, capture_output=True)
    assert r.returncode == 0 and r.stdout.decode().count("\n") == 3, r.stderr


@pytest.mark.parametrize("command", [["info"], ["forecast", "--model"], ["evaluate", "data.csv", "--no-refit",
                                                                         "--model"]])
def test_the_model_array_cap_is_the_input_cap_and_can_be_raised(fitted, tmp_path, command):
    """A (sparse) file whose header claims 3 MiB of arrays: refused under --max-input-mb 2
    before any data is read, read (and then refused for what it is) under 4."""
    import json

    header = json.dumps({"x": {"dtype": "F32", "shape": [786_432], "data_offsets": [0, 3 << 20]}}).encode()
    header += b" " * (-len(header) % 8)
    path = tmp_path / "claims.safetensors"
    with open(path, "wb") as fh:
        fh.write(len(header).to_bytes(8, "little") + header)
        fh.truncate(8 + len(header) + (3 << 20))
    small = run(*command, str(path), "--max-input-mb", "2", cwd=fitted)
    assert small.returncode == 65 and b"over the 2 MiB limit (--max-input-mb raises it" in small.stderr
    raised = run(*command, str(path), cwd=fitted, env={"LSTMCAST_MAX_INPUT_MB": "4"})
    assert raised.returncode == 65 and b"MiB" not in raised.stderr, raised.stderr
    assert len(raised.stderr.strip().splitlines()) == 1


@pytest.fixture
def full_disk(tmp_path):
    """A real 64 KiB file system (tmpfs), mounted for this test: needs root."""
    folder = tmp_path / "full"
    folder.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(folder)],
                                           capture_output=True).returncode != 0:
        pytest.skip("mounting a small file system needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True)


def test_a_full_disk_is_exit_73_and_changes_nothing(fitted, full_disk):
    old = full_disk / "out.csv"
    old.write_bytes(b"date,value\n" * 2000)  # 22 KB of an older output
    before = old.read_bytes()
    r = run("forecast", "-H", "2000", "--level", "80", "--level", "95", "-o", str(old), cwd=fitted)
    assert r.returncode == 73 and b"No space left on device (free some space" in r.stderr, r.stderr
    r = run("fit", "data.csv", *FAST, "--hidden", "64", "--model", str(full_disk / "m.safetensors"), cwd=fitted)
    assert r.returncode == 73 and b"No space left on device" in r.stderr, r.stderr
    assert old.read_bytes() == before and sorted(p.name for p in full_disk.iterdir()) == ["out.csv"]


@pytest.mark.parametrize("address, says", [
    ("local:10000", "at most"),            # once asked for 10,000 worker processes
    ("tls://127.0.0.1:9", "tcp://HOST:PORT, HOST:PORT or local:N"),  # once exit 1, TypeError
    ("ucx://127.0.0.1:9", "other protocols"),
])
def test_scheduler_addresses_beyond_what_lstmcast_can_use_are_usage_errors(tmp_path, address, says):
    daily_frame(120).to_csv(tmp_path / "d.csv", index=False)
    started = time.monotonic()
    r = run("evaluate", "d.csv", "--scheduler", address, cwd=tmp_path)
    err = r.stderr.decode()
    assert r.returncode == 2 and says in err and "internal error" not in err, err
    assert err.count("\n") == 1 and time.monotonic() - started < 30  # refused before any work


@pytest.mark.parametrize("args", [
    ("forecast", "-o", "p.png", "--plot", "p.png"),
    ("evaluate", "d.csv", "-o", "q.csv", "--plot", "./q.csv"),
    ("tune", "d.csv", "--model", "y.st", "-o", "y.st"),  # once: the tuned model replaced by the table
])
def test_two_outputs_of_one_command_cannot_be_one_file(tmp_path, args):
    daily_frame(120).to_csv(tmp_path / "d.csv", index=False)
    r = run(*args, cwd=tmp_path)
    assert r.returncode == 2 and b"are the same file" in r.stderr, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv"]  # nothing written


@pytest.mark.parametrize("args", [("fit", "-", "--model", "/dev/stdin"), ("forecast", "-", "-o", "/dev/stdin")])
def test_an_output_that_is_the_file_stdin_comes_from_is_refused(tmp_path, args):
    """`fit - --model /dev/stdin < d.csv` once wrote the model over d.csv."""
    daily_frame(120).to_csv(tmp_path / "d.csv", index=False)
    before = (tmp_path / "d.csv").read_bytes()
    with open(tmp_path / "d.csv", "rb") as stdin:
        r = subprocess.run([EXE, *args], stdin=stdin, capture_output=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 73 and b"standard input comes from" in r.stderr, r.stderr
    assert (tmp_path / "d.csv").read_bytes() == before


def test_the_floor_at_zero_gives_way_when_the_data_goes_negative(tmp_path):
    """A model fitted on values >= 0 once forecast 0, 0, 0 with an 80 % band of [0, 0],
    silently, for newer data that had gone negative."""
    frame = daily_frame(240)
    frame.to_csv(tmp_path / "old.csv", index=False)
    newer = daily_frame(300)
    newer.loc[250:, "value"] -= 26  # the level falls to about -6
    newer.to_csv(tmp_path / "new.csv", index=False)
    assert run("fit", "old.csv", "--epochs", "2", "--hidden", "4", "-q", cwd=tmp_path).returncode == 0
    r = run("forecast", "new.csv", "--level", "80", cwd=tmp_path)
    assert r.returncode == 0 and b"went below 0" in r.stderr, r.stderr
    out = pd.read_csv(pd.io.common.StringIO(r.stdout.decode()))
    assert (out["value"] < 0).any() and (out["value_upper_80"] - out["value_lower_80"] > 0).all()


def _parquet_bomb(path, groups=100, rows=1_000_000):
    """100 million rows in a few hundred KB: row groups of constant columns."""
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    batch = pa.table({"date": pa.array(np.full(rows, 1_600_000_000, dtype="int64")).cast(pa.timestamp("s")),
                      "y": pa.array(np.zeros(rows))})
    with pq.ParquetWriter(path, batch.schema, compression="zstd") as w:
        for _ in range(groups):
            w.write_table(batch)


def test_a_parquet_bomb_is_refused_quickly_and_small(tmp_path):
    """Parquet ignored --max-input-mb: a 1 MB file of 100 million rows passed 13 GB."""
    _parquet_bomb(tmp_path / "bomb.parquet")
    assert (tmp_path / "bomb.parquet").stat().st_size < 5 * 2**20
    measure = ("import resource, subprocess, sys\n"
               "r = subprocess.run(sys.argv[1:], capture_output=True)\n"
               "sys.stderr.buffer.write(r.stderr)\n"
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
               "sys.exit(r.returncode)\n")
    for args in (["fit", "bomb.parquet"], ["fit", "-"]):
        started = time.monotonic()
        with open(tmp_path / "bomb.parquet", "rb") as stdin:
            r = subprocess.run([sys.executable, "-c", measure, EXE, *args], stdin=stdin, cwd=tmp_path,
                               capture_output=True, timeout=120)
        seconds, peak_mb = time.monotonic() - started, int(r.stdout) / 1024
        assert r.returncode == 65 and b"100,000,000 rows x 2 columns" in r.stderr, r.stderr
        assert seconds < 5 and peak_mb < 300, (seconds, peak_mb)
    _parquet_bomb(tmp_path / "small.parquet", groups=2)  # 2 million rows: 32 MB once read
    r = run("fit", "small.parquet", "--max-input-mb", "10", cwd=tmp_path)
    assert r.returncode == 65 and b"more than 10 MB once read" in r.stderr, r.stderr
    r = run("fit", "small.parquet", "--max-input-mb", "100", cwd=tmp_path)  # read; refused for its dates
    assert r.returncode == 65 and b"MB once read" not in r.stderr, r.stderr


def test_a_parquet_file_of_too_many_columns_is_refused(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({f"c{i}": pa.array([1.0, 2.0]) for i in range(10_002)}), tmp_path / "wide.parquet")
    started = time.monotonic()
    r = run("fit", "wide.parquet", cwd=tmp_path)
    assert r.returncode == 65 and b"10002 columns" in r.stderr and time.monotonic() - started < 20, r.stderr


def test_absurd_values_in_newer_data_are_named_as_the_data(tmp_path):
    """1e300 in new rows printed numpy warnings and "try a smaller --lr" (update), or blamed
    the model (check, future covariates)."""
    frame = daily_frame(300).assign(promo=0)
    frame.iloc[:240].to_csv(tmp_path / "old.csv", index=False)
    assert run("fit", "old.csv", "--future", "promo", *FAST, cwd=tmp_path).returncode == 0
    frame.loc[290, "value"] = 1e300
    frame.to_csv(tmp_path / "new.csv", index=False)
    for command in (["update", "new.csv"], ["check", "new.csv"], ["forecast", "new.csv"]):
        r = run(*command, cwd=tmp_path)
        err = r.stderr.decode()
        assert r.returncode == 65 and "'value' at 2021-10-18" in err and "standard deviations" in err, err
        assert "--lr" not in err and "extrapolated" not in err and err.count("\n") <= 2, err
    ahead = pd.DataFrame({"date": pd.date_range("2021-08-29", periods=14).strftime("%Y-%m-%d"), "promo": 0.0})
    ahead.loc[3, "promo"] = 1e300
    ahead.to_csv(tmp_path / "ahead.csv", index=False)
    r = run("forecast", "--future-data", "ahead.csv", cwd=tmp_path)
    assert r.returncode == 65 and b"'promo' at 2021-09-01" in r.stderr and b"standard deviations" in r.stderr, r.stderr
    # values that large throughout are data (tests/cli/test_new_user.py fits them); the float32
    # ONNX graph cannot hold them, and export says so instead of writing infinities
    frame.iloc[:240].assign(value=lambda f: f["value"] * 1e299).to_csv(tmp_path / "huge.csv", index=False)
    assert run("fit", "huge.csv", *FAST, "-m", "huge.safetensors", cwd=tmp_path).returncode == 0
    r = run("export", "-m", "huge.safetensors", "-o", "huge.onnx", cwd=tmp_path)
    assert r.returncode == 2 and b"float32 stops near 3.4e38" in r.stderr and not (tmp_path / "huge.onnx").exists()

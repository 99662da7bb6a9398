"""The model file: round trips, PyTorch interchange, atomic writes, and a loader that
refuses every damaged or hostile file with one ModelFileError line."""

import hashlib
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import safe_open

from conftest import FIXTURES, assert_close
import lstmcast
from lstmcast.files import atomic
from lstmcast.nn import network
from lstmcast.files import store
from lstmcast.errors import InputMissingError, ModelFileError, OutputError

TORCH_NPZ = np.load(FIXTURES / "torch_lstm.npz")
TORCH_ST = FIXTURES / "torch_lstm.safetensors"
CASE = "uni2_f32"


def spec_dict(input_size=2, hidden_size=2, num_layers=1, output_size=1, bidirectional=False):
    return dict(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
                output_size=output_size, bidirectional=bidirectional)


def small_model(dtype=np.float32, **spec):
    """A tiny model's arrays and meta (hidden 2 by default), with non-network arrays too."""
    net = spec_dict(**spec)
    arrays = network.init_params(**net, seed=3, dtype=dtype)
    arrays["pipeline.center"] = np.array([[0.5, -1.25]])
    arrays["adam.steps"] = np.array([7], dtype=np.int64)
    meta = {"kind": "model", "network": net, "dtype": np.dtype(dtype).name,
            "forecaster": {"lookback": 4, "targets": ["y"], "note": "ünïcode"}}
    return arrays, meta


def write_raw(path, tensors, doc, *, sha="auto", extra=None):
    """A safetensors file built by hand: the document as given, a correct checksum unless told."""
    text = json.dumps(doc)
    draft = safetensors.numpy.save(tensors, metadata={"lstmcast": text})
    data = draft[8 + int.from_bytes(draft[:8], "little"):]
    metadata = {"lstmcast": text, **(extra or {})}
    if sha == "auto":
        metadata["lstmcast_sha256"] = hashlib.sha256(text.encode() + data).hexdigest()
    elif sha is not None:
        metadata["lstmcast_sha256"] = sha
    Path(path).write_bytes(safetensors.numpy.save(tensors, metadata=metadata))
    return path


def raw_header(blob: bytes) -> tuple[dict, bytes]:
    n = int.from_bytes(blob[:8], "little")
    return json.loads(blob[8:8 + n]), blob[8 + n:]


def with_header(header: dict, data: bytes) -> bytes:
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data


@pytest.fixture
def saved(tmp_path):
    arrays, meta = small_model()
    path = tmp_path / "model.safetensors"
    store.save(path, arrays, meta)
    return path, arrays, meta


def assert_refused(path, *fragments):
    """load raises ModelFileError (nothing else), one line naming the file."""
    with pytest.raises(ModelFileError) as info:
        store.load(path)
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(path)), message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ----------------------------------------------------------------- round trip


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_bitwise_and_keeps_meta(tmp_path, dtype):
    arrays, meta = small_model(dtype, hidden_size=3, num_layers=2, output_size=2, bidirectional=True)
    arrays["history.values"] = np.arange(12.0).reshape(3, 4).T  # not contiguous
    arrays["big_endian"] = np.array([1.5, -2.0], dtype=">f8")
    arrays["flags"] = np.array([True, False])
    arrays["scalar"] = np.array(2.5, dtype=np.float16)
    arrays["empty"] = np.zeros((0, 3), dtype=np.float32)
    arrays["tiny"] = np.array([np.finfo(np.float64).tiny, -0.0, 5e-324])
    path = tmp_path / "m.safetensors"
    store.save(path, arrays, meta)

    loaded, doc = store.load(path)
    assert list(loaded) == list(arrays)  # the saved order
    for name, a in arrays.items():
        b = loaded[name]
        assert b.dtype == a.dtype.newbyteorder("=") and b.shape == a.shape, name
        assert np.ascontiguousarray(a, dtype=b.dtype).tobytes() == b.tobytes(), name
        assert b.flags.writeable and b.flags.c_contiguous, name
    assert {k: doc[k] for k in meta} == meta
    assert doc["format"] == "lstmcast-model" and doc["format_version"] == "%d.%d" % store.FORMAT_VERSION
    assert doc["lstmcast_version"] == lstmcast.__version__
    assert doc["created"].endswith("Z") and len(doc["created"]) == 20
    assert doc["arrays"] == {n: {"dtype": np.dtype(a.dtype).name, "shape": list(np.shape(a))}
                             for n, a in arrays.items()}


def test_file_is_plain_safetensors_with_pytorch_names(saved):
    path, arrays, _ = saved
    plain = safetensors.numpy.load_file(path)
    assert set(plain) == set(arrays)
    for name in network.Spec(**spec_dict()).shapes():
        np.testing.assert_array_equal(plain[name], arrays[name])
    with safe_open(path, framework="np") as f:
        metadata = f.metadata()
    doc = json.loads(metadata["lstmcast"])
    assert doc["format"] == "lstmcast-model"
    # the checksum is the SHA-256 of the document followed by the data section
    blob = path.read_bytes()
    _, data = raw_header(blob)
    assert metadata["lstmcast_sha256"] == hashlib.sha256(metadata["lstmcast"].encode() + data).hexdigest()


def test_checkpoint_kind_round_trips(tmp_path):
    arrays, meta = small_model()
    arrays["trainer.theta"] = np.linspace(-1, 1, 11, dtype=np.float32)
    meta = {**meta, "kind": "checkpoint", "forecaster": {"trainer": {"epoch": 3, "best_val": None}}}
    store.save(tmp_path / "c.ckpt", arrays, meta)
    loaded, doc = store.load(tmp_path / "c.ckpt")
    assert doc["kind"] == "checkpoint" and doc["forecaster"]["trainer"] == {"epoch": 3, "best_val": None}
    np.testing.assert_array_equal(loaded["trainer.theta"], arrays["trainer.theta"])


def test_source_date_epoch_makes_files_reproducible(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    arrays, meta = small_model()
    store.save(tmp_path / "a", arrays, meta)
    store.save(tmp_path / "b", arrays, meta)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
    assert store.load(tmp_path / "a")[1]["created"] == "2023-11-14T22:13:20Z"


def test_envelope_keys_in_meta_are_replaced(tmp_path):
    arrays, meta = small_model()
    meta = {**meta, "format": "junk", "format_version": "9.9", "arrays": {"x": 1}, "created": 5}
    store.save(tmp_path / "m", arrays, meta)
    doc = store.load(tmp_path / "m")[1]
    assert doc["format"] == "lstmcast-model" and doc["format_version"] == "%d.%d" % store.FORMAT_VERSION
    assert isinstance(doc["created"], str) and set(doc["arrays"]) == set(arrays)


def test_network_params_in_pytorch_order():
    arrays, _ = small_model(hidden_size=3, num_layers=2, bidirectional=True)
    shuffled = dict(sorted(arrays.items(), reverse=True))
    got = store.network_params(shuffled)
    assert list(got) == list(network.Spec(**spec_dict(hidden_size=3, num_layers=2, bidirectional=True)).shapes())
    assert all(got[n] is arrays[n] for n in got)


# ----------------------------------------------------------------- PyTorch interchange


def test_torch_written_file_runs_in_our_forward():
    params = safetensors.numpy.load_file(TORCH_ST)
    out = network.forward(params, TORCH_NPZ[f"{CASE}/x"])
    assert_close(out, TORCH_NPZ[f"{CASE}/out"], TORCH_NPZ[f"{CASE}/x"].dtype)


def test_our_file_holds_the_same_tensors_as_torch_writes(tmp_path):
    params = {k.split("/param/")[1]: TORCH_NPZ[k] for k in TORCH_NPZ.files if k.startswith(f"{CASE}/param/")}
    spec = network.Spec.from_params(params)
    meta = {"kind": "model", "network": spec_dict(spec.input_size, spec.hidden_size, spec.num_layers,
                                                  spec.output_size, spec.bidirectional),
            "dtype": "float32", "forecaster": {}}
    store.save(tmp_path / "ours.safetensors", {**params, "pipeline.scale": np.ones(3)}, meta)
    ours = safetensors.numpy.load_file(tmp_path / "ours.safetensors")
    torch_file = safetensors.numpy.load_file(TORCH_ST)
    assert set(torch_file) == set(params) == set(store.network_params(ours))
    for name, value in params.items():
        assert ours[name].dtype == torch_file[name].dtype == value.dtype
        assert ours[name].tobytes() == value.tobytes() == torch_file[name].tobytes(), name


def test_torch_file_without_our_metadata_is_refused():
    assert_refused(TORCH_ST, "without lstmcast metadata")


# ----------------------------------------------------------------- atomic writes


def test_atomic_open_writes_text_and_leaves_nothing_behind(tmp_path):
    path = tmp_path / "out.csv"
    with atomic.atomic_open(path, "w", newline="") as fh:
        fh.write("a,b\r\n1,ü\r\n")
    assert path.read_bytes() == "a,b\r\n1,ü\r\n".encode()
    assert os.listdir(tmp_path) == ["out.csv"]
    assert path.stat().st_mode & 0o777 == 0o666 & ~_umask()  # not mkstemp's 0600


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_failed_replace_keeps_old_file(saved, monkeypatch):
    path, arrays, meta = saved
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    arrays = {**arrays, "head.bias": arrays["head.bias"] + 1}
    with pytest.raises(OutputError, match="cannot write .*No space left on device"):
        store.save(path, arrays, meta)
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]


def test_failing_writer_keeps_old_file(saved):
    path, _, _ = saved
    before = path.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic.atomic_open(path, "wb") as fh:
            fh.write(b"half a model")
            raise RuntimeError("writer failed")
    assert path.read_bytes() == before
    assert os.listdir(path.parent) == [path.name]


def test_keyboard_interrupt_mid_write_keeps_old_file(saved, monkeypatch):
    path, arrays, meta = saved
    before = path.read_bytes()
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_open(path, "wb") as fh:
            fh.write(b"half")
            raise KeyboardInterrupt
    assert path.read_bytes() == before and os.listdir(path.parent) == [path.name]

    def interrupted(fd):  # the bytes are written, Ctrl-C lands before the move
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.save(path, {**arrays, "head.bias": arrays["head.bias"] * 2}, meta)
    assert path.read_bytes() == before and os.listdir(path.parent) == [path.name]


def test_replace_succeeds_with_new_content(saved):
    path, arrays, meta = saved
    arrays = {**arrays, "head.bias": arrays["head.bias"] + 1}
    store.save(path, arrays, meta)
    np.testing.assert_array_equal(store.load(path)[0]["head.bias"], arrays["head.bias"])
    assert os.listdir(path.parent) == [path.name]


def test_unwritable_destinations_are_output_errors(tmp_path, monkeypatch):
    arrays, meta = small_model()
    (tmp_path / "afile").write_text("x")
    (tmp_path / "adir").mkdir()
    for target in (tmp_path / "missing" / "m.safetensors", tmp_path / "afile" / "m.safetensors",
                   tmp_path / "adir"):
        with pytest.raises(OutputError) as info:
            store.save(target, arrays, meta)
        message = str(info.value)
        assert message.startswith(f"cannot write {target}: ") and "\n" not in message
        assert "writable" in message
    assert sorted(os.listdir(tmp_path)) == ["adir", "afile"] and os.listdir(tmp_path / "adir") == []

    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores the mode: make the OS say no instead
            real_open = os.open

            def denied(p, *a, **k):
                if str(p).startswith(str(locked)):
                    raise PermissionError(13, "Permission denied", p)
                return real_open(p, *a, **k)

            monkeypatch.setattr(os, "open", denied)
        with pytest.raises(OutputError, match="Permission denied"):
            store.save(locked / "m.safetensors", arrays, meta)
    finally:
        locked.chmod(0o700)
    assert os.listdir(locked) == []


# ----------------------------------------------------------------- save refuses bad input


@pytest.mark.parametrize("change, match", [
    (lambda a, m: a.update(x=np.array([1.0, np.nan])), "non-finite"),
    (lambda a, m: a.update(x=np.array([np.inf], dtype=np.float32)), "non-finite"),
    (lambda a, m: a.update(x=np.array([{"a": 1}], dtype=object)), "dtype object"),
    (lambda a, m: a.update(x=np.array([1 + 2j])), "dtype complex"),
    (lambda a, m: a.update(x=np.array(["text"])), "dtype <U4"),
    (lambda a, m: a.update({5: np.zeros(1)}), "names"),
    (lambda a, m: m["forecaster"].update(when={1, 2}), "not JSON-serialisable"),
    (lambda a, m: m["forecaster"].update(loss=float("nan")), "not JSON-serialisable"),
    (lambda a, m: m["forecaster"].update(arr=np.zeros(2)), "not JSON-serialisable"),
    (lambda a, m: m.pop("forecaster"), "lacks 'forecaster'"),
    (lambda a, m: m.update(kind="weights"), "kind"),
    (lambda a, m: m["network"].update(hidden_size=3), "shape"),
    (lambda a, m: m.update(dtype="float64"), "network is float64"),
    (lambda a, m: a.pop("head.bias"), "network arrays"),
])
def test_save_refuses_what_load_would_refuse(tmp_path, change, match):
    arrays, meta = small_model()
    change(arrays, meta)
    with pytest.raises(ValueError, match=match):
        store.save(tmp_path / "m", arrays, meta)
    assert os.listdir(tmp_path) == []


# ----------------------------------------------------------------- loader: missing or not a file


def test_missing_file_is_input_missing(tmp_path):
    with pytest.raises(InputMissingError, match="no model file at .*nope"):
        store.load(tmp_path / "nope")


def test_unreadable_file_is_input_missing(saved, monkeypatch):
    path, _, _ = saved

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(store, "open", denied, raising=False)
    with pytest.raises(InputMissingError, match="cannot read .*Permission denied"):
        store.load(path)


def test_directory_and_empty_file(tmp_path):
    assert_refused(tmp_path, "is a directory")
    (tmp_path / "empty").write_bytes(b"")
    assert_refused(tmp_path / "empty", "empty")


# ----------------------------------------------------------------- loader: damaged files


def test_every_truncation_is_refused(saved):
    path, _, _ = saved
    blob = path.read_bytes()
    cut = path.with_name("cut")
    for n in range(len(blob)):
        cut.write_bytes(blob[:n])
        assert_refused(cut)
    cut.write_bytes(blob + b"\0")
    assert_refused(cut, "unexpected bytes")


def test_every_flipped_byte_is_refused(saved):
    path, _, _ = saved
    blob = path.read_bytes()
    rng = np.random.default_rng(20261121)
    bad = path.with_name("flipped")
    for pos in range(len(blob)):
        for mask in (1 << int(rng.integers(8)), 0xFF):
            damaged = bytearray(blob)
            damaged[pos] ^= mask
            bad.write_bytes(bytes(damaged))
            assert_refused(bad)


def test_changed_weight_fails_the_checksum(saved, tmp_path):
    path, _, _ = saved
    header, data = raw_header(path.read_bytes())
    begin = header["head.bias"]["data_offsets"][0]
    data = data[:begin] + np.float32(0.5).tobytes() + data[begin + 4:]  # still a finite weight
    (tmp_path / "edited").write_bytes(with_header(header, data))
    assert_refused(tmp_path / "edited", "checksum mismatch")


@pytest.mark.parametrize("prefix, fragment", [
    ((2 ** 40).to_bytes(8, "little"), "over the 16 MiB limit"),
    ((store.MAX_HEADER_BYTES + 1).to_bytes(8, "little") + b"{" * 64, "over the 16 MiB limit"),
    ((2 ** 64 - 1).to_bytes(8, "little"), "over the 16 MiB limit"),
    ((1000).to_bytes(8, "little") + b'{"a": 1}', "truncated"),
    (b"\x01\x02\x03", "too short"),
])
def test_bad_header_length(tmp_path, prefix, fragment):
    (tmp_path / "m").write_bytes(prefix)
    assert_refused(tmp_path / "m", fragment)


@pytest.mark.parametrize("header, fragment", [
    (b"not json at all", "not a JSON object"),
    (b"[1, 2, 3]", "not a JSON object"),
    (b"{not json}", "corrupt safetensors header"),
    (b'{"a": "\xff\xfe"}', "not UTF-8"),
    (b'{"__metadata__": {"a": "1"}, "__metadata__": {}}', "duplicate key"),
    (b'{"x": {"dtype": "F32", "shape": [NaN], "data_offsets": [0, 4]}}', "corrupt safetensors header"),
    (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "corrupt safetensors header"),
    (b'{"__metadata__": "lstmcast"}', "__metadata__"),
    (b'{"__metadata__": {"lstmcast": 5}}', "__metadata__"),
    (b'{"x": {"dtype": "F32", "shape": [1]}}', "dtype, shape and data_offsets"),
    (b'{"x": {"dtype": "BF16", "shape": [1], "data_offsets": [0, 2]}}', "BF16"),
    (b'{"x": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}', "shape"),
    (b'{"x": {"dtype": "F32", "shape": [true], "data_offsets": [0, 4]}}', "shape"),
    (b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}}', "offsets"),
    (b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 8]}}', "needs 4 bytes"),
    (b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}', "starts at byte 4"),
    (b'{"x": {"dtype": "F32", "shape": [1000000, 1000000000000], "data_offsets": [0, 4]}}', "needs"),
    (b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}', "truncated"),
    (b'{"x": {"dtype": "U8", "shape": [4611686018427387904], "data_offsets": [0, 4611686018427387904]}}',
     "over the 1024 MiB"),
    (b'{"__metadata__": {"other": "x"}}', "without lstmcast metadata"),
    (b'{"__metadata__": {"lstmcast": "{\\"format\\": "}}', "corrupt metadata"),
    (b'{"__metadata__": {"lstmcast": "[1]"}}', "not an object"),
    (b'{"__metadata__": {"lstmcast": "{\\"a\\": Infinity}"}}', "corrupt metadata"),
    (b'{"__metadata__": {"lstmcast": "{\\"format\\": \\"other\\"}"}}', "not 'lstmcast-model'"),
])
def test_bad_headers(tmp_path, header, fragment):
    (tmp_path / "m").write_bytes(len(header).to_bytes(8, "little") + header)
    assert_refused(tmp_path / "m", fragment)


def _doc(arrays, meta, **changes):
    table = {n: {"dtype": np.asarray(a).dtype.name, "shape": list(np.shape(a))} for n, a in arrays.items()}
    doc = {"format": "lstmcast-model", "format_version": "1.0", "lstmcast_version": "0.1.0",
           "created": "2026-01-01T00:00:00Z", **meta, "arrays": table}
    doc.update(changes)
    return doc


def _net(**changes):
    return {**spec_dict(), **changes}


def _without(d, key):
    return {k: v for k, v in d.items() if k != key}


@pytest.mark.parametrize("mutate, fragment", [
    *[(lambda d, k=k: _without(d, k), f"lacks {k!r}")
      for k in ("kind", "lstmcast_version", "created", "network", "dtype", "arrays", "forecaster")],
    (lambda d: _without(d, "format"), "not 'lstmcast-model'"),
    (lambda d: _without(d, "format_version"), "format_version"),
    (lambda d: {**d, "format": "safetensors"}, "not 'lstmcast-model'"),
    (lambda d: {**d, "format_version": 1.0}, "MAJOR.MINOR"),
    (lambda d: {**d, "format_version": "1"}, "MAJOR.MINOR"),
    (lambda d: {**d, "format_version": "one.zero"}, "MAJOR.MINOR"),
    (lambda d: {**d, "format_version": "0.9"}, "unknown format version 0.9"),
    (lambda d: {**d, "format_version": "4.0"}, "made by a newer lstmcast (format 4.0); upgrade lstmcast"),
    (lambda d: {**d, "kind": "weights"}, "kind"),
    (lambda d: {**d, "kind": ["model"]}, "'kind' should be a string"),
    (lambda d: {**d, "created": 20260101}, "'created' should be a string"),
    (lambda d: {**d, "lstmcast_version": None}, "'lstmcast_version' should be a string"),
    (lambda d: {**d, "forecaster": "opaque"}, "'forecaster' should be a JSON object"),
    (lambda d: {**d, "arrays": []}, "'arrays' should be a JSON object"),
    (lambda d: {**d, "network": [2, 2, 1, 1]}, "'network' should be a JSON object"),
    (lambda d: {**d, "dtype": "float16"}, "float32 or float64"),
    (lambda d: {**d, "network": _net(hidden_size=0)}, "hidden_size should be a positive integer"),
    (lambda d: {**d, "network": _net(hidden_size=-2)}, "hidden_size"),
    (lambda d: {**d, "network": _net(input_size="2")}, "input_size"),
    (lambda d: {**d, "network": _net(input_size=2.0)}, "input_size"),
    (lambda d: {**d, "network": _net(output_size=True)}, "output_size"),
    (lambda d: {**d, "network": _without(_net(), "num_layers")}, "num_layers"),
    (lambda d: {**d, "network": _net(bidirectional="no")}, "bidirectional"),
    (lambda d: {**d, "network": _net(proj_size=1)}, "unknown field 'proj_size'"),
    (lambda d: {**d, "network": _net(hidden_size=3)}, "has shape (8, 2), the network settings"),
    (lambda d: {**d, "network": _net(input_size=5)}, "shape"),
    (lambda d: {**d, "network": _net(num_layers=2)}, "6 network arrays"),
    (lambda d: {**d, "network": _net(num_layers=10 ** 12)}, "network arrays"),
    (lambda d: {**d, "network": _net(bidirectional=True)}, "network arrays"),
    (lambda d: {**d, "arrays": _without(d["arrays"], "adam.steps")}, "'adam.steps' is not in the arrays table"),
    (lambda d: {**d, "arrays": {**d["arrays"], "ghost": {"dtype": "float32", "shape": [1]}}}, "no such array"),
    (lambda d: {**d, "arrays": {**d["arrays"], "adam.steps": {"dtype": "int32", "shape": [1]}}}, "table says"),
    (lambda d: {**d, "arrays": {**d["arrays"], "adam.steps": {"dtype": "int64", "shape": [2]}}}, "table says"),
    (lambda d: {**d, "arrays": {**d["arrays"], "adam.steps": {"dtype": "int64"}}}, "not {dtype, shape}"),
    (lambda d: {**d, "arrays": {**d["arrays"], "adam.steps": "int64"}}, "not {dtype, shape}"),
])
def test_bad_documents(tmp_path, mutate, fragment):
    arrays, meta = small_model()
    write_raw(tmp_path / "m", arrays, mutate(_doc(arrays, meta)))
    assert_refused(tmp_path / "m", fragment)


def test_newer_minor_version_with_additions_is_read(tmp_path):
    arrays, meta = small_model()
    doc = _doc(arrays, meta, format_version="2.7", provenance={"host": "x"})
    write_raw(tmp_path / "m", arrays, doc, extra={"future": "kept"})
    loaded, got = store.load(tmp_path / "m")
    assert got["format_version"] == "2.7" and got["provenance"] == {"host": "x"}
    assert loaded.keys() == arrays.keys()


def test_checksum_must_be_present_and_right(tmp_path):
    arrays, meta = small_model()
    write_raw(tmp_path / "none", arrays, _doc(arrays, meta), sha=None)
    assert_refused(tmp_path / "none", "checksum mismatch")
    write_raw(tmp_path / "wrong", arrays, _doc(arrays, meta), sha="0" * 64)
    assert_refused(tmp_path / "wrong", "checksum mismatch")


@pytest.mark.parametrize("change, fragment", [
    (lambda a: a.update({"head.bias": np.array([np.nan], dtype=np.float32)}), "1 non-finite value"),
    (lambda a: a.update({"pipeline.center": np.array([[np.inf, -np.inf]])}), "2 non-finite value"),
    (lambda a: a.update({"head.bias": np.array([1.0])}), "'head.bias' is float64 but the network is float32"),
    (lambda a: a.update({"head.bias": np.array([1], dtype=np.int32)}), "int32"),
    (lambda a: a.update({k: v.astype(np.float64) for k, v in a.items() if "_l0" in k}), "float64"),
    (lambda a: a.update({"head.weight": np.zeros((2, 1), dtype=np.float32)}), "head.weight"),
    (lambda a: a.update({"x": np.array([1 + 1j], dtype=np.complex64)}), "C64"),
    (lambda a: a.update({"weight_ih_l1": np.zeros((8, 2), dtype=np.float32)}), "7 network arrays"),
])
def test_bad_arrays(tmp_path, change, fragment):
    arrays, meta = small_model()
    change(arrays)
    write_raw(tmp_path / "m", arrays, _doc(arrays, meta))
    assert_refused(tmp_path / "m", fragment)


def test_pickle_is_refused_and_never_run(tmp_path):
    marker = tmp_path / "pickle-was-loaded"

    class Hostile:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    arrays, _ = small_model()
    for protocol in range(2, pickle.HIGHEST_PROTOCOL + 1):
        (tmp_path / "m").write_bytes(pickle.dumps({"weights": arrays, "evil": Hostile()}, protocol=protocol))
        assert_refused(tmp_path / "m", "pickle")
    assert not marker.exists()


def test_npz_is_refused(tmp_path):
    arrays, _ = small_model()
    np.savez(tmp_path / "m.npz", **arrays)
    assert zipfile.is_zipfile(tmp_path / "m.npz")
    assert_refused(tmp_path / "m.npz", "zip archive")


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(head=st.binary(max_size=200), tail=st.binary(max_size=64), tensor=st.booleans())
def test_arbitrary_bytes_are_refused(fuzz_dir, head, tail, tensor):
    """Any header content at a consistent length, optionally shaped like a tensor entry."""
    if tensor:
        head = b'{"x": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "__metadata__": ' + head
    path = fuzz_dir / "m"
    with open(path, "wb") as fh:
        fh.write(len(head).to_bytes(8, "little") + head + tail)
    assert_refused(path)


def test_a_sparse_file_claiming_a_huge_array_is_refused_before_its_data_is_read(tmp_path):
    """16 KB on disk, 1.6 GB by its header: refused at once, not read into memory."""
    import resource

    header = json.dumps({"x": {"dtype": "F32", "shape": [400_000_000],
                               "data_offsets": [0, 1_600_000_000]}}).encode()
    header += b" " * (-len(header) % 8)
    path = tmp_path / "sparse.safetensors"
    with open(path, "wb") as fh:
        fh.write(len(header).to_bytes(8, "little") + header)
        fh.truncate(8 + len(header) + 1_600_000_000)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert_refused(path, "over the 1024 MiB")
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KB

"""The model file's container: save/load of named arrays plus a JSON document, the
envelope (the format's name and version number), schema checks, atomic writes.

A model (or a training checkpoint) is one safetensors file. Its arrays keep their own
names; the network's are stored under the exact PyTorch names of
``torch.nn.LSTM(batch_first=True)`` followed by ``torch.nn.Linear`` called ``head``
(see :mod:`lstmcast.nn.network`), so PyTorch can use the weights directly (``docs/guide/model-file.md``,
"Use the weights in PyTorch", shows how).

The container of format ``lstmcast-model`` (the sections of each version and the
migrations between them: :mod:`lstmcast.files.modelfile`), on top of safetensors (8-byte little-endian header length,
JSON header, raw little-endian data):

- ``__metadata__["lstmcast"]``: the JSON document. Envelope keys, all required:
  ``format`` ("lstmcast-model"), ``format_version`` ("MAJOR.MINOR"), ``kind`` ("model" or
  "checkpoint"), ``lstmcast_version``, ``created`` (UTC, ISO 8601), ``network`` (the
  fields of :class:`lstmcast.nn.network.Spec`), ``dtype`` (of the network: "float32" or
  "float64"), ``arrays`` (``{name: {"dtype", "shape"}}`` for every array in the file) and
  ``forecaster`` (the forecaster's own settings, opaque here). Other keys are kept.
- ``__metadata__["lstmcast_sha256"]``: hex SHA-256 of the document's UTF-8 bytes followed
  by the file's data section, so any change to the weights or settings is detected.

A newer minor version only adds keys, and is read; a newer major version is refused;
older majors are read and migrated by :mod:`lstmcast.files.modelfile`.
:func:`load` checks everything (sizes before parsing, structure, version, checksum,
schema, table against the arrays, finiteness, network shapes) before anything is used.
Nothing here ever unpickles.

Files are written with :func:`lstmcast.files.atomic.atomic_write_bytes` (temporary file,
fsync, ``os.replace``).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import stat
import time

import numpy as np

from lstmcast.files.atomic import atomic_write_bytes
from lstmcast.errors import InputMissingError, ModelFileError

__all__ = ["MAX_HEADER_BYTES", "save", "load", "network_params"]

FORMAT = "lstmcast-model"
FORMAT_VERSION = (3, 2)  # a new minor only adds keys; a new major needs a migration in modelfile
OLDEST_MAJOR = 1  # the oldest major version still read (through modelfile.MIGRATIONS)
MAX_HEADER_BYTES = 16 * 1024 * 1024
# The most array data a model file may hold: a global model of 10,000 series with a year of
# daily history is a few hundred MB of history at most
MAX_DATA_BYTES = 1 << 30
KINDS = ("model", "checkpoint")
NETWORK_DTYPES = ("float32", "float64")
META_KEY = "lstmcast"
SHA_KEY = "lstmcast_sha256"

# safetensors dtype codes <-> numpy names, for the dtypes lstmcast stores
_DTYPES = {"F16": "float16", "F32": "float32", "F64": "float64", "BOOL": "bool",
           "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64",
           "U8": "uint8", "U16": "uint16", "U32": "uint32", "U64": "uint64"}
_CODES = {name: code for code, name in _DTYPES.items()}
_NETWORK_NAME = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?|head\.(weight|bias)")
_SPEC_FIELDS = ("input_size", "hidden_size", "num_layers", "output_size")
_FUTURE_FIELDS = ("future_size", "future_hidden", "future_inputs")  # optional: 0 when absent

_DAMAGED = "the file is damaged or incomplete; train again with lstmcast fit"
_FOREIGN = "pass a model file written by lstmcast fit"


class _Invalid(Exception):
    """Why a file's content is unacceptable: one line, without the path."""


# ---------------------------------------------------------------- save


def save(path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """Write ``arrays`` and the JSON document ``meta`` to the model file ``path``, atomically.

    ``meta`` needs ``kind``, ``network``, ``dtype`` and ``forecaster``; the envelope
    (``format``, ``format_version``, ``lstmcast_version``, ``created`` and the ``arrays``
    table) is added here, replacing any such keys in ``meta``. ``created`` honours
    ``SOURCE_DATE_EPOCH`` so that files can be reproduced byte for byte. Tuples in
    ``meta`` come back as lists. Anything :func:`load` would refuse (non-finite values,
    object dtypes, meta that is not JSON, network arrays that disagree with
    ``meta["network"]``) is a ValueError: a programming error, nothing is written.
    An unwritable destination is :class:`OutputError`.
    """
    import safetensors.numpy

    from lstmcast import __version__

    if not isinstance(meta, dict):
        raise ValueError(f"meta must be a dict, got {type(meta).__name__}")
    stored = _prepare_arrays(arrays)
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    created = time.gmtime(int(epoch) if epoch.isdigit() else None)
    envelope = {"format": FORMAT, "format_version": "%d.%d" % FORMAT_VERSION,
                "lstmcast_version": __version__, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", created)}
    table = {name: {"dtype": a.dtype.name, "shape": list(a.shape)} for name, a in stored.items()}
    doc = {**envelope, **{k: v for k, v in meta.items() if k not in envelope and k != "arrays"},
           "arrays": table}
    try:
        text = json.dumps(doc, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValueError(f"model metadata is not JSON-serialisable: {exc}") from None
    infos = {name: (a.dtype.name, list(a.shape)) for name, a in stored.items()}
    try:
        _check_document(json.loads(text), infos, stored)
    except _Invalid as exc:
        raise ValueError(f"refusing to write {os.fspath(path)}: {exc}") from None
    # safetensors lays out the tensors and their data; the header is re-encoded here
    # because safetensors writes its metadata map in random order, and a model file
    # should be reproducible byte for byte.
    draft = safetensors.numpy.save(stored)
    size = int.from_bytes(draft[:8], "little")
    tensors_header, data = json.loads(draft[8:8 + size]), draft[8 + size:]
    header = {"__metadata__": {META_KEY: text, SHA_KEY: _digest(text, data)}, **tensors_header}
    raw = json.dumps(header, separators=(",", ":")).encode("ascii")
    raw += b" " * (-len(raw) % 8)  # data starts 8-byte aligned, as safetensors does it
    if len(raw) > MAX_HEADER_BYTES:
        raise ValueError(f"model header would be {len(raw)} bytes, over the {MAX_HEADER_BYTES} limit")
    blob = len(raw).to_bytes(8, "little") + raw + data
    try:  # never write a file that load would refuse
        _read(io.BytesIO(blob))
    except _Invalid as exc:  # pragma: no cover - a bug here, not in the caller
        raise ValueError(f"refusing to write {os.fspath(path)}: the file would not load: {exc}") from None
    atomic_write_bytes(path, blob)


def _prepare_arrays(arrays) -> dict[str, np.ndarray]:
    """Contiguous little-endian copies of storable arrays, in the caller's order."""
    if not isinstance(arrays, dict):
        raise ValueError(f"arrays must be a dict of numpy arrays, got {type(arrays).__name__}")
    out = {}
    for name, value in arrays.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(f"array names must be non-empty strings other than __metadata__, got {name!r}")
        a = np.asarray(value)
        if a.dtype.name not in _CODES or a.dtype.kind not in "biuf":
            raise ValueError(f"array {name!r} has dtype {a.dtype}, which a model file cannot hold "
                             f"(use one of {', '.join(_CODES)})")
        a = a.astype(a.dtype.newbyteorder("<"), order="C", copy=False)  # keeps 0-d shapes
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            raise ValueError(f"array {name!r} holds non-finite values (NaN or infinity)")
        out[name] = a
    return out


def _digest(text: str, data: bytes) -> str:
    h = hashlib.sha256(text.encode("utf-8"))
    h.update(data)
    return h.hexdigest()


# ---------------------------------------------------------------- load


def load(path, max_bytes: int = MAX_DATA_BYTES) -> tuple[dict[str, np.ndarray], dict]:
    """The arrays (in the order they were saved) and the whole JSON document of ``path``;
    array data over ``max_bytes`` is refused before any of it is read.

    Everything is validated before it is returned. A missing or unreadable file is
    :class:`InputMissingError`; anything wrong with the content (including a directory
    in place of a file) is :class:`ModelFileError` with one line naming the file.
    """
    target = os.fspath(path)
    if os.path.isdir(target):
        raise ModelFileError(f"{target} is a directory, not a model file ({_FOREIGN})")
    if os.path.exists(target) and not stat.S_ISREG(os.stat(target).st_mode):
        raise ModelFileError(f"{target} is not a regular file (a pipe or a device); a model file is "
                             "read whole and checked before use: give the file itself")
    try:
        with open(target, "rb") as fh:
            return _read(fh, max_bytes)
    except _Invalid as exc:
        raise ModelFileError(f"{target}: {exc}") from None
    except FileNotFoundError:
        raise InputMissingError(f"no model file at {target} (check the path, or train one with lstmcast fit)") \
            from None
    except IsADirectoryError:
        raise ModelFileError(f"{target} is a directory, not a model file ({_FOREIGN})") from None
    except OSError as exc:
        raise InputMissingError(f"cannot read {target}: {exc.strerror or exc} "
                                "(check the file exists and is readable)") from None


def network_params(arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The network's arrays (PyTorch names), in PyTorch's state_dict order."""
    names = [n for n in arrays if _NETWORK_NAME.fullmatch(n)]
    return {n: arrays[n] for n in sorted(names, key=_torch_order)}


def _torch_order(name: str):
    m = _NETWORK_NAME.fullmatch(name)
    if m.group(4):
        return (1, 0, 0, m.group(4) == "bias")
    kinds = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    return (0, int(m.group(2)), bool(m.group(3)), kinds.index(m.group(1)))


def _read(fh, max_bytes: int = MAX_DATA_BYTES) -> tuple[dict[str, np.ndarray], dict]:
    """Read and validate one file, raising _Invalid with the first problem found."""
    prefix = fh.read(8)
    if not prefix:
        raise _Invalid(f"the file is empty, not a model ({_FOREIGN})")
    if len(prefix) < 8:
        raise _Invalid(f"only {len(prefix)} bytes, too short for a model file ({_DAMAGED})")
    size = int.from_bytes(prefix, "little")
    if size > MAX_HEADER_BYTES:
        raise _Invalid(f"{_what(prefix)}: the header length field says {size} bytes, over the "
                       f"{MAX_HEADER_BYTES // 2**20} MiB limit ({_FOREIGN})")
    raw = fh.read(size)
    if len(raw) < size:
        raise _Invalid(f"truncated: the header needs {size} bytes but only {len(raw)} follow ({_DAMAGED})")
    if not raw.startswith(b"{"):
        raise _Invalid(f"{_what(prefix)}: the header is not a JSON object ({_FOREIGN})")
    try:
        header_text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise _Invalid(f"corrupt safetensors header: not UTF-8 text ({_DAMAGED})") from None
    entries, metadata = _check_header(_parse_json(header_text, "safetensors header"))
    length = max((end for _, _, _, end in entries.values()), default=0)
    if length > max_bytes:  # checked before reading: a sparse file may claim anything
        raise _Invalid(f"the arrays claim {length} bytes, over the {max_bytes >> 20} MiB limit "
                       f"(--max-input-mb raises it; or {_DAMAGED})")
    if META_KEY in metadata:  # the document's own checks, before any data is read
        early = _parse_json(metadata[META_KEY], "metadata")
        if isinstance(early, dict):
            _check_version(early)
            infos = {name: (_DTYPES[code], shape) for name, (code, shape, _, _) in entries.items()}
            _check_document(early, infos, {})
    data = _read_up_to(fh, length + 1)
    if len(data) < length:
        raise _Invalid(f"truncated: the arrays need {length} bytes but only {len(data)} follow ({_DAMAGED})")
    if len(data) > length:
        raise _Invalid(f"unexpected bytes after the last array ({_DAMAGED})")

    if META_KEY not in metadata:
        raise _Invalid(f"a safetensors file without lstmcast metadata, not an lstmcast model ({_FOREIGN})")
    text = metadata[META_KEY]
    doc = _parse_json(text, "metadata")
    if not isinstance(doc, dict):
        raise _Invalid(f"the metadata is JSON but not an object ({_DAMAGED})")
    _check_version(doc)
    try:
        digest = _digest(text, data)
    except UnicodeEncodeError:  # a lone surrogate: lstmcast writes ASCII-only metadata
        digest = None
    if digest is None or metadata.get(SHA_KEY) != digest:
        raise _Invalid(f"checksum mismatch: the file was changed after lstmcast wrote it ({_DAMAGED})")

    tensors = _tensors(prefix + raw + data)
    infos = {name: (_DTYPES[code], shape) for name, (code, shape, _, _) in entries.items()}
    if set(tensors) != set(infos) or any(
            (tensors[n].dtype.name, list(tensors[n].shape)) != infos[n] for n in infos):
        raise _Invalid(f"safetensors read the arrays differently from their header ({_DAMAGED})")
    _check_document(doc, infos, tensors)
    arrays = {}
    for name in doc["arrays"]:
        a = tensors[name]
        arrays[name] = a if a.flags.writeable and a.flags.c_contiguous else np.array(a)
    return arrays, doc


def _what(prefix: bytes) -> str:
    """What a file that is not safetensors seems to be, for the error message."""
    if prefix[:1] == b"\x80" and prefix[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a Python pickle, not a model file (lstmcast never loads pickles)"
    if prefix[:4] == b"PK\x03\x04":
        return "a zip archive (an .npz?), not a model file"
    return "not a safetensors file"


def _read_up_to(fh, n: int) -> bytes:
    """At most n bytes, read in bounded chunks: n comes from the file and may be absurd."""
    chunks, total = [], 0
    while total < n:
        chunk = fh.read(min(n - total, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks)


def _parse_json(text: str, what: str):
    """JSON that refuses duplicate keys and NaN/Infinity, as a one-line _Invalid."""
    def no_duplicates(pairs):
        obj = {}
        for key, value in pairs:
            if key in obj:
                raise ValueError(f"duplicate key {_short(key)}")
            obj[key] = value
        return obj

    def no_constants(name):
        raise ValueError(f"{name} is not JSON")

    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constants)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and int-too-long are ValueErrors
        reason = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        raise _Invalid(f"corrupt {what}: {reason} ({_DAMAGED})") from None


def _check_header(header) -> tuple[dict, dict]:
    """The safetensors layer: {name: (code, shape, begin, end)} and the string metadata."""
    if not isinstance(header, dict):
        raise _Invalid(f"corrupt safetensors header: not a JSON object ({_DAMAGED})")
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise _Invalid(f"corrupt safetensors header: __metadata__ is not a map of strings ({_DAMAGED})")
    entries = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        bad = f"corrupt safetensors header: array {_short(name)}"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise _Invalid(f"{bad} is not described by dtype, shape and data_offsets ({_DAMAGED})")
        code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
        if not isinstance(code, str) or code not in _DTYPES:
            raise _Invalid(f"array {_short(name)} has dtype {_short(code)}, which lstmcast does not use "
                           f"({_FOREIGN})")
        if not (isinstance(shape, list) and all(_is_int(d) and d >= 0 for d in shape)):
            raise _Invalid(f"{bad} has shape {_short(shape)} ({_DAMAGED})")
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_int(o) for o in offsets)
                and 0 <= offsets[0] <= offsets[1]):
            raise _Invalid(f"{bad} has data offsets {_short(offsets)} ({_DAMAGED})")
        nbytes = math.prod(shape) * np.dtype(_DTYPES[code]).itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise _Invalid(f"{bad}: {_DTYPES[code]} {shape} needs {nbytes} bytes, its offsets span "
                           f"{offsets[1] - offsets[0]} ({_DAMAGED})")
        entries[name] = (code, shape, offsets[0], offsets[1])
    pos = 0
    for name, (_, _, begin, end) in sorted(entries.items(), key=lambda e: (e[1][2], e[1][3])):
        if begin != pos:
            raise _Invalid(f"corrupt safetensors header: array {_short(name)} starts at byte {begin}, "
                           f"expected {pos} ({_DAMAGED})")
        pos = end
    return entries, metadata


def _tensors(blob: bytes) -> dict[str, np.ndarray]:
    """safetensors' own reading of a file whose header has already been checked."""
    import safetensors.numpy
    from safetensors import SafetensorError

    try:
        return safetensors.numpy.load(blob)
    except (SafetensorError, ValueError, KeyError, TypeError) as exc:
        reason = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        raise _Invalid(f"safetensors cannot read it: {reason} ({_DAMAGED})") from None


# ---------------------------------------------------------------- the document


def _check_version(doc: dict) -> None:
    fmt, version = doc.get("format"), doc.get("format_version")
    if fmt != FORMAT:
        raise _Invalid(f"format is {_short(fmt)}, not {FORMAT!r}: not an lstmcast model ({_FOREIGN})")
    m = re.fullmatch(r"([0-9]{1,6})\.([0-9]{1,6})", version) if isinstance(version, str) else None
    if m is None:
        raise _Invalid(f"format_version {_short(version)} is not MAJOR.MINOR ({_DAMAGED})")
    major = int(m.group(1))
    if major > FORMAT_VERSION[0]:
        raise _Invalid(f"made by a newer lstmcast (format {version}); upgrade lstmcast to read it")
    if major < OLDEST_MAJOR:
        raise _Invalid(f"unknown format version {version}; this lstmcast reads {OLDEST_MAJOR}.x to "
                       f"{FORMAT_VERSION[0]}.x ({_FOREIGN})")


def _check_document(doc: dict, infos: dict[str, tuple[str, list]], tensors: dict[str, np.ndarray]) -> None:
    """The envelope's schema, the arrays table against the file, finiteness, network shapes."""
    _check_version(doc)
    for key, kind in (("kind", str), ("lstmcast_version", str), ("created", str), ("network", dict),
                      ("dtype", str), ("arrays", dict), ("forecaster", dict)):
        if key not in doc:
            raise _Invalid(f"metadata lacks {key!r} ({_DAMAGED})")
        if not isinstance(doc[key], kind):
            raise _Invalid(f"metadata {key!r} should be a {'string' if kind is str else 'JSON object'}, "
                           f"got {_short(doc[key])} ({_DAMAGED})")
    if doc["kind"] not in KINDS:
        raise _Invalid(f"kind is {_short(doc['kind'])}, expected 'model' or 'checkpoint' ({_DAMAGED})")
    if doc["dtype"] not in NETWORK_DTYPES:
        raise _Invalid(f"network dtype is {_short(doc['dtype'])}, expected float32 or float64 ({_DAMAGED})")
    net = doc["network"]
    unknown = sorted(set(net) - {*_SPEC_FIELDS, "bidirectional", *_FUTURE_FIELDS})
    if unknown:
        raise _Invalid(f"network has unknown field {_short(unknown[0])} ({_DAMAGED})")
    for field in _SPEC_FIELDS:
        if not (_is_int(net.get(field)) and net[field] >= 1):
            raise _Invalid(f"network {field} should be a positive integer, got {_short(net.get(field))} "
                           f"({_DAMAGED})")
    for field in _FUTURE_FIELDS:
        if not (_is_int(net.get(field, 0)) and net.get(field, 0) >= 0):
            raise _Invalid(f"network {field} should be a whole number of 0 or more, got "
                           f"{_short(net.get(field))} ({_DAMAGED})")
    kf = net.get("future_inputs", 0)
    if net.get("future_hidden", 0) and (not kf or net.get("future_size", 0) % kf):
        raise _Invalid(f"network future_inputs does not divide future_size ({_DAMAGED})")
    if not isinstance(net.get("bidirectional"), bool):
        raise _Invalid(f"network bidirectional should be true or false, got "
                       f"{_short(net.get('bidirectional'))} ({_DAMAGED})")

    table = doc["arrays"]
    for name, entry in table.items():
        if not (isinstance(entry, dict) and isinstance(entry.get("dtype"), str)
                and isinstance(entry.get("shape"), list) and all(_is_int(d) and d >= 0 for d in entry["shape"])):
            raise _Invalid(f"arrays table entry {_short(name)} is not {{dtype, shape}} ({_DAMAGED})")
        if name not in infos:
            raise _Invalid(f"the arrays table lists {_short(name)} but the file has no such array ({_DAMAGED})")
        if (entry["dtype"], entry["shape"]) != infos[name]:
            raise _Invalid(f"array {_short(name)} is {infos[name][0]} {infos[name][1]} but the table says "
                           f"{_short(entry['dtype'])} {_short(entry['shape'])} ({_DAMAGED})")
    extra = [n for n in infos if n not in table]
    if extra:
        raise _Invalid(f"array {_short(extra[0])} is not in the arrays table ({_DAMAGED})")
    for name, a in tensors.items():
        if a.dtype.kind == "f":
            bad = a.size - int(np.count_nonzero(np.isfinite(a)))
            if bad:
                raise _Invalid(f"array {_short(name)} holds {bad} non-finite value(s) (NaN or infinity) "
                               f"({_DAMAGED})")
    _check_network(doc, infos)


def _check_network(doc: dict, infos: dict[str, tuple[str, list]]) -> None:
    net = doc["network"]
    names = [n for n in infos if _NETWORK_NAME.fullmatch(n)]
    directions = 2 if net.get("bidirectional") else 1
    expected = net["num_layers"] * directions * 4 + 2  # counted first: a huge num_layers must not loop
    desc = (f"{net['num_layers']} layer(s) of {net['hidden_size']}"
            f"{', bidirectional' if directions == 2 else ''}, {net['input_size']} in, {net['output_size']} out")
    if len(names) != expected:
        raise _Invalid(f"the file has {len(names)} network arrays, the network settings ({desc}) need "
                       f"{expected} ({_DAMAGED})")
    from lstmcast.nn.network import Spec

    spec = Spec(**{f: net[f] for f in _SPEC_FIELDS}, bidirectional=net["bidirectional"])
    for name, shape in spec.shapes().items():
        if name not in infos:
            raise _Invalid(f"network array {name!r} is missing for the network settings ({desc}) ({_DAMAGED})")
        dtype, got = infos[name]
        if got != list(shape):
            raise _Invalid(f"network array {name!r} has shape {tuple(got)}, the network settings ({desc}) "
                           f"need {shape} ({_DAMAGED})")
        if dtype != doc["dtype"]:
            raise _Invalid(f"network array {name!r} is {dtype} but the network is {doc['dtype']} ({_DAMAGED})")


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _short(value, limit: int = 40) -> str:
    """repr() cut to one short line, for values taken from a file that may be hostile."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."

"""Saving and loading a model as one ``.npz``: every weight plus a JSON member describing it.

Layout (schema ``transformer-step-sim/model``, version 1):

* ``param/<name>``: one array per parameter, in the model's dtype;
* ``meta.json``: a UTF-8 JSON document stored as a uint8 array with ``schema``, ``version``,
  ``config``, ``labels``, ``tokenizer`` (its spec) and ``info``.

Files are written to a temporary file in the same folder and renamed into place, so an
interrupted or failed save never damages the previous file. Nothing is unpickled on load.
"""

from __future__ import annotations

import json
import math
import os
import tempfile  # noqa: F401  (the module simulator.safe_write creates its temporary files with; tests patch it here)
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import numpy as np

from simulator.config import ModelConfig
from simulator.errors import ModelFileError, SimulatorError
from simulator.model import Model, ModelInfo, ModelLabels
from simulator.paths import check_path_name, shown
from simulator.safe_write import write_atomic
from simulator.stages import param_shapes
from simulator.tokenizer import Tokenizer, tokenizer_from_spec

MODEL_SCHEMA = "transformer-step-sim/model"
MODEL_VERSION = 1
META_KEY = "meta.json"
PARAM_PREFIX = "param/"


def write_npz_atomic(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write arrays and a JSON member to ``path`` atomically (see :mod:`simulator.safe_write`).

    The JSON is ASCII with escapes, so any text (even a lone surrogate) is saved losslessly."""
    payload = dict(arrays)
    payload[META_KEY] = np.frombuffer(json.dumps(meta, ensure_ascii=True).encode("ascii"), dtype=np.uint8)
    # (numpy's stub confuses **arrays with its allow_pickle flag)
    write_atomic(path, lambda handle: np.savez(handle, **payload))  # type: ignore[arg-type]


#: what a reader expects: for each member it reads (name without ``.npy``), the shape the
#: description asks for. Built from the description, so it is bounded by the checked config.
Members = Callable[[dict[str, Any]], Mapping[str, tuple[int, ...]]]

#: the largest description (meta.json) read into memory
MAX_META_BYTES = 256 << 20
#: a deflated archive may expand at most this much (np.savez stores members uncompressed) ...
MAX_EXPANSION = 64
#: ... once it declares more than this many bytes in all
SMALL_ARCHIVE = 64 << 20
#: value types a weight may be stored in (the model converts them to its own dtype)
_NUMERIC_KINDS = "fiub"


def read_npz(path: str | os.PathLike[str], members: Members | None = None) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read the JSON member and the arrays ``members(meta)`` names, or raise a :class:`ModelFileError`.

    Every array's shape and value type are checked from its ``.npy`` header against what
    ``members`` expects before a byte of it is decompressed, so a small file cannot make the
    app allocate much more memory than its description honestly needs. Members the reader
    does not name are never read; without ``members`` only the description is read.
    """
    source = Path(check_path_name(path, "cannot open the file"))
    if not source.exists():
        raise ModelFileError(f"no such file: {shown(source)}")
    if source.is_dir():
        raise ModelFileError(f"{shown(source)} is a folder, not a file")
    if not source.is_file():  # a FIFO would block the open for good, a device never ends
        raise ModelFileError(f"{shown(source)} is not a regular file (a pipe, device or socket)")
    try:
        with open(source, "rb") as handle:
            magic = handle.read(2)
    except OSError as exc:
        raise ModelFileError(f"{source.name} cannot be read: {exc.strerror or exc}") from exc
    if not magic:
        raise ModelFileError(f"{source.name} is empty (0 bytes): it is damaged or was not saved completely")
    if magic != b"PK":  # every .npz is a zip archive; NumPy would take anything else for a pickle
        raise ModelFileError(f"{source.name} is not a readable file of this app: it is not an .npz archive (damaged or another format)")
    try:
        with open(source, "rb") as handle, zipfile.ZipFile(handle) as archive:
            entries = {info.filename: info for info in archive.infolist()}
            if META_KEY + ".npy" not in entries:
                raise ModelFileError(f"{source.name} has no {META_KEY} member: it was not written by this app")
            described = entries[META_KEY + ".npy"]
            _check_header(archive, described, None, source.name, META_KEY)
            _check_expansion({META_KEY: described}, source.name)
            raw = _read_member(archive, described)
            meta = _parse_meta(raw, source.name)
            wanted = dict(members(meta)) if members is not None else {}
            _refuse_unknown(entries, wanted, source.name)
            present = {key: entries[key + ".npy"] for key in wanted if key + ".npy" in entries}
            for key, info in present.items():
                _check_header(archive, info, wanted[key], source.name, key)
            _check_expansion(present, source.name)
            arrays = {key: _read_member(archive, info) for key, info in present.items()}
    except SimulatorError:
        raise
    except Exception as exc:  # damaged bytes make zipfile/NumPy raise many kinds (BadZipFile, EOFError, zlib.error, ...)
        raise ModelFileError(f"{source.name} is not a readable file of this app (damaged or another format): {exc}") from exc
    return arrays, meta


def _parse_meta(raw: np.ndarray, name: str) -> dict[str, Any]:
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{name}: its description is damaged ({exc})") from exc
    except RecursionError:
        raise ModelFileError(f"{name}: its description is damaged (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise ModelFileError(f"{name}: its description is damaged ({exc})") from exc
    if not isinstance(meta, dict):
        raise ModelFileError(f"{name}: its description is not a JSON object")
    return meta


def _refuse_unknown(entries: Mapping[str, zipfile.ZipInfo], wanted: Mapping[str, tuple[int, ...]], name: str) -> None:
    """Parameters the configuration does not have are an error (other unknown members are ignored)."""
    unknown = sorted(
        key[len(PARAM_PREFIX):-len(".npy")]
        for key in entries
        if key.startswith(PARAM_PREFIX) and key.endswith(".npy") and key[:-len(".npy")] not in wanted
    )
    if unknown and wanted:
        raise ModelFileError(f"{name}: unexpected parameters for this configuration: {', '.join(unknown[:6])}")


def _open_header(stream: Any, name: str, key: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    """Shape, Fortran order and dtype from an ``.npy`` header (NumPy's own parser, no data read)."""
    try:
        version = np.lib.format.read_magic(stream)
        if version == (1, 0):
            return np.lib.format.read_array_header_1_0(stream)
        if version == (2, 0):
            return np.lib.format.read_array_header_2_0(stream)
    except ValueError as exc:
        raise ModelFileError(f"{name}: the header of {key} is damaged ({exc})") from exc
    raise ModelFileError(f"{name}: {key} is stored in an unsupported .npy version {version}")


def _check_header(archive: zipfile.ZipFile, info: zipfile.ZipInfo, shape: tuple[int, ...] | None, name: str, key: str) -> None:
    """Refuse the member unless its declared shape, dtype and size are what the reader expects.

    ``shape`` None means the description: a 1-D byte array of bounded size."""
    with archive.open(info) as stream:
        found, _, dtype = _open_header(stream, name, key)
        header_size = stream.tell()
    label = key.split("/", 1)[-1]
    if key.startswith("original/"):
        label = f"the original value of {label}"
    if dtype.kind not in _NUMERIC_KINDS or dtype.itemsize > 8:
        raise ModelFileError(f"{name}: {label}: values must be numbers, got {dtype}")
    if shape is None:  # the description: bytes, bounded by size
        if dtype != np.uint8 or len(found) != 1 or found[0] > MAX_META_BYTES:
            raise ModelFileError(f"{name}: its description ({key}) is damaged or too large")
    elif tuple(found) != tuple(shape):
        raise ModelFileError(f"{name}: {label} must have shape {_shape_text(shape)}, got {_shape_text(found)}")
    needed = header_size + math.prod(found) * dtype.itemsize
    if info.file_size != needed:  # a member that says more or less than its header is damaged
        raise ModelFileError(f"{name}: {key} is damaged (it holds {info.file_size:,} bytes; its header needs {needed:,})")


def _check_expansion(present: Mapping[str, zipfile.ZipInfo], name: str) -> None:
    """Refuse members that would inflate far beyond their size on disk (a zip bomb)."""
    declared = sum(info.file_size for info in present.values())
    stored = sum(info.compress_size for info in present.values())
    if declared > SMALL_ARCHIVE and declared > MAX_EXPANSION * max(stored, 1):
        raise ModelFileError(
            f"{name}: its compressed arrays claim {declared / 2**20:,.0f} MiB from {stored / 2**20:,.1f} MiB "
            "on disk; refused as a likely zip bomb (files saved by this app are not compressed)"
        )


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> np.ndarray:
    """Decompress one member whose header :func:`_check_header` accepted."""
    with archive.open(info) as stream:
        return np.lib.format.read_array(stream, allow_pickle=False)


def _shape_text(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def model_meta(model: Model) -> dict[str, Any]:
    return {
        "config": model.config.to_dict(),
        "labels": model.labels.to_dict(),
        "tokenizer": model.tokenizer.to_spec(),
        "info": model.info.to_dict(),
    }


def model_arrays(model: Model) -> dict[str, np.ndarray]:
    return {PARAM_PREFIX + name: value for name, value in model.params.items()}


@dataclass(frozen=True)
class Description:
    """A model file's description, checked: everything but the weights."""

    config: ModelConfig
    tokenizer: Tokenizer
    labels: ModelLabels
    info: ModelInfo

    def members(self) -> dict[str, tuple[int, ...]]:
        """The ``param/<name>`` members this description asks for, with their shapes."""
        return {PARAM_PREFIX + name: shape for name, shape in param_shapes(self.config).items()}


def read_description(meta: Mapping[str, Any], origin: str) -> Description:
    """Check the description of :func:`model_meta` (before any weight is read), naming what is wrong."""
    try:
        config = ModelConfig.from_dict(meta["config"])
        tokenizer = tokenizer_from_spec(meta["tokenizer"])
        labels = ModelLabels.from_dict(meta.get("labels"))
        info = ModelInfo.from_dict(meta.get("info"))
        labels.validate(config)
    except KeyError as exc:
        raise ModelFileError(f"{origin}: its description lacks {exc}") from exc
    except (TypeError, AttributeError) as exc:
        raise ModelFileError(f"{origin}: its description is malformed ({exc})") from exc
    except SimulatorError as exc:
        raise ModelFileError(f"{origin}: {exc}") from exc
    if tokenizer.vocab_size > config.vocab_size:  # the model says so too; here before any weight is read
        raise ModelFileError(
            f"{origin}: the tokenizer has {tokenizer.vocab_size} tokens but the model's vocabulary has only {config.vocab_size}"
        )
    return Description(config, tokenizer, labels, info)


def model_from_parts(
    arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], origin: str, description: Description | None = None
) -> Model:
    """Rebuild a model from :func:`model_arrays` / :func:`model_meta` output."""
    d = description or read_description(meta, origin)
    params = {k[len(PARAM_PREFIX):]: v for k, v in arrays.items() if k.startswith(PARAM_PREFIX)}
    try:
        return Model(d.config, params, d.tokenizer, d.labels, d.info)
    except SimulatorError as exc:
        raise ModelFileError(f"{origin}: {exc}") from exc


def save_model(model: Model, path: str | os.PathLike[str]) -> None:
    meta = {"schema": MODEL_SCHEMA, "version": MODEL_VERSION, **model_meta(model)}
    write_npz_atomic(path, model_arrays(model), meta)


def load_model(path: str | os.PathLike[str]) -> Model:
    name = Path(path).name
    described: list[Description] = []

    def members(meta: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        check_schema(meta, MODEL_SCHEMA, MODEL_VERSION, name)
        described.append(read_description(meta, name))
        return described[0].members()

    arrays, meta = read_npz(path, members)
    return model_from_parts(arrays, meta, name, described[0])


def check_schema(meta: Mapping[str, Any], schema: str, version: int, name: str) -> None:
    if meta.get("schema") != schema:
        raise ModelFileError(f"{name} is not a {schema.split('/')[-1]} file of this app (schema {meta.get('schema')!r})")
    found = meta.get("version")
    if not isinstance(found, int) or found < 1:
        raise ModelFileError(f"{name} has no valid schema version")
    if found > version:
        raise ModelFileError(f"{name} was written by a newer version of the app (schema version {found}; this app reads up to {version})")

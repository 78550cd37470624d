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
import os
import tempfile  # noqa: F401  (the module simulator.safe_write creates its temporary files with; tests patch it here)
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from simulator.config import ModelConfig
from simulator.errors import ModelFileError, SimulatorError
from simulator.model import Model, ModelInfo, ModelLabels
from simulator.safe_write import write_atomic
from simulator.tokenizer import tokenizer_from_spec

MODEL_SCHEMA = "transformer-step-sim/model"
MODEL_VERSION = 1
META_KEY = "meta.json"
PARAM_PREFIX = "param/"


def write_npz_atomic(path: str | os.PathLike[str], arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write arrays and a JSON member to ``path`` atomically (see :mod:`simulator.safe_write`).

    The JSON is ASCII with escapes, so any text (even a lone surrogate) is saved losslessly."""
    payload = dict(arrays)
    payload[META_KEY] = np.frombuffer(json.dumps(meta, ensure_ascii=True).encode("ascii"), dtype=np.uint8)
    write_atomic(path, lambda handle: np.savez(handle, **payload))


def read_npz(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Read every array and the JSON member, or raise a :class:`ModelFileError` saying why not."""
    source = Path(path)
    if not source.exists():
        raise ModelFileError(f"no such file: {source}")
    if source.is_dir():
        raise ModelFileError(f"{source} is a folder, not a file")
    if not source.is_file():  # a FIFO would block the open for good, a device never ends
        raise ModelFileError(f"{source} is not a regular file (a pipe, device or socket)")
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
        # NumPy leaves its own file handle open when the zip is damaged, so pass ours.
        with open(source, "rb") as handle, np.load(handle, allow_pickle=False) as data:
            arrays = {key: np.asarray(data[key]) for key in data.files}
    except Exception as exc:  # damaged bytes make zipfile/NumPy raise many kinds (NotImplementedError, TokenError, ...)
        raise ModelFileError(f"{source.name} is not a readable file of this app (damaged or another format): {exc}") from exc
    raw = arrays.pop(META_KEY, None)
    if raw is None:
        raise ModelFileError(f"{source.name} has no {META_KEY} member: it was not written by this app")
    try:
        meta = json.loads(raw.tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{source.name}: its description is damaged ({exc})") from exc
    except RecursionError:
        raise ModelFileError(f"{source.name}: its description is damaged (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise ModelFileError(f"{source.name}: its description is damaged ({exc})") from exc
    if not isinstance(meta, dict):
        raise ModelFileError(f"{source.name}: its description is not a JSON object")
    return arrays, meta


def model_meta(model: Model) -> dict[str, Any]:
    return {
        "config": model.config.to_dict(),
        "labels": model.labels.to_dict(),
        "tokenizer": model.tokenizer.to_spec(),
        "info": model.info.to_dict(),
    }


def model_arrays(model: Model) -> dict[str, np.ndarray]:
    return {PARAM_PREFIX + name: value for name, value in model.params.items()}


def model_from_parts(arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any], origin: str) -> Model:
    """Rebuild a model from :func:`model_arrays` / :func:`model_meta` output."""
    try:
        config = ModelConfig.from_dict(meta["config"])
        tokenizer = tokenizer_from_spec(meta["tokenizer"])
        labels = ModelLabels.from_dict(meta.get("labels"))
        info = ModelInfo.from_dict(meta.get("info"))
    except KeyError as exc:
        raise ModelFileError(f"{origin}: its description lacks {exc}") from exc
    except (TypeError, AttributeError) as exc:
        raise ModelFileError(f"{origin}: its description is malformed ({exc})") from exc
    except SimulatorError as exc:
        raise ModelFileError(f"{origin}: {exc}") from exc
    params = {k[len(PARAM_PREFIX):]: v for k, v in arrays.items() if k.startswith(PARAM_PREFIX)}
    try:
        return Model(config, params, tokenizer, labels, info)
    except SimulatorError as exc:
        raise ModelFileError(f"{origin}: {exc}") from exc


def save_model(model: Model, path: str | os.PathLike[str]) -> None:
    meta = {"schema": MODEL_SCHEMA, "version": MODEL_VERSION, **model_meta(model)}
    write_npz_atomic(path, model_arrays(model), meta)


def load_model(path: str | os.PathLike[str]) -> Model:
    arrays, meta = read_npz(path)
    name = Path(path).name
    check_schema(meta, MODEL_SCHEMA, MODEL_VERSION, name)
    return model_from_parts(arrays, meta, name)


def check_schema(meta: Mapping[str, Any], schema: str, version: int, name: str) -> None:
    if meta.get("schema") != schema:
        raise ModelFileError(f"{name} is not a {schema.split('/')[-1]} file of this app (schema {meta.get('schema')!r})")
    found = meta.get("version")
    if not isinstance(found, int) or found < 1:
        raise ModelFileError(f"{name} has no valid schema version")
    if found > version:
        raise ModelFileError(f"{name} was written by a newer version of the app (schema version {found}; this app reads up to {version})")

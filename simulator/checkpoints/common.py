"""Shared pieces of the checkpoint loaders: progress and cancellation, JSON files, safetensors.

Every problem with a folder is raised as a :class:`~simulator.errors.ModelFileError` whose
message names the file or tensor at fault, so the app can show it as it is.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import numpy as np
from safetensors import safe_open

from simulator.errors import ModelFileError, SimulatorError

#: ``progress(fraction, message)``: fraction runs from 0 to 1.
Progress = Callable[[float, str], None]
#: ``cancelled()``: return True to stop loading (checked between tensors).
Cancelled = Callable[[], bool]

#: What a folder may hold instead of safetensors, and what that format is.
_OTHER_FORMATS = {
    "pytorch_model.bin": "PyTorch's pickle format",
    "pytorch_model.bin.index.json": "PyTorch's pickle format",
    "tf_model.h5": "TensorFlow's format",
    "flax_model.msgpack": "Flax's format",
    "model.onnx": "ONNX",
    "onnx/model.onnx": "ONNX",
}


class LoadCancelled(SimulatorError):
    """Loading was stopped by the caller's ``cancelled`` check; nothing was changed."""


class Monitor:
    """Reports progress and stops the load with :class:`LoadCancelled` when asked to."""

    def __init__(self, progress: Progress | None, cancelled: Cancelled | None) -> None:
        self._progress = progress
        self._cancelled = cancelled

    def check(self) -> None:
        """Raise :class:`LoadCancelled` if the caller asked to stop."""
        if self._cancelled is not None and self._cancelled():
            raise LoadCancelled("loading the model was cancelled")

    def report(self, fraction: float, message: str) -> None:
        """Check for cancellation, then pass ``fraction`` (clamped to 0..1) on."""
        self.check()
        if self._progress is not None:
            self._progress(min(1.0, max(0.0, float(fraction))), message)


#: the largest JSON side file (config, index, ...) read whole into memory
MAX_JSON_BYTES = 64 << 20


def read_json(path: Path, what: str | None = None) -> dict[str, Any]:
    """A JSON object from ``path``, or a :class:`ModelFileError` saying what is wrong with it."""
    name = what or path.name
    try:
        if path.exists() and not path.is_file():  # a FIFO blocks for good, a device never ends
            raise ModelFileError(f"{name} is not a regular file")
        if path.stat().st_size > MAX_JSON_BYTES:
            raise ModelFileError(f"{name} is too large ({path.stat().st_size:,} bytes; at most {MAX_JSON_BYTES:,})")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ModelFileError(f"{name} is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{name} cannot be read: {exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{name} is damaged (not valid JSON: {exc})") from exc
    except RecursionError:
        raise ModelFileError(f"{name} is damaged (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer with thousands of digits
        raise ModelFileError(f"{name} is damaged ({exc})") from exc
    if not isinstance(data, dict):
        raise ModelFileError(f"{name} is damaged: it should hold a JSON object")
    return data


class ConfigReader:
    """Typed access to ``config.json`` values, naming the key when a value is unusable."""

    def __init__(self, data: Mapping[str, Any], name: str = "config.json") -> None:
        self.data = data
        self.name = name

    def integer(self, key: str, default: int | None = None, *aliases: str) -> int:
        value = self._get(key, default, aliases)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ModelFileError(f"{self.name}: {key} must be a whole number, got {value!r}")
        return value

    def number(self, key: str, default: float) -> float:
        value = self._get(key, default, ())
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise ModelFileError(f"{self.name}: {key} must be a positive number, got {value!r}")
        return float(value)

    def text(self, key: str, default: str) -> str:
        value = self._get(key, default, ())
        if not isinstance(value, str):
            raise ModelFileError(f"{self.name}: {key} must be text, got {value!r}")
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self._get(key, default, ())
        if not isinstance(value, bool):
            raise ModelFileError(f"{self.name}: {key} must be true or false, got {value!r}")
        return value

    def _get(self, key: str, default: Any, aliases: Iterable[str]) -> Any:
        for name in (key, *aliases):
            if name in self.data and self.data[name] is not None:
                return self.data[name]
        if default is None:
            raise ModelFileError(f"{self.name} has no {key!r} value")
        return default


def owned(array: np.ndarray) -> np.ndarray:
    """A read-only float32 array that shares memory with nothing else.

    The model keeps such arrays as they are instead of copying them (see
    :meth:`simulator.model.Model._checked`), so loading needs about the model's size in memory.
    The copy keeps the memory order of ``array``: a transposed weight (``wteᵀ``, a ``Linear``
    weightᵀ) stays column-major, which matrix products handle as fast, whereas reordering
    GPT-2's 50257 × 768 unembedding into row-major costs seconds.
    """
    if array.dtype != np.float32 or array.base is not None:
        array = np.array(array, dtype=np.float32, order="K")
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class _Entry:
    file: Path
    shape: tuple[int, ...]
    dtype: str
    #: where the tensor's bytes start in the file
    offset: int


class WeightFile:
    """The tensors of a checkpoint folder's ``model.safetensors`` (or its shards), by name.

    Making one reads every file's header (names, shapes, dtypes) and checks that the file is a
    complete safetensors file; tensors are read one at a time by :meth:`read`.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.entries: dict[str, _Entry] = {}
        single = folder / "model.safetensors"
        index = folder / "model.safetensors.index.json"
        if single.is_file():
            files: Mapping[Path, set[str] | None] = {single: None}
        elif index.is_file():
            files = self._shards(index)
        else:
            raise ModelFileError(self._missing_message())
        for file, expected in files.items():
            self._open(file, expected)

    @property
    def names(self) -> set[str]:
        """Every tensor name in the file(s)."""
        return set(self.entries)

    def nbytes(self, name: str) -> int:
        """Size of the tensor once read as float32 (for progress reports)."""
        entry = self.entries[name]
        return 4 * math.prod(entry.shape)

    def read(self, name: str) -> np.ndarray:
        """The tensor as a new float32 array (half-precision and bfloat16 weights are widened).

        safetensors has already checked the header when the file was opened (names, shapes,
        dtypes, and that every tensor's bytes lie inside the file); the bytes are then read
        straight into an array that owns its memory. ``safe_open(...).get_tensor`` would give
        a view that the model has to copy again, doubling the memory and time a 124 M
        parameter load needs.
        """
        entry = self.entries[name]
        stored = _DTYPES.get(entry.dtype)
        if stored is None:
            raise ModelFileError(f"{entry.file.name}: tensor {name} holds {entry.dtype} values, not floating-point weights")
        count = math.prod(entry.shape)
        try:
            array = np.fromfile(entry.file, dtype=stored, count=count, offset=entry.offset)
        except (OSError, ValueError) as exc:
            raise ModelFileError(f"{entry.file.name}: tensor {name} cannot be read ({exc})") from exc
        if array.size != count:
            raise ModelFileError(f"{entry.file.name}: tensor {name} is cut short (the file is truncated)")
        if entry.dtype == "BF16":  # the upper half of a float32
            array = (array.astype(np.uint32) << 16).view(np.float32)
        elif array.dtype != np.float32:
            array = array.astype(np.float32)
        array.shape = entry.shape  # in place: a reshaped view would not own its memory
        return array

    # -- opening -------------------------------------------------------------------------------
    def _open(self, file: Path, expected: set[str] | None) -> None:
        try:
            with safe_open(str(file), framework="np") as handle:
                names = list(handle.keys())
                shapes = {name: handle.get_slice(name) for name in names}
                found = {name: (tuple(int(n) for n in info.get_shape()), str(info.get_dtype())) for name, info in shapes.items()}
            offsets = _data_offsets(file)
        except Exception as exc:  # safetensors' own error type, OSError, ...
            raise ModelFileError(f"{file.name} is damaged or not a safetensors file ({exc})") from exc
        for name, (shape, dtype) in found.items():
            # A tensor stored in two shards is read from the one the index names, whatever
            # order the shards are opened in; a single file (no index) owns all it holds.
            if expected is None or name in expected:
                self.entries[name] = _Entry(file, shape, dtype, offsets[name])
        if expected:
            absent = sorted(expected - set(names))
            if absent:
                raise ModelFileError(f"{file.name} lacks tensors its index lists: {_names(absent)}")

    def _shards(self, index: Path) -> dict[Path, set[str]]:
        weight_map = read_json(index).get("weight_map")
        if not isinstance(weight_map, dict) or not weight_map:
            raise ModelFileError(f"{index.name} is damaged: it has no weight_map")
        files: dict[Path, set[str]] = {}
        for name, file in weight_map.items():
            if not isinstance(file, str) or "/" in file or "\\" in file:
                raise ModelFileError(f"{index.name} is damaged: bad file name for {name}")
            files.setdefault(self.folder / file, set()).add(str(name))
        missing = [p.name for p in files if not p.is_file()]
        if missing:
            raise ModelFileError(f"{index.name} lists files that are missing: {', '.join(sorted(missing))}")
        return files

    def _missing_message(self) -> str:
        for file, what in _OTHER_FORMATS.items():
            if (self.folder / file).is_file():
                return (
                    f"the folder has {file} ({what}) but no model.safetensors; this app reads safetensors "
                    "only. Re-save the model with save_pretrained(..., safe_serialization=True)."
                )
        return "the folder has no model.safetensors (the weights)"


#: safetensors dtypes read as weights, with the little-endian NumPy type they are stored as
#: (bfloat16 is read as raw 16-bit words, NumPy having no bfloat16 type).
_DTYPES: dict[str, np.dtype[Any]] = {"F32": np.dtype("<f4"), "F16": np.dtype("<f2"), "F64": np.dtype("<f8"), "BF16": np.dtype("<u2")}


def _data_offsets(file: Path) -> dict[str, int]:
    """Absolute file offset of every tensor, from the safetensors header (already validated)."""
    with open(file, "rb") as handle:
        size = int.from_bytes(handle.read(8), "little")
        header = json.loads(handle.read(size))
    return {name: 8 + size + int(info["data_offsets"][0]) for name, info in header.items() if name != "__metadata__"}


def _names(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass(frozen=True)
class Recipe:
    """How some of our parameters are made from some checkpoint tensors.

    ``sources`` are checkpoint tensor names with the shapes they must have; ``convert`` gets
    the source arrays in that order and returns the arrays for ``targets`` in order.
    """

    targets: tuple[str, ...]
    sources: tuple[tuple[str, tuple[int, ...]], ...]
    convert: Callable[..., tuple[np.ndarray, ...]]


def check_tensors(weights: WeightFile, recipes: list[Recipe]) -> None:
    """Fail before reading anything if a needed tensor is missing or has the wrong shape."""
    missing: list[str] = []
    wrong: list[str] = []
    for recipe in recipes:
        for name, shape in recipe.sources:
            entry = weights.entries.get(name)
            if entry is None:
                missing.append(name)
            elif entry.shape != shape:
                wrong.append(f"{name} is {_shape(entry.shape)}, expected {_shape(shape)}")
    if missing:
        raise ModelFileError(f"model.safetensors lacks {len(missing)} tensor(s) the config needs: {_names(missing)}")
    if wrong:
        raise ModelFileError(
            f"{len(wrong)} tensor(s) do not match config.json: " + "; ".join(wrong[:4]) + (" …" if len(wrong) > 4 else "")
        )


def run_recipes(weights: WeightFile, recipes: list[Recipe], monitor: Monitor, start: float, stop: float) -> dict[str, np.ndarray]:
    """Read and convert every tensor, reporting progress between ``start`` and ``stop``."""
    total = sum(weights.nbytes(name) for r in recipes for name, _ in r.sources) or 1
    done = 0
    params: dict[str, np.ndarray] = {}
    for recipe in recipes:
        monitor.report(start + (stop - start) * done / total, f"reading {recipe.sources[0][0] if recipe.sources else recipe.targets[0]}")
        arrays = [weights.read(name) for name, _ in recipe.sources]
        for target, value in zip(recipe.targets, recipe.convert(*arrays), strict=True):
            params[target] = owned(value)
        done += sum(weights.nbytes(name) for name, _ in recipe.sources)
    monitor.report(stop, "weights read")
    return params


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(n) for n in shape) + "]"


def count_text(n_params: int) -> str:
    """``53,520 parameters`` for small models, ``124.4 M parameters`` for large ones."""
    return f"{n_params:,} parameters" if n_params < 1_000_000 else f"{n_params / 1e6:.1f} M parameters"


def group_names(names: Iterable[str]) -> list[str]:
    """Tensor names shortened to their first part (``cls.predictions.bias`` → ``cls.*``)."""
    groups = sorted({n.split(".")[0] + ".*" if "." in n else n for n in names})
    return groups


def readme_title(folder: Path) -> str | None:
    """The first Markdown heading of the folder's README.md (model cards start with the name)."""
    path = folder / "README.md"
    try:
        with open(path, encoding="utf-8") as handle:
            for _, line in zip(range(200), handle, strict=False):  # the heading is near the top
                if line.startswith("# "):
                    title = line[2:].strip()
                    return title or None
    except (OSError, UnicodeDecodeError):
        return None
    return None

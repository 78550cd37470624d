"""Bulk edits of a weight, as plain NumPy: reset, zero, randomise, identity, scale.

The app's Parameters browser turns each into one undoable edit (``ui/bulk_ops.py``); here is only
what the new values are, and whether an operation is allowed, so notebooks and tests get the
same numbers without Qt.

* **reset** gives back the values the model had when it was loaded;
* **randomise** draws from a normal distribution with the mean and spread of the tensor as
  loaded (seeded: the same seed gives the same numbers);
* **identity** puts ones on the main diagonal of every matrix in the slice and zeros elsewhere
  (the identity when square; for a d_model×d_head projection it keeps the first d_head
  dimensions), so it needs a slice with rows and columns;
* **scale** multiplies by a finite factor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from simulator.errors import ParamError

RESET = "reset"
ZERO = "zero"
RANDOMISE = "randomise"
IDENTITY = "identity"
SCALE = "scale"
OPS = (RESET, ZERO, RANDOMISE, IDENTITY, SCALE)
OP_TITLES = {
    RESET: "Reset to the preset's value",
    ZERO: "Zero",
    RANDOMISE: "Randomise",
    IDENTITY: "Identity (1 on the diagonal)",
    SCALE: "Scale by a factor",
}


def identity_allowed(current: np.ndarray, axes: Sequence[str], index: tuple[int, ...] | None) -> bool:
    """Identity needs the rows and columns of one matrix (not heads × entries of a bias)."""
    target = current if index is None else current[index]
    rest = tuple(axes)[len(index or ()):]
    return bool(target.ndim >= 2 and "head" not in rest[-2:])


def bulk_values(
    op: str,
    current: np.ndarray,
    original: np.ndarray,
    index: tuple[int, ...] | None = None,
    seed: int = 0,
    factor: float = 1.0,
    where: str = "the slice",
    tensor: str = "the tensor",
) -> np.ndarray:
    """The values ``op`` puts into ``current[index]`` (the whole tensor when ``index`` is None),
    in ``current``'s dtype; ``original`` is the tensor as loaded. Raises :class:`ParamError`
    (naming ``where`` and ``tensor``) for an unknown operation, a slice outside the tensor, identity on a
    vector, a bad factor, or values beyond the dtype's range."""
    try:
        target = current if index is None else current[index]
    except IndexError as exc:
        raise ParamError(f"{where} is outside {tensor} {list(current.shape)}") from exc
    dtype = current.dtype
    values: np.ndarray[Any, Any]
    if op == RESET:
        values = np.array(original if index is None else original[index], dtype=dtype)
    elif op == ZERO:
        values = np.zeros(target.shape, dtype=dtype)
    elif op == RANDOMISE:
        loaded = np.asarray(original, dtype=np.float64)
        mean = float(loaded.mean())
        spread = float(loaded.std()) or 1.0 / math.sqrt(current.shape[-1])
        rng = np.random.default_rng(seed)
        values = (mean + spread * rng.standard_normal(target.shape)).astype(dtype)
    elif op == IDENTITY:
        if target.ndim < 2:
            raise ParamError(f"identity needs a matrix; {where} is a vector")
        eye = np.eye(target.shape[-2], target.shape[-1], dtype=dtype)
        values = np.array(np.broadcast_to(eye, target.shape))
    elif op == SCALE:
        if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not math.isfinite(factor):
            raise ParamError(f"the factor must be a finite number, got {factor!r}")
        with np.errstate(over="ignore", invalid="ignore"):
            values = (np.asarray(target, dtype=np.float64) * factor).astype(dtype)
    else:
        raise ParamError(f"unknown bulk operation {op!r}; expected one of {', '.join(OPS)}")
    if not np.all(np.isfinite(values)):
        limit = np.finfo(dtype).max
        raise ParamError(f"{OP_TITLES[op].lower()} would give values beyond ±{limit:.3g} in {where}")
    return values

"""Bulk edits of a weight: reset to the preset's value, zero, randomise, identity, scale.

Each applies to a *scope*, a row of a matrix, one head's slice of a per-head tensor, or a whole
tensor, and becomes one undoable :class:`~ui.commands.SetParamCommand` whose menu text says
what it did ("zero blocks.0.attn.W_Q[h0]"). New values are computed and checked here, before
anything is pushed, so a rejected operation changes nothing.

* **reset** puts back the values the model had when it was loaded (``state.pristine_params()``);
* **randomise** draws from a normal distribution with the mean and spread of the tensor as
  loaded (seeded, so the same seed gives the same numbers);
* **identity** sets every matrix in the scope to ones on its main diagonal and zeros elsewhere
  (the identity when square; for a d_model×d_head projection it keeps the first d_head
  dimensions), so it needs a scope with rows and columns.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simulator.errors import ParamError
from simulator.stages import param_axes
from ui.commands import SetParamCommand, param_label
from ui.state import AppState

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


@dataclass(frozen=True)
class Scope:
    """Which part of a parameter: all of it, one head's slice, or one row of a (head's) matrix."""

    name: str
    head: int | None = None
    row: int | None = None

    @property
    def index(self) -> tuple[int, ...] | None:
        parts = tuple(i for i in (self.head, self.row) if i is not None)
        return parts or None

    def describe(self, state: AppState) -> str:
        return param_label(state, self.name, self.index)


def is_per_head(name: str) -> bool:
    return param_axes(name)[0] == "head"


def scopes_for(state: AppState, name: str, head: int, row: int | None) -> list[tuple[str, Scope]]:
    """The scopes that make sense for ``name`` given the head shown and a selected row."""
    shape = state.model.param_shape(name)
    per_head = is_per_head(name)
    slice_dims = len(shape) - (1 if per_head else 0)
    found: list[tuple[str, Scope]] = []
    if row is not None and slice_dims == 2:
        scope = Scope(name, head if per_head else None, row)
        found.append((f"Row {row}", scope))
    if per_head:
        found.append((f"Head {head}", Scope(name, head)))
    found.append(("Whole tensor", Scope(name)))
    return found


def is_available(state: AppState, op: str, scope: Scope) -> bool:
    """Identity needs rows and columns of one matrix (not heads × entries of a bias); every
    other operation works on any scope."""
    if op != IDENTITY:
        return True
    current = state.model.params[scope.name]
    target = current if scope.index is None else current[scope.index]
    axes = param_axes(scope.name)[len(scope.index or ()):]
    return target.ndim >= 2 and "head" not in axes[-2:]


def new_values(state: AppState, op: str, scope: Scope, seed: int = 0, factor: float = 1.0) -> np.ndarray:
    """The values ``op`` would put into ``scope``, checked; raises :class:`ParamError` if not allowed."""
    name = scope.name
    model = state.model
    current = model.params[name]
    index = scope.index
    try:
        target = current if index is None else current[index]
    except IndexError as exc:
        raise ParamError(f"{scope.describe(state)} is outside {name} {list(current.shape)}") from exc
    dtype = current.dtype
    if op == RESET:
        original = state.pristine_params()[name]
        values = np.array(original if index is None else original[index], dtype=dtype)
    elif op == ZERO:
        values = np.zeros(target.shape, dtype=dtype)
    elif op == RANDOMISE:
        original = np.asarray(state.pristine_params()[name], dtype=np.float64)
        mean = float(original.mean())
        spread = float(original.std()) or 1.0 / math.sqrt(current.shape[-1])
        rng = np.random.default_rng(seed)
        values = (mean + spread * rng.standard_normal(target.shape)).astype(dtype)
    elif op == IDENTITY:
        if target.ndim < 2:
            raise ParamError(f"identity needs a matrix; {scope.describe(state)} is a vector")
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
        raise ParamError(f"{OP_TITLES[op].lower()} would give values beyond ±{limit:.3g} in {scope.describe(state)}")
    return values


def command_text(state: AppState, op: str, scope: Scope, seed: int = 0, factor: float = 1.0) -> str:
    """The undo text, e.g. "zero blocks.0.attn.W_Q[h0]" or "scale blocks.0.mlp.W_in[3] by 2"."""
    where = scope.describe(state)
    return {
        RESET: f"reset {where} to the preset's value",
        ZERO: f"zero {where}",
        RANDOMISE: f"randomise {where} (seed {seed})",
        IDENTITY: f"set {where} to identity",
        SCALE: f"scale {where} by {factor:g}",
    }[op]


def bulk_command(state: AppState, op: str, scope: Scope, seed: int = 0, factor: float = 1.0) -> SetParamCommand:
    """One undoable command for ``op`` on ``scope``; raises :class:`ParamError` and pushes nothing if invalid."""
    values = new_values(state, op, scope, seed=seed, factor=factor)
    return SetParamCommand(state, scope.name, values, scope.index, label=command_text(state, op, scope, seed, factor))

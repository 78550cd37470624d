"""Bulk edits of a weight in the app: reset to the preset's value, zero, randomise, identity, scale.

Each applies to a *scope*, a row of a matrix, one head's slice of a per-head tensor, or a whole
tensor, and becomes one undoable :class:`~ui.commands.SetParamCommand` whose menu text says
what it did ("zero blocks.0.attn.W_Q[h0]"). The new values come from the engine
(:mod:`simulator.bulk`, where each operation is described) and are checked before anything is
pushed, so a rejected operation changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulator.bulk import IDENTITY, OP_TITLES, OPS, RANDOMISE, RESET, SCALE, ZERO, bulk_values, identity_allowed
from simulator.stages import param_axes
from ui.commands import SetParamCommand, param_label
from ui.state import AppState

__all__ = ["IDENTITY", "OPS", "OP_TITLES", "RANDOMISE", "RESET", "SCALE", "ZERO", "Scope", "bulk_command", "new_values"]


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
    return op != IDENTITY or identity_allowed(state.model.params[scope.name], param_axes(scope.name), scope.index)


def new_values(state: AppState, op: str, scope: Scope, seed: int = 0, factor: float = 1.0) -> np.ndarray:
    """The values ``op`` would put into ``scope``, checked by the engine (:mod:`simulator.bulk`);
    raises :class:`ParamError` if not allowed."""
    name = scope.name
    return bulk_values(
        op, state.model.params[name], state.pristine_params()[name], scope.index,
        seed=seed, factor=factor, where=scope.describe(state), tensor=name,
    )


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

"""Every user edit as an undoable command on the state's ``QUndoStack``.

A command remembers the value before and after, and applies it through the state, so undo
restores the previous value exactly (weights bit for bit). Consecutive commands of the same
kind merge where one gesture naturally produces many (typing a sentence, dragging a slider).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QUndoCommand

from simulator.model import Model
from simulator.stages import param_axes
from ui.state import AppState, ModelPlan, Switch

_TEXT_ID = 1001
_OPTION_ID = 1002

OPTION_NAMES = {
    "causal": "causal mask",
    "scale_scores": "scaling by √d_k",
    "temperature": "temperature",
}
VIEW_NAMES = {
    "layout": "layout",
    "show_numbers": "numbers in cells",
    "high_contrast": "high-contrast colours",
    "colour_blind_safe": "colour-blind-safe colours",
    "show_difference": "difference view",
}


class SetTextCommand(QUndoCommand):
    """Change the sentence. Typing merges into one step until the command is pushed anew."""

    def __init__(self, state: AppState, new_text: str, merge: bool = True) -> None:
        super().__init__(f'edit sentence to "{_short(new_text)}"')
        self._state = state
        self._old = state.text
        self._new = new_text
        self._merge = merge

    def id(self) -> int:
        return _TEXT_ID if self._merge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetTextCommand) or not other._merge:
            return False
        self._new = other._new
        self.setText(f'edit sentence to "{_short(self._new)}"')
        if self._new == self._old:
            self.setObsolete(True)
        _drop_merged(other)
        return True

    def redo(self) -> None:
        self._state.apply_text(self._new)

    def undo(self) -> None:
        self._state.apply_text(self._old)


class SetOptionCommand(QUndoCommand):
    """Change a run option (causal mask, scaling, temperature); slider drags merge."""

    def __init__(self, state: AppState, name: str, value: Any) -> None:
        super().__init__(_option_text(name, value))
        self._state = state
        self._name = name
        self._old = state.option(name)
        self._new = value

    def id(self) -> int:
        return _OPTION_ID if self._name == "temperature" else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, SetOptionCommand) or other._name != self._name:
            return False
        self._new = other._new
        self.setText(_option_text(self._name, self._new))
        if self._new == self._old:
            self.setObsolete(True)
        _drop_merged(other)
        return True

    def redo(self) -> None:
        self._state.apply_option(self._name, self._new)

    def undo(self) -> None:
        self._state.apply_option(self._name, self._old)


class SetViewCommand(QUndoCommand):
    """Change a display toggle (layout, numbers, colours, difference view)."""

    def __init__(self, state: AppState, name: str, value: Any) -> None:
        super().__init__(f"set {VIEW_NAMES.get(name, name)} to {_fmt(value)}")
        self._state = state
        self._name = name
        self._old = getattr(state.view, name)
        self._new = value

    def redo(self) -> None:
        self._state.apply_view(**{self._name: self._new})

    def undo(self) -> None:
        self._state.apply_view(**{self._name: self._old})


def _drop_merged(other: QUndoCommand) -> None:
    """Empty a command that was merged into another. QUndoStack deletes it, but PySide keeps its
    Python object referenced from the stack for as long as the stack lives: one per keystroke of
    typing, each holding a sentence (typing a long one piled up megabytes). Only the shell stays."""
    other.__dict__.clear()


def _option_text(name: str, value: Any) -> str:
    return f"set {OPTION_NAMES.get(name, name)} to {_fmt(value)}"


def _fmt(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _short(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SetParamCommand(QUndoCommand):
    """Set one entry, a slice, or a whole parameter tensor; undo restores the old values bit for bit.

    ``already_applied`` is for gestures (scrubbing) that changed the model live while dragging:
    the first redo then only records the step, and the gesture is one undo step.

    The step belongs to the model object it was made on. Model switches are undo steps of their
    own that bring the earlier model back first, so normally it is always that model's turn; if
    the state shows another model anyway, the step refuses (writing the old value into another
    model's tensor of the same name would silently corrupt it), says so, and drops itself from
    the history.
    """

    def __init__(
        self,
        state: AppState,
        name: str,
        value: Any,
        index: Any = None,
        label: str | None = None,
        old: Any = None,
        already_applied: bool = False,
    ) -> None:
        super().__init__(label or f"edit {param_label(state, name, index)}")
        self._state = state
        self._model = state.model
        self._name = name
        self._index = index
        current = state.model.params[name]
        self._old = old if old is not None else (current if index is None else current[index].copy())
        self._new = value
        self._skip_redo = already_applied

    @property
    def model(self) -> Model:
        """The model object this step edits."""
        return self._model

    def redo(self) -> None:
        if self._skip_redo:
            self._skip_redo = False
            return
        if self._on_own_model("redo"):
            self._state.apply_param(self._name, self._new, self._index)

    def undo(self) -> None:
        if self._on_own_model("undo"):
            self._state.apply_param(self._name, self._old, self._index)

    def _on_own_model(self, action: str) -> bool:
        if self._state.model is self._model:
            return True
        self._state.message.emit(
            f'Cannot {action} "{self.text()}": it was made on {self._model.info.title}, not on the model shown now; '
            "the step was removed from the history and no weight changed"
        )
        self.setObsolete(True)  # QUndoStack deletes an obsolete step after undo() or redo()
        return False


def param_label(state: AppState, name: str, index: Any) -> str:
    """E.g. "blocks.0.attn.W_Q[h0][2,3]" for entry (0, 2, 3) of a per-head weight."""
    if index is None:
        return name
    parts = index if isinstance(index, tuple) else (index,)
    shape = state.model.param_shape(name)
    has_head = param_axes(name)[0] == "head" and len(shape) >= 2

    def one(i: Any) -> str:
        if isinstance(i, slice):
            return f"{'' if i.start is None else i.start}:{'' if i.stop is None else i.stop}"
        return str(i)

    if has_head and parts:
        head = f"[h{one(parts[0])}]"
        rest = parts[1:]
        return name + head + (f"[{','.join(one(i) for i in rest)}]" if rest else "")
    return name + f"[{','.join(one(i) for i in parts)}]"


class SetModelCommand(QUndoCommand):
    """Switch to another model (a preset or a file), optionally with a new sentence, in one step;
    undo brings back the previous model object, with its edits, its sentence, run options, stage
    and head.

    The switch is planned when the command is made: a model that can run neither the sentence
    nor a default one raises :class:`~simulator.errors.SimulatorError` here, before anything is
    pushed, so a refused switch leaves no phantom undo step and no "modified" mark.
    """

    def __init__(self, state: AppState, model: Model, label: str | None = None, text: str | None = None) -> None:
        label = label or f"switch to model {model.info.title}"
        super().__init__(label + (f' with "{_short(text)}"' if text is not None else ""))
        self._plan: ModelPlan | None = state.plan_model(model, text)
        self._state = state
        self._before = state.snapshot()
        self._model = model
        self._text = text

    def redo(self) -> None:
        plan, self._plan = self._plan, None  # only the first redo follows the plan; it holds a trace
        self._state.apply_model(self._model, self._text, plan=plan)

    def undo(self) -> None:
        self._state.restore(self._before)


class SwitchPartCommand(QUndoCommand):
    """Switch a part of the model off (``mode`` "zero" or "mean") or back on (``mode`` None),
    in one undo step; the state makes the trace again with the new set of ablations.

    Like a weight edit, the step belongs to the model it was made on: model switches are undo
    steps of their own that bring that model back first.
    """

    def __init__(self, state: AppState, part: Switch, mode: str | None) -> None:
        self._state = state
        self._model = state.model
        self._old = state.ablations
        kept = tuple(s for s in self._old if s.part != part.part)
        if mode is None:
            self._new = kept
            label = f"switch on {part.describe(state.model)}"
        else:
            switch = Switch(part.stage, part.head, part.index, mode)
            position = next((i for i, s in enumerate(self._old) if s.part == part.part), len(self._old))
            self._new = kept[:position] + (switch,) + kept[position:]
            label = f"switch off {part.describe(state.model)} ({mode})"
        super().__init__(label)

    def redo(self) -> None:
        if self._state.model is self._model:
            self._state.apply_ablations(self._new)

    def undo(self) -> None:
        if self._state.model is self._model:
            self._state.apply_ablations(self._old)

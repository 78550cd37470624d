"""What must hold after every monkey step, whatever the step did.

* the canvas shows the state's stage, and its result panel holds bit for bit the data of the
  state's trace, sliced like the canvas documents it (current head, vocabulary selection,
  queries-as-columns, change view); that trace agrees, up to float rounding, with one recomputed
  by a *separate* model built from the current weights (an empty cache, so a stale cache or a
  stale view cannot agree with it by accident);
* the toolbar and menus agree with the state (toggles, layer and head boxes, navigator), and
  the window still fits a full-HD screen (nothing on it demands more room);
* the undo history is consistent: ``index() <= count()``, Undo/Redo enabled exactly when there
  is something to undo/redo, the window's modified marker is the opposite of the stack's clean
  state, and every position of the history the monkey has seen before shows the same session
  again (text, run options, view toggles, model and every weight bit for bit).
"""

from __future__ import annotations

import hashlib
from dataclasses import astuple, replace
from typing import Any

import numpy as np

from simulator import analysis, ops
from simulator.model import Model
from ui.state import LAYOUT_COLUMNS

#: as in ui.stage_layouts: vocabulary axes of larger models show a selection of columns
MAX_VOCAB_COLUMNS = 40
#: the main window must always fit a full-HD screen, with every dock open (a 5,000-letter word
#: once made it 37,000 pixels wide)
MAX_MINIMUM_SIZE = (1920, 1080)


class CheckFailed(AssertionError):
    """An invariant does not hold after a step."""


def require(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


# -- the data on screen ------------------------------------------------------------------------------
def independent_trace(state: Any):  # noqa: ANN201
    """A trace of the state's sentence and options by a fresh copy of the model (empty cache)."""
    model = state.model
    twin = Model(model.config, dict(model.params), model.tokenizer, model.labels, model.info)
    return twin.trace(state.text, **state.options)


def _vocab_selection(model: Model, fresh) -> tuple[int, ...] | None:  # noqa: ANN001
    if model.config.vocab_size <= 2 * MAX_VOCAB_COLUMNS or "logits" not in model.graph:
        return None
    return tuple(i for i, _ in analysis.top_k(fresh["logits"][-1], MAX_VOCAB_COLUMNS))


def _index_equal(found: tuple[int, ...] | None, expected: tuple[int, ...] | None) -> bool:
    if found is None or expected is None:
        return found is None and expected is None
    return tuple(int(i) for i in found) == tuple(int(i) for i in expected)


def check_result_panel(window: Any, fresh=None) -> None:  # noqa: ANN001
    """The result panel shows the current stage with exactly the engine's numbers."""
    state = window.state
    model = state.model
    sid = state.stage_id
    spec = model.graph[sid]
    fresh = fresh if fresh is not None else independent_trace(state)
    require(tuple(state.trace.ids) == tuple(fresh.ids), f"the state's trace ids {tuple(state.trace.ids)} are not those of its text {state.text!r}")
    require(state.trace.options == fresh.options, f"the trace options {state.trace.options} differ from the state's {fresh.options}")
    panels = window.canvas.panels
    require(bool(panels), f"the canvas shows no panel at {sid}")
    matrix = window.canvas.result_panel.matrix
    require(matrix is not None, f"the result panel at {sid} is empty")
    require(matrix.source == sid, f"the result panel shows {matrix.source!r}, the state is at {sid!r}")
    columns = state.view.layout == LAYOUT_COLUMNS
    require(bool(matrix.transposed) == columns, f"result transposed={matrix.transposed} but the layout is {state.view.layout}")
    shown_cols = matrix.row_index if matrix.transposed else matrix.col_index
    if sid == "tokens":
        vocab = model.config.vocab_size
        selection = None if vocab <= 2 * MAX_VOCAB_COLUMNS else tuple(sorted(set(int(i) for i in fresh.ids)))
        require(_index_equal(shown_cols, selection) or (selection is None and shown_cols == tuple(range(vocab))),
                f"tokens: vocabulary columns {shown_cols} expected {selection}")
    elif spec.axes[-1] == "vocab":
        selection = _vocab_selection(model, fresh)
        require(_index_equal(shown_cols, selection), f"{sid}: vocabulary columns {shown_cols} expected {selection}")
    else:
        selection = None
    if spec.has_heads:
        require(tuple(matrix.prefix) == (state.head,), f"{sid}: the panel shows head {matrix.prefix}, the state head {state.head}")
    shown = np.asarray(matrix.data)
    # bit for bit what the engine handed the state (the UI never recomputes or rounds) ...
    cached = _panel_data(state, state.trace, sid, spec, selection, columns)
    expected = cached
    if state.view.show_difference and sid != "tokens":
        expected = _expected_difference(state, sid, spec, matrix, cached, columns)
    require(shown.shape == expected.shape, f"{sid}: the result panel has shape {shown.shape}, the engine's is {expected.shape}")
    if not np.array_equal(shown, expected, equal_nan=True):
        where = np.argwhere(~((shown == expected) | (np.isnan(shown) & np.isnan(expected))))[:3].tolist()
        raise CheckFailed(f"{sid}: the result panel differs from the state's trace at {where}: shown "
                          f"{[shown[tuple(i)] for i in where]}, trace {[expected[tuple(i)] for i in where]}")
    # ... and that trace is what a model with an empty cache computes now, up to float rounding:
    # BLAS may round the last bit differently for the same product in another buffer, while a
    # stale cache is off by far more than that
    recomputed = _panel_data(state, fresh, sid, spec, selection, columns)
    require(cached.shape == recomputed.shape, f"{sid}: the trace has shape {cached.shape}, a fresh computation {recomputed.shape}")
    if not np.all(_close_cells(cached, recomputed)):
        where = np.argwhere(~_close_cells(cached, recomputed))[:3].tolist()
        raise CheckFailed(f"{sid}: the state's trace differs from a fresh computation at {where}: trace "
                          f"{[cached[tuple(i)] for i in where]}, fresh {[recomputed[tuple(i)] for i in where]}")
    lo, hi = matrix.levels
    require(np.isfinite(lo) and np.isfinite(hi) and lo < hi, f"{sid}: colour levels {matrix.levels} are not a finite range")


def _panel_data(state, trace, sid, spec, selection, columns) -> np.ndarray:  # noqa: ANN001
    """The values of ``sid`` in ``trace`` sliced as the result panel documents it."""
    if sid == "tokens":
        cols = selection if selection is not None else tuple(range(state.model.config.vocab_size))
        data = ops.one_hot(np.asarray(trace.ids), cols)
    else:
        data = np.asarray(trace[sid])
        if spec.has_heads:
            data = data[state.head]
        if data.ndim == 1:
            data = data[None, :]
        if selection is not None:
            data = data[:, list(selection)]
    return data.T if columns else data


def _close_cells(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Cell by cell: equal, both NaN, or within a few dozen units in the last place of the
    matrix's own scale (a sum of products rounds relative to its largest terms)."""
    eps = float(np.finfo(a.dtype).eps) if a.dtype.kind == "f" else 0.0
    finite = np.isfinite(a) & np.isfinite(b)
    scale = float(np.max(np.abs(b[finite]), initial=1.0))
    with np.errstate(invalid="ignore", over="ignore"):
        near = finite & (np.abs(a.astype(np.float64) - b) <= 64 * eps * max(scale, 1.0))
    return near | (a == b) | (np.isnan(a) & np.isnan(b))


def _expected_difference(state, sid, spec, matrix, plain, columns):  # noqa: ANN001, ANN202
    """The change view: new − old against the trace before the last weight edit (when there is one)."""
    baseline = state.baseline
    if baseline is None or baseline.model is not state.model or sid not in baseline:
        return plain
    old = np.asarray(baseline[sid])
    new = np.asarray(state.trace[sid])
    if old.shape != new.shape:
        return plain
    with np.errstate(over="ignore"):  # beyond the float range: ±∞, as the app shows it
        delta = np.where(np.isfinite(new) & np.isfinite(old), new - np.where(np.isfinite(old), old, 0), new)
    if spec.has_heads:
        delta = delta[state.head]
    if delta.ndim == 1:
        delta = delta[None, :]
    cols = matrix.row_index if matrix.transposed else matrix.col_index
    if cols is not None:
        delta = delta[:, list(cols)]
    return delta.T if columns else delta


# -- controls agree with the state --------------------------------------------------------------------
def check_controls(window: Any) -> None:
    state = window.state
    a = window.actions
    for name, value in (
        ("causal", state.option("causal")),
        ("scale", state.option("scale_scores")),
        ("columns", state.view.layout == LAYOUT_COLUMNS),
        ("numbers", state.view.show_numbers),
        ("contrast", state.view.high_contrast),
        ("difference", state.view.show_difference),
    ):
        require(a[name].isChecked() == bool(value), f"the {name!r} toggle shows {a[name].isChecked()}, the state has {value}")
    require(window.head_box.value() == state.head, f"the head box shows {window.head_box.value()}, the state head is {state.head}")
    if state.layer is not None:
        require(window.layer_box.value() == state.layer, f"the layer box shows {window.layer_box.value()}, the state layer is {state.layer}")
    current = window.navigator.current_item_stage()
    require(current == state.stage_id, f"the navigator highlights {current!r}, the state is at {state.stage_id!r}")
    require(state.stage_id in window.canvas.header_text(), f"the canvas header does not name {state.stage_id!r}")
    hint = window.minimumSizeHint()
    require(hint.width() <= MAX_MINIMUM_SIZE[0] and hint.height() <= MAX_MINIMUM_SIZE[1],
            f"the window cannot be smaller than {hint.width()}×{hint.height()}: it no longer fits a full-HD screen")


# -- undo history -------------------------------------------------------------------------------------
def session_digest(state: Any) -> tuple:
    """What an undo position must bring back: model object, text, options, view and every weight."""
    h = hashlib.blake2b(digest_size=16)
    for name, value in state.model.params.items():
        h.update(name.encode())
        h.update(np.ascontiguousarray(value).tobytes())
    view = astuple(replace(state.view, show_difference=False))  # (the change view is not an edit)
    return (id(state.model), state.text, tuple(sorted(state.options.items())), view, h.hexdigest())


class UndoHistory:
    """Remembers the session at each undo position the monkey has seen, to compare on revisits.

    ``check(window, kind)`` after every step: ``kind`` "undo" (undo, redo, a click in the
    history) must land on a position that shows what it showed before; "view" (stepping,
    hovering, toggling docks, exporting, saving) must not change the session at all; "edit"
    may push, merge or clear, which starts a new branch of the history after its position.
    """

    def __init__(self) -> None:
        self._seen: dict[int, tuple] = {}
        self._signature: tuple = ()

    def check(self, window: Any, kind: str) -> None:
        state = window.state
        stack = state.undo_stack
        index, count = stack.index(), stack.count()
        require(0 <= index <= count, f"undo index {index} outside 0..{count}")
        require(stack.canUndo() == (index > 0), f"canUndo {stack.canUndo()} at index {index}")
        require(stack.canRedo() == (index < count), f"canRedo {stack.canRedo()} at index {index} of {count}")
        require(window.actions["undo"].isEnabled() == stack.canUndo(), "the Undo action's enabled state disagrees with the stack")
        require(window.actions["redo"].isEnabled() == stack.canRedo(), "the Redo action's enabled state disagrees with the stack")
        require(window.isWindowModified() == (not stack.isClean()),
                f"window modified marker {window.isWindowModified()} but the stack is {'clean' if stack.isClean() else 'modified'}")
        require(window.sessions.modified == (not stack.isClean()), "the session controller disagrees with the stack's clean state")
        top = stack.command(index - 1) if index > 0 else None
        signature = (index, count, id(top))
        digest = session_digest(state)
        seen = self._seen.get(index)
        if kind == "undo":
            if seen is not None and seen != digest:
                what = [n for n, a, b in zip(("model", "text", "options", "view", "weights"), seen, digest) if a != b]
                raise CheckFailed(f"undo position {index} of {count} no longer shows the same session: {', '.join(what)} differ")
        elif signature != self._signature or seen != digest:
            if kind == "view" and signature == self._signature and seen is not None:
                what = [n for n, a, b in zip(("model", "text", "options", "view", "weights"), seen, digest) if a != b]
                raise CheckFailed(f"a step that edits nothing changed the session ({', '.join(what)}) without an undo step")
            self._seen = {i: d for i, d in self._seen.items() if i < index}
        self._seen[index] = digest
        self._signature = signature

"""Editing weights on their heatmaps: click a cell to type a value, drag vertically to scrub it.

The controller listens to heatmap panels whose matrix is a parameter (``matrix.editable``),
maps a displayed cell to the parameter entry with :meth:`Matrix.source_index`, and turns input
into commands on the state's undo stack:

* a click opens a small line edit over the cell; Enter (or leaving the field) applies a valid
  number as one :class:`SetParamCommand`; Esc cancels. Anything that is not a finite number
  the model's dtype can hold (text, NaN, inf, 1e309, nothing) is refused with a message next
  to the field and in the status bar, and nothing changes;
* a vertical drag changes the value live (every downstream panel follows while dragging) and
  becomes one undo step when the mouse is released. Up increases; Shift drags ten times finer.
  A drag belongs to the model it started on: when the stage or head changes under it, it ends
  there as one undo step; when the model or the undo history changes under it (a background
  load finishing, a preset switch, a session opened, Ctrl+Z), it ends as if it had never
  started, its live value put back, so it never writes into another model or behind the
  history's back.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QApplication, QLabel, QLineEdit, QWidget

from simulator.errors import ParamError, SimulatorError
from simulator.model import Model
from ui.commands import SetParamCommand, param_label
from ui.panels.heatmap import HeatmapPanel
from ui.state import AppState

#: A drag across this many pixels moves the value across the panel's whole colour scale.
PIXELS_PER_SCALE = 200.0
FINE_FACTOR = 0.1


#: a number whose integer part is grouped in thousands: "1,000", "-12,345.5", "1,000,000"
_GROUPED = re.compile(r"[+-]?[1-9]\d{0,2}(?:,\d{3})+(?:\.\d*)?(?:[eE][+-]?\d+)?")
#: a number with one decimal comma that cannot be read as thousands: "0,5", "-1,25", "0,500"
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")


def _without_commas(text: str) -> str:
    """``text`` with its commas read: thousands separators where the grouping is valid
    ("1,000" is 1000, never 1.0), else one decimal comma ("0,5"); any other comma is an error."""
    if "," not in text:
        return text
    if _GROUPED.fullmatch(text):
        return text.replace(",", "")
    if _DECIMAL_COMMA.fullmatch(text) and "." not in text:
        return text.replace(",", ".")
    raise ParamError(
        f"{text!r} is not a number: commas are read as thousands separators (1,000 or 1,000.5) or one decimal comma (0,5); "
        "type the number without them"
    )


def parse_value(text: str, dtype: Any = np.float32) -> float:
    """A finite number from what the user typed, or a :class:`ParamError` saying what is wrong."""
    stripped = _without_commas(text.strip().replace("−", "-"))  # cells show a typographic minus
    if not stripped:
        raise ParamError("the value is empty: type a number such as 0.5 or -1.2")
    try:
        value = float(stripped)
    except ValueError:
        raise ParamError(f"{text.strip()!r} is not a number: type a number such as 0.5 or -1.2") from None
    if math.isnan(value):
        raise ParamError("NaN (not a number) is not allowed: type a finite number")
    limit = float(np.finfo(dtype).max)
    if math.isinf(value) and "inf" in stripped.lower():
        raise ParamError("infinity is not allowed: type a finite number")
    with np.errstate(over="ignore"):
        cast = np.asarray(value).astype(dtype)
    if not np.isfinite(cast):
        raise ParamError(f"{stripped} is too large: weights must stay within ±{limit:.3g}")
    return value


def format_exact(value: Any) -> str:
    """The shortest text that reads back as exactly this value (in its own dtype)."""
    scalar = np.asarray(value)
    return str(scalar.dtype.type(scalar.item()))


@dataclass
class _Gesture:
    """One scrub in progress."""

    panel: HeatmapPanel
    model: Model
    name: str
    index: tuple[int, ...]
    old: Any
    step: float
    current: Any
    changed: bool = False


class CellEditor(QLineEdit):
    """The line edit laid over a cell; shows its error right under itself."""

    cancelled = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("cellEditor")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.error_label = QLabel(parent)
        self.error_label.setObjectName("cellEditorError")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(
            "QLabel { background: #fff4f4; color: #a00000; border: 1px solid #d04040; padding: 3px; }"
        )
        self.error_label.hide()
        self.textEdited.connect(lambda _: self.show_error(""))

    def show_error(self, message: str) -> None:
        self.setStyleSheet("QLineEdit { border: 2px solid #d04040; }" if message else "")
        self.error_label.setText(message)
        if message:
            parent = self.parentWidget()
            room = parent.width() if parent is not None else 260
            width = min(max(self.width(), 260), room)  # wraps inside the panel rather than off its edge
            self.error_label.setFixedWidth(width)
            self.error_label.adjustSize()
            x = min(self.x(), max(0, parent.width() - width)) if parent else self.x()
            below = self.y() + self.height() + 2
            if parent is not None and below + self.error_label.height() > parent.height():
                below = max(0, self.y() - self.error_label.height() - 2)
            self.error_label.move(x, below)
            self.error_label.show()
            self.error_label.raise_()
        else:
            self.error_label.hide()

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        if event.key() == Qt.Key.Key_Escape:
            self.cancelled.emit()
            return
        super().keyPressEvent(event)

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and event.key() == Qt.Key.Key_Escape:
            event.accept()  # Esc closes the editor, it does not leave presentation mode
            return True
        return super().event(event)

    def close_editor(self) -> None:
        self.error_label.hide()
        self.error_label.deleteLater()
        self.hide()
        self.deleteLater()


class WeightEditor(QObject):
    """Turns clicks and drags on weight heatmaps into undoable parameter edits."""

    edit_refused = Signal(str)
    #: Enter applied the value or Esc cancelled it: the keyboard goes back to stepping
    finished = Signal()

    def __init__(self, state: AppState, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._panels: list[HeatmapPanel] = []
        self._editor: CellEditor | None = None
        self._editor_target: tuple[HeatmapPanel, str, tuple[int, ...]] | None = None
        self._gesture: _Gesture | None = None
        self._canvas: Any = None
        state.stage_changed.connect(lambda _: self.close_editor())
        state.model_changed.connect(self.close_editor)
        state.head_changed.connect(lambda _: self.close_editor())
        self._pushing = False
        state.stage_changed.connect(lambda _: self.end_scrub("the stage changed", keep=True))
        state.head_changed.connect(lambda _: self.end_scrub("the head changed", keep=True))
        state.model_changed.connect(lambda: self.end_scrub("the model changed"))
        state.undo_stack.indexChanged.connect(self._history_changed)

    # -- which panels ---------------------------------------------------------------------------
    def attach(self, panel: HeatmapPanel) -> None:
        """Let the user edit ``panel`` whenever it shows a parameter (idempotent)."""
        if panel in self._panels:
            return
        self._panels.append(panel)
        panel.cell_clicked.connect(lambda r, c, p=panel: self.open_editor(p, r, c))
        panel.scrub_started.connect(lambda r, c, p=panel: self._scrub_started(p, r, c))
        panel.scrub_moved.connect(lambda r, c, dy, p=panel: self._scrub_moved(p, r, c, dy))
        panel.scrub_finished.connect(lambda r, c, dy, p=panel: self._scrub_finished(p, r, c, dy))

    def follow_canvas(self, canvas: Any) -> None:
        """Attach every panel the stage canvas shows, including ones it creates later."""
        self._canvas = canvas
        for signal in (self._state.stage_changed, self._state.model_changed, self._state.view_changed, self._state.head_changed):
            signal.connect(self._attach_canvas_panels)
        self._attach_canvas_panels()

    def _attach_canvas_panels(self, *_: object) -> None:
        for panel in self._canvas.panels:
            self.attach(panel)

    # -- typing a value -----------------------------------------------------------------------------
    @property
    def active_editor(self) -> CellEditor | None:
        return self._editor

    def target(self, panel: HeatmapPanel, row: int, col: int) -> tuple[str, tuple[int, ...]] | None:
        """(parameter name, index) of an editable cell, or None for a computed matrix."""
        matrix = panel.matrix
        if matrix is None or not matrix.editable or not matrix.source:
            return None
        return matrix.source, matrix.source_index(row, col)

    def open_editor(self, panel: HeatmapPanel, row: int, col: int) -> CellEditor | None:
        """Open the line edit over a weight cell, prefilled with its exact value."""
        self.close_editor()
        found = self.target(panel, row, col)
        if found is None:
            matrix = panel.matrix
            if matrix is not None and matrix.source:
                self._state.message.emit(
                    f"{matrix.title} is computed from the weights; click a cell of a weight matrix (W_…, b_…) to edit it."
                )
            return None
        name, index = found
        value = self._state.model.params[name][index]
        editor = CellEditor(panel.viewport())
        text = format_exact(value)
        editor.setText(text)
        editor.setToolTip(f"New value for {param_label(self._state, name, index)}: Enter applies, Esc cancels")
        center = panel.cell_center_in_widget(row, col)
        size = _cell_size(panel, row, col)
        viewport = panel.viewport()
        # wide enough for the whole exact value (a cut "-84.85…" would hide its sign), within the panel
        width = min(max(int(size[0]), 90, editor.fontMetrics().horizontalAdvance(text) + 20), viewport.width())
        height = max(int(min(size[1], 32)), 26)
        x = int(min(max(center.x() - width / 2, 0), max(viewport.width() - width, 0)))
        y = int(min(max(center.y() - height / 2, 0), max(viewport.height() - height, 0)))
        editor.setGeometry(x, y, width, height)
        editor.returnPressed.connect(self.commit_editor)
        editor.cancelled.connect(self._cancel_editor)
        editor.editingFinished.connect(self._editing_finished)
        editor.show()
        editor.raise_()
        editor.selectAll()
        editor.setFocus(Qt.FocusReason.MouseFocusReason)
        self._editor = editor
        self._editor_target = (panel, name, index)
        self._state.message.emit(f"Type a new value for {param_label(self._state, name, index)}; Enter applies, Esc cancels.")
        return editor

    def commit_editor(self) -> bool:
        """Apply the editor's text; on bad input show why and keep the editor open."""
        if self._editor is None or self._editor_target is None:
            return False
        _, name, index = self._editor_target
        text = self._editor.text()
        if self.set_value(name, index, text):
            self.close_editor()
            self.finished.emit()
            return True
        return False

    def _cancel_editor(self) -> None:
        self.close_editor()
        self.finished.emit()

    def _editing_finished(self) -> None:
        editor = self._editor
        if editor is None or editor.hasFocus() or self._editor_target is None:
            return  # Enter also emits editingFinished; returnPressed handles it
        _, name, index = self._editor_target
        try:
            value = parse_value(editor.text(), self._state.model.params[name].dtype)
        except ParamError:
            self.close_editor()
            return
        if _as_dtype(value, self._state.model.params[name]) != self._state.model.params[name][index]:
            self.set_value(name, index, editor.text())
        self.close_editor()

    def close_editor(self) -> None:
        editor, self._editor, self._editor_target = self._editor, None, None
        if editor is not None:
            editor.close_editor()

    def set_value(self, name: str, index: tuple[int, ...], text: str) -> bool:
        """Parse ``text`` and push one edit; on bad input report it, change nothing, return False."""
        error = push_typed_value(self._state, name, index, text)
        if error:
            self._refuse(error)
        return not error

    def _refuse(self, message: str) -> None:
        if self._editor is not None:
            self._editor.show_error(message)
        self._state.message.emit(message)
        self.edit_refused.emit(message)

    # -- scrubbing ------------------------------------------------------------------------------
    @property
    def scrubbing(self) -> bool:
        return self._gesture is not None

    def _scrub_started(self, panel: HeatmapPanel, row: int, col: int) -> None:
        self.close_editor()
        found = self.target(panel, row, col)
        if found is None:
            return
        name, index = found
        matrix = panel.matrix
        assert matrix is not None
        lo, hi = matrix.levels
        span = hi - lo if math.isfinite(hi - lo) and hi > lo else 2.0
        old = self._state.model.params[name][index]
        self._gesture = _Gesture(panel, self._state.model, name, index, old, span / PIXELS_PER_SCALE, old)

    def _scrub_moved(self, panel: HeatmapPanel, row: int, col: int, dy: float) -> None:
        self.scrub_to_offset(panel, dy)

    def scrub_to_offset(self, panel: HeatmapPanel, dy: float) -> None:
        """Set the scrubbed cell to its value at the start plus ``dy`` pixels' worth (live)."""
        gesture = self._gesture
        if gesture is None or gesture.panel is not panel or gesture.model is not self._state.model:
            return
        fine = QApplication.keyboardModifiers() & Qt.KeyboardModifier.ShiftModifier
        step = gesture.step * (FINE_FACTOR if fine else 1.0)
        current = self._state.model.params[gesture.name]
        value = _as_dtype(float(gesture.old) + dy * step, current)
        if value == gesture.current:
            return
        try:
            self._state.apply_param(gesture.name, value, gesture.index, update_baseline=not gesture.changed)
        except SimulatorError as exc:
            self._state.message.emit(str(exc))
            return
        gesture.current = value
        gesture.changed = True
        label = param_label(self._state, gesture.name, gesture.index)
        self._state.message.emit(f"{label} = {format_exact(value)} (was {format_exact(gesture.old)}); release to keep, Ctrl+Z to undo")

    def _scrub_finished(self, panel: HeatmapPanel, row: int, col: int, dy: float) -> None:
        gesture = self._gesture
        if gesture is None or gesture.panel is not panel:
            return
        self.scrub_to_offset(panel, dy)
        self._gesture = None
        self._commit(gesture)

    def end_scrub(self, reason: str, keep: bool = False) -> None:
        """End a scrub in progress because something changed under it (``reason`` says what).

        With ``keep`` (navigation: the model and history are untouched) the drag so far is kept
        as one undo step.
        Otherwise (this runs inside the model switch or the undo that changed things, where no
        step can be pushed) the live value is put back into the scrub's own model, unless the
        change already wrote that entry, so the history describes the model exactly again.
        """
        gesture, self._gesture = self._gesture, None
        if gesture is None or not gesture.changed or gesture.current == gesture.old:
            return
        label = param_label(self._state, gesture.name, gesture.index) if gesture.model is self._state.model else gesture.name
        if keep and gesture.model is self._state.model:
            self._commit(gesture)
            self._state.message.emit(f"Scrub of {label} ended because {reason}; kept as one step, Ctrl+Z undoes it")
            return
        entry = gesture.model.params[gesture.name][gesture.index]
        if entry == gesture.current:
            if gesture.model is self._state.model:
                self._state.apply_param(gesture.name, gesture.old, gesture.index, update_baseline=False)
            else:  # the model is off screen, held by an undo step: undoing the switch brings it back as it was
                gesture.model.set_param(gesture.name, gesture.old, gesture.index)
        self._state.message.emit(f"Scrub of {label} cancelled because {reason}; its value was put back")

    def _history_changed(self, *_: object) -> None:
        if not self._pushing:
            self.end_scrub("the undo history changed")

    def _commit(self, gesture: _Gesture) -> None:
        """Push a finished scrub on its own model as one (already applied) undo step."""
        if not gesture.changed or gesture.current == gesture.old or gesture.model is not self._state.model:
            return  # dragged back to where it started: the model already holds the old value
        command = SetParamCommand(
            self._state, gesture.name, gesture.current, gesture.index, old=gesture.old, already_applied=True
        )
        self._pushing = True
        try:
            self._state.undo_stack.push(command)
        finally:
            self._pushing = False
        label = param_label(self._state, gesture.name, gesture.index)
        self._state.message.emit(f"{label} = {format_exact(gesture.current)} (was {format_exact(gesture.old)}); Ctrl+Z to undo")


def push_typed_value(state: AppState, name: str, index: tuple[int, ...], text: str) -> str:
    """Push one :class:`SetParamCommand` for typed ``text``; return "" or why nothing changed."""
    try:
        current = state.model.params[name]
        value = _as_dtype(parse_value(text, current.dtype), current)
        if not isinstance(current[index], np.generic):
            raise ParamError(f"{param_label(state, name, index)} is not a single entry")
        old = current[index]
        command = SetParamCommand(state, name, value, index)
    except (SimulatorError, IndexError, KeyError) as exc:
        return f"{param_label(state, name, index)} not changed: {exc}"
    state.undo_stack.push(command)
    state.message.emit(f"{param_label(state, name, index)} = {format_exact(value)} (was {format_exact(old)}); Ctrl+Z undoes")
    return ""


def _as_dtype(value: float, like: np.ndarray) -> Any:
    with np.errstate(over="ignore"):
        return like.dtype.type(value)


def _cell_size(panel: HeatmapPanel, row: int, col: int) -> tuple[float, float]:
    a = panel.cell_center_in_widget(row, col)
    b = panel.cell_center_in_widget(row + 1, col + 1)
    return abs(b.x() - a.x()), abs(b.y() - a.y())


def widget_point(panel: HeatmapPanel, row: int, col: int) -> QPoint:
    """Integer viewport coordinates of a cell's centre (what mouse events need)."""
    pos = panel.cell_center_in_widget(row, col)
    return QPoint(int(round(pos.x())), int(round(pos.y())))

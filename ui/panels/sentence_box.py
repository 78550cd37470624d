"""The sentence box: type a sentence and every stage recomputes; see its tokens as chips.

Chips show each token readably (``tokenizer.display``: "␣cat", "…er"); hovering one shows the
raw piece as stored in the vocabulary ("Ġcat", "##er") and its id.

Every edit that the model can run becomes the state's sentence at once (one undo step per
burst of typing); text it cannot run (empty, longer than the context) shows an inline error
while the last good result stays on screen. Escape puts the last good sentence back.
"""

from __future__ import annotations

import itertools

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QLabel, QLineEdit, QVBoxLayout, QWidget

from simulator.errors import SimulatorError
from simulator.tokenizer import Encoding
from ui.commands import SetTextCommand
from ui.panels.flow_layout import FlowLayout
from ui.state import AppState

#: undo-command ids for typing steps start here (far from the ids in ui.commands)
_TYPING_ID_BASE = 1_000_000

_CHIP_STYLE = """
QLabel#tokenChip {
    border: 1px solid #8fa3bf; border-radius: 7px; background: #eef3fa;
    padding: 1px 6px; color: #1a1a1a;
}
QLabel#tokenChip[unknown="true"] {
    border: 2px dashed #e07b00; background: #fff3e0;
}
"""
_ERROR_STYLE = "color: #b00020; font-weight: 600;"
#: longer words are cut short on their chip (the tooltip has them whole): one 5,000-letter word
#: would otherwise make the chip, and with it the window's minimum width, tens of thousands of pixels
MAX_CHIP_CHARS = 24


def _elide(text: str, limit: int = MAX_CHIP_CHARS) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _TypingCommand(SetTextCommand):
    """A sentence edit that merges only with edits of the same burst of typing.

    Each burst (ended by Enter, leaving the box, Escape, an error or a change made elsewhere)
    gets its own merge id, so typing after a pause starts a new undo step while each keystroke
    of the burst still merges into one.
    """

    def __init__(self, state: AppState, new_text: str, burst: int) -> None:
        super().__init__(state, new_text, merge=True)
        self._burst = burst

    def id(self) -> int:
        return _TYPING_ID_BASE + self._burst


_HISTORY_KEYS = (QKeySequence.StandardKey.Undo, QKeySequence.StandardKey.Redo)


class _SentenceEdit(QLineEdit):
    """A line edit that reports Escape (and Undo) instead of letting them reach window shortcuts
    while the typed text differs from the state's sentence (it could not run: empty, too long),
    and otherwise leaves Undo/Redo to the window: every keystroke is already a command on the
    app's one history, so the line edit's own undo would fork a second history."""

    escape_pressed = Signal()

    def __init__(self, box: "SentenceBox") -> None:
        super().__init__()
        self._box = box

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if event.key() == Qt.Key.Key_Escape and self._box.has_pending_text():
                event.accept()
                return True
            if event.matches(QKeySequence.StandardKey.Undo) and self._box.has_pending_text():
                event.accept()  # typed text that could not run: Undo takes it back (keyPressEvent)
                return True
            if any(event.matches(key) for key in _HISTORY_KEYS):
                event.ignore()  # not overridden: the window's Undo/Redo shortcuts run
                return False
        return super().event(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt's name)
        if event.key() == Qt.Key.Key_Escape or (event.matches(QKeySequence.StandardKey.Undo) and self._box.has_pending_text()):
            self.escape_pressed.emit()  # back to the last sentence that ran
            event.accept()
            return
        if any(event.matches(key) for key in _HISTORY_KEYS):
            event.accept()  # the window's history had nothing to undo: not the line edit's own either
            return
        super().keyPressEvent(event)


class SentenceBox(QWidget):
    """The sentence editor, its inline error, and the token chips of the current trace.

    ``finished`` is emitted on Enter or Esc: the window then gives the keyboard back to the
    canvas, so the stepping keys step again instead of moving the text cursor."""

    finished = Signal()

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sentenceBox")
        self._state = state
        self._bursts = itertools.count(1)
        self._burst = 0
        self._new_burst = True
        #: the sentence the box last agreed with the state on
        self._synced_text = state.text
        #: encodings already computed, by text (the last edit's and the chips')
        self._encodings: dict[str, Encoding] = {}
        self._chip_encoding: Encoding | None = None
        self._chip_texts: list[str] = []
        self._chips: list[QLabel] = []

        self.edit = _SentenceEdit(self)
        self.edit.setObjectName("sentenceEdit")
        self.edit.setPlaceholderText("Type a sentence…")
        self.edit.setClearButtonEnabled(True)
        self.edit.setToolTip("Edit the sentence: every stage recomputes as you type. Esc puts back the last sentence that ran.")
        self.edit.setText(state.text)
        self.setFocusProxy(self.edit)
        self.error_label = QLabel()
        self.error_label.setObjectName("sentenceError")
        self.error_label.setStyleSheet(_ERROR_STYLE)
        self.error_label.setWordWrap(True)
        self.chip_area = QWidget()
        self.chip_area.setObjectName("tokenChips")
        self.chip_area.setStyleSheet(_CHIP_STYLE)
        self._flow = FlowLayout(self.chip_area, spacing=5)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.edit)
        layout.addWidget(self.error_label)
        layout.addWidget(self.chip_area)
        layout.addStretch(1)
        self._show_error(state.text_error)
        self._refresh_chips()
        self._connect()

    # -- signals: the one place where the panel subscribes ------------------------------------------
    def _connect(self) -> None:
        s = self._state
        self.edit.textEdited.connect(self._typed)
        self.edit.editingFinished.connect(self._end_burst)
        self.edit.escape_pressed.connect(self._restore)
        self.edit.escape_pressed.connect(self.finished)
        self.edit.returnPressed.connect(self.finished)
        s.trace_changed.connect(self._state_text_changed)
        s.model_changed.connect(self._model_changed)
        s.text_error_changed.connect(self._show_error)

    # -- reading (for tests and the window) ------------------------------------------------------------
    def chips(self) -> list[str]:
        """The chip texts, e.g. ``["a · 3", "zebra → <unk> · 0"]``."""
        return list(self._chip_texts)

    def chip_labels(self) -> list[QLabel]:
        """The chip widgets shown, in order."""
        return self._chips[: len(self._chip_texts)]

    def has_pending_text(self) -> bool:
        """True when the box shows something other than the sentence that last ran."""
        return bool(self._state.text_error) or self.edit.text() != self._state.text

    # -- typing --------------------------------------------------------------------------------------------
    def _typed(self, text: str) -> None:
        state = self._state
        try:
            encoding = self._encode(text)
        except SimulatorError as exc:
            state.show_text_error(str(exc))
            self._new_burst = True
            return
        if encoding == self._chip_encoding:  # same tokens as what is on screen: nothing to run
            state.show_text_error("")
            return
        if self._new_burst:
            self._burst = next(self._bursts)
            self._new_burst = False
        self._synced_text = text
        state.undo_stack.push(_TypingCommand(state, text, self._burst))

    def _end_burst(self) -> None:
        self._new_burst = True

    def _restore(self) -> None:
        self.edit.setText(self._state.text)
        self._synced_text = self._state.text
        self._state.show_text_error("")
        self._new_burst = True

    # -- following the state ------------------------------------------------------------------------------
    def _state_text_changed(self) -> None:
        text = self._state.text
        if text != self._synced_text:  # undo, redo, Append: a change made elsewhere
            self._synced_text = text
            self._new_burst = True
            if self.edit.text() != text:
                self.edit.setText(text)
        self._refresh_chips()

    def _model_changed(self) -> None:
        self._encodings.clear()
        self._chip_encoding = None
        self._synced_text = self._state.text
        self._new_burst = True
        if self.edit.text() != self._state.text:
            self.edit.setText(self._state.text)
        self._show_error(self._state.text_error)
        self._refresh_chips()

    def _show_error(self, error: str) -> None:
        self.error_label.setText(error)
        self.error_label.setVisible(bool(error))
        self.edit.setStyleSheet("QLineEdit { border: 2px solid #b00020; border-radius: 3px; }" if error else "")

    # -- chips ------------------------------------------------------------------------------------------
    def _encode(self, text: str) -> Encoding:
        cached = self._encodings.get(text)
        if cached is None:
            cached = self._state.model.encode(text)
            keep = {k: v for k, v in self._encodings.items() if k == self._state.text}
            self._encodings = {**keep, text: cached}
        return cached

    def _refresh_chips(self) -> None:
        encoding = self._encode(self._state.text)
        if encoding == self._chip_encoding:
            return
        self._chip_encoding = encoding
        tokenizer = self._state.model.tokenizer
        unknown = dict(zip(encoding.unknown, encoding.unknown_text))
        texts: list[str] = []
        while len(self._chips) < len(encoding.ids):
            chip = QLabel()
            chip.setObjectName("tokenChip")
            chip.setTextFormat(Qt.TextFormat.PlainText)
            self._flow.addWidget(chip)
            self._chips.append(chip)
        for pos, (token_id, token) in enumerate(zip(encoding.ids, encoding.tokens)):
            chip = self._chips[pos]
            shown = tokenizer.display(token)
            raw = f"raw piece “{token}” · id {token_id}"
            if pos in unknown:
                text = f"{_elide(unknown[pos])} → {_elide(shown)} · {token_id}"
                tip = f"position {pos}: “{unknown[pos]}” is not in the vocabulary: mapped to {shown} ({raw})"
            else:
                text = f"{_elide(shown)} · {token_id}"
                tip = f"position {pos}: token “{shown}”\n{raw}"
            chip.setText(text)
            chip.setToolTip(tip)
            if chip.property("unknown") != (pos in unknown):
                chip.setProperty("unknown", pos in unknown)
                chip.style().unpolish(chip)
                chip.style().polish(chip)
            chip.setVisible(True)
            texts.append(text)
        for chip in self._chips[len(encoding.ids):]:
            chip.setVisible(False)
        self._chip_texts = texts
        self.chip_area.updateGeometry()

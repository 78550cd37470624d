"""Edit → History: every edit on the undo stack, newest at the bottom; click one to go back to it."""

from __future__ import annotations

from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import QLabel, QUndoView, QVBoxLayout, QWidget

#: The first row of the list: the session before any edit.
CLEAN_TEXT = "Session as opened (no edits)"


class HistoryView(QWidget):
    """A :class:`QUndoView` of the state's undo stack with a one-line explanation."""

    def __init__(self, stack: QUndoStack, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyView")
        self.list = QUndoView(stack)
        self.list.setObjectName("historyList")
        self.list.setEmptyLabel(CLEAN_TEXT)
        hint = QLabel("Click a line to undo or redo up to it. Every edit, toggle and sentence change is listed.")
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #555;")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addWidget(hint)

    def entries(self) -> list[str]:
        """The texts listed, starting with :data:`CLEAN_TEXT`."""
        model = self.list.model()
        return [model.index(row, 0).data() for row in range(model.rowCount())]

"""Help → Keyboard shortcuts: every action with its keys, read from the declared actions."""

from __future__ import annotations

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHeaderView, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ui.actions import Actions


#: what the mouse does on the canvas (no action of its own, so listed here)
MOUSE_ROWS = (
    ("Show a value and the cells it came from", "Hover a cell"),
    ("Type a new value into a weight", "Click a weight cell"),
    ("Scrub a weight (finer with Shift)", "Drag up or down on a weight cell"),
    ("Jump to a stage", "Click it in the Forward pass list"),
)


def _name(key: str, text: str) -> str:
    """An action's name without its mnemonic; Undo and Redo without the edit they would undo now."""
    text = text.replace("&", "")
    return {"undo": "Undo", "redo": "Redo"}.get(key, text)


class ShortcutsDialog(QDialog):
    """A read-only table: what each shortcut does."""

    def __init__(self, actions: Actions, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("shortcutsDialog")
        self.setWindowTitle("Keyboard shortcuts")
        rows = [
            (_name(key, action.text()), ", ".join(k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts()))
            for key, action in actions.items()
            if action.shortcuts()
        ] + list(MOUSE_ROWS)
        self.table = QTableWidget(len(rows), 2, self)
        self.table.setHorizontalHeaderLabels(["Action", "Keys"])
        for r, (text, keys) in enumerate(rows):
            self.table.setItem(r, 0, QTableWidgetItem(text))
            self.table.setItem(r, 1, QTableWidgetItem(keys))
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(520, 560)

    def rows(self) -> list[tuple[str, str]]:
        return [(self.table.item(r, 0).text(), self.table.item(r, 1).text()) for r in range(self.table.rowCount())]

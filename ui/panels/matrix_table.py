"""A matrix shown as a table: row and column headers and every value as text.

For screen readers (a table is read cell by cell with its headers, a heatmap is not) and for
copying into a spreadsheet: Ctrl+C copies the selected cells, or the whole table when nothing is
selected, as tab-separated text with the headers.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from ui.panels.heatmap import Matrix, special_text

#: significant digits of the values in the table (the engine's float32 carries about seven)
DIGITS = 7


def value_text(value: float) -> str:
    """A value for the table: up to DIGITS significant digits, −∞ / +∞ / NaN by name."""
    value = float(value)
    special = special_text(value)
    return special if special is not None else f"{value:.{DIGITS}g}".replace("-", "−")


def _headers(labels: tuple[str, ...], count: int) -> list[str]:
    return [labels[i] if i < len(labels) and labels[i] else str(i) for i in range(count)]


class MatrixTableDialog(QDialog):
    """The values of one panel's matrix, with its row and column labels as headers."""

    def __init__(self, matrix: Matrix, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("matrixTable")
        self.setWindowTitle(f"{matrix.title} as a table")
        data = np.asarray(matrix.data, dtype=np.float64)
        if data.ndim == 1:
            data = data[None, :]
        rows, cols = data.shape
        self.table = QTableWidget(rows, cols, self)
        self.table.setObjectName("matrixTableView")
        self.table.setAccessibleName(f"{matrix.title}: {rows} rows by {cols} columns")
        self.table.setHorizontalHeaderLabels(_headers(matrix.col_labels, cols))
        self.table.setVerticalHeaderLabels(_headers(matrix.row_labels, rows))
        for r in range(rows):
            for c in range(cols):
                item = QTableWidgetItem(value_text(data[r, c]))
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                self.table.setItem(r, c, item)
        note = QLabel(f"rows: {matrix.row_axis or '—'} · columns: {matrix.col_axis or '—'} · {rows}×{cols}. "
                      "Ctrl+C copies the selected cells (or all) for a spreadsheet.")
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        copy = buttons.addButton("Copy all", QDialogButtonBox.ButtonRole.ActionRole)
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.copy_text(everything=True)))
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.resize(min(900, 120 + 80 * cols), min(700, 120 + 28 * rows))

    def copy_text(self, everything: bool = False) -> str:
        """The selected cells (all when nothing is selected, or ``everything``) as tab-separated
        lines, with the column headers first and each row's header in front."""
        table = self.table
        ranges = [] if everything else table.selectedRanges()
        if ranges:
            rows = sorted({r for rg in ranges for r in range(rg.topRow(), rg.bottomRow() + 1)})
            cols = sorted({c for rg in ranges for c in range(rg.leftColumn(), rg.rightColumn() + 1)})
        else:
            rows, cols = list(range(table.rowCount())), list(range(table.columnCount()))
        header = [""] + [table.horizontalHeaderItem(c).text() for c in cols]
        lines = ["\t".join(header)]
        for r in rows:
            cells = [table.item(r, c).text().replace("−", "-") for c in cols]
            lines.append("\t".join([table.verticalHeaderItem(r).text(), *cells]))
        return "\n".join(lines) + "\n"

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        if event.matches(QKeySequence.StandardKey.Copy):
            QGuiApplication.clipboard().setText(self.copy_text())
            event.accept()
            return
        super().keyPressEvent(event)

"""The table editor: a whole weight matrix (or one head's slice) as a spreadsheet of numbers.

A :class:`QTableView` over :class:`WeightTableModel`. Cells are tinted with the heatmaps'
colour scale; double-click or start typing to edit. Every edit goes through
:func:`ui.weight_editing.push_typed_value`, so it is validated the same way as typing on a
heatmap and becomes one undo step; a refused value is explained under the table and nothing
changes. Arrow keys move between cells (they do not step through the stages here).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QEvent, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QTableView, QVBoxLayout, QWidget

from simulator.stages import param_axes
from ui import colors
from ui.commands import param_label
from ui.panels.heatmap import format_value
from ui.state import AppState
from ui.stage_layouts import bulk_peak, symmetric
from ui.weight_editing import format_exact, push_typed_value

ModelIndex = QModelIndex | QPersistentModelIndex
NAVIGATION_KEYS = {
    Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End,
    Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Space,
}
_COLOR_STEPS = 64


class WeightTableModel(QAbstractTableModel):
    """One parameter as rows × columns (per-head tensors: one head's slice; vectors: one row)."""

    #: why the last edit was refused ("" after a successful one)
    edit_refused = Signal(str)

    def __init__(self, state: AppState, parent: Any = None) -> None:
        super().__init__(parent)
        self._state = state
        self._name = ""
        self._head = 0
        self._data = np.zeros((0, 0))
        self._row_labels: tuple[str, ...] = ()
        self._col_labels: tuple[str, ...] = ()
        self._lut: list[QColor] = []
        self._text_colors: list[QColor] = []
        self._levels = (-1.0, 1.0)
        state.trace_changed.connect(self._values_changed)
        state.model_changed.connect(self._model_changed)
        state.view_changed.connect(self._colours_changed)

    # -- what it shows ---------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._name

    @property
    def head(self) -> int:
        return self._head

    def set_param(self, name: str, head: int = 0) -> None:
        """Show parameter ``name`` (its slice for ``head`` if it has a head axis)."""
        self.beginResetModel()
        self._name = name if name in self._state.model.params else ""
        self._head = head
        self._load()
        self.endResetModel()

    def source_index(self, row: int, col: int) -> tuple[int, ...]:
        """Index into the parameter of table cell (row, col)."""
        prefix = (self._head,) if self._per_head() else ()
        if self._is_vector():
            return (*prefix, col)
        return (*prefix, row, col)

    def values(self) -> np.ndarray:
        """The numbers shown, as a 2-D array (what tests compare with the model)."""
        return self._data

    # -- Qt model -----------------------------------------------------------------------------
    def rowCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 (Qt's name and default)
        return 0 if parent.isValid() else self._data.shape[0]

    def columnCount(self, parent: ModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else self._data.shape[1]

    def data(self, index: ModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        value = self._data[index.row(), index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return format_value(float(value))
        if role == Qt.ItemDataRole.EditRole:
            return format_exact(value)
        if role == Qt.ItemDataRole.ToolTipRole:
            label = param_label(self._state, self._name, self.source_index(index.row(), index.column()))
            return f"{label} = {format_exact(value)}"
        if role == Qt.ItemDataRole.TextAlignmentRole:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.BackgroundRole:
            return QBrush(self._lut[self._color_step(value)])
        if role == Qt.ItemDataRole.ForegroundRole:
            return QBrush(self._text_colors[self._color_step(value)])
        return None

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        labels = self._col_labels if orientation == Qt.Orientation.Horizontal else self._row_labels
        return labels[section] if 0 <= section < len(labels) else None

    def flags(self, index: ModelIndex) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsEditable

    def setData(self, index: ModelIndex, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        if not index.isValid() or role != Qt.ItemDataRole.EditRole or not self._name:
            return False
        error = push_typed_value(self._state, self._name, self.source_index(index.row(), index.column()), str(value))
        if error:
            self._state.message.emit(error)
        self.edit_refused.emit(error)
        return not error

    # -- internals -----------------------------------------------------------------------------
    def _per_head(self) -> bool:
        return bool(self._name) and param_axes(self._name)[0] == "head"

    def _is_vector(self) -> bool:
        axes = param_axes(self._name)
        return len(axes) - (1 if self._per_head() else 0) == 1

    def _load(self) -> None:
        if not self._name:
            self._data = np.zeros((0, 0))
            self._row_labels = self._col_labels = ()
            return
        model = self._state.model
        full = model.params[self._name]
        self._head = min(self._head, model.config.n_heads - 1) if self._per_head() else 0
        data = full[self._head] if self._per_head() else full
        axes = param_axes(self._name)[1:] if self._per_head() else param_axes(self._name)
        layer = model.param_layer(self._name)

        def labels(axis: str, size: int) -> tuple[str, ...]:
            if axis == "pos":
                return tuple(f"pos {i}" for i in range(size))
            return model.axis_labels(axis, layer, size)

        if data.ndim == 1:
            self._data = data[None, :]
            self._row_labels = ("",)
            self._col_labels = labels(axes[0], data.shape[0])
        else:
            self._data = data
            self._row_labels = labels(axes[0], data.shape[0])
            self._col_labels = labels(axes[1], data.shape[1])
        self._levels = symmetric(bulk_peak([full]))
        self._build_colours()

    def _build_colours(self) -> None:
        high = colors.palette_for(self._state.view)
        cmap = colors.colormap(colors.DIVERGING, high)
        lo, hi = self._levels
        steps = np.linspace(lo, hi, _COLOR_STEPS)
        self._lut = [QColor(c) for c in cmap.map(np.linspace(0.0, 1.0, _COLOR_STEPS), mode="qcolor")]
        self._text_colors = [colors.text_color_for(float(v), self._levels, colors.DIVERGING, high) for v in steps]

    def _color_step(self, value: float) -> int:
        lo, hi = self._levels
        t = (float(value) - lo) / (hi - lo) if hi > lo else 0.5
        return int(min(max(t, 0.0), 1.0) * (_COLOR_STEPS - 1) + 0.5)

    def _values_changed(self) -> None:
        if not self._name:
            return
        if self._name not in self._state.model.params:
            self.set_param("")
            return
        self._load()
        if self._data.size:
            self.dataChanged.emit(self.index(0, 0), self.index(self._data.shape[0] - 1, self._data.shape[1] - 1))

    def _model_changed(self) -> None:
        self.set_param(self._name, self._head)

    def _colours_changed(self) -> None:
        self._build_colours()
        if self._data.size:
            self.dataChanged.emit(self.index(0, 0), self.index(self._data.shape[0] - 1, self._data.shape[1] - 1))


class WeightTableView(QTableView):
    """A table whose arrow keys move between cells instead of stepping through the stages."""

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if event.key() in NAVIGATION_KEYS and event.modifiers() == Qt.KeyboardModifier.NoModifier:
                event.accept()
                return True
        return super().event(event)


class WeightTable(QWidget):
    """Title, head selector, the table, and the reason for the last refused edit."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("weightTable")
        self._state = state
        self.model = WeightTableModel(state, self)
        self.title = QLabel("Choose a parameter in the Parameters browser")
        self.title.setObjectName("weightTableTitle")
        self.title.setStyleSheet("font-weight: 600;")
        self.head_box = QSpinBox()
        self.head_box.setObjectName("weightTableHead")
        self.head_box.setPrefix("Head ")
        self.view = WeightTableView()
        self.view.setObjectName("weightTableView")
        self.view.setModel(self.model)
        self.view.setEditTriggers(
            QTableView.EditTrigger.DoubleClicked | QTableView.EditTrigger.EditKeyPressed | QTableView.EditTrigger.AnyKeyPressed
        )
        self.view.horizontalHeader().setDefaultSectionSize(64)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.error = QLabel()
        self.error.setObjectName("weightTableError")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #a00000;")
        self.error.hide()
        self.hint = QLabel("Double-click a cell or start typing to change it; Enter applies, Esc cancels.")
        self.hint.setStyleSheet("color: #555;")
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.head_box)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(top)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.hint)
        self.head_box.valueChanged.connect(lambda h: self.show_param(self.model.name, h))
        self.model.edit_refused.connect(self._show_error)
        self.model.modelReset.connect(self._update_title)
        state.model_changed.connect(self._update_title)

    def show_param(self, name: str, head: int = 0) -> None:
        """Show ``name`` (one head's slice for per-head tensors)."""
        if name == self.model.name and head == self.model.head and self.model.rowCount():
            return
        self.model.set_param(name, head)

    def _update_title(self) -> None:
        name = self.model.name
        per_head = bool(name) and param_axes(name)[0] == "head"
        self.head_box.blockSignals(True)
        self.head_box.setRange(0, max(self._state.model.config.n_heads - 1, 0))
        self.head_box.setValue(self.model.head)
        self.head_box.blockSignals(False)
        self.head_box.setVisible(per_head)
        if not name:
            self.title.setText("Choose a parameter in the Parameters browser")
            return
        shape = " × ".join(str(n) for n in self._state.model.param_shape(name))
        rows, cols = self.model.rowCount(), self.model.columnCount()
        part = f" · head {self.model.head} ({rows} × {cols})" if per_head else ""
        self.title.setText(f"{name}  [{shape}]{part}")
        self.error.hide()

    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(bool(message))

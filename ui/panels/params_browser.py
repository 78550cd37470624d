"""The Parameters browser: every weight of the model by name and shape, shown as a heatmap.

Pick a tensor in the list to see it (one head's slice at a time for per-head tensors, a window
of rows and columns for very large ones). Its cells are edited like any weight panel (the
main window attaches the :class:`~ui.weight_editing.WeightEditor`): click to type, drag to
scrub. Below the heatmap, bulk operations act on the clicked row, the head's slice or the
whole tensor, each as one undo step.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QShowEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QSplitter,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from simulator.errors import SimulatorError
from simulator.stages import param_axes
from ui import bulk_ops, colors
from ui.panels.heatmap import HeatmapPanel, Matrix
from ui.state import AppState
from ui.stage_layouts import bulk_peak, symmetric

#: Larger tensors are shown through a window of this many rows / columns.
MAX_ROWS = 128
MAX_COLS = 128
MIN_HEATMAP_HEIGHT = 160
AXIS_NAMES = {"d_mlp": "neuron", "vocab": "word", "pos": "position", "token_type": "segment"}
NAVIGATION_KEYS = {
    Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Home, Qt.Key.Key_End,
    Qt.Key.Key_PageUp, Qt.Key.Key_PageDown, Qt.Key.Key_Space,
}


class _ParamTree(QTreeWidget):
    """The list of tensors; arrow keys move in the list instead of stepping through stages."""

    def event(self, event: QEvent) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and isinstance(event, QKeyEvent):
            if event.key() in NAVIGATION_KEYS and event.modifiers() == Qt.KeyboardModifier.NoModifier:
                event.accept()
                return True
        return super().event(event)


def param_matrix(state: AppState, name: str, head: int, row_start: int = 0, col_start: int = 0) -> Matrix:
    """The matrix the browser shows for ``name`` (head ``head``; a window if the tensor is large)."""
    model = state.model
    data = model.params[name]
    axes = param_axes(name)
    prefix: tuple[int, ...] = ()
    if axes[0] == "head":
        data = data[head]
        axes = axes[1:]
        prefix = (head,)
    layer = model.param_layer(name)
    levels = symmetric(bulk_peak([model.params[name]]))
    title = name + (f" · head {head}" if prefix else "")
    shape_note = "×".join(str(n) for n in model.param_shape(name))
    if data.ndim == 1:
        cols, col_index, note = _window(data.shape[0], col_start, MAX_COLS)
        labels = _labels(state, axes[0], layer, data.shape[0])
        shown = data if col_index is None else data[list(col_index)]
        if col_index is not None:
            labels = tuple(labels[i] for i in col_index)
        return Matrix(
            shown[None, :], ("",), labels, "", AXIS_NAMES.get(axes[0], axes[0]), title, levels, colors.DIVERGING, name,
            col_index=col_index, prefix=prefix, note=_join(f"tensor {shape_note}", note and f"columns {note}"),
            editable=True, extra={"vector": True},
        )
    _, row_index, row_note = _window(data.shape[0], row_start, MAX_ROWS)
    _, col_index, col_note = _window(data.shape[1], col_start, MAX_COLS)
    shown = data
    row_labels = _labels(state, axes[0], layer, data.shape[0])
    col_labels = _labels(state, axes[1], layer, data.shape[1])
    if row_index is not None:
        shown = shown[list(row_index)]
        row_labels = tuple(row_labels[i] for i in row_index)
    if col_index is not None:
        shown = shown[:, list(col_index)]
        col_labels = tuple(col_labels[i] for i in col_index)
    return Matrix(
        shown, row_labels, col_labels, AXIS_NAMES.get(axes[0], axes[0]), AXIS_NAMES.get(axes[1], axes[1]), title, levels,
        colors.DIVERGING, name, row_index=row_index, col_index=col_index, prefix=prefix,
        note=_join(f"tensor {shape_note}", row_note and f"rows {row_note}", col_note and f"columns {col_note}"), editable=True,
    )


def _window(size: int, start: int, limit: int) -> tuple[int, tuple[int, ...] | None, str]:
    if size <= limit:
        return size, None, ""
    start = max(0, min(start, size - limit))
    return limit, tuple(range(start, start + limit)), f"{start}–{start + limit - 1} of {size}"


def _labels(state: AppState, axis: str, layer: int | None, size: int) -> tuple[str, ...]:
    if axis == "pos":
        return tuple(f"pos {i}" for i in range(size))
    return state.model.axis_labels(axis, layer, size)


def _join(*parts: str) -> str:
    return " · ".join(p for p in parts if p)


class ParamsBrowser(QWidget):
    """List of every parameter; the chosen one as an editable heatmap, with bulk operations."""

    #: (parameter name, head) whenever the shown tensor or head changes
    param_selected = Signal(str, int)
    #: the user asked for the table editor on the shown tensor
    table_requested = Signal(str, int)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("paramsBrowser")
        self._state = state
        self._name = ""
        self._row: int | None = None
        self._stale = False

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("paramsFilter")
        self.filter_edit.setPlaceholderText("Filter, e.g. W_Q or blocks.1")
        self.filter_edit.setClearButtonEnabled(True)
        self.tree = _ParamTree()
        self.tree.setObjectName("paramsTree")
        self.tree.setColumnCount(2)
        self.tree.setHeaderLabels(["Parameter", "Shape"])
        self.tree.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.tree.header().setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.setUniformRowHeights(True)
        self.tree.setMinimumHeight(72)

        self.head_box = QSpinBox()
        self.head_box.setObjectName("paramsHead")
        self.head_box.setPrefix("Head ")
        self.row_start = QSpinBox()
        self.row_start.setObjectName("paramsRowStart")
        self.row_start.setPrefix("Rows from ")
        self.col_start = QSpinBox()
        self.col_start.setObjectName("paramsColStart")
        self.col_start.setPrefix("Columns from ")
        self.table_button = QPushButton("Open in table")
        self.table_button.setObjectName("paramsOpenTable")
        self.table_button.setToolTip("Edit every value of this tensor (or head slice) in a table")
        self.heatmap = HeatmapPanel("paramsHeatmap")
        self.heatmap.setToolTip("Click a cell to type a value; drag up or down on a cell to scrub it")
        self.heatmap.setMinimumHeight(MIN_HEATMAP_HEIGHT)
        self.hint = QLabel("Click a cell to type a value · drag up/down to scrub it · Ctrl+Z undoes")
        self.hint.setObjectName("paramsHint")
        self.hint.setStyleSheet("color: #555;")

        self.scope_box = QComboBox()
        self.scope_box.setObjectName("bulkScope")
        self.scope_box.setToolTip("What the operations below change: a row (click a cell to choose it), this head's slice or the whole tensor")
        self.seed_box = QSpinBox()
        self.seed_box.setObjectName("bulkSeed")
        self.seed_box.setRange(0, 2**31 - 1)
        self.seed_box.setPrefix("seed ")
        self.factor_box = QDoubleSpinBox()
        self.factor_box.setObjectName("bulkFactor")
        self.factor_box.setRange(-1000.0, 1000.0)
        self.factor_box.setDecimals(3)
        self.factor_box.setSingleStep(0.5)
        self.factor_box.setValue(2.0)
        self.factor_box.setPrefix("× ")
        self.bulk_buttons: dict[str, QPushButton] = {}
        for op, text in ((bulk_ops.RESET, "Reset"), (bulk_ops.ZERO, "Zero"), (bulk_ops.RANDOMISE, "Randomise"),
                         (bulk_ops.IDENTITY, "Identity"), (bulk_ops.SCALE, "Scale")):
            button = QPushButton(text)
            button.setObjectName(f"bulk_{op}")
            button.setToolTip(bulk_ops.OP_TITLES[op])
            button.clicked.connect(lambda _=False, o=op: self.run_bulk(o))
            self.bulk_buttons[op] = button
        self.bulk_toggle = QToolButton()
        self.bulk_toggle.setObjectName("bulkToggle")
        self.bulk_toggle.setText("Change many values at once (reset, zero, randomise, identity, scale)")
        self.bulk_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.bulk_toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.bulk_toggle.setCheckable(True)
        self.bulk_toggle.setAutoRaise(True)
        self.bulk_error = QLabel()
        self.bulk_error.setObjectName("bulkError")
        self.bulk_error.setWordWrap(True)
        self.bulk_error.setStyleSheet("color: #a00000;")
        self.bulk_error.hide()

        self._layout()
        self._connect()
        self.rebuild()

    def _layout(self) -> None:
        top = QWidget()
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 0)
        top_layout.addWidget(self.filter_edit)
        top_layout.addWidget(self.tree)
        bottom = QWidget()
        bottom_layout = QVBoxLayout(bottom)
        bottom_layout.setContentsMargins(0, 0, 0, 0)
        controls = QHBoxLayout()
        for widget in (self.head_box, self.row_start, self.col_start):
            controls.addWidget(widget)
        controls.addStretch(1)
        controls.addWidget(self.table_button)
        bottom_layout.addLayout(controls)
        bottom_layout.addWidget(self.heatmap, 1)
        bottom_layout.addWidget(self.hint)
        bulk = QWidget()
        bulk.setObjectName("bulkGroup")
        bulk.setVisible(False)
        self.bulk_toggle.toggled.connect(bulk.setVisible)
        self.bulk_toggle.toggled.connect(
            lambda on: self.bulk_toggle.setArrowType(Qt.ArrowType.DownArrow if on else Qt.ArrowType.RightArrow)
        )
        grid = QGridLayout(bulk)
        grid.setContentsMargins(6, 4, 6, 4)
        grid.addWidget(QLabel("Apply to"), 0, 0)
        grid.addWidget(self.scope_box, 0, 1, 1, 3)
        grid.addWidget(self.bulk_buttons[bulk_ops.RESET], 1, 0)
        grid.addWidget(self.bulk_buttons[bulk_ops.ZERO], 1, 1)
        grid.addWidget(self.bulk_buttons[bulk_ops.IDENTITY], 1, 2, 1, 2)
        grid.addWidget(self.bulk_buttons[bulk_ops.RANDOMISE], 2, 0)
        grid.addWidget(self.seed_box, 2, 1)
        grid.addWidget(self.bulk_buttons[bulk_ops.SCALE], 2, 2)
        grid.addWidget(self.factor_box, 2, 3)
        grid.addWidget(self.bulk_error, 3, 0, 1, 4)
        bottom_layout.addWidget(self.bulk_toggle)
        bottom_layout.addWidget(bulk)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(top)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 4)
        splitter.setSizes([160, 640])
        outer = QVBoxLayout(self)
        outer.setContentsMargins(4, 4, 4, 4)
        outer.addWidget(splitter)

    def _connect(self) -> None:
        s = self._state
        s.model_changed.connect(self.rebuild)
        s.trace_changed.connect(self._refresh_if_visible)
        s.view_changed.connect(self._apply_view)
        self.filter_edit.textChanged.connect(self._apply_filter)
        self.tree.currentItemChanged.connect(self._item_chosen)
        self.head_box.valueChanged.connect(lambda _: self._show())
        self.row_start.valueChanged.connect(lambda _: self._show())
        self.col_start.valueChanged.connect(lambda _: self._show())
        self.table_button.clicked.connect(lambda: self.table_requested.emit(self._name, self.head_box.value()))
        self.heatmap.cell_clicked.connect(self._cell_clicked)
        self.scope_box.currentIndexChanged.connect(self._update_buttons)

    # -- what tests and the window read -------------------------------------------------------------
    @property
    def current_name(self) -> str:
        return self._name

    @property
    def head(self) -> int:
        return self.head_box.value()

    def names(self) -> list[str]:
        """Every parameter listed, in the model's order."""
        found = []
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                found.append(group.child(j).data(0, Qt.ItemDataRole.UserRole))
        return found

    def select(self, name: str, head: int | None = None) -> None:
        """Show ``name`` (and head ``head``) as if the user had picked it."""
        if head is not None:
            self.head_box.blockSignals(True)
            self.head_box.setValue(head)
            self.head_box.blockSignals(False)
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            for j in range(group.childCount()):
                item = group.child(j)
                if item.data(0, Qt.ItemDataRole.UserRole) == name:
                    if self.tree.currentItem() is item:
                        self._show()
                    else:
                        self.tree.setCurrentItem(item)
                    QTimer.singleShot(0, self.tree, self._scroll_to_current)
                    return
        raise SimulatorError(f"no parameter named {name!r}")

    def _scroll_to_current(self) -> None:
        item = self.tree.currentItem()
        if item is not None:
            self.tree.scrollToItem(item)

    # -- building -----------------------------------------------------------------------------------
    def rebuild(self) -> None:
        model = self._state.model
        previous = self._name
        # forget the old model's parameter and row first: setting the head range below may redraw,
        # and a row of the old model can be outside the new one's parameter of the same name
        self._name = ""
        self._row = None
        self.tree.blockSignals(True)
        self.tree.clear()
        groups: dict[str, QTreeWidgetItem] = {}
        for name, value in model.params.items():
            group_name = ".".join(name.split(".")[:2]) if name.startswith("blocks.") else name.split(".")[0]
            group = groups.get(group_name)
            if group is None:
                group = QTreeWidgetItem(self.tree, [group_name, ""])
                group.setFlags(group.flags() & ~Qt.ItemFlag.ItemIsSelectable)
                groups[group_name] = group
            item = QTreeWidgetItem(group, [name[len(group_name) + 1:] if name != group_name else name, " × ".join(map(str, value.shape))])
            item.setData(0, Qt.ItemDataRole.UserRole, name)
            item.setToolTip(0, f"{name}: axes {' × '.join(param_axes(name))}")
        self.tree.expandAll()
        self.tree.blockSignals(False)
        self.head_box.setRange(0, max(model.config.n_heads - 1, 0))
        self._apply_filter(self.filter_edit.text())
        self._name = ""
        target = previous if previous in model.params else next(iter(model.params))
        self.select(target)

    def _apply_filter(self, text: str) -> None:
        needle = text.strip().lower()
        for i in range(self.tree.topLevelItemCount()):
            group = self.tree.topLevelItem(i)
            visible = 0
            for j in range(group.childCount()):
                item = group.child(j)
                hit = not needle or needle in item.data(0, Qt.ItemDataRole.UserRole).lower()
                item.setHidden(not hit)
                visible += hit
            group.setHidden(visible == 0)

    def _item_chosen(self, item: QTreeWidgetItem | None, _previous: QTreeWidgetItem | None = None) -> None:
        name = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        if not name:
            return
        if name != self._name:
            self._row = None
            self.row_start.blockSignals(True)
            self.col_start.blockSignals(True)
            self.row_start.setValue(0)
            self.col_start.setValue(0)
            self.row_start.blockSignals(False)
            self.col_start.blockSignals(False)
        self._name = name
        self._show()

    def _show(self) -> None:
        if not self._name or self._name not in self._state.model.params:
            return
        name = self._name
        model = self._state.model
        per_head = bulk_ops.is_per_head(name)
        self.head_box.setEnabled(per_head)
        shape = model.param_shape(name)
        inner = shape[1:] if per_head else shape
        rows = inner[0] if len(inner) == 2 else 1
        cols = inner[-1]
        for box, size, limit in ((self.row_start, rows, MAX_ROWS), (self.col_start, cols, MAX_COLS)):
            box.setVisible(size > limit)
            box.blockSignals(True)
            box.setRange(0, max(size - limit, 0))
            box.blockSignals(False)
        self.heatmap.set_matrix(param_matrix(self._state, name, self.head_box.value(), self.row_start.value(), self.col_start.value()))
        self._fill_scopes()
        self.bulk_error.hide()
        self.param_selected.emit(name, self.head_box.value())

    def _refresh_if_visible(self) -> None:
        """Follow a weight edit; while hidden, only remember to catch up when shown."""
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        if self._name in self._state.model.params:
            self.heatmap.set_matrix(
                param_matrix(self._state, self._name, self.head_box.value(), self.row_start.value(), self.col_start.value())
            )

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._stale:
            self._refresh_if_visible()

    def _apply_view(self) -> None:
        view = self._state.view
        self.heatmap.set_show_numbers(view.show_numbers)
        self.heatmap.set_high_contrast(colors.palette_for(view))

    # -- bulk operations ----------------------------------------------------------------------------
    def _cell_clicked(self, row: int, col: int) -> None:
        matrix = self.heatmap.matrix
        if matrix is None or matrix.extra.get("vector"):
            return
        self._row = matrix.source_index(row, col)[-2]
        self._fill_scopes()

    def _fill_scopes(self) -> None:
        previous = self.scope_box.currentText().split(" ")[0]
        self.scope_box.clear()
        for text, scope in bulk_ops.scopes_for(self._state, self._name, self.head_box.value(), self._row):
            self.scope_box.addItem(f"{text}: {scope.describe(self._state)}", scope)
        for i in range(self.scope_box.count()):
            if self.scope_box.itemText(i).startswith(previous + " ") or self.scope_box.itemText(i).startswith(previous + ":"):
                self.scope_box.setCurrentIndex(i)
                break
        self._update_buttons()

    def _update_buttons(self, *_: object) -> None:
        scope = self.scope_box.currentData()
        for op, button in self.bulk_buttons.items():
            button.setEnabled(scope is not None and bulk_ops.is_available(self._state, op, scope))

    def set_scope(self, kind: str) -> None:
        """Choose the scope whose label starts with ``kind`` ("Row", "Head", "Whole")."""
        for i in range(self.scope_box.count()):
            if self.scope_box.itemText(i).startswith(kind):
                self.scope_box.setCurrentIndex(i)
                return
        raise SimulatorError(f"no {kind!r} scope for {self._name}")

    def run_bulk(self, op: str) -> bool:
        """Apply a bulk operation to the chosen scope as one undo step; report a refusal inline."""
        scope = self.scope_box.currentData()
        if scope is None:
            return False
        try:
            command = bulk_ops.bulk_command(
                self._state, op, scope, seed=self.seed_box.value(), factor=float(self.factor_box.value())
            )
        except SimulatorError as exc:
            self.bulk_error.setText(str(exc))
            self.bulk_error.show()
            self._state.message.emit(str(exc))
            return False
        self.bulk_error.hide()
        self._state.undo_stack.push(command)
        return True


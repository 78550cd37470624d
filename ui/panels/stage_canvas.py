"""The stage canvas: the current stage's result and its operands, side by side like the equation.

Hovering a cell of any matrix writes a readout to the state (shown in the status bar); hovering
a cell of the result also outlines the cells of the operands it was computed from.

Speed: panels are pooled (created once, then only given new matrices); the row of panels is
rebuilt only when the equation's shape changes; and before the window paints after a change,
the canvas settles every pending layout and scene update first (see :meth:`StageCanvas._settle`),
so each panel is laid out and painted once per step instead of once per layout pass.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from simulator import analysis
from ui import colors
from ui.math_html import equation_html
from ui.panels.heatmap import HeatmapPanel, Matrix, format_value
from ui.stage_layouts import LevelTable, Term, layout_for, linked_cells, oriented, symmetric, term_matrix
from ui.state import LAYOUT_COLUMNS, AppState, Hover

MAX_PANEL_STRETCH = 40


class StageCanvas(QWidget):
    """Shows the current stage as ``operand op operand = result`` heatmaps."""

    #: (panel, displayed row, displayed col) when a cell of a weight panel is clicked
    weight_cell_clicked = Signal(object, int, int)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("stageCanvas")
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the stepping keys go to the window from here
        self._state = state
        self._panels: list[HeatmapPanel] = []
        self._operators: list[QLabel] = []
        self._terms: list[Term] = []
        self._items: list[Term | str] = []
        self._structure: tuple[str, ...] = ()
        self._levels: LevelTable | None = None
        self._levels_for: object = None
        self._point_size = 10
        self._operator_size = 22
        self._operator_fonts: dict[int, QFont] = {}
        self._stretches: list[int] = []
        #: the top-level window whose paints wait for the canvas to settle (see _settle)
        self._watched: QWidget | None = None
        self._settle_pending = False

        self._header_box = _HeaderBox()
        self._header = self._header_box.label
        strip = QWidget()
        self._row = QHBoxLayout(strip)
        self._row.setContentsMargins(0, 0, 0, 0)
        self._row.setSpacing(4)
        # The panels need some width each; when the window is narrow, scroll sideways rather
        # than squeezing the docks next to the canvas.
        self._scroll = QScrollArea()
        self._scroll.setObjectName("canvasScroll")
        self._scroll.setWidget(strip)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(self._header_box)
        outer.addWidget(self._scroll, 1)
        self._connect()
        self.refresh()

    def _connect(self) -> None:
        s = self._state
        s.stage_changed.connect(self.refresh)
        s.trace_changed.connect(self.refresh)
        s.model_changed.connect(self.refresh)
        s.head_changed.connect(self.refresh)
        s.view_changed.connect(self.refresh)
        s.hover_changed.connect(self._show_links)

    # -- what tests and other views read -------------------------------------------------------
    @property
    def panels(self) -> list[HeatmapPanel]:
        """The visible heatmaps, left to right; the last one is the result."""
        return self._panels[: len(self._terms)]

    @property
    def terms(self) -> list[Term]:
        return list(self._terms)

    @property
    def result_panel(self) -> HeatmapPanel:
        return self.panels[-1]

    def operator_texts(self) -> list[str]:
        return [item for item in self._items if isinstance(item, str)]

    # -- building ------------------------------------------------------------------------------
    def refresh(self) -> None:
        self._settle_pending = True
        state = self._state
        trace = state.trace
        if self._levels_for is not trace:
            self._levels = LevelTable(trace, reference=self._state.baseline)
            self._levels_for = trace
        columns = state.view.layout == LAYOUT_COLUMNS
        items = oriented(layout_for(state.model, state.stage_id, state.option("causal")), columns)
        terms = [item for item in items if isinstance(item, Term)]
        self._items = items
        self._terms = terms
        while len(self._panels) < len(terms):
            panel = HeatmapPanel(f"panel{len(self._panels)}")
            panel.set_font_point_size(self._point_size)
            index = len(self._panels)
            panel.cell_hovered.connect(lambda cell, i=index: self._on_hover(i, cell))
            panel.cell_clicked.connect(lambda r, c, p=panel: self.weight_cell_clicked.emit(p, r, c))
            self._panels.append(panel)
        n_ops = sum(1 for item in items if isinstance(item, str))
        while len(self._operators) < n_ops:
            label = QLabel()
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            label.setMaximumWidth(130)
            self._operators.append(label)
        structure = tuple("T" if isinstance(item, Term) else "O" for item in items)
        relayout = structure != self._structure
        if relayout:
            while self._row.count():
                self._row.takeAt(0)
            self._structure = structure
        panel_i = op_i = 0
        self._stretches = []
        view = state.view
        assert self._levels is not None
        for item in items:
            if isinstance(item, Term):
                panel = self._panels[panel_i]
                matrix = term_matrix(item, trace, state.head, self._levels, columns)
                if item is terms[-1] and view.show_difference:
                    matrix = self._difference(matrix, item)
                panel.set_high_contrast(view.high_contrast)
                panel.set_show_numbers(view.show_numbers)
                panel.set_matrix(matrix)
                panel.set_highlights([])
                cols = matrix.data.shape[1] if matrix.data.ndim == 2 else matrix.data.shape[0]
                stretch = max(3, min(cols, MAX_PANEL_STRETCH))
                if item is terms[-1]:  # the result is what the stage is about: never the narrowest
                    stretch = max([stretch, *self._stretches])
                self._stretches.append(stretch)
                if relayout:
                    self._row.addWidget(panel, stretch)
                else:
                    self._row.setStretch(self._row.indexOf(panel), stretch)
                panel.show()
                panel_i += 1
            else:
                label = self._operators[op_i]
                if label.text() != item:
                    label.setText(item)
                font = self._operator_font(self._operator_size if len(item) <= 3 else max(10, self._operator_size // 2))
                if label.font() != font:
                    label.setFont(font)
                if relayout:
                    self._row.addWidget(label, 0)
                label.show()
                op_i += 1
        shown = self._panels[:panel_i]
        top = max((panel.natural_plot_top() for panel in shown), default=0.0)
        for panel in shown:  # every panel's cells start at the same height: rows line up
            panel.set_min_plot_top(top)
        for panel in self._panels[panel_i:]:
            panel.hide()
        for label in self._operators[op_i:]:
            label.hide()
        self._update_header()

    def _operator_font(self, size: int) -> QFont:
        font = self._operator_fonts.get(size)
        if font is None:
            font = self._operator_fonts[size] = QFont()
            font.setPointSize(size)
        return font

    # -- one paint per change ------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        top = self.window()
        if top is not self._watched:
            top.installEventFilter(self)
            self._watched = top

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt's name)
        if self._settle_pending and event.type() == QEvent.Type.UpdateRequest:
            self._settle()
        return False

    def _settle(self) -> None:
        """Run the layouts and scene updates a change has queued, just before the window paints.

        Changing the panels queues layout requests (the row of panels, the header, the docks)
        and, per panel, a scene update; Qt would paint once, then lay out, then paint again
        (and again for each scene whose update was queued by the layout). Done here, the paint
        that follows draws everything once, in its final place.
        """
        self._settle_pending = False
        for _ in range(2):
            QCoreApplication.sendPostedEvents(None, QEvent.Type.LayoutRequest)
            for panel in self._panels:  # (hidden ones too: they may have just been hidden)
                QCoreApplication.sendPostedEvents(panel.scene(), QEvent.Type.MetaCall)

    def _difference(self, matrix: Matrix, term: Term) -> Matrix:
        """new − old for the result, against the trace before the last weight edit.

        The change is cut and oriented exactly like ``matrix`` (same head, same shown columns,
        same transposition) so it lines up with the panel's labels.
        """
        state = self._state
        baseline = state.baseline
        if term.special == "onehot" or baseline is None or term.source not in baseline or baseline.model is not state.model:
            return replace(matrix, note="no edit to compare with yet")
        old = baseline[term.source]
        new = state.trace[term.source]
        if old.shape != new.shape:
            return replace(matrix, note="the sentence changed since the edit")
        delta = analysis.change(old, new)
        if term.by_head:
            delta = delta[state.head]
        if delta.ndim == 1:
            delta = delta[None, :]
        shown_columns = matrix.row_index if matrix.transposed else matrix.col_index
        if shown_columns is not None:
            delta = delta[:, list(shown_columns)]
        if matrix.transposed:
            delta = delta.T
        peak = float(np.max(np.abs(delta[np.isfinite(delta)]), initial=0.0))
        return replace(
            matrix, data=delta, levels=symmetric(peak), kind=colors.DIVERGING,  # a change is signed, even of a probability
            title="Change: new − old",
            note="since the last edit" if peak > 0 else "no change here since the last edit",
        )

    def _update_header(self) -> None:
        state = self._state
        stage = state.trace.stage(state.stage_id)
        ids = state.model.stage_ids()
        position = ids.index(state.stage_id) + 1
        size = self._point_size
        head = f" · head {state.head}" if stage.spec.has_heads else ""
        self._header_box.set_text(
            f"<span style='font-size:{size + 8}pt; font-weight:600'>{stage.title}</span>"
            f"<span style='font-size:{size + 1}pt; color:#666'>&nbsp;&nbsp;{stage.id}{head} · step {position} of {len(ids)}</span><br>"
            f"<span style='font-size:{size + 5}pt; font-family:serif'>{equation_html(stage.equation)}</span>"
            f"<span style='font-size:{size}pt; color:#666'>&nbsp;&nbsp;&nbsp;{stage.shape_text}</span>"
        )

    def header_text(self) -> str:
        return self._header.text()

    # -- presentation ------------------------------------------------------------------------------
    @property
    def point_size(self) -> int:
        """The point size of the canvas's labels; cells and numbers scale with it (zoom)."""
        return self._point_size

    def set_font_point_size(self, size: int) -> None:
        """Scale labels, titles, numbers, colour bars and the minimum cell sizes together."""
        if size == self._point_size:
            return
        self._point_size = size
        self._operator_size = size * 2 + 2
        for panel in self._panels:
            panel.set_font_point_size(size)
        self.refresh()

    # -- hover --------------------------------------------------------------------------------------
    def _on_hover(self, index: int, cell: tuple[int, int] | None) -> None:
        if cell is None or index >= len(self._terms):
            if self._state.hover is not None and self._state.hover.panel == f"panel{index}":
                self._state.set_hover(None)
            return
        panel = self._panels[index]
        matrix = panel.matrix
        if matrix is None:
            return
        row, col = cell
        value = float(np.asarray(matrix.data, dtype=np.float64).reshape(len(matrix.row_labels), -1)[row, col])
        self._state.set_hover(
            Hover(panel=f"panel{index}", source=matrix.source, index=matrix.source_index(row, col), text=readout(matrix, row, col, value))
        )

    def _show_links(self, hover: Hover | None) -> None:
        for panel in self.panels:
            panel.set_highlights([])
        if hover is None or hover.panel != f"panel{len(self._terms) - 1}":
            return
        result = self.result_panel.matrix
        if result is None:
            return
        index = hover.index[len(result.prefix):]
        for term, panel in zip(self._terms[:-1], self.panels[:-1]):
            if panel.matrix is not None:
                panel.set_highlights(linked_cells(term, panel.matrix, index, self._state.trace.ids))


class _HeaderBox(QWidget):
    """The stage's title, id and equation above the panels.

    The label sits in this box without a layout, and the box takes the label's height for its
    width: a new step's text then re-lays out the window only when it needs another line (a
    label in a layout makes every text change re-lay out the canvas, the central widget and
    the main window with its docks).
    """

    def __init__(self) -> None:
        super().__init__()
        self.label = QLabel(self)
        self.label.setObjectName("stageHeader")
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def set_text(self, html: str) -> None:
        if html != self.label.text():
            self.label.setText(html)
            self._fit()

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(self.label.sizeHint().width(), self.height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        return QSize(0, self.height())

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit()

    def _fit(self) -> None:
        width = max(self.width(), 1)
        height = self.label.heightForWidth(width)
        if height < 0:
            height = self.label.sizeHint().height()
        self.label.setGeometry(0, 0, width, height)
        if height != self.height():
            self.setFixedHeight(height)


def readout(matrix: Matrix, row: int, col: int, value: float) -> str:
    """E.g. "pattern · head 0 · query 'creature' · key 'fluffy' = 0.62"."""
    name = matrix.source.rsplit(".", 1)[-1] if matrix.source else matrix.title
    parts = [name]
    if matrix.prefix:
        parts.append(f"head {matrix.prefix[0]}")
    if matrix.row_axis:
        parts.append(f"{matrix.row_axis} '{matrix.row_labels[row]}'")
    if matrix.col_axis:
        parts.append(f"{matrix.col_axis} '{matrix.col_labels[col]}'")
    shown = "masked (−∞)" if np.isneginf(value) else format_value(value).replace("−", "-")
    return " · ".join(parts) + f" = {shown}"

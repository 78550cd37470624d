"""The stage canvas: the current stage's result and its operands, side by side like the equation.

Hovering a cell of any matrix writes a readout to the state (shown in the status bar); hovering
a cell of the result also outlines the cells of the operands it was computed from.

Speed: panels are pooled (created once, then only given new matrices); the rows of panels are
rebuilt only when the equation's widgets or its wrapping change; and before the window paints after a change,
the canvas settles every pending layout and scene update first (see :meth:`StageCanvas._settle`),
so each panel is laid out and painted once per step instead of once per layout pass.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations

import numpy as np
from PySide6.QtCore import QCoreApplication, QEvent, QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QFrame, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from simulator import analysis
from ui import colors
from ui.math_html import equation_html
from ui.panels.heatmap import HeatmapPanel, Matrix, format_value
from ui.stage_layouts import LevelTable, Term, layout_for, linked_cells, oriented, symmetric, term_matrix
from ui.state import LAYOUT_COLUMNS, AppState, Hover

#: pixels between the widgets of a row, and between rows, of the equation
SPACING = 4
LINE_SPACING = 8
#: (gap colour, operator colour) between the panels in high contrast
GAP_HIGH_CONTRAST = ("#000000", "#f0f0f0")
#: an equation is wrapped onto at most this many rows
MAX_ROWS = 2
#: the change view's colour scale reaches at least this share of the stage's own scale
CHANGE_FLOOR_SHARE = 0.1


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
        self._levels: LevelTable | None = None
        self._levels_for: object = None
        self._point_size = 10
        self._operator_size = 22
        self._operator_fonts: dict[int, QFont] = {}
        #: the top-level window whose paints wait for the canvas to settle (see _settle)
        self._watched: QWidget | None = None
        self._settle_pending = False

        self._header_box = _HeaderBox()
        self._header = self._header_box.label
        strip = QWidget()
        strip.setObjectName("canvasStrip")
        strip.setAutoFillBackground(True)
        self._strip = strip
        self._theme: bool | None = None
        self._lines_box = QVBoxLayout(strip)
        self._lines_box.setContentsMargins(0, 0, 0, 0)
        self._lines_box.setSpacing(LINE_SPACING)
        #: the equation's rows: one, or two or three when it does not fit the width in one
        self._lines: list[QHBoxLayout] = []
        #: the equation's widgets (panels and operators) in order, and the row each starts (see _place)
        self._placed: list[QWidget] = []
        self._placement: tuple = ()
        self._solo: int | None = None
        # The panels need some width each; when even wrapped rows do not fit, scroll sideways
        # rather than squeezing the docks next to the canvas.
        self._scroll = QScrollArea()
        self._scroll.setObjectName("canvasScroll")
        self._scroll.setWidget(strip)
        self._scroll.setWidgetResizable(True)
        self._scroll.setFrameShape(QFrame.Shape.NoFrame)
        self._scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # (Tab goes from the canvas to its panels)
        self._scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(self._header_box)
        outer.addWidget(self._scroll, 1)
        self._connect()
        self.refresh()

    def _connect(self) -> None:
        s = self._state
        s.stage_changed.connect(self._stage_changed)
        s.trace_changed.connect(self.refresh)
        s.model_changed.connect(self._stage_changed)
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

    def chosen_panel(self) -> HeatmapPanel:
        """The panel the keyboard is in, else the result (what "Show as table" shows)."""
        focused = QApplication.focusWidget()
        return focused if isinstance(focused, HeatmapPanel) and focused in self.panels else self.result_panel

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
            panel.title_double_clicked.connect(lambda i=index: self.toggle_solo(i))
            panel.title_hovered.connect(self._state.message.emit)
            panel.keyboard_left.connect(self.setFocus)
            self._panels.append(panel)
        n_ops = sum(1 for item in items if isinstance(item, str))
        while len(self._operators) < n_ops:
            label = QLabel()
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setWordWrap(True)
            label.setMaximumWidth(130)
            if self._theme:
                _themed(label, True, QPalette.ColorRole.WindowText)
            self._operators.append(label)
        placed: list[QWidget] = []
        panel_i = op_i = 0
        view = state.view
        assert self._levels is not None
        for item in items:
            if isinstance(item, Term):
                panel = self._panels[panel_i]
                matrix = term_matrix(item, trace, state.head, self._levels, columns)
                switched = switched_off_note(state, item.source, state.head)
                if switched:
                    matrix = replace(matrix, note=f"{matrix.note} · {switched}" if matrix.note else switched)
                if item is terms[-1] and view.show_difference:
                    matrix = self._difference(matrix, item)
                panel.set_high_contrast(colors.palette_for(view))
                panel.set_show_numbers(view.show_numbers)
                panel.set_matrix(matrix)
                panel.set_highlights([])
                placed.append(panel)
                panel_i += 1
            else:
                label = self._operators[op_i]
                if label.text() != item:
                    label.setText(item)
                font = self._operator_font(self._operator_size if len(item) <= 3 else max(10, self._operator_size // 2))
                if label.font() != font:
                    label.setFont(font)
                placed.append(label)
                op_i += 1
        for panel in self._panels[panel_i:]:
            panel.hide()
        for label in self._operators[op_i:]:
            label.hide()
        share_label_choices(self._panels[:panel_i])
        if self._solo is not None and self._solo < len(terms):
            alone = self._panels[self._solo]
            for widget in placed:
                if widget is not alone:
                    widget.hide()
            placed = [alone]
        self._apply_theme(view.high_contrast)
        self._placed = placed
        self._place()
        for widget in placed:  # (only once in a row: a widget without a parent would open a window)
            widget.show()
        self._update_header()

    def _apply_theme(self, high_contrast: bool) -> None:
        """The gaps between panels and the operators between them follow the colour theme: in
        high contrast they are black with light signs, like the panels' own background."""
        if high_contrast == self._theme:
            return
        self._theme = high_contrast
        _themed(self._strip, high_contrast, QPalette.ColorRole.Window)
        for label in self._operators:
            _themed(label, high_contrast, QPalette.ColorRole.WindowText)

    # -- one operand alone ------------------------------------------------------------------------------
    @property
    def solo(self) -> int | None:
        """The index of the panel shown alone (a double click on its title), or None."""
        return self._solo

    def toggle_solo(self, index: int) -> None:
        """Show panel ``index`` alone, large; the same again shows the whole equation."""
        self._solo = None if self._solo == index or not 0 <= index < len(self._terms) else index
        if self._solo is not None:
            self._state.message.emit(f"{self._terms[index].source} alone: double-click its title again for the whole equation")
        self.refresh()

    def _stage_changed(self, *_: object) -> None:
        self._solo = None  # (another stage has other operands)
        self.refresh()

    # -- rows of the equation -------------------------------------------------------------------------
    def _place(self) -> None:
        """Put the equation's widgets on as few rows as give every panel the width it needs
        (numbers readable, see ``HeatmapPanel.comfortable_width``), breaking only before an
        operator; rebuilt only when the widgets or the rows change."""
        placed = self._placed
        wanted = [w.comfortable_width() if isinstance(w, HeatmapPanel) else w.sizeHint().width() for w in placed]
        least = [w.minimumWidth() if isinstance(w, HeatmapPanel) else w.minimumSizeHint().width() for w in placed]
        breaks = [i for i, w in enumerate(placed) if i > 0 and not isinstance(w, HeatmapPanel)]
        starts = equation_rows(wanted, least, breaks, self._scroll.viewport().width(), SPACING)
        placement = (tuple(id(w) for w in placed), starts)
        if placement != self._placement:
            for line in self._lines:
                while line.count():
                    line.takeAt(0)
            while len(self._lines) < len(starts):
                line = QHBoxLayout()
                line.setContentsMargins(0, 0, 0, 0)
                line.setSpacing(SPACING)
                self._lines_box.addLayout(line, 1)
                self._lines.append(line)
            ends = (*starts[1:], len(placed))
            for k, line in enumerate(self._lines):
                if k < len(starts):
                    for widget in placed[starts[k]: ends[k]]:
                        line.addWidget(widget)
            self._placement = placement
        # rows share the height: each first gets its titles and labels, the rest goes by how many
        # rows of cells it has (W_Q's 29 rows get room for numbers; X's 4 are not squeezed away)
        ends = (*starts[1:], len(placed))
        overheads, cells = [], []
        for a, b in zip(starts, ends, strict=True):  # on a row, every panel's cells start at one height
            row = [w for w in placed[a:b] if isinstance(w, HeatmapPanel)]
            top = max((panel.natural_plot_top() for panel in row), default=0.0)
            for panel in row:
                panel.set_min_plot_top(top)
            overheads.append(top + 2 * LINE_SPACING)
            cells.append(max([1, *(panel.comfortable_height() - panel.natural_plot_top() for panel in row)]))
        room = max(self._scroll.viewport().height() - LINE_SPACING * (len(starts) - 1) - sum(overheads), 0)
        for k in range(len(self._lines)):
            share = overheads[k] + room * cells[k] / sum(cells) if k < len(starts) else 0
            self._lines_box.setStretch(k, max(1, round(share)) if k < len(starts) else 0)
        # a row shares its width in proportion to what each panel needs: when the row has
        # room for all of them, every panel gets at least its comfortable width
        for widget, need in zip(placed, wanted, strict=True):
            for line in self._lines:
                index = line.indexOf(widget)
                if index >= 0:
                    line.setStretch(index, max(1, need // 4) if isinstance(widget, HeatmapPanel) else 0)

    def line_of(self, widget: QWidget) -> int:
        """On which row of the equation ``widget`` is (0 for the first)."""
        index = self._placed.index(widget)
        starts = self._placement[1] if self._placement else (0,)
        return sum(1 for start in starts if start <= index) - 1

    @property
    def row_count(self) -> int:
        """On how many rows the equation is drawn (it wraps when one row is too narrow)."""
        return len(self._placement[1]) if self._placement else 1

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self._placed:
            self._place()

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
        # a tiny change is drawn pale, not saturated: the scale reaches at least a share of the
        # stage's own colour scale (a 0.002 change of values near 1 is not a big change)
        floor = CHANGE_FLOOR_SHARE * max(abs(matrix.levels[0]), abs(matrix.levels[1]))
        return replace(
            matrix, data=delta, levels=symmetric(max(peak, floor) if peak > 0 else 0.0), kind=colors.DIVERGING,  # a change is signed, even of a probability
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


def _themed(widget: QWidget, high_contrast: bool, role: QPalette.ColorRole) -> None:
    """The app's own colours, or in high contrast a black gap with light text."""
    palette = QPalette()  # (the application's palette)
    if high_contrast:
        palette.setColor(role, QColor(GAP_HIGH_CONTRAST[role == QPalette.ColorRole.WindowText]))
    widget.setPalette(palette)


def switched_off_note(state: AppState, source: str, head: int) -> str:
    """What is switched off in the values a panel shows ("⊘ head 1 switched off (zero)"), or ""."""
    notes = []
    for switch in getattr(state, "ablations", ()):
        if switch.stage != source or (switch.head is not None and switch.head != head):
            continue
        what = "this head" if switch.head is not None else f"neuron {switch.index}" if switch.index is not None else "all neurons"
        notes.append(f"⊘ {what} switched off ({switch.mode})")
    return " · ".join(notes)


def share_label_choices(panels: list[HeatmapPanel]) -> None:
    """Panels that share an axis (X's columns and W_Q's rows are both d_model) name the same
    rows or columns when not all fit: first those that carry values on more of them, then
    the stronger (each panel's peaks scaled to its own largest, so one big matrix does not
    decide alone)."""
    members: dict[tuple, list[tuple[HeatmapPanel, int]]] = {}
    for panel in panels:
        m = panel.matrix
        if m is None:
            continue
        for axis, name, labels in ((0, m.row_axis, m.row_labels), (1, m.col_axis, m.col_labels)):
            members.setdefault((name, labels), []).append((panel, axis))
    for group in members.values():
        if len(group) < 2:
            for panel, axis in group:
                panel.set_label_importance(axis, None)
            continue
        peaks = [panel.axis_peaks(axis) for panel, axis in group]
        size = min(len(p) for p in peaks)
        carried = np.zeros(size)  # on how many panels each row/column carries a value
        strength = np.zeros(size)  # and how strongly, each panel scaled to its own largest
        for p in peaks:
            top = float(p[:size].max(initial=0.0))
            if top > 0:
                carried += p[:size] > 0
                strength += p[:size] / top
        shared = carried + strength / len(peaks)  # (strength / len < 1: the count ranks first)
        for panel, axis in group:
            panel.set_label_importance(axis, shared)


def equation_rows(wanted: list[int], least: list[int], breaks: list[int], available: int, spacing: int) -> tuple[int, ...]:
    """Where each row of the equation starts (indices into its widgets): one row if the widths
    ``wanted`` fit ``available``; else the fewest rows (up to MAX_ROWS), split only at
    ``breaks``, whose widest row is narrowest, preferring splits whose rows fit even ``least``."""

    def width(widths: list[int], a: int, b: int) -> int:
        return sum(widths[a:b]) + spacing * max(b - a - 1, 0)

    n = len(wanted)
    if n == 0 or available <= 0 or width(wanted, 0, n) <= available:
        return (0,)
    fallback: tuple[int, ...] | None = None  # the fewest rows that fit at least the minimum widths
    overall: tuple[int, tuple[int, ...]] | None = None
    for rows in range(2, MAX_ROWS + 1):
        best: tuple[int, tuple[int, ...]] | None = None
        for cut in combinations(breaks, rows - 1):
            starts = (0, *cut)
            bounds = list(zip(starts, (*cut, n), strict=True))
            widest = max(width(wanted, a, b) for a, b in bounds)
            fits_least = max(width(least, a, b) for a, b in bounds) <= available
            if fits_least and (best is None or widest < best[0]):
                best = (widest, starts)
            if overall is None or widest < overall[0]:
                overall = (widest, starts)
        if best is not None:
            if best[0] <= available:
                return best[1]
            if fallback is None:
                fallback = best[1]
    if fallback is not None:
        return fallback
    return overall[1] if overall is not None else (0,)


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

"""A labelled heatmap of one matrix, with a colour bar, numbers in cells, hover and highlights.

The colour scale is always given explicitly (never auto-levelled), so a colour means the same
value from panel to panel; masked (−∞) cells are drawn hatched, outside the colour scale.
Mouse input is reported in data coordinates of the matrix shown: hover, click, and vertical
drags ("scrubbing", used to edit weights).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QFont, QFontMetricsF, QPen
from PySide6.QtWidgets import QGraphicsRectItem

from ui import colors
from ui.panels.label_axis import LabelAxis

MAX_NUMBER_CELLS = 400
MIN_CELL_PIXELS_FOR_NUMBERS = 24.0


@dataclass(frozen=True)
class Matrix:
    """What a heatmap shows: a 2-D array with its labels, scale and provenance."""

    data: np.ndarray
    row_labels: tuple[str, ...]
    col_labels: tuple[str, ...]
    row_axis: str
    col_axis: str
    title: str
    levels: tuple[float, float]
    kind: str = colors.DIVERGING
    #: stage id or parameter name the data comes from
    source: str = ""
    #: index into the source for each displayed row / column (None: the identity)
    row_index: tuple[int, ...] | None = None
    col_index: tuple[int, ...] | None = None
    #: leading indices of the source (e.g. the head) and whether rows/cols are swapped
    prefix: tuple[int, ...] = ()
    transposed: bool = False
    note: str = ""
    editable: bool = False
    extra: dict = field(default_factory=dict, compare=False)

    def source_index(self, row: int, col: int) -> tuple[int, ...]:
        """The index into the source array of the displayed cell (row, col)."""
        r = self.row_index[row] if self.row_index is not None else row
        c = self.col_index[col] if self.col_index is not None else col
        if self.transposed:
            r, c = c, r
        if self.data.ndim == 2 and self.extra.get("vector"):
            return (*self.prefix, c)
        return (*self.prefix, r, c)


class _TitleItem(pg.LabelItem):
    """A title that may be cut at the panel's right edge instead of forcing the panel wider
    (a graphics layout wider than its widget would put cells where the mouse is not)."""

    def updateMin(self) -> None:  # noqa: N802 (pyqtgraph's name)
        super().updateMin()
        self.setMinimumWidth(0)
        self._sizeHint[Qt.SizeHint.MinimumSize] = (0, self._sizeHint[Qt.SizeHint.MinimumSize][1])
        self.updateGeometry()


class _CellViewBox(pg.ViewBox):
    """A view box that turns clicks and vertical drags into cell events instead of panning."""

    def __init__(self, panel: "HeatmapPanel") -> None:
        super().__init__(enableMenu=False)
        self._panel = panel
        self.setMouseEnabled(False, False)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        cell = self._panel.cell_at_view(self.mapSceneToView(ev.scenePos()))
        if cell is not None:
            ev.accept()
            if ev.double():
                self._panel.cell_double_clicked.emit(*cell)
            else:
                self._panel.cell_clicked.emit(*cell)

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: N802
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        if ev.isStart():
            cell = self._panel.cell_at_view(self.mapSceneToView(ev.buttonDownScenePos()))
            self._panel._drag_cell = cell
            if cell is not None:
                self._panel.scrub_started.emit(*cell)
            return
        cell = self._panel._drag_cell
        if cell is None:
            return
        dy = ev.buttonDownScreenPos().y() - ev.screenPos().y()
        if ev.isFinish():
            self._panel._drag_cell = None
            self._panel.scrub_finished.emit(cell[0], cell[1], float(dy))
        else:
            self._panel.scrub_moved.emit(cell[0], cell[1], float(dy))


class HeatmapPanel(pg.GraphicsLayoutWidget):
    """One matrix as a heatmap. Give it a :class:`Matrix`; it reports mouse input by cell."""

    cell_hovered = Signal(object)  # (row, col) of the displayed matrix, or None
    cell_clicked = Signal(int, int)
    cell_double_clicked = Signal(int, int)
    scrub_started = Signal(int, int)
    scrub_moved = Signal(int, int, float)  # pixels dragged upwards since the press
    scrub_finished = Signal(int, int, float)

    def __init__(self, name: str = "", parent=None) -> None:
        super().__init__(parent=parent)
        self.setObjectName(name or "heatmap")
        self.setBackground("w")
        self.ci.setContentsMargins(4, 4, 4, 4)
        self.ci.setSpacing(2)
        self._matrix: Matrix | None = None
        self._drag_cell: tuple[int, int] | None = None
        self._font = QFont()
        self._show_numbers = True
        self._high_contrast = False
        self._hover_cell: tuple[int, int] | None = None
        self._look: tuple[str, bool] | None = None
        self._numbers_key: tuple | None = None
        self._numbers_data: np.ndarray | None = None
        self._title_key: tuple | None = None

        self._title = _TitleItem("", justify="left", color="#111111")
        self.ci.addItem(self._title, row=0, col=0, colspan=2)
        self._row_axis = LabelAxis("left")
        self._col_axis = LabelAxis("top")
        self._view = _CellViewBox(self)
        self._plot = pg.PlotItem(viewBox=self._view, axisItems={"left": self._row_axis, "top": self._col_axis})
        self._plot.showAxis("top")
        self._plot.hideAxis("bottom")
        self._plot.hideButtons()
        self._plot.setMenuEnabled(False)
        self._view.invertY(True)
        self._view.setDefaultPadding(0.0)
        self.ci.addItem(self._plot, row=1, col=0)
        self._masked_fill = QGraphicsRectItem()
        self._masked_fill.setPen(QPen(Qt.PenStyle.NoPen))
        self._masked_fill.setZValue(-10)
        self._view.addItem(self._masked_fill, ignoreBounds=True)
        self._masked_hatch = QGraphicsRectItem()
        self._masked_hatch.setPen(QPen(Qt.PenStyle.NoPen))
        self._masked_hatch.setZValue(-9)
        self._view.addItem(self._masked_hatch, ignoreBounds=True)
        self._image = pg.ImageItem(axisOrder="row-major")
        self._plot.addItem(self._image)
        self._bar = pg.ColorBarItem(values=(-1, 1), colorMap=colors.colormap(colors.DIVERGING), interactive=False, width=12)
        self.ci.addItem(self._bar, row=1, col=1)
        self._numbers: list[pg.TextItem] = []
        self._highlights: list[QGraphicsRectItem] = []
        self._hover_box = QGraphicsRectItem()
        self._hover_box.setBrush(Qt.BrushStyle.NoBrush)
        self._hover_box.setZValue(20)
        self._hover_box.hide()
        self._view.addItem(self._hover_box, ignoreBounds=True)
        self.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self._view.sigResized.connect(self._layout_numbers)
        self.setMinimumSize(120, 90)
        self._apply_fonts()

    # -- content -------------------------------------------------------------------------------
    @property
    def matrix(self) -> Matrix | None:
        return self._matrix

    @property
    def displayed_data(self) -> np.ndarray | None:
        """The array drawn, before masking (what tests compare with the engine)."""
        return None if self._matrix is None else self._matrix.data

    def set_matrix(self, matrix: Matrix) -> None:
        """Show a matrix. Only what differs from the previous one is redone (values change on
        every edit or step; labels, shape, colours and titles mostly do not)."""
        data = np.asarray(matrix.data, dtype=np.float64)
        if data.ndim == 1:
            data = data[None, :]
        rows, cols = data.shape
        previous = self._matrix
        self._matrix = matrix
        masked = ~np.isfinite(data)
        any_masked = bool(masked.any())
        shown = np.where(masked, np.nan, data) if any_masked else data
        lo, hi = matrix.levels
        look = (matrix.kind, self._high_contrast)
        if look != self._look:
            cmap = colors.colormap(matrix.kind, self._high_contrast)
            self._image.setColorMap(cmap)
            self._bar.setColorMap(cmap)
            self._masked_fill.setBrush(colors.masked_background(self._high_contrast))
            self._masked_hatch.setBrush(colors.masked_brush(self._high_contrast))
            self._look = look
        self._image.setImage(shown, levels=(lo, hi), autoLevels=False)
        if previous is None or previous.levels != matrix.levels:
            self._bar.setLevels((lo, hi))
        if previous is None or previous.data.shape != matrix.data.shape:
            rect = QRectF(0, 0, cols, rows)
            self._image.setRect(rect)
            self._masked_fill.setRect(rect)
            self._masked_hatch.setRect(rect)
            self._view.setLimits(xMin=0, xMax=cols, yMin=0, yMax=rows)
            self._view.setRange(rect, padding=0)
        self._masked_fill.setVisible(any_masked)
        self._masked_hatch.setVisible(any_masked)
        if previous is None or previous.row_labels != matrix.row_labels:
            self._row_axis.set_labels(matrix.row_labels)
        if previous is None or previous.col_labels != matrix.col_labels:
            self._col_axis.set_labels(matrix.col_labels)
        title_key = (matrix.title, matrix.note, matrix.row_axis, matrix.col_axis, matrix.data.shape, any_masked)
        if title_key != self._title_key:
            self._set_title()
            self._fit_minimum_width()
            self._title_key = title_key
        self._hover_cell = None
        self._hover_box.hide()
        self._layout_numbers()

    def _fit_minimum_width(self) -> None:
        """Never let the layout squeeze the panel below its axis, a few cells and the colour bar;
        a squeezed graphics layout overflows the widget and mouse positions stop matching cells."""
        needed = self.ci.effectiveSizeHint(Qt.SizeHint.MinimumSize).width()
        self.setMinimumWidth(int(max(needed, self._row_axis.width() + 140)) + 10)

    def _set_title(self) -> None:
        m = self._matrix
        if m is None:
            return
        rows, cols = m.data.shape if m.data.ndim == 2 else (1, m.data.shape[0])
        size = max(10, self._font.pointSize())
        sub = f"rows: {m.row_axis} · columns: {m.col_axis} · {rows}×{cols}"
        if m.note:
            sub += f" · {m.note}"
        if not np.all(np.isfinite(m.data)):
            sub += " · ▨ masked (−∞)"
        sub_color = "#bbbbbb" if self._high_contrast else "#444444"
        html = (
            f"<span style='font-size:{size + 3}pt; font-weight:600'>{_escape(m.title)}</span><br>"
            f"<span style='font-size:{size - 1}pt; color:{sub_color}'>{_escape(sub)}</span>"
        )
        self._title.setText(html)

    # -- appearance ------------------------------------------------------------------------------
    def set_show_numbers(self, show: bool) -> None:
        self._show_numbers = show
        self._layout_numbers()

    def set_high_contrast(self, high: bool) -> None:
        if high != self._high_contrast:
            self._high_contrast = high
            self.setBackground("k" if high else "w")
            self._title.setAttr("color", "#f0f0f0" if high else "#111111")
            pen = pg.mkPen("#eeeeee" if high else "#222222")
            self._row_axis.setTextPen(pen)
            self._col_axis.setTextPen(pen)
            self._bar.axis.setTextPen(pen)
            self._title_key = None
            if self._matrix is not None:
                self.set_matrix(self._matrix)

    def set_font_point_size(self, size: int) -> None:
        self._font.setPointSize(size)
        self._apply_fonts()
        self._title_key = None
        self._set_title()
        self._layout_numbers()

    def _apply_fonts(self) -> None:
        self._row_axis.set_font(self._font)
        self._col_axis.set_font(self._font)
        self._bar.axis.setTickFont(self._font)

    def set_highlights(self, cells: list[tuple[str, int, int]]) -> None:
        """Outline operand cells: ("row", r, _), ("col", _, c), ("cell", r, c) or ("all", _, _)."""
        for item in self._highlights:
            self._view.removeItem(item)
        self._highlights.clear()
        if self._matrix is None:
            return
        rows, cols = self._shape()
        pen = pg.mkPen(colors.HIGHLIGHT, width=3)
        for kind, r, c in cells:
            if kind == "row" and 0 <= r < rows:
                rect = QRectF(0, r, cols, 1)
            elif kind == "col" and 0 <= c < cols:
                rect = QRectF(c, 0, 1, rows)
            elif kind == "cell" and 0 <= r < rows and 0 <= c < cols:
                rect = QRectF(c, r, 1, 1)
            elif kind == "all":
                rect = QRectF(0, 0, cols, rows)
            else:
                continue
            item = QGraphicsRectItem(rect)
            item.setPen(pen)
            item.setZValue(15)
            self._view.addItem(item, ignoreBounds=True)
            self._highlights.append(item)

    @property
    def highlights(self) -> list[QRectF]:
        return [item.rect() for item in self._highlights]

    def _shape(self) -> tuple[int, int]:
        assert self._matrix is not None
        data = self._matrix.data
        return (1, data.shape[0]) if data.ndim == 1 else data.shape  # type: ignore[return-value]

    # -- numbers in cells -------------------------------------------------------------------------
    def numbers_visible(self) -> bool:
        return any(item.isVisible() for item in self._numbers)

    def _layout_numbers(self) -> None:
        m = self._matrix
        key = (
            None if m is None else (id(m.data), m.levels, m.kind),
            self._show_numbers, self._high_contrast, self._font.pointSize(),
            round(self._view.width()), round(self._view.height()),
        )
        if key == self._numbers_key and m is not None and self._numbers_data is m.data:
            return
        self._numbers_key = key
        self._numbers_data = None if m is None else m.data
        for item in self._numbers:
            item.hide()
        if m is None or not self._show_numbers:
            return
        rows, cols = self._shape()
        if rows * cols > MAX_NUMBER_CELLS:
            return
        cell_w = self._view.width() / max(cols, 1)
        cell_h = self._view.height() / max(rows, 1)
        if min(cell_w, cell_h) < MIN_CELL_PIXELS_FOR_NUMBERS * 0.6 or cell_w < MIN_CELL_PIXELS_FOR_NUMBERS:
            return
        data = np.asarray(m.data, dtype=np.float64).reshape(rows, cols)
        texts = [format_value(v) for v in data.ravel()]
        widest = max(texts, key=len)
        font = QFont(self._font)
        point = self._font.pointSize() + 6
        while point > 6:
            font.setPointSize(point)
            metrics = QFontMetricsF(font)
            if metrics.horizontalAdvance(widest) <= 0.92 * cell_w and metrics.height() <= 0.9 * cell_h:
                break
            point -= 1
        if point <= 6:
            return
        while len(self._numbers) < rows * cols:
            item = pg.TextItem(anchor=(0.5, 0.5))
            item.setZValue(10)
            self._view.addItem(item, ignoreBounds=True)
            self._numbers.append(item)
        k = 0
        for r in range(rows):
            for c in range(cols):
                value = data[r, c]
                item = self._numbers[k]
                item.setText(texts[k])
                k += 1
                item.setFont(font)
                if np.isfinite(value):
                    item.setColor(colors.text_color_for(value, m.levels, m.kind, self._high_contrast))
                else:
                    item.setColor("#333333" if not self._high_contrast else "#dddddd")
                item.setPos(c + 0.5, r + 0.5)
                item.show()

    # -- mouse -------------------------------------------------------------------------------------
    def cell_at_view(self, point: QPointF) -> tuple[int, int] | None:
        if self._matrix is None:
            return None
        rows, cols = self._shape()
        col, row = math.floor(point.x()), math.floor(point.y())
        if 0 <= row < rows and 0 <= col < cols:
            return row, col
        return None

    def cell_center_in_widget(self, row: int, col: int):
        """Viewport coordinates of a cell's centre (for tests driving the real mouse)."""
        scene = self._view.mapViewToScene(QPointF(col + 0.5, row + 0.5))
        return self.mapFromScene(scene)

    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        cell = None
        if self._view.sceneBoundingRect().contains(scene_pos):
            cell = self.cell_at_view(self._view.mapSceneToView(scene_pos))
        self._set_hover_cell(cell)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._set_hover_cell(None)
        super().leaveEvent(event)

    def _set_hover_cell(self, cell: tuple[int, int] | None) -> None:
        if cell == self._hover_cell:
            return
        self._hover_cell = cell
        if cell is None:
            self._hover_box.hide()
        else:
            self._hover_box.setRect(QRectF(cell[1], cell[0], 1, 1))
            color = colors.HOVER_HIGH_CONTRAST if self._high_contrast else colors.HOVER
            self._hover_box.setPen(pg.mkPen(color, width=2))
            self._hover_box.show()
        self.cell_hovered.emit(cell)


def format_value(value: float) -> str:
    """Short text for a cell: 3 significant digits, −∞ for masked cells."""
    if np.isnan(value):
        return "NaN"
    if np.isinf(value):
        return "−∞" if value < 0 else "+∞"
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 10000:
        text = f"{value:.0e}"
    elif magnitude >= 100:
        text = f"{value:.0f}"
    elif magnitude >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return text.replace("-", "−")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

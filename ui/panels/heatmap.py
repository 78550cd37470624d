"""A labelled heatmap of one matrix, with a colour bar, numbers in cells, hover and highlights.

The colour scale is always given explicitly (never auto-levelled), so a colour means the same
value from panel to panel; masked (−∞) cells are drawn hatched, outside the colour scale.
Mouse input is reported in data coordinates of the matrix shown: hover, click, and vertical
drags ("scrubbing", used to edit weights).

Speed: stepping repaints every panel of the canvas, so a panel is one graphics item that lays
out and paints its title, labels, cells, numbers and colour bar itself (no nested pyqtgraph
layouts, axes or text items, which made a step cost tens of milliseconds). The layout is
computed once per change, just before painting; texts are drawn as cached ``QStaticText`` and
the cells as one premultiplied ARGB image. It is still a pyqtgraph ``GraphicsView`` with its
own scene, so pyqtgraph's exporters and Qt's ``QWidget.render`` (SVG) draw it as on screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QImage, QPainter, QStaticText
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsWidget

from ui import colors
from ui.panels.text_cache import CachedFont, cached_font

MAX_NUMBER_CELLS = 400
#: narrower cells never get a number, even a short one that would fit
MIN_NUMBER_CELL_WIDTH = 16
MIN_CELL_PIXELS_FOR_NUMBERS = 24.0
#: labels longer than this many pixels are cut with "…" (and the axis is never wider)
MAX_LABEL_EXTENT = 150.0
MARGIN = 4.0
SPACING = 2.0
BAR_WIDTH = 12.0
#: a one-row matrix (a vector) is a strip at most this many times taller than its cells are wide
#: (but at least MIN_CELL_HEIGHT); other rows are at most MAX_ROW_HEIGHT pixels high
MAX_CELL_ASPECT = 2.0
MIN_CELL_HEIGHT = 36.0
MAX_ROW_HEIGHT = 110.0
MIN_BAR_HEIGHT = 90.0
#: besides its row labels and colour bar, a panel keeps room for cells this wide, within
#: MIN_CELLS_WIDTH pixels in all (so small screens still fit a whole equation)
MIN_CELL_WIDTH = 6
#: a cell this wide reads as a colour (without a number): the canvas wraps before cells get thinner
COMFORTABLE_CELL_WIDTH = 10
#: the point size at which the cell sizes above apply as they are (zoom scales them)
ZOOM_BASE_POINT_SIZE = 10
MIN_CELLS_WIDTH = (40, 72)
#: axes longer than this get evenly spaced labels, not the largest rows or columns first
MAX_RANKED_LABELS = 1024
#: without numbers, negative cells at least this many pixels wide and high get a "−" bar (in
#: matrices of at most MAX_SIGN_CELLS cells), so the sign reads without colour
MIN_SIGN_CELL = 7.0
MAX_SIGN_CELLS = 20000
#: cells beyond the colour scale get a corner mark, up to this many per panel
MAX_BEYOND_MARKS = 4096


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


def _label_extent(labels: tuple[str, ...], font: CachedFont) -> float:
    """Room for the longest label plus a margin, at most :data:`MAX_LABEL_EXTENT`."""
    longest = max((font.width(s) for s in labels), default=0.0)
    return float(math.ceil(min(longest + 10.0, MAX_LABEL_EXTENT)))


_tick_cache: dict[tuple, tuple[list[tuple[float, QStaticText]], float]] = {}


def _bar_labels(levels: tuple[float, float], length: float, font: CachedFont) -> tuple[list[tuple[float, QStaticText]], float]:
    """The colour bar's ticks as (fraction from the bottom, text), and the widest text's width."""
    lo, hi = levels
    key = (lo, hi, max(2, int(length // 40) + 1), font.key)
    found = _tick_cache.get(key)
    if found is None:
        if len(_tick_cache) >= 1024:
            _tick_cache.clear()
        span = hi - lo
        ticks = [((value - lo) / span if span > 0 else 0.5, text) for value, text in _bar_ticks(lo, hi, length)]
        width = max((font.width(text) for _, text in ticks), default=0.0)
        found = _tick_cache[key] = ([(frac, font.static(text)) for frac, text in ticks], width)
    return found


def _bar_ticks(lo: float, hi: float, length: float) -> list[tuple[float, str]]:
    """Evenly spaced round values between ``lo`` and ``hi`` (about one per 40 pixels), with labels."""
    span = hi - lo
    if not (math.isfinite(span) and span > 0):
        return [(lo, _tick_text(lo, 0))] if math.isfinite(lo) else []
    wanted = max(2, int(length // 40) + 1)
    raw = span / (wanted - 1)
    exp = math.floor(math.log10(raw))
    step = 10.0 ** (exp + 1)
    for mult in (1, 2, 5):
        if mult * 10.0**exp >= raw * (1 - 1e-9):
            step = mult * 10.0**exp
            break
    first = math.ceil(lo / step - 1e-9)
    last = math.floor(hi / step + 1e-9)
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return [(k * step, _tick_text(k * step, decimals, step)) for k in range(first, last + 1)]


def _tick_text(value: float, decimals: int, step: float | None = None) -> str:
    text = f"{value:.{decimals}f}"
    if float(text) == 0:
        return "0"
    if len(text) > 9:  # 3e38 is not 39 digits wide (that squeezed the cells to nothing): as many digits as the step needs
        digits = 3 if not step else max(1, math.floor(math.log10(abs(value))) - math.floor(math.log10(step)) + 1)
        text = f"{value:.{min(digits, 17)}g}"
    return text.replace("-", "−")


@dataclass
class _Layout:
    """Where everything goes, in the panel's pixels (computed once per change, before painting)."""

    plot: QRectF
    cell_w: float
    cell_h: float
    title: list[tuple[QStaticText, float, float]]
    title_font: CachedFont
    sub: list[tuple[QStaticText, float, float]]
    sub_font: CachedFont
    row_labels: list[tuple[QStaticText, float, float]]
    col_labels: list[tuple[QStaticText, float, float]]  # (text, x, y) in the rotated frame
    col_origin: QPointF
    label_font: CachedFont
    bar: QRectF
    ticks: list[tuple[QStaticText, float, float, float]]  # (text, x, y, tick y)
    numbers_font: CachedFont | None
    numbers: list[tuple[QStaticText, float, float, int]]  # (text, x, y, colour index)
    masked: list[QRectF]  # runs of masked cells, hatched
    beyond: list[tuple[QPointF, QPointF, QPointF, bool]] = field(default_factory=list)  # corner marks (white?)
    signs: list[tuple[QRectF, bool]] = field(default_factory=list)  # "−" bars on negative cells (white?)


class _HeatmapItem(QGraphicsWidget):
    """The panel's one graphics item: paints the layout its panel computed, and turns mouse
    clicks and drags into cell events (pyqtgraph's scene calls ``mouseClickEvent`` /
    ``mouseDragEvent`` on the item under the mouse)."""

    def __init__(self, panel: "HeatmapPanel") -> None:
        super().__init__()
        self._panel = panel
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemClipsChildrenToShape, False)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._panel._invalidate()

    def paint(self, p: QPainter, option, widget=None) -> None:  # noqa: ANN001
        p.save()
        try:
            self._panel._paint(p)
        finally:
            p.restore()

    # -- mouse: in the cells of the matrix shown ------------------------------------------------------
    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph's name)
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        cell = self._panel._cell_at_item(self.mapFromScene(ev.scenePos()))
        if cell is not None:
            ev.accept()
            if ev.double():
                self._panel.cell_double_clicked.emit(*cell)
            else:
                self._panel.cell_clicked.emit(*cell)

    def mouseDragEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph's name)
        panel = self._panel
        if ev.button() != Qt.MouseButton.LeftButton:
            ev.ignore()
            return
        ev.accept()
        if ev.isStart():
            cell = panel._cell_at_item(self.mapFromScene(ev.buttonDownScenePos()))
            panel._drag_cell = cell
            if cell is not None:
                panel.scrub_started.emit(*cell)
            return
        cell = panel._drag_cell
        if cell is None:
            return
        dy = ev.buttonDownScreenPos().y() - ev.screenPos().y()
        if ev.isFinish():
            panel._drag_cell = None
            panel.scrub_finished.emit(cell[0], cell[1], float(dy))
        else:
            panel.scrub_moved.emit(cell[0], cell[1], float(dy))


class HeatmapPanel(pg.GraphicsView):
    """One matrix as a heatmap. Give it a :class:`Matrix`; it reports mouse input by cell."""

    cell_hovered = Signal(object)  # (row, col) of the displayed matrix, or None
    cell_clicked = Signal(int, int)
    cell_double_clicked = Signal(int, int)
    #: a double click on the title (the canvas shows this operand alone, large)
    title_double_clicked = Signal()
    #: the mouse came onto the title: its full text (a cut title is shown whole in the status bar)
    title_hovered = Signal(str)
    #: Esc with the keyboard in the panel: the canvas takes the keys back (arrows step again)
    keyboard_left = Signal()
    scrub_started = Signal(int, int)
    scrub_moved = Signal(int, int, float)  # pixels dragged upwards since the press
    scrub_finished = Signal(int, int, float)

    def __init__(self, name: str = "", parent=None) -> None:
        super().__init__(parent=parent, background="w")
        self.setObjectName(name or "heatmap")
        # Tab reaches a panel (its arrows then move a cell cursor); a click leaves the keys with
        # the canvas, where the arrows step through the pass
        self.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        # a plain colour: filling it is cheaper than keeping a cached copy of it at every resize
        self.setCacheMode(self.CacheModeFlag.CacheNone)
        self._matrix: Matrix | None = None
        self._drag_cell: tuple[int, int] | None = None
        self._font = QFont()
        self._show_numbers = True
        self._palette = colors.SAFE
        self._hover_cell: tuple[int, int] | None = None
        self._over_title = False
        self._layout: _Layout | None = None
        self._shown_data = np.zeros((0, 0))
        #: cells drawn hatched instead of coloured (−∞, or masked attention weights), or None
        self._hidden: np.ndarray | None = None
        self._min_plot_top = 0.0
        #: per axis (0 rows, 1 columns): each row's or column's largest |value|, for choosing labels
        self._importance: dict[int, np.ndarray] = {}
        #: per axis, how much each row/column matters on every panel sharing it (set by the canvas)
        self._shared_importance: dict[int, np.ndarray] = {}
        self._dirty = True
        self._image: QImage | None = None
        self._any_masked = False
        self._masked_runs: list[tuple[int, int, int]] = []
        #: (row, col) of the cells beyond the colour levels, drawn saturated with a corner mark
        self._beyond: np.ndarray = np.zeros((0, 2), dtype=np.intp)
        self._lines: tuple[str, str] = ("", "")
        self._row_extent = 0.0
        self._col_extent = 0.0
        self._highlight_cells: list[QRectF] = []
        self._highlight_items: list[QGraphicsRectItem] = []

        self._item = _HeatmapItem(self)
        self.setCentralItem(self._item)
        self._hover_box = QGraphicsRectItem(self._item)
        self._hover_box.setBrush(Qt.BrushStyle.NoBrush)
        self._hover_box.setZValue(20)
        self._hover_box.hide()
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
        """Show a matrix. The cells become one image; labels, title and numbers are laid out
        again just before the next paint. A matrix that shows exactly what is already shown
        (an operand an edit did not change) only resets the hover: nothing is redrawn."""
        previous = self._matrix
        self._matrix = matrix
        self._hover_cell = None
        if self._hover_box.isVisible():
            self._hover_box.hide()
        if previous is not None and same_matrix(previous, matrix):
            return
        data = np.asarray(matrix.data, dtype=np.float64)
        if data.ndim == 1:
            data = data[None, :]
        self._shown_data = data
        self._importance = {}
        hidden = np.isnan(data) | np.isneginf(data)  # hatched; +∞ is drawn beyond the scale's top
        masked_zeros = masked_cells(matrix)
        if masked_zeros is not None and masked_zeros.shape == hidden.shape:
            hidden |= masked_zeros
        self._any_masked = bool(hidden.any())
        self._masked_runs = _runs(hidden) if self._any_masked else []
        self._beyond = beyond_scale(data, matrix.levels)
        self._hidden = hidden if self._any_masked else None
        self._render_image(data, self._hidden)
        if previous is None or previous.row_labels != matrix.row_labels:
            self._row_extent = _label_extent(matrix.row_labels, self._label_font)
        self._fit_minimum_width()
        if previous is None or previous.col_labels != matrix.col_labels:
            self._col_extent = _label_extent(matrix.col_labels, self._label_font)
        self._lines = self._title_lines()
        self.setAccessibleName(f"{matrix.title} matrix")
        self.setAccessibleDescription(self._lines[1])
        self._invalidate()

    def _render_image(self, data: np.ndarray, hidden: np.ndarray | None = None) -> None:
        m = self._matrix
        assert m is not None
        argb = colors.argb_image(data, m.levels, m.kind, self._palette)
        if hidden is not None:
            argb[hidden] = 0  # transparent: the hatching below shows through
        argb = np.ascontiguousarray(argb)
        rows, cols = argb.shape
        if rows == 0 or cols == 0:
            self._image = QImage()
            return
        # (a copy that owns its pixels: the array is not kept)
        self._image = QImage(argb.data, cols, rows, cols * 4, QImage.Format.Format_ARGB32_Premultiplied).copy()

    def _fit_minimum_width(self) -> None:
        """Never let the layout squeeze the panel below its row labels, a few cells and the colour
        bar; a squeezed panel would draw cells where the mouse is not."""
        m = self._matrix
        tick_width = _bar_labels(m.levels, 200.0, self._label_font)[1] if m is not None else 30.0
        bar_total = BAR_WIDTH + 5.0 + tick_width + 2.0 + 2 * SPACING
        cols = self._shape()[1] if m is not None else 1
        scale = self._cell_scale()
        cells = scale * min(max(MIN_CELL_WIDTH * cols, MIN_CELLS_WIDTH[0]), MIN_CELLS_WIDTH[1])
        width = int(math.ceil(2 * MARGIN + self._row_extent + bar_total + cells))
        if width != self.minimumWidth():
            self.setMinimumWidth(width)

    def comfortable_height(self) -> int:
        """The height at which every row of cells has room for a number: the canvas shares the
        height of a wrapped equation's rows by it."""
        if self._matrix is None:
            return 0
        rows = self._shape()[0]
        return int(self.natural_plot_top() + MARGIN + rows * MIN_CELL_PIXELS_FOR_NUMBERS * self._cell_scale())

    def comfortable_width(self) -> int:
        """The width at which every cell has room for its number (when numbers are on and the
        matrix is small enough to show them) or for a clearly visible colour: what the canvas
        gives a panel before it wraps the equation onto another row."""
        m = self._matrix
        if m is None:
            return self.minimumWidth()
        rows, cols = self._shape()
        numbers = self._show_numbers and 0 < rows * cols <= MAX_NUMBER_CELLS
        cell = COMFORTABLE_CELL_WIDTH * self._cell_scale()
        if numbers:  # the widest number a little below the labels' size, with _numbers_font's margin
            widest = max((format_value(v) for v in np.asarray(m.data, dtype=np.float64).ravel().tolist()), key=len)
            small = cached_font(self._font, max(7, self._font.pointSize() - 2), base_key=self._base_key)
            cell = max(MIN_CELL_PIXELS_FOR_NUMBERS * self._cell_scale(), small.width(widest) / 0.92 + 2)
        tick_width = _bar_labels(m.levels, 200.0, self._label_font)[1]
        bar_total = BAR_WIDTH + 5.0 + tick_width + 2.0 + 2 * SPACING
        return max(self.minimumWidth(), int(math.ceil(2 * MARGIN + self._row_extent + bar_total + cell * cols)))

    def _title_lines(self) -> tuple[str, str]:
        m = self._matrix
        if m is None:
            return ("", "")
        rows, cols = m.data.shape if m.data.ndim == 2 else (1, m.data.shape[0])
        axes = [f"{name}: {axis}" for name, axis in (("rows", m.row_axis), ("columns", m.col_axis)) if axis]
        sub = " · ".join([*axes, f"{rows}×{cols}"])
        if m.note:
            sub += f" · {m.note}"
        if self._any_masked:
            sub += " · ▨ masked (weight 0)" if masked_cells(m) is not None else " · ▨ masked (−∞)"
        if len(self._beyond):
            n = len(self._beyond)
            sub += f" · ◥ {n} cell{'s' if n != 1 else ''} beyond the scale"
        return m.title, sub

    # -- appearance ------------------------------------------------------------------------------
    def set_show_numbers(self, show: bool) -> None:
        if show != self._show_numbers:
            self._show_numbers = show
            self._invalidate()

    @property
    def _high_contrast(self) -> bool:
        """Drawn on black (the high-contrast palette)."""
        return self._palette == colors.HIGH

    def set_high_contrast(self, palette: bool | str) -> None:
        """Draw with a palette (see ui.colors): a name, or True for high contrast."""
        name = colors.palette_name(palette)
        if name != self._palette:
            self._palette = name
            high = self._high_contrast
            self.setBackground("k" if high else "w")
            color = colors.HOVER_HIGH_CONTRAST if high else colors.HOVER
            self._hover_box.setPen(pg.mkPen(color, width=2))
            if self._matrix is not None:  # the same matrix in the other colour map
                self._render_image(self._shown_data, self._hidden)
                self._invalidate()

    @property
    def point_size(self) -> int:
        """The labels' point size; titles, numbers and the colour bar's ticks follow it."""
        return self._font.pointSize()

    def _cell_scale(self) -> float:
        """Zoom: the minimum and largest cell sizes grow with the labels' point size."""
        return max(self._font.pointSize(), 6) / ZOOM_BASE_POINT_SIZE

    def set_font_point_size(self, size: int) -> None:
        self._font.setPointSize(size)
        self._apply_fonts()
        if self._matrix is not None:
            self._row_extent = _label_extent(self._matrix.row_labels, self._label_font)
            self._col_extent = _label_extent(self._matrix.col_labels, self._label_font)
            self._fit_minimum_width()
        self._invalidate()

    def _apply_fonts(self) -> None:
        size = self._font.pointSize()
        self._base_key = key = self._font.key()
        self._label_font = cached_font(self._font, size, base_key=key)
        title_size = max(10, size)
        self._title_font = cached_font(self._font, title_size + 3, bold=True, base_key=key)
        self._sub_font = cached_font(self._font, title_size - 1, base_key=key)
        self._numbers_fonts: dict[tuple, CachedFont | None] = {}
        self._hover_box.setPen(pg.mkPen(colors.HOVER_HIGH_CONTRAST if self._high_contrast else colors.HOVER, width=2))

    def set_highlights(self, cells: list[tuple[str, int, int]]) -> None:
        """Outline operand cells: ("row", r, _), ("col", _, c), ("cell", r, c) or ("all", _, _)."""
        if not cells and not self._highlight_cells:
            return
        rects: list[QRectF] = []
        if self._matrix is not None:
            rows, cols = self._shape()
            for kind, r, c in cells:
                if kind == "row" and 0 <= r < rows:
                    rects.append(QRectF(0, r, cols, 1))
                elif kind == "col" and 0 <= c < cols:
                    rects.append(QRectF(c, 0, 1, rows))
                elif kind == "cell" and 0 <= r < rows and 0 <= c < cols:
                    rects.append(QRectF(c, r, 1, 1))
                elif kind == "all":
                    rects.append(QRectF(0, 0, cols, rows))
        self._highlight_cells = rects
        pen = pg.mkPen(colors.HIGHLIGHT, width=3)
        while len(self._highlight_items) < len(rects):
            item = QGraphicsRectItem(self._item)
            item.setPen(pen)
            item.setBrush(Qt.BrushStyle.NoBrush)
            item.setZValue(15)
            self._highlight_items.append(item)
        self._place_overlays()

    @property
    def highlights(self) -> list[QRectF]:
        """The outlined cells, in cells: x = column, y = row."""
        return [QRectF(r) for r in self._highlight_cells]

    def _shape(self) -> tuple[int, int]:
        assert self._matrix is not None
        data = self._matrix.data
        return (1, data.shape[0]) if data.ndim == 1 else data.shape  # type: ignore[return-value]

    # -- layout ---------------------------------------------------------------------------------
    def _invalidate(self) -> None:
        self._dirty = True
        self._item.update()

    def _ensure_layout(self) -> _Layout | None:
        if self._dirty:
            self._layout = self._compute_layout()
            self._dirty = False
            self._place_overlays()
        return self._layout

    def paintEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        self._ensure_layout()  # before the scene paints, so overlay moves land in this paint
        super().paintEvent(ev)

    def _compute_layout(self) -> _Layout | None:
        m = self._matrix
        if m is None:
            return None
        size = self._item.size()
        width, height = size.width(), size.height()
        rows, cols = self._shape()
        label_font, title_font, sub_font = self._label_font, self._title_font, self._sub_font
        inner = max(width - 2 * MARGIN, 1.0)
        title, sub = self._lines
        y = MARGIN
        title_items = []
        sub_items = []
        if title:
            title_items.append((title_font.static(title_font.elided(title, inner)), MARGIN, y))
            y += title_font.line
        if sub:
            sub_items.append((sub_font.static(sub_font.elided(sub, inner)), MARGIN, y))
            y += sub_font.line
        y += SPACING
        # the colour bar's labels decide its width
        levels = m.levels
        top_axis = self._col_extent
        plot_top = max(y + top_axis, self._min_plot_top)  # (lined up with the canvas's other panels)
        plot_bottom = max(height - MARGIN, plot_top + 1.0)
        available = plot_bottom - plot_top
        _, tick_width = _bar_labels(levels, available, label_font)
        bar_total = BAR_WIDTH + 5.0 + tick_width + 2.0
        left = MARGIN + self._row_extent
        right = max(width - MARGIN - bar_total - 2 * SPACING, left + 1.0)
        cell_w = (right - left) / max(cols, 1)
        # cells at most MAX_CELL_ASPECT times taller than wide: a few tokens, or one row, do not
        # stretch into tall stripes; the panel keeps its top-left corner and the rest stays white
        if rows == 1:  # a vector: a strip, not a tall band
            cell_h = min(available, max(cell_w * MAX_CELL_ASPECT, MIN_CELL_HEIGHT * self._cell_scale()))
        else:  # the same height in every panel with as many rows, so rows line up across the equation
            cell_h = min(available / rows, MAX_ROW_HEIGHT * self._cell_scale())
        plot = QRectF(left, plot_top, right - left, cell_h * rows)
        bar_height = min(available, max(plot.height(), MIN_BAR_HEIGHT))
        ticks, _ = _bar_labels(levels, bar_height, label_font)
        line = label_font.line
        # row labels, right-aligned beside the cells; every k-th when rows are too thin
        row_items = []
        step = max(1, math.ceil(line / max(cell_h, 1e-6)))
        room = self._row_extent - 5.0
        for i in self._labelled(0, rows, step, m.row_labels):
            text = m.row_labels[i] if i < len(m.row_labels) else ""
            if not text:
                continue
            shown = label_font.elided(text, MAX_LABEL_EXTENT - 10)
            st = label_font.static(shown)
            w = label_font.width(shown)
            x = max(MARGIN, left - 5.0 - w) if w <= room else MARGIN
            row_items.append((st, x, plot.top() + (i + 0.5) * cell_h - line / 2))
        # column labels, turned 90° so long names fit narrow columns: drawn in a frame rotated
        # about the bottom of the label band, where x runs upwards and y to the right
        col_items = []
        step = max(1, math.ceil(line / max(cell_w, 1e-6)))
        origin = QPointF(0.0, plot_top - 5.0)
        for i in self._labelled(1, cols, step, m.col_labels):
            text = m.col_labels[i] if i < len(m.col_labels) else ""
            if not text:
                continue
            shown = label_font.elided(text, MAX_LABEL_EXTENT - 10)
            col_items.append((label_font.static(shown), 0.0, left + (i + 0.5) * cell_w - line / 2))
        # colour bar
        bar = QRectF(right + 2 * SPACING, plot.top(), BAR_WIDTH, bar_height)
        tick_items = []
        for frac, st in ticks:
            ty = bar.bottom() - frac * bar.height()
            text_y = min(max(ty - line / 2, plot_top - line / 2), height - line)  # the end labels stay inside
            tick_items.append((st, bar.right() + 5.0, text_y, ty))
        numbers_font, numbers = self._numbers_layout(m, rows, cols, plot, cell_w, cell_h)
        masked = [QRectF(left + c0 * cell_w, plot_top + r * cell_h, (c1 - c0) * cell_w, cell_h) for r, c0, c1 in self._masked_runs]
        return _Layout(
            plot, cell_w, cell_h, title_items, title_font, sub_items, sub_font, row_items, col_items, origin,
            label_font, bar, tick_items, numbers_font, numbers, masked, self._beyond_marks(m, left, plot_top, cell_w, cell_h),
            [] if numbers else self._sign_marks(m, left, plot_top, cell_w, cell_h),
        )

    def _sign_marks(self, m: Matrix, left: float, top: float, cell_w: float, cell_h: float) -> list[tuple[QRectF, bool]]:
        """Without numbers, a short bar in the middle of every negative cell of a signed map,
        so the sign reads without telling colours apart (cells too small for it get none)."""
        data = self._shown_data
        if m.kind != colors.DIVERGING or min(cell_w, cell_h) < MIN_SIGN_CELL or data.size > MAX_SIGN_CELLS:
            return []
        with np.errstate(invalid="ignore"):
            negative = np.argwhere((data < 0) & np.isfinite(data))
        if not len(negative):
            return []
        white = colors.light_text(data[negative[:, 0], negative[:, 1]], m.levels, m.kind, self._palette)
        width, height = max(2.0, cell_w * 0.4), max(1.0, min(cell_h * 0.12, 2.5))
        return [
            (QRectF(left + (c + 0.5) * cell_w - width / 2, top + (r + 0.5) * cell_h - height / 2, width, height), bool(light))
            for (r, c), light in zip(negative.tolist(), white.tolist(), strict=True)
        ]

    def _beyond_marks(self, m: Matrix, left: float, top: float, cell_w: float, cell_h: float) -> list[tuple[QPointF, QPointF, QPointF, bool]]:
        """A small triangle in the top-right corner of every cell beyond the colour levels, in
        black or white, whichever reads on the cell (at most MAX_BEYOND_MARKS of them)."""
        if not len(self._beyond):
            return []
        size = max(3.0, min(cell_w, cell_h) * 0.35)
        cells = self._beyond[:MAX_BEYOND_MARKS]
        values = self._shown_data[cells[:, 0], cells[:, 1]]
        white = colors.light_text(values, m.levels, m.kind, self._palette)
        marks = []
        for (r, c), light in zip(cells.tolist(), white.tolist(), strict=True):
            x, y = left + (c + 1) * cell_w, top + r * cell_h
            marks.append((QPointF(x - size, y), QPointF(x, y), QPointF(x, y + size), bool(light)))
        return marks

    def _labelled(self, axis: int, count: int, step: int, labels: tuple[str, ...]) -> list[int] | range:
        """Which rows (axis 0) or columns (axis 1) get a label when there is room for one in every
        ``step``. Plain indices: evenly spaced. Names (tokens, named dimensions, neurons): the
        rows or columns with the largest values first, so the ones that matter are named (the
        column W_O writes into, the word that moved), then the others where room is left."""
        if step <= 1:
            return range(count)
        if count > MAX_RANKED_LABELS or all(label.isdigit() for label in labels[:count] if label):
            return range(0, count, step)
        importance = self._shared_importance.get(axis)
        if importance is None or importance.shape[0] < count:
            importance = self._importance.get(axis)
        if importance is None:
            importance = self._importance[axis] = _peaks(self._shown_data, axis)
        taken = np.zeros(count, dtype=bool)
        for i in np.lexsort((np.arange(count), -importance[:count])):
            if not taken[max(0, i - step + 1): i + step].any():
                taken[i] = True
        return np.flatnonzero(taken).tolist()

    def _numbers_layout(self, m: Matrix, rows: int, cols: int, plot: QRectF, cell_w: float, cell_h: float):  # noqa: ANN202
        """The numbers in cells, when they are on and fit: one size for the panel, the largest
        (up to a few points above the labels') at which the widest number fits its cell."""
        if not self._show_numbers or rows * cols > MAX_NUMBER_CELLS or rows * cols == 0:
            return None, []
        if min(cell_w, cell_h) < MIN_CELL_PIXELS_FOR_NUMBERS * 0.6 or cell_w < MIN_NUMBER_CELL_WIDTH:
            return None, []
        data = np.asarray(m.data, dtype=np.float64).reshape(rows, cols)
        values = data.ravel().tolist()
        texts = [format_value(v) for v in values]
        font = self._numbers_font(max(texts, key=len), cell_w, cell_h)
        if font is None:  # a digit fewer before none at all: "−85" reads where "−84.9" does not fit
            texts = [format_compact(v) for v in values]
            font = self._numbers_font(max(texts, key=len), cell_w, cell_h)
        if font is None:
            return None, []
        hatched = (np.isnan(data) | np.isneginf(data)).ravel()  # (+∞ has the scale's top colour)
        light = colors.light_text(data, m.levels, m.kind, self._palette).ravel()
        shade = np.where(hatched, 2, light.astype(np.int8)).tolist()  # 0 black, 1 white, 2 masked
        items = []
        half_line = font.line / 2
        left, top = plot.left(), plot.top()
        k = 0
        for r in range(rows):
            cy = top + (r + 0.5) * cell_h - half_line
            for c in range(cols):
                text = texts[k]
                items.append((font.static(text), left + (c + 0.5) * cell_w - font.width(text) / 2, cy, shade[k]))
                k += 1
        return font, items

    def _numbers_font(self, widest: str, cell_w: float, cell_h: float) -> CachedFont | None:
        """The largest size (from a few points above the labels' down to 7 pt) at which
        ``widest`` fits a cell, or None."""
        key = (widest, int(cell_w * 4), int(cell_h * 4), self._base_key)
        if key in self._numbers_fonts:
            return self._numbers_fonts[key]
        if len(self._numbers_fonts) > 256:
            self._numbers_fonts.clear()
        point = self._font.pointSize() + 6
        found = None
        while point > 6:
            candidate = cached_font(self._font, point, base_key=self._base_key)
            if candidate.width(widest) <= 0.92 * cell_w and candidate.line <= 0.9 * cell_h:
                found = candidate
                break
            point -= 1
        self._numbers_fonts[key] = found
        return found

    def _place_overlays(self) -> None:
        """Put the hover box and the highlight outlines on their cells (in the item's pixels)."""
        layout = self._layout
        for i, item in enumerate(self._highlight_items):
            if i < len(self._highlight_cells) and layout is not None:
                item.setRect(self._cells_to_item(self._highlight_cells[i], layout))
                item.show()
            else:
                item.hide()
        if self._hover_cell is not None and layout is not None:
            row, col = self._hover_cell
            self._hover_box.setRect(self._cells_to_item(QRectF(col, row, 1, 1), layout))

    @staticmethod
    def _cells_to_item(rect: QRectF, layout: _Layout) -> QRectF:
        plot = layout.plot
        return QRectF(
            plot.left() + rect.x() * layout.cell_w, plot.top() + rect.y() * layout.cell_h,
            rect.width() * layout.cell_w, rect.height() * layout.cell_h,
        )

    # -- painting -------------------------------------------------------------------------------
    def _paint(self, p: QPainter) -> None:
        layout = self._ensure_layout()
        if layout is None or self._image is None:
            return
        high = self._high_contrast
        text_pen = QColor("#eeeeee" if high else "#222222")
        # title
        p.setPen(QColor("#f0f0f0" if high else "#111111"))
        p.setFont(layout.title_font.font)
        for st, x, y in layout.title:
            p.drawStaticText(QPointF(x, y), st)
        p.setPen(QColor("#bbbbbb" if high else "#444444"))
        p.setFont(layout.sub_font.font)
        for st, x, y in layout.sub:
            p.drawStaticText(QPointF(x, y), st)
        plot = layout.plot
        # cells: masked ones show the hatching through the transparent pixels of the image
        p.save()
        p.setClipRect(plot, Qt.ClipOperation.IntersectClip)
        if layout.masked:
            background, hatch = _masked_brushes(high)
            for rect in layout.masked:
                p.fillRect(rect, background)
                p.fillRect(rect, hatch)
        p.drawImage(plot, self._image)
        for rect, light in layout.signs:
            p.fillRect(rect, QColor("#ffffff" if light else "#000000"))
        if layout.beyond:
            p.setPen(Qt.PenStyle.NoPen)
            for a, b, c, light in layout.beyond:
                p.setBrush(QColor("#ffffff" if light else "#000000"))
                p.drawPolygon([a, b, c])
        p.restore()
        # axis lines
        p.setPen(QColor("#444444"))
        p.drawLine(QPointF(plot.left(), plot.top()), QPointF(plot.left(), plot.bottom()))
        p.drawLine(QPointF(plot.left(), plot.top()), QPointF(plot.right(), plot.top()))
        # labels
        p.setPen(text_pen)
        p.setFont(layout.label_font.font)
        for st, x, y in layout.row_labels:
            p.drawStaticText(QPointF(x, y), st)
        if layout.col_labels:
            p.save()
            p.translate(layout.col_origin)
            p.rotate(-90)
            for st, x, y in layout.col_labels:
                p.drawStaticText(QPointF(x, y), st)
            p.restore()
        # colour bar
        bar = layout.bar
        p.drawImage(bar, _bar_image(self._matrix.kind, self._palette))
        p.setPen(QColor("#444444"))
        p.drawLine(QPointF(bar.right(), bar.top()), QPointF(bar.right(), bar.bottom()))
        for _, _, _, ty in layout.ticks:
            p.drawLine(QPointF(bar.right(), ty), QPointF(bar.right() + 3.0, ty))
        p.setPen(text_pen)
        for st, x, y, _ in layout.ticks:
            p.drawStaticText(QPointF(x, y), st)
        # numbers in cells
        if layout.numbers:
            p.setFont(layout.numbers_font.font)
            pens = (
                QColor("#000000"),  # black or white: whichever contrasts more with the cell
                QColor("#ffffff"),
                QColor("#dddddd" if high else "#333333"),  # masked cells
            )
            p.save()
            p.setClipRect(plot, Qt.ClipOperation.IntersectClip)
            current = -1
            for st, x, y, shade in layout.numbers:
                if shade != current:
                    p.setPen(pens[shade])
                    current = shade
                p.drawStaticText(QPointF(x, y), st)
            p.restore()

    # -- numbers in cells -------------------------------------------------------------------------
    def sizeHint(self) -> QSize:  # noqa: N802 (Qt's name)
        """Low: the panel takes the height it is given. (A tall hint made the canvas's row, whose
        word-wrapped operator labels give it a height-for-width, taller than the window's room
        for it in presentation mode, cutting off the bottom rows.)"""
        return QSize(super().sizeHint().width(), self.minimumHeight())

    def natural_plot_top(self) -> float:
        """Where the cells would start: below the title, subtitle and column labels."""
        lines = sum(bool(line) for line in self._lines[:1]) * self._title_font.line
        lines += bool(self._lines[1]) * self._sub_font.line
        return MARGIN + lines + SPACING + self._col_extent

    def set_min_plot_top(self, top: float) -> None:
        """Start the cells no higher than ``top`` (the canvas lines up the rows of its panels)."""
        if top != self._min_plot_top:
            self._min_plot_top = top
            self._invalidate()

    def axis_peaks(self, axis: int) -> np.ndarray:
        """Largest |value| of each row (axis 0) or column (axis 1) shown, 0 where none is finite."""
        return _peaks(self._shown_data, axis)

    def label_importance(self, axis: int) -> np.ndarray:
        """How the rows (axis 0) or columns (axis 1) are ranked for a name when not all fit."""
        shared = self._shared_importance.get(axis)
        return shared if shared is not None else self.axis_peaks(axis)

    def set_label_importance(self, axis: int, importance: np.ndarray | None) -> None:
        """Rank the rows (axis 0) or columns (axis 1) to name first by ``importance`` instead of
        this panel's own values, so panels that share an axis name the same ones (None: own)."""
        current = self._shared_importance.get(axis)
        if importance is None:
            if current is not None:
                del self._shared_importance[axis]
                self._invalidate()
        elif current is None or not np.array_equal(current, importance):
            self._shared_importance[axis] = np.asarray(importance, dtype=np.float64)
            self._invalidate()

    def subtitle(self) -> str:
        """The line under the title: axes, shape, notes, and what hatching and corner marks mean."""
        return self._lines[1]

    @property
    def beyond_cells(self) -> np.ndarray:
        """(row, col) of the cells beyond the colour scale (drawn saturated, with a corner mark)."""
        return self._beyond

    def numbers_shown(self) -> bool:
        """Whether the cells carry their numbers now (Numbers on, and they fit)."""
        layout = self._ensure_layout()
        return bool(layout is not None and layout.numbers)

    def sign_marks(self) -> int:
        """How many negative cells carry a "−" bar (numbers off, cells big enough)."""
        layout = self._ensure_layout()
        return len(layout.signs) if layout is not None else 0

    def labels_drawn(self, axis: int) -> list[str]:
        """The row (axis 0) or column (axis 1) labels drawn, in order (thin rows or columns
        leave some out; long labels are cut with "…")."""
        layout = self._ensure_layout()
        if layout is None:
            return []
        return [st.text() for st, *_ in (layout.row_labels if axis == 0 else layout.col_labels)]

    def numbers_visible(self) -> bool:
        layout = self._ensure_layout()
        return layout is not None and bool(layout.numbers)

    # -- mouse -------------------------------------------------------------------------------------
    def cell_at_view(self, point: QPointF) -> tuple[int, int] | None:
        """The cell at a point in cell coordinates (x = column, y = row), or None."""
        if self._matrix is None:
            return None
        rows, cols = self._shape()
        col, row = math.floor(point.x()), math.floor(point.y())
        if 0 <= row < rows and 0 <= col < cols:
            return row, col
        return None

    def _cell_at_item(self, point: QPointF) -> tuple[int, int] | None:
        layout = self._ensure_layout()
        if layout is None or not layout.plot.contains(point):
            return None
        plot = layout.plot
        return self.cell_at_view(QPointF((point.x() - plot.left()) / layout.cell_w, (point.y() - plot.top()) / layout.cell_h))

    def cell_center_in_widget(self, row: int, col: int):
        """Viewport coordinates of a cell's centre (for tests driving the real mouse)."""
        layout = self._ensure_layout()
        if layout is None:
            return self.mapFromScene(QPointF(0, 0))
        plot = layout.plot
        item = QPointF(plot.left() + (col + 0.5) * layout.cell_w, plot.top() + (row + 0.5) * layout.cell_h)
        return self.mapFromScene(self._item.mapToScene(item))

    def mouseMoveEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        # every move counts for hovering (pyqtgraph's scene drops moves closer than 10 ms apart)
        scene_pos = self.mapToScene(ev.position().toPoint())
        item_pos = self._item.mapFromScene(scene_pos)
        self._set_hover_cell(self._cell_at_item(item_pos))
        over_title = self.in_title(item_pos.y())
        if over_title and not self._over_title:
            self.title_hovered.emit(self.full_title())
        self._over_title = over_title
        super().mouseMoveEvent(ev)

    # -- keyboard: a cell cursor ----------------------------------------------------------------------
    def event(self, ev) -> bool:  # noqa: ANN001
        if ev.type() == QEvent.Type.ShortcutOverride and ev.key() in _CURSOR_KEYS and self._matrix is not None and self.hasFocus():
            ev.accept()  # the arrows move the cursor here; they step the pass only outside panels
            return True
        return super().event(ev)

    def keyPressEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        key = ev.key()
        if self._matrix is None or key not in _CURSOR_KEYS or not self.hasFocus():
            super().keyPressEvent(ev)  # (keys a cell editor inside did not use end up here too)
            return
        ev.accept()
        if key == Qt.Key.Key_Escape:
            self._set_hover_cell(None)
            self.keyboard_left.emit()
            return
        rows, cols = self._shape()
        row, col = self._hover_cell or (0, 0)
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.cell_clicked.emit(row, col)  # (a weight cell opens its editor)
            return
        moves = {Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1), Qt.Key.Key_Up: (-1, 0), Qt.Key.Key_Down: (1, 0)}
        if key in moves:
            dr, dc = moves[key]
            row, col = min(max(row + dr, 0), rows - 1), min(max(col + dc, 0), cols - 1)
        elif key == Qt.Key.Key_Home:
            col = 0
        elif key == Qt.Key.Key_End:
            col = cols - 1
        self.move_cursor(row, col)

    def move_cursor(self, row: int, col: int) -> None:
        """Put the keyboard's cell cursor on a cell: outlined, read out and linked as on hover."""
        if self._matrix is None:
            return
        rows, cols = self._shape()
        cell = (min(max(row, 0), rows - 1), min(max(col, 0), cols - 1))
        self._set_hover_cell(cell)
        self.setAccessibleDescription(self._cell_description(*cell))

    def _cell_description(self, row: int, col: int) -> str:
        m = self._matrix
        assert m is not None
        rlabel = m.row_labels[row] if row < len(m.row_labels) and m.row_labels[row] else str(row)
        clabel = m.col_labels[col] if col < len(m.col_labels) and m.col_labels[col] else str(col)
        value = format_value(float(self._shown_data[row, col]))
        return f"{m.row_axis or 'row'} {rlabel}, {m.col_axis or 'column'} {clabel}: {value}"

    def focusInEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        super().focusInEvent(ev)
        if self._matrix is not None and ev.reason() in (Qt.FocusReason.TabFocusReason, Qt.FocusReason.BacktabFocusReason):
            self.move_cursor(*(self._hover_cell or (0, 0)))

    def mouseDoubleClickEvent(self, ev) -> None:  # noqa: N802 (Qt's name)
        item_pos = self._item.mapFromScene(self.mapToScene(ev.position().toPoint()))
        if ev.button() == Qt.MouseButton.LeftButton and self.in_title(item_pos.y()):
            ev.accept()
            self.title_double_clicked.emit()
            return
        super().mouseDoubleClickEvent(ev)

    def leaveEvent(self, event) -> None:  # noqa: N802
        self._set_hover_cell(None)
        self._over_title = False
        super().leaveEvent(event)

    def in_title(self, y: float) -> bool:
        """Whether a point at height ``y`` (in the panel's pixels) is on the title or subtitle."""
        layout = self._ensure_layout()
        if layout is None or not (layout.title or layout.sub):
            return False
        bottom = MARGIN + layout.title_font.line * len(layout.title) + layout.sub_font.line * len(layout.sub)
        return 0 <= y <= bottom

    def full_title(self) -> str:
        """The title and the line under it, uncut (the panel cuts them to its width)."""
        title, sub = self._lines
        return f"{title} — {sub}" if title and sub else title or sub

    def _set_hover_cell(self, cell: tuple[int, int] | None) -> None:
        if cell == self._hover_cell:
            return
        self._hover_cell = cell
        if cell is None:
            self._hover_box.hide()
        else:
            self._place_overlays()
            self._hover_box.show()
        self.cell_hovered.emit(cell)


def _peaks(data: np.ndarray, axis: int) -> np.ndarray:
    """Largest finite |value| of each row (axis 0) or column (axis 1); 0 where none is finite."""
    magnitude = np.where(np.isfinite(data), np.abs(data), 0.0)
    return magnitude.max(axis=1 - axis) if magnitude.size else np.zeros(data.shape[axis])


def _runs(mask: np.ndarray) -> list[tuple[int, int, int]]:
    """The True cells of a 2-D mask as (row, first column, end column) runs."""
    runs = []
    for r, row in enumerate(mask):
        if not row.any():
            continue
        edges = np.flatnonzero(np.diff(np.concatenate(([0], row.view(np.int8), [0]))))
        runs.extend((r, int(a), int(b)) for a, b in zip(edges[::2], edges[1::2]))
    return runs


_brushes: dict[bool, tuple[QBrush, QBrush]] = {}


def _masked_brushes(high_contrast: bool) -> tuple[QBrush, QBrush]:
    found = _brushes.get(high_contrast)
    if found is None:
        found = _brushes[high_contrast] = (QBrush(colors.masked_background(high_contrast)), colors.masked_brush(high_contrast))
    return found


_bar_images: dict[tuple[str, bool | str], QImage] = {}


def _bar_image(kind: str, high_contrast: bool | str) -> QImage:
    """The colour map as a one-pixel-wide column, the top end at the top."""
    key = (kind, high_contrast)
    image = _bar_images.get(key)
    if image is None:
        lut = np.ascontiguousarray(colors.argb_lut(kind, high_contrast)[::-1])
        image = QImage(lut.data, 1, len(lut), 4, QImage.Format.Format_ARGB32_Premultiplied).copy()
        _bar_images[key] = image
    return image


def mask_extra(mask: np.ndarray) -> tuple:
    """``Matrix.extra["masked"]`` for cells that hold a value but were masked (the attention
    weights of hidden keys, exactly 0): drawn hatched like −∞. Packed, so extras compare cheaply."""
    mask = np.asarray(mask, dtype=bool)
    return (mask.shape, np.packbits(mask).tobytes())


def masked_cells(matrix: Matrix) -> np.ndarray | None:
    """The boolean mask stored by :func:`mask_extra`, or None."""
    packed = matrix.extra.get("masked")
    if packed is None:
        return None
    shape, raw = packed
    count = int(np.prod(shape))
    return np.unpackbits(np.frombuffer(raw, dtype=np.uint8), count=count).astype(bool).reshape(shape)


def same_matrix(a: Matrix, b: Matrix) -> bool:
    """Whether two matrices look the same on screen and map to the same source cells."""
    if a is b:
        return True
    for name in ("row_labels", "col_labels", "row_axis", "col_axis", "title", "levels", "kind", "source",
                 "row_index", "col_index", "prefix", "transposed", "note", "editable", "extra"):
        if getattr(a, name) != getattr(b, name):
            return False
    x, y = np.asarray(a.data), np.asarray(b.data)
    if x is y:
        return True
    return x.shape == y.shape and x.dtype == y.dtype and bool(np.array_equal(x, y, equal_nan=x.dtype.kind in "fc"))


_CURSOR_KEYS = (
    Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down, Qt.Key.Key_Home, Qt.Key.Key_End,
    Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Escape,
)


def beyond_scale(data: np.ndarray, levels: tuple[float, float]) -> np.ndarray:
    """(row, col) of the cells whose value lies outside ``levels`` (+∞ included, −∞ and NaN
    not: they are drawn hatched): they get the colour of the scale's end and a corner mark."""
    lo, hi = levels
    with np.errstate(invalid="ignore"):
        outside = (data > hi) | ((data < lo) & np.isfinite(data))
    return np.argwhere(outside)


def special_text(value: float) -> str | None:
    """The name of a value that is not a plain number (NaN, −∞, +∞), else None."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "−∞" if value < 0 else "+∞"
    return None


def format_compact(value: float) -> str:
    """Shorter text for a narrow cell: 2 significant digits ("−85" for −84.85, "2.8", "0.41");
    the readout and Show as table keep the full value."""
    return format_value(value, significant=2)


def format_value(value: float, significant: int = 3) -> str:
    """Short text for a cell: ``significant`` digits (at most two decimals; 1e+04 style from
    10,000 up), −∞ for masked cells."""
    value = float(value)
    special = special_text(value)
    if special is not None:
        return special
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 10000:
        text = f"{value:.0e}"
    else:
        decimals = min(2, max(0, significant - 1 - math.floor(math.log10(magnitude))))
        text = f"{value:.{decimals}f}"
    return text.replace("-", "−")


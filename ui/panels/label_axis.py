"""A heatmap axis that labels every cell, rotating column names so long names never collide.

The axis paints itself directly, with laid-out texts cached and shared (pyqtgraph's axes record
a ``QPicture`` that lays every text out again when played, and re-record it whenever the
labels or the size change, which is on every update of the chart that uses it).
"""

from __future__ import annotations

import math
from typing import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QPointF
from PySide6.QtGui import QFont, QFontMetricsF, QPainter

from ui.panels.text_cache import CachedFont


class LabelAxis(pg.AxisItem):
    """Axis with one label per cell centre (cell i spans [i, i+1]).

    Top and bottom axes draw their labels turned 90° so that names like "colour-blue" fit
    under narrow columns; when cells are too small for every label, every k-th is drawn.
    """

    MAX_EXTENT = 150.0

    def __init__(self, orientation: str, font: QFont | None = None) -> None:
        super().__init__(orientation)
        self._labels: tuple[str, ...] = ()
        self._font = font or QFont()
        self._texts: CachedFont | None = None
        self.setStyle(tickLength=0, autoExpandTextSpace=False)
        self.enableAutoSIPrefix(False)  # (no units: nothing to rescale, and no hidden label to re-lay out)
        self.setPen(pg.mkPen("#444444"))
        self.setTextPen(pg.mkPen("#222222"))

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

    def _text_font(self) -> CachedFont:
        """The label font with its cache of measured and laid-out texts (shared with the heatmaps)."""
        if self._texts is None or self._texts.key != self._font.key():
            self._texts = CachedFont(self._font)
        return self._texts

    def set_font(self, font: QFont) -> None:
        self._font = QFont(font)
        self.setTickFont(self._font)
        self._resize()

    def set_labels(self, labels: Sequence[str]) -> None:
        labels = tuple(labels)
        if labels == self._labels:
            return
        self._labels = labels
        self._resize()
        self.picture = None
        self.update()

    def _extent(self) -> int:
        font = getattr(self, "_font", None)  # pyqtgraph asks before __init__ has finished
        if font is None:
            return 0
        metrics = QFontMetricsF(font)
        longest = max((metrics.horizontalAdvance(s) for s in self._labels), default=0.0)
        return int(math.ceil(min(longest + 10.0, self.MAX_EXTENT)))

    def _resize(self) -> None:
        if self.orientation in ("top", "bottom"):
            self._updateHeight()
        else:
            self._updateWidth()
        self.picture = None
        self.update()

    def _updateHeight(self) -> None:  # noqa: N802 (pyqtgraph's name)
        extent = self._extent() if self.isVisible() else 0
        self.setMaximumHeight(extent)
        self.setMinimumHeight(extent)
        self.picture = None

    def _updateWidth(self) -> None:  # noqa: N802
        extent = self._extent() if self.isVisible() else 0
        self.setMaximumWidth(extent)
        self.setMinimumWidth(extent)
        self.picture = None

    def generateDrawSpecs(self, p: QPainter):  # noqa: N802 (pyqtgraph's name)
        """Just the axis line: the labels are drawn in :meth:`drawPicture`, and pyqtgraph's own
        tick placement (the costly part of painting an axis) is never needed."""
        rect = self.mapRectFromParent(self.geometry())
        edges = {
            "left": (rect.topRight(), rect.bottomRight()),
            "right": (rect.topLeft(), rect.bottomLeft()),
            "top": (rect.bottomLeft(), rect.bottomRight()),
            "bottom": (rect.topLeft(), rect.topRight()),
        }
        start, end = edges[self.orientation]
        return (self.pen(), start, end), [], []

    def paint(self, p: QPainter, *args) -> None:  # noqa: ANN002
        """The axis line and the labels, drawn straight away (no recorded picture)."""
        p.save()
        try:
            axis_spec, tick_specs, _ = self.generateDrawSpecs(p)
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            p.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            pen, start, end = axis_spec
            p.setPen(pen)
            p.drawLine(start, end)
            self._draw_labels(p)
        finally:
            p.restore()

    def drawPicture(self, p: QPainter, axisSpec, tickSpecs, textSpecs) -> None:  # noqa: N802,N803
        """(What pyqtgraph's exporters call: the same drawing as :meth:`paint`.)"""
        super().drawPicture(p, axisSpec, tickSpecs, [])
        self._draw_labels(p)

    def _draw_labels(self, p: QPainter) -> None:
        if not self._labels or self.linkedView() is None:
            return
        font = self._text_font()
        p.setFont(font.font)
        p.setPen(self.textPen())
        line = font.line
        rect = self.boundingRect()
        horizontal = self.orientation in ("top", "bottom")
        view = self.linkedView()
        def local(value: float) -> float:
            point = QPointF(value, 0.0) if horizontal else QPointF(0.0, value)
            mapped = self.mapFromScene(view.mapViewToScene(point))
            return mapped.x() if horizontal else mapped.y()

        per_cell = abs(local(1.0) - local(0.0))
        step = max(1, math.ceil(line / max(per_cell, 1e-6)))
        lo, hi = sorted(self.range)
        room = self.MAX_EXTENT - 10
        height, width_here = self.size().height(), self.size().width()
        for i in range(0, len(self._labels), step):
            centre = i + 0.5
            if not lo <= centre <= hi:
                continue
            at = local(centre)
            text = font.elided(self._labels[i], room)
            if not text:
                continue
            static = font.static(text)
            width = font.width(text)
            if horizontal:
                p.save()
                if self.orientation == "bottom":
                    p.translate(at, rect.top() + 5 + width)
                else:
                    p.translate(at, height - 5)
                p.rotate(-90)
                p.drawStaticText(QPointF(0, -line / 2), static)
                p.restore()
            else:
                left = width_here - 5 - width if self.orientation == "left" else 0.0
                p.drawStaticText(QPointF(left, at - line / 2), static)

"""A heatmap axis that labels every cell, rotating column names so long names never collide."""

from __future__ import annotations

import math
from typing import Sequence

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter


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
        self.setStyle(tickLength=0, autoExpandTextSpace=False)
        self.setPen(pg.mkPen("#444444"))
        self.setTextPen(pg.mkPen("#222222"))

    @property
    def labels(self) -> tuple[str, ...]:
        return self._labels

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

    def drawPicture(self, p: QPainter, axisSpec, tickSpecs, textSpecs) -> None:  # noqa: N802,N803
        super().drawPicture(p, axisSpec, tickSpecs, [])
        if not self._labels or self.linkedView() is None:
            return
        p.setFont(self._font)
        p.setPen(self.textPen())
        metrics = QFontMetricsF(self._font)
        line = metrics.height()
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
        extent = self.MAX_EXTENT
        for i in range(0, len(self._labels), step):
            centre = i + 0.5
            if not lo <= centre <= hi:
                continue
            at = local(centre)
            text = metrics.elidedText(self._labels[i], Qt.TextElideMode.ElideRight, extent - 10)
            width = metrics.horizontalAdvance(text)
            if horizontal:
                p.save()
                if self.orientation == "bottom":
                    p.translate(at, rect.top() + 5 + width)
                else:
                    p.translate(at, self.size().height() - 5)
                p.rotate(-90)
                p.drawText(QRectF(0, -line / 2, width + 2, line), int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter), text)
                p.restore()
            else:
                box = QRectF(0, at - line / 2, self.size().width() - 5, line)
                align = Qt.AlignmentFlag.AlignRight if self.orientation == "left" else Qt.AlignmentFlag.AlignLeft
                p.drawText(box, int(align | Qt.AlignmentFlag.AlignVCenter), text)

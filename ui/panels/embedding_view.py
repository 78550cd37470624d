"""The embedding-space view: how a block moves each token's vector, seen in a 2-D projection.

Each token of the sentence is drawn twice, from the residual stream before a block (hollow
circle) and after its attention layer or after the whole block (filled), with an arrow from one
to the other, so the learner sees context push "bank" or "mole" in a new direction. The two
axes are the main directions of variation (PCA) of all those points together, computed by
:func:`simulator.analysis.pca_2d`.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer
from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from simulator.analysis import pca_2d
from ui.state import AppState, Hover

AFTER_ATTENTION = "attention"
AFTER_BLOCK = "block"
AFTER_CHOICES = ((AFTER_ATTENTION, "after attention"), (AFTER_BLOCK, "after the block"))
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
POINT_SIZE = 9
HOVER_POINT_SIZE = 16
_POSITION_AXES = ("pos", "query_pos", "key_pos")


class EmbeddingView(QWidget):
    """Token vectors before and after a block (or its attention), projected to 2-D by PCA."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("embeddingView")
        self._state = state
        #: what is drawn: (trace, model, stage pair), compared by identity
        self._shown: tuple | None = None
        self._layer: int | None = None
        self._stages: tuple[str, str] | None = None
        self._before = np.zeros((0, 2))
        self._after = np.zeros((0, 2))
        self._ratio = np.zeros(2)
        self._highlight: int | None = None
        self._arrows: list[pg.ArrowItem] = []
        self._lines: list[pg.PlotDataItem] = []
        self._labels: list[pg.TextItem] = []
        #: while the view is hidden (a tab behind another), the state changed: the projection is
        #: worked out when the view is shown or asked for it (stale), and drawn when shown (pending)
        self._stale = False
        self._draw_pending = False

        self.title = QLabel()
        self.title.setObjectName("embeddingTitle")
        self.title.setWordWrap(True)
        font = QFont(self.title.font())
        font.setBold(True)
        self.title.setFont(font)
        self.after_choice = QComboBox()
        self.after_choice.setObjectName("afterChoice")
        for key, text in AFTER_CHOICES:
            self.after_choice.addItem(text, key)
        self.after_choice.setCurrentIndex(1)
        self.after_choice.setToolTip("Compare each token before the block with the same token after the attention layer, or after the whole block")
        self.unsupported = QLabel("This model has no blocks: the token vectors never change.")
        self.unsupported.setObjectName("embeddingUnsupported")
        self.unsupported.setWordWrap(True)
        self.unsupported.setStyleSheet("color: #555555; font-style: italic;")

        self.plot = pg.PlotWidget(background="w")
        self.plot.setObjectName("embeddingPlot")
        item = self.plot.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        item.showGrid(x=True, y=True, alpha=0.15)
        for name in ("left", "bottom"):
            axis = item.getAxis(name)
            axis.setPen(pg.mkPen("#444444"))
            axis.setTextPen(pg.mkPen("#222222"))
        self._view = item.getViewBox()
        self._view.setAspectLocked(True, ratio=1.0)
        self._view.setMouseEnabled(False, False)
        self._before_points = pg.ScatterPlotItem(pxMode=True)
        self._after_points = pg.ScatterPlotItem(pxMode=True)
        for graphic in (self._before_points, self._after_points):
            graphic.setZValue(5)
            self.plot.addItem(graphic)
        self.legend = QLabel()
        self.legend.setObjectName("embeddingLegend")
        self.legend.setStyleSheet("color: #444444;")
        self.legend.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.after_choice)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addWidget(self.unsupported)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.legend)

        self._refresh()
        self._connect()

    # -- signals: the one place where the panel subscribes ------------------------------------------
    def _connect(self) -> None:
        s = self._state
        s.trace_changed.connect(self._refresh)
        s.stage_changed.connect(self._refresh)
        s.model_changed.connect(self._refresh)
        s.hover_changed.connect(self._hover_changed)
        self._view.sigResized.connect(self._spread_labels)
        self.after_choice.currentIndexChanged.connect(self._refresh)

    # -- reading (for tests and the window) ------------------------------------------------------------
    def layer(self) -> int | None:
        """The block shown (None when the model has no blocks)."""
        self._ensure_fresh()
        return self._layer

    def stage_pair(self) -> tuple[str, str] | None:
        """The stage ids compared: (before, after)."""
        self._ensure_fresh()
        return self._stages

    def points(self) -> tuple[np.ndarray, np.ndarray]:
        """Projected coordinates ``[pos, 2]`` before and after."""
        self._ensure_fresh()
        return self._before.copy(), self._after.copy()

    def explained_variance(self) -> np.ndarray:
        """Fraction of the variance along each of the two axes."""
        self._ensure_fresh()
        return self._ratio.copy()

    def highlighted(self) -> int | None:
        """The token position drawn larger because the mouse is over it elsewhere."""
        self._ensure_fresh()
        return self._highlight

    def set_after(self, key: str) -> None:
        """Compare with the stream ``"attention"`` (after attention) or ``"block"`` (after the block)."""
        index = self.after_choice.findData(key)
        if index < 0:
            raise ValueError(f"unknown comparison {key!r}; use one of {[k for k, _ in AFTER_CHOICES]}")
        self.after_choice.setCurrentIndex(index)

    # -- following the state -------------------------------------------------------------------------------
    def _shown_layer(self) -> int | None:
        model = self._state.model
        n = model.config.n_layers
        if n == 0:
            return None
        layer = self._state.layer
        if layer is not None:
            return layer
        ids = model.stage_ids()
        after_blocks = ids.index(self._state.stage_id) > ids.index("blocks.0.resid_pre")
        return n - 1 if after_blocks else 0

    def _pair(self, layer: int) -> tuple[str, str]:
        post = self._state.model.config.norm == "post"
        p = f"blocks.{layer}."
        if self.after_choice.currentData() == AFTER_ATTENTION:
            after = p + ("ln1" if post else "resid_mid")
        else:
            after = p + ("ln2" if post else "resid_post")
        return p + "resid_pre", after

    def _refresh(self, *_: object) -> None:
        if self._unseen():  # nobody sees it: worked out when shown or asked
            self._stale = True
            return
        self._update()

    def _ensure_fresh(self) -> None:
        if self._stale:
            self._update()

    def _update(self) -> None:
        self._stale = False
        state = self._state
        layer = self._shown_layer()
        supported = layer is not None
        self.unsupported.setVisible(not supported)
        self.plot.setVisible(supported)
        self.after_choice.setEnabled(supported)
        if not supported:
            self._shown, self._layer, self._stages = None, None, None
            self.title.setText("Embedding space")
            self._before = self._after = np.zeros((0, 2))
            self._ratio = np.zeros(2)
            self._draw()
            return
        pair = self._pair(layer)
        shown = self._shown
        if shown is not None and shown[0] is state.trace and shown[1] is state.model and shown[2] == pair:
            return
        self._shown, self._layer, self._stages = (state.trace, state.model, pair), layer, pair
        coords, self._ratio = pca_2d([state.trace[pair[0]], state.trace[pair[1]]])
        self._before, self._after = coords
        what = "its attention layer" if self.after_choice.currentData() == AFTER_ATTENTION else "the whole block"
        self.title.setText(f"Block {layer}: how {what} moves each token")
        self.legend.setText(f"○ {pair[0]}  →  ● {pair[1]}")
        self.legend.setToolTip("Hollow: each token's vector before; filled: after. Arrows show how the context moved each token.")
        self._highlight = self._hover_position(state.hover)
        self._draw()

    def _hover_changed(self, hover: object) -> None:
        if self._stale:
            return  # worked out with the rest when the view is next updated
        position = self._hover_position(hover if isinstance(hover, Hover) else None)
        if position != self._highlight:
            self._highlight = position
            self._draw_points()

    def _hover_position(self, hover: Hover | None) -> int | None:
        """The token position a hovered cell belongs to, if its source has a position axis."""
        if hover is None:
            return None
        spec = self._state.model.graph.get(hover.source)
        if spec is None or len(hover.index) != len(spec.axes):
            return None
        for axis, index in zip(spec.axes, hover.index):
            if axis in _POSITION_AXES:
                return int(index) if 0 <= index < len(self._before) else None
        return None

    # -- drawing -----------------------------------------------------------------------------------------
    def _unseen(self) -> bool:
        """Hidden, or a dock tab behind another one: nothing drawn now would be seen."""
        return not self.isVisible() or self.visibleRegion().isEmpty()

    def showEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._catch_up()

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().paintEvent(event)
        if self._stale or self._draw_pending:  # uncovered (its dock tab was chosen): right after this paint
            QTimer.singleShot(0, self._catch_up)

    def _catch_up(self) -> None:
        self._ensure_fresh()
        if self._draw_pending:
            self._draw()

    def _draw(self) -> None:
        if self._unseen():  # nobody sees it: the numbers are kept, the drawing waits
            self._draw_pending = True
            return
        self._draw_pending = False
        before, after = self._before, self._after
        n = len(before)
        item = self.plot.getPlotItem()
        item.setLabel("bottom", f"PC1 ({self._ratio[0] * 100:.0f}% of variance)")
        item.setLabel("left", f"PC2 ({self._ratio[1] * 100:.0f}% of variance)")
        while len(self._lines) < n:
            line = pg.PlotDataItem()
            self.plot.addItem(line)
            self._lines.append(line)
        for k, line in enumerate(self._lines):
            if k < n:
                line.setData([before[k, 0], after[k, 0]], [before[k, 1], after[k, 1]])
                line.setPen(pg.mkPen(PALETTE[k % len(PALETTE)], width=2))
                line.show()
            else:
                line.hide()
        self._fit_view()
        self._place_labels()
        self._draw_points()

    def _place_labels(self) -> None:
        tokens = self._state.trace.tokens
        tokenizer = self._state.model.tokenizer
        n = len(self._after)
        while len(self._labels) < n:
            label = pg.TextItem(anchor=(0.0, 1.0))
            label.setZValue(6)
            self.plot.addItem(label, ignoreBounds=True)
            self._labels.append(label)
        for k, label in enumerate(self._labels):
            if k < n:
                label.setText(tokenizer.display(tokens[k]) if k < len(tokens) else str(k))
                label.setColor(PALETTE[k % len(PALETTE)])
                label.show()
            else:
                label.hide()
        self._spread_labels()

    def _spread_labels(self, *_: object) -> None:
        """Put each label by its after-point, nudged down when it would cover an earlier one."""
        n = len(self._after)
        if not n or self._draw_pending or len(self._labels) < n:
            return
        px, py = self._view.viewPixelSize()
        metrics = QFontMetricsF(self.font())
        placed: list[tuple[float, float, float, float]] = []
        right_edge = self._view.viewRange()[0][1]
        for k in sorted(range(n), key=lambda i: -self._after[i, 1]):
            label = self._labels[k]
            width = (metrics.horizontalAdvance(label.toPlainText()) + 8) * px
            height = metrics.height() * py
            x, y = float(self._after[k, 0]) + 4 * px, float(self._after[k, 1])
            if x + width > right_edge:  # would be cut at the plot's edge: on the point's left instead
                x = float(self._after[k, 0]) - 4 * px - width
            for _ in range(n):
                clash = next((b for b in placed if x < b[2] and b[0] < x + width and y < b[3] and b[1] < y + height), None)
                if clash is None:
                    break
                y = clash[1] - height
            placed.append((x, y, x + width, y + height))
            label.setPos(x, y)

    def _fit_view(self) -> None:
        points = np.concatenate([self._before, self._after]) if len(self._before) else np.zeros((1, 2))
        lo, hi = points.min(axis=0), points.max(axis=0)
        span = float(max(hi[0] - lo[0], hi[1] - lo[1]))
        if not math.isfinite(span) or span <= 1e-12:
            span = 1.0
        pad = 0.15 * span
        centre = (lo + hi) / 2
        half = span / 2 + pad
        self._view.setRange(QRectF(centre[0] - half, centre[1] - half, 2 * half, 2 * half), padding=0)

    def _draw_points(self) -> None:
        if self._unseen():
            self._draw_pending = True
            return
        n = len(self._before)
        colors = [PALETTE[k % len(PALETTE)] for k in range(n)]
        sizes = [HOVER_POINT_SIZE if k == self._highlight else POINT_SIZE for k in range(n)]
        self._before_points.setData(
            pos=self._before, size=sizes, brush=[pg.mkBrush("#ffffff")] * n, pen=[pg.mkPen(c, width=2) for c in colors]
        )
        self._after_points.setData(pos=self._after, size=sizes, brush=[pg.mkBrush(c) for c in colors], pen=[pg.mkPen("#ffffff")] * n)
        for arrow in self._arrows:
            self.plot.removeItem(arrow)
        self._arrows.clear()
        view_span = max(self._view.viewRange()[0][1] - self._view.viewRange()[0][0], 1e-12)
        for k in range(n):
            dx, dy = self._after[k] - self._before[k]
            if math.hypot(dx, dy) < 0.02 * view_span:  # too short to see an arrow
                continue
            angle = 180.0 - math.degrees(math.atan2(dy, dx))
            arrow = pg.ArrowItem(
                angle=angle, headLen=18 if k == self._highlight else 15, tipAngle=34, tailLen=None,
                brush=colors[k], pen=pg.mkPen(colors[k]), pxMode=True,
            )
            arrow.setPos(float(self._after[k, 0]), float(self._after[k, 1]))
            arrow.setZValue(2)
            self.plot.addItem(arrow)
            self._arrows.append(arrow)
        for k, label in enumerate(self._labels[:n]):
            font = QFont(self.font())
            font.setBold(k == self._highlight)
            label.setFont(font)

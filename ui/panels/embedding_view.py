"""The embedding-space view: how a block moves each token's vector, seen in a 2-D projection.

Each token of the sentence is drawn twice, from the residual stream before a block (hollow
circle) and after its attention layer or after the whole block (filled), with an arrow from one
to the other, so the learner sees context push "bank" or "mole" in a new direction.

The axes are, by default, fixed per model: the two main directions of variation of the token
embeddings of a few reference words (river, money, animal, spy, … where the vocabulary has
them; the whole vocabulary otherwise), from :func:`simulator.analysis.pca_basis`. So "bank" in
two sentences is drawn in the same frame and can be compared, and the reference words are drawn
as faint labelled landmarks. "Fixed axes" off fits the axes to this sentence's points instead
(:func:`simulator.analysis.pca_2d`). Labels are placed greedily (:func:`place_labels`) so that
they never overlap: each is nudged to a free spot beside its point, or left out.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QCheckBox, QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from simulator.analysis import Basis2D, pca_2d, pca_basis, project_2d
from simulator.errors import SimulatorError
from simulator.model import Model
from ui.state import AppState, Hover

AFTER_ATTENTION = "attention"
AFTER_BLOCK = "block"
AFTER_CHOICES = ((AFTER_ATTENTION, "after attention"), (AFTER_BLOCK, "after the block"))
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22")
POINT_SIZE = 9
HOVER_POINT_SIZE = 16
_POSITION_AXES = ("pos", "query_pos", "key_pos")
#: landmarks drawn faintly, and the words the fixed axes are fitted on (those the vocabulary has)
REFERENCE_WORDS = ("river", "water", "money", "cash", "animal", "spy", "king", "food")
REFERENCE_COLOR = "#9a9a9a"
REFERENCE_POINT_SIZE = 6
#: a vocabulary larger than this is fitted on this many evenly spaced rows (a fraction of a second)
BASIS_MAX_ROWS = 4096
LABEL_GAP = 4.0

Rect = tuple[float, float, float, float]  # left, top, width, height, in pixels (y grows downwards)


def _overlaps(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def place_labels(
    anchors: list[tuple[float, float]], sizes: list[tuple[float, float]], bounds: Rect, nudges: list[int] | None = None
) -> list[Rect | None]:
    """Greedy label placement: rectangles that never overlap each other, inside ``bounds``.

    Labels are placed in the order given (put the most important first). Each tries spots
    around its anchor point (right, left, above, below, and the corners); label ``k`` may then be
    nudged up or down by up to ``nudges[k]`` label heights on either side (0 when not given). A
    label with no free spot is dropped (None) rather than drawn over another.
    """
    placed: list[Rect] = []
    out: list[Rect | None] = []
    left, top, width, height = bounds
    for k, ((ax, ay), (w, h)) in enumerate(zip(anchors, sizes)):
        g = LABEL_GAP
        spots = [
            (ax + g, ay - h / 2), (ax - g - w, ay - h / 2), (ax + g, ay - h), (ax + g, ay),
            (ax - g - w, ay - h), (ax - g - w, ay), (ax - w / 2, ay - g - h), (ax - w / 2, ay + g),
        ]
        for step in range(1, (nudges[k] if nudges else 0) + 1):
            for dy in (-step * h, step * h):
                spots += [(ax + g, ay - h / 2 + dy), (ax - g - w, ay - h / 2 + dy)]
        chosen: Rect | None = None
        for x, y in spots:
            rect = (x, y, w, h)
            if x < left or y < top or x + w > left + width or y + h > top + height:
                continue
            if not any(_overlaps(rect, other) for other in placed):
                chosen = rect
                break
        if chosen is not None:
            placed.append(chosen)
        out.append(chosen)
    return out


def reference_tokens(model: Model) -> list[tuple[str, int]]:
    """The reference words the model's vocabulary holds as one known token: (word, token id)."""
    found = []
    for word in REFERENCE_WORDS:
        try:
            encoding = model.encode(word)
        except SimulatorError:
            continue
        if len(encoding.ids) == 1 and not encoding.unknown:
            found.append((word, int(encoding.ids[0])))
    return found


class EmbeddingView(QWidget):
    """Token vectors before and after a block (or its attention), projected to 2-D by PCA:
    on axes fixed per model (the default) or fitted to this sentence."""

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
        #: the fixed frame of the model it was fitted for: (model, W_E version, basis, what it was fitted on)
        self._basis: tuple[Model, int, Basis2D, str] | None = None
        self._references: list[tuple[str, int]] = []
        self._reference_points = np.zeros((0, 2))
        self._reference_labels: list[pg.TextItem] = []
        self._basis_source = ""
        #: the rectangles (pixels, scene coordinates) of the labels drawn: sentence tokens then references
        self._label_rects: list[Rect | None] = []
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
        self.fixed_axes = QCheckBox("Fixed axes")
        self.fixed_axes.setObjectName("fixedAxes")
        self.fixed_axes.setChecked(True)
        self.fixed_axes.setToolTip(
            "On: the same two axes for every sentence of this model (from the reference words' embeddings), "
            "so a word can be compared between sentences. Off: axes fitted to this sentence's points."
        )
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
        self._landmarks = pg.ScatterPlotItem(pxMode=True)
        self._landmarks.setZValue(1)
        self.plot.addItem(self._landmarks)
        self.legend = QLabel()
        self.legend.setObjectName("embeddingLegend")
        self.legend.setStyleSheet("color: #444444;")
        self.legend.setWordWrap(True)

        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.fixed_axes)
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
        self.fixed_axes.toggled.connect(self._refresh)

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
        """Fraction of the variance along each of the two axes (of the points the axes were fitted on)."""
        self._ensure_fresh()
        return self._ratio.copy()

    def is_fixed(self) -> bool:
        """True when the axes are the model's fixed ones, False when fitted to this sentence."""
        return self.fixed_axes.isChecked()

    def set_fixed(self, fixed: bool) -> None:
        """Use the model's fixed axes (True) or fit the axes to this sentence (False)."""
        self.fixed_axes.setChecked(bool(fixed))

    def basis(self) -> Basis2D | None:
        """The model's fixed frame (fitted once per model and token embedding), None without blocks."""
        if self._state.model.config.n_layers == 0:
            return None
        return self._fixed_basis()

    def references(self) -> list[tuple[str, np.ndarray]]:
        """The reference words drawn as landmarks, with their coordinates in the current axes."""
        self._ensure_fresh()
        return [(word, self._reference_points[k].copy()) for k, (word, _) in enumerate(self._references)]

    def label_rects(self) -> list[tuple[str, Rect]]:
        """Every label drawn, with the rectangle (scene pixels) the placement gave it."""
        self._ensure_fresh()
        labels = self._labels[: len(self._after)] + self._reference_labels[: len(self._references)]
        return [(label.toPlainText(), rect) for label, rect in zip(labels, self._label_rects) if rect is not None]

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
            self._references, self._reference_points = [], np.zeros((0, 2))
            self._ratio = np.zeros(2)
            self._draw()
            return
        pair = self._pair(layer)
        fixed = self.is_fixed()
        model = state.model
        key = (state.trace, model, pair, fixed, model.param_version("embed.W_E"))
        shown = self._shown
        if shown is not None and shown[0] is key[0] and shown[1] is key[1] and shown[2:] == key[2:]:
            return
        self._shown, self._layer, self._stages = key, layer, pair
        before, after = state.trace[pair[0]], state.trace[pair[1]]
        self._references = reference_tokens(model)
        embeddings = model.params["embed.W_E"][[i for _, i in self._references]]
        if fixed:
            basis = self._fixed_basis()
            self._ratio = basis.ratio.copy()
        else:
            (self._before, self._after), self._ratio = pca_2d([before, after])
            basis = pca_basis([before, after])  # the same axes as pca_2d, for the landmarks
        projected = project_2d(basis, [before, after, embeddings])
        if fixed:
            self._before, self._after = projected[0], projected[1]
        self._reference_points = projected[2]
        what = "its attention layer" if self.after_choice.currentData() == AFTER_ATTENTION else "the whole block"
        self.title.setText(f"Block {layer}: how {what} moves each token")
        self.legend.setText(f"○ {pair[0]}  →  ● {pair[1]}")
        self.legend.setToolTip("Hollow: each token's vector before; filled: after. Arrows show how the context moved each token.")
        self._highlight = self._hover_position(state.hover)
        self._draw()

    def _fixed_basis(self) -> Basis2D:
        """The model's frame, fitted once per model (and again only if its W_E is edited): the
        reference words' embeddings when at least three span a plane, else the whole vocabulary."""
        model = self._state.model
        version = model.param_version("embed.W_E")
        cached = self._basis
        if cached is not None and cached[0] is model and cached[1] == version:
            return cached[2]
        weights = model.params["embed.W_E"]
        ids = [i for _, i in reference_tokens(model)]
        basis = pca_basis([weights[ids]]) if len(ids) >= 3 else None
        source = "the reference words'"
        if basis is None or basis.ratio[1] <= 0:
            basis = pca_basis([weights], max_rows=BASIS_MAX_ROWS)
            source = "the vocabulary's"
        self._basis = (model, version, basis, source)
        return basis

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
        if self._shown is not None and self._shown[3] and self._basis is not None:
            source = self._basis[3]
            item.setLabel("bottom", f"Fixed axis 1 ({self._ratio[0] * 100:.0f}% of {source} variance)")
            item.setLabel("left", f"Fixed axis 2 ({self._ratio[1] * 100:.0f}% of {source} variance)")
        else:
            item.setLabel("bottom", f"PC1 ({self._ratio[0] * 100:.0f}% of variance)")
            item.setLabel("left", f"PC2 ({self._ratio[1] * 100:.0f}% of variance)")
        refs = self._reference_points
        self._landmarks.setData(
            pos=refs, size=REFERENCE_POINT_SIZE, brush=pg.mkBrush(REFERENCE_COLOR + "80"), pen=pg.mkPen(REFERENCE_COLOR + "a0")
        )
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
            label = pg.TextItem(anchor=(0.0, 0.0))
            label.setZValue(6)
            self.plot.addItem(label, ignoreBounds=True)
            self._labels.append(label)
        for k, label in enumerate(self._labels):
            if k < n:
                label.setText(tokenizer.display(tokens[k]) if k < len(tokens) else str(k))
                label.setColor(PALETTE[k % len(PALETTE)])
            label.setVisible(k < n)
        m = len(self._references)
        while len(self._reference_labels) < m:
            label = pg.TextItem(anchor=(0.0, 0.0), color=REFERENCE_COLOR)
            label.setZValue(3)
            font = QFont(self.font())
            font.setItalic(True)
            label.setFont(font)
            self.plot.addItem(label, ignoreBounds=True)
            self._reference_labels.append(label)
        for k, label in enumerate(self._reference_labels):
            if k < m:
                label.setText(self._references[k][0])
            label.setVisible(k < m)
        self._set_label_fonts()
        self._spread_labels()

    def _set_label_fonts(self) -> None:
        for k, label in enumerate(self._labels[: len(self._after)]):
            font = QFont(self.font())
            font.setBold(k == self._highlight)
            label.setFont(font)

    def _spread_labels(self, *_: object) -> None:
        """Place every label beside its point without overlaps (:func:`place_labels`): the
        hovered token first, then the sentence's tokens (which may be nudged further), then the
        reference words; a label with no free spot is hidden."""
        n = len(self._after)
        m = len(self._references)
        if self._draw_pending or len(self._labels) < n or len(self._reference_labels) < m:
            return
        labels = self._labels[:n] + self._reference_labels[:m]
        points = [self._after[k] for k in range(n)] + [self._reference_points[k] for k in range(m)]
        order = sorted(range(n), key=lambda k: (k != self._highlight, -self._after[k, 1])) + list(range(n, n + m))
        anchors, sizes = [], []
        for k in order:
            anchor = self._view.mapViewToScene(QPointF(float(points[k][0]), float(points[k][1])))
            box = labels[k].boundingRect()
            anchors.append((anchor.x(), anchor.y()))
            sizes.append((box.width(), box.height()))
        frame = self._view.sceneBoundingRect()
        rects = place_labels(anchors, sizes, (frame.left(), frame.top(), frame.width(), frame.height()),
                             nudges=[n if k < n else 0 for k in order])
        self._label_rects = [None] * (n + m)
        for k, rect in zip(order, rects):
            self._label_rects[k] = rect
            labels[k].setVisible(rect is not None)
            if rect is not None:
                corner = self._view.mapSceneToView(QPointF(rect[0], rect[1]))
                labels[k].setPos(corner.x(), corner.y())

    def _fit_view(self) -> None:
        parts = [self._before, self._after]
        if len(self._reference_points):
            parts.append(self._reference_points)
        points = np.concatenate(parts) if len(self._before) else np.zeros((1, 2))
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
        self._set_label_fonts()
        self._spread_labels()

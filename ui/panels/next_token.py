"""The next-token view: what the model predicts after the sentence, and one-click generation.

A horizontal bar chart of the top-k entries of the last row of ``probs`` (largest at the top,
probabilities written next to the bars), a temperature slider (an undoable run option), and an
Append button that adds the chosen token to the sentence. While parts of the model are switched
off, the bars are the predictions without them, and a table beside them puts the predictions of
the whole model and of the model with the parts off side by side (both from the engine: the plain
trace and the intervened one). Models without ``probs`` (BERT-like encoders) get a short
explanation instead.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from simulator.analysis import sample_next, top_k
from simulator.errors import SimulatorError
from simulator.model import Model
from simulator.trace import NEXT_TOKEN_PROBS
from ui.commands import SetOptionCommand, SetTextCommand
from ui.panels.label_axis import LabelAxis
from ui.state import AppState

DEFAULT_K = 10
K_RANGE = (3, 30)
TEMPERATURE_STEP = 0.05
TEMPERATURE_RANGE = (0.1, 3.0)
BAR_COLOR = "#4a7fc1"
CHOSEN_COLOR = "#ff9f1c"
#: probabilities above this are written inside their bar, which reaches the right edge
INSIDE_LABEL_ABOVE = 0.8


class _BarViewBox(pg.ViewBox):
    """A fixed view box whose left clicks choose the bar under the mouse."""

    def __init__(self, view: "NextTokenView") -> None:
        super().__init__(enableMenu=False)
        self._owner = view
        self.setMouseEnabled(False, False)

    def mouseClickEvent(self, ev) -> None:  # noqa: N802 (pyqtgraph's name)
        if ev.button() != Qt.MouseButton.LeftButton:
            return
        row = int(np.floor(self.mapSceneToView(ev.scenePos()).y()))
        if 0 <= row < len(self._owner.predictions()):
            ev.accept()
            self._owner.choose(row)


class NextTokenView(QWidget):
    """Top-k next-token probabilities with a temperature slider and an Append button."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("nextTokenView")
        self._state = state
        self._predictions: list[tuple[int, float]] = []
        self._chosen_id: int | None = None
        self._bar_colors: tuple | None = None
        self._choice_items: list[tuple[str, int]] | None = None
        self._shown_rows: int | None = None
        #: the bars belong to an older trace: the panel was hidden when the trace changed, and a
        #: hidden panel asks the engine for nothing (it catches up when shown or read)
        self._stale = False

        self.title = QLabel()
        self.title.setObjectName("nextTokenTitle")
        self.title.setWordWrap(True)
        self.unsupported = QLabel(
            "This model does not predict next tokens: it is an encoder (like BERT) that reads the "
            "whole sentence at once and has no next-token probabilities."
        )
        self.unsupported.setObjectName("nextTokenUnsupported")
        self.unsupported.setWordWrap(True)
        self.unsupported.setStyleSheet("color: #555555; font-style: italic;")

        self._axis = LabelAxis("left")
        self._view = _BarViewBox(self)
        self.plot = pg.PlotWidget(viewBox=self._view, axisItems={"left": self._axis}, background="w")
        self.plot.setObjectName("nextTokenPlot")
        item = self.plot.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        item.setLabel("bottom", "probability")
        item.getAxis("bottom").setPen(pg.mkPen("#444444"))
        item.getAxis("bottom").setTextPen(pg.mkPen("#222222"))
        self._view.invertY(True)
        self._view.setDefaultPadding(0.0)
        self._bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.72, brushes=[], pen=pg.mkPen(None))
        self.plot.addItem(self._bars)
        self._percents = _PercentLabels(QFont(self.font()))
        self.plot.addItem(self._percents, ignoreBounds=True)
        self.plot.setMinimumHeight(160)

        self.k_box = QSpinBox()
        self.k_box.setObjectName("topKBox")
        self.k_box.setRange(*K_RANGE)
        self.k_box.setValue(DEFAULT_K)
        self.k_box.setPrefix("top ")
        self.k_box.setToolTip("How many of the most likely tokens to show")
        self.temperature_slider = QSlider(Qt.Orientation.Horizontal)
        self.temperature_slider.setObjectName("temperatureSlider")
        self.temperature_slider.setRange(_slider_value(TEMPERATURE_RANGE[0]), _slider_value(TEMPERATURE_RANGE[1]))
        self.temperature_slider.setSingleStep(1)
        self.temperature_slider.setPageStep(4)
        self.temperature_slider.setToolTip("Temperature T: probabilities are softmax(logits / T). Low T sharpens, high T flattens.")
        self.temperature_label = QLabel()
        self.temperature_label.setObjectName("temperatureLabel")
        self.temperature_label.setMinimumWidth(QLabel("T = 0.00").sizeHint().width())
        self.choice = QComboBox()
        self.choice.setObjectName("tokenChoice")
        self.choice.setToolTip("The token Append adds; click a bar to choose it")
        self.append_button = QPushButton("Append")
        self.append_button.setObjectName("appendButton")
        self.append_button.setToolTip("Add the chosen token to the end of the sentence (one step of generation)")
        self.sample_button = QPushButton("Sample")
        self.sample_button.setObjectName("sampleButton")
        self.sample_button.setToolTip(
            "Draw the next token at random from the bars shown (top-k), in proportion to their "
            "probabilities at this temperature, and append it; the seed makes the draw repeatable"
        )
        self.seed_box = QSpinBox()
        self.seed_box.setObjectName("seedBox")
        self.seed_box.setRange(0, 999_999)
        self.seed_box.setPrefix("seed ")
        self.seed_box.setToolTip("The same seed, sentence and settings always draw the same token; it goes up by one after each draw")
        self.top_p_box = QDoubleSpinBox()
        self.top_p_box.setObjectName("topPBox")
        self.top_p_box.setRange(0.05, 1.0)
        self.top_p_box.setSingleStep(0.05)
        self.top_p_box.setDecimals(2)
        self.top_p_box.setValue(1.0)
        self.top_p_box.setPrefix("top-p ")
        self.top_p_box.setToolTip("Nucleus sampling: draw only from the most likely tokens whose probabilities add up to this (1 = all shown)")
        self.comparison = QTableWidget(0, 4)
        self.comparison.setObjectName("switchedOffComparison")
        self.comparison.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.comparison.verticalHeader().hide()
        self.comparison.setMinimumHeight(120)
        self.comparison.hide()
        self._comparison: list[tuple[tuple[int, float], tuple[int, float]]] = []
        self.message = QLabel()
        self.message.setObjectName("nextTokenMessage")
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.hide()

        controls = QHBoxLayout()
        controls.addWidget(self.k_box)
        controls.addSpacing(8)
        controls.addWidget(QLabel("Temperature"))
        controls.addWidget(self.temperature_slider, 1)
        controls.addWidget(self.temperature_label)
        choose = QHBoxLayout()
        choose.addWidget(self.choice, 1)
        choose.addWidget(self.append_button)
        sample = QHBoxLayout()
        sample.addWidget(self.sample_button)
        sample.addWidget(self.seed_box)
        sample.addWidget(self.top_p_box)
        sample.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.title)
        layout.addWidget(self.unsupported, 1, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.comparison)
        layout.addLayout(controls)
        layout.addLayout(choose)
        layout.addLayout(sample)
        layout.addWidget(self.message)
        self._controls = (self.k_box, self.temperature_slider, self.choice, self.append_button,
                          self.sample_button, self.seed_box, self.top_p_box)

        self._refresh()
        self._connect()
        state.register_needs(self._needs)

    # -- signals: the one place where the panel subscribes ------------------------------------------
    def _connect(self) -> None:
        s = self._state
        s.trace_changed.connect(self._refresh)
        s.model_changed.connect(self._model_changed)
        s.ablations_changed.connect(self._refresh)
        self.k_box.valueChanged.connect(self._refresh)
        self.temperature_slider.valueChanged.connect(self._temperature_moved)
        self.choice.currentIndexChanged.connect(self._choice_changed)
        self.append_button.clicked.connect(self.append_chosen)
        self.sample_button.clicked.connect(self.sample)

    def _needs(self) -> tuple[str, ...]:
        """What a long pass computes for this panel before it is shown: the last row of probs,
        only while the panel is visible (see :meth:`AppState.register_needs`)."""
        return (NEXT_TOKEN_PROBS,) if self.supported and self.isVisible() else ()

    # -- reading (for tests and the window) ------------------------------------------------------------
    @property
    def supported(self) -> bool:
        """Whether the model has next-token probabilities."""
        return "probs" in self._state.model.graph

    def predictions(self) -> list[tuple[int, float]]:
        """The bars shown, largest first: ``(token id, probability)``."""
        self._catch_up()
        return list(self._predictions)

    def comparison_rows(self) -> list[tuple[tuple[int, float], tuple[int, float]]]:
        """The side-by-side table, rank by rank: ``((token, probability) with every part on,
        (token, probability) with the switched-off parts off)``; empty while none are off."""
        self._catch_up()
        return list(self._comparison)

    def chosen_token(self) -> int | None:
        """The token id Append would add."""
        self._catch_up()
        return self._chosen_id

    @property
    def stale(self) -> bool:
        """Whether the bars wait for the panel to be shown (it was hidden when the trace changed)."""
        return self._stale

    def bar_center_in_widget(self, rank: int) -> QPoint:
        """Viewport coordinates of the middle of a bar (for tests driving the real mouse)."""
        self._catch_up()
        _, prob = self._predictions[rank]
        scene = self._view.mapViewToScene(QPointF(max(prob, 0.02) / 2, rank + 0.5))
        return self.plot.mapFromScene(scene)

    # -- user input -------------------------------------------------------------------------------------
    def choose(self, rank: int) -> None:
        """Choose the bar at ``rank`` (0 is the most likely token)."""
        self._catch_up()
        if 0 <= rank < self.choice.count():
            self.choice.setCurrentIndex(rank)

    def append_chosen(self) -> None:
        """Add the chosen token to the sentence, unless the result would not fit the context."""
        self._catch_up()
        if self._chosen_id is not None and self.supported:
            self._append(self._chosen_id)

    def sample(self) -> None:
        """Draw a token from the bars shown (top-k, then top-p) at the current temperature with
        the seed in the box, append it, and move the seed on by one for the next draw."""
        self._catch_up()
        if not self.supported or not self._predictions:
            return
        seed = self.seed_box.value()
        k, top_p = self.k_box.value(), round(self.top_p_box.value(), 2)
        token_id, prob = sample_next(self._state.trace.next_token_probs(), seed, k=k, top_p=top_p)
        token = token_label(self._state.model, token_id)
        if self._append(token_id):
            temperature = temperature_text(float(self._state.option("temperature")))
            self._state.message.emit(
                f"Sampled “{token}” (chance {_percent(prob)} among the candidates) with seed {seed}, "
                f"top {k}, top-p {top_p:g}, {temperature}"
            )
            self.seed_box.setValue(seed + 1 if seed < self.seed_box.maximum() else 0)

    def _append(self, token_id: int) -> bool:
        """Add ``token_id`` to the sentence as one undo step; False (and why) if it cannot be."""
        state = self._state
        model, trace = state.model, state.trace
        limit = model.config.n_ctx
        if state.busy:
            self._say("The last change is still being computed; try again when the bars update. Nothing was added.")
            return False
        if len(trace.ids) + 1 > limit:
            self._say(f"The sentence already has {len(trace.ids)} tokens, the most this model reads (its context length); nothing was added.")
            return False
        if token_id >= model.tokenizer.vocab_size:
            self._say(
                f"“#{token_id}” is a padded row of the vocabulary: the tokeniser has no piece for it, "
                "so it cannot be written as text; nothing was added."
            )
            return False
        text = self._text_with(token_id)
        try:
            encoding = model.encode(text)
        except SimulatorError as exc:
            self._say(f"Cannot append: {exc}")
            return False
        if tuple(encoding.ids) != tuple(int(i) for i in trace.ids) + (token_id,):
            token = token_label(model, token_id)
            self._say(f"“{token}” cannot be written as text that reads back as the same token (for example the unknown-word token); nothing was added.")
            return False
        self._say("")
        self._chosen_id = None  # greedy by default: after an append the top-ranked token is chosen again
        state.undo_stack.push(SetTextCommand(state, text, merge=False))
        return True

    def _text_with(self, token_id: int) -> str:
        tokenizer = self._state.model.tokenizer
        if getattr(tokenizer, "kind", "") == "word":
            token = tokenizer.id_to_token(token_id)
            glue = " " if any(ch.isalnum() for ch in token) else ""
            return self._state.text.rstrip() + glue + token
        return tokenizer.decode([int(i) for i in self._state.trace.ids] + [token_id])

    def _temperature_moved(self, value: int) -> None:
        temperature = round(value * TEMPERATURE_STEP, 2)
        self.temperature_label.setText(temperature_text(temperature))
        if temperature != self._state.option("temperature"):
            self._state.undo_stack.push(SetOptionCommand(self._state, "temperature", temperature))

    def _choice_changed(self, index: int) -> None:
        if 0 <= index < len(self._predictions):
            self._chosen_id = self._predictions[index][0]
            self._color_bars()
            token = self.choice.itemData(index, Qt.ItemDataRole.UserRole + 1)
            self.append_button.setText(f"Append “{token}”")

    def _say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    # -- following the state -------------------------------------------------------------------------------
    def _model_changed(self) -> None:
        self._chosen_id = None
        self._say("")
        self._refresh()

    def _refresh(self, *_: object) -> None:
        supported = self.supported
        self.unsupported.setVisible(not supported)
        self.title.setVisible(supported)
        self.plot.setVisible(supported)
        for widget in self._controls:
            widget.setEnabled(supported)
        self._sync_temperature()
        if not supported:
            self._stale = False
            self._comparison = []
            self.comparison.hide()
            self._predictions = []
            self._chosen_id = None
            self._draw()
            self._fill_choice()
            return
        trace = self._state.trace
        tokenizer = self._state.model.tokenizer
        shown = [tokenizer.display(t) for t in trace.tokens]
        tail = " ".join(shown[-4:])
        off = len(self._state.ablations)
        parts = f" with {off} part{'s' if off != 1 else ''} switched off" if off else ""
        self.title.setText(f"After “{'… ' if len(shown) > 4 else ''}{tail}” the model{parts} predicts:")
        if not self.isVisible():
            self._stale = True
            return
        self._stale = False
        self._refresh_bars()

    def _catch_up(self) -> None:
        """Compute the bars a hidden panel skipped, before anything reads or uses them."""
        if self._stale:
            self._stale = False
            self._refresh_bars()

    def _refresh_bars(self) -> None:
        trace = self._state.trace
        self._predictions = top_k(trace.next_token_probs(), self.k_box.value())
        self._fill_comparison()
        if self._chosen_id not in [i for i, _ in self._predictions]:
            self._chosen_id = self._predictions[0][0] if self._predictions else None
        self._draw()
        self._fill_choice()

    def _fill_comparison(self) -> None:
        """The whole model's top-k beside the top-k with the switched-off parts off."""
        state = self._state
        off = len(state.ablations)
        if not off:
            self._comparison = []
            self.comparison.hide()
            return
        plain = top_k(state.plain_trace.next_token_probs(), self.k_box.value())
        self._comparison = list(zip(plain, self._predictions))
        model = state.model
        table = self.comparison
        table.setHorizontalHeaderLabels(["All parts on", "", f"{off} switched off", ""])
        table.setRowCount(len(self._comparison))
        for row, pair in enumerate(self._comparison):
            for side, (token_id, prob) in enumerate(pair):
                table.setItem(row, 2 * side, QTableWidgetItem(token_label(model, token_id)))
                table.setItem(row, 2 * side + 1, QTableWidgetItem(_percent(prob)))
        table.resizeColumnsToContents()
        table.show()

    def showEvent(self, event) -> None:  # noqa: N802, ANN001 (Qt's name and event type)
        """A panel shown again catches up with the trace it skipped while hidden."""
        super().showEvent(event)
        self._catch_up()

    def _sync_temperature(self) -> None:
        temperature = float(self._state.option("temperature"))
        self.temperature_slider.blockSignals(True)
        self.temperature_slider.setValue(_slider_value(temperature))
        self.temperature_slider.blockSignals(False)
        self.temperature_label.setText(temperature_text(temperature))

    def _fill_choice(self) -> None:
        model = self._state.model
        self.choice.blockSignals(True)
        tokens = [token_label(model, token_id) for token_id, _ in self._predictions]
        items = [(f"{token}  ({_percent(prob)})", token_id) for token, (token_id, prob) in zip(tokens, self._predictions)]
        if items != self._choice_items:  # (the same entries as shown: nothing to rebuild)
            if self.choice.count() != len(items):
                self.choice.clear()
                self.choice.addItems([text for text, _ in items])
            for rank, ((text, token_id), token) in enumerate(zip(items, tokens)):  # (changed in place)
                self.choice.setItemText(rank, text)
                self.choice.setItemData(rank, token_id)
                self.choice.setItemData(rank, token, Qt.ItemDataRole.UserRole + 1)
            self._choice_items = items
        chosen_index = next((rank for rank, (token_id, _) in enumerate(self._predictions) if token_id == self._chosen_id), 0)
        self.choice.setCurrentIndex(chosen_index if self._predictions else -1)
        self.choice.blockSignals(False)
        if self._predictions:
            self._choice_changed(chosen_index)
        else:
            self.append_button.setText("Append")

    # -- drawing -----------------------------------------------------------------------------------------
    def _draw(self) -> None:
        model = self._state.model
        n = len(self._predictions)
        probs = [p for _, p in self._predictions]
        self._bars.setOpts(x0=np.zeros(n), y=np.arange(n) + 0.5, width=np.asarray(probs), height=0.72)
        self._axis.set_labels([token_label(model, i) for i, _ in self._predictions])
        # no room right of a bar that reaches the edge: its percentage is written on the bar
        self._percents.set_labels([(_percent(p), p, k + 0.5, p > INSIDE_LABEL_ABOVE) for k, p in enumerate(probs)])
        if n != self._shown_rows:
            self._view.setRange(QRectF(0, 0, 1.0, max(n, 1)), padding=0)
            self._view.setLimits(xMin=0, xMax=1.0, yMin=0, yMax=max(n, 1))
            self._shown_rows = n
        self._color_bars()

    def _color_bars(self) -> None:
        colours = tuple(CHOSEN_COLOR if i == self._chosen_id else BAR_COLOR for i, _ in self._predictions)
        if colours != self._bar_colors:
            self._bars.setOpts(brushes=[pg.mkBrush(c) for c in colours])
            self._bar_colors = colours


class _PercentLabels(pg.GraphicsObject):
    """The percentages beside the bars (or on a bar, right-aligned, when it reaches the edge),
    at a fixed pixel size whatever the view's scale, all drawn by this one item (a text item per
    bar made each update of the chart cost milliseconds)."""

    PAD = 4.0  #: pixels between a bar's end and its text

    def __init__(self, font: QFont) -> None:
        super().__init__()
        self._font = QFont(font)
        self._metrics = QFontMetricsF(self._font)
        #: (text, x, y, on the bar) with x, y in data coordinates: the bar's end and middle
        self._labels: list[tuple[str, float, float, bool]] = []
        self.setZValue(10)

    def set_labels(self, labels: list[tuple[str, float, float, bool]]) -> None:
        if labels != self._labels:
            self._labels = labels
            self.update()

    def labels(self) -> list[tuple[str, float, float, bool]]:
        return list(self._labels)

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt's name)
        rect = self.viewRect()  # the texts stick out of the bars: the whole visible view
        return QRectF() if rect is None else rect

    def viewRangeChanged(self) -> None:  # noqa: N802 (pyqtgraph's name)
        self.prepareGeometryChange()

    def paint(self, p, *args) -> None:  # noqa: ANN001
        if not self._labels:
            return
        to_device = p.transform()
        metrics = self._metrics
        p.save()
        p.resetTransform()  # text in pixels, placed at the mapped bar ends
        p.setFont(self._font)
        baseline = metrics.ascent() - metrics.height() / 2
        for text, x, y, inside in self._labels:
            at = to_device.map(QPointF(x, y))
            left = at.x() - metrics.horizontalAdvance(text) - self.PAD if inside else at.x() + self.PAD
            p.setPen(QColor("#ffffff" if inside else "#222222"))
            p.drawText(QPointF(left, at.y() + baseline), text)
        p.restore()


def token_label(model: Model, token_id: int) -> str:
    """A predicted token as shown: the tokeniser's readable piece, or ``#id`` for a padded row
    of the vocabulary (the embedding has more rows than the tokeniser has pieces)."""
    if token_id >= model.tokenizer.vocab_size:
        return model.token_text(token_id)
    return model.tokenizer.display(model.tokenizer.id_to_token(token_id))


def temperature_text(temperature: float) -> str:
    """The temperature label: two decimals on the slider's range, three significant digits
    beyond it (a session may hold 1e-30 or 1e30, which would otherwise read "0.00" or run long)."""
    if 0.01 <= temperature < 1000:
        return f"T = {temperature:.2f}"
    return f"T = {temperature:.3g}"


def _slider_value(temperature: float) -> int:
    lo, hi = TEMPERATURE_RANGE
    return int(round(min(max(temperature, lo), hi) / TEMPERATURE_STEP))


def _percent(prob: float) -> str:
    return f"{prob * 100:.1f}%" if prob >= 0.001 else f"{prob * 100:.2g}%"

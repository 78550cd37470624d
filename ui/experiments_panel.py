"""Experiments in the window: switching parts of the model off, and the Experiments dock.

Switching off: right-click a head or an MLP (the navigator, a head's panel, an MLP neuron column)
for "Switch off (zero)", "Switch off (mean)" or "Switch on"; each is one undo step
(:class:`ui.commands.SwitchPartCommand`) and the state traces with the ablations.

The Experiments dock has three tabs, each drawing what :mod:`simulator.experiments` computes:
Attribution (every part's contribution to a token's logit), Logit lens (the top token at every
position after every layer) and Patching (how much of a logit difference each residual-stream
patch of a second sentence restores).
"""

from __future__ import annotations

import math
import re
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, QTimer, Signal
from PySide6.QtGui import QAction, QBrush, QColor
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from simulator import experiments as ex
from simulator import ops
from simulator.analysis import top_k
from simulator.errors import SimulatorError
from simulator.model import Model
from simulator.trace import Trace
from ui.colors import SEQUENTIAL, argb_image, palette_for, text_color_for
from ui.commands import SwitchPartCommand
from ui.panels.label_axis import LabelAxis
from ui.state import SWITCH_MODES, AppState, Hover, Switch, head_switch, neuron_switch

SWITCH_OFF_TEXT = {"zero": "Switch off (zero)", "mean": "Switch off (mean)"}
SWITCH_ON_TEXT = "Switch on"


def add_switch_actions(menu: QMenu, state: AppState, part: Switch) -> list[QAction]:
    """Add "Switch off (zero)", "Switch off (mean)" and "Switch on" for ``part`` to ``menu``;
    the one matching the part's current state is disabled. Returns the actions in that order."""
    current = state.ablation_for(part.part)
    actions = []
    for mode in SWITCH_MODES:
        action = menu.addAction(SWITCH_OFF_TEXT[mode])
        action.setEnabled(current is None or current.mode != mode)
        action.triggered.connect(lambda _=False, m=mode: state.undo_stack.push(SwitchPartCommand(state, part, m)))
        actions.append(action)
    action = menu.addAction(SWITCH_ON_TEXT)
    action.setEnabled(current is not None)
    action.triggered.connect(lambda _=False: state.undo_stack.push(SwitchPartCommand(state, part, None)))
    actions.append(action)
    return actions


def switch_for_hover(model: Model, hover: Hover | None) -> Switch | None:
    """The part under the mouse in the stage canvas: the head of a cell of a per-head stage, or
    the neuron of a cell of an MLP's hidden layer (``mlp.pre`` / ``mlp.post``); else None."""
    if hover is None or hover.source not in model.graph:
        return None
    spec = model.graph[hover.source]
    if spec.layer is None or len(hover.index) != len(spec.axes):
        return None
    if "head" in spec.axes and ".attn." in hover.source:
        return head_switch(spec.layer, int(hover.index[spec.axes.index("head")]))
    if "d_mlp" in spec.axes:
        return neuron_switch(spec.layer, int(hover.index[spec.axes.index("d_mlp")]))
    return None


def panel_switch_part(state: AppState, source: str) -> Switch | None:
    """The part a right-click on a canvas panel showing ``source`` switches: the head or neuron
    of the cell under the mouse, else the current head of a per-head attention panel."""
    model = state.model
    hover = state.hover
    if hover is not None and hover.source == source:
        part = switch_for_hover(model, hover)
        if part is not None:
            return part
    spec = model.graph.get(source)
    if spec is not None and spec.layer is not None and "head" in spec.axes and ".attn." in source:
        return head_switch(spec.layer, state.head)
    return None


def add_panel_switch_actions(state: AppState, source: str, menu: QMenu) -> None:
    """A canvas panel's right-click menu: its head's or neuron's switch actions, if it has one."""
    part = panel_switch_part(state, source)
    if part is None:
        return
    title = menu.addAction(part.describe(state.model)[:1].upper() + part.describe(state.model)[1:])
    title.setEnabled(False)
    add_switch_actions(menu, state, part)
    menu.addSeparator()


NEEDS_PREDICTION = (
    "These experiments need a model that predicts tokens; this one is a sentence encoder with no "
    "unembedding, so there is no logit to explain."
)
#: candidate tokens offered in the token choosers (the model's most likely next tokens)
CHOICES = 10
POSITIVE_COLOR = "#4a7fc1"
NEGATIVE_COLOR = "#d1495b"
#: how long one step of a patching sweep may compute before the window repaints (seconds)
SWEEP_SLICE = 0.03


def predicts(model: Model) -> bool:
    """Whether the experiments apply: the model has an unembedding that makes logits."""
    return bool(model.config.unembed)


def token_label(model: Model, token_id: int) -> str:
    """A token as the panel writes it (the tokeniser's readable piece, or #id)."""
    if token_id >= model.tokenizer.vocab_size:
        return model.token_text(token_id)
    return model.tokenizer.display(model.tokenizer.id_to_token(token_id))


def token_from_text(model: Model, text: str) -> int:
    """The id of the one token ``text`` is, or a SimulatorError saying why not."""
    text = text.strip()
    if text.startswith("#") and text[1:].isdigit() and int(text[1:]) < model.config.vocab_size:
        return int(text[1:])
    if not text:
        raise SimulatorError("type a token (a word of the vocabulary, or #id)")
    ids = model.tokenizer.encode(text).ids
    if len(ids) != 1:
        raise SimulatorError(f"“{text}” is {len(ids)} tokens for this model; choose a single token")
    return int(ids[0])


class _TokenChooser(QWidget):
    """A drop-down of the most likely next tokens plus a box to type any other token."""

    changed = Signal()

    def __init__(self, label: str, rank: int = 0, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._rank = rank
        self._model: Model | None = None
        self.combo = QComboBox()
        self.combo.setToolTip("The model's most likely next tokens after the sentence")
        self.typed = QLineEdit()
        self.typed.setPlaceholderText("or type a token")
        self.typed.setToolTip("Any single token of the vocabulary (a word, or #id); Enter uses it")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel(label))
        row.addWidget(self.combo, 1)
        row.addWidget(self.typed)
        self.combo.currentIndexChanged.connect(lambda _: self.changed.emit())
        self.typed.returnPressed.connect(self._typed)
        #: the last reason a typed token was refused ("" if none)
        self.error = ""

    def fill(self, model: Model, trace: Trace) -> None:
        """Offer the top next tokens of ``trace`` (with their probabilities, or logits for a
        model without them), keeping the chosen one."""
        chosen = self.token() if self._model is model else None
        self._model = model
        has_probs = "probs" in model.graph
        scores = trace.next_token_probs() if has_probs else trace["logits"][-1]
        self.combo.blockSignals(True)
        self.combo.clear()
        for token_id, score in top_k(scores, CHOICES):
            shown = f"{score * 100:.1f}%" if has_probs else f"logit {score:.3g}"
            self.combo.addItem(f"{token_label(model, token_id)}  ({shown})", token_id)
        index = self.combo.findData(chosen) if chosen is not None else -1
        if index < 0 and chosen is not None:
            self.combo.addItem(token_label(model, chosen), chosen)
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(index if index >= 0 else min(self._rank, self.combo.count() - 1))
        self.combo.blockSignals(False)

    def token(self) -> int | None:
        data = self.combo.currentData()
        return None if data is None else int(data)

    def set_token(self, token_id: int) -> None:
        """Choose ``token_id`` (added to the list if it is not one of the top tokens)."""
        index = self.combo.findData(int(token_id))
        if index < 0 and self._model is not None:
            self.combo.addItem(token_label(self._model, int(token_id)), int(token_id))
            index = self.combo.count() - 1
        self.combo.setCurrentIndex(index)

    def _typed(self) -> None:
        if self._model is None:
            return
        try:
            token_id = token_from_text(self._model, self.typed.text())
        except SimulatorError as exc:
            self.error = str(exc)
            self.changed.emit()
            return
        self.error = ""
        self.set_token(token_id)
        self.changed.emit()


class _Tab(QWidget):
    """What every tab shares: a note for encoders, and drawing only while visible."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._state = state
        self._stale = True
        self.note = QLabel(NEEDS_PREDICTION)
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #555555; font-style: italic;")
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setStyleSheet("color: #b00020;")
        self.message.hide()
        self.body = QWidget()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.note)
        layout.addWidget(self.body, 1)
        layout.addWidget(self.message)

    def follow(self) -> None:
        """Redraw now if shown, else when next shown."""
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True

    def refresh(self) -> None:
        """Ask the engine again and redraw."""
        self._stale = False
        ok = predicts(self._state.model)
        self.note.setVisible(not ok)
        self.body.setVisible(ok)
        if ok:
            self._draw()

    def catch_up(self) -> None:
        if self._stale:
            self.refresh()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.catch_up()

    def say(self, text: str) -> None:
        self.message.setText(text)
        self.message.setVisible(bool(text))

    def _draw(self) -> None:
        raise NotImplementedError


class AttributionTab(_Tab):
    """A sorted bar chart of every part's contribution to one token's logit at the last position
    (:func:`simulator.experiments.logit_attribution`), with their total and the logit."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.setObjectName("attributionTab")
        self.chooser = _TokenChooser("Token:")
        self.total_label = QLabel()
        self.total_label.setObjectName("attributionTotal")
        self.total_label.setWordWrap(True)
        self._axis = LabelAxis("left")
        self.plot = pg.PlotWidget(axisItems={"left": self._axis}, background="w")
        item = self.plot.getPlotItem()
        item.hideButtons()
        item.setMenuEnabled(False)
        item.setMouseEnabled(False, False)
        item.setLabel("bottom", "contribution to the logit")
        self.plot.getViewBox().invertY(True)
        self._bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.72, brushes=[], pen=pg.mkPen(None))
        self.plot.addItem(self._bars)
        self._zero = pg.InfiniteLine(pos=0, angle=90, pen=pg.mkPen("#444444"))
        self.plot.addItem(self._zero)
        self._parts: list[tuple[str, float]] = []
        self._logit = math.nan
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.chooser)
        layout.addWidget(self.total_label)
        layout.addWidget(self.plot, 1)
        self.chooser.changed.connect(self._chosen)

    def parts(self) -> list[tuple[str, float]]:
        """The bars as drawn, largest contribution first: ``(part name, contribution)``."""
        self.catch_up()
        return list(self._parts)

    def logit(self) -> float:
        """The logit the parts add up to (from the trace's own logits)."""
        self.catch_up()
        return self._logit

    def _chosen(self) -> None:
        self.say(self.chooser.error)
        if not self.chooser.error:
            self._draw()

    def refresh(self) -> None:
        trace = self._state.trace
        if predicts(self._state.model):
            self.chooser.fill(self._state.model, trace)
        super().refresh()

    def _draw(self) -> None:
        trace = self._state.trace
        token = self.chooser.token()
        if token is None:
            return
        try:
            parts = ex.logit_attribution(trace, token=token, position=-1)
        except SimulatorError as exc:
            self.say(str(exc))
            return
        self._parts = sorted(parts.items(), key=lambda kv: -kv[1])
        self._logit = float(trace["logits"][-1, token])
        total = math.fsum(parts.values())
        self.total_label.setText(
            f"“{token_label(self._state.model, token)}” at the last position: the {len(parts)} parts add up to "
            f"{total:.4g}; its logit is {self._logit:.4g}"
        )
        n = len(self._parts)
        values = np.array([v for _, v in self._parts], dtype=np.float64)
        self._bars.setOpts(
            x0=np.minimum(values, 0), y=np.arange(n) + 0.5, width=np.abs(values), height=0.72,
            brushes=[pg.mkBrush(POSITIVE_COLOR if v >= 0 else NEGATIVE_COLOR) for v in values],
        )
        self._axis.set_labels([part_label(name) for name, _ in self._parts])
        lo, hi = (float(min(values.min(), 0)), float(max(values.max(), 0))) if n else (0.0, 1.0)
        pad = 0.05 * ((hi - lo) or 1.0)
        self.plot.getViewBox().setRange(QRectF(lo - pad, 0, hi - lo + 2 * pad, max(n, 1)), padding=0)


class LensTab(_Tab):
    """The logit lens (:func:`simulator.experiments.logit_lens`): the top token at every
    position after every layer, each cell coloured by that token's probability."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.setObjectName("lensTab")
        self.table = QTableWidget()
        self.table.setObjectName("lensTable")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        caption = QLabel("The top token the model would predict from the residual stream at each point "
                         "(its final norm and unembedding applied), coloured by its probability.")
        caption.setWordWrap(True)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(caption)
        layout.addWidget(self.table, 1)
        self._top: dict[str, list[tuple[int, float]]] = {}

    def top_tokens(self) -> dict[str, list[tuple[int, float]]]:
        """{lens stage id: [(top token, its probability)] per position}, as drawn."""
        self.catch_up()
        return {k: list(v) for k, v in self._top.items()}

    def _draw(self) -> None:
        state = self._state
        trace, model = state.trace, state.model
        try:
            lens = ex.logit_lens(trace)
        except SimulatorError as exc:
            self.say(str(exc))
            return
        self.say("")
        self._top = {}
        probs = {}
        for sid, logits in lens.items():
            p = ops.softmax(logits.astype(np.float64), axis=-1)
            ids = np.argmax(logits, axis=-1)
            self._top[sid] = [(int(i), float(p[pos, i])) for pos, i in enumerate(ids)]
            probs[sid] = np.array([pr for _, pr in self._top[sid]])
        rows = list(lens)
        tokenizer = model.tokenizer
        table = self.table
        table.clear()
        table.setRowCount(len(rows))
        table.setColumnCount(len(trace.tokens))
        table.setHorizontalHeaderLabels([tokenizer.display(t) for t in trace.tokens])
        table.setVerticalHeaderLabels([_lens_row_name(model, sid) for sid in rows])
        palette = palette_for(state.view)
        values = np.array([probs[sid] for sid in rows])
        colours = argb_image(values, (0.0, 1.0), SEQUENTIAL, palette)
        for r, sid in enumerate(rows):
            for c, (token_id, prob) in enumerate(self._top[sid]):
                cell = QTableWidgetItem(token_label(model, token_id))
                cell.setBackground(QBrush(QColor.fromRgba(int(colours[r, c]))))
                cell.setForeground(QBrush(text_color_for(prob, (0.0, 1.0), SEQUENTIAL, palette)))
                cell.setToolTip(f"{sid}, position {c}: “{token_label(model, token_id)}” {prob * 100:.1f}%")
                table.setItem(r, c, cell)
        table.resizeColumnsToContents()


def part_label(name: str) -> str:
    """A part of the attribution as its bar is labelled, e.g. "B0 head 1" for
    ``blocks.0.attn.head_out[1]`` and "B1 MLP" for ``blocks.1.mlp_out`` (tooltips and
    :meth:`AttributionTab.parts` keep the engine's names)."""
    name = re.sub(r"attn\.head_out\[(\d+)\]", r"head \1", name)
    name = name.replace("mlp_out", "MLP").replace("attn.b_O", "attn bias").replace("mlp.b_out", "MLP bias")
    return re.sub(r"^blocks\.(\d+)\.", r"B\1 ", name)


def _lens_row_name(model: Model, sid: str) -> str:
    spec = model.graph[sid]
    if spec.layer is None or sid.endswith("resid_pre") and spec.layer == 0:
        return "embeddings"
    kind = "attention" if sid.endswith(("resid_mid", "ln1")) else "block"
    return f"after {kind} {spec.layer}"


class PatchingTab(_Tab):
    """Activation patching over the residual stream: run a second ("corrupted") sentence of the
    same length, copy the first ("clean") sentence's stream into it at one layer and position at
    a time (:func:`simulator.experiments.rerun` with a :class:`~simulator.experiments.Patch`),
    and draw how much of the logit difference between two tokens each patch restores:
    (patched − corrupted) / (clean − corrupted), 1 where the patch brings back all of it.

    The sweep runs in short steps on a timer so the window repaints, with a progress bar and
    Cancel; a new sentence, weight or model cancels it."""

    finished = Signal(bool)

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(state, parent)
        self.setObjectName("patchingTab")
        self.corrupted = QLineEdit()
        self.corrupted.setObjectName("corruptedSentence")
        self.corrupted.setPlaceholderText("a second sentence with as many tokens, e.g. one word changed")
        self.token_a = _TokenChooser("Token A:", 0)
        self.token_b = _TokenChooser("Token B:", 1)
        self.run_button = QPushButton("Run sweep")
        self.run_button.setObjectName("patchingRun")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("patchingCancel")
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("patchingProgress")
        self.summary = QLabel()
        self.summary.setWordWrap(True)
        self.table = QTableWidget()
        self.table.setObjectName("patchingHeatmap")
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        buttons = QHBoxLayout()
        buttons.addWidget(self.run_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.progress, 1)
        layout = QVBoxLayout(self.body)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel("The current sentence is the clean run. Corrupted sentence:"))
        layout.addWidget(self.corrupted)
        layout.addWidget(self.token_a)
        layout.addWidget(self.token_b)
        layout.addLayout(buttons)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._step)
        self._cells: list[tuple[int, int]] = []
        self._done = 0
        self._values = np.zeros((0, 0))
        self._stages: list[str] = []
        self._clean: Trace | None = None
        self._corrupt: Trace | None = None
        self._ends = (0.0, 0.0)
        self._tokens = (0, 0)
        self.run_button.clicked.connect(lambda: self.run_sweep())
        self.cancel_button.clicked.connect(self.cancel)

    # -- reading (for tests) ----------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._timer.isActive()

    def values(self) -> np.ndarray:
        """[lens stage, position] fractions of the difference restored (NaN: not computed yet)."""
        return self._values.copy()

    def stages(self) -> list[str]:
        return list(self._stages)

    def ends(self) -> tuple[float, float]:
        """The logit differences of the clean and the corrupted run."""
        return self._ends

    # -- the sweep -----------------------------------------------------------------------------------
    def run_sweep(self, corrupted: str | None = None) -> bool:
        """Start a sweep (with ``corrupted`` as the second sentence if given); False and a
        one-line reason, nothing started, if it cannot run."""
        self.cancel()
        if corrupted is not None:
            self.corrupted.setText(corrupted)
        state = self._state
        model = state.model
        if not predicts(model):
            self.say(NEEDS_PREDICTION)
            return False
        a, b = self.token_a.token(), self.token_b.token()
        if a is None or b is None or a == b:
            self.say("Choose two different tokens A and B: the sweep follows the difference of their logits.")
            return False
        clean = state.trace
        stages = ex.lens_stages(model)
        try:
            corrupt = model.trace(self.corrupted.text(), **state.options, interventions=list(clean.interventions) or None)
            ex.rerun(corrupt, [*clean.interventions, ex.Patch(stages[0], source=clean, position=0)])
            ends = (ex.logit_difference(clean, a, b), ex.logit_difference(corrupt, a, b))
        except SimulatorError as exc:
            self.say(f"Cannot patch: {exc}")
            return False
        if ends[0] == ends[1] or not math.isfinite(ends[0] - ends[1]):
            self.say("The two sentences give the same logit difference: there is nothing for a patch to restore. "
                     "Change the second sentence or the tokens.")
            return False
        self.say("")
        self._clean, self._corrupt, self._ends, self._tokens, self._stages = clean, corrupt, ends, (a, b), stages
        n = int(clean.ids.shape[0])
        self._cells = [(r, p) for r in range(len(stages)) for p in range(n)]
        self._done = 0
        self._values = np.full((len(stages), n), np.nan)
        self._setup_table(model, clean, corrupt)
        self.progress.setRange(0, len(self._cells))
        self.progress.setValue(0)
        self.summary.setText(
            f"Logit difference “{token_label(model, a)}” − “{token_label(model, b)}”: clean {ends[0]:.4g}, "
            f"corrupted {ends[1]:.4g}. Each cell: the share of that difference restored by patching the clean "
            "stream into the corrupted run there."
        )
        self.run_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._timer.start()
        return True

    def cancel(self) -> None:
        """Stop the sweep; the cells computed so far stay drawn."""
        if self._timer.isActive():
            self._timer.stop()
            self.run_button.setEnabled(True)
            self.cancel_button.setEnabled(False)
            self.summary.setText(self.summary.text() + f" Cancelled after {self._done} of {len(self._cells)} patches.")
            self.finished.emit(False)

    def _step(self) -> None:
        """Compute patches for a few milliseconds, draw them, and yield to the event loop."""
        assert self._clean is not None and self._corrupt is not None
        start = time.perf_counter()
        base = list(self._clean.interventions)
        a, b = self._tokens
        clean_ld, corrupt_ld = self._ends
        while self._done < len(self._cells):  # (at least one patch per step)
            r, p = self._cells[self._done]
            patched = ex.rerun(self._corrupt, [*base, ex.Patch(self._stages[r], source=self._clean, position=p)])
            self._values[r, p] = ex.restored_fraction(ex.logit_difference(patched, a, b), corrupt_ld, clean_ld)
            self._draw_cell(r, p)
            self._done += 1
            if time.perf_counter() - start >= SWEEP_SLICE:
                break
        self.progress.setValue(self._done)
        if self._done >= len(self._cells):
            self._timer.stop()
            self.run_button.setEnabled(True)
            self.cancel_button.setEnabled(False)
            self.finished.emit(True)

    def _setup_table(self, model: Model, clean: Trace, corrupt: Trace) -> None:
        table = self.table
        table.clear()
        table.setRowCount(len(self._stages))
        table.setColumnCount(int(clean.ids.shape[0]))
        display = model.tokenizer.display
        table.setHorizontalHeaderLabels([
            display(x) if x == y else f"{display(x)} / {display(y)}" for x, y in zip(clean.tokens, corrupt.tokens)
        ])
        table.setVerticalHeaderLabels([_lens_row_name(model, sid) for sid in self._stages])

    def _draw_cell(self, r: int, p: int) -> None:
        value = float(self._values[r, p])
        palette = palette_for(self._state.view)
        colour = argb_image(np.array([[value]]), (0.0, 1.0), SEQUENTIAL, palette)[0, 0]
        cell = QTableWidgetItem(f"{value:.2f}")
        cell.setBackground(QBrush(QColor.fromRgba(int(colour))))
        cell.setForeground(QBrush(text_color_for(value, (0.0, 1.0), SEQUENTIAL, palette)))
        cell.setToolTip(f"patch {self._stages[r]} at position {p}: {value * 100:.1f}% of the difference restored")
        self.table.setItem(r, p, cell)

    # -- following the state ----------------------------------------------------------------------------
    def follow(self) -> None:
        self.cancel()
        super().follow()

    def refresh(self) -> None:
        if predicts(self._state.model):
            self.token_a.fill(self._state.model, self._state.trace)
            self.token_b.fill(self._state.model, self._state.trace)
        super().refresh()

    def _draw(self) -> None:
        if not self.corrupted.text():
            self.corrupted.setText(self._state.text)


class ExperimentsPanel(QTabWidget):
    """The Experiments dock: Attribution, Logit lens and Patching tabs on the current run."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("experimentsPanel")
        self._state = state
        self.attribution = AttributionTab(state)
        self.lens = LensTab(state)
        self.patching = PatchingTab(state)
        self.addTab(self.attribution, "Attribution")
        self.addTab(self.lens, "Logit lens")
        self.addTab(self.patching, "Patching")
        state.trace_changed.connect(self._follow)
        state.model_changed.connect(self._follow)
        state.view_changed.connect(self.lens.follow)  # (the colours; no number changes)

    def _follow(self, *_: object) -> None:
        for tab in (self.attribution, self.lens, self.patching):
            tab.follow()

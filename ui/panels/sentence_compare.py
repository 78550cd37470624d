"""The sentence-comparison view: how alike two or more sentences are to a sentence-embedding model.

For models with a ``pooled`` stage (sentence-transformers such as all-MiniLM-L6-v2), every
sentence becomes one vector: the mean of its tokens' final vectors. This panel lists the
sentence being stepped through plus a few editable others, runs each through the engine
(``model.trace(text)["pooled"]``) and shows the cosine of the angle between every pair
(:func:`simulator.analysis.cosine_similarity`) as a labelled, coloured table of numbers. A
sentence the model cannot run gets an inline message and dashes in the table; the others still
compare. The panel does no maths of its own.

Work is done only when the panel is on screen (or its numbers are asked for), and the vectors
of unchanged sentences are reused until the model, its weights or the run options change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractScrollArea,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from simulator.analysis import cosine_similarity
from simulator.errors import SimulatorError
from ui import colors
from ui.state import AppState

POOLED = "pooled"
MAX_SENTENCES = 6
#: sentences offered when the model suggests too few of its own
FALLBACK_SENTENCES = ("A man is playing a guitar.", "Someone plays an instrument.")
#: pause after a keystroke before the table recomputes
RETYPE_DELAY_MS = 200
_ERROR_STYLE = "color: #b00020;"
_MUTED_STYLE = "color: #555555;"
_CURRENT_STYLE = "QLabel { border: 1px solid #8fa3bf; border-radius: 3px; background: #eef3fa; padding: 2px 4px; }"


@dataclass
class _Row:
    """The widgets of one sentence: its number, its text (a label for the current sentence,
    an editor for the others), a remove button, and its inline error."""

    number: QLabel
    text: QLabel | QLineEdit
    remove: QToolButton | None
    error: QLabel


class SentenceCompareView(QWidget):
    """Cosine similarities between the sentence embeddings of the current and other sentences."""

    def __init__(self, state: AppState, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sentenceCompareView")
        self._state = state
        self._others: list[str] = []
        #: True once the user has typed, added or removed a sentence (kept across model switches)
        self._edited = False
        self._rows: list[_Row] = []
        self._dirty = True
        #: what the cached vectors were computed with: (model, options, parameter versions)
        self._fingerprint: tuple[Any, ...] | None = None
        self._vectors: dict[str, np.ndarray] = {}
        self._matrix = np.zeros((0, 0))
        self._errors: list[str] = []

        self.title = QLabel("How alike are these sentences?")
        self.title.setObjectName("compareTitle")
        font = QFont(self.title.font())
        font.setBold(True)
        self.title.setFont(font)
        self.intro = QLabel(
            "Each sentence becomes one vector: the mean of its tokens' final vectors (the pooled "
            "stage). Each number is the cosine of the angle between two of them: 1 = same "
            "direction, 0 = unrelated, −1 = opposite."
        )
        self.intro.setObjectName("compareIntro")
        self.intro.setWordWrap(True)
        self.intro.setStyleSheet(_MUTED_STYLE)
        self.unsupported = QLabel(
            "This model has no sentence embedding (no pooled stage): load a sentence-embedding "
            "model such as all-MiniLM-L6-v2 to compare sentences."
        )
        self.unsupported.setObjectName("compareUnsupported")
        self.unsupported.setWordWrap(True)
        self.unsupported.setStyleSheet("color: #555555; font-style: italic;")

        self._row_area = QWidget()
        self._row_area.setObjectName("compareSentences")
        self._grid = QGridLayout(self._row_area)
        self._grid.setContentsMargins(0, 0, 0, 0)
        self._grid.setHorizontalSpacing(4)
        self._grid.setVerticalSpacing(2)
        self._grid.setColumnStretch(1, 1)
        self.add_button = QPushButton("Add a sentence")
        self.add_button.setObjectName("compareAddButton")
        self.add_button.setToolTip(f"Compare one more sentence (up to {MAX_SENTENCES})")

        self.table = QTableWidget()
        self.table.setObjectName("similarityTable")
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        columns = self.table.horizontalHeader()
        columns.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        columns.setMinimumSectionSize(self.table.fontMetrics().horizontalAdvance("−0.000") + 14)  # numbers never elide
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.setSizeAdjustPolicy(QAbstractScrollArea.SizeAdjustPolicy.AdjustToContents)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Maximum)
        self.table.setToolTip("Cosine similarity of two sentences' embeddings; rows and columns are numbered like the sentences above")
        self.summary = QLabel()
        self.summary.setObjectName("compareSummary")
        self.summary.setWordWrap(True)

        self._retype_timer = QTimer(self)
        self._retype_timer.setObjectName("compareRetypeTimer")
        self._retype_timer.setSingleShot(True)
        self._retype_timer.setInterval(RETYPE_DELAY_MS)

        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(6)
        layout.addWidget(self.title)
        layout.addWidget(self.intro)
        layout.addWidget(self.unsupported)
        layout.addWidget(self._row_area)
        layout.addLayout(buttons)
        layout.addWidget(self.table)
        layout.addWidget(self.summary)
        layout.addStretch(1)

        self._reset_sentences()
        self._connect()

    # -- signals: the one place where the panel subscribes ------------------------------------------
    def _connect(self) -> None:
        s = self._state
        s.trace_changed.connect(self._invalidate)
        s.model_changed.connect(self._model_changed)
        self.add_button.clicked.connect(self.add_sentence)
        self._retype_timer.timeout.connect(self._invalidate)

    # -- reading (for tests and the window) ------------------------------------------------------------
    @property
    def supported(self) -> bool:
        """Whether the model makes sentence embeddings (has a pooled stage)."""
        return POOLED in self._state.model.graph

    def sentences(self) -> list[str]:
        """Every sentence compared, the current one first."""
        return [self._state.text, *self._others]

    def similarities(self) -> np.ndarray:
        """The ``[n, n]`` table of cosine similarities shown (NaN where a sentence cannot run)."""
        self._refresh_if_needed(force=True)
        return self._matrix.copy()

    def errors(self) -> list[str]:
        """One message per sentence, "" for those that ran."""
        self._refresh_if_needed(force=True)
        return list(self._errors)

    def editors(self) -> list[QLineEdit]:
        """The editors of the other sentences, in order (the current sentence is edited above)."""
        return [row.text for row in self._rows if isinstance(row.text, QLineEdit)]

    # -- user input -------------------------------------------------------------------------------------
    def set_other_sentences(self, sentences: list[str]) -> None:
        """Replace the sentences compared with the current one (at most ``MAX_SENTENCES - 1``)."""
        self._others = list(sentences)[: MAX_SENTENCES - 1]
        self._edited = True
        self._rebuild_rows()
        self._invalidate()

    def add_sentence(self) -> None:
        """One more, empty, sentence to type in."""
        if len(self._others) + 1 >= MAX_SENTENCES:
            return
        self._others.append("")
        self._edited = True
        self._rebuild_rows()
        self.editors()[-1].setFocus()
        self._invalidate()

    def remove_sentence(self, index: int) -> None:
        """Remove other sentence ``index`` (0 is the first one after the current sentence)."""
        if 0 <= index < len(self._others):
            del self._others[index]
            self._edited = True
            self._rebuild_rows()
            self._invalidate()

    def _typed(self, index: int, text: str) -> None:
        self._others[index] = text
        self._edited = True
        self._dirty = True
        self._retype_timer.start()

    # -- following the state ------------------------------------------------------------------------------
    def _model_changed(self) -> None:
        self._vectors.clear()
        self._fingerprint = None
        if not self._edited:
            self._reset_sentences()
        self._invalidate()

    def _reset_sentences(self) -> None:
        current = self._state.text
        suggested = [s for s in self._state.model.info.suggested if s != current]
        pool = suggested + [s for s in FALLBACK_SENTENCES if s != current and s not in suggested]
        self._others = pool[:2]
        self._rebuild_rows()

    def _invalidate(self) -> None:
        self._dirty = True
        self._refresh_if_needed()

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt's name)
        super().showEvent(event)
        self._refresh_if_needed()

    # -- computing (through the engine) and drawing ---------------------------------------------------------
    def _refresh_if_needed(self, force: bool = False) -> None:
        if not self._dirty or not (force or self.isVisible()):
            return
        self._dirty = False
        self._retype_timer.stop()
        supported = self.supported
        for widget in (self.intro, self._row_area, self.add_button, self.table, self.summary):
            widget.setVisible(supported)
        self.unsupported.setVisible(not supported)
        if not supported:
            self._matrix = np.zeros((0, 0))
            self._errors = []
            return
        texts = self.sentences()
        vectors: list[np.ndarray | None] = []
        errors: list[str] = []
        for i, text in enumerate(texts):
            try:
                vectors.append(self._pooled(text, current=i == 0))
                errors.append("")
            except SimulatorError as exc:
                vectors.append(None)
                errors.append(str(exc))
        ok = [i for i, v in enumerate(vectors) if v is not None]
        matrix = np.full((len(texts), len(texts)), np.nan)
        if ok:
            table = cosine_similarity(np.stack([vectors[i] for i in ok]), np.stack([vectors[i] for i in ok]))
            matrix[np.ix_(ok, ok)] = table
        self._matrix = matrix
        self._errors = errors
        self._show_errors()
        self._fill_table(texts)

    def _pooled(self, text: str, current: bool) -> np.ndarray:
        """The sentence embedding of ``text``, from the engine; raises SimulatorError if it cannot run."""
        state = self._state
        if current:
            return np.asarray(state.trace[POOLED])
        if not text.strip():
            raise SimulatorError("type a sentence here to compare it")
        model = state.model
        options = state.options
        fingerprint = (model, tuple(sorted(options.items())), tuple(model.param_version(n) for n in model.params))
        if fingerprint != self._fingerprint:
            self._fingerprint = fingerprint
            self._vectors.clear()
        vector = self._vectors.get(text)
        if vector is None:
            vector = np.asarray(model.trace(text, **options)[POOLED])
            self._vectors = {k: v for k, v in self._vectors.items() if k in self._others}
            self._vectors[text] = vector
        return vector

    def _rebuild_rows(self) -> None:
        for row in self._rows:
            for widget in (row.number, row.text, row.remove, row.error):
                if widget is not None:
                    self._grid.removeWidget(widget)
                    widget.deleteLater()
        self._rows = []
        current = QLabel(self._state.text)
        current.setObjectName("compareCurrentSentence")
        current.setTextFormat(Qt.TextFormat.PlainText)
        current.setStyleSheet(_CURRENT_STYLE)
        current.setToolTip("The sentence you are stepping through; edit it in the box at the top of the window")
        self._add_row(current, None)
        for index, text in enumerate(self._others):
            editor = QLineEdit(text)
            editor.setObjectName(f"compareSentence{index + 2}")
            editor.setPlaceholderText("Type a sentence to compare…")
            editor.setClearButtonEnabled(True)
            editor.textEdited.connect(lambda value, i=index: self._typed(i, value))
            remove = QToolButton()
            remove.setObjectName(f"compareRemove{index + 2}")
            remove.setText("×")
            remove.setToolTip("Stop comparing this sentence")
            remove.setEnabled(len(self._others) > 1)
            remove.clicked.connect(lambda _=False, i=index: self.remove_sentence(i))
            self._add_row(editor, remove)
        room = len(self._others) + 1 < MAX_SENTENCES
        self.add_button.setEnabled(room)
        self.add_button.setText("Add a sentence" if room else f"Add a sentence (at most {MAX_SENTENCES}: remove one first)")

    def _add_row(self, text: QLabel | QLineEdit, remove: QToolButton | None) -> None:
        n = len(self._rows)
        number = QLabel(f"{n + 1}")
        number.setObjectName(f"compareNumber{n + 1}")
        font = QFont(number.font())
        font.setBold(True)
        number.setFont(font)
        number.setMinimumWidth(number.fontMetrics().horizontalAdvance("00"))
        error = QLabel()
        error.setObjectName(f"compareError{n + 1}")
        error.setStyleSheet(_ERROR_STYLE)
        error.setWordWrap(True)
        error.hide()
        self._grid.addWidget(number, 2 * n, 0)
        self._grid.addWidget(text, 2 * n, 1)
        if remove is not None:
            self._grid.addWidget(remove, 2 * n, 2)
        self._grid.addWidget(error, 2 * n + 1, 1, 1, 2)
        self._rows.append(_Row(number, text, remove, error))

    def _show_errors(self) -> None:
        current = self._rows[0].text
        if current.text() != self._state.text:
            current.setText(self._state.text)
        for row, error in zip(self._rows, self._errors):
            row.error.setText(error)
            row.error.setVisible(bool(error))
            if isinstance(row.text, QLineEdit):
                row.text.setStyleSheet("QLineEdit { border: 2px solid #b00020; border-radius: 3px; }" if error else "")

    def _fill_table(self, texts: list[str]) -> None:
        n = len(texts)
        table = self.table
        table.clear()
        table.setRowCount(n)
        table.setColumnCount(n)
        cmap = colors.colormap(colors.DIVERGING)
        for i, text in enumerate(texts):
            row_header = QTableWidgetItem(f"{i + 1}")
            row_header.setToolTip(f"{i + 1}: {text}")
            table.setVerticalHeaderItem(i, row_header)
            column_header = QTableWidgetItem(f"{i + 1}")
            column_header.setToolTip(f"{i + 1}: {text}")
            table.setHorizontalHeaderItem(i, column_header)
        for i in range(n):
            for j in range(n):
                value = self._matrix[i, j]
                if np.isnan(value):
                    item = QTableWidgetItem("—")
                    item.setForeground(QColor("#777777"))
                    item.setToolTip("This sentence cannot run; see its message above")
                else:
                    item = QTableWidgetItem(f"{value:.3f}")
                    item.setBackground(cmap.map((value + 1.0) / 2.0, mode="qcolor"))
                    item.setForeground(colors.text_color_for(value, (-1.0, 1.0), colors.DIVERGING, False))
                    item.setToolTip(f"cos(sentence {i + 1}, sentence {j + 1}) = {value:.4f}\n{i + 1}: {texts[i]}\n{j + 1}: {texts[j]}")
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                table.setItem(i, j, item)
        # every row stays in view: a short dock scrolls the whole panel (see the window) instead
        table.setMinimumHeight(table.sizeHint().height())
        self.summary.setText(self._summary_text())

    def _summary_text(self) -> str:
        """Which two sentences are most and least alike, read off the table."""
        pairs = [
            (float(self._matrix[i, j]), i, j)
            for i in range(len(self._matrix))
            for j in range(i + 1, len(self._matrix))
            if not np.isnan(self._matrix[i, j])
        ]
        if not pairs:
            return "Add a second sentence that runs to see how alike they are."
        best = max(pairs)
        text = f"Most alike: {best[1] + 1} and {best[2] + 1} (cos {best[0]:.3f})."
        if len(pairs) > 1:
            worst = min(pairs)
            text += f" Least alike: {worst[1] + 1} and {worst[2] + 1} (cos {worst[0]:.3f})."
        return text


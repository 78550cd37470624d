"""Model → Choose preset…: every built-in model with its description, sentences to try and what
to look for at each stage, and an Open button.

Everything shown comes from the engine (:func:`simulator.list_presets` and
:func:`simulator.presets.stage_kinds`); the dialog only arranges it. Opening does nothing by
itself: the dialog emits :attr:`PresetPickerDialog.chosen` with the preset's name and the sentence
(None = keep the current one), and the main window passes that to the session controller, which
makes the switch one undoable step.
"""

from __future__ import annotations

import html
from typing import Callable, Sequence

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QFont, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QSizePolicy,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from simulator.model import ModelInfo
from simulator.presets import StageKind, stage_kinds

NAME_ROLE = Qt.ItemDataRole.UserRole
#: the suggestion row's data when the current sentence is kept
KEEP_SENTENCE = None
KIND_COLOR = "#6b6b6b"
GROUPS = (("Before the blocks", "before"), ("In every block", "block"), ("After the blocks", "after"))


class PresetPickerDialog(QDialog):
    """Presets on the left; the chosen one's description, sentences and notes on the right.

    Keyboard: arrows choose a preset, Tab moves to the sentences, Enter opens, Esc cancels.
    """

    #: (preset name, sentence or None to keep the current sentence), emitted on Open
    chosen = Signal(str, object)

    def __init__(
        self,
        presets: Sequence[ModelInfo],
        current: str | None = None,
        current_text: str = "",
        kinds: Callable[[str], Sequence[StageKind]] = stage_kinds,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("presetPickerDialog")
        self.setWindowTitle("Choose a preset")
        self._presets = {info.name: info for info in presets}
        self._kinds = kinds
        self._current_text = current_text

        self.preset_list = QListWidget(self)
        self.preset_list.setObjectName("presetList")
        self.preset_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.preset_list.setWordWrap(True)
        self.preset_list.setSpacing(3)
        for info in presets:
            text = info.title + ("\n(open now)" if info.name == current else "")
            item = QListWidgetItem(text, self.preset_list)
            item.setData(NAME_ROLE, info.name)
            item.setToolTip(info.description)
            if info.name == current:
                font = item.font()
                font.setBold(True)
                item.setFont(font)
        self.preset_list.setMinimumWidth(230)
        self.preset_list.setMaximumWidth(290)

        self.title_label = QLabel(self)
        self.title_label.setObjectName("presetTitle")
        font = QFont(self.title_label.font())
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.title_label.setFont(font)
        self.title_label.setWordWrap(True)
        # a frameless text view rather than a label: a long description scrolls instead of
        # pushing the sentences and notes off the dialog
        self.description = QTextBrowser(self)
        self.description.setObjectName("presetDescription")
        self.description.setFrameShape(QFrame.Shape.NoFrame)
        self.description.viewport().setAutoFillBackground(False)
        self.description.setTabChangesFocus(True)
        self.description.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.description.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.description.document().setDocumentMargin(0)
        self.description.viewport().installEventFilter(self)

        self.sentence_list = QListWidget(self)
        self.sentence_list.setObjectName("presetSentences")
        self.sentence_list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.sentence_list.setToolTip("Open the preset with this sentence (double-click opens at once)")
        self.notes = QTextBrowser(self)
        self.notes.setObjectName("presetNotes")
        self.notes.setOpenLinks(False)
        self.notes.setTabChangesFocus(True)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel, parent=self)
        self.open_button = self.buttons.addButton("&Open", QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button.setObjectName("presetOpenButton")
        self.open_button.setDefault(True)
        self.open_button.setAutoDefault(True)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)

        right = QVBoxLayout()
        right.addWidget(self.title_label)
        right.addWidget(self.description)
        right.addSpacing(6)
        right.addWidget(_buddy("Start with a &sentence", self.sentence_list))
        right.addWidget(self.sentence_list)
        right.addSpacing(6)
        right.addWidget(_buddy("What to &look for at each stage", self.notes))
        right.addWidget(self.notes, 1)
        left = QVBoxLayout()
        left.addWidget(_buddy("&Presets", self.preset_list))
        left.addWidget(self.preset_list, 1)
        columns = QHBoxLayout()
        columns.addLayout(left)
        columns.addSpacing(8)
        columns.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(columns, 1)
        layout.addWidget(self.buttons)

        self.preset_list.currentItemChanged.connect(lambda *_: self._show_selected())
        self.sentence_list.itemDoubleClicked.connect(lambda _: self.accept())
        self.preset_list.itemDoubleClicked.connect(lambda _: self.accept())
        names = list(self._presets)
        if names:
            self.select_preset(current if current in self._presets else names[0])
        self.open_button.setEnabled(bool(names))
        self.preset_list.setFocus()
        self.resize(1020, 740)

    # -- reading (for the main window and tests) ------------------------------------------------------
    def preset_names(self) -> list[str]:
        return [self.preset_list.item(i).data(NAME_ROLE) for i in range(self.preset_list.count())]

    def selected_preset(self) -> str | None:
        item = self.preset_list.currentItem()
        return item.data(NAME_ROLE) if item is not None else None

    def sentences(self) -> list[str]:
        """The selected preset's suggested sentences, as listed (without the "keep" row)."""
        rows = (self.sentence_list.item(i).data(NAME_ROLE) for i in range(self.sentence_list.count()))
        return [text for text in rows if text is not KEEP_SENTENCE]

    def selected_sentence(self) -> str | None:
        """The sentence to open with, or None to keep the current sentence."""
        item = self.sentence_list.currentItem()
        return item.data(NAME_ROLE) if item is not None else KEEP_SENTENCE

    # -- choosing ------------------------------------------------------------------------------------
    def select_preset(self, name: str) -> None:
        for i in range(self.preset_list.count()):
            if self.preset_list.item(i).data(NAME_ROLE) == name:
                self.preset_list.setCurrentRow(i)
                return
        raise KeyError(name)

    def select_sentence(self, text: str | None) -> None:
        """Pick one of the listed sentences, or None for "keep the current sentence"."""
        for i in range(self.sentence_list.count()):
            if self.sentence_list.item(i).data(NAME_ROLE) == text:
                self.sentence_list.setCurrentRow(i)
                return
        raise KeyError(text)

    def accept(self) -> None:
        name = self.selected_preset()
        if name is None:
            return
        self.chosen.emit(name, self.selected_sentence())
        super().accept()

    # -- drawing -------------------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._fit_description()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802
        # the description's height follows its width, known only once the dialog is laid out
        if watched is self.description.viewport() and event.type() == QEvent.Type.Resize:
            if event.size().width() != event.oldSize().width():
                self._fit_description()
        return super().eventFilter(watched, event)

    def _fit_description(self) -> None:
        """As tall as the description, up to about a third of the dialog; longer ones scroll."""
        doc = self.description.document()
        doc.setTextWidth(self.description.viewport().width())
        wanted = int(doc.size().height()) + 2 * self.description.frameWidth() + 2
        line = self.description.fontMetrics().lineSpacing()
        self.description.setFixedHeight(max(2 * line, min(wanted, max(6 * line, self.height() // 3))))

    def _show_selected(self) -> None:
        name = self.selected_preset()
        info = self._presets.get(name) if name is not None else None
        self.sentence_list.clear()
        if info is None:
            self.title_label.clear()
            self.description.clear()
            self.notes.clear()
            return
        self.title_label.setText(info.title)
        self.description.setPlainText(info.description)
        self._fit_description()
        keep = QListWidgetItem(_keep_text(self._current_text), self.sentence_list)
        keep.setData(NAME_ROLE, KEEP_SENTENCE)
        keep.setToolTip("Switch model and go on with the sentence you have now")
        font = keep.font()
        font.setItalic(True)
        keep.setFont(font)
        for sentence in info.suggested:
            item = QListWidgetItem(sentence, self.sentence_list)
            item.setData(NAME_ROLE, sentence)
        self.sentence_list.setCurrentRow(0)
        rows = self.sentence_list.count()
        height = self.sentence_list.sizeHintForRow(0) * rows + 2 * self.sentence_list.frameWidth() + 4
        self.sentence_list.setFixedHeight(min(height, 8 * self.sentence_list.sizeHintForRow(0)))
        self.notes.setHtml(notes_html(info, self._kinds(info.name)))
        self.notes.verticalScrollBar().setValue(0)


def notes_html(info: ModelInfo, kinds: Sequence[StageKind]) -> str:
    """The preset's notes as a readable list in forward order, grouped like the navigator:
    the stage's name, its kind in grey, then the note. Notes for stages the model does not
    have are left out; stages without a note are listed as such."""
    kinds = list(kinds)
    first_block = next((i for i, k in enumerate(kinds) if k.in_block), len(kinds))
    groups = {"before": [], "block": [], "after": []}
    for i, k in enumerate(kinds):
        groups["block" if k.in_block else ("before" if i < first_block else "after")].append(k)
    out: list[str] = []
    for heading, key in GROUPS:
        if not groups[key]:
            continue
        out.append(f"<h4 style='margin-top:10px; margin-bottom:2px'>{heading}</h4>")
        for k in groups[key]:
            note = info.notes.get(k.kind, "").strip()
            text = _esc(note) if note else "<i>No note for this stage.</i>"
            out.append(
                f"<p style='margin-top:4px; margin-bottom:6px; margin-left:8px'><b>{_esc(k.title)}</b>"
                f" <span style='color:{KIND_COLOR}; font-family:monospace'>{_esc(k.kind)}</span><br>{text}</p>"
            )
    return "\n".join(out) if out else "<p><i>This preset has no notes.</i></p>"


def _buddy(text: str, widget: QWidget) -> QLabel:
    label = QLabel(text)
    font = label.font()
    font.setBold(True)
    label.setFont(font)
    label.setBuddy(widget)
    return label


def _keep_text(text: str) -> str:
    short = text if len(text) <= 48 else text[:47] + "…"
    return f"Keep the current sentence: “{short}”" if text else "Keep the current sentence"


def _esc(text: str) -> str:
    return html.escape(text, quote=False)

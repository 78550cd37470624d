"""Stand-ins for the app's modal dialogs while the monkey runs.

The app calls the static ``QMessageBox`` / ``QFileDialog`` / ``QInputDialog`` functions (and
``ExportOptionsDialog.ask``) at the moment it needs an answer. Here each returns the answer the
current step queued (a file name, Save / Discard / Cancel, a panel; the export options as they
are), and records what the user was told, so steps can check that a refusal was explained and
tests never block on a modal dialog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtWidgets import QFileDialog, QInputDialog, QMessageBox

from ui.export import ExportOptionsDialog

Button = QMessageBox.StandardButton

ANSWERS = {"save": Button.Save, "discard": Button.Discard, "cancel": Button.Cancel, "yes": Button.Yes, "no": Button.No}


@dataclass
class Told:
    kind: str
    title: str
    text: str


@dataclass
class Dialogs:
    """Queued answers and a log of every dialog the app opened."""

    question_answer: str = "cancel"
    save_name: str = ""
    open_name: str = ""
    folder: str = ""
    item_index: int | None = None
    log: list[Told] = field(default_factory=list)
    _saved: list[tuple[Any, str, Any]] = field(default_factory=list)

    # -- installing ------------------------------------------------------------------------------
    def install(self) -> None:
        patches = {
            (QMessageBox, "question"): self._question,
            (QMessageBox, "warning"): self._message("warning"),
            (QMessageBox, "critical"): self._message("critical"),
            (QMessageBox, "information"): self._message("information"),
            (QMessageBox, "about"): self._about,
            (QFileDialog, "getSaveFileName"): self._save_name,
            (QFileDialog, "getOpenFileName"): self._open_name,
            (QFileDialog, "getExistingDirectory"): self._directory,
            (QInputDialog, "getItem"): self._item,
            (ExportOptionsDialog, "ask"): self._export_options,
        }
        for (owner, name), replacement in patches.items():
            self._saved.append((owner, name, owner.__dict__.get(name, getattr(owner, name))))
            setattr(owner, name, staticmethod(replacement))

    def uninstall(self) -> None:
        while self._saved:
            owner, name, original = self._saved.pop()
            setattr(owner, name, original)

    # -- per step -------------------------------------------------------------------------------------
    def reset(self) -> None:
        """Forget the previous step's answers (a step that does not queue one gets Cancel / nothing)."""
        self.question_answer = "cancel"
        self.save_name = ""
        self.open_name = ""
        self.folder = ""
        self.item_index = None
        self.log.clear()

    def told(self, kind: str) -> list[Told]:
        return [t for t in self.log if t.kind == kind]

    # -- the stand-ins -------------------------------------------------------------------------------
    def _question(self, parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN202
        self.log.append(Told("question", str(title), str(text)))
        return ANSWERS[self.question_answer]

    def _message(self, kind: str):  # noqa: ANN202
        def show(parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN202
            self.log.append(Told(kind, str(title), str(text)))
            return Button.Ok

        return show

    def _about(self, parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN202
        self.log.append(Told("about", str(title), str(text)))

    def _save_name(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        self.log.append(Told("save_dialog", "", self.save_name))
        return self.save_name, ""

    def _open_name(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        self.log.append(Told("open_dialog", "", self.open_name))
        return self.open_name, ""

    def _directory(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        self.log.append(Told("folder_dialog", "", self.folder))
        return self.folder

    def _item(self, parent, title, label, items, current=0, editable=True, *args, **kwargs):  # noqa: ANN001, ANN202
        self.log.append(Told("item_dialog", str(title), "\n".join(items)))
        if self.item_index is None or not items:
            return "", False
        return items[self.item_index % len(items)], True

    def _export_options(self, parent, options, kind):  # noqa: ANN001, ANN202
        self.log.append(Told("export_options", str(kind), repr(options)))
        return options  # OK with the remembered choices

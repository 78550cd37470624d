"""File menu behaviour: New, Open, Save, Save As, Recent, and switching models, with the prompts.

The controller knows which file the session belongs to and whether it has unsaved changes (the
undo stack's clean state). Before anything would throw away unsaved changes (New, Open,
closing the window) it asks Save / Discard / Cancel. Every failure (a damaged file, a folder
that cannot be written) is reported with a message box and in the status bar, and leaves both
the current session and any existing file as they were.

Dialogs are the static ``QMessageBox`` and ``QFileDialog`` functions, called at the moment
they are needed, so tests can replace them with ``monkeypatch``.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QWidget

import simulator
from simulator.errors import SimulatorError
from ui.commands import SetModelCommand
from ui.session_file import SESSION_SUFFIX, Session, load_session, save_session
from ui.state import AppState, default_text

RECENT_KEY = "session/recent"
MAX_RECENT = 8
SESSION_FILTER = "Simulator sessions (*.npz);;All files (*)"
MODEL_FILTER = "Model files (*.npz);;All files (*)"
UNTITLED = "Untitled"


class SessionController(QObject):
    """Owns the session's file name and the New / Open / Save / Recent / model-switch actions."""

    path_changed = Signal()
    recent_changed = Signal()

    def __init__(self, state: AppState, settings: QSettings, window: QWidget) -> None:
        super().__init__(window)
        self._state = state
        self._settings = settings
        self._window = window
        self._path: Path | None = None

    # -- reading ---------------------------------------------------------------------------------
    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def modified(self) -> bool:
        return not self._state.undo_stack.isClean()

    def display_name(self) -> str:
        return self._path.name if self._path is not None else UNTITLED

    def window_title(self, app_name: str) -> str:
        """E.g. "lesson.npz[*] — Toy (random weights) — App"; Qt shows [*] as * when modified."""
        return f"{self.display_name()}[*] — {self._state.model.info.title} — {app_name}"

    def recent_files(self) -> list[str]:
        value = self._settings.value(RECENT_KEY, [], type=list)
        return [str(v) for v in value if isinstance(v, str) and v]

    # -- the unsaved-changes prompt --------------------------------------------------------------------
    def maybe_save(self, action: str = "continue") -> bool:
        """True if it is fine to throw the session away now (saved, discarded or unmodified)."""
        if not self.modified:
            return True
        answer = QMessageBox.question(
            self._window,
            "Unsaved changes",
            f"{self.display_name()} has changes that are not saved. Save them before you {action}?",
            QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Save,
        )
        if answer == QMessageBox.StandardButton.Save:
            return self.save()
        return answer == QMessageBox.StandardButton.Discard

    # -- File menu -------------------------------------------------------------------------------
    def new_session(self) -> bool:
        """A fresh copy of the current preset (or the default one), default sentence, first stage."""
        if not self.maybe_save("start a new session"):
            return False
        source = self._state.model.info.source
        name = source.split(":", 1)[1] if source.startswith("preset:") else ""
        model = simulator.build_preset(name if name in simulator.preset_names() else simulator.default_preset())
        session = Session(
            model, default_text(model), model.stage_ids()[0], 0,
            {"causal": model.config.causal, "scale_scores": model.config.scale_scores, "temperature": 1.0},
            self._state.view, dict(model.params),
        )
        self._adopt(session, None, modified=False)
        self._state.message.emit(f"New session: {model.info.title}")
        return True

    def open_session(self, path: str | os.PathLike[str] | None = None) -> bool:
        """Open a session file (asking for one if ``path`` is None); on failure nothing changes."""
        if not self.maybe_save("open another session"):
            return False
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self._window, "Open session", self._start_folder(), SESSION_FILTER)
            if not chosen:
                return False
            path = chosen
        target = Path(path)
        try:
            session = load_session(target)
            self._adopt(session, target, modified=False)
        except SimulatorError as exc:
            self._fail("Could not open the session", f"{exc}\n\nThe current session is unchanged.")
            if not os.path.exists(target):  # (False, not OSError, for names the OS refuses)
                self._forget_recent(target)
            return False
        self._remember_recent(target)
        self._state.message.emit(f"Opened {target.name}")
        return True

    def save(self) -> bool:
        """Save to the session's file, or ask for one if it has none yet."""
        if self._path is None:
            return self.save_as()
        return self._write(self._path)

    def save_as(self, path: str | os.PathLike[str] | None = None) -> bool:
        """Save under a new name (asking for one if ``path`` is None)."""
        if path is None:
            suggested = str(self._path) if self._path else str(Path(self._start_folder()) / f"session{SESSION_SUFFIX}")
            chosen, _ = QFileDialog.getSaveFileName(self._window, "Save session as", suggested, SESSION_FILTER)
            if not chosen:
                return False
            path = chosen
        target = Path(path)
        if not target.suffix and not _is_special(target):  # a device or pipe is refused as named, not "fixed" to a sibling
            target = target.with_suffix(SESSION_SUFFIX)
        return self._write(target)

    def adopt_recovered(self, session: Session, original: Path | None) -> None:
        """Install a recovered session: it belongs to its original file and counts as unsaved."""
        self._adopt(session, original, modified=True)

    # -- Model menu ----------------------------------------------------------------------------------
    def switch_preset(self, name: str, text: str | None = None) -> bool:
        """Switch to a built-in model as one undoable step, with ``text`` as the sentence if given
        (otherwise the current sentence is kept when the new model can run it)."""
        try:
            model = simulator.build_preset(name)
            command = SetModelCommand(self._state, model, f"switch to preset {model.info.title}", text=text)
        except SimulatorError as exc:
            self._fail("Could not switch to the preset", f"{exc}\n\nThe current model is unchanged.")
            return False
        self._state.undo_stack.push(command)
        return True

    def load_model_file(self, path: str | os.PathLike[str] | None = None) -> bool:
        """Switch to a saved model (.npz) or a checkpoint folder as one undoable step."""
        if path is None:
            chosen, _ = QFileDialog.getOpenFileName(self._window, "Load model file", self._start_folder(), MODEL_FILTER)
            if not chosen:
                return False
            path = chosen
        try:
            model = simulator.load(Path(path))
            command = SetModelCommand(self._state, model, f"load model {Path(path).name}")
        except SimulatorError as exc:
            self._fail("Could not load the model", f"{exc}\n\nThe current model is unchanged.")
            return False
        self._state.undo_stack.push(command)
        return True

    def fill_recent_menu(self, menu: QMenu) -> None:
        """(Re)build File → Recent from the list kept in the settings."""
        menu.clear()
        files = self.recent_files()
        for i, name in enumerate(files, 1):
            action = QAction(f"&{i} {Path(name).name}", menu)
            action.setToolTip(name)
            action.setStatusTip(name)
            action.setData(name)
            action.triggered.connect(lambda _=False, n=name: self.open_session(n))
            menu.addAction(action)
        if files:
            menu.addSeparator()
        clear = menu.addAction("Clear recent files")
        clear.setEnabled(bool(files))
        clear.triggered.connect(self.clear_recent)
        menu.setEnabled(True)

    def clear_recent(self) -> None:
        self._settings.setValue(RECENT_KEY, [])
        self.recent_changed.emit()

    # -- internals ---------------------------------------------------------------------------------
    def _write(self, target: Path) -> bool:
        try:
            save_session(target, Session.from_state(self._state))
        except (SimulatorError, OSError) as exc:
            kept = " The file already there is unchanged." if os.path.exists(target) else ""
            self._fail("Could not save the session", f"{exc}\n\nNothing was lost: your work is still open.{kept}")
            return False
        self._path = target
        self._state.undo_stack.setClean()
        self._remember_recent(target)
        self.path_changed.emit()
        self._state.message.emit(f"Saved {target.name}")
        return True

    def _adopt(self, session: Session, path: Path | None, modified: bool) -> None:
        session.install(self._state)  # raises before changing anything if the parts do not fit
        stack = self._state.undo_stack
        stack.clear()
        if modified:
            stack.resetClean()
        else:
            stack.setClean()
        self._path = path
        self.path_changed.emit()

    def _fail(self, title: str, text: str) -> None:
        self._state.message.emit(text.split("\n", 1)[0])
        QMessageBox.warning(self._window, title, text)

    def _start_folder(self) -> str:
        if self._path is not None:
            return str(self._path.parent)
        recent = self.recent_files()
        return str(Path(recent[0]).parent) if recent else str(Path.home())

    def _remember_recent(self, path: Path) -> None:
        name = str(path.resolve())
        files = [name] + [f for f in self.recent_files() if f != name]
        self._settings.setValue(RECENT_KEY, files[:MAX_RECENT])
        self.recent_changed.emit()

    def _forget_recent(self, path: Path) -> None:
        name = str(path.resolve())
        self._settings.setValue(RECENT_KEY, [f for f in self.recent_files() if f != name])
        self.recent_changed.emit()


def _is_special(path: Path) -> bool:
    """Whether ``path`` exists as something other than a regular file or folder (a device, pipe, socket)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode))

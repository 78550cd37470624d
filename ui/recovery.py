"""Crash protection: a recovery copy of unsaved work, offered back on the next start.

While the session has unsaved changes, a copy is written every 30 seconds (only if something
changed since the last copy; the session is snapshotted on the GUI thread and written by a worker
thread, so a large model's copy does not freeze the window) to ``recovery-<pid>-<n>-<time>-<random>.npz`` in the recovery folder, in the
session format of :mod:`ui.session_file` plus a ``recovery`` member naming the file the work
belongs to. Saving, discarding or closing the window normally removes the copy. A lock file
held next to it while the app runs tells a copy left by a crashed run (its lock is stale or
gone) from one that another running window is still using. The folder defaults to the
platform's application data folder (QStandardPaths) and can be injected for tests.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np

from PySide6.QtCore import QLockFile, QObject, QSettings, QStandardPaths, QTimer, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from simulator.errors import SimulatorError
from simulator.model import Model
from simulator.model_file import read_npz
from ui.session_file import Session, load_session, save_session
from ui.state import AppState

AUTOSAVE_INTERVAL_MS = 30_000
PREFIX = "recovery-"
_instances = itertools.count(1)


def default_recovery_dir(settings: QSettings | None = None) -> Path:
    """Next to an injected ini settings file (tests), else the app data folder."""
    if settings is not None and settings.format() == QSettings.Format.IniFormat:
        name = settings.fileName()
        if name and name != os.devnull:
            return Path(name).parent / "recovery"
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(base or Path.home() / ".transformer-step-sim") / "recovery"


@dataclass(frozen=True)
class RecoveryCopy:
    """A recovery file left behind by a run that did not exit cleanly."""

    path: Path
    original: Path | None
    saved_at: float


class _ModelSnapshot:
    """A model as it is at one moment, for writing on another thread while edits go on.

    Its parameter mapping is a copy (the arrays themselves never change: an edit replaces the
    tensor, so no weight is copied); everything else is the model's, which does not change.
    """

    def __init__(self, model: Model) -> None:
        self._model = model
        self.params: Mapping[str, np.ndarray] = MappingProxyType(dict(model.params))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._model, name)


class RecoveryManager(QObject):
    """Writes the recovery copy on a timer while modified; offers copies of crashed runs back."""

    autosaved = Signal(str)
    #: from the writer thread (queued to the GUI thread): the copy's generation, "" or an error
    _written = Signal(int, str)

    def __init__(
        self,
        state: AppState,
        folder: Path,
        current_path: Callable[[], Path | None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._state = state
        self._folder = Path(folder)
        self._current_path = current_path
        # pid, time and a random part: process ids repeat across containers and reboots
        stem = f"{PREFIX}{os.getpid()}-{next(_instances)}-{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:8]}"
        self.file = self._folder / f"{stem}.npz"
        self._lock: QLockFile | None = None
        self._lock_path = self._folder / f"{stem}.lock"
        self._changed_since_copy = False
        self._clean = state.undo_stack.isClean()
        self._writer: threading.Thread | None = None
        #: bumped by :meth:`discard`: a copy written for an older generation is removed at once
        self._generation = 0
        self._discard_lock = threading.Lock()
        self._written.connect(self._write_finished)
        self.timer = QTimer(self)
        self.timer.setObjectName("recoveryTimer")
        self.timer.setInterval(AUTOSAVE_INTERVAL_MS)
        self.timer.timeout.connect(self.autosave_if_needed)
        stack = state.undo_stack
        stack.indexChanged.connect(self._stack_changed)
        stack.cleanChanged.connect(self._clean_changed)

    @property
    def folder(self) -> Path:
        return self._folder

    # -- writing ------------------------------------------------------------------------------------
    def _stack_changed(self, *_: object) -> None:
        self._changed_since_copy = True
        if not self._clean and not self.timer.isActive():
            self.timer.start()

    def _clean_changed(self, clean: bool) -> None:
        self._clean = clean
        if clean:
            self.timer.stop()
            self.discard()
        elif not self.timer.isActive():
            self.timer.start()

    def autosave_if_needed(self) -> bool:
        """Start writing the copy in the background if the session is modified and changed
        since the last copy (False too while the previous copy is still being written: the
        next tick writes it)."""
        if self._clean or not self._changed_since_copy or self.writing:
            return False
        return self.autosave_in_background()

    @property
    def writing(self) -> bool:
        """Whether a copy is being written by the writer thread."""
        return self._writer is not None and self._writer.is_alive()

    def autosave(self) -> bool:
        """Write the recovery copy now, on this thread; a failure is reported in the status bar only."""
        self.wait_for_writer()
        try:
            session, extra = self._snapshot()
            save_session(self.file, session, extra=extra)
        except (SimulatorError, OSError) as exc:
            self._state.message.emit(f"Could not write the recovery copy: {exc}")
            return False
        self._changed_since_copy = False
        self.autosaved.emit(str(self.file))
        return True

    def autosave_in_background(self) -> bool:
        """Snapshot the session now and write it on a worker thread (``autosaved`` follows, or
        a status bar message if the write fails); False if the folder cannot be made."""
        self.wait_for_writer()
        try:
            session, extra = self._snapshot()
        except OSError as exc:
            self._state.message.emit(f"Could not write the recovery copy: {exc}")
            return False
        self._changed_since_copy = False
        generation = self._generation
        self._writer = threading.Thread(
            target=self._write, args=(generation, session, extra), name="recovery-copy", daemon=True
        )
        self._writer.start()
        return True

    def wait_for_writer(self) -> None:
        """Block until the copy being written (if any) is done."""
        if self._writer is not None:
            self._writer.join()
            self._writer = None

    def _snapshot(self) -> tuple[Session, dict[str, Any]]:
        """On the GUI thread: the session as it is now (no weight is copied) and the recovery note."""
        self._folder.mkdir(parents=True, exist_ok=True)
        self._hold_lock()
        original = self._current_path()
        session = Session.from_state(self._state)
        session = replace(session, model=_ModelSnapshot(session.model))
        return session, {"recovery": {"original": str(original) if original else None, "saved_at": time.time()}}

    def _write(self, generation: int, session: Session, extra: dict[str, Any]) -> None:
        """On the writer thread: write the copy, and remove it again if it was discarded meanwhile."""
        error = ""
        try:
            save_session(self.file, session, extra=extra)
        except (SimulatorError, OSError) as exc:
            error = str(exc) or type(exc).__name__
        with self._discard_lock:
            if generation != self._generation:
                _remove(self.file)
                return
        try:
            self._written.emit(generation, error)
        except RuntimeError:  # the manager was deleted meanwhile: nobody to tell
            pass

    def _write_finished(self, generation: int, error: str) -> None:
        if generation != self._generation:
            return
        if error:
            self._changed_since_copy = True
            self._state.message.emit(f"Could not write the recovery copy: {error}")
        else:
            self.autosaved.emit(str(self.file))

    def discard(self) -> None:
        """Remove this run's copy (after a save, a discard, or a clean exit), including one
        still being written."""
        with self._discard_lock:
            self._generation += 1
            _remove(self.file)

    def shutdown(self) -> None:
        """Clean exit: stop the timer, remove the copy and release the lock."""
        self.timer.stop()
        self.discard()
        self.wait_for_writer()
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    def _hold_lock(self) -> None:
        if self._lock is None:
            lock = QLockFile(str(self._lock_path))
            lock.setStaleLockTime(0)
            if lock.tryLock(0):
                self._lock = lock

    # -- reading back -----------------------------------------------------------------------------------
    def left_behind(self) -> list[RecoveryCopy]:
        """Copies whose run is gone (no live lock), newest first."""
        if not self._folder.is_dir():
            return []
        found = []
        for path in self._folder.glob(f"{PREFIX}*.npz"):
            if path == self.file or _owner_alive(path):
                continue
            original, saved_at = _recovery_info(path)
            found.append(RecoveryCopy(path, original, saved_at))
        return sorted(found, key=lambda c: c.saved_at, reverse=True)

    def offer_restore(self, parent: QWidget, adopt: Callable[[Session, Path | None], None]) -> bool:
        """Ask whether to restore each copy left by a crashed run; restore the first one accepted."""
        for copy in self.left_behind():
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(copy.saved_at))
            belongs = f" of {copy.original.name}" if copy.original else ""
            answer = QMessageBox.question(
                parent,
                "Restore unsaved work?",
                f"The app did not close normally last time. Unsaved work{belongs} from {when} was kept.\n\n"
                "Restore it? (No deletes the copy.)",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.Yes,
            )
            if answer != QMessageBox.StandardButton.Yes:
                _discard_copy(copy.path)
                continue
            if not copy.path.is_file():  # another window took it meanwhile
                self._state.message.emit(f"Skipped the recovery copy {copy.path.name}: another window restored or removed it")
                continue
            try:
                session = load_session(copy.path)
                adopt(session, copy.original)
            except (SimulatorError, OSError, RecursionError) as exc:
                _set_aside(copy.path)
                QMessageBox.warning(parent, "Could not restore", f"The recovery copy could not be read and was set aside as .damaged: {exc}")
                continue
            _discard_copy(copy.path)
            self._changed_since_copy = True
            self.autosave()
            self.timer.start()
            self._state.message.emit("Restored unsaved work from the recovery copy; save it to keep it.")
            return True
        return False


def _owner_alive(path: Path) -> bool:
    lock_path = path.with_suffix(".lock")
    if not lock_path.exists():
        return False
    lock = QLockFile(str(lock_path))
    if lock.tryLock(0):  # stale: its process is gone
        lock.unlock()
        return False
    return True


def _recovery_info(path: Path) -> tuple[Path | None, float]:
    try:
        _, meta = read_npz(path)
        info = meta.get("recovery") or {}
        original = info.get("original")
        saved_at = float(info.get("saved_at", path.stat().st_mtime))
        return (Path(original) if isinstance(original, str) and original else None), saved_at
    except (SimulatorError, OSError, TypeError, ValueError, AttributeError, json.JSONDecodeError):
        try:
            return None, path.stat().st_mtime
        except OSError:
            return None, 0.0


def _set_aside(path: Path) -> None:
    """Rename a damaged copy to ``*.npz.damaged`` so it is never offered again; gone is fine."""
    try:
        path.replace(path.with_suffix(".npz.damaged"))
    except OSError:
        pass


def _discard_copy(path: Path) -> None:
    _remove(path)
    _remove(path.with_suffix(".lock"))


def _remove(path: Path) -> None:
    try:
        path.unlink()
    except OSError:
        pass

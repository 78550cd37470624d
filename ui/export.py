"""Pictures for slides and handouts: the stage canvas or one panel as PNG or SVG, the clipboard,
and "Export all stages" (one numbered PNG per stage, in forward order).

* A single heatmap panel is written to PNG with pyqtgraph's ``ImageExporter`` at twice its
  on-screen size (crisp on a projector).
* SVG is drawn with Qt's ``QSvgGenerator`` (vector text, lines and cells), for panels and the
  whole canvas alike: pyqtgraph 0.14's ``SVGExporter`` cannot parse the path syntax of recent Qt
  versions (pyqtgraph issue #3485).
* The whole canvas (several panels plus the equation header and operators) is one widget, so
  its PNG is a grab of what is on screen.

Failures raise :class:`ExportError` with a message for the user; :class:`Exporter` shows it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import pyqtgraph.exporters
from PySide6.QtCore import QObject, QPoint, QRect, QSize, Qt
from PySide6.QtGui import QGuiApplication, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QInputDialog,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QWidget,
)

from simulator.errors import SimulatorError
from simulator.safe_write import write_atomic_path
from ui.panels.heatmap import HeatmapPanel
from ui.state import AppState

PNG_SCALE = 2
#: CSS pixels per inch, so browsers and slide software show the drawing at its on-screen size
SVG_DPI = 96
PNG_FILTER = "PNG image (*.png)"
SVG_FILTER = "SVG drawing (*.svg)"


class ExportError(Exception):
    """A picture could not be written; the message says why."""


def _target(path: str | os.PathLike[str], suffix: str) -> Path:
    target = Path(path)
    if target.suffix.lower() != suffix:
        target = target.with_name(target.name + suffix)
    if not target.parent.is_dir():
        raise ExportError(f"cannot write {target}: the folder {target.parent} does not exist")
    return target


def export_png(widget: QWidget, path: str | os.PathLike[str]) -> Path:
    """A heatmap panel via pyqtgraph's ImageExporter (2× size), any other widget as grabbed.

    Written to a temporary file renamed into place only after a clean save, so a failure
    leaves the previous picture as it was (see :mod:`simulator.safe_write`)."""
    target = _target(path, ".png")

    def write(name: str) -> None:
        if isinstance(widget, HeatmapPanel):
            exporter = pyqtgraph.exporters.ImageExporter(widget.scene())
            exporter.parameters()["width"] = max(1, widget.width() * PNG_SCALE)
            exporter.parameters()["antialias"] = True
            ok = exporter.export(name)
            ok = ok is not False and os.path.getsize(name) > 0
        else:
            ok = widget.grab().save(name, "PNG")
        if not ok:
            raise ExportError(f"cannot write {target}: the folder is not writable or the disk is full")

    return _write_atomic(target, write)


def _write_atomic(target: Path, write: Callable[[str], None]) -> Path:
    """``write`` into a temporary file renamed over ``target`` only if it succeeds; the
    failure's message says that the previous file (if any) is unchanged."""
    if not os.access(target.parent, os.W_OK):
        raise ExportError(f"cannot write {target}: the folder is not writable")
    existed = target.exists()
    try:
        return write_atomic_path(target, write)
    except SimulatorError as exc:
        raise ExportError(f"{exc}; the previous file is unchanged") from exc
    except ExportError as exc:
        if not existed or "unchanged" in str(exc):
            raise
        raise ExportError(f"{exc}; the previous file is unchanged") from exc


def export_svg(widget: QWidget, path: str | os.PathLike[str], title: str = "") -> Path:
    """Draw ``widget`` (a panel or the whole canvas) as an SVG file, renamed into place only
    after the painter ended cleanly."""
    target = _target(path, ".svg")

    def write(name: str) -> None:
        generator = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)  # 1.1 keeps clip paths (Tiny 1.2 drops them)
        generator.setFileName(name)
        generator.setSize(QSize(widget.width(), widget.height()))
        generator.setViewBox(QRect(0, 0, widget.width(), widget.height()))
        generator.setResolution(SVG_DPI)
        generator.setTitle(title or widget.objectName())
        generator.setDescription("Exported from the Transformer Step-Through Simulator")
        painter = QPainter()
        if not painter.begin(generator):
            raise ExportError(f"cannot write {target}: the file could not be created")
        try:
            # QWidget's own render, also for graphics views (theirs re-fits the scene and skews it):
            # the widget's paint code draws cells, text and lines into the SVG as vectors
            QWidget.render(widget, painter, QPoint(0, 0))
        finally:
            ended = painter.end()
        del generator  # closes and flushes its file
        if not ended or os.path.getsize(name) == 0:
            raise ExportError(f"cannot write {target}: the disk is full or the file could not be written; the previous file is unchanged")

    return _write_atomic(target, write)


def copy_image(widget: QWidget) -> None:
    """Put a picture of ``widget`` on the clipboard."""
    QGuiApplication.clipboard().setPixmap(widget.grab())


def stage_file_names(stage_ids: list[str]) -> list[str]:
    """"01-tokens.png", "02-embed.png", ...: numbered so that file order is forward order."""
    width = max(2, len(str(len(stage_ids))))
    return [f"{i:0{width}d}-{sid}.png" for i, sid in enumerate(stage_ids, 1)]


def export_all_stages(
    state: AppState,
    canvas: QWidget,
    folder: str | os.PathLike[str],
    progress: QProgressDialog | None = None,
) -> list[Path]:
    """One PNG of the canvas per stage, in forward order; stops early if ``progress`` is cancelled.

    Each picture is written to a temporary file and renamed into place, so a failure leaves any
    earlier export of that stage intact. The stage on screen is put back afterwards. Returns the
    files written.
    """
    target = Path(folder)
    if not target.is_dir():
        raise ExportError(f"cannot export to {target}: it is not an existing folder")
    ids = state.model.stage_ids()
    names = stage_file_names(ids)
    original = state.stage_id
    written: list[Path] = []
    if progress is not None:
        progress.setRange(0, len(ids))
        progress.setValue(0)
    try:
        for i, (sid, name) in enumerate(zip(ids, names)):
            if progress is not None:
                if progress.wasCanceled():
                    break
                progress.setLabelText(f"Stage {i + 1} of {len(ids)}: {sid}")
            state.set_stage(sid)
            QApplication.processEvents()
            path = target / name
            picture = canvas.grab()

            def write(temporary: str, path: Path = path) -> None:
                if not picture.save(temporary, "PNG"):
                    raise ExportError(f"cannot write {path}: the folder is not writable or the disk is full")

            try:
                written.append(_write_atomic(path, write))  # a failed picture leaves the previous one intact
            except ExportError as exc:
                done = f" ({len(written)} of {len(ids)} pictures were written)" if written else ""
                raise ExportError(f"{exc}{done}") from exc
            if progress is not None:
                progress.setValue(i + 1)
    finally:
        state.set_stage(original)
    return written


class Exporter(QObject):
    """The Export menu and panel context menus: asks for file names, reports failures."""

    def __init__(self, state: AppState, canvas: QWidget, window: QWidget) -> None:
        super().__init__(window)
        self._state = state
        self._canvas = canvas
        self._window = window
        self._folder = str(Path.home())
        self.last_written: list[Path] = []

    # -- canvas ------------------------------------------------------------------------------
    def canvas_png(self, path: str | None = None) -> bool:
        return self._save(self._canvas, ".png", path, f"{self._state.stage_id}.png")

    def canvas_svg(self, path: str | None = None) -> bool:
        return self._save(self._canvas, ".svg", path, f"{self._state.stage_id}.svg")

    def copy_canvas(self) -> None:
        copy_image(self._canvas)
        self._state.message.emit("Copied the stage to the clipboard")

    # -- one panel -----------------------------------------------------------------------------
    def choose_panel(self) -> HeatmapPanel | None:
        """Ask which of the canvas's panels to export (skipped when there is only one)."""
        panels = list(getattr(self._canvas, "panels", []))
        if len(panels) <= 1:
            return panels[0] if panels else None
        titles = [f"{i + 1}. {p.matrix.title if p.matrix else p.objectName()}" for i, p in enumerate(panels)]
        choice, ok = QInputDialog.getItem(self._window, "Export one panel", "Which panel?", titles, len(titles) - 1, False)
        if not ok or choice not in titles:
            return None
        return panels[titles.index(choice)]

    def panel_png(self, panel: HeatmapPanel | None = None, path: str | None = None) -> bool:
        panel = panel or self.choose_panel()
        return panel is not None and self._save(panel, ".png", path, _panel_file_name(panel, ".png"))

    def panel_svg(self, panel: HeatmapPanel | None = None, path: str | None = None) -> bool:
        panel = panel or self.choose_panel()
        return panel is not None and self._save(panel, ".svg", path, _panel_file_name(panel, ".svg"))

    def copy_panel(self, panel: HeatmapPanel) -> None:
        copy_image(panel)
        self._state.message.emit("Copied the panel to the clipboard")

    def follow_canvas(self, canvas: QWidget) -> None:
        """Give every panel of the canvas the right-click export menu, including later ones."""
        for signal in (self._state.stage_changed, self._state.model_changed, self._state.view_changed):
            signal.connect(lambda *_: self._menus_for(canvas))
        self._menus_for(canvas)

    def _menus_for(self, canvas: QWidget) -> None:
        for panel in getattr(canvas, "panels", []):
            self.install_panel_menu(panel)

    def install_panel_menu(self, panel: HeatmapPanel) -> None:
        """Right-click on a panel: export it as PNG or SVG, or copy it."""
        if panel.property("exportMenu"):
            return
        panel.setProperty("exportMenu", True)
        panel.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        panel.customContextMenuRequested.connect(lambda pos, p=panel: self._panel_menu(p).popup(p.mapToGlobal(pos)))

    def _panel_menu(self, panel: HeatmapPanel) -> QMenu:
        menu = QMenu(panel)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.addAction("Export this panel as PNG…", lambda: self.panel_png(panel))
        menu.addAction("Export this panel as SVG…", lambda: self.panel_svg(panel))
        menu.addAction("Copy this panel to the clipboard", lambda: self.copy_panel(panel))
        return menu

    # -- every stage ---------------------------------------------------------------------------
    def all_stages(self, folder: str | None = None) -> bool:
        """Ask for a folder, then write one numbered PNG per stage with a progress bar and Cancel."""
        if folder is None:
            folder = QFileDialog.getExistingDirectory(self._window, "Export every stage as PNG into…", self._folder)
            if not folder:
                return False
        n = len(self._state.model.stage_ids())
        progress = QProgressDialog("Exporting stages…", "Cancel", 0, n, self._window)
        progress.setObjectName("exportProgress")
        progress.setWindowTitle("Export all stages")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(0)
        progress.setAutoClose(False)
        try:
            self.last_written = export_all_stages(self._state, self._canvas, folder, progress)
        except ExportError as exc:
            self._fail(str(exc))
            return False
        finally:
            progress.close()
            progress.deleteLater()
        self._folder = str(folder)
        done = len(self.last_written)
        note = "" if done == n else f" (cancelled after {done} of {n})"
        self._state.message.emit(f"Wrote {done} stage pictures to {folder}{note}")
        return done == n

    # -- internals -----------------------------------------------------------------------------
    def _save(self, widget: QWidget, suffix: str, path: str | None, suggested: str) -> bool:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self._window, "Export picture", str(Path(self._folder) / suggested), PNG_FILTER if suffix == ".png" else SVG_FILTER
            )
            if not chosen:
                return False
            path = chosen
        write: Callable[[QWidget, str], Path] = export_png if suffix == ".png" else export_svg
        try:
            written = write(widget, path)
        except ExportError as exc:
            self._fail(str(exc))
            return False
        self._folder = str(written.parent)
        self.last_written = [written]
        self._state.message.emit(f"Wrote {written}")
        return True

    def _fail(self, text: str) -> None:
        self._state.message.emit(text)
        QMessageBox.warning(self._window, "Export failed", text)


def _panel_file_name(panel: HeatmapPanel, suffix: str) -> str:
    title = panel.matrix.source if panel.matrix is not None and panel.matrix.source else panel.objectName()
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in title) + suffix

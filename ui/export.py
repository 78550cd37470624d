"""Pictures for slides and handouts: the stage canvas or one panel as PNG or SVG, the clipboard,
and "Export all stages" (one numbered PNG per stage, in forward order).

* A single heatmap panel is written to PNG with pyqtgraph's ``ImageExporter`` at twice its
  on-screen size (crisp on a projector).
* SVG is drawn with Qt's ``QSvgGenerator`` (vector text, lines and cells), for panels and the
  whole canvas alike: pyqtgraph 0.14's ``SVGExporter`` cannot parse the path syntax of recent Qt
  versions (pyqtgraph issue #3485).
* The whole canvas (several panels plus the equation header and operators) is one widget, so
  its PNG is a grab of what is on screen, or, with :class:`ExportOptions`, the canvas drawn by
  its own paint code at a chosen size (the canvas as shown, or a 1920×1080 / 1280×720 slide it
  is scaled to fit) and resolution (1× or 2× the pixels), with an optional caption strip naming
  the model, sentence and stage. The choices are asked in :class:`ExportOptionsDialog` and
  remembered in QSettings. "Export all stages" can also write one picture per head of every
  stage whose canvas shows one head.
* Every file is written to a temporary name and renamed into place (:mod:`simulator.safe_write`).

Failures raise :class:`ExportError` with a message for the user; :class:`Exporter` shows it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pyqtgraph.exporters
from PySide6.QtCore import QObject, QPoint, QPointF, QRect, QSettings, QSize, Qt
from PySide6.QtGui import QFont, QFontMetrics, QGuiApplication, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QWidget,
)

from simulator.errors import SimulatorError
from simulator.safe_write import write_atomic_path
from ui.panels.heatmap import HeatmapPanel
from ui.stage_layouts import Term, layout_for
from ui.state import AppState

PNG_SCALE = 2
#: CSS pixels per inch, so browsers and slide software show the drawing at its on-screen size
SVG_DPI = 96
PNG_FILTER = "PNG image (*.png)"
SVG_FILTER = "SVG drawing (*.svg)"


#: size choices: key, text in the dialog, logical pixels (None: the canvas as shown)
SIZES: tuple[tuple[str, str, tuple[int, int] | None], ...] = (
    ("shown", "The canvas as shown", None),
    ("1920x1080", "1920 × 1080 (slide)", (1920, 1080)),
    ("1280x720", "1280 × 720", (1280, 720)),
)
SCALES = (1, 2)
SETTINGS_GROUP = "export"
#: the caption strip above the canvas as shown, in logical pixels; at a chosen size, a share of its height
CAPTION_HEIGHT = 32
CAPTION_SHARE = 0.05


class ExportError(Exception):
    """A picture could not be written; the message says why."""


@dataclass(frozen=True)
class ExportOptions:
    """How the canvas is exported: size, resolution, caption, and (for all stages) every head."""

    size: str = "shown"
    scale: int = 1
    caption: bool = False
    heads: bool = False

    def logical_size(self, shown: QSize) -> QSize:
        """The picture's size before the resolution is applied: the chosen size, or the canvas as
        shown with the caption strip (when there is one) added above it."""
        fixed = {key: px for key, _, px in SIZES}[self.size]
        if fixed is not None:
            return QSize(*fixed)
        return QSize(shown.width(), shown.height() + (CAPTION_HEIGHT if self.caption else 0))

    def pixel_size(self, shown: QSize) -> QSize:
        """The picture's size in pixels (the logical size times the resolution)."""
        return self.logical_size(shown) * self.scale

    @classmethod
    def load(cls, settings: QSettings | None) -> ExportOptions:
        """The remembered choices; a missing or damaged value falls back to its default."""
        return cls.read(settings)[0]

    @classmethod
    def read(cls, settings: QSettings | None) -> tuple[ExportOptions, list[str]]:
        """The remembered choices and the names of the saved values that could not be read
        (each of those falls back to its default)."""
        default = cls()
        if settings is None:
            return default, []
        damaged: list[str] = []

        def value(name: str, allowed: dict[str, Any], fallback: Any) -> Any:
            raw = settings.value(f"{SETTINGS_GROUP}/{name}")
            if raw is None:
                return fallback
            key = str(raw).lower() if isinstance(raw, (str, bool, int)) else None
            if key not in allowed:
                damaged.append(name)
                return fallback
            return allowed[key]

        flags = {"true": True, "false": False}
        size = value("size", {key: key for key, _, _ in SIZES}, default.size)
        scale = value("scale", {str(k): k for k in SCALES}, default.scale)
        caption = value("caption", flags, default.caption)
        heads = value("heads", flags, default.heads)
        return cls(size, scale, caption, heads), damaged

    def save(self, settings: QSettings | None) -> None:
        """Remember these choices for the next export (and the next start)."""
        if settings is None:
            return
        for name in ("size", "scale", "caption", "heads"):
            settings.setValue(f"{SETTINGS_GROUP}/{name}", getattr(self, name))


class ExportOptionsDialog(QDialog):
    """Size, resolution, caption and (for all stages) every head, before the file is chosen."""

    def __init__(self, parent: QWidget | None, options: ExportOptions, kind: str) -> None:
        super().__init__(parent)
        self.setObjectName("exportOptions")
        self.setWindowTitle("Export options")
        self.size_choice = QComboBox()
        self.size_choice.setObjectName("exportSize")
        for key, text, _ in SIZES:
            self.size_choice.addItem(text, key)
        self.size_choice.setCurrentIndex(max(0, self.size_choice.findData(options.size)))
        self.scale_choice = QComboBox()
        self.scale_choice.setObjectName("exportScale")
        for scale in SCALES:
            self.scale_choice.addItem(f"{scale}×", scale)
        self.scale_choice.setCurrentIndex(max(0, self.scale_choice.findData(options.scale)))
        self.scale_choice.setEnabled(kind != "svg")  # a drawing has no pixels
        self.caption_box = QCheckBox("Caption: model, sentence and stage")
        self.caption_box.setObjectName("exportCaption")
        self.caption_box.setChecked(options.caption)
        self.heads_box = QCheckBox("Every head of the per-head stages", self)
        self.heads_box.setObjectName("exportHeads")
        self.heads_box.setChecked(options.heads)
        self.heads_box.setVisible(kind == "all")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form = QFormLayout(self)
        form.addRow("Size", self.size_choice)
        form.addRow("Resolution", self.scale_choice)
        form.addRow(self.caption_box)
        if kind == "all":
            form.addRow(self.heads_box)
        form.addRow(buttons)

    def options(self) -> ExportOptions:
        """The choices shown in the dialog."""
        return ExportOptions(
            str(self.size_choice.currentData()), int(self.scale_choice.currentData()),
            self.caption_box.isChecked(), self.heads_box.isChecked(),
        )

    @staticmethod
    def ask(parent: QWidget | None, options: ExportOptions, kind: str) -> ExportOptions | None:
        """Show the dialog (``kind``: "png", "svg" or "all") and return the choices, None if cancelled."""
        dialog = ExportOptionsDialog(parent, options, kind)
        try:
            return dialog.options() if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()


def caption_text(state: AppState, stage_id: str | None = None, head: int | None = None) -> str:
    """"Model · “sentence” · stage (· head h)": what a slide needs to say what it shows."""
    sid = stage_id or state.stage_id
    spec = state.model.graph[sid]
    parts = [state.model.info.title, f"“{state.text}”", f"{spec.title} ({sid})"]
    if head is not None:
        parts.append(f"head {head}")
    return "  ·  ".join(parts)


def _caption_strip(options: ExportOptions, caption: str) -> int:
    """The caption strip's height in logical pixels (0 without a caption)."""
    if not (options.caption and caption):
        return 0
    if options.size == "shown":
        return CAPTION_HEIGHT
    return max(CAPTION_HEIGHT, round(options.logical_size(QSize()).height() * CAPTION_SHARE))


def _paint_canvas(painter: QPainter, widget: QWidget, logical: QSize, caption: str, strip: int) -> None:
    """Draw ``widget`` scaled to fit ``logical``, below a caption strip ``strip`` high."""
    shown = widget.size()
    palette = widget.palette()
    painter.fillRect(QRect(QPoint(0, 0), logical), palette.color(QPalette.ColorRole.Window))
    if strip:
        font = QFont(widget.font())
        font.setPixelSize(max(12, round(strip * 0.5)))
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(palette.color(QPalette.ColorRole.WindowText))
        margin = max(8, strip // 3)
        room = QRect(margin, 0, max(1, logical.width() - 2 * margin), strip)
        text = QFontMetrics(font).elidedText(caption, Qt.TextElideMode.ElideRight, room.width())
        painter.drawText(room, int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft), text)
    area_w, area_h = logical.width(), logical.height() - strip
    factor = min(area_w / max(1, shown.width()), area_h / max(1, shown.height()))
    painter.save()
    painter.translate(QPointF((area_w - shown.width() * factor) / 2, strip + (area_h - shown.height() * factor) / 2))
    painter.scale(factor, factor)
    # QWidget's own render, also for graphics views (theirs re-fits the scene and skews it)
    QWidget.render(widget, painter, QPoint(0, 0))
    painter.restore()


def render_canvas(widget: QWidget, options: ExportOptions, caption: str = "") -> QPixmap:
    """The picture of ``widget`` that ``options`` ask for, with ``caption`` if captions are on."""
    logical = options.logical_size(widget.size())
    pixmap = QPixmap(logical * options.scale)
    pixmap.setDevicePixelRatio(options.scale)
    painter = QPainter(pixmap)
    try:
        _paint_canvas(painter, widget, logical, caption, _caption_strip(options, caption))
    finally:
        painter.end()
    return pixmap


def _target(path: str | os.PathLike[str], suffix: str) -> Path:
    target = Path(path)
    if target.suffix.lower() != suffix:
        target = target.with_name(target.name + suffix)
    if not target.parent.is_dir():
        raise ExportError(f"cannot write {target}: the folder {target.parent} does not exist")
    return target


def export_png(
    widget: QWidget, path: str | os.PathLike[str], options: ExportOptions | None = None, caption: str = ""
) -> Path:
    """A heatmap panel via pyqtgraph's ImageExporter (2× size), any other widget as grabbed, or
    as ``options`` ask (size, resolution, ``caption``; see :func:`render_canvas`).

    Written to a temporary file renamed into place only after a clean save, so a failure
    leaves the previous picture as it was (see :mod:`simulator.safe_write`)."""
    target = _target(path, ".png")

    def write(name: str) -> None:
        if options is not None:
            ok = render_canvas(widget, options, caption).save(name, "PNG")
        elif isinstance(widget, HeatmapPanel):
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


def export_svg(
    widget: QWidget, path: str | os.PathLike[str], title: str = "", options: ExportOptions | None = None, caption: str = ""
) -> Path:
    """Draw ``widget`` (a panel or the whole canvas) as an SVG file, renamed into place only
    after the painter ended cleanly; ``options`` choose its size and ``caption`` (vector text)."""
    target = _target(path, ".svg")
    logical = options.logical_size(widget.size()) if options is not None else widget.size()
    strip = _caption_strip(options, caption) if options is not None else 0

    def write(name: str) -> None:
        generator = QSvgGenerator(QSvgGenerator.SvgVersion.Svg11)  # 1.1 keeps clip paths (Tiny 1.2 drops them)
        generator.setFileName(name)
        generator.setSize(logical)
        generator.setViewBox(QRect(QPoint(0, 0), logical))
        generator.setResolution(SVG_DPI)
        generator.setTitle(title or widget.objectName())
        generator.setDescription("Exported from the Transformer Step-Through Simulator")
        painter = QPainter()
        if not painter.begin(generator):
            raise ExportError(f"cannot write {target}: the file could not be created")
        try:
            if options is None:
                # QWidget's own render, also for graphics views (theirs re-fits the scene and skews it):
                # the widget's paint code draws cells, text and lines into the SVG as vectors
                QWidget.render(widget, painter, QPoint(0, 0))
            else:
                _paint_canvas(painter, widget, logical, caption, strip)
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


def shows_one_head(state: AppState, stage_id: str) -> bool:
    """True when the stage's canvas shows one head (the one chosen), so each head is a different picture."""
    layout = layout_for(state.model, stage_id, state.option("causal"))
    return any(isinstance(term, Term) and term.by_head and term.head is None for term in layout)


def export_jobs(state: AppState, heads: bool) -> list[tuple[str, int | None, str]]:
    """What "Export all stages" writes: (stage id, head or None, file name), in forward order.

    With ``heads`` (and more than one head), a stage whose canvas shows one head gets one
    picture per head, "07-blocks.0.attn.q-head0.png", "07-blocks.0.attn.q-head1.png", ...
    """
    ids = state.model.stage_ids()
    n_heads = state.model.config.n_heads
    width = len(str(n_heads - 1))
    jobs: list[tuple[str, int | None, str]] = []
    for sid, name in zip(ids, stage_file_names(ids)):
        if heads and n_heads > 1 and shows_one_head(state, sid):
            jobs += [(sid, h, f"{name[:-4]}-head{h:0{width}d}.png") for h in range(n_heads)]
        else:
            jobs.append((sid, None, name))
    return jobs


def export_all_stages(
    state: AppState,
    canvas: QWidget,
    folder: str | os.PathLike[str],
    progress: QProgressDialog | None = None,
    options: ExportOptions | None = None,
) -> list[Path]:
    """One PNG of the canvas per stage (and per head, when ``options.heads``), in forward order;
    stops early if ``progress`` is cancelled. ``options`` choose size, resolution and caption
    (None: the canvas as grabbed).

    Each picture is written to a temporary file and renamed into place, so a failure leaves any
    earlier export of that stage intact. The stage and head on screen are put back afterwards.
    Returns the files written.
    """
    target = Path(folder)
    if not target.is_dir():
        raise ExportError(f"cannot export to {target}: it is not an existing folder")
    jobs = export_jobs(state, options is not None and options.heads)
    original, original_head = state.stage_id, state.head
    written: list[Path] = []
    if progress is not None:
        progress.setRange(0, len(jobs))
        progress.setValue(0)
    try:
        for i, (sid, head, name) in enumerate(jobs):
            if progress is not None:
                if progress.wasCanceled():
                    break
                progress.setLabelText(f"Picture {i + 1} of {len(jobs)}: {sid}" + (f", head {head}" if head is not None else ""))
            state.set_stage(sid)
            if head is not None:
                state.set_head(head)
            QApplication.processEvents()
            path = target / name
            if options is None:
                picture = canvas.grab()
            else:
                shown_head = state.head if shows_one_head(state, sid) else None
                picture = render_canvas(canvas, options, caption_text(state, sid, shown_head))

            def write(temporary: str, path: Path = path, picture: QPixmap = picture) -> None:
                if not picture.save(temporary, "PNG"):
                    raise ExportError(f"cannot write {path}: the folder is not writable or the disk is full")

            try:
                written.append(_write_atomic(path, write))  # a failed picture leaves the previous one intact
            except ExportError as exc:
                done = f" ({len(written)} of {len(jobs)} pictures were written)" if written else ""
                raise ExportError(f"{exc}{done}") from exc
            if progress is not None:
                progress.setValue(i + 1)
    finally:
        state.set_stage(original)
        state.set_head(original_head)
    return written


class Exporter(QObject):
    """The Export menu and panel context menus: asks for file names, reports failures."""

    def __init__(self, state: AppState, canvas: QWidget, window: QWidget, settings: QSettings | None = None) -> None:
        super().__init__(window)
        self._state = state
        self._canvas = canvas
        self._window = window
        #: where the export choices are remembered (the window's settings unless given)
        self._settings = settings if settings is not None else getattr(window, "settings", None)
        self._options, damaged = ExportOptions.read(self._settings)
        #: said with the next export: which saved choices could not be read (they are set aside)
        self._damaged_note = ""
        if damaged:
            for name in damaged:
                self._settings.remove(f"{SETTINGS_GROUP}/{name}")
            self._damaged_note = f"; the saved export options could not be read ({', '.join(damaged)}) and were set back to the defaults"
        self._folder = str(Path.home())
        self.last_written: list[Path] = []
        #: adds a panel's other right-click actions (switching a head off) above the export ones
        self.menu_extras: Callable[[HeatmapPanel, QMenu], None] | None = None

    def options(self) -> ExportOptions:
        """The export choices in use (remembered from the last export options dialog)."""
        return self._options

    def set_options(self, options: ExportOptions) -> None:
        """Use and remember ``options`` for the next canvas exports."""
        self._options = options
        options.save(self._settings)

    def _ask_options(self, kind: str) -> bool:
        """The options dialog before a canvas export; False when it was cancelled."""
        chosen = ExportOptionsDialog.ask(self._window, self._options, kind)
        if chosen is None:
            return False
        self.set_options(chosen)
        return True

    # -- canvas ------------------------------------------------------------------------------
    def canvas_png(self, path: str | None = None) -> bool:
        """The canvas as PNG with the export options (asked first when no path is given)."""
        if path is None and not self._ask_options("png"):
            return False
        return self._save(self._canvas, ".png", path, f"{self._state.stage_id}.png", self._options)

    def canvas_svg(self, path: str | None = None) -> bool:
        """The canvas as SVG with the export options (asked first when no path is given)."""
        if path is None and not self._ask_options("svg"):
            return False
        return self._save(self._canvas, ".svg", path, f"{self._state.stage_id}.svg", self._options)

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
        if self.menu_extras is not None:
            self.menu_extras(panel, menu)
        menu.addAction("Export this panel as PNG…", lambda: self.panel_png(panel))
        menu.addAction("Export this panel as SVG…", lambda: self.panel_svg(panel))
        menu.addAction("Copy this panel to the clipboard", lambda: self.copy_panel(panel))
        return menu

    # -- every stage ---------------------------------------------------------------------------
    def all_stages(self, folder: str | None = None) -> bool:
        """Ask for the options and a folder, then write one numbered PNG per stage (and per head,
        if chosen) with a progress bar and Cancel."""
        if folder is None:
            if not self._ask_options("all"):
                return False
            folder = QFileDialog.getExistingDirectory(self._window, "Export every stage as PNG into…", self._folder)
            if not folder:
                return False
        n = len(export_jobs(self._state, self._options.heads))
        progress = QProgressDialog("Exporting stages…", "Cancel", 0, n, self._window)
        progress.setObjectName("exportProgress")
        progress.setWindowTitle("Export all stages")
        progress.setWindowModality(Qt.WindowModality.WindowModal)
        progress.setMinimumDuration(0)
        progress.setAutoClose(False)
        try:
            self.last_written = export_all_stages(self._state, self._canvas, folder, progress, self._options)
        except ExportError as exc:
            self._fail(str(exc))
            return False
        finally:
            progress.close()
            progress.deleteLater()
        self._folder = str(folder)
        done = len(self.last_written)
        note = "" if done == n else f" (cancelled after {done} of {n})"
        self._state.message.emit(f"Wrote {done} stage pictures to {folder}{note}{self._told_damaged()}")
        return done == n

    # -- internals -----------------------------------------------------------------------------
    def _save(self, widget: QWidget, suffix: str, path: str | None, suggested: str, options: ExportOptions | None = None) -> bool:
        if path is None:
            chosen, _ = QFileDialog.getSaveFileName(
                self._window, "Export picture", str(Path(self._folder) / suggested), PNG_FILTER if suffix == ".png" else SVG_FILTER
            )
            if not chosen:
                return False
            path = chosen
        try:
            if options is None:
                written = (export_png if suffix == ".png" else export_svg)(widget, path)
            elif suffix == ".png":
                written = export_png(widget, path, options, caption_text(self._state, head=self._shown_head()))
            else:
                written = export_svg(widget, path, "", options, caption_text(self._state, head=self._shown_head()))
        except ExportError as exc:
            self._fail(str(exc))
            return False
        self._folder = str(written.parent)
        self.last_written = [written]
        self._state.message.emit(f"Wrote {written}{self._told_damaged()}")
        return True

    def _told_damaged(self) -> str:
        """The note on unreadable saved export options, once."""
        note, self._damaged_note = self._damaged_note, ""
        return note

    def _shown_head(self) -> int | None:
        return self._state.head if shows_one_head(self._state, self._state.stage_id) else None

    def _fail(self, text: str) -> None:
        self._state.message.emit(text)
        QMessageBox.warning(self._window, "Export failed", text)


def _panel_file_name(panel: HeatmapPanel, suffix: str) -> str:
    title = panel.matrix.source if panel.matrix is not None and panel.matrix.source else panel.objectName()
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in title) + suffix

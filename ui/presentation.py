"""Canvas zoom and presentation mode: what a class must read, scaled together and put back exactly.

Zoom (Ctrl+= / Ctrl+- / Ctrl+0) scales the canvas: cells, numbers, axis labels, titles and colour
bars, all from one point size. Presentation mode (F5, Esc) goes full screen, hides the side docks
and the menu bar, and enlarges the canvas, the explanation, the sentence box, the toolbar and the
status-bar readout. Everything it changes is recorded on entry and restored on leaving, so any
number of round trips leaves fonts, docks and the window as they were.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QDockWidget, QMainWindow, QToolBar, QWidget

from ui.panels.explanation import ExplanationPanel
from ui.panels.stage_canvas import StageCanvas
from ui.state import AppState

#: the canvas's point size at zoom 100 %
CANVAS_POINT_SIZE = 10
#: the zoom levels Ctrl+= and Ctrl+- step through
ZOOM_STEPS = (0.6, 0.75, 0.9, 1.0, 1.15, 1.3, 1.5, 1.75, 2.0, 2.5)
#: presentation mode enlarges the canvas by this much on top of the zoom (labels take width
#: from the cells, so the canvas grows less than the text)
PRESENTATION_CANVAS_SCALE = 1.4
#: ... and the text around it by this much
PRESENTATION_TEXT_SCALE = 1.6
#: the explanation takes about this share of the screen's width in presentation mode
PRESENTATION_EXPLANATION_SHARE = 0.25
#: ... and the next-token chart this share of the window at the probabilities
PRESENTATION_CHART_SHARE = 0.4


@dataclass(frozen=True)
class _Saved:
    """What presentation mode changes, as it was on entry."""

    state: bytes
    maximized: bool
    explanation_size: int
    fonts: tuple[tuple[QWidget, QFont], ...]
    icon_size: QSize


class Presentation(QObject):
    """Zoom and presentation mode for one main window.

    ``changed`` is emitted after either changes (the window updates its actions from
    :attr:`active` and :attr:`zoom`)."""

    changed = Signal()

    def __init__(
        self,
        window: QMainWindow,
        canvas: StageCanvas,
        explanation: ExplanationPanel,
        text_widgets: Sequence[QWidget],
        toolbar: QToolBar,
        side_docks: Sequence[QDockWidget],
        explanation_dock: QDockWidget,
        state: AppState,
        chart_dock: QDockWidget,
    ) -> None:
        super().__init__(window)
        self._state = state
        self._chart_dock = chart_dock
        self._window = window
        self._canvas = canvas
        self._explanation = explanation
        self._text_widgets = tuple(text_widgets)
        self._toolbar = toolbar
        self._side_docks = tuple(side_docks)
        self._explanation_dock = explanation_dock
        self._zoom = 1.0
        self._saved: _Saved | None = None
        state.stage_changed.connect(self._follow_stage)
        state.model_changed.connect(self._follow_stage)

    # -- zoom ----------------------------------------------------------------------------------------
    @property
    def zoom(self) -> float:
        return self._zoom

    def set_zoom(self, zoom: float) -> None:
        """Scale the canvas (1.0 = 100 %); limited to the range of :data:`ZOOM_STEPS`."""
        zoom = min(max(float(zoom), ZOOM_STEPS[0]), ZOOM_STEPS[-1])
        if zoom != self._zoom:
            self._zoom = zoom
            self._apply_canvas()
            self.changed.emit()

    def zoom_in(self) -> None:
        self.set_zoom(next((z for z in ZOOM_STEPS if z > self._zoom + 1e-9), ZOOM_STEPS[-1]))

    def zoom_out(self) -> None:
        self.set_zoom(next((z for z in reversed(ZOOM_STEPS) if z < self._zoom - 1e-9), ZOOM_STEPS[0]))

    def reset_zoom(self) -> None:
        self.set_zoom(1.0)

    def canvas_point_size(self) -> int:
        scale = self._zoom * (PRESENTATION_CANVAS_SCALE if self.active else 1.0)
        return max(6, round(CANVAS_POINT_SIZE * scale))

    def _apply_canvas(self) -> None:
        self._canvas.set_font_point_size(self.canvas_point_size())

    # -- presentation mode -----------------------------------------------------------------------------
    @property
    def active(self) -> bool:
        return self._saved is not None

    def set_active(self, on: bool) -> None:
        if on and self._saved is None:
            self._enter()
        elif not on and self._saved is not None:
            self._leave()
        else:
            return
        self.changed.emit()

    def _enter(self) -> None:
        w = self._window
        widgets = (*self._text_widgets, self._toolbar)
        self._saved = _Saved(
            state=bytes(w.saveState().data()),
            maximized=w.isMaximized(),
            explanation_size=self._explanation.point_size,
            fonts=tuple((widget, QFont(widget.font())) for widget in widgets),
            icon_size=QSize(self._toolbar.iconSize()),
        )
        for dock in self._side_docks:
            dock.hide()  # (all back as they were on leaving)
        w.menuBar().hide()
        w.showFullScreen()
        for widget, font in self._saved.fonts:
            larger = QFont(font)
            larger.setPointSizeF(font.pointSizeF() * PRESENTATION_TEXT_SCALE)
            widget.setFont(larger)
        icon = self._saved.icon_size
        self._toolbar.setIconSize(QSize(round(icon.width() * PRESENTATION_TEXT_SCALE), round(icon.height() * PRESENTATION_TEXT_SCALE)))
        self._explanation.set_font_point_size(round(self._saved.explanation_size * PRESENTATION_TEXT_SCALE))
        self._apply_canvas()
        # the canvas is what the room looks at: the explanation takes about a quarter of the width
        width = int(w.screen().availableGeometry().width() * PRESENTATION_EXPLANATION_SHARE)
        w.resizeDocks([self._explanation_dock], [width], Qt.Orientation.Horizontal)
        self._follow_stage()

    def _follow_stage(self, *_: object) -> None:
        """At the next-token probabilities the room reads the bar chart: it is shown large next
        to the canvas in presentation mode, and goes away again at the other stages."""
        if self._saved is None:
            return
        state = self._state
        at_probs = state.model.graph[state.stage_id].kind == "probs" and self._chart_dock.toggleViewAction().isEnabled()
        if at_probs and not self._chart_dock.isVisible():
            self._chart_dock.show()
            self._chart_dock.raise_()
            width = int(self._window.width() * PRESENTATION_CHART_SHARE)
            self._window.resizeDocks([self._chart_dock], [width], Qt.Orientation.Horizontal)
        elif not at_probs and self._chart_dock.isVisible():
            self._chart_dock.hide()

    def _leave(self) -> None:
        saved, self._saved = self._saved, None
        assert saved is not None
        w = self._window
        for widget, font in saved.fonts:
            widget.setFont(font)
        self._toolbar.setIconSize(saved.icon_size)
        self._explanation.set_font_point_size(saved.explanation_size)
        self._apply_canvas()
        w.menuBar().show()
        w.showMaximized() if saved.maximized else w.showNormal()
        w.restoreState(saved.state)
        # the window manager may apply the normal size only after this event: the dock sizes
        # are restored again once it has, so they never shrink from one round trip to the next
        QTimer.singleShot(0, lambda: self._restore_layout(saved))

    def _restore_layout(self, saved: _Saved) -> None:
        if self._saved is None:
            self._window.restoreState(saved.state)
            self.changed.emit()

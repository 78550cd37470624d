"""Shared helpers for the GUI benchmarks: an offscreen window, and "until repainted" measured honestly.

What "repainted" means here
---------------------------
Qt does not paint when a value changes: a change marks widgets dirty and *posts* events (layout
requests, queued scene updates of the pyqtgraph views, an ``UpdateRequest`` to the window); the
window is painted when the event loop delivers them, and work done while delivering them may
post more (a layout that resizes a view posts a scene update, which posts another paint). So a
sample is timed from the user action (a triggered action, a key press, a drag step) until the
event loop is idle again: :meth:`Repaint.drain` calls ``QApplication.processEvents()`` until
one whole pass delivers no event at all (an application-wide event filter counts them). Every
paint the change caused has then been done, into the window's backing store (the offscreen
platform paints into an image exactly as a real screen would, without the final blit to the
display). :class:`PaintProbe` also checks that every heatmap whose matrix changed did receive a
paint event in each sample (``every_sample_painted``), so a sample that changed nothing on
screen would be reported. (Panels whose matrix did not change, such as the input of a weight
being scrubbed, are rightly not repainted.)

The counting filter makes each delivered event slightly slower (a Python call per event), so
the figures are a little pessimistic, never optimistic. ``cpu_median_ms`` is the main thread's
CPU time for the same span: on a busy machine it shows the work done, without the time spent
waiting for a core.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

WINDOW_SIZE = (1400, 900)
TARGET_MS = 16.0


def qt_app():  # noqa: ANN201 (Qt types are imported lazily)
    from PySide6.QtWidgets import QApplication

    return QApplication.instance() or QApplication([sys.argv[0]])


def toy_window(folder: Path, stage: str | None = None, text: str | None = "a fluffy blue creature"):  # noqa: ANN201
    """The main window on the toy preset with private settings, shown at :data:`WINDOW_SIZE` and idle."""
    from PySide6.QtCore import QSettings

    from ui.app import LaunchOptions, build_window

    app = qt_app()
    options = LaunchOptions(
        preset="toy", model=None, text=text, stage=stage, layer=None, head=None, screenshot=None, size=WINDOW_SIZE,
    )
    settings = QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat)
    window = build_window(options, settings, recovery_dir=folder / "recovery")
    window.resize(*WINDOW_SIZE)
    window.show()
    window.activateWindow()
    for _ in range(5):
        app.processEvents()
    return window


def close_window(window) -> None:  # noqa: ANN001
    window.state.undo_stack.setClean()
    window.close()
    qt_app().processEvents()


class _Counter:
    """An application-wide event filter that counts delivered events (made lazily: needs Qt)."""

    def __new__(cls):  # noqa: ANN204
        from PySide6.QtCore import QObject

        class Counter(QObject):
            def __init__(self) -> None:
                super().__init__()
                self.events = 0

            def eventFilter(self, obj, event) -> bool:  # noqa: N802, ANN001 (Qt's name)
                self.events += 1
                return False

        return Counter()


class PaintProbe:
    """Counts paint events received by chosen widgets (install on a heatmap's viewport, etc.)."""

    def __init__(self) -> None:
        from PySide6.QtCore import QEvent, QObject

        paint = QEvent.Type.Paint
        counts: dict[int, int] = {}

        class Filter(QObject):
            def eventFilter(self, obj, event) -> bool:  # noqa: N802, ANN001
                if event.type() == paint:
                    counts[id(obj)] = counts.get(id(obj), 0) + 1
                return False

        self._filter = Filter()
        self._counts = counts
        self._watched: dict[int, Any] = {}

    def watch(self, widgets: Iterable[Any]) -> None:
        for widget in widgets:
            if id(widget) not in self._watched:
                widget.installEventFilter(self._filter)
                self._watched[id(widget)] = widget

    def reset(self) -> None:
        self._counts.clear()

    def painted(self, widget: Any) -> bool:
        return self._counts.get(id(widget), 0) > 0


class Repaint:
    """Times actions up to the repainted window (see the module docstring)."""

    def __init__(self) -> None:
        self.app = qt_app()
        self.counter = _Counter()
        self.probe = PaintProbe()
        self.app.installEventFilter(self.counter)

    def close(self) -> None:
        self.app.removeEventFilter(self.counter)

    def drain(self, limit: int = 200) -> int:
        """processEvents() until a whole pass delivers no event; returns the passes made."""
        for passes in range(1, limit + 1):
            before = self.counter.events
            self.app.processEvents()
            if self.counter.events == before:
                return passes
        return limit

    def sample(self, action: Callable[[], Any], expect_painted: Callable[[Any], Iterable[Any]], before: Callable[[], Any] = lambda: None) -> dict[str, float]:
        """One timed action: ``update`` ms (the action's own call: every view refreshed), ``total``
        ms (until idle), the passes and events it took, and whether every expected widget painted.

        ``expect_painted(before())`` names the widgets that must have painted (``before`` runs
        just before the action, so the two can compare what changed)."""
        self.drain()
        self.probe.reset()
        snapshot = before()
        events = self.counter.events
        cpu = time.thread_time()
        start = time.perf_counter()
        action()
        updated = time.perf_counter()
        passes = self.drain()
        end = time.perf_counter()
        cpu = time.thread_time() - cpu
        widgets = list(expect_painted(snapshot))
        self.probe.watch(widgets)  # (new widgets get watched from the next sample on)
        return {
            "total": (end - start) * 1e3,
            "update": (updated - start) * 1e3,
            "cpu": cpu * 1e3,
            "passes": passes,
            "events": self.counter.events - events,
            "painted": all(self.probe.painted(w) for w in widgets),
        }


def summary(samples: list[dict[str, float]], target_ms: float = TARGET_MS) -> dict[str, Any]:
    """Median, p90 and max of the totals; median of the update and paint parts; paint check."""
    totals = sorted(s["total"] for s in samples)
    median = statistics.median(totals)
    return {
        "samples": len(samples),
        "median_ms": round(median, 2),
        "p90_ms": round(totals[int(0.9 * (len(totals) - 1))], 2),
        "max_ms": round(totals[-1], 2),
        "update_median_ms": round(statistics.median(s["update"] for s in samples), 2),
        "paint_median_ms": round(statistics.median(s["total"] - s["update"] for s in samples), 2),
        "cpu_median_ms": round(statistics.median(s["cpu"] for s in samples), 2),
        "event_loop_passes_median": statistics.median(s["passes"] for s in samples),
        "events_median": statistics.median(s["events"] for s in samples),
        "every_sample_painted": all(s["painted"] for s in samples),
        "target_ms": target_ms,
        "within_target": median < target_ms,
    }


def canvas_matrices(window) -> list[Any]:  # noqa: ANN001
    """What each heatmap of the stage canvas shows (call before an action)."""
    return [panel.matrix for panel in window.canvas.panels]


def changed_canvas_viewports(window, before: list[Any]) -> list[Any]:  # noqa: ANN001
    """The viewports of the canvas heatmaps whose matrix differs from ``before`` (must repaint)."""
    return [
        panel.viewport() for i, panel in enumerate(window.canvas.panels)
        if i >= len(before) or before[i] is None or panel.matrix is None or not _looks_same(before[i], panel.matrix)
    ]


def _looks_same(a: Any, b: Any) -> bool:
    """Same values, labels, scale and title (what a heatmap draws)."""
    import numpy as np

    fields = ("row_labels", "col_labels", "title", "note", "levels", "kind")
    if any(getattr(a, f) != getattr(b, f) for f in fields):
        return False
    x, y = np.asarray(a.data), np.asarray(b.data)
    return x.shape == y.shape and bool(np.array_equal(x, y, equal_nan=x.dtype.kind == "f"))

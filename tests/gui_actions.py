"""What a user does with the mouse on heatmaps, and closing a window, as helpers shared by
the GUI tests."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from ui.panels.heatmap import HeatmapPanel

MOVE_INTERVAL_MS = 15


def panel_for(window, source: str) -> HeatmapPanel:
    """The canvas panel showing ``source`` (a stage id or a parameter name)."""
    found = [p for p in window.canvas.panels if p.matrix is not None and p.matrix.source == source]
    assert found, f"no panel shows {source}; panels: {[p.matrix.source for p in window.canvas.panels]}"
    return found[0]


def cell_point(panel: HeatmapPanel, row: int, col: int) -> QPoint:
    pos = panel.cell_center_in_widget(row, col)
    point = QPoint(int(round(pos.x())), int(round(pos.y())))
    assert panel.viewport().rect().contains(point), f"cell ({row}, {col}) is outside the panel at {point}"
    return point


def click_cell(panel: HeatmapPanel, row: int, col: int) -> None:
    QTest.qWait(MOVE_INTERVAL_MS)
    QTest.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, cell_point(panel, row, col))


def drag_cell(panel: HeatmapPanel, row: int, col: int, offsets: list[int], check=None) -> None:
    """Press on a cell, move the mouse up by each offset in turn (calling ``check`` after each),
    and release at the last one: a real scrub gesture on the pyqtgraph viewport."""
    QTest.qWait(MOVE_INTERVAL_MS)  # let pyqtgraph finish any pending relayout first
    start = cell_point(panel, row, col)
    viewport = panel.viewport()
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for dy in offsets:
        QTest.qWait(MOVE_INTERVAL_MS)  # pyqtgraph drops moves closer than 10 ms (mouseRateLimit)
        QTest.mouseMove(viewport, start - QPoint(0, dy))
        if check is not None:
            check(dy)
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start - QPoint(0, offsets[-1]))


def undo_text(window) -> str:
    return window.actions["undo"].text().replace("&", "")


def params_copy(model) -> dict[str, np.ndarray]:
    return {name: np.array(value, copy=True) for name, value in model.params.items()}


def assert_params_bit_equal(model, expected: dict[str, np.ndarray]) -> None:
    assert set(model.params) == set(expected)
    for name, value in expected.items():
        current = model.params[name]
        assert current.dtype == value.dtype and current.shape == value.shape, name
        assert current.tobytes() == value.tobytes(), f"{name} differs"


def all_stages(trace) -> dict[str, np.ndarray]:
    return {sid: np.array(trace[sid], copy=True) for sid in trace.stage_ids()}


def assert_stages_equal(trace, expected: dict[str, np.ndarray]) -> None:
    for sid, value in expected.items():
        np.testing.assert_array_equal(trace[sid], value, err_msg=sid)


def close_checked(window) -> None:  # noqa: ANN001 (a MainWindow)
    """Close a test's main window without the unsaved-work question, and check that its timers
    stopped with it."""
    window.state.undo_stack.setClean()
    window.close()
    assert not window.play_timer.isActive(), "the play timer kept running after close"
    assert window.recovery is None or not window.recovery.timer.isActive(), "the autosave timer kept running"

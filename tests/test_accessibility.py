"""For every learner: a keyboard cell cursor, accessible names, and matrices as tables."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractButton, QApplication, QWidget

from tests.gui_actions import panel_for
from ui.panels.heatmap import HeatmapPanel


def _key(key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(QApplication.focusWidget(), key, modifiers)
    QApplication.processEvents()


def _tab_to(window, target: QWidget, limit: int = 80) -> None:  # noqa: ANN001
    for _ in range(limit):
        if QApplication.focusWidget() is target:
            return
        _key(Qt.Key.Key_Tab)
    raise AssertionError(f"Tab never reached {target.objectName()}; stopped at {QApplication.focusWidget()}")


def test_tab_moves_into_a_panel_where_arrows_move_a_cell_cursor_and_esc_leaves(make_main_window) -> None:
    window = make_main_window("fluffy", text="a fluffy blue creature", stage="blocks.0.attn.pattern")
    state = window.state
    window.canvas.setFocus()
    result = window.canvas.result_panel
    _tab_to(window, result)
    assert state.hover is not None and state.hover.index[-2:] == (0, 0)
    _key(Qt.Key.Key_Down)
    _key(Qt.Key.Key_Down)
    _key(Qt.Key.Key_Down)
    _key(Qt.Key.Key_Right)
    assert state.stage_id == "blocks.0.attn.pattern", "the arrows moved the cursor, not the stage"
    assert state.hover.index[-2:] == (3, 1)
    assert "creature" in window.readout.text() and "fluffy" in window.readout.text()
    assert "creature" in result.accessibleDescription()
    _key(Qt.Key.Key_Escape)
    assert QApplication.focusWidget() is window.canvas
    _key(Qt.Key.Key_Right)
    assert state.stage_id != "blocks.0.attn.pattern", "outside panels the arrows step again"


def test_enter_on_a_weight_cell_opens_its_editor(make_main_window) -> None:
    window = make_main_window("fluffy", stage="blocks.0.attn.q")
    w_q = panel_for(window, "blocks.0.attn.W_Q")
    window.canvas.setFocus()
    _tab_to(window, w_q)
    _key(Qt.Key.Key_Down)
    _key(Qt.Key.Key_Return)
    editor = window.weight_editor.active_editor
    assert editor is not None and QApplication.focusWidget() is editor
    editor.setText("0.5")
    _key(Qt.Key.Key_Return)
    assert float(window.state.model.params["blocks.0.attn.W_Q"][0, 1, 0]) == 0.5


def test_show_as_table_lists_the_matrix_with_headers_and_copies_it(make_main_window) -> None:
    window = make_main_window("fluffy", text="a fluffy blue creature", stage="blocks.0.attn.pattern")
    dialog = window.show_table()
    table = dialog.table
    matrix = window.canvas.result_panel.matrix
    assert (table.rowCount(), table.columnCount()) == matrix.data.shape
    assert [table.verticalHeaderItem(r).text() for r in range(table.rowCount())] == list(matrix.row_labels)
    assert float(table.item(3, 2).text()) == pytest.approx(float(matrix.data[3, 2]), rel=1e-6)
    lines = dialog.copy_text(everything=True).splitlines()
    assert lines[0].split("\t")[1:] == list(matrix.col_labels)
    assert lines[4].split("\t")[0] == "creature" and len(lines) == 5
    dialog.close()


def test_tab_walks_the_window_and_every_focusable_widget_has_a_name(make_main_window) -> None:
    window = make_main_window("fluffy", stage="blocks.0.attn.pattern")
    window.canvas.setFocus()
    seen: list[QWidget] = []
    for _ in range(120):
        widget = QApplication.focusWidget()
        if widget in seen:
            break
        seen.append(widget)
        _key(Qt.Key.Key_Tab)
    assert window.canvas in seen and any(isinstance(w, HeatmapPanel) for w in seen)
    assert window.navigator in seen and window.sentence_box.edit in seen
    unnamed = [
        f"{type(w).__name__}:{w.objectName()}"
        for w in seen
        if not (w.accessibleName() or (isinstance(w, QAbstractButton) and w.text()))
    ]
    assert not unnamed, f"focusable widgets without an accessible name: {unnamed}"

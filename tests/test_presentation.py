"""Presentation mode and canvas zoom: everything a class reads grows, and comes back exactly."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from ui.presentation import CANVAS_POINT_SIZE, ZOOM_STEPS


def _sizes(window) -> dict[str, object]:  # noqa: ANN001
    return {
        "explanation": window.explanation.point_size,
        "sentence": window.sentence_box.font().pointSizeF(),
        "readout": window.readout.font().pointSizeF(),
        "toolbar": window.toolbar.font().pointSizeF(),
        "icons": window.toolbar.iconSize(),
        "canvas": window.canvas.point_size,
        "panels": [p.point_size for p in window.canvas.panels],
        "explanation_dock": window.explanation_dock.width(),
        "window": window.size(),
        "docks": [d.isVisible() for d in window._side_docks()],
    }


def test_two_presentation_round_trips_leave_every_size_as_it_was(make_main_window, qtbot) -> None:
    """Leaving used to set the explanation two points larger than it started (11 → 12)."""
    window = make_main_window()
    qtbot.wait(20)
    before = _sizes(window)
    for _ in range(2):
        window.actions["presentation"].trigger()
        qtbot.wait(20)
        inside = _sizes(window)
        for name in ("explanation", "sentence", "readout", "toolbar", "canvas"):
            assert inside[name] > before[name], name
        assert inside["icons"].width() > before["icons"].width()
        assert all(size > before["canvas"] for size in inside["panels"])
        window.actions["leave_presentation"].trigger()
        qtbot.wait(20)
        assert _sizes(window) == before


def test_zoom_keys_scale_the_canvas_and_actual_size_resets_it(make_main_window, qtbot) -> None:
    window = make_main_window()
    window.canvas.setFocus()
    start = window.canvas.point_size
    assert start == CANVAS_POINT_SIZE
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Equal, Qt.KeyboardModifier.ControlModifier)
    assert window.presentation.zoom == ZOOM_STEPS[ZOOM_STEPS.index(1.0) + 2]
    assert window.canvas.point_size > start
    assert all(p.point_size == window.canvas.point_size for p in window.canvas.panels)
    assert "130 %" in window.actions["zoom_reset"].text()
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Minus, Qt.KeyboardModifier.ControlModifier)
    assert window.presentation.zoom == ZOOM_STEPS[ZOOM_STEPS.index(1.0) + 1]
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_0, Qt.KeyboardModifier.ControlModifier)
    assert window.presentation.zoom == 1.0 and window.canvas.point_size == start
    for _ in range(len(ZOOM_STEPS) + 2):
        window.actions["zoom_out"].trigger()
    assert window.presentation.zoom == ZOOM_STEPS[0]
    assert not window.state.undo_stack.count()  # zooming is not an edit


def test_zoom_carries_into_presentation_mode_and_back(make_main_window, qtbot) -> None:
    window = make_main_window()
    window.actions["zoom_in"].trigger()
    zoomed = window.canvas.point_size
    window.actions["presentation"].trigger()
    assert window.canvas.point_size > zoomed
    window.actions["leave_presentation"].trigger()
    assert window.canvas.point_size == zoomed


def test_reset_layout_puts_the_docks_back(make_main_window, qtbot) -> None:
    window = make_main_window()
    window.navigator_dock.hide()
    window.history_dock.show()
    window.explanation_dock.setFloating(True)
    window.actions["reset_layout"].trigger()
    assert window.navigator_dock.isVisible()
    assert not window.history_dock.isVisible()
    assert not window.explanation_dock.isFloating()
    assert "Layout reset" in window.statusBar().currentMessage()


def test_parameters_browser_and_table_editor_close_with_their_own_shortcuts(make_main_window, qtbot) -> None:
    window = make_main_window(stage="blocks.0.attn.q")
    for dock, key, modifiers in (
        (window.params_dock, Qt.Key.Key_P, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier),
        (window.table_dock, Qt.Key.Key_T, Qt.KeyboardModifier.ControlModifier),
    ):
        window.canvas.setFocus()
        QTest.keyClick(QApplication.focusWidget(), key, modifiers)
        qtbot.waitUntil(dock.isVisible, timeout=2000)
        QTest.keyClick(QApplication.focusWidget(), key, modifiers)
        assert not dock.isVisible()
        assert QApplication.focusWidget() is window.canvas  # the stepping keys step again


def test_equation_rows_wrap_only_when_one_row_is_too_narrow() -> None:
    from ui.panels.stage_canvas import equation_rows

    wanted, least = [300, 20, 300, 20, 300], [100, 20, 100, 20, 100]
    assert equation_rows(wanted, least, [1, 3], 1000, 4) == (0,)
    assert equation_rows(wanted, least, [1, 3], 700, 4) in ((0, 1), (0, 3))
    assert equation_rows(wanted, least, [3], 700, 4) == (0, 3)  # only before an operator
    assert equation_rows(wanted, least, [], 700, 4) == (0,)  # nowhere to break: one row


def test_fluffy_never_scrolls_sideways_at_1280_by_800(make_main_window, qtbot) -> None:
    """The 4-operand stages (Q = X·W_Q + b_Q, the MLP's output) were squeezed into slivers
    and scrolled sideways on a common projector size: they wrap onto two rows instead."""
    window = make_main_window("fluffy")
    window.resize(1280, 800)
    qtbot.wait(20)
    wrapped = []
    for sid in window.state.model.stage_ids():
        window.state.set_stage(sid)
        QApplication.processEvents()
        bar = window.canvas.findChild(type(window.canvas._scroll)).horizontalScrollBar()
        assert bar.maximum() == 0, f"{sid} scrolls sideways by {bar.maximum()} px"
        if window.canvas.row_count > 1:
            wrapped.append(sid)
    assert "blocks.0.attn.q" in wrapped and "blocks.0.mlp_out" in wrapped
    assert "blocks.0.attn.pattern" not in wrapped  # a short equation stays on one row


def test_double_click_on_a_title_shows_that_operand_alone_and_again_the_equation(make_main_window, qtbot) -> None:
    from PySide6.QtCore import QPoint

    window = make_main_window("fluffy", stage="blocks.0.attn.q")
    qtbot.wait(20)
    canvas = window.canvas
    w_q = next(p for p in canvas.panels if p.matrix.source == "blocks.0.attn.W_Q")
    title_point = QPoint(w_q.width() // 2, 8)
    assert w_q.in_title(8)
    QTest.mouseDClick(w_q.viewport(), Qt.MouseButton.LeftButton, pos=title_point)
    QApplication.processEvents()
    assert canvas.solo is not None
    assert [p for p in canvas.panels if p.isVisible()] == [w_q]
    assert "alone" in window.statusBar().currentMessage()
    QTest.mouseDClick(w_q.viewport(), Qt.MouseButton.LeftButton, pos=title_point)
    QApplication.processEvents()
    assert canvas.solo is None and all(p.isVisible() for p in canvas.panels)
    canvas.toggle_solo(0)
    window.actions["next"].trigger()
    assert canvas.solo is None and all(p.isVisible() for p in canvas.panels)


def test_hovering_a_title_shows_it_whole_in_the_status_bar(make_main_window, qtbot) -> None:
    window = make_main_window("fluffy", stage="blocks.0.attn.q")
    qtbot.wait(20)
    panel = window.canvas.panels[1]
    QTest.mouseMove(panel.viewport(), QPoint(panel.width() // 2, panel.height() - 10))
    QTest.mouseMove(panel.viewport(), QPoint(10, 8))
    QApplication.processEvents()
    message = window.statusBar().currentMessage()
    assert message == panel.full_title() and panel.matrix.title in message


def test_presentation_shows_the_next_token_chart_large_at_the_probabilities(make_main_window, qtbot) -> None:
    window = make_main_window("fluffy", stage="logits")
    window.actions["presentation"].trigger()
    assert not window.next_token_dock.isVisible()
    window.actions["next"].trigger()
    assert window.state.stage_id == "probs"
    assert window.next_token_dock.isVisible()
    window.actions["back"].trigger()
    assert not window.next_token_dock.isVisible()
    window.actions["next"].trigger()
    window.actions["leave_presentation"].trigger()
    assert window.navigator_dock.isVisible() and not window.in_presentation


def test_panels_sharing_an_axis_name_the_dimensions_that_carry_values_on_both(qtbot) -> None:
    """X's columns and W_Q's rows are both d_model: each panel used to rank the names by its
    own values, so the two named different dimensions."""
    import numpy as np

    from ui.panels.heatmap import HeatmapPanel, Matrix
    from ui.panels.stage_canvas import share_label_choices

    names = tuple(f"d{i}" for i in range(10))
    x_data = np.zeros((2, 10))
    x_data[0, 0], x_data[1, 5] = 9.0, 1.0
    w_data = np.zeros((10, 3))
    w_data[5, 0], w_data[9, 1] = 1.0, 3.0
    x, w = HeatmapPanel("x"), HeatmapPanel("w")
    qtbot.addWidget(x)
    qtbot.addWidget(w)
    x.set_matrix(Matrix(x_data, ("a", "b"), names, "token", "d_model", "X", (-9.0, 9.0)))
    w.set_matrix(Matrix(w_data, names, ("0", "1", "2"), "d_model", "d_head", "W", (-3.0, 3.0)))
    assert int(np.argmax(x.label_importance(1))) == 0 and int(np.argmax(w.label_importance(0))) == 9
    share_label_choices([x, w])
    np.testing.assert_array_equal(x.label_importance(1), w.label_importance(0))
    assert int(np.argmax(w.label_importance(0))) == 5  # the dimension that carries values on both


def test_opening_the_parameters_and_the_table_keeps_the_result_on_screen(make_main_window, qtbot) -> None:
    window = make_main_window("fluffy", stage="blocks.0.attn.q")
    window.resize(1280, 800)
    qtbot.wait(20)
    window.actions["params"].trigger()
    window.actions["table"].trigger()
    qtbot.wait(20)
    QApplication.processEvents()
    canvas, result = window.canvas, window.canvas.result_panel
    assert canvas.findChild(type(canvas._scroll)).horizontalScrollBar().maximum() == 0
    top_left, bottom_right = result.mapTo(window, result.rect().topLeft()), result.mapTo(window, result.rect().bottomRight())
    assert window.rect().contains(top_left) and window.rect().contains(bottom_right)
    assert result.height() >= 60 and result.width() >= 120


def test_at_1600_by_1000_the_small_matrices_of_fluffy_show_their_numbers(make_main_window, qtbot) -> None:
    """The issue's examples: the 4×29 embedding, the 29×8 W_Q and the 4×6 MLP matrices."""
    from ui.panels.heatmap import format_compact

    window = make_main_window("fluffy", text="a fluffy blue creature")
    window.resize(1600, 1000)
    qtbot.wait(20)
    for stage, source in (("embed", "embed"), ("blocks.0.attn.q", "blocks.0.attn.W_Q"),
                          ("blocks.0.mlp.post", "blocks.0.mlp.post"), ("blocks.0.mlp.post", "blocks.0.mlp.pre")):
        window.state.set_stage(stage)
        QApplication.processEvents()
        panel = next(p for p in window.canvas.panels if p.matrix.source == source)
        assert panel.numbers_shown(), f"{source} at {stage} shows no numbers"
    assert format_compact(-84.85) == "−85" and format_compact(2.83) == "2.8" and format_compact(0.4123) == "0.41"

"""Editing weights like a user: typing into cells, scrubbing with the mouse, the table editor,
bulk operations, undo/redo and the change view."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QLineEdit

from tests.gui_actions import (
    all_stages,
    assert_params_bit_equal,
    assert_stages_equal,
    click_cell,
    drag_cell,
    panel_for,
    params_copy,
    undo_text,
)
from simulator.errors import ParamError
from ui.bulk_ops import IDENTITY, RANDOMISE, RESET, SCALE, ZERO, Scope, bulk_command

W_Q = "blocks.0.attn.W_Q"
Q_STAGE = "blocks.0.attn.q"


def open_editor(window, row: int = 2, col: int = 3):
    panel = panel_for(window, W_Q)
    click_cell(panel, row, col)
    editor = window.weight_editor.active_editor
    assert editor is not None and editor.isVisible(), "clicking a weight cell opens an editor"
    return editor


def test_typing_a_value_into_a_weight_cell(make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    state = window.state
    before = params_copy(state.model)
    editor = open_editor(window)
    assert float(editor.text()) == pytest.approx(float(before[W_Q][0, 2, 3]))
    editor.selectAll()
    QTest.keyClicks(editor, "0.75")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert window.weight_editor.active_editor is None
    assert state.model.params[W_Q][0, 2, 3] == np.float32(0.75)
    # only that entry changed
    changed = state.model.params[W_Q] != before[W_Q]
    assert changed.sum() == 1 and changed[0, 2, 3]
    # the result downstream is the engine's new Q
    np.testing.assert_array_equal(window.canvas.result_panel.matrix.data, state.trace[Q_STAGE][0])
    assert undo_text(window) == "Undo edit blocks.0.attn.W_Q[h0][2,3]"
    window.actions["undo"].trigger()
    assert_params_bit_equal(state.model, before)
    window.actions["redo"].trigger()
    assert state.model.params[W_Q][0, 2, 3] == np.float32(0.75)


def test_clicking_a_computed_matrix_explains_instead_of_editing(make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    click_cell(window.canvas.result_panel, 1, 1)
    assert window.weight_editor.active_editor is None
    assert "computed from the weights" in window.statusBar().currentMessage()


@pytest.mark.parametrize(
    ("typed", "reason"),
    [("abc", "not a number"), ("nan", "NaN"), ("inf", "infinity"), ("-inf", "infinity"), ("1e309", "too large"),
     ("1e39", "too large"), ("", "empty"), ("   ", "empty")],
)
def test_bad_values_are_refused_with_a_message_and_change_nothing(make_main_window, typed: str, reason: str) -> None:
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    state = window.state
    before = params_copy(state.model)
    version = state.model.param_version(W_Q)
    trace = state.trace
    editor = open_editor(window)
    editor.selectAll()
    QTest.keyClick(editor, Qt.Key.Key_Delete)
    QTest.keyClicks(editor, typed)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert window.weight_editor.active_editor is editor, "the editor stays open to fix the value"
    assert editor.error_label.isVisible() and reason in editor.error_label.text()
    assert reason in window.statusBar().currentMessage()
    assert_params_bit_equal(state.model, before)
    assert state.model.param_version(W_Q) == version and state.trace is trace
    assert state.undo_stack.count() == 0
    QTest.keyClick(editor, Qt.Key.Key_Escape)
    assert window.weight_editor.active_editor is None and not window.in_presentation


def test_a_decimal_comma_and_a_typographic_minus_are_understood(make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    editor = open_editor(window, 0, 0)
    editor.setText("−0,5")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert window.state.model.params[W_Q][0, 0, 0] == np.float32(-0.5)


@pytest.mark.parametrize(("typed", "value"), [("1,000", 1000.0), ("1,000.5", 1000.5), ("−12,345", -12345.0), ("0,500", 0.5)])
def test_thousands_separators_are_read_as_thousands(make_main_window, typed: str, value: float) -> None:
    """issue 12: "1,000" used to become 1.0 (its comma taken for a decimal comma)."""
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    editor = open_editor(window, 0, 0)
    editor.setText(typed)
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert window.state.model.params[W_Q][0, 0, 0] == np.float32(value)


def test_scrubbing_with_the_mouse_updates_live_and_is_one_undo_step(make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    state = window.state
    before = params_copy(state.model)
    q_before = np.array(state.trace[Q_STAGE], copy=True)
    panel = panel_for(window, W_Q)
    seen: list[float] = []

    def while_dragging(dy: int) -> None:
        value = float(state.model.params[W_Q][0, 1, 2])
        seen.append(value)
        # downstream is live: the result panel already shows the engine's Q for the new weight
        np.testing.assert_array_equal(window.canvas.result_panel.matrix.data, state.trace[Q_STAGE][0])
        assert state.undo_stack.count() == 0, "nothing is pushed until the mouse is released"

    drag_cell(panel, 1, 2, [10, 25, 40, 60], check=while_dragging)
    assert seen == sorted(seen) and seen[-1] > float(before[W_Q][0, 1, 2]), "dragging up increases the value"
    assert not np.array_equal(state.trace[Q_STAGE], q_before)
    assert state.undo_stack.count() == 1
    assert undo_text(window) == "Undo edit blocks.0.attn.W_Q[h0][1,2]"
    changed = state.model.params[W_Q] != before[W_Q]
    assert changed.sum() == 1 and changed[0, 1, 2]
    edited = float(state.model.params[W_Q][0, 1, 2])
    window.actions["undo"].trigger()
    assert_params_bit_equal(state.model, before)
    np.testing.assert_array_equal(state.trace[Q_STAGE], q_before)
    window.actions["redo"].trigger()
    assert float(state.model.params[W_Q][0, 1, 2]) == edited


def test_the_change_view_compares_with_the_state_before_the_whole_gesture(make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    state = window.state
    q_before = np.array(state.trace[Q_STAGE][0], copy=True)
    drag_cell(panel_for(window, W_Q), 3, 0, [15, 30, 45])
    window.actions["difference"].trigger()
    assert state.view.show_difference and window.actions["difference"].isChecked()
    shown = window.canvas.result_panel.matrix
    np.testing.assert_allclose(shown.data, state.trace[Q_STAGE][0] - q_before, rtol=0, atol=1e-6)
    assert np.abs(shown.data[:, 0]).max() > 0 and np.all(shown.data[:, 1:] == 0), "only the column fed by W_Q[:, 0] moves"
    # switching the view on is a way of looking, not an edit: Undo still takes back the drag
    assert undo_text(window) == "Undo edit blocks.0.attn.W_Q[h0][3,0]"


def test_table_editor_edits_one_head_and_refuses_bad_input(make_main_window) -> None:
    window = make_main_window(stage=Q_STAGE)
    state = window.state
    window.actions["params"].trigger()
    window.params_browser.select(W_Q, head=1)
    window.actions["table"].trigger()
    assert window.table_dock.isVisible()
    table = window.weight_table
    np.testing.assert_array_equal(table.model.values(), state.model.params[W_Q][1])
    view = table.view
    view.setFocus()
    view.setCurrentIndex(table.model.index(4, 5))
    QTest.keyClick(view, Qt.Key.Key_0)  # typing starts editing the current cell
    editor = QApplication.focusWidget()
    assert isinstance(editor, QLineEdit) and editor.text() == "0"
    QTest.keyClicks(editor, ".125")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    QApplication.processEvents()  # the view commits the editor's data on the next event loop turn
    assert state.model.params[W_Q][1, 4, 5] == np.float32(0.125)
    assert table.model.values()[4, 5] == np.float32(0.125)
    assert undo_text(window) == "Undo edit blocks.0.attn.W_Q[h1][4,5]"
    before = params_copy(state.model)
    assert not table.model.setData(table.model.index(0, 0), "twelve")
    assert table.error.isVisible() and "not a number" in table.error.text()
    assert_params_bit_equal(state.model, before)
    # arrow keys move in the table; they do not step through the stages
    stage = state.stage_id
    view.setCurrentIndex(table.model.index(0, 0))
    QTest.keyClick(view, Qt.Key.Key_Right)
    assert state.stage_id == stage and view.currentIndex().column() == 1
    window.actions["undo"].trigger()
    assert table.model.values()[4, 5] != np.float32(0.125)


def test_params_browser_lists_every_parameter_and_edits_like_the_canvas(make_main_window) -> None:
    window = make_main_window(stage="tokens")
    state = window.state
    window.actions["params"].trigger()
    browser = window.params_browser
    assert browser.names() == list(state.model.params)
    browser.select("blocks.1.mlp.W_in")
    heatmap = browser.heatmap
    np.testing.assert_array_equal(heatmap.matrix.data, state.model.params["blocks.1.mlp.W_in"])
    browser.select(W_Q, head=1)
    np.testing.assert_array_equal(heatmap.matrix.data, state.model.params[W_Q][1])
    click_cell(heatmap, 5, 2)
    editor = window.weight_editor.active_editor
    assert editor is not None
    editor.setText("2.5")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert state.model.params[W_Q][1, 5, 2] == np.float32(2.5)
    assert heatmap.matrix.data[5, 2] == np.float32(2.5)
    drag_cell(heatmap, 0, 0, [20, 40])
    assert state.undo_stack.count() == 2 and undo_text(window) == "Undo edit blocks.0.attn.W_Q[h1][0,0]"
    browser.filter_edit.setText("mlp.b_")
    visible = [n for n in browser.names() if not _item(browser, n).isHidden()]
    assert visible == [n for n in state.model.params if "mlp.b_" in n]


def _item(browser, name: str):
    tree = browser.tree
    for i in range(tree.topLevelItemCount()):
        group = tree.topLevelItem(i)
        for j in range(group.childCount()):
            if group.child(j).data(0, Qt.ItemDataRole.UserRole) == name:
                return group.child(j)
    raise AssertionError(name)


def test_bulk_operations_each_one_undo_step(make_main_window) -> None:
    window = make_main_window(stage=Q_STAGE)
    state = window.state
    original = params_copy(state.model)
    stages_before = all_stages(state.trace)
    window.actions["params"].trigger()
    browser = window.params_browser
    browser.select(W_Q, head=1)
    browser.bulk_toggle.click()
    assert browser.bulk_buttons[ZERO].isVisible()

    browser.set_scope("Head")
    browser.bulk_buttons[ZERO].click()
    assert undo_text(window) == "Undo zero blocks.0.attn.W_Q[h1]"
    assert np.all(state.model.params[W_Q][1] == 0)
    np.testing.assert_array_equal(state.model.params[W_Q][0], original[W_Q][0])

    click_cell(browser.heatmap, 3, 0)  # choose row 3
    window.weight_editor.close_editor()
    browser.set_scope("Row")
    browser.factor_box.setValue(3.0)
    browser.set_scope("Whole")
    assert browser.run_bulk(SCALE)
    assert undo_text(window) == "Undo scale blocks.0.attn.W_Q by 3"
    np.testing.assert_array_equal(state.model.params[W_Q][0], (original[W_Q][0].astype(np.float64) * 3).astype(np.float32))

    browser.set_scope("Head")
    assert browser.run_bulk(IDENTITY)
    np.testing.assert_array_equal(state.model.params[W_Q][1], np.eye(16, 8, dtype=np.float32))

    browser.set_scope("Row")
    browser.seed_box.setValue(7)
    assert browser.run_bulk(RANDOMISE)
    first = np.array(state.model.params[W_Q][1, 3], copy=True)
    assert undo_text(window) == "Undo randomise blocks.0.attn.W_Q[h1][3] (seed 7)"
    window.actions["undo"].trigger()
    assert browser.run_bulk(RANDOMISE)
    np.testing.assert_array_equal(state.model.params[W_Q][1, 3], first)  # seeded: same numbers again

    browser.set_scope("Whole")
    assert browser.run_bulk(RESET)
    assert_params_bit_equal(state.model, original)
    assert state.undo_stack.count() == 5

    # undo everything: bit-exact weights and the very same stage arrays
    while state.undo_stack.canUndo():
        window.actions["undo"].trigger()
    assert_params_bit_equal(state.model, original)
    assert_stages_equal(state.trace, stages_before)


def test_identity_needs_a_matrix_and_overflowing_scales_are_refused(make_main_window) -> None:
    window = make_main_window(stage=Q_STAGE)
    state = window.state
    window.actions["params"].trigger()
    browser = window.params_browser
    browser.select("blocks.0.attn.b_Q", head=0)
    browser.set_scope("Head")
    assert not browser.bulk_buttons[IDENTITY].isEnabled(), "a bias vector has no diagonal"
    browser.select("blocks.0.mlp.W_in")
    browser.set_scope("Whole")
    assert browser.bulk_buttons[IDENTITY].isEnabled()
    browser.bulk_toggle.click()
    browser.factor_box.setValue(1000.0)
    original = params_copy(state.model)
    pushed = 0
    while not browser.bulk_error.isVisible():  # × 1000 each click until float32 would overflow
        browser.bulk_buttons[SCALE].click()
        pushed = state.undo_stack.count()
        assert pushed < 20
    assert pushed >= 10
    assert browser.bulk_error.isVisible() and "beyond" in browser.bulk_error.text()
    assert np.all(np.isfinite(state.model.params["blocks.0.mlp.W_in"]))
    assert state.undo_stack.count() == pushed, "the refused operation pushed nothing"
    with pytest.raises(ParamError, match="finite"):
        bulk_command(state, SCALE, Scope("blocks.0.mlp.W_in"), factor=float("nan"))
    while state.undo_stack.canUndo():
        state.undo_stack.undo()
    assert_params_bit_equal(state.model, original)


def test_undo_redo_mixed_edits_restore_weights_and_stages_exactly(make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    state = window.state
    original = params_copy(state.model)
    stages_before = all_stages(state.trace)
    editor = open_editor(window, 0, 1)
    editor.setText("-1.5")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    drag_cell(panel_for(window, W_Q), 2, 2, [30, 50])
    state.set_stage("blocks.0.attn.pattern")
    window.actions["causal"].trigger()
    window.actions["numbers"].trigger()
    state.set_stage("blocks.0.mlp.pre")
    drag_cell(panel_for(window, "blocks.0.mlp.W_in"), 1, 1, [-30])
    edited = params_copy(state.model)
    stages_edited = all_stages(state.trace)
    texts = window.history.entries()
    assert texts[0].startswith("Session as opened") and len(texts) == 6
    assert texts[1] == "edit blocks.0.attn.W_Q[h0][0,1]" and texts[-1] == "edit blocks.0.mlp.W_in[1,1]"
    while state.undo_stack.canUndo():
        window.actions["undo"].trigger()
    assert_params_bit_equal(state.model, original)
    assert_stages_equal(state.trace, stages_before)
    assert state.option("causal") is True and state.view.show_numbers is True
    while state.undo_stack.canRedo():
        window.actions["redo"].trigger()
    assert_params_bit_equal(state.model, edited)
    assert_stages_equal(state.trace, stages_edited)


def test_history_view_clicks_go_back_to_an_edit(make_main_window) -> None:
    window = make_main_window(stage=Q_STAGE)
    state = window.state
    original = params_copy(state.model)
    for row, text in ((0, "1"), (1, "2"), (2, "3")):
        editor = open_editor(window, row, 0)
        editor.setText(text)
        QTest.keyClick(editor, Qt.Key.Key_Return)
    window.actions["history"].trigger()
    assert window.history_dock.isVisible()
    history = window.history.list
    rect = history.visualRect(history.model().index(1, 0))
    QTest.mouseClick(history.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert state.undo_stack.index() == 1
    assert state.model.params[W_Q][0, 0, 0] == np.float32(1)
    assert state.model.params[W_Q][0, 1, 0] == original[W_Q][0, 1, 0]


def test_switching_presets_and_models_is_undoable(make_main_window, tmp_path) -> None:
    import simulator

    window = make_main_window(text="the cat walks by the bank", stage=Q_STAGE)
    state = window.state
    first = state.model
    editor = open_editor(window, 0, 0)
    editor.setText("4")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    assert window.preset_actions["toy"].isChecked()
    window.preset_actions["toy"].trigger()
    assert state.model is not first
    assert state.model.params[W_Q][0, 0, 0] != np.float32(4), "a fresh preset has its own weights"
    assert undo_text(window).startswith("Undo switch to preset")
    window.actions["undo"].trigger()
    assert state.model is first and state.text == "the cat walks by the bank"
    assert state.model.params[W_Q][0, 0, 0] == np.float32(4)
    path = tmp_path / "other.npz"
    other = simulator.build_preset("toy")
    other.set_param(W_Q, 9.0, (1, 1, 1))
    simulator.save_model(other, path)
    assert window.sessions.load_model_file(path)
    assert state.model.params[W_Q][1, 1, 1] == np.float32(9)
    assert undo_text(window) == "Undo load model other.npz"
    window.actions["undo"].trigger()
    assert state.model is first


def test_reset_uses_the_values_as_loaded_even_after_a_preset_switch_and_undo(make_main_window) -> None:
    window = make_main_window(stage=Q_STAGE)
    state = window.state
    original = params_copy(state.model)
    window.actions["params"].trigger()
    browser = window.params_browser
    browser.select(W_Q, head=0)
    browser.set_scope("Whole")
    assert browser.run_bulk(ZERO)
    window.preset_actions["toy"].trigger()
    window.actions["undo"].trigger()
    browser.select(W_Q, head=0)
    browser.set_scope("Whole")
    assert browser.run_bulk(RESET)
    assert_params_bit_equal(state.model, original)


def test_the_cell_editor_shows_the_whole_value_and_its_error_inside_the_panel(make_main_window) -> None:
    """A 90-pixel editor showed "28137423857" of "-84.8528137423857": the sign was hidden; the
    error box was wider than the panel and cut off at its edge."""
    window = make_main_window("fluffy", stage=Q_STAGE)  # (float64 weights: long exact values)
    assert window.weight_editor.set_value(W_Q, (0, 2, 3), "-84.8528137423857")
    editor = open_editor(window)
    assert editor.text() == "-84.8528137423857"
    assert editor.fontMetrics().horizontalAdvance(editor.text()) < editor.width() - 8, editor.text()
    editor.selectAll()
    QTest.keyClicks(editor, "abc")
    QTest.keyClick(editor, Qt.Key.Key_Return)
    error = editor.error_label
    assert error.isVisible() and "number" in error.text(), error.text()
    panel = editor.parentWidget()
    assert error.x() >= 0 and error.x() + error.width() <= panel.width()


def test_parameters_browser_and_table_open_on_the_weight_of_the_stage(make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE, head=1)
    window.actions["params"].trigger()
    assert window.params_browser.current_name == W_Q and window.params_browser.head == 1
    window.params_dock.hide()
    window.state.set_stage("blocks.0.mlp.pre")
    window.actions["table"].trigger()
    assert window.params_browser.current_name == "blocks.0.mlp.W_in"


def test_identity_is_offered_for_matrices_not_for_biases_across_heads(make_main_window) -> None:
    from ui.bulk_ops import is_available

    state = make_main_window(stage=Q_STAGE).state
    assert is_available(state, IDENTITY, Scope(W_Q)) and is_available(state, IDENTITY, Scope(W_Q, head=0))
    assert is_available(state, IDENTITY, Scope("embed.W_E"))
    assert not is_available(state, IDENTITY, Scope("blocks.0.attn.b_Q")), "heads × entries is not a matrix"
    assert not is_available(state, IDENTITY, Scope("blocks.0.attn.b_Q", head=0))
    assert is_available(state, ZERO, Scope("blocks.0.attn.b_Q"))


def test_the_status_bar_says_what_a_scrub_kept_and_what_undo_took_back(make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    drag_cell(panel_for(window, W_Q), 2, 3, [10, 30])  # real mouse press, moves and release
    text = window.statusBar().currentMessage()
    assert text.endswith("Ctrl+Z to undo") and "release" not in text, text
    window.actions["undo"].trigger()
    assert window.statusBar().currentMessage().startswith("Undone: edit blocks.0.attn.W_Q")
    window.actions["redo"].trigger()
    assert window.statusBar().currentMessage().startswith("Redone: edit blocks.0.attn.W_Q")

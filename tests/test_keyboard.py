"""Real keystrokes on the shown main window: the shortcuts a teacher uses at the front of a room
reach the window's actions, and Undo/Redo in the sentence box walk the app's one history."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


def _press(window, key: Qt.Key, modifiers: Qt.KeyboardModifier = Qt.KeyboardModifier.NoModifier) -> None:  # noqa: ANN001
    QTest.keyClick(QApplication.focusWidget() or window, key, modifiers)
    QApplication.processEvents()


def test_space_pgdown_right_step_forward_and_pgup_left_step_back(make_main_window) -> None:
    window = make_main_window(stage="embed")
    window.canvas.setFocus()
    stages = window.state.model.stage_ids()
    start = stages.index(window.state.stage_id)
    for steps, key in enumerate((Qt.Key.Key_Space, Qt.Key.Key_PageDown, Qt.Key.Key_Right), start=1):
        _press(window, key)
        assert window.state.stage_id == stages[start + steps], f"{key} did not step forward"
    for steps, key in enumerate((Qt.Key.Key_PageUp, Qt.Key.Key_Left), start=1):
        _press(window, key)
        assert window.state.stage_id == stages[start + 3 - steps], f"{key} did not step back"
    _press(window, Qt.Key.Key_End)
    assert window.state.stage_id == stages[-1]
    _press(window, Qt.Key.Key_Home)
    assert window.state.stage_id == stages[0]


def test_f1_opens_the_shortcuts_list(make_main_window) -> None:
    from ui.panels.shortcuts_dialog import ShortcutsDialog

    window = make_main_window()
    _press(window, Qt.Key.Key_F1)
    dialogs = [d for d in window.findChildren(ShortcutsDialog) if d.isVisible()]
    assert len(dialogs) == 1
    dialogs[0].reject()


def test_ctrl_z_in_the_sentence_box_undoes_the_typing_on_the_app_history(make_main_window) -> None:
    """The line edit used to take Ctrl+Z for its own undo: the text went back but the app's typing
    command stayed on the history, so the history and the screen disagreed."""
    window = make_main_window()
    state = window.state
    original = state.text
    _press(window, Qt.Key.Key_F2)  # focus the sentence box
    edit = window.sentence_box.edit
    assert QApplication.focusWidget() is edit
    edit.end(False)
    QTest.keyClicks(edit, " cat")
    assert state.text == original + " cat" and state.undo_stack.canUndo()
    _press(window, Qt.Key.Key_Z, CTRL)
    assert state.text == original and edit.text() == original
    assert state.undo_stack.canRedo(), "the typing should be redoable on the app's history"
    _press(window, Qt.Key.Key_Z, CTRL | SHIFT)
    assert state.text == original + " cat" and edit.text() == original + " cat"
    _press(window, Qt.Key.Key_Z, CTRL)
    _press(window, Qt.Key.Key_Y, CTRL)
    assert state.text == original + " cat"


def test_ctrl_z_undoes_a_weight_edit_from_the_canvas(make_main_window) -> None:
    window = make_main_window(stage="embed")
    state = window.state
    before = state.model.params["embed.W_E"].copy()
    assert window.weight_editor.set_value("embed.W_E", (0, 0), "0.75")
    assert state.model.params["embed.W_E"][0, 0] == 0.75
    window.canvas.setFocus()
    _press(window, Qt.Key.Key_Z, CTRL)
    assert (state.model.params["embed.W_E"] == before).all()
    _press(window, Qt.Key.Key_Z, CTRL | SHIFT)
    assert state.model.params["embed.W_E"][0, 0] == 0.75


def test_ctrl_z_after_typing_text_that_cannot_run_brings_back_the_last_sentence(make_main_window) -> None:
    """Clearing the box runs nothing (an empty sentence is an error): Ctrl+Z takes the typing
    back, it does not undo an unrelated earlier edit on the history."""
    window = make_main_window(stage="embed")
    state = window.state
    original = state.text
    assert window.weight_editor.set_value("embed.W_E", (0, 0), "0.75")
    _press(window, Qt.Key.Key_F2)
    edit = window.sentence_box.edit
    edit.selectAll()
    _press(window, Qt.Key.Key_Delete)
    assert edit.text() == "" and state.text_error
    _press(window, Qt.Key.Key_Z, CTRL)
    assert edit.text() == original and not state.text_error
    assert state.model.params["embed.W_E"][0, 0] == 0.75, "the weight edit is still there"
    _press(window, Qt.Key.Key_Z, CTRL)  # now the history: the weight edit
    assert state.model.params["embed.W_E"][0, 0] != 0.75


def test_ctrl_z_with_nothing_to_undo_leaves_the_sentence_alone(make_main_window) -> None:
    window = make_main_window()
    state = window.state
    _press(window, Qt.Key.Key_F2)
    edit = window.sentence_box.edit
    edit.end(False)
    QTest.keyClicks(edit, " cat")  # (the line edit's own undo history now has this typing)
    state.undo_stack.clear()
    text = edit.text()
    assert text.endswith(" cat")
    _press(window, Qt.Key.Key_Z, CTRL)
    assert edit.text() == text == state.text and state.undo_stack.count() == 0


def test_stepping_keys_step_at_start_up_without_typing_into_the_sentence(make_main_window) -> None:
    """Focus used to start in the sentence box: Right moved its cursor and Space typed a space."""
    window = make_main_window(stage="embed")
    state = window.state
    stages = state.model.stage_ids()
    start = stages.index(state.stage_id)
    text = state.text
    _press(window, Qt.Key.Key_Space)
    _press(window, Qt.Key.Key_Right)
    assert state.stage_id == stages[start + 2]
    assert state.text == text and window.sentence_box.edit.text() == text
    assert not state.undo_stack.canUndo()


def test_enter_or_esc_in_the_sentence_box_hands_the_keys_back_to_stepping(make_main_window) -> None:
    window = make_main_window(stage="embed")
    state = window.state
    stages = state.model.stage_ids()
    for leave in (Qt.Key.Key_Return, Qt.Key.Key_Escape):
        _press(window, Qt.Key.Key_F2)
        assert QApplication.focusWidget() is window.sentence_box.edit
        before = state.stage_id
        _press(window, Qt.Key.Key_Right)  # typing: moves the cursor, never steps
        assert state.stage_id == before
        _press(window, leave)
        assert QApplication.focusWidget() is window.canvas
        _press(window, Qt.Key.Key_Right)
        assert state.stage_id == stages[stages.index(before) + 1], f"{leave} did not hand focus back"


def _steps_with_right(window) -> bool:  # noqa: ANN001
    state = window.state
    stages = state.model.stage_ids()
    before = stages.index(state.stage_id)
    _press(window, Qt.Key.Key_Right)
    return stages.index(state.stage_id) == before + 1


def test_right_steps_after_a_click_on_a_canvas_panel(make_main_window) -> None:
    from tests.gui_actions import click_cell

    window = make_main_window(stage="blocks.0.attn.scores")
    window.sentence_box.edit.setFocus()
    click_cell(window.canvas.result_panel, 0, 0)
    QApplication.processEvents()
    assert _steps_with_right(window), f"the keys went to {QApplication.focusWidget()}"


def test_right_steps_after_a_click_on_the_navigator(make_main_window) -> None:
    window = make_main_window(stage="embed")
    nav = window.navigator
    window.sentence_box.edit.setFocus()
    target = window.state.model.stage_ids()[3]
    item = nav.item_for(target)
    nav.scrollToItem(item)
    QTest.mouseClick(nav.viewport(), Qt.MouseButton.LeftButton, pos=nav.visualItemRect(item).center())
    QApplication.processEvents()
    assert window.state.stage_id == target
    assert _steps_with_right(window), f"the keys went to {QApplication.focusWidget()}"


def test_right_steps_after_a_cell_edit_is_committed(make_main_window) -> None:
    from tests.gui_actions import panel_for

    window = make_main_window(stage="embed")
    panel = panel_for(window, "embed.W_E")
    editor = window.weight_editor
    edit = editor.open_editor(panel, 0, 0)
    assert edit is not None
    edit.setText("0.5")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    QApplication.processEvents()
    assert window.state.model.params["embed.W_E"][0, 0] == 0.5
    assert _steps_with_right(window), f"the keys went to {QApplication.focusWidget()}"

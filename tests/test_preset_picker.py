"""Presets as the learner meets them: every preset's title, description, suggested sentences and
"what to look for" notes (engine), and Model → Choose preset…, the dialog that shows them (GUI)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

import simulator
from simulator.presets import stage_kinds
from tests.gui_actions import undo_text

PRESETS = simulator.preset_names()


def _flat(text: str) -> str:
    return " ".join(text.split())


# -- the presets' metadata (engine only) ------------------------------------------------------------


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_has_a_title_description_and_runnable_suggestions(name: str) -> None:
    model = simulator.load(name)
    info = model.info
    assert info.name == name and info.source == f"preset:{name}"
    assert info.title.strip() and info.title != "Model"
    assert len(info.description.strip()) > 40
    assert info.suggested, f"{name} suggests no sentence"
    for sentence in info.suggested:
        encoding = model.encode(sentence)
        unknown = [encoding.tokens[i] for i in encoding.unknown]
        assert not unknown, f"{name}: {sentence!r} has words outside the vocabulary: {unknown}"
        model.trace(sentence)  # and runs


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_has_a_note_for_every_stage_kind_its_model_shows(name: str) -> None:
    model = simulator.load(name)
    kinds = {spec.kind for spec in model.graph.values()}
    assert [k.kind for k in stage_kinds(name)] == list(dict.fromkeys(spec.kind for spec in model.graph.values()))
    missing = sorted(k for k in kinds if not model.info.notes.get(k, "").strip())
    assert not missing, f"{name} has no 'what to look for' note for: {missing}"
    extra = sorted(set(model.info.notes) - kinds)
    assert not extra, f"{name} has notes for stages its model does not have: {extra}"


def test_stage_kind_names_are_general_not_one_blocks() -> None:
    kinds = {k.kind: k for k in stage_kinds("toy")}
    assert kinds["resid_pre"].title == "Residual stream into a block" and kinds["resid_pre"].in_block
    assert kinds["attn.pattern"].title == "Attention pattern" and kinds["attn.pattern"].in_block
    assert not kinds["tokens"].in_block and not kinds["probs"].in_block
    assert all(not any(ch.isdigit() for ch in k.title) for k in kinds.values())


def test_toy_notes_speak_about_random_weights() -> None:
    notes = simulator.load("toy").info.notes
    assert {"ln1", "ln2", "ln_final"} <= set(notes)
    assert all(len(_flat(text)) <= 320 for text in notes.values()), "notes are meant to be short"
    assert "random" in notes["embed"] and "sums to 1" in notes["attn.pattern"]


# -- the picker ---------------------------------------------------------------------------------------


def open_picker(window, qtbot):
    from ui.panels.preset_picker import PresetPickerDialog

    window.actions["choose_preset"].trigger()
    dialog = window.findChild(PresetPickerDialog)
    assert dialog is not None, "Choose preset… did not open the picker"
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
    return dialog


def test_choose_preset_is_declared_once_in_the_model_menu_above_the_presets(make_main_window) -> None:
    from ui.actions import SPECS

    assert [s.name for s in SPECS].count("choose_preset") == 1
    window = make_main_window()
    action = window.actions["choose_preset"]
    assert action.shortcut().toString() == "Ctrl+M"
    others = [a for name, a in window.actions.items() if name != "choose_preset"]
    assert all(action.shortcut() not in a.shortcuts() for a in others)
    entries = [a for a in window.menus["model"].actions() if not a.isSeparator()]
    assert entries[0] is action
    preset_entries = [entries.index(a) for a in window.preset_actions.values()]
    assert min(preset_entries) > 0
    assert "Choose preset…" in dict(window.show_shortcuts().rows())
    for dialog in window.findChildren(type(window.show_shortcuts())):
        dialog.close()


def test_the_shortcut_opens_the_picker_and_escape_closes_it_changing_nothing(make_main_window, qtbot) -> None:
    from ui.panels.preset_picker import PresetPickerDialog

    window = make_main_window("toy")
    model, text, count = window.state.model, window.state.text, window.state.undo_stack.count()
    QTest.keyClick(window, Qt.Key.Key_M, Qt.KeyboardModifier.ControlModifier)
    dialog = window.findChild(PresetPickerDialog)
    assert dialog is not None and dialog.isVisible() and dialog.isModal()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=3000)
    QTest.keyClick(dialog.preset_list, Qt.Key.Key_Down)
    QTest.keyClick(dialog.preset_list, Qt.Key.Key_Escape)
    assert not dialog.isVisible()
    assert window.state.model is model and window.state.text == text
    assert window.state.undo_stack.count() == count


def test_the_picker_lists_every_preset_and_shows_what_the_engine_says(make_main_window, qtbot) -> None:
    window = make_main_window("toy")
    dialog = open_picker(window, qtbot)
    infos = simulator.list_presets()
    assert dialog.preset_names() == [info.name for info in infos]
    assert [dialog.preset_list.item(i).text().split("\n")[0] for i in range(dialog.preset_list.count())] == [
        info.title for info in infos
    ]
    assert dialog.selected_preset() == "toy", "the open preset is chosen first"
    dialog.preset_list.setFocus()
    QTest.keyClick(dialog.preset_list, Qt.Key.Key_Home)
    for i, info in enumerate(infos):
        if i:
            QTest.keyClick(dialog.preset_list, Qt.Key.Key_Down)
        assert dialog.selected_preset() == info.name
        assert dialog.title_label.text() == info.title
        assert dialog.description.toPlainText() == info.description
        assert dialog.sentences() == list(info.suggested)
        assert dialog.selected_sentence() is None, "the current sentence is kept unless one is picked"
        notes = _flat(dialog.notes.toPlainText())
        for kind in stage_kinds(info.name):
            assert kind.title in notes and kind.kind in notes
            assert _flat(info.notes[kind.kind]) in notes, f"{info.name}: note for {kind.kind} not shown"
        assert "No note for this stage" not in notes
    dialog.reject()


def test_open_with_a_suggested_sentence_switches_model_and_sentence_in_one_undo_step(make_main_window, qtbot) -> None:
    window = make_main_window("toy", text="the cat walks by the bank")
    state = window.state
    old_model, old_text, count = state.model, state.text, state.undo_stack.count()
    dialog = open_picker(window, qtbot)
    dialog.select_preset("bank")
    sentence = "the money in the bank"
    row = dialog.sentences().index(sentence) + 1  # after the "keep the current sentence" row
    QTest.mouseClick(
        dialog.sentence_list.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
        dialog.sentence_list.visualItemRect(dialog.sentence_list.item(row)).center(),
    )
    assert dialog.selected_sentence() == sentence
    QTest.mouseClick(dialog.open_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert state.model.info.name == "bank" and state.model.info.source == "preset:bank"
    assert state.text == sentence and window.sentence_box.edit.text() == sentence
    assert state.undo_stack.count() == count + 1
    assert "Bank" in undo_text(window) and sentence in undo_text(window)
    assert window.preset_actions["bank"].isChecked()
    assert window.isWindowModified(), "closing now would still ask about unsaved changes"
    window.actions["undo"].trigger()
    assert state.model is old_model and state.text == old_text
    assert window.preset_actions["toy"].isChecked()
    window.actions["redo"].trigger()
    assert state.model.info.name == "bank" and state.text == sentence


def test_keyboard_only_choose_a_preset_and_a_sentence_then_enter(make_main_window, qtbot) -> None:
    window = make_main_window("toy")
    state = window.state
    dialog = open_picker(window, qtbot)
    assert dialog.preset_list.hasFocus()
    QTest.keyClick(dialog.preset_list, Qt.Key.Key_Home)
    QTest.keyClick(dialog.preset_list, Qt.Key.Key_Down)
    target = dialog.selected_preset()
    assert target == simulator.preset_names()[1]
    QTest.keyClick(dialog.preset_list, Qt.Key.Key_Tab)
    assert dialog.sentence_list.hasFocus()
    QTest.keyClick(dialog.sentence_list, Qt.Key.Key_Down)
    first = simulator.load(target).info.suggested[0]
    assert dialog.selected_sentence() == first
    QTest.keyClick(dialog.sentence_list, Qt.Key.Key_Return)
    assert not dialog.isVisible()
    assert state.model.info.name == target and state.text == first


def test_open_keeping_the_current_sentence(make_main_window, qtbot) -> None:
    window = make_main_window("toy", text="the cat walks by the bank")
    dialog = open_picker(window, qtbot)
    dialog.select_preset("fluffy")
    assert dialog.selected_sentence() is None
    assert "the cat walks by the bank" in dialog.sentence_list.item(0).text()
    QTest.keyClick(dialog.preset_list, Qt.Key.Key_Enter)
    assert window.state.model.info.name == "fluffy" and window.state.text == "the cat walks by the bank"
    assert "with" not in undo_text(window)


def test_cancel_changes_nothing(make_main_window, qtbot) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    window = make_main_window("toy")
    state = window.state
    model, text, stage, count = state.model, state.text, state.stage_id, state.undo_stack.count()
    dialog = open_picker(window, qtbot)
    dialog.select_preset("mole")
    dialog.select_sentence(simulator.load("mole").info.suggested[0])
    QTest.mouseClick(dialog.buttons.button(QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    assert not dialog.isVisible()
    assert state.model is model and state.text == text and state.stage_id == stage
    assert state.undo_stack.count() == count and not window.isWindowModified()


def test_notes_list_says_when_a_stage_has_no_note() -> None:
    from ui.panels.preset_picker import notes_html

    info = simulator.ModelInfo(name="x", title="X", notes={"attn.pattern": "look & see"})
    text = notes_html(info, stage_kinds("toy"))
    assert "look &amp; see" in text and "No note for this stage" in text
    assert text.index("Before the blocks") < text.index("In every block") < text.index("After the blocks")

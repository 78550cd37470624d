"""Issue 12, "never lose work": gestures, undo steps and background loads that outlive the model
they were made on, model switches that cannot run, and padded vocabularies in the views."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from tests.gui_actions import MOVE_INTERVAL_MS, cell_point, panel_for, params_copy, assert_params_bit_equal, undo_text

W_Q = "blocks.0.attn.W_Q"
Q_STAGE = "blocks.0.attn.q"


def start_scrub(panel, row: int, col: int, offsets: list[int]) -> QPoint:
    """Press on a cell and drag it up by each offset in turn, without releasing."""
    QTest.qWait(MOVE_INTERVAL_MS)
    start = cell_point(panel, row, col)
    QTest.mousePress(panel.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for dy in offsets:
        QTest.qWait(MOVE_INTERVAL_MS)
        QTest.mouseMove(panel.viewport(), start - QPoint(0, dy))
    return start


def finish_scrub(panel, start: QPoint, offsets: list[int]) -> None:
    """Keep dragging the (maybe no longer shown) panel, then release."""
    viewport = panel.viewport()
    for dy in offsets:
        QTest.qWait(MOVE_INTERVAL_MS)
        QTest.mouseMove(viewport, start - QPoint(0, dy))
    QTest.mouseRelease(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start - QPoint(0, offsets[-1]))


def _switch_preset(window) -> None:
    window.sessions.switch_preset("fluffy")


def _new_session(window) -> None:
    window.sessions.new_session()


def _undo(window) -> None:
    window.actions["undo"].trigger()


@pytest.mark.parametrize("change", [_switch_preset, _new_session])
def test_a_scrub_in_progress_never_writes_into_the_next_model(make_main_window, monkeypatch, change) -> None:
    from PySide6.QtWidgets import QMessageBox

    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Discard)
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    state = window.state
    toy = state.model
    toy_before = params_copy(toy)
    panel = panel_for(window, W_Q)
    start = start_scrub(panel, 1, 2, [10, 25])
    assert toy.params[W_Q][0, 1, 2] != toy_before[W_Q][0, 1, 2], "the scrub changes the weight live"
    change(window)
    new_model = state.model
    assert new_model is not toy
    new_before = params_copy(new_model)
    finish_scrub(panel, start, [40, 60])
    assert_params_bit_equal(new_model, new_before)
    assert not state.undo_stack.canUndo() or undo_text(window).startswith("Undo switch to preset")
    while state.undo_stack.canUndo():  # the history describes both models exactly
        state.undo_stack.undo()
    assert_params_bit_equal(toy, toy_before)


def test_a_background_load_finishing_during_a_scrub_never_receives_its_moves(make_main_window, qtbot, monkeypatch) -> None:
    from tests.test_model_loading_ui import GPT2, slow_loads, wait_for_load

    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    state = window.state
    toy = state.model
    toy_before = params_copy(toy)
    slow_loads(monkeypatch, 0.01)
    assert window.model_loader.start(GPT2)
    panel = panel_for(window, W_Q)
    start = start_scrub(panel, 1, 2, [10, 25])
    wait_for_load(qtbot, window)  # the mouse is still held
    loaded = state.model
    assert loaded.info.name == "gpt2-tiny"
    loaded_before = params_copy(loaded)
    finish_scrub(panel, start, [40, 60])
    assert_params_bit_equal(loaded, loaded_before)
    assert state.undo_stack.count() == 1 and undo_text(window) == "Undo load model GPT-2 · gpt2-tiny"
    state.undo_stack.undo()
    assert state.model is toy
    assert_params_bit_equal(toy, toy_before)


@pytest.mark.parametrize("cell", [(0, 0), (1, 2)], ids=["other cell", "same cell"])
def test_undo_during_a_scrub_ends_it_and_the_history_describes_the_model(make_main_window, cell) -> None:
    from ui.weight_editing import push_typed_value

    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    state = window.state
    before = params_copy(state.model)
    assert push_typed_value(state, W_Q, (0, *cell), "0.75") == ""
    typed = params_copy(state.model)
    panel = panel_for(window, W_Q)
    start = start_scrub(panel, 1, 2, [10, 25])
    said: list[str] = []
    state.message.connect(said.append)
    _undo(window)
    assert not window.weight_editor.scrubbing
    assert any("cancelled because the undo history changed" in m for m in said), said
    finish_scrub(panel, start, [40, 60])
    assert_params_bit_equal(state.model, before)
    assert state.undo_stack.index() == 0 and state.undo_stack.count() == 1
    state.undo_stack.redo()
    assert_params_bit_equal(state.model, typed)


def test_a_stage_change_during_a_scrub_ends_it_as_one_undo_step(make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    state = window.state
    before = params_copy(state.model)
    panel = panel_for(window, W_Q)
    start = start_scrub(panel, 1, 2, [10, 25])
    kept = state.model.params[W_Q][0, 1, 2]
    state.step(1)
    finish_scrub(panel, start, [40, 60])
    assert state.model.params[W_Q][0, 1, 2] == kept, "moves after the gesture ended change nothing"
    assert state.undo_stack.count() == 1
    state.undo_stack.undo()
    assert_params_bit_equal(state.model, before)


def test_an_undo_step_never_writes_into_a_model_it_was_not_made_on(qtbot) -> None:
    """A weight edit whose model is no longer the state's model refuses, says so and leaves the
    history; the model switch's own step still restores the earlier model with the edit."""
    import simulator
    from ui.commands import SetModelCommand, SetParamCommand
    from ui.state import AppState

    toy = simulator.build_preset("toy")
    state = AppState(toy, "a fluffy blue creature")
    said: list[str] = []
    state.message.connect(said.append)
    stack = state.undo_stack
    stack.push(SetParamCommand(state, W_Q, 0.5, (0, 1, 2)))
    edited_toy = params_copy(toy)
    stack.push(SetModelCommand(state, simulator.build_preset("fluffy")))
    fluffy = state.model
    state.apply_model(simulator.build_preset("fluffy"))  # a switch that bypassed the history
    other = state.model
    other_before = params_copy(other)
    stack.undo()  # the switch: brings back the toy, with its edit
    assert state.model is toy
    assert_params_bit_equal(toy, edited_toy)
    state.apply_model(other)  # again behind the history's back
    stack.undo()  # the edit was made on the toy: it must not write into this model
    assert_params_bit_equal(other, other_before)
    assert said and "Cannot undo \"edit blocks.0.attn.W_Q[h0][1,2]\"" in said[-1]
    assert stack.count() == 1 and stack.index() == 0, "the refused step left the history"
    assert_params_bit_equal(toy, edited_toy)
    stack.redo()  # the remaining step (the switch to fluffy) still works
    assert state.model is fluffy


def _open_saved_session(window, tmp_path) -> None:
    from ui.session_file import Session, save_session

    import simulator

    model = simulator.build_preset("bank")
    path = tmp_path / "lesson.npz"
    save_session(path, Session(model, "the cat walks by the river bank", model.stage_ids()[0], 0,
                               {"causal": True, "scale_scores": True, "temperature": 1.0}, window.state.view, dict(model.params)))
    assert window.sessions.open_session(path)


@pytest.mark.parametrize("choice", ["preset", "new session", "open session"])
def test_a_background_load_finishing_after_a_later_choice_is_discarded(make_main_window, qtbot, monkeypatch, tmp_path, choice) -> None:
    from tests.test_model_loading_ui import GPT2, slow_loads, wait_for_load

    window = make_main_window(text="a fluffy blue creature")
    state = window.state
    record = slow_loads(monkeypatch, 0.05)
    assert window.model_loader.start(GPT2)
    qtbot.waitUntil(lambda: window.model_loader.progress_dialog.value() > 0, timeout=5000)
    said: list[str] = []
    state.message.connect(said.append)
    if choice == "preset":
        window.sessions.switch_preset("fluffy")
        expected, steps = "fluffy", 1
    elif choice == "new session":
        window.sessions.new_session()
        expected, steps = "toy", 0
    else:
        _open_saved_session(window, tmp_path)
        expected, steps = "bank", 0
    chosen = state.model
    wait_for_load(qtbot, window)
    qtbot.waitUntil(lambda: record["outcome"] is not None, timeout=5000)
    QTest.qWait(100)  # any report the worker still sends is delivered by now
    assert state.model is chosen and chosen.info.name == expected
    assert state.undo_stack.count() == steps, "the discarded load left an undo step"
    assert record["outcome"] == "cancelled"
    assert any(m.startswith("Stopped loading checkpoints/gpt2-tiny") for m in said), said
    assert window.model_loader.progress_dialog is None


def test_a_discarded_load_is_not_waited_for(make_main_window, qtbot, monkeypatch, tmp_path) -> None:
    """A saved model is one read that cannot stop half-way: choosing a preset meanwhile must not
    freeze the window until that read ends."""
    import threading
    import time

    import simulator
    import ui.model_loader as model_loader

    path = tmp_path / "slow.npz"
    simulator.save_model(simulator.build_preset("bank"), path)
    release = threading.Event()
    real_load = simulator.load

    def slow_load(target):  # noqa: ANN001, ANN202
        release.wait(10)
        return real_load(target)

    monkeypatch.setattr(model_loader.simulator, "load", slow_load)
    window = make_main_window()
    assert window.model_loader.start(path)
    began = time.monotonic()
    window.sessions.switch_preset("fluffy")
    assert time.monotonic() - began < 2.0, "the window waited for the discarded read"
    assert not window.model_loader.is_loading and window.state.model.info.name == "fluffy"
    release.set()
    qtbot.waitUntil(lambda: not window.model_loader._discarded, timeout=5000)
    QTest.qWait(50)
    assert window.state.model.info.name == "fluffy" and window.state.undo_stack.count() == 1


def short_context_toy(n_ctx: int = 3):
    """The toy model with a context of ``n_ctx`` tokens (its suggested sentences are longer)."""
    from dataclasses import replace

    import simulator

    toy = simulator.build_preset("toy")
    config = replace(toy.config, n_ctx=n_ctx)
    params = {name: np.array(value) for name, value in toy.params.items()}
    params["pos_embed.W_pos"] = params["pos_embed.W_pos"][:n_ctx]
    return simulator.Model(config, params, toy.tokenizer, toy.labels, toy.info)


def test_a_short_context_model_gets_a_default_sentence_that_fits_it(make_main_window, monkeypatch) -> None:
    import simulator
    from ui.state import AppState, default_text

    short = short_context_toy(3)
    assert all(len(short.tokenizer.encode(s).ids) > 3 for s in short.info.suggested)
    text = default_text(short)
    assert text == "a fluffy blue" and len(short.encode(text).ids) <= 3
    assert AppState(short).text == text
    window = make_main_window(text="a fluffy blue creature")
    fresh = short_context_toy(3)
    monkeypatch.setattr(simulator, "build_preset", lambda name: fresh)
    assert window.sessions.switch_preset("toy")
    assert window.state.model.config.n_ctx == 3 and window.state.text == "a fluffy blue"


def test_a_model_switch_that_cannot_run_is_refused_without_a_trace_in_the_history(make_main_window, monkeypatch) -> None:
    import simulator
    from PySide6.QtWidgets import QMessageBox
    from simulator.errors import TextError

    window = make_main_window(text="a fluffy blue creature")
    state = window.state
    toy = state.model
    broken = simulator.build_preset("fluffy")

    def cannot_trace(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise TextError("the text has no tokens this model can read")

    monkeypatch.setattr(broken, "trace", cannot_trace)
    monkeypatch.setattr(simulator, "build_preset", lambda name: broken)
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text, *a, **k: shown.append((title, text)))
    assert not window.sessions.switch_preset("fluffy")
    assert state.model is toy and state.text == "a fluffy blue creature"
    assert state.undo_stack.count() == 0 and not window.sessions.modified and not window.isWindowModified()
    assert shown and "cannot run the sentence" in shown[0][1]
    assert "cannot run the sentence" in window.statusBar().currentMessage()
    assert "\n" not in window.statusBar().currentMessage()


def padded_toy_predicting_a_padded_row(tmp_path):
    """The padded toy (3 embedding rows beyond its tokeniser's pieces), saved, with its output
    bias pushing the middle padded row to the top of every prediction."""
    import simulator
    from tests.test_padded_vocabulary import padded_toy

    model = padded_toy(3)
    pieces = model.tokenizer.vocab_size
    bias = np.array(model.params["unembed.b_U"])
    bias[pieces + 1] = 50.0
    model.set_param("unembed.b_U", bias)
    path = tmp_path / "padded.npz"
    simulator.save_model(model, path)
    return path, pieces


def test_padded_vocabulary_rows_read_as_hash_id_in_the_next_token_view_and_axes(make_main_window, tmp_path) -> None:
    path, pieces = padded_toy_predicting_a_padded_row(tmp_path)
    window = make_main_window(text="a fluffy blue creature")
    assert window.sessions.load_model_file(path)
    state = window.state
    assert state.model.config.vocab_size == pieces + 3
    view = window.next_token
    assert view.choice.itemText(0).startswith(f"#{pieces + 1}")
    assert view.choice.itemData(0, Qt.ItemDataRole.UserRole + 1) == f"#{pieces + 1}"
    assert view.append_button.text() == f"Append “#{pieces + 1}”"
    view.append_button.click()
    assert state.text == "a fluffy blue creature" and state.undo_stack.count() == 1
    assert "padded row" in view.message.text()
    state.set_stage(state.model.stage_ids()[0])  # the tokens as one-hot rows over the whole vocabulary
    onehot = window.canvas.panels[0].matrix
    assert onehot.col_labels[-3:] == tuple(f"#{i}" for i in range(pieces, pieces + 3))
    state.set_stage("logits")
    logits = panel_for(window, "logits").matrix
    assert f"#{pieces + 1}" in logits.col_labels


def test_the_cli_shows_padded_vocabulary_rows_as_hash_id(tmp_path, capsys) -> None:
    """A guard, not a fix: the CLI already names tokens through the engine's ``trace.tokens``."""
    from simulator.cli import run

    path, pieces = padded_toy_predicting_a_padded_row(tmp_path)
    out = tmp_path / "trace.npz"
    assert run(["trace", "--model", str(path), "--ids", f"3,{pieces + 2}", "--out", str(out)]) == 0
    with np.load(out) as saved:
        assert list(saved["token_strings"]) == ["a", f"#{pieces + 2}"]
    assert run(["stages", "--model", str(path)]) == 0
    assert "logits" in capsys.readouterr().out


def test_the_cli_lists_the_stages_of_a_short_context_model_without_a_text(tmp_path, capsys) -> None:
    import simulator
    from simulator.cli import run

    path = tmp_path / "short.npz"
    simulator.save_model(short_context_toy(3), path)
    assert run(["stages", "--model", str(path)]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "logits" in captured.out


def test_saving_during_a_scrub_first_makes_it_an_undo_step(make_main_window, monkeypatch, tmp_path) -> None:
    """Ctrl+S mid-drag wrote the live value into the file while the history had no step for
    it: undo then could not take back what the file held."""
    window = make_main_window(text="a fluffy blue creature", stage=Q_STAGE)
    state = window.state
    saved = []
    monkeypatch.setattr(window.sessions, "save", lambda: saved.append(state.undo_stack.count()) or True)
    panel = panel_for(window, W_Q)
    start = start_scrub(panel, 1, 2, [10, 25])
    kept = state.model.params[W_Q][0, 1, 2]
    window.actions["save"].trigger()
    assert saved == [1], "the scrub is one undo step before the file is written"
    finish_scrub(panel, start, [40])
    assert state.model.params[W_Q][0, 1, 2] == kept and state.undo_stack.count() == 1

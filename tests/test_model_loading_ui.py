"""Opening real models from the GUI: the dialogs, the worker thread, Cancel, failures, undo,
the sentence-comparison view and the raw sub-word pieces on the token chips.

Every load goes through the real path: the menu action, the (monkeypatched) file dialog, the
controller in ``ui.model_loader`` and the engine's checkpoint loader. Loads that must be slow
wrap the real loader with a progress callback that sleeps a little.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QLabel, QMessageBox, QPushButton

import simulator
import ui.model_loader as model_loader
from simulator.analysis import cosine_similarity
from simulator.checkpoints import LoadCancelled

CHECKPOINTS = Path(__file__).parent / "fixtures" / "checkpoints"
GPT2 = CHECKPOINTS / "gpt2-tiny"
BERT = CHECKPOINTS / "bert-tiny"
LOAD_TIMEOUT_MS = 20_000


def choose_folder(monkeypatch, folder: Path) -> list[str]:
    """Make the folder dialog return ``folder``; returns the list of dialog titles asked."""
    asked: list[str] = []

    def fake(parent, caption, start="", *args, **kwargs):  # noqa: ANN001, ANN202
        asked.append(caption)
        return str(folder)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", fake)
    return asked


def slow_loads(monkeypatch, delay: float) -> dict:
    """Wrap the real checkpoint loader so each progress step sleeps ``delay`` seconds.

    Returns a record of the thread the load ran on and of how it ended.
    """
    real = model_loader.load_checkpoint
    record: dict = {"threads": [], "outcome": None}

    def slow(path, progress=None, cancelled=None):  # noqa: ANN001, ANN202
        record["threads"].append(threading.get_ident())

        def sleepy(fraction: float, message: str) -> None:
            time.sleep(delay)
            progress(fraction, message)

        try:
            model = real(path, progress=sleepy, cancelled=cancelled)
        except LoadCancelled:
            record["outcome"] = "cancelled"
            raise
        record["outcome"] = "loaded"
        return model

    monkeypatch.setattr(model_loader, "load_checkpoint", slow)
    return record


def record_warnings(monkeypatch) -> list[tuple[str, str]]:
    shown: list[tuple[str, str]] = []

    def fake(parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN202
        shown.append((title, text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", fake)
    return shown


def wait_for_load(qtbot, window) -> None:
    qtbot.waitUntil(lambda: not window.model_loader.is_loading, timeout=LOAD_TIMEOUT_MS)


def undo_text(window) -> str:
    return window.actions["undo"].text().replace("&", "")


def test_open_model_loads_a_gpt2_folder_on_a_worker_thread_and_undo_restores_the_toy(make_main_window, qtbot, monkeypatch) -> None:
    window = make_main_window(text="the cat walks by the bank")
    state = window.state
    toy = state.model
    assert window.actions["open_model"] in window.menus["file"].actions()
    assert window.actions["open_model"] in window.menus["model"].actions()
    asked = choose_folder(monkeypatch, GPT2)
    record = slow_loads(monkeypatch, 0.03)
    ticks: list[bool] = []
    labels: set[str] = set()

    def tick() -> None:
        ticks.append(window.model_loader.is_loading)
        dialog = window.model_loader.progress_dialog
        if dialog is not None:
            labels.add(dialog.labelText())

    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(tick)
    timer.start()
    window.actions["open_model"].trigger()
    assert asked, "the folder dialog was not used"
    assert window.model_loader.is_loading
    assert state.model is toy, "the model must not change before the load has finished"
    wait_for_load(qtbot, window)
    timer.stop()

    assert sum(ticks) >= 5, f"the event loop did not run while loading ({sum(ticks)} ticks)"
    assert record["threads"] and record["threads"][0] != threading.get_ident(), "the load ran on the GUI thread"
    assert any("reading transformer." in label for label in labels), labels
    assert window.model_loader.progress_dialog is None
    assert state.model is not toy and state.model.info.name == "gpt2-tiny"
    assert state.model.config.n_layers == 2
    assert window.statusBar().currentMessage() == f"Loaded GPT-2 · gpt2-tiny from {GPT2}"
    assert undo_text(window) == "Undo load model GPT-2 · gpt2-tiny"
    window.actions["undo"].trigger()
    assert state.model is toy and state.text == "the cat walks by the bank"
    window.actions["redo"].trigger()
    assert state.model.info.name == "gpt2-tiny"


def test_cancel_mid_load_changes_nothing(make_main_window, qtbot, monkeypatch) -> None:
    window = make_main_window()
    state = window.state
    toy, steps = state.model, state.undo_stack.count()
    choose_folder(monkeypatch, GPT2)
    record = slow_loads(monkeypatch, 0.1)
    window.actions["open_model"].trigger()
    dialog = window.model_loader.progress_dialog
    qtbot.waitUntil(dialog.isVisible, timeout=5000)
    qtbot.waitUntil(lambda: dialog.value() > 0, timeout=5000)
    cancel = dialog.findChild(QPushButton)
    assert cancel is not None and cancel.text() == "Cancel"
    QTest.mouseClick(cancel, Qt.MouseButton.LeftButton)
    wait_for_load(qtbot, window)
    assert record["outcome"] == "cancelled"
    assert state.model is toy
    assert state.undo_stack.count() == steps
    assert "cancelled" in window.statusBar().currentMessage()


def _not_a_checkpoint(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "holiday-photos"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a model")
    return folder, "no config.json"


def _missing_tensor(tmp_path: Path) -> tuple[Path, str]:
    from safetensors.numpy import load_file, save_file

    folder = tmp_path / "gpt2-missing"
    shutil.copytree(GPT2, folder)
    tensors = load_file(folder / "model.safetensors")
    del tensors["transformer.h.1.mlp.c_fc.weight"]
    save_file(tensors, folder / "model.safetensors")
    return folder, "transformer.h.1.mlp.c_fc.weight"


def _corrupt_weights(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "gpt2-corrupt"
    shutil.copytree(GPT2, folder)
    (folder / "model.safetensors").write_bytes(b"garbage" * 10)
    return folder, "model.safetensors is damaged"


@pytest.mark.parametrize("make_folder", [_not_a_checkpoint, _missing_tensor, _corrupt_weights], ids=["not-a-checkpoint", "missing-tensor", "corrupt-file"])
def test_a_bad_folder_gives_a_clear_message_and_keeps_the_model(make_main_window, qtbot, monkeypatch, tmp_path, make_folder) -> None:
    window = make_main_window()
    state = window.state
    toy, steps = state.model, state.undo_stack.count()
    folder, says = make_folder(tmp_path)
    choose_folder(monkeypatch, folder)
    shown = record_warnings(monkeypatch)
    window.actions["open_model"].trigger()
    wait_for_load(qtbot, window)
    qtbot.waitUntil(lambda: bool(shown), timeout=LOAD_TIMEOUT_MS)
    title, text = shown[0]
    assert title == "Could not load the model"
    assert says in text and folder.name in text, text
    assert "The current model is unchanged." in text
    assert state.model is toy and state.undo_stack.count() == steps


def test_load_model_file_accepts_a_checkpoint_through_its_config_json_and_saved_models(make_main_window, qtbot, monkeypatch, tmp_path) -> None:
    window = make_main_window()
    state = window.state
    chosen = [str(GPT2 / "config.json")]
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (chosen[0], ""))
    window.actions["load_model"].trigger()
    wait_for_load(qtbot, window)
    assert state.model.info.name == "gpt2-tiny"
    saved = tmp_path / "toy-edited.npz"
    toy = simulator.build_preset("toy")
    toy.set_param("blocks.0.attn.W_Q", 7.0, (0, 0, 0))
    simulator.save_model(toy, saved)
    chosen[0] = str(saved)
    window.actions["load_model"].trigger()
    wait_for_load(qtbot, window)
    assert state.model.info.name == "toy"
    assert state.model.params["blocks.0.attn.W_Q"][0, 0, 0] == np.float32(7)
    assert undo_text(window) == f"Undo load model {state.model.info.title}"
    assert str(saved) in window.statusBar().currentMessage()


def expected_similarities(window) -> np.ndarray:
    """The engine's answer: cosine similarity of each sentence's pooled vector."""
    model, options = window.state.model, window.state.options
    vectors = np.stack([np.asarray(model.trace(text, **options)["pooled"]) for text in window.compare.sentences()])
    return cosine_similarity(vectors, vectors)


def shown_numbers(window) -> list[list[str]]:
    table = window.compare.table
    return [[table.item(i, j).text() for j in range(table.columnCount())] for i in range(table.rowCount())]


def test_bert_brings_the_comparison_view_with_the_engines_numbers(make_main_window, qtbot, monkeypatch) -> None:
    window = make_main_window()
    state = window.state
    compare, dock = window.compare, window.compare_dock
    assert not dock.isVisible() and not dock.toggleViewAction().isEnabled(), "toy models make no sentence embeddings"
    choose_folder(monkeypatch, BERT)
    window.actions["open_model"].trigger()
    wait_for_load(qtbot, window)
    assert "pooled" in state.model.graph
    qtbot.waitUntil(compare.isVisible, timeout=3000)
    assert dock.toggleViewAction().isEnabled()
    assert window.tabifiedDockWidgets(dock), "the comparison dock shares its place with the other side views"
    assert not window.next_token_dock.isVisible(), "an encoder predicts no next token: no tab saying so"
    from PySide6.QtWidgets import QTabBar

    fronts = [b.tabText(b.currentIndex()) for b in window.findChildren(QTabBar) if "Compare sentences" in
              [b.tabText(i) for i in range(b.count())]]
    assert fronts == ["Compare sentences"], "the comparison is the tab in front"
    assert not window.next_token_dock.toggleViewAction().isEnabled()
    sentences = compare.sentences()
    assert len(sentences) >= 2 and sentences[0] == state.text
    expected = expected_similarities(window)
    np.testing.assert_allclose(compare.similarities(), expected, rtol=1e-12, atol=1e-12)
    assert shown_numbers(window) == [[f"{v:.3f}" for v in row] for row in expected]
    assert compare.table.verticalHeaderItem(1).text() == "2" and sentences[1] in compare.table.verticalHeaderItem(1).toolTip()

    editor = compare.editors()[0]
    editor.setFocus()
    editor.selectAll()
    QTest.keyClicks(editor, "the cat sat on the mat.")
    qtbot.waitUntil(lambda: compare.sentences()[1] == "the cat sat on the mat.", timeout=2000)
    qtbot.waitUntil(lambda: shown_numbers(window)[0][1] == f"{expected_similarities(window)[0, 1]:.3f}", timeout=3000)
    np.testing.assert_allclose(compare.similarities(), expected_similarities(window), rtol=1e-12, atol=1e-12)

    editor.selectAll()
    QTest.keyClicks(editor, "cat " * 80)
    qtbot.waitUntil(lambda: bool(compare.errors()[1]), timeout=3000)
    error = compare.findChild(QLabel, "compareError2")
    assert error.isVisible() and "64" in error.text(), error.text()
    assert np.isnan(compare.similarities()[1]).all()
    assert shown_numbers(window)[0][1] == "—"
    assert not np.isnan(compare.similarities()[0, 2]), "the other sentences still compare"

    window.actions["undo"].trigger()
    assert "pooled" not in state.model.graph
    assert not dock.isVisible() and not dock.toggleViewAction().isEnabled()


@pytest.mark.parametrize(
    ("folder", "text", "shown", "raw"),
    [(GPT2, "The cat sat", "␣cat", "Ġcat"), (BERT, "the cat walks", "…l", "##l")],
    ids=["gpt2-space-marker", "bert-wordpiece"],
)
def test_token_chips_show_the_raw_piece_and_id_on_hover(make_main_window, folder, text, shown, raw) -> None:
    window = make_main_window(model=str(folder), text=text)
    encoding = window.state.model.encode(text)
    position = encoding.tokens.index(raw)
    chip = window.sentence_box.chip_labels()[position]
    assert chip.text().startswith(f"{shown} · "), chip.text()
    assert f"raw piece “{raw}” · id {encoding.ids[position]}" in chip.toolTip(), chip.toolTip()
    assert raw not in chip.text()


def test_closing_the_window_during_a_load_stops_it(make_main_window, qtbot, monkeypatch) -> None:
    window = make_main_window()
    choose_folder(monkeypatch, GPT2)
    record = slow_loads(monkeypatch, 0.1)
    window.actions["open_model"].trigger()
    qtbot.waitUntil(lambda: window.model_loader.progress_dialog.value() > 0, timeout=5000)
    window.close()
    assert not window.model_loader.is_loading
    assert record["outcome"] == "cancelled"


def test_a_second_load_while_one_is_running_is_refused(make_main_window, qtbot, monkeypatch) -> None:
    window = make_main_window()
    choose_folder(monkeypatch, GPT2)
    slow_loads(monkeypatch, 0.05)
    assert window.model_loader.start(GPT2)
    assert not window.model_loader.start(BERT)
    assert "Still loading checkpoints/gpt2-tiny" in window.statusBar().currentMessage()
    wait_for_load(qtbot, window)
    assert window.state.model.info.name == "gpt2-tiny"


def _open_bert(window, qtbot, monkeypatch) -> None:  # noqa: ANN001
    choose_folder(monkeypatch, BERT)
    window.actions["open_model"].trigger()
    wait_for_load(qtbot, window)
    assert "pooled" in window.state.model.graph


def test_the_next_token_view_hidden_for_an_encoder_is_back_at_the_next_start(make_main_window, qtbot, monkeypatch) -> None:
    first = make_main_window()
    _open_bert(first, qtbot, monkeypatch)
    assert not first.next_token_dock.isVisible()
    first.state.undo_stack.setClean()
    first.close()  # saves the dock layout
    second = make_main_window()  # same settings file, a decoder again
    assert second.next_token_dock.isVisible(), "hidden for the encoder only, not for good"


def test_leaving_presentation_shows_the_docks_of_the_model_loaded_meanwhile(make_main_window, qtbot, monkeypatch) -> None:
    window = make_main_window()
    window.actions["presentation"].trigger()
    _open_bert(window, qtbot, monkeypatch)
    window.actions["presentation"].trigger()
    assert not window.in_presentation
    assert not window.next_token_dock.isVisible() and not window.next_token_dock.toggleViewAction().isEnabled()
    assert window.compare_dock.isVisible()
    window.actions["undo"].trigger()  # back to the toy: next-token view, no comparison
    assert window.state.model.info.name == "toy"
    assert window.next_token_dock.isVisible() and not window.compare_dock.isVisible()


def test_an_encoder_opened_at_start_up_shows_the_comparison_in_front(make_main_window, qtbot) -> None:
    from PySide6.QtWidgets import QTabBar

    window = make_main_window(model=str(BERT))

    def front() -> list[str]:
        return [b.tabText(b.currentIndex()) for b in window.findChildren(QTabBar)
                if "Compare sentences" in [b.tabText(i) for i in range(b.count())]]

    qtbot.waitUntil(lambda: front() == ["Compare sentences"], timeout=2000)


def test_the_comparison_with_six_sentences_keeps_every_row_and_says_why_no_seventh(make_main_window, qtbot) -> None:
    window = make_main_window(model=str(BERT))
    compare = window.compare
    compare.set_other_sentences(["The cat sat.", "A dog ran.", "The bank is open.", "Rivers flow.", "Birds sing."])
    qtbot.waitUntil(lambda: compare.table.rowCount() == 6, timeout=3000)
    assert not compare.add_button.isEnabled() and "at most 6" in compare.add_button.text()
    table = compare.table
    rows_height = sum(table.rowHeight(r) for r in range(6)) + table.horizontalHeader().height()
    assert table.height() >= rows_height, "a short dock scrolls the panel; the table is never squeezed"
    compare.remove_sentence(0)
    assert compare.add_button.isEnabled() and compare.add_button.text() == "Add a sentence"

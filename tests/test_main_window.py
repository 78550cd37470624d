"""The main window, driven like a user would: keys, clicks, real mouse moves, typing."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from ui import colors
from ui.state import LAYOUT_COLUMNS


def expected_result(window, stage_id: str) -> np.ndarray:
    """What the engine says the result panel must show for the current head and layout."""
    state = window.state
    trace = state.trace
    spec = state.model.graph[stage_id]
    if stage_id == "tokens":
        vocab = state.model.config.vocab_size
        data = np.eye(vocab)[trace.ids]
    else:
        data = np.asarray(trace[stage_id])
        if spec.has_heads:
            data = data[state.head]
        if data.ndim == 1:
            data = data[None, :]
    if state.view.layout == LAYOUT_COLUMNS:
        data = data.T
    return data


def test_keyboard_steps_through_every_stage_showing_engine_data(make_main_window, qtbot) -> None:
    window = make_main_window()
    window.canvas.setFocus()
    ids = window.state.model.stage_ids()
    assert window.state.stage_id == ids[0]
    for i, stage_id in enumerate(ids):
        assert window.state.stage_id == stage_id
        np.testing.assert_array_equal(window.canvas.result_panel.matrix.data, expected_result(window, stage_id))
        assert stage_id in window.canvas.header_text()
        if i < len(ids) - 1:
            QTest.keyClick(window, Qt.Key.Key_Right)
    QTest.keyClick(window, Qt.Key.Key_Home)
    assert window.state.stage_id == ids[0]
    QTest.keyClick(window, Qt.Key.Key_End)
    assert window.state.stage_id == ids[-1]
    QTest.keyClick(window, Qt.Key.Key_Left)
    assert window.state.stage_id == ids[-2]
    QTest.keyClick(window, Qt.Key.Key_PageDown)
    assert window.state.stage_id == ids[-1]


def test_navigator_clicks_jump_to_every_stage(make_main_window) -> None:
    from PySide6.QtWidgets import QTreeWidget, QTreeWidgetItemIterator

    window = make_main_window()
    tree = window.navigator if isinstance(window.navigator, QTreeWidget) else window.navigator.findChild(QTreeWidget)
    items = {}
    it = QTreeWidgetItemIterator(tree)
    while it.value():
        item = it.value()
        sid = item.data(0, Qt.ItemDataRole.UserRole)
        if sid:
            items[sid] = item
        it += 1
    assert set(items) == set(window.state.model.stage_ids())
    for sid in reversed(window.state.model.stage_ids()):
        item = items[sid]
        tree.scrollToItem(item)
        rect = tree.visualItemRect(item)
        QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        assert window.state.stage_id == sid
        np.testing.assert_array_equal(window.canvas.result_panel.matrix.data, expected_result(window, sid))


def _hover(panel, row: int, col: int) -> None:
    pos = panel.cell_center_in_widget(row, col)
    QTest.mouseMove(panel.viewport(), QPoint(int(pos.x()), int(pos.y())))


def test_hover_on_scores_reads_out_and_highlights_operands(make_main_window, qtbot) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.scores")
    qtbot.wait(50)
    canvas = window.canvas
    q_panel, k_panel, result = canvas.panels
    _hover(result, 3, 1)
    value = window.state.trace["blocks.0.attn.scores"][0, 3, 1]
    text = window.readout.text()
    assert text.startswith("scores · head 0 · query 'creature' · key 'fluffy' = ")
    assert abs(float(text.rsplit("= ", 1)[1]) - value) < 0.01
    # the row of Q and the column of Kᵀ are outlined, nothing in the result
    assert [(r.x(), r.y(), r.width()) for r in q_panel.highlights] == [(0, 3, 8)]
    assert [(r.x(), r.y(), r.height()) for r in k_panel.highlights] == [(1, 0, 8)]
    _hover(result, 0, 0)
    assert "query 'a' · key 'a'" in window.readout.text()
    assert [(r.y()) for r in q_panel.highlights] == [0]


def test_hover_on_pattern_mentions_masked_cells(make_main_window, qtbot) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.pattern")
    qtbot.wait(50)
    masked_panel, result = window.canvas.panels
    _hover(masked_panel, 0, 3)
    assert window.readout.text().endswith("masked (−∞)")
    _hover(result, 3, 1)
    assert window.readout.text().startswith("pattern · head 0 · query 'creature' · key 'fluffy' = ")
    assert [(r.y(), r.height()) for r in masked_panel.highlights] == [(3, 1)]


@pytest.mark.parametrize("columns", [False, True])
def test_pattern_cells_of_masked_keys_are_hatched_not_white(make_main_window, qtbot, columns: bool) -> None:
    """A masked key's weight is exactly 0, but it was hidden, not ignored: it is drawn like the −∞
    it came from, in either layout, and visible-but-zero weights stay a colour of the scale."""
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.pattern")
    if columns:
        window.actions["columns"].trigger()
    qtbot.wait(50)
    result = window.canvas.panels[-1]
    image = result.grab().toImage()

    def pixel(row: int, col: int):  # noqa: ANN202
        r, c = (col, row) if columns else (row, col)
        centre = result.cell_center_in_widget(r, c)
        return image.pixelColor(round(centre.x()) + 3, round(centre.y()) + 9)

    white = (255, 255, 255)
    for query, key in ((0, 1), (0, 3), (2, 3)):  # later keys: masked
        colour = pixel(query, key)
        assert (colour.red(), colour.green(), colour.blue()) != white, (query, key)
    window.actions["causal"].trigger()  # no mask: nothing hatched
    qtbot.wait(50)
    assert "masked" not in result.matrix.extra
    assert window.state.trace["blocks.0.attn.pattern"][0, 0, 3] > 0


def test_with_the_mask_off_the_mask_stages_say_nothing_is_masked(make_main_window) -> None:
    window = make_main_window(stage="blocks.0.attn.masked")
    text = window.explanation.browser.toPlainText
    assert "causal mask is off" not in text()
    window.actions["causal"].trigger()
    assert not window.state.option("causal")
    assert "causal mask is off here, so nothing is masked" in text()
    window.actions["next"].trigger()  # the pattern
    assert window.state.stage_id == "blocks.0.attn.pattern" and "causal mask is off" in text()
    window.actions["next"].trigger()
    assert "causal mask is off" not in text()


def test_scores_before_and_after_scaling_each_have_a_scale_for_the_head_shown(make_main_window) -> None:
    """Raw Q·Kᵀ of fluffy's head 0 reach 113 and the scaled ones 40: each panel gets a range
    that fits its own numbers (the scaled ones used to be drawn pale on the raw ones' ±200)."""
    window = make_main_window("fluffy", stage="blocks.0.attn.scaled")
    raw_panel, scaled_panel = window.canvas.panels
    trace = window.state.trace
    for panel, stage in ((raw_panel, "blocks.0.attn.scores"), (scaled_panel, "blocks.0.attn.scaled")):
        peak = float(np.abs(trace[stage][0]).max())
        low, high = panel.matrix.levels
        assert low == -high and peak <= high <= 2.5 * peak, (stage, peak, high)
    assert scaled_panel.matrix.levels[1] < raw_panel.matrix.levels[1]


def test_when_not_every_column_has_room_for_a_name_the_columns_that_matter_get_one(make_main_window, qtbot) -> None:
    """fluffy's head 0 writes "creature"'s change into colour-blue and texture-fluffy: with 29
    named columns in a narrow panel, every k-th label used to leave exactly those unnamed."""
    window = make_main_window("fluffy", stage="blocks.0.attn.head_out")
    window.resize(900, 700)  # (wide windows wrap the equation and name every column)
    qtbot.wait(50)
    result = window.canvas.panels[-1]
    drawn = result.labels_drawn(1)
    assert 0 < len(drawn) < 29, "the test needs a panel too narrow to name every dimension"
    assert {"colour-blue", "texture-fluffy"} <= set(drawn), drawn
    labels = result.matrix.col_labels
    positions = [labels.index(name) for name in drawn]
    assert positions == sorted(positions)


@pytest.mark.parametrize(("preset", "stage"), [("fluffy", "blocks.0.attn.pattern"), ("fluffy", "blocks.0.attn.q"), ("toy", "blocks.0.ln1")])
def test_token_rows_line_up_across_the_equation(make_main_window, qtbot, preset: str, stage: str) -> None:
    """Row i of every operand with a row per token sits at the height of row i of the result,
    whatever the titles, column labels and widths of the panels (on the same row of a wrapped
    equation)."""
    window = make_main_window(preset, stage=stage)
    window.resize(2400, 1000)  # (wide enough for one row without numbers in the cells)
    if window.state.view.show_numbers:
        window.actions["numbers"].trigger()
    qtbot.wait(50)
    panels = [p for p in window.canvas.panels if p.isVisible()]
    result = panels[-1]
    rows = result.matrix.data.shape[0]
    line = window.canvas.line_of(result)
    token_panels = [p for p in panels if p.matrix.row_labels == result.matrix.row_labels and window.canvas.line_of(p) == line]
    assert len(token_panels) >= 2
    for panel in token_panels:
        for row in range(rows):
            mine = panel.mapTo(window, panel.cell_center_in_widget(row, 0)).y()
            theirs = result.mapTo(window, result.cell_center_in_widget(row, 0)).y()
            assert abs(mine - theirs) <= 1, (panel.matrix.title, row, mine, theirs)


def test_sentence_edits_update_or_keep_the_view(make_main_window, qtbot) -> None:
    from PySide6.QtWidgets import QLabel, QLineEdit

    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.pattern")
    edit = window.sentence_box.findChild(QLineEdit, "sentenceEdit")
    error = window.sentence_box.findChild(QLabel, "sentenceError")
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, "the cat walks")
    assert window.state.text == "the cat walks"
    assert window.canvas.result_panel.matrix.data.shape == (3, 3)
    assert not error.isVisible()
    # Right arrow while typing moves the cursor, it does not step
    stage = window.state.stage_id
    QTest.keyClick(edit, Qt.Key.Key_Left)
    QTest.keyClick(edit, Qt.Key.Key_Right)
    QTest.keyClick(edit, Qt.Key.Key_Space)
    assert window.state.stage_id == stage
    # empty text: an inline error, and the last good result stays
    edit.selectAll()
    QTest.keyClick(edit, Qt.Key.Key_Delete)
    assert error.isVisible() and "empty" in error.text()
    assert window.state.text == "the cat walks"
    assert window.canvas.result_panel.matrix.data.shape == (3, 3)
    # too long (pasted in one go): names the limit
    from PySide6.QtWidgets import QApplication

    QApplication.clipboard().setText(" ".join(["cat"] * 40))
    QTest.keyClick(edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert error.isVisible() and "32" in error.text()
    assert window.state.text == "the cat walks"
    # unknown words run, marked as unknown
    edit.selectAll()
    QTest.keyClicks(edit, "the zebra walks")
    assert window.state.text == "the zebra walks"
    assert not error.isVisible()
    assert window.state.trace.unknown == (1,)
    # undo restores the previous sentence
    window.actions["undo"].trigger()
    assert window.state.text == "the cat walks"


def test_toggles_change_the_data_as_the_engine_says(make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.masked")
    state = window.state
    assert np.isneginf(window.canvas.result_panel.matrix.data).any()
    window.actions["causal"].trigger()
    assert state.option("causal") is False
    shown = window.canvas.result_panel.matrix.data
    assert np.isfinite(shown).all()
    np.testing.assert_array_equal(shown, state.trace["blocks.0.attn.scaled"][0])
    window.actions["undo"].trigger()
    assert state.option("causal") is True and window.actions["causal"].isChecked()
    state.set_stage("blocks.0.attn.scaled")
    window.actions["scale"].trigger()
    np.testing.assert_array_equal(window.canvas.result_panel.matrix.data, state.trace["blocks.0.attn.scores"][0])
    window.actions["scale"].trigger()
    np.testing.assert_allclose(
        window.canvas.result_panel.matrix.data, state.trace["blocks.0.attn.scores"][0] / np.sqrt(state.model.config.d_head), rtol=1e-6
    )
    # columns layout (3Blue1Brown): queries become columns, factors swap places
    state.set_stage("blocks.0.attn.scores")
    window.actions["columns"].trigger()
    np.testing.assert_array_equal(window.canvas.result_panel.matrix.data, state.trace["blocks.0.attn.scores"][0].T)
    titles = [p.matrix.title for p in window.canvas.panels]
    assert titles[0].startswith("Kᵀ") and titles[1].startswith("Q")
    window.actions["numbers"].trigger()
    assert not window.canvas.result_panel.numbers_visible()


def test_head_and_layer_selectors(make_main_window) -> None:
    window = make_main_window(stage="blocks.0.attn.pattern")
    window.head_box.setValue(1)
    assert window.state.head == 1
    np.testing.assert_array_equal(window.canvas.result_panel.matrix.data, window.state.trace["blocks.0.attn.pattern"][1])
    window.layer_box.setValue(1)
    assert window.state.stage_id == "blocks.1.attn.pattern"
    window.actions["prev_layer"].trigger()
    assert window.state.stage_id == "blocks.0.attn.pattern"
    window.actions["next_head"].trigger()
    assert window.state.head == 0


def test_presentation_mode_enters_and_leaves(make_main_window, qtbot) -> None:
    window = make_main_window()
    sentence_size = window.sentence_box.font().pointSize()
    QTest.keyClick(window, Qt.Key.Key_F5)
    assert window.in_presentation and window.isFullScreen()
    assert window.sentence_box.font().pointSize() > sentence_size
    assert not window.navigator_dock.isVisible() and not window.menuBar().isVisible()
    QTest.keyClick(window, Qt.Key.Key_PageDown)
    assert window.state.stage_id == window.state.model.stage_ids()[1]
    QTest.keyClick(window, Qt.Key.Key_Escape)
    assert not window.in_presentation and not window.isFullScreen()
    assert window.navigator_dock.isVisible() and window.menuBar().isVisible()
    assert window.sentence_box.font().pointSize() == sentence_size


def test_play_steps_by_itself_and_stops_at_the_end(make_main_window, qtbot) -> None:
    window = make_main_window()
    window.speed_box.setCurrentIndex(0)
    window.play_timer.setInterval(5)
    window.state.set_stage(window.state.model.stage_ids()[-3])
    window.actions["play"].trigger()
    window.play_timer.setInterval(5)
    qtbot.waitUntil(lambda: not window.actions["play"].isChecked(), timeout=3000)
    assert window.state.stage_id == window.state.model.stage_ids()[-1]


def test_shortcuts_dialog_lists_the_declared_shortcuts(make_main_window) -> None:
    window = make_main_window()
    dialog = window.show_shortcuts()
    rows = dict(dialog.rows())
    assert "Right" in rows["Next stage"] and "Space" in rows["Next stage"]
    assert rows["Presentation mode"] == "F5"
    assert window.weight_editor.set_value("embed.W_E", (0, 0), "0.5")  # the undo action's text now names it
    dialog.close()
    dialog = window.show_shortcuts()
    rows = dict(dialog.rows())
    dialog.close()
    assert rows["Undo"] == "Ctrl+Z" and not any(name.startswith("Undo ") for name in rows)
    assert "Drag up or down on a weight cell" in rows.values()


@pytest.mark.parametrize("bad", [["--stage", "blocks.9.attn.q"], ["--preset", "nope"], ["--size", "big"], ["--head", "7"], ["--bogus"]])
def test_bad_arguments_exit_with_one_line(bad) -> None:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "ui", "--screenshot", "x.png", *bad], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr


def test_screenshot_entry_point_writes_a_non_blank_png(tmp_path) -> None:
    import subprocess
    import sys

    from PySide6.QtGui import QImage

    target = tmp_path / "shot.png"
    out = subprocess.run(
        [sys.executable, "-m", "ui", "--preset", "toy", "--stage", "blocks.0.attn.pattern", "--screenshot", str(target)],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    image = QImage(str(target))
    assert (image.width(), image.height()) == (1600, 1000)
    colours = {image.pixel(x, y) for x in range(0, 1600, 37) for y in range(0, 1000, 29)}
    assert len(colours) > 20


def test_high_contrast_redraws_every_panel_and_undoes(make_main_window) -> None:
    window = make_main_window(text="a fluffy blue creature", stage="blocks.0.attn.masked")
    window.actions["numbers"].trigger()  # (cells without numbers: one colour each)
    before = window.canvas.result_panel.grab().toImage()
    window.actions["contrast"].trigger()
    assert window.state.view.high_contrast
    after = window.canvas.result_panel.grab().toImage()
    corner = after.pixelColor(3, 3)
    assert corner.lightness() < 60, "high contrast draws on a dark background"
    assert before.pixelColor(3, 3).lightness() > 200
    np.testing.assert_array_equal(window.canvas.result_panel.matrix.data, window.state.trace["blocks.0.attn.masked"][0])

    def cell_colour(image, high: bool) -> tuple[int, int]:  # noqa: ANN001
        """(the pixel at the middle of cell (3, 0), the colour map's colour for its value)"""
        panel = window.canvas.result_panel
        centre = panel.cell_center_in_widget(3, 0)
        value = panel.matrix.data[3:4, 0:1]
        expected = colors.argb_image(value, panel.matrix.levels, panel.matrix.kind, high)[0, 0]
        return image.pixel(round(centre.x()), round(centre.y())), int(expected)

    got, expected = cell_colour(after, True)
    assert got == expected, "the cells are drawn with the high-contrast colour map"
    window.actions["undo"].trigger()
    assert not window.state.view.high_contrast
    image = window.canvas.result_panel.grab().toImage()
    assert image.pixelColor(3, 3).lightness() > 200
    got, expected = cell_colour(image, False)
    assert got == expected


def test_a_weight_edit_does_not_recolour_an_operand_whose_numbers_did_not_change(make_main_window, qtbot) -> None:
    """Editing W_Q changes attention downstream, and with it the largest value of the layer's
    residual-stream group: X (the stream going in) kept its numbers but got a new colour scale.
    Scales are now widened by what the trace before the edit (or before a whole scrub) showed."""
    window = make_main_window("fluffy", stage="blocks.0.attn.q")
    state = window.state
    x_panel = window.canvas.panels[0]
    before = (np.array(x_panel.matrix.data), x_panel.matrix.levels)
    assert window.weight_editor.set_value("blocks.0.attn.W_Q", (0, 2, 3), "-50")
    np.testing.assert_array_equal(x_panel.matrix.data, before[0])
    assert x_panel.matrix.levels == before[1]
    window.actions["undo"].trigger()
    for step, value in enumerate((10.0, -20.0, -50.0, -80.0)):  # one scrub gesture: one baseline
        state.apply_param("blocks.0.attn.W_Q", value, (0, 2, 3), update_baseline=step == 0)
        np.testing.assert_array_equal(x_panel.matrix.data, before[0])
        assert x_panel.matrix.levels == before[1], value


def test_traces_say_which_stages_they_computed_without_computing_more(qapp) -> None:  # noqa: ARG001
    import simulator

    trace = simulator.load("toy").trace("a fluffy blue creature")
    assert trace.computed("blocks.0.attn.q") is None
    q = trace["blocks.0.attn.q"]
    assert trace.computed("blocks.0.attn.q") is q and trace.computed("blocks.0.ln1") is not None
    assert trace.computed("logits") is None


def test_the_change_of_a_probability_is_drawn_on_a_signed_scale(make_main_window) -> None:
    window = make_main_window("fluffy", stage="blocks.0.attn.pattern")
    assert window.canvas.result_panel.matrix.kind == colors.SEQUENTIAL
    w_k = window.state.model.params["blocks.0.attn.W_K"][0]
    row, col = np.unravel_index(np.abs(w_k).argmax(), w_k.shape)  # the adjectives' answer: gone
    assert window.weight_editor.set_value("blocks.0.attn.W_K", (0, int(row), int(col)), "0")
    window.actions["difference"].trigger()
    shown = window.canvas.result_panel.matrix
    assert shown.title.startswith("Change") and shown.kind == colors.DIVERGING
    low, high = shown.levels
    assert low == -high and np.abs(shown.data).max() > 0


def test_the_change_view_says_so_where_an_edit_changed_nothing(make_main_window) -> None:
    window = make_main_window(stage="blocks.0.attn.k")
    assert window.weight_editor.set_value("blocks.0.attn.W_Q", (0, 0, 0), "3")  # queries only
    window.actions["difference"].trigger()
    shown = window.canvas.result_panel.matrix
    assert not np.abs(shown.data).any() and shown.note == "no change here since the last edit"
    window.actions["back"].trigger()  # the queries did change
    assert window.canvas.result_panel.matrix.note == "since the last edit"


def test_every_toolbar_button_fits_a_1280_pixel_window(make_main_window, qtbot) -> None:
    """Teachers' projectors are often 1280 wide: nothing may hide behind the toolbar's » menu."""
    window = make_main_window()
    window.resize(1280, 800)
    qtbot.wait(50)
    bar = window.toolbar
    hidden = [a.iconText() for a in bar.actions() if not a.isSeparator()
              and (bar.widgetForAction(a) is None or not bar.widgetForAction(a).isVisible())]
    assert not hidden, hidden


def test_screenshot_never_writes_settings_over_a_shared_path(tmp_path) -> None:
    """Screenshot mode once kept its settings in ``QSettings(os.devnull)``; Qt saves an ini file by
    renaming a temporary file over the target, so as root it replaced the machine's /dev/null
    with a regular file. Here ``os.devnull`` points at a stand-in file that must stay untouched,
    and nothing may land in the user's own settings folder either."""
    import os
    import subprocess
    import sys

    stand_in = tmp_path / "null-stand-in"
    stand_in.write_bytes(b"")
    before = stand_in.stat()
    home = tmp_path / "home"
    home.mkdir()
    script = (
        "import os, sys\n"
        f"os.devnull = {str(stand_in)!r}\n"
        "from ui.app import run\n"
        f"sys.exit(run(['--preset', 'toy', '--screenshot', {str(tmp_path / 'shot.png')!r}]))\n"
    )
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".data")}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    after = stand_in.stat()
    assert (after.st_ino, after.st_size, after.st_mtime_ns) == (before.st_ino, before.st_size, before.st_mtime_ns)
    assert stand_in.read_bytes() == b""
    assert not any(path.is_file() for path in home.rglob("*")), sorted(home.rglob("*"))

"""The lesson dock (``ui/lesson_player.py``): every built-in lesson plays end to end through the
dock with scripted right and wrong answers, ``--lesson`` opens a lesson (with ``--screenshot``
too), a broken lesson lists its problems, answers are kept per student, and progress survives a
restart."""

from __future__ import annotations

import html
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QInputDialog, QMessageBox

from simulator import lessons as L
from simulator.errors import SimulatorError
from ui.app import LaunchOptions, UsageError, build_window, parse_args
from ui.commands import SetParamCommand
from ui.lesson_answers import answers_path
from ui.lesson_player import LOCK_TIP, LessonPlayer, _displayed

BUILTIN = L.builtin_lessons()
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def names(monkeypatch):
    """The name dialog answers "Ada"; the calls are counted."""
    asked: list[str] = []

    def get_text(*args, **kwargs):
        asked.append(args[1] if len(args) > 1 else "")
        return "Ada", True

    monkeypatch.setattr(QInputDialog, "getText", staticmethod(get_text))
    return asked


@pytest.fixture
def problem_boxes(monkeypatch):
    shown: list[tuple[str, list]] = []
    monkeypatch.setattr(LessonPlayer, "show_problems_message", lambda self, name, problems: shown.append((name, problems)))
    return shown


def open_window(make_main_window, lesson: str, step: int | None = None):
    window = make_main_window("fluffy")
    assert window.lesson_player.open_lesson(lesson, step)
    return window


def wrong_number(truth: float) -> str:
    return repr(truth + 1000.0 * (abs(truth) + 1.0))


def click_engine_cell(window, row: int, col: int) -> None:
    """Click the result panel's cell that shows the engine's (row, col)."""
    panel = window.canvas.result_panel
    found = _displayed(panel.matrix, "cell", row, col)
    assert found is not None
    panel.cell_clicked.emit(found[1], found[2])


def answer_in_dock(window, question: L.Question, right: bool) -> L.Grade:
    """Give a scripted right or wrong answer through the dock's widgets and press Answer."""
    player = window.lesson_player
    state = window.state
    truth = L.answer(question, state.model)
    if question.type == "pick-cell":
        rows, cols = player._labels()
        cells = [(r, c) for r in range(len(rows)) for c in range(len(cols))]
        chosen = min(truth.value) if right else next(cell for cell in cells if cell not in truth.value)
        click_engine_cell(window, *chosen)
        assert player.picked == chosen
    elif question.type in ("choice", "sign"):
        options = [b.property("answer") for b in player._choice_buttons]
        right_options = truth.value if question.type == "choice" else {truth.value}
        chosen = min(right_options) if right else next(o for o in options if o not in right_options)
        next(b for b in player._choice_buttons if b.property("answer") == chosen).click()
    elif question.type == "number":
        player.number_edit.setText(repr(truth.value) if right else wrong_number(truth.value))
    elif right:
        from tests.test_lessons import SOLUTIONS

        solved = SOLUTIONS[player.lesson.id](state.model)
        for name, value in solved.params.items():
            if not np.array_equal(value, state.model.params[name]):
                state.undo_stack.push(SetParamCommand(state, name, np.array(value)))
    player.answer_button.click()
    grade = player.last_grade
    assert grade is not None, player.reveal_label.text()
    return grade


@pytest.mark.parametrize("lesson", BUILTIN, ids=[lesson.id for lesson in BUILTIN])
def test_every_builtin_lesson_plays_end_to_end_with_right_and_wrong_answers(make_main_window, names, lesson, tmp_path) -> None:
    window = open_window(make_main_window, lesson.id, 1)
    player = window.lesson_player
    assert window.lesson_dock.isVisible()
    for i, step in enumerate(lesson.steps):
        assert player.index == i
        assert player.progress_label.text().startswith(f"Step {i + 1} of {len(lesson.steps)}")
        if step.view.stage:
            assert window.state.stage_id == L.stage_id(step.question.view if step.question else step.view, window.state.model)
        assert window.state.text == step.view.sentence
        if step.question is not None:
            wrong = answer_in_dock(window, step.question, right=False)
            assert not wrong.correct
            assert html.escape(wrong.truth.text) in player.reveal_label.text()  # the truth beside the guess
            assert "Not quite" in player.reveal_label.text()
            right = answer_in_dock(window, step.question, right=True)
            assert right.correct, right.feedback
            assert "Right" in player.reveal_label.text()
            if step.question.get("explain"):
                assert html.escape(step.question.get("explain")) in player.reveal_label.text()
        player.next_button.click()
    assert player.index == len(lesson.steps) - 1 and not player.next_button.isEnabled()
    assert len(names) == 1  # the name is asked once per lesson run
    if lesson.questions():
        rows = json.loads(answers_path(player.data_dir).read_text(encoding="utf-8"))["answers"]
        assert {r["student"] for r in rows} == {"Ada"}
        assert len(rows) == 2 * len(lesson.questions())
        assert [r["correct"] for r in rows] == [False, True] * len(lesson.questions())


def test_the_answer_is_computed_from_the_model_on_screen(make_main_window, names) -> None:
    window = open_window(make_main_window, "challenge-blue-over-fluffy", 1)
    player = window.lesson_player
    question = player.step.question
    before = L.answer(question, window.state.model)
    from tests.test_lessons import solve_blue_over_fluffy

    solved = solve_blue_over_fluffy(window.state.model)
    w_k = "blocks.0.attn.W_K"
    window.state.undo_stack.push(SetParamCommand(window.state, w_k, np.array(solved.params[w_k])))
    after = L.answer(question, window.state.model)
    assert after.value != before.value
    click_engine_cell(window, *min(after.value))
    player.answer_button.click()
    assert player.last_grade.correct and player.last_grade.truth == after


def test_the_reveal_outlines_the_engine_cell_beside_the_picked_one(make_main_window, names) -> None:
    window = open_window(make_main_window, "challenge-blue-over-fluffy", 1)
    player = window.lesson_player
    truth = L.answer(player.step.question, window.state.model)
    rows, cols = player._labels()
    wrong = next((r, c) for r in range(len(rows)) for c in range(len(cols)) if (r, c) not in truth.value)
    click_engine_cell(window, *wrong)
    before = len(window.canvas.result_panel.highlights)
    player.answer_button.click()
    assert player.truth_cells == truth.value
    assert len(window.canvas.result_panel.highlights) == before + len(truth.value)


def test_a_pick_without_a_cell_or_a_bad_number_says_so_and_records_nothing(make_main_window, names) -> None:
    window = open_window(make_main_window, "challenge-blue-over-fluffy", 1)
    player = window.lesson_player
    player.answer_button.click()
    assert player.last_grade is None and "click a cell" in window.statusBar().currentMessage()
    number_step = next(i for i, s in enumerate(BUILTIN[3].steps) if s.question and s.question.type == "number")
    player.open_lesson(BUILTIN[3].id, number_step + 1)
    player.number_edit.setText("lots")
    player.answer_button.click()
    assert player.last_grade is None and "is not a number" in window.statusBar().currentMessage()
    assert not answers_path(player.data_dir).exists() and names == []


def test_next_and_back_have_their_own_keys_and_the_arrows_still_step(make_main_window, names) -> None:
    window = open_window(make_main_window, "queries-and-keys", 1)
    player = window.lesson_player
    window.canvas.setFocus()
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right, Qt.KeyboardModifier.AltModifier)
    assert player.index == 1
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert player.index == 0
    stage = window.state.stage_id
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Right)
    assert player.index == 0 and window.state.stage_id != stage  # the arrow steps the pass, not the lesson
    own = [k.toString() for name in ("lesson_next", "lesson_back", "lesson_answer") for k in window.actions[name].shortcuts()]
    everyone = [k.toString() for _, action in window.actions.items() for k in action.shortcuts()]
    assert own and all(everyone.count(key) == 1 for key in own)  # no other action has the lesson's keys


def test_the_dock_stays_in_presentation_mode(make_main_window, names) -> None:
    window = open_window(make_main_window, "queries-and-keys", 1)
    size = window.lesson_player.text_label.font().pointSizeF()
    window.set_presentation(True)
    QApplication.processEvents()
    assert window.lesson_dock.isVisible() and not window.navigator_dock.isVisible()
    assert window.lesson_player.text_label.font().pointSizeF() > size * 1.5
    window.lesson_player.next_button.click()
    assert window.lesson_player.index == 1
    window.set_presentation(False)
    assert window.lesson_player.text_label.font().pointSizeF() == size


def test_locked_controls_are_visibly_locked_and_unlocked_after(make_main_window, names) -> None:
    lesson = L.load_lesson("challenge-blue-over-fluffy")
    assert {"model", "sentence", "head"} <= set(lesson.steps[0].lock)
    window = open_window(make_main_window, lesson.id, 1)
    assert not window.sentence_box.isEnabled() and window.sentence_box.toolTip() == LOCK_TIP
    assert not window.head_box.isEnabled() and not window.actions["next_head"].isEnabled()
    assert not window.actions["choose_preset"].isEnabled()
    assert "locks model, sentence, head" in window.lesson_player.lock_label.text()
    window.state.set_head(1)  # (the window re-enables the head box on a change: the lock holds)
    assert not window.head_box.isEnabled()
    free = next(i for i, s in enumerate(lesson.steps) if not s.lock)
    window.lesson_player.go_to(free)
    assert window.sentence_box.isEnabled() and window.sentence_box.toolTip() == ""
    assert window.head_box.isEnabled() and window.actions["choose_preset"].isEnabled()


def test_a_stage_lock_holds_after_stepping_and_highlights_come_back(make_main_window, names) -> None:
    lesson = next(lesson for lesson in BUILTIN if any("stage" in s.lock for s in lesson.steps))
    index = next(i for i, s in enumerate(lesson.steps) if "stage" in s.lock)
    window = open_window(make_main_window, lesson.id, index + 1)
    assert not window.actions["next"].isEnabled() and window.actions["next"].statusTip() == LOCK_TIP
    window.state.set_head((window.state.head + 1) % window.state.model.config.n_heads)
    assert not window.actions["next"].isEnabled()
    marked = next(i for i, s in enumerate(lesson.steps) if s.highlights)
    window.lesson_player.go_to(marked)
    assert window.canvas.result_panel.highlights
    window.state.set_hover(None)
    window.canvas.refresh()
    window.state.trace_changed.emit()
    assert window.canvas.result_panel.highlights


def test_a_model_switched_away_comes_back_at_the_next_step(make_main_window, names) -> None:
    window = open_window(make_main_window, "scores-and-softmax", 1)
    lesson_model = window.state.model
    window.sessions.switch_preset("toy")
    assert window.state.model.info.name == "toy"
    window.lesson_player.next_button.click()
    step = window.lesson_player.step
    assert window.state.model.info.name == lesson_model.info.name and window.state.text == step.view.sentence
    assert window.state.stage_id == L.stage_id(step.question.view if step.question else step.view, window.state.model)


def test_progress_survives_a_restart(make_main_window, names, settings_path) -> None:
    window = open_window(make_main_window, "queries-and-keys", 1)
    window.lesson_player.next_button.click()
    window.lesson_player.next_button.click()
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    assert settings.value("lessons/progress/queries-and-keys", type=int) == 2
    again = make_main_window("fluffy")
    assert again.lesson_player.open_lesson("queries-and-keys")
    assert again.lesson_player.index == 2
    assert again.lesson_player.progress_label.text().startswith("Step 3 of")
    settings.setValue("lessons/progress/queries-and-keys", "junk")
    assert again.lesson_player.open_lesson("queries-and-keys") and again.lesson_player.index == 0


def test_the_class_summary_counts_answers_and_keeps_hands(make_main_window, names) -> None:
    window = open_window(make_main_window, "challenge-blue-over-fluffy", 1)
    player = window.lesson_player
    question = player.step.question
    answer_in_dock(window, question, right=False)
    player.student = None  # the name is asked again: Ada answers once more, her latest answer counts
    answer_in_dock(window, question, right=True)
    player.student = "Grace"
    answer_in_dock(window, question, right=True)
    dialog = player.show_summary()
    key = f"line {question.line}"
    right, wrong, hands_right, hands_wrong = dialog.rows[key]
    assert (right.text(), wrong.text()) == ("2", "0")
    truth = L.answer(question, window.state.model)
    assert dialog.given[key].text() == f"{truth.text} ×2"
    hands_right.setValue(17)
    hands_wrong.setValue(4)
    data = json.loads(answers_path(player.data_dir).read_text(encoding="utf-8"))
    assert data["hands"]["challenge-blue-over-fluffy"][key] == {"right": 17, "wrong": 4}
    dialog.close()
    again = player.show_summary()
    assert again.rows[key][2].value() == 17
    again.close()


def test_a_damaged_answers_file_is_set_aside_not_overwritten(make_main_window, names) -> None:
    window = open_window(make_main_window, "challenge-blue-over-fluffy", 1)
    player = window.lesson_player
    path = answers_path(player.data_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    answer_in_dock(window, player.step.question, right=True)
    assert len(json.loads(path.read_text(encoding="utf-8"))["answers"]) == 1
    assert [p.read_text(encoding="utf-8") for p in path.parent.glob("lesson-answers.damaged-*")] == ["{not json"]
    assert "set aside" in window.statusBar().currentMessage()


# -- the command line ----------------------------------------------------------------------------------
def test_lesson_options_parse_and_keep_the_others() -> None:
    options = parse_args(["--lesson", "queries-and-keys", "--lesson-step", "3", "--screenshot", "a.png"])
    assert (options.lesson, options.lesson_step, options.screenshot) == ("queries-and-keys", 3, "a.png")
    plain = parse_args(["--preset", "toy"])
    assert (plain.lesson, plain.lesson_step, plain.preset) == (None, None, "toy")
    for argv, message in ((["--lesson-step", "2"], "needs --lesson"),
                          (["--lesson", "queries-and-keys", "--lesson-step", "0"], "counts from 1")):
        with pytest.raises(UsageError, match=message):
            parse_args(argv)


def _options(**changes) -> LaunchOptions:
    base = dict(preset=None, model=None, text=None, stage=None, layer=None, head=None, screenshot=None, size=(1400, 900))
    return LaunchOptions(**{**base, **changes})


def test_lesson_option_opens_the_lesson_at_its_step(qtbot, settings_path, names) -> None:
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    window = build_window(_options(lesson="queries-and-keys", lesson_step=2), settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.state.undo_stack.setClean())
    lesson = L.load_lesson("queries-and-keys")
    player = window.lesson_player
    assert player.lesson.id == "queries-and-keys" and player.index == 1
    assert window.state.model.info.name == "fluffy" and window.state.text == lesson.steps[1].view.sentence
    assert window.state.undo_stack.count() == 0 and not window.lesson_dock.isHidden()
    with pytest.raises(SimulatorError, match="between 1 and 6"):
        build_window(_options(lesson="queries-and-keys", lesson_step=99), settings)


def broken_lesson(tmp_path: Path) -> Path:
    text = (L.LESSON_DIR / "03-queries-and-keys.md").read_text(encoding="utf-8")
    path = tmp_path / "broken.md"
    path.write_text(text.replace("stage: blocks.0.attn.q", "stage: blocks.0.attn.qq", 1).replace("type: sign", "type: guess", 1),
                    encoding="utf-8")
    return path


def test_a_broken_lesson_opens_with_its_problems_listed(qtbot, settings_path, problem_boxes, tmp_path) -> None:
    path = broken_lesson(tmp_path)
    expected = [str(p) for p in L.check(L.read_lesson(path))]
    assert len(expected) >= 2 and all(p.startswith("line ") for p in expected)
    settings = QSettings(str(settings_path), QSettings.Format.IniFormat)
    window = build_window(_options(lesson=str(path)), settings)
    qtbot.addWidget(window, before_close_func=lambda w: w.state.undo_stack.setClean())
    player = window.lesson_player
    assert player.lesson is None and [str(p) for p in player.problems] == expected
    assert all(html.escape(p) in player.problems_label.text() for p in expected)
    assert problem_boxes == [("broken.md", player.problems)]
    assert not player.next_button.isEnabled() and not player.answer_button.isVisible()


def test_lesson_screenshots_work_for_good_and_broken_lessons(tmp_path) -> None:
    env = {"PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    for lesson, name in (("causal-mask", "good.png"), (str(broken_lesson(tmp_path)), "broken.png")):
        shot = tmp_path / name
        done = subprocess.run([sys.executable, "-m", "ui", "--lesson", lesson, "--screenshot", str(shot)],
                              capture_output=True, text=True, env=env, timeout=120, cwd=tmp_path, check=False)
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and shot.stat().st_size > 10000


LOCKED_WEIGHTS = """---
id: locked-weights
title: Keys without edits
concepts: keys
preset: fluffy
---

## Look, do not touch
sentence: a fluffy blue creature
stage: blocks.0.attn.k
lock: weights

The keys, with the weights locked.

## Now edit
Edit W_K if you like.
"""


def test_a_weight_lock_refuses_clicks_on_weight_cells_until_a_step_frees_them(make_main_window, names, tmp_path) -> None:
    from tests.gui_actions import click_cell, panel_for

    path = tmp_path / "locked.md"
    path.write_text(LOCKED_WEIGHTS, encoding="utf-8")
    window = make_main_window("fluffy")
    assert window.lesson_player.open_lesson(str(path), 1)
    assert not window.actions["params"].isEnabled() and not window.params_dock.isEnabled()
    w_k = panel_for(window, "blocks.0.attn.W_K")
    click_cell(w_k, 0, 0)
    assert window.weight_editor.active_editor is None
    assert "locks the weights" in window.statusBar().currentMessage()
    w_k.setFocus()
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Return)
    assert window.weight_editor.active_editor is None
    window.lesson_player.next_button.click()
    click_cell(panel_for(window, "blocks.0.attn.W_K"), 0, 0)
    assert window.weight_editor.active_editor is not None
    window.weight_editor.close_editor()


def test_the_problems_message_opens_over_the_window_once_it_is_shown(make_main_window, tmp_path, qtbot) -> None:
    window = make_main_window("fluffy")
    assert not window.lesson_player.open_lesson(str(broken_lesson(tmp_path)))
    box = window.findChild(QMessageBox, "lessonProblemsBox")
    qtbot.waitUntil(box.isVisible, timeout=3000)
    assert "line " in box.text() and "unknown question type 'guess'" in box.text()
    box.accept()
    QApplication.processEvents()

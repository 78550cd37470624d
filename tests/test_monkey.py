"""The monkey (``tests/monkey``): thousands of seeded user actions on the real main window.

After every action: no exception reached the event loop, the canvas shows the current stage with
exactly the engine's numbers, the controls agree with the state, and the undo history is
consistent (see ``tests/monkey/checks.py``). A failure names the seed, the step and a steps file:

    python -m tests.monkey --replay FILE                   # exactly the steps of the failed run
    python -m tests.monkey --seed 20240607 --steps 3000    # the CI run, with timings and memory

The end of the file holds regression tests for the app bugs the monkey found.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import astuple
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from tests.gui_actions import close_checked
from tests.monkey.__main__ import DEFAULT_SEED, make_window
from tests.monkey.runner import Monkey, MonkeyFailure, load_steps, save_steps
from tests.monkey.steps import REQUIRED_CATEGORIES, TOUR_VARIANTS, Step, coverage, draw_step, draw_steps

#: the seed CI runs; ``test_the_ci_seed_covers_every_kind_of_user_action`` checks what it does
CI_SEED = DEFAULT_SEED
CI_STEPS = 3000
#: resident memory at the end may exceed the memory after this many steps by at most 10 %
MEMORY_BASE_STEP = 500
MEMORY_TOLERANCE = 0.10


@pytest.fixture
def monkey_windows(qapp, tmp_path):  # noqa: ANN001, ANN201
    """Factory for main windows made exactly as ``python -m tests.monkey`` makes them (same size,
    preset and sentence, so a replay starts from the same screen), each with its own settings
    file and recovery folder under ``tmp_path``; closed and checked for leftovers after."""
    made = []

    def factory(name: str = "run"):  # noqa: ANN202
        folder = tmp_path / name
        (folder / "work").mkdir(parents=True)
        window = make_window(folder)
        made.append(window)
        return window, folder / "work"

    yield factory
    for window in made:
        close_checked(window)
        window.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QApplication.processEvents()
    leftovers = [w for w in QApplication.topLevelWidgets() if w.isVisible()]
    assert not leftovers, f"windows left open: {[w.objectName() or type(w).__name__ for w in leftovers]}"


def run_monkey(window, folder: Path, seed: int | None, steps, **kwargs) -> dict:  # noqa: ANN001
    """Run the monkey; a failure fails the test with the seed, the step and how to replay it."""
    try:
        return Monkey(window, folder, seed).run(steps, **kwargs)
    except MonkeyFailure as failure:
        message = str(failure)  # (outside the except block: the traceback keeps Qt objects alive)
    pytest.fail(message, pytrace=False)


# -- the run CI does ------------------------------------------------------------------------------------
@pytest.mark.slow
def test_the_monkey_survives_3000_seeded_user_actions(monkey_windows) -> None:
    window, folder = monkey_windows()
    report = run_monkey(window, folder, CI_SEED, CI_STEPS, memory_marks=(MEMORY_BASE_STEP,))
    print(f"monkey seed {CI_SEED}: {report['steps']} steps in {report['seconds']} s "
          f"({report['check_seconds']} s checking), {report['skipped']} skipped, RSS {report['rss_mb']} MB")
    # the steps that were not skipped still did every kind of thing
    performed = report["performed"]
    missing = [category for category in REQUIRED_CATEGORIES if not performed.get(category)]
    assert not missing, f"seed {CI_SEED} never actually did: {missing} (performed: {performed})"
    base, end = report["rss_mb"][MEMORY_BASE_STEP], report["rss_mb"][CI_STEPS]
    assert end <= base * (1 + MEMORY_TOLERANCE), (
        f"resident memory grew from {base:.1f} MB after {MEMORY_BASE_STEP} steps to {end:.1f} MB after "
        f"{CI_STEPS} (more than {MEMORY_TOLERANCE:.0%}). Memory every 500 steps, with timings: "
        f"python -m tests.monkey --seed {CI_SEED} --steps {CI_STEPS}"
    )


def test_the_ci_seed_covers_every_kind_of_user_action() -> None:
    """The steps CI runs include every kind of action the issue lists, often enough to matter."""
    counts = coverage(draw_steps(CI_SEED, CI_STEPS))
    table = "\n".join(f"{n:6d}  {category}" for category, n in counts.items())
    short = {c: counts[c] for c, minimum in REQUIRED_CATEGORIES.items() if counts[c] < minimum}
    assert not short, f"seed {CI_SEED} does too few of {short} (wanted {REQUIRED_CATEGORIES}):\n{table}"
    names = {step.name for step in draw_steps(CI_SEED, CI_STEPS)}
    from tests.monkey.steps import GENERATORS

    assert names == set(GENERATORS), f"step kinds never drawn: {set(GENERATORS) - names}"


def test_steps_depend_on_the_seed_alone_and_any_prefix_is_a_shorter_run() -> None:
    """So ``--seed S --steps N`` replays the first N steps of a longer failed run exactly."""
    long = draw_steps(CI_SEED, 600)
    assert draw_steps(CI_SEED, 600) == long
    tour = sum(len(v) for v in TOUR_VARIANTS.values())
    for n in (1, tour - 1, tour + 7, 300):
        assert draw_steps(CI_SEED, n) == long[:n]
    assert draw_steps(CI_SEED + 1, 600) != long


# -- replaying -----------------------------------------------------------------------------------------
def final_state(window) -> tuple:  # noqa: ANN001
    """Everything a replay must reproduce: session, screen position, history and every weight."""
    state = window.state
    stack = state.undo_stack
    weights = hashlib.blake2b(digest_size=16)
    for name, value in state.model.params.items():
        weights.update(name.encode())
        weights.update(np.ascontiguousarray(value).tobytes())
    return (
        state.model.info.name, state.text, tuple(sorted(state.options.items())), astuple(state.view),
        state.stage_id, state.head, stack.index(), stack.count(), tuple(stack.text(i) for i in range(stack.count())),
        weights.hexdigest(), window.in_presentation, window.sessions.modified,
    )


def test_a_recorded_steps_file_replays_to_the_same_session(monkey_windows, tmp_path) -> None:
    rng = random.Random(11)
    edits = [
        Step("sentence", {"kind": "valid", "seed": 3, "mode": "replace", "pos": 0, "how": "type", "end": "enter"}),
        Step("jump", {"stage": 5}),
        Step("type_weight", {"panel": 0, "row": 1, "col": 2, "text": "0.5", "end": "enter"}),
        Step("scrub", {"panel": 1, "row": 2, "col": 1, "offsets": [40, 80]}),
        Step("toggle", {"name": "columns"}),
        Step("bulk", {"param": 4, "head": 1, "row": None, "scope": "Head", "op": "randomise", "seed": 7, "factor": 2.0}),
        Step("undo", {"via": "action"}),
    ]
    steps = edits + [draw_step(rng) for _ in range(60)]
    steps = [s for s in steps if s.name not in ("export_all", "load_model")]  # (slow, and not needed here)
    first, folder = monkey_windows("first")
    start = final_state(first)
    run_monkey(first, folder, None, steps)
    recorded = final_state(first)
    assert recorded != start and first.state.undo_stack.count() > 0, "the steps should have edited something"
    first.state.undo_stack.setClean()
    first.close()

    path = save_steps(tmp_path / "steps.json", 11, steps)
    seed, loaded = load_steps(path)
    assert (seed, loaded) == (11, steps)
    second, folder = monkey_windows("second")
    run_monkey(second, folder, seed, loaded)
    # the clean marker depends on whether the last save happened after the last edit: equal too
    assert final_state(second) == recorded


def test_a_failure_names_the_seed_the_step_and_a_steps_file_to_replay(monkey_windows) -> None:
    """An exception in a slot (as a bug in the app would raise) is caught after its step."""
    window, folder = monkey_windows()

    def broken(stage: str) -> None:
        raise RuntimeError(f"boom at {stage}")

    window.state.stage_changed.connect(broken)
    steps = [Step("hover", {"panel": 0, "row": 0, "col": 0}), Step("action", {"name": "next"}), Step("action", {"name": "next"})]
    try:
        Monkey(window, folder, seed=4242).run(steps)
    except MonkeyFailure as failure:
        text, saved = str(failure), failure.saved
    else:
        pytest.fail("the exception in the slot went unnoticed")
    finally:
        window.state.stage_changed.disconnect(broken)
    assert 'monkey (seed 4242) failed at step 1: ["action", {"name": "next"}]' in text
    assert "an exception reached the event loop" in text and "RuntimeError: boom at" in text
    assert f"python -m tests.monkey --replay {saved}" in text and "python -m tests.monkey --seed 4242 --steps 2" in text
    assert saved is not None and load_steps(saved) == (4242, steps[:2])


# -- bugs the monkey found ---------------------------------------------------------------------------------
def _set_weight(window, name: str, index: tuple[int, ...], text: str) -> None:  # noqa: ANN001
    assert window.weight_editor.set_value(name, index, text)


def test_change_view_at_the_tokens_stage_shows_the_tokens(make_main_window) -> None:
    """It raised IndexError: the tokens stage's source is the 1-D id array, cut as if it were 2-D."""
    window = make_main_window(stage="tokens")
    plain = np.array(window.canvas.result_panel.matrix.data)
    _set_weight(window, "embed.W_E", (0, 0), "0.75")
    window.actions["difference"].trigger()
    assert window.state.view.show_difference
    shown = window.canvas.result_panel.matrix
    np.testing.assert_array_equal(shown.data, plain)
    assert shown.source == "tokens"
    window.actions["columns"].trigger()
    shown = window.canvas.result_panel.matrix
    np.testing.assert_array_equal(shown.data, plain.T)


@pytest.mark.parametrize("layout", ["rows", "columns"])
def test_change_view_cuts_a_vocabulary_axis_to_the_columns_shown(make_main_window, layout: str) -> None:
    """Queries as columns: the change had every vocabulary row while the panel labels only the
    shown selection (a model with a large vocabulary shows its top logits)."""
    window = make_main_window("tiny-trained", stage="logits")
    state = window.state
    old = np.array(state.trace["logits"])
    if layout == "columns":
        window.actions["columns"].trigger()
    _set_weight(window, "ln_final.w", (0,), "3")
    window.actions["difference"].trigger()
    shown = window.canvas.result_panel.matrix
    selection = shown.row_index if shown.transposed else shown.col_index
    assert shown.transposed == (layout == "columns")
    assert selection is not None and len(selection) < state.model.config.vocab_size
    change = (np.asarray(state.trace["logits"]) - old)[:, list(selection)]
    expected = change.T if shown.transposed else change
    assert shown.data.shape == expected.shape
    assert shown.data.shape == (len(shown.row_labels), len(shown.col_labels))
    np.testing.assert_allclose(shown.data, expected, rtol=0, atol=1e-6)
    assert np.abs(shown.data).max() > 0


def test_a_very_long_word_does_not_widen_the_window(make_main_window) -> None:
    """One 5,000-letter word made a 37,000-pixel chip: the window grew to fit it (and its
    offscreen picture took 120 MB)."""
    window = make_main_window()
    box = window.sentence_box
    word = "a" * 5000
    box.edit.setFocus()
    box.edit.selectAll()
    QApplication.clipboard().setText(word)
    QTest.keyClick(box.edit, Qt.Key.Key_V, Qt.KeyboardModifier.ControlModifier)
    assert window.state.text == word
    QApplication.processEvents()
    (chip,) = box.chip_labels()
    assert chip.sizeHint().width() < 400 and word in chip.toolTip()
    assert window.minimumSizeHint().width() < 1400 and window.width() <= 1400


def test_cells_stay_clickable_when_the_colour_scale_is_huge(qtbot) -> None:
    """Colour-bar labels of ±3e38 were written out in 39 digits, which squeezed eight cells into
    one pixel: a click on any of them hit the first."""
    from ui.panels.heatmap import HeatmapPanel, Matrix

    data = np.array([[3e38, -3e38, 0, 1, 2, 3, 4, 5]], dtype=np.float32)
    panel = HeatmapPanel("bias")
    qtbot.addWidget(panel)
    panel.set_matrix(Matrix(
        data=data, row_labels=("b",), col_labels=tuple(str(i) for i in range(8)), row_axis="", col_axis="d_head",
        title="b_K", levels=(-3.4e38, 3.4e38), source="blocks.0.attn.b_K", editable=True,
    ))
    panel.resize(panel.minimumWidth(), 300)
    with qtbot.waitExposed(panel):
        panel.show()
    hits: list[tuple[int, int]] = []
    panel.cell_clicked.connect(lambda r, c: hits.append((r, c)))
    panel.cell_double_clicked.connect(lambda r, c: hits.append((r, c)))
    centres = [panel.cell_center_in_widget(0, c) for c in range(8)]
    assert centres[-1].x() - centres[0].x() >= 7 * 4, "cells narrower than 4 pixels cannot be aimed at"
    for centre in centres:
        QTest.mouseClick(panel.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(round(centre.x()), round(centre.y())))
    assert hits == [(0, c) for c in range(8)]


def test_the_shortcuts_dialog_goes_away_when_closed(make_main_window) -> None:
    """Every F1 kept a closed dialog (with its table) alive for as long as the window."""
    from ui.panels.shortcuts_dialog import ShortcutsDialog

    window = make_main_window()
    for _ in range(3):
        QTest.keyClick(window, Qt.Key.Key_F1)
        (dialog,) = [d for d in window.findChildren(ShortcutsDialog) if d.isVisible()]
        dialog.reject()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    assert window.findChildren(ShortcutsDialog) == []


def test_switching_model_forgets_the_bulk_row_of_the_old_one(make_main_window) -> None:
    """Row 29 of W_Q (head 3) was chosen in tiny-trained; switching to toy (2 heads, 16 rows)
    redrew the browser with the old row before forgetting it: IndexError in a slot."""
    window = make_main_window("tiny-trained")
    window.actions["params"].trigger()
    browser = window.params_browser
    browser.select("blocks.0.attn.W_Q", head=3)
    browser.heatmap.cell_clicked.emit(29, 0)  # as a click on a cell of row 29 does
    assert browser.scope_box.itemText(0).startswith("Row 29")
    window.preset_actions["toy"].trigger()
    assert window.state.model.info.name == "toy" and browser.head == 1
    scopes = [browser.scope_box.itemText(i) for i in range(browser.scope_box.count())]
    assert not any(text.startswith("Row") for text in scopes), scopes
    window.actions["undo"].trigger()  # and back: tiny-trained again, without a stale row either
    assert window.state.model.info.name == "tiny-trained"


def test_a_change_beyond_the_float_range_shows_as_infinity_without_a_warning(make_main_window) -> None:
    """3e38 → −3e38 changes the embedding by −6e38, past float32: numpy warned (an error here)."""
    window = make_main_window(stage="embed")
    token = int(window.state.trace.ids[0])
    _set_weight(window, "embed.W_E", (token, 0), "3e38")
    window.actions["difference"].trigger()
    _set_weight(window, "embed.W_E", (token, 0), "-3e38")
    shown = window.canvas.result_panel.matrix
    assert shown.data[0, 0] == -np.inf and np.isfinite(shown.levels).all()


def test_typing_does_not_pile_up_copies_of_the_sentence(make_main_window) -> None:
    """Each keystroke's command is merged into the burst's one and deleted by the stack, but PySide
    keeps its Python object referenced from the stack: each kept a copy of the sentence so far."""
    import gc

    from ui.commands import SetTextCommand

    window = make_main_window()
    edit = window.sentence_box.edit
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, "a fluffy blue creature " * 4)
    assert window.state.text.startswith("a fluffy blue creature a fluffy") and window.state.undo_stack.count() == 1
    gc.collect()
    state = window.state
    holding = [o for o in gc.get_objects() if isinstance(o, SetTextCommand) and getattr(o, "_state", None) is state]
    assert len(holding) <= window.state.undo_stack.count()


class _Nudged:
    """A trace whose values at one stage are moved by ``steps`` units in the last place."""

    def __init__(self, trace, sid: str, steps: float) -> None:  # noqa: ANN001
        self._trace, self._sid, self._steps = trace, sid, steps
        self.ids, self.options = trace.ids, trace.options

    def __getitem__(self, sid: str) -> np.ndarray:
        value = np.asarray(self._trace[sid])
        if sid != self._sid:
            return value
        return (value + self._steps * np.spacing(np.abs(value).max())).astype(value.dtype)


def test_the_check_allows_last_bit_rounding_against_a_fresh_model_but_not_a_stale_value(make_main_window) -> None:
    """The CI monkey failed on a BERT checkpoint whose fresh twin rounded a query 1-2 ulp apart
    (BLAS in another buffer); the panel itself must still equal the state's trace bit for bit."""
    from tests.monkey.checks import CheckFailed, check_result_panel

    window = make_main_window("fluffy", stage="blocks.0.attn.q")
    trace = window.state.trace
    check_result_panel(window, _Nudged(trace, "blocks.0.attn.q", 2))
    with pytest.raises(CheckFailed, match="differs from a fresh computation"):
        check_result_panel(window, _Nudged(trace, "blocks.0.attn.q", 1e5))
    matrix = window.canvas.result_panel.matrix
    data = np.array(matrix.data)
    data[0, 0] = np.nextafter(data[0, 0], np.inf)
    object.__setattr__(matrix, "data", data)  # as a UI that rounded or recomputed would show it
    with pytest.raises(CheckFailed, match="differs from the state's trace"):
        check_result_panel(window, trace)

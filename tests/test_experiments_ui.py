"""Experiments in the window (issue 16): switching parts off, and the Experiments dock.

A switch-off is one undo step, changes the prediction exactly as the engine's own ablated trace
does, survives saving and loading a session, and is marked in the navigator; the dock draws
the engine's attribution, logit lens and patching numbers as they are.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from simulator import experiments as ex
from simulator import ops
from ui.commands import SwitchPartCommand
from ui.experiments_panel import (
    SWITCH_OFF_TEXT,
    SWITCH_ON_TEXT,
    add_panel_switch_actions,
    switch_for_hover,
    token_label,
)
from ui.panels.navigator import OFF_MARK
from ui.state import Hover, head_switch, neuron_switch


def _actions(menu) -> dict:
    """Every enabled action of a menu and its submenus, by (submenu title, text)."""
    out = {}
    for action in menu.actions():
        if action.menu() is not None:
            for sub in action.menu().actions():
                out[(action.text(), sub.text())] = sub
        else:
            out[("", action.text())] = action
    return out


def test_switching_a_head_off_in_the_navigator_is_one_undo_step_and_matches_the_engine(make_main_window) -> None:
    window = make_main_window("toy")
    state = window.state
    before = state.trace.next_token_probs().copy()
    depth = state.undo_stack.count()
    nav = window.navigator
    menu = nav.context_menu_for(nav.item_for("blocks.1.attn.pattern"))
    actions = _actions(menu)
    actions[("Head 0", SWITCH_OFF_TEXT["zero"])].trigger()
    assert state.undo_stack.count() == depth + 1
    assert state.ablations == (head_switch(1, 0),)
    expected = state.model.trace(state.text, **state.options, interventions=[ex.Ablate("blocks.1.attn.z", head=0)])
    np.testing.assert_array_equal(state.trace.next_token_probs(), expected.next_token_probs())
    assert not np.array_equal(state.trace.next_token_probs(), before)
    assert f"{OFF_MARK}" in nav.group_text(1, "Attention")
    assert OFF_MARK not in nav.group_text(0, "Attention")
    state.undo_stack.undo()
    assert state.ablations == ()
    np.testing.assert_array_equal(state.trace.next_token_probs(), before)
    assert OFF_MARK not in nav.group_text(1, "Attention")
    state.undo_stack.redo()
    assert state.ablations == (head_switch(1, 0),)


def test_switch_on_and_mean_mode_from_the_mlp_menu(make_main_window) -> None:
    window = make_main_window("toy")
    state = window.state
    nav = window.navigator
    actions = _actions(nav.context_menu_for(nav.item_for("blocks.0.mlp.post")))
    assert not actions[("", SWITCH_ON_TEXT)].isEnabled()
    actions[("", SWITCH_OFF_TEXT["mean"])].trigger()
    assert state.ablations == (neuron_switch(0, None, "mean"),)
    assert f"{OFF_MARK}all" in nav.group_text(0, "MLP")
    actions = _actions(nav.context_menu_for(nav.item_for("blocks.0.mlp.post")))
    assert not actions[("", SWITCH_OFF_TEXT["mean"])].isEnabled()
    actions[("", SWITCH_ON_TEXT)].trigger()
    assert state.ablations == ()
    assert state.undo_stack.count() == 2


def test_a_neuron_column_and_a_head_panel_offer_their_part(make_main_window) -> None:
    from PySide6.QtWidgets import QMenu

    window = make_main_window("toy", stage="blocks.0.mlp.post")
    state = window.state
    state.set_hover(Hover("panel0", "blocks.0.mlp.post", (2, 5), ""))
    assert switch_for_hover(state.model, state.hover) == neuron_switch(0, 5)
    menu = QMenu()
    add_panel_switch_actions(state, "blocks.0.mlp.post", menu)
    next(a for a in menu.actions() if a.text() == SWITCH_OFF_TEXT["zero"]).trigger()
    assert state.ablations == (neuron_switch(0, 5),)
    assert f"{OFF_MARK}1 neuron" in window.navigator.group_text(0, "MLP")
    state.set_hover(None)
    state.set_head(1)
    menu = QMenu()
    add_panel_switch_actions(state, "blocks.1.attn.pattern", menu)
    next(a for a in menu.actions() if a.text() == SWITCH_OFF_TEXT["mean"]).trigger()
    assert state.ablations == (neuron_switch(0, 5), head_switch(1, 1, "mean"))


def test_the_next_token_view_shows_both_predictions_side_by_side(make_main_window) -> None:
    window = make_main_window("toy")
    state = window.state
    view = window.next_token
    assert view.comparison_rows() == []
    plain = [i for i, _ in view.predictions()]
    state.undo_stack.push(SwitchPartCommand(state, head_switch(0, 1), "zero"))
    rows = view.comparison_rows()
    assert [a[0] for a, _ in rows] == plain
    ablated = state.trace.next_token_probs()
    assert [(i, p) for _, (i, p) in rows] == [(i, p) for i, p in view.predictions()]
    assert all(ablated[i] == p for _, (i, p) in rows)
    assert all(state.plain_trace.next_token_probs()[i] == p for (i, p), _ in rows)
    assert "switched off" in view.title.text()


def test_switched_off_parts_survive_saving_and_loading_a_session(make_main_window, tmp_path) -> None:
    from ui.session_file import Session, load_session, save_session

    window = make_main_window("toy")
    state = window.state
    state.undo_stack.push(SwitchPartCommand(state, head_switch(1, 0), "mean"))
    state.undo_stack.push(SwitchPartCommand(state, neuron_switch(0, 7), "zero"))
    probs = state.trace.next_token_probs().copy()
    path = tmp_path / "s.npz"
    save_session(path, Session.from_state(state))
    state.undo_stack.push(SwitchPartCommand(state, head_switch(1, 0), None))
    loaded = load_session(path)
    assert loaded.ablations == (head_switch(1, 0, "mean"), neuron_switch(0, 7))
    loaded.install(state)
    assert state.ablations == loaded.ablations
    np.testing.assert_array_equal(state.trace.next_token_probs(), probs)
    assert OFF_MARK in window.navigator.group_text(1, "Attention")


def test_a_version_1_session_has_no_switched_off_parts(tmp_path) -> None:
    import simulator
    from simulator.model_file import write_npz_atomic
    from ui.session_file import Session, load_session, save_session
    from ui.state import ViewOptions

    model = simulator.build_preset("toy")
    options = {"causal": True, "scale_scores": True, "temperature": 1.0}
    path = tmp_path / "old.npz"
    save_session(path, Session(model, "a cat", "embed", 0, options, ViewOptions(), dict(model.params), (head_switch(0, 0),)))
    with np.load(path) as data:
        arrays = {k: np.array(data[k]) for k in data.files}
    meta = json.loads(arrays.pop("meta.json").tobytes().decode("utf-8"))
    assert meta["version"] == 2 and meta["session"]["ablations"]
    meta["version"] = 1
    del meta["session"]["ablations"]
    write_npz_atomic(path, arrays, meta)
    assert load_session(path).ablations == ()


# -- the Experiments dock --------------------------------------------------------------------------------
def _shown_experiments(window, tab):
    window.experiments_dock.show()
    window.experiments_dock.raise_()
    window.experiments.setCurrentWidget(tab)
    return tab


def test_attribution_bars_are_the_engines_parts_and_sum_to_the_logit(make_main_window) -> None:
    window = make_main_window("toy")
    state = window.state
    tab = _shown_experiments(window, window.experiments.attribution)
    predicted = int(np.argmax(state.trace["logits"][-1]))
    assert tab.chooser.token() == predicted
    parts = tab.parts()
    engine = ex.logit_attribution(state.trace, token=predicted)
    assert dict(parts) == engine
    assert [v for _, v in parts] == sorted(engine.values(), reverse=True)
    assert tab.logit() == float(state.trace["logits"][-1, predicted])
    assert sum(v for _, v in parts) == pytest.approx(tab.logit(), rel=1e-5, abs=1e-5)
    assert "add up to" in tab.total_label.text()
    other = int(np.argsort(state.trace["logits"][-1])[0])
    tab.chooser.set_token(other)
    assert dict(tab.parts()) == ex.logit_attribution(state.trace, token=other)
    tab.chooser.typed.setText("zzz not a token at all")
    tab.chooser.typed.returnPressed.emit()
    assert "tokens for this model" in tab.message.text() or "single token" in tab.message.text()
    assert dict(tab.parts()) == ex.logit_attribution(state.trace, token=other)


def test_attribution_follows_a_switch_off(make_main_window) -> None:
    window = make_main_window("toy")
    state = window.state
    tab = _shown_experiments(window, window.experiments.attribution)
    token = tab.chooser.token()
    state.undo_stack.push(SwitchPartCommand(state, head_switch(1, 1), "zero"))
    assert tab.chooser.token() == token or tab.chooser.token() is not None
    parts = dict(tab.parts())
    assert parts["blocks.1.attn.head_out[1]"] == 0.0
    assert parts == ex.logit_attribution(state.trace, token=tab.chooser.token())


def test_lens_table_top_tokens_are_the_engines(make_main_window) -> None:
    window = make_main_window("toy")
    state = window.state
    tab = _shown_experiments(window, window.experiments.lens)
    lens = ex.logit_lens(state.trace)
    top = tab.top_tokens()
    assert list(top) == ex.lens_stages(state.model) == list(lens)
    for r, (sid, logits) in enumerate(lens.items()):
        assert [i for i, _ in top[sid]] == [int(i) for i in np.argmax(logits, axis=-1)]
        for c, (token_id, prob) in enumerate(top[sid]):
            assert tab.table.item(r, c).text() == token_label(state.model, token_id)
            assert prob == pytest.approx(float(ops.softmax(logits.astype(np.float64))[c, token_id]))
    assert tab.table.rowCount() == len(lens) and tab.table.columnCount() == len(state.trace.tokens)


def test_the_dock_says_encoders_have_no_logits(make_main_window) -> None:
    window = make_main_window("toy")
    tab = _shown_experiments(window, window.experiments.lens)
    assert not tab.note.isVisible()
    import simulator

    model = simulator.load(__import__("pathlib").Path(__file__).parent / "fixtures" / "checkpoints" / "bert-tiny")
    if model.config.unembed:
        pytest.skip("this BERT checkpoint has an unembedding")
    from ui.commands import SetModelCommand

    window.state.undo_stack.push(SetModelCommand(window.state, model))
    assert tab.note.isVisible() and "predicts tokens" in tab.note.text()
    assert not window.experiments.patching.run_sweep()


def test_a_small_patching_sweep_fills_the_heatmap_with_the_engines_values(make_main_window, qtbot) -> None:
    window = make_main_window("toy", text="the cat walks by the bank")
    state = window.state
    tab = _shown_experiments(window, window.experiments.patching)
    a, b = tab.token_a.token(), tab.token_b.token()
    assert a is not None and b is not None and a != b
    corrupted = "the dog walks by the bank"
    with qtbot.waitSignal(tab.finished, timeout=20000) as blocker:
        assert tab.run_sweep(corrupted)
    assert blocker.args == [True]
    values = tab.values()
    stages = ex.lens_stages(state.model)
    clean = state.model.trace(state.text, **state.options)
    corrupt = state.model.trace(corrupted, **state.options)
    lo, hi = ex.logit_difference(corrupt, a, b), ex.logit_difference(clean, a, b)
    assert tab.ends() == (hi, lo)
    for r, sid in enumerate(stages):
        for p in range(len(clean.ids)):
            patched = ex.rerun(corrupt, [ex.Patch(sid, source=clean, position=p)])
            expected = (ex.logit_difference(patched, a, b) - lo) / (hi - lo)
            assert values[r, p] == pytest.approx(expected, rel=1e-9, abs=1e-12)
            assert tab.table.item(r, p).text() == f"{values[r, p]:.2f}"
    # patching the whole final stream at the last position restores everything
    assert values[-1, -1] == pytest.approx(1.0, abs=1e-5)
    assert tab.progress.value() == tab.progress.maximum() == values.size


def test_cancel_stops_a_patching_sweep(make_main_window, qtbot, monkeypatch) -> None:
    import ui.experiments_panel

    monkeypatch.setattr(ui.experiments_panel, "SWEEP_SLICE", 0.0)  # one patch per step of the timer
    window = make_main_window("toy", text="the cat walks by the bank")
    tab = _shown_experiments(window, window.experiments.patching)
    assert tab.run_sweep("the dog walks by the bank")
    assert tab.running
    qtbot.waitUntil(lambda: tab.progress.value() >= 3, timeout=5000)
    tab.cancel()
    assert 3 <= tab.progress.value() < tab.values().size
    assert not tab.running
    done = tab.progress.value()
    qtbot.wait(50)
    assert tab.progress.value() == done
    assert np.isnan(tab.values()).sum() == tab.values().size - done
    assert "Cancelled" in tab.summary.text()


def test_patching_refuses_sentences_of_another_length(make_main_window) -> None:
    window = make_main_window("toy", text="the cat walks by the bank")
    tab = _shown_experiments(window, window.experiments.patching)
    assert not tab.run_sweep("the dog walks")
    assert "same length" in tab.message.text()
    assert not tab.running


def test_a_model_switch_clears_the_switches_and_its_undo_brings_them_back(make_main_window) -> None:
    import simulator
    from ui.commands import SetModelCommand

    window = make_main_window("toy")
    state = window.state
    toy = state.model
    state.undo_stack.push(SwitchPartCommand(state, head_switch(0, 1), "mean"))
    state.undo_stack.push(SetModelCommand(state, simulator.build_preset("fluffy")))
    assert state.ablations == () and not state.trace.interventions
    assert OFF_MARK not in window.navigator.group_text(0, "Attention")
    state.undo_stack.undo()
    assert state.model is toy and state.ablations == (head_switch(0, 1, "mean"),)
    assert state.trace.interventions == (ex.Ablate("blocks.0.attn.z", head=1, mode="mean"),)
    assert OFF_MARK in window.navigator.group_text(0, "Attention")
    state.undo_stack.undo()
    assert state.ablations == ()


def test_a_switched_off_part_is_noted_on_the_panel_that_shows_it(make_main_window) -> None:
    window = make_main_window(stage="blocks.0.attn.z")
    state = window.state
    state.set_head(1)
    assert "switched off" not in window.canvas.result_panel.subtitle()
    state.undo_stack.push(SwitchPartCommand(state, head_switch(0, 1), "zero"))
    assert "⊘ this head switched off (zero)" in window.canvas.result_panel.subtitle()
    state.set_head(0)
    assert "switched off" not in window.canvas.result_panel.subtitle()
    state.undo_stack.undo()
    state.set_head(1)
    assert "switched off" not in window.canvas.result_panel.subtitle()

"""The side panels on their own, each with a real state: navigator, explanation, sentence box,
next-token view and embedding view. Input goes through real mouse and key events where it can."""

from __future__ import annotations

import itertools
import time

import numpy as np
import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit, QTreeWidgetItemIterator

import simulator
from simulator.analysis import pca_2d, pca_basis, project_2d, top_k
from simulator.stages import param_shapes
from ui.commands import SetOptionCommand, SetParamCommand, SetTextCommand
from ui.math_html import equation_plain
from ui.panels.embedding_view import EmbeddingView, place_labels
from ui.panels.explanation import EXPLANATIONS_DIR, ExplanationPanel, fill_shapes, parse_explanation, resolve
from ui.panels.navigator import STAGE_ROLE, PipelineNavigator
from ui.panels.next_token import NextTokenView
from ui.panels.sentence_box import SentenceBox
from ui.state import AppState, Hover

TEXT = "a fluffy blue creature"


@pytest.fixture
def state(qtbot) -> AppState:
    return AppState(simulator.load("toy"), TEXT)


def encoder_model(n_layers: int = 2) -> simulator.Model:
    """A small BERT-like model: post-LN, no unembedding, mean pooling, segment embeddings."""
    vocab = ["<unk>", "the", "cat", "sat", "on", "mat", "bank", "river", "."]
    config = simulator.ModelConfig(
        d_model=8, n_heads=2, d_head=4, n_layers=n_layers, d_mlp=16, vocab_size=len(vocab), n_ctx=16,
        norm="post", causal=False, n_token_types=2, embed_norm=True, unembed=False, pooling="mean",
    )
    rng = np.random.default_rng(7)
    params = {name: (1.0 if name.endswith(".w") else 0.0) + 0.5 * rng.standard_normal(shape) for name, shape in param_shapes(config).items()}
    return simulator.Model(config, params, simulator.WordTokenizer(vocab))


def shown(widget, qtbot, size=(500, 400)) -> None:
    """Show a panel as its own window at a realistic size; pytest-qt closes it afterwards."""
    qtbot.addWidget(widget)
    widget.resize(*size)
    widget.show()
    qtbot.waitExposed(widget)


# -- navigator ------------------------------------------------------------------------------------
def tree_items(tree) -> list:
    items, it = [], QTreeWidgetItemIterator(tree)
    while it.value():
        items.append(it.value())
        it += 1
    return items


def test_navigator_lists_every_stage_in_forward_order_with_groups(state, qtbot) -> None:
    nav = PipelineNavigator(state)
    qtbot.addWidget(nav)
    items = tree_items(nav)
    ids = [i.data(0, STAGE_ROLE) for i in items if i.data(0, STAGE_ROLE)]
    assert ids == state.model.stage_ids()
    tops = [nav.topLevelItem(i).text(0) for i in range(nav.topLevelItemCount())]
    assert tops == ["Embedding", "Block 0", "Block 1", "Output"]
    for sid in ids:
        item = nav.item_for(sid)
        spec = state.model.graph[sid]
        assert item.text(0) == spec.title and item.text(1) == spec.kind and sid in item.toolTip(0)
    parent = lambda sid: nav.item_for(sid).parent().text(0)  # noqa: E731
    assert parent("embed") == "Embedding" and parent("probs") == "Output"
    assert parent("blocks.0.ln1") == parent("blocks.0.attn.q") == parent("blocks.0.attn_out") == "Attention · head 0"
    assert parent("blocks.1.ln2") == parent("blocks.1.mlp.pre") == parent("blocks.1.mlp_out") == "MLP"
    assert parent("blocks.0.resid_pre") == parent("blocks.0.resid_mid") == parent("blocks.0.resid_post") == "Block 0"
    assert nav.item_for("blocks.1.attn.q").parent().parent().text(0) == "Block 1"


def test_navigator_groups_a_post_ln_encoder(qtbot) -> None:
    state = AppState(encoder_model(), "the cat sat")
    nav = PipelineNavigator(state)
    qtbot.addWidget(nav)
    ids = [i.data(0, STAGE_ROLE) for i in tree_items(nav) if i.data(0, STAGE_ROLE)]
    assert ids == state.model.stage_ids()
    parent = lambda sid: nav.item_for(sid).parent().text(0)  # noqa: E731
    assert parent("token_type_embed") == parent("embed_ln") == "Embedding"
    # post-LN: the norms follow the residual adds, at block level
    assert parent("blocks.0.ln1") == parent("blocks.0.ln2") == "Block 0"
    assert parent("blocks.0.attn.q").startswith("Attention") and parent("blocks.0.mlp.pre") == "MLP"
    assert parent("pooled") == "Output"


def test_navigator_click_jumps_and_highlights(state, qtbot) -> None:
    nav = PipelineNavigator(state)
    shown(nav, qtbot, (420, 600))
    for sid in ("blocks.1.attn.pattern", "embed", "blocks.0.mlp.post", "probs"):
        item = nav.item_for(sid)
        nav.scrollToItem(item)
        QTest.mouseClick(nav.viewport(), Qt.MouseButton.LeftButton, pos=nav.visualItemRect(item).center())
        assert state.stage_id == sid
        assert nav.current_item_stage() == sid and item.isSelected() and item.font(0).bold()
        assert [i.data(0, STAGE_ROLE) for i in nav.selectedItems()] == [sid]
    # only one item looks current
    bold = [i.data(0, STAGE_ROLE) for i in tree_items(nav) if i.data(0, STAGE_ROLE) and i.font(0).bold()]
    assert bold == ["probs"]


def test_navigator_follows_the_state_and_expands_the_current_block(state, qtbot) -> None:
    nav = PipelineNavigator(state)
    shown(nav, qtbot, (420, 600))
    blocks = {nav.topLevelItem(i).text(0): nav.topLevelItem(i) for i in range(nav.topLevelItemCount())}
    assert not blocks["Block 0"].isExpanded() and not blocks["Block 1"].isExpanded()
    state.set_stage("blocks.1.attn.z")
    assert nav.currentItem() is nav.item_for("blocks.1.attn.z") and nav.item_for("blocks.1.attn.z").isSelected()
    assert blocks["Block 1"].isExpanded() and not blocks["Block 0"].isExpanded()
    assert nav.viewport().rect().intersects(nav.visualItemRect(nav.item_for("blocks.1.attn.z")))
    state.set_stage("blocks.0.resid_pre")
    assert blocks["Block 0"].isExpanded() and not blocks["Block 1"].isExpanded()
    assert not nav.item_for("blocks.1.attn.z").font(0).bold()


def test_navigator_keyboard_enter_and_arrows(state, qtbot) -> None:
    nav = PipelineNavigator(state)
    shown(nav, qtbot, (420, 600))
    nav.setFocus()
    target = nav.item_for("pos_embed")
    nav.setCurrentItem(target, 0, QItemSelectionModel.SelectionFlag.NoUpdate)
    assert state.stage_id == "tokens"
    QTest.keyClick(nav, Qt.Key.Key_Return)
    assert state.stage_id == "pos_embed"
    QTest.keyClick(nav, Qt.Key.Key_Up)
    assert state.stage_id == "embed"


def test_navigator_hides_the_id_column_when_narrow(state, qtbot) -> None:
    nav = PipelineNavigator(state)
    shown(nav, qtbot, (420, 600))
    assert not nav.isColumnHidden(1)
    nav.resize(240, 600)
    assert nav.isColumnHidden(1)
    assert "blocks.0.attn.q" in nav.item_for("blocks.0.attn.q").toolTip(0)  # still told in the tooltip


def test_navigator_shows_the_current_head_and_rebuilds_for_a_new_model(state, qtbot) -> None:
    nav = PipelineNavigator(state)
    qtbot.addWidget(nav)
    state.set_head(1)
    assert nav.item_for("blocks.0.attn.q").parent().text(0) == "Attention · head 1"
    assert nav.item_for("blocks.1.attn.scores").parent().text(0) == "Attention · head 1"
    state.apply_model(encoder_model(n_layers=1), text="the cat sat", stage="pooled")
    ids = [i.data(0, STAGE_ROLE) for i in tree_items(nav) if i.data(0, STAGE_ROLE)]
    assert ids == state.model.stage_ids() and "probs" not in ids
    assert nav.current_item_stage() == "pooled"
    assert nav.item_for("blocks.0.attn.q").parent().text(0) == "Attention · head 1"


# -- explanation ---------------------------------------------------------------------------------------
def test_explanation_shows_text_equation_filled_shapes_and_the_preset_note(state, qtbot) -> None:
    panel = ExplanationPanel(state)
    qtbot.addWidget(panel)
    state.set_stage("blocks.0.attn.pattern")
    text = panel.plain_text()
    spec = state.model.graph["blocks.0.attn.pattern"]
    source = (EXPLANATIONS_DIR / "attn.pattern.md").read_text(encoding="utf-8")
    first_sentence = resolve(source.split("\n\n")[1], {"rows", "causal"}, {}).split(".")[0]
    assert text.startswith(spec.title)
    assert first_sentence in text
    assert equation_plain(spec.equation) in text
    assert "A = softmax(M) : (4×4) → (4×4)" in text and "2 heads" in text
    assert "Try this" in text and "add up its numbers" in text
    assert "In this model" in text and state.model.info.notes["attn.pattern"] in text
    assert "[head 2 × query_pos 4 × key_pos 4]" in text
    assert "`" not in text and "{" not in text


def test_explanation_follows_stage_sentence_and_model(state, qtbot) -> None:
    panel = ExplanationPanel(state)
    qtbot.addWidget(panel)
    state.set_stage("blocks.1.attn.q")
    assert equation_plain("Q = X · W_Q : (4×16) · (16×8) → (4×8)") in panel.plain_text()
    assert "In this model" in panel.plain_text() and state.model.info.notes["attn.q"] in panel.plain_text()
    state.undo_stack.push(SetTextCommand(state, "the cat walks by the bank"))
    assert "(6×16) · (16×8) → (6×8)" in panel.plain_text()
    state.apply_model(encoder_model(), text="the cat sat", stage="pooled")
    assert panel.plain_text().startswith("Sentence embedding (mean pooling)")
    assert "[d_model 8]" in panel.plain_text()


def test_every_stage_of_the_toy_model_has_a_complete_explanation(state, qtbot) -> None:
    panel = ExplanationPanel(state)
    qtbot.addWidget(panel)
    for sid in state.model.stage_ids():
        spec = state.model.graph[sid]
        text = panel.explanation(spec.kind)
        assert text is not None, spec.kind
        assert text.heading and text.paragraphs and text.equation and text.shapes and text.try_this, spec.kind
        filled = resolve(text.shapes, {"rows", "pre-LN"}, state.trace.dims)
        assert "{" not in filled and "}" not in filled, (spec.kind, filled)
        state.set_stage(sid)
        assert "No explanation" not in panel.plain_text()


def test_explanation_missing_file_falls_back_and_texts_are_cached(state, qtbot, tmp_path) -> None:
    (tmp_path / "embed.md").write_text(
        "# Looking words up\n\nEach token id picks\na row.\n\nSecond paragraph.\n\n## Equation\n\n`E = W_E[t]`\n\n"
        "## Shapes\n\n`({pos}×{d_model})`\n\n## Try this\n\nChange a word.\n",
        encoding="utf-8",
    )
    panel = ExplanationPanel(state, explanations_dir=tmp_path)
    qtbot.addWidget(panel)
    spec = state.model.graph["tokens"]
    text = panel.plain_text()
    assert "No explanation has been written for this step yet" in text
    assert spec.title in text and equation_plain(spec.equation) in text and "[pos 4]" in text
    state.set_stage("embed")
    text = panel.plain_text()
    assert "Each token id picks a row." in text and "Second paragraph." in text
    assert equation_plain("E = W_E[t]") in text and "(4×16)" in text and "Change a word." in text
    (tmp_path / "embed.md").write_text("# Changed\n", encoding="utf-8")
    state.set_stage("tokens")
    state.set_stage("embed")
    assert "Each token id picks a row." in panel.plain_text()  # read once, then cached


def test_explanation_keeps_its_scroll_position_when_nothing_it_says_changes(state, qtbot) -> None:
    panel = ExplanationPanel(state)
    shown(panel, qtbot, (300, 200))
    state.set_stage("blocks.0.attn.pattern")
    bar = panel.browser.verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum())
    state.undo_stack.push(SetOptionCommand(state, "temperature", 0.5))
    state.undo_stack.push(SetTextCommand(state, "the cat walks by"))  # same length: same shapes
    assert bar.value() == bar.maximum() > 0
    state.undo_stack.push(SetTextCommand(state, "the cat"))  # the shapes change
    assert "(2×2)" in panel.plain_text()


def test_parse_explanation_strips_backticks_and_joins_lines() -> None:
    parsed = parse_explanation(
        "# Title here\n\nLine one\nline two.\n\nPara `two`.\n\n## Equation\n\n`x = y · z`\n\n"
        "## Shapes\n\n`({pos}×{d_head})`\n\n## Try this\n\nDo\nthis.\n"
    )
    assert parsed.heading == "Title here"
    assert parsed.paragraphs == ("Line one line two.", "Para `two`.")
    assert parsed.equation == "x = y · z"
    assert parsed.shapes == "({pos}×{d_head})"
    assert parsed.try_this == "Do this."
    assert fill_shapes(parsed.shapes, {"pos": 3, "d_head": 8}) == "(3×8)"


def test_explanation_font_size_for_presentation(state, qtbot) -> None:
    panel = ExplanationPanel(state)
    qtbot.addWidget(panel)
    panel.set_font_point_size(19)
    assert panel.browser.font().pointSize() == 19
    assert panel.browser.document().defaultFont().pointSize() == 19
    assert panel.plain_text().startswith("Tokens")


# -- sentence box ----------------------------------------------------------------------------------------
@pytest.fixture
def box(state, qtbot) -> SentenceBox:
    widget = SentenceBox(state)
    shown(widget, qtbot, (500, 140))
    return widget


def edit_of(box: SentenceBox) -> QLineEdit:
    return box.findChild(QLineEdit, "sentenceEdit")


def error_of(box: SentenceBox) -> QLabel:
    return box.findChild(QLabel, "sentenceError")


def retype(edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    QTest.keyClicks(edit, text)


def test_chips_show_tokens_ids_and_unknown_words(state, box) -> None:
    vocab = state.model.tokenizer
    assert box.chips() == [f"{w} · {vocab.token_to_id(w)}" for w in TEXT.split()]
    retype(edit_of(box), "the zebra walks")
    assert state.text == "the zebra walks"
    assert box.chips() == [f"the · {vocab.token_to_id('the')}", "zebra → <unk> · 0", f"walks · {vocab.token_to_id('walks')}"]
    chips = box.chip_labels()
    assert [c.property("unknown") for c in chips] == [False, True, False]
    assert "not in the vocabulary: mapped to <unk>" in chips[1].toolTip()
    assert chips[1].isVisible()


def test_typing_is_live_and_one_burst_is_one_undo_step(state, box) -> None:
    edit = edit_of(box)
    retype(edit, "the cat walks")
    assert state.text == "the cat walks" and state.trace.ids.shape == (3,)
    assert state.undo_stack.count() == 1
    QTest.keyClick(edit, Qt.Key.Key_Return)  # Enter ends the burst
    QTest.keyClicks(edit, " by the bank")
    assert state.text == "the cat walks by the bank"
    assert state.undo_stack.count() == 2
    state.undo_stack.undo()
    assert state.text == edit.text() == "the cat walks"
    state.undo_stack.undo()
    assert state.text == edit.text() == TEXT
    assert state.undo_stack.count() == 2  # undo itself pushed nothing


def test_spaces_that_change_no_token_run_nothing(state, box) -> None:
    edit = edit_of(box)
    QTest.keyClick(edit, Qt.Key.Key_End)
    QTest.keyClicks(edit, "  ")
    assert edit.text() == TEXT + "  "
    assert state.text == TEXT and state.undo_stack.count() == 0


def test_errors_are_inline_and_keep_the_last_good_result(state, box) -> None:
    edit, error = edit_of(box), error_of(box)
    trace = state.trace
    chips = box.chips()
    assert not error.isVisible()
    edit.setFocus()
    edit.selectAll()
    QTest.keyClick(edit, Qt.Key.Key_Delete)
    assert error.isVisible() and "empty" in error.text()
    assert state.text == TEXT and state.trace is trace and box.chips() == chips
    edit.insert(" ".join(["cat"] * 40))  # a paste: one edit
    assert error.isVisible() and "40 tokens" in error.text() and "32" in error.text()
    assert state.text == TEXT and state.trace is trace
    retype(edit, "the cat")
    assert not error.isVisible() and state.text == "the cat"
    assert state.undo_stack.count() == 1


def test_an_edit_after_an_error_starts_a_new_undo_step(state, box) -> None:
    edit = edit_of(box)
    retype(edit, "the cat walks")
    edit.selectAll()
    QTest.keyClick(edit, Qt.Key.Key_Delete)
    QTest.keyClicks(edit, "the zebra walks")
    assert state.text == "the zebra walks"
    state.undo_stack.undo()
    assert state.text == edit.text() == "the cat walks"


def test_escape_restores_the_last_good_sentence(state, box) -> None:
    edit, error = edit_of(box), error_of(box)
    edit.setFocus()
    edit.selectAll()
    QTest.keyClick(edit, Qt.Key.Key_Delete)
    assert error.isVisible()
    QTest.keyClick(edit, Qt.Key.Key_Escape)
    assert edit.text() == TEXT and not error.isVisible() and state.text_error == ""


def test_changes_made_elsewhere_update_the_box_without_new_commands(state, box) -> None:
    edit = edit_of(box)
    state.undo_stack.push(SetTextCommand(state, "the dog swims", merge=False))
    assert edit.text() == "the dog swims" and box.chips()[1].startswith("dog · ")
    assert state.undo_stack.count() == 1
    state.undo_stack.undo()
    assert edit.text() == TEXT and state.undo_stack.count() == 1
    state.undo_stack.redo()
    assert edit.text() == "the dog swims"
    # a run option changing while the box holds unrunnable text leaves the typing alone
    edit.setFocus()
    edit.selectAll()
    QTest.keyClick(edit, Qt.Key.Key_Delete)
    state.undo_stack.push(SetOptionCommand(state, "temperature", 2.0))
    assert edit.text() == "" and error_of(box).isVisible()
    state.undo_stack.undo()
    assert edit.text() == "" and error_of(box).isVisible()
    # ... but an undo of the sentence does set it
    state.undo_stack.undo()
    assert edit.text() == TEXT and not error_of(box).isVisible()
    assert state.undo_stack.count() == 2


def test_typing_after_an_undo_does_not_merge_into_older_steps(state, box) -> None:
    edit = edit_of(box)
    retype(edit, "the cat")
    QTest.keyClick(edit, Qt.Key.Key_Return)
    QTest.keyClicks(edit, " walks")
    state.undo_stack.undo()
    assert state.text == "the cat"
    QTest.keyClick(edit, Qt.Key.Key_End)
    QTest.keyClicks(edit, " sits")
    assert state.text == "the cat sits"
    state.undo_stack.undo()
    assert state.text == "the cat"


def test_a_huge_paste_is_one_encode_and_does_not_freeze(state, box, monkeypatch) -> None:
    calls = []
    real = state.model.encode
    monkeypatch.setattr(state.model, "encode", lambda text: (calls.append(len(text)), real(text))[1])
    text = ("the cat walks by the bank " * 200)[:5000]
    start = time.perf_counter()
    edit_of(box).insert(text)
    elapsed = time.perf_counter() - start
    assert calls == [len(TEXT) + 5000]
    assert error_of(box).isVisible() and "32" in error_of(box).text()
    assert elapsed < 0.5, f"a 5,000-character edit took {elapsed:.2f} s"


def test_chips_follow_a_model_switch(state, box) -> None:
    state.apply_model(encoder_model(), text="the cat sat on the mat")
    assert box.chips() == ["the · 1", "cat · 2", "sat · 3", "on · 4", "the · 1", "mat · 5"]
    assert edit_of(box).text() == "the cat sat on the mat"


# -- next-token view ----------------------------------------------------------------------------------------
@pytest.fixture
def view(state, qtbot) -> NextTokenView:
    widget = NextTokenView(state)
    shown(widget, qtbot, (500, 350))
    return widget


def test_bars_are_the_engine_top_k(state, view) -> None:
    expected = top_k(state.trace["probs"][-1], 10)
    assert view.predictions() == expected
    tokenizer = state.model.tokenizer
    assert view._axis.labels == tuple(tokenizer.id_to_token(i) for i, _ in expected)
    assert view.chosen_token() == expected[0][0]
    view.k_box.setValue(25)
    assert view.predictions() == top_k(state.trace["probs"][-1], 25)
    state.undo_stack.push(SetTextCommand(state, "the cat walks"))
    assert view.predictions() == top_k(state.trace["probs"][-1], 25)


def test_temperature_slider_is_one_undoable_step(state, view) -> None:
    slider, label = view.temperature_slider, view.findChild(QLabel, "temperatureLabel")
    before = view.predictions()
    for value in (24, 30, 40):  # a drag: several values, one step
        slider.setValue(value)
    assert state.option("temperature") == 2.0 and label.text() == "T = 2.00"
    assert state.undo_stack.count() == 1
    after = view.predictions()
    assert [i for i, _ in after] == [i for i, _ in before]  # same order, flatter
    assert after[0][1] < before[0][1]
    np.testing.assert_allclose([p for _, p in after], [p for _, p in top_k(state.trace["probs"][-1], 10)])
    state.undo_stack.undo()
    assert state.option("temperature") == 1.0 and slider.value() == 20 and label.text() == "T = 1.00"
    assert state.undo_stack.count() == 1


def test_click_a_bar_then_append(state, view, qtbot) -> None:
    qtbot.wait(20)
    third = view.predictions()[2][0]
    QTest.mouseClick(view.plot.viewport(), Qt.MouseButton.LeftButton, pos=view.bar_center_in_widget(2))
    assert view.chosen_token() == third and view.choice.currentIndex() == 2
    token = state.model.tokenizer.id_to_token(third)
    QTest.mouseClick(view.findChild(type(view.append_button), "appendButton"), Qt.MouseButton.LeftButton)
    glue = " " if token.isalnum() else ""
    assert state.text == TEXT + glue + token
    assert list(state.trace.ids[:-1]) == list(simulator.load("toy").encode(TEXT).ids) and state.trace.ids[-1] == third
    assert view.predictions() == top_k(state.trace["probs"][-1], 10)
    state.undo_stack.undo()
    assert state.text == TEXT


def test_append_resets_the_choice_to_the_top_token(state, view) -> None:
    view.choose(2)
    view.append_chosen()
    assert view.chosen_token() == view.predictions()[0][0]
    assert view.choice.currentIndex() == 0


def test_sample_draws_reproducibly_from_the_bars_shown_and_moves_the_seed_on(state, view) -> None:
    from simulator.analysis import sample_next

    state.apply_option("temperature", 2.0)  # flat enough that seeds disagree
    view.k_box.setValue(5)
    shown = [i for i, _ in view.predictions()]
    view.seed_box.setValue(11)
    expected, _ = sample_next(state.trace["probs"][-1], 11, k=5)
    view.sample_button.click()
    assert expected in shown
    assert state.trace.ids[-1] == expected and state.undo_stack.count() == 1
    assert view.seed_box.value() == 12
    first = state.text
    state.undo_stack.undo()
    view.seed_box.setValue(11)
    view.sample()
    assert state.text == first, "the same seed, sentence and settings draw the same token"
    draws = set()
    for seed in range(20):
        state.undo_stack.undo()
        view.seed_box.setValue(seed)
        view.sample()
        draws.add(int(state.trace.ids[-1]))
    assert len(draws) > 1 and draws <= set(shown)


def test_top_p_narrows_sampling_to_the_most_likely(state, view) -> None:
    view.top_p_box.setValue(0.05)
    top = view.predictions()[0][0]
    for seed in range(5):
        view.seed_box.setValue(seed)
        view.sample()
        assert int(state.trace.ids[-1]) == top
        state.undo_stack.undo()


def test_append_twice_makes_two_undo_steps_and_punctuation_glues(state, view) -> None:
    period = state.model.tokenizer.token_to_id(".")
    view.k_box.setValue(30)
    ranks = [i for i, _ in view.predictions()]
    assert period in ranks
    view.choose(ranks.index(period))
    view.append_chosen()
    assert state.text == TEXT + "."
    view.append_chosen()
    assert state.undo_stack.count() == 2


def test_append_refuses_past_the_context_and_for_the_unknown_token(qtbot) -> None:
    state = AppState(simulator.load("toy"), " ".join(["cat"] * 32))
    view = NextTokenView(state)
    qtbot.addWidget(view)
    view.append_chosen()
    message = view.findChild(QLabel, "nextTokenMessage")
    assert "32 tokens" in message.text() and not message.isHidden()
    assert state.text == " ".join(["cat"] * 32) and state.undo_stack.count() == 0
    state.undo_stack.push(SetTextCommand(state, "the cat walks by the bank"))
    view.k_box.setValue(30)
    ranks = [i for i, _ in view.predictions()]
    unk = state.model.tokenizer.token_to_id("<unk>")
    assert unk in ranks
    view.choose(ranks.index(unk))
    view.append_chosen()
    assert "cannot be written as text" in message.text()
    assert state.text == "the cat walks by the bank" and state.undo_stack.count() == 1


def test_encoders_get_an_explanation_instead_of_bars(qtbot) -> None:
    state = AppState(encoder_model(), "the cat sat")
    view = NextTokenView(state)
    shown(view, qtbot)
    assert view.findChild(QLabel, "nextTokenUnsupported").isVisible()
    assert not view.plot.isVisible()
    assert not view.append_button.isEnabled() and not view.temperature_slider.isEnabled()
    assert view.predictions() == []
    view.append_chosen()
    assert state.undo_stack.count() == 0
    state.apply_model(simulator.load("toy"), text=TEXT)
    assert view.plot.isVisible() and view.append_button.isEnabled()
    assert view.predictions() == top_k(state.trace["probs"][-1], 10)


# -- embedding view ----------------------------------------------------------------------------------------
def test_embedding_points_are_the_pca_of_before_and_after(state, qtbot) -> None:
    view = EmbeddingView(state)
    shown(view, qtbot, (500, 350))
    assert view.is_fixed(), "fixed axes are the default"
    view.set_fixed(False)  # fit to this sentence
    state.set_stage("blocks.1.mlp.pre")
    assert view.layer() == 1 and view.stage_pair() == ("blocks.1.resid_pre", "blocks.1.resid_post")
    (before, after), ratio = pca_2d([state.trace["blocks.1.resid_pre"], state.trace["blocks.1.resid_post"]])
    got_before, got_after = view.points()
    np.testing.assert_array_equal(got_before, before)
    np.testing.assert_array_equal(got_after, after)
    bottom = view.plot.getPlotItem().getAxis("bottom").labelText
    assert bottom == f"PC1 ({ratio[0] * 100:.0f}% of variance)"
    assert "Block 1" in view.title.text()
    assert len(view._arrows) == 4
    view.set_after("attention")
    assert view.stage_pair() == ("blocks.1.resid_pre", "blocks.1.resid_mid")
    (_, after_attn), _ = pca_2d([state.trace["blocks.1.resid_pre"], state.trace["blocks.1.resid_mid"]])
    np.testing.assert_array_equal(view.points()[1], after_attn)
    state.undo_stack.push(SetTextCommand(state, "the cat walks by the bank"))
    assert view.points()[0].shape == (6, 2)


def test_embedding_labels_stay_inside_the_plot(state, qtbot) -> None:
    """The rightmost point's label used to run off the plot ("creat…")."""
    view = EmbeddingView(state)
    shown(view, qtbot, (240, 300))
    for text in ("a fluffy blue creature", "the cat walks by the bank to find fish", "the creature walks by the river"):
        state.undo_stack.push(SetTextCommand(state, text))
        qtbot.wait(20)
        box = view._view.sceneBoundingRect()
        labels = view._labels[: len(view.points()[1])]
        assert labels
        for label in labels:
            assert label.sceneBoundingRect().right() <= box.right() + 1, (text, label.toPlainText())


def test_embedding_layer_follows_the_stage(state, qtbot) -> None:
    view = EmbeddingView(state)
    qtbot.addWidget(view)
    assert view.layer() == 0  # tokens: before the blocks
    state.set_stage("blocks.1.attn.q")
    assert view.layer() == 1
    state.set_stage("logits")
    assert view.layer() == 1  # after the blocks: the last one
    state.set_stage("blocks.0.ln2")
    assert view.layer() == 0


def test_embedding_post_ln_compares_with_the_norms(qtbot) -> None:
    state = AppState(encoder_model(), "the cat sat")
    view = EmbeddingView(state)
    qtbot.addWidget(view)
    state.set_stage("blocks.1.attn.q")
    assert view.stage_pair() == ("blocks.1.resid_pre", "blocks.1.ln2")
    view.set_after("attention")
    assert view.stage_pair() == ("blocks.1.resid_pre", "blocks.1.ln1")


def test_embedding_one_unmoved_token_gives_no_nan(state, qtbot) -> None:
    for name in ("blocks.0.attn.W_O", "blocks.0.attn.b_O", "blocks.0.mlp.W_out", "blocks.0.mlp.b_out"):
        state.undo_stack.push(SetParamCommand(state, name, np.zeros(state.model.param_shape(name))))
    state.undo_stack.push(SetTextCommand(state, "cat"))
    view = EmbeddingView(state)
    shown(view, qtbot, (500, 350))
    view.set_fixed(False)
    state.set_stage("blocks.0.resid_post")
    before, after = view.points()
    np.testing.assert_array_equal(before, np.zeros((1, 2)))
    np.testing.assert_array_equal(after, np.zeros((1, 2)))
    np.testing.assert_array_equal(view.explained_variance(), [0.0, 0.0])
    assert view.plot.getPlotItem().getAxis("left").labelText == "PC2 (0% of variance)"
    assert view._arrows == []
    (x0, x1), (y0, y1) = view.plot.getPlotItem().getViewBox().viewRange()
    assert all(np.isfinite([x0, x1, y0, y1])) and x1 > x0 and y1 > y0


def test_embedding_highlights_the_hovered_token(state, qtbot) -> None:
    view = EmbeddingView(state)
    qtbot.addWidget(view)
    state.set_stage("blocks.0.attn.pattern")
    state.set_hover(Hover(panel="panel1", source="blocks.0.attn.pattern", index=(0, 2, 1), text=""))
    assert view.highlighted() == 2
    state.set_hover(Hover(panel="panel0", source="blocks.0.attn.W_Q", index=(0, 2, 1), text=""))
    assert view.highlighted() is None
    state.set_hover(Hover(panel="panel0", source="blocks.0.resid_pre", index=(3, 5), text=""))
    assert view.highlighted() == 3
    state.set_hover(None)
    assert view.highlighted() is None


def test_embedding_without_blocks(qtbot) -> None:
    model = encoder_model(n_layers=0)
    state = AppState(model, "the cat")
    view = EmbeddingView(state)
    shown(view, qtbot)
    assert view.layer() is None and view.stage_pair() is None
    assert view.findChild(QLabel, "embeddingUnsupported").isVisible() and not view.plot.isVisible()


def _bank_point(view: EmbeddingView, state: AppState, text: str) -> np.ndarray:
    state.undo_stack.push(SetTextCommand(state, text))
    return view.points()[1][list(state.trace.tokens).index("bank")]


def test_embedding_fixed_axes_let_bank_be_compared_between_sentences(qtbot) -> None:
    """Fixed per model (the default), "bank" after the river clue and after the money clue is
    drawn in one frame: it moves, towards the river landmark or the money landmark."""
    state = AppState(simulator.load("bank"), "the cat walks by the river bank")
    view = EmbeddingView(state)
    shown(view, qtbot, (520, 420))
    state.set_stage("blocks.1.resid_post")
    basis = view.basis()
    river_bank = _bank_point(view, state, "the cat walks by the river bank")
    money_bank = _bank_point(view, state, "the money in the bank")
    plain_bank = _bank_point(view, state, "the dog sits on the bank")
    assert view.basis() is basis, "the frame is computed once per model"
    refs = dict(view.references())
    assert sorted(refs) == ["money", "river", "spy", "water"], "the reference words this vocabulary has"
    assert np.linalg.norm(river_bank - money_bank) > 1.0, (river_bank, money_bank)
    distance = lambda a, b: float(np.linalg.norm(a - b))  # noqa: E731
    assert distance(river_bank, refs["river"]) < distance(river_bank, refs["money"])
    assert distance(money_bank, refs["money"]) < distance(money_bank, refs["river"])
    assert distance(plain_bank, river_bank) > 0.5 and distance(plain_bank, money_bank) > 0.5
    # the same sentence's before-points sit where the frame puts the stream, whatever the sentence
    before = view.points()[0]
    np.testing.assert_allclose(before, project_2d(basis, [state.trace["blocks.1.resid_pre"]])[0])
    assert view.plot.getPlotItem().getAxis("bottom").labelText.startswith("Fixed axis 1")


def test_embedding_fixed_axes_switch_to_fit_this_sentence_and_back(qtbot) -> None:
    state = AppState(simulator.load("bank"), "the money in the bank")
    view = EmbeddingView(state)
    shown(view, qtbot, (520, 420))
    state.set_stage("blocks.1.resid_post")
    box = view.findChild(QCheckBox, "fixedAxes")
    assert box.isChecked() and view.is_fixed()
    fixed = view.points()
    QTest.mouseClick(box, Qt.MouseButton.LeftButton)
    assert not view.is_fixed()
    (_, after), ratio = pca_2d([state.trace["blocks.1.resid_pre"], state.trace["blocks.1.resid_post"]])
    np.testing.assert_array_equal(view.points()[1], after)
    assert view.plot.getPlotItem().getAxis("bottom").labelText == f"PC1 ({ratio[0] * 100:.0f}% of variance)"
    assert sorted(w for w, _ in view.references()) == ["money", "river", "spy", "water"], "landmarks in both modes"
    QTest.mouseClick(box, Qt.MouseButton.LeftButton)
    np.testing.assert_array_equal(view.points()[1], fixed[1])


def test_embedding_fixed_axes_follow_the_model_and_its_embedding(qtbot) -> None:
    state = AppState(simulator.load("bank"), "the money in the bank")
    view = EmbeddingView(state)
    qtbot.addWidget(view)
    first = view.basis()
    state.undo_stack.push(SetParamCommand(state, "embed.W_E", state.model.params["embed.W_E"] * 2.0))
    assert view.basis() is not first, "an edited embedding is a new frame"
    np.testing.assert_allclose(view.basis().mean, 2 * first.mean)
    state.apply_model(encoder_model(), text="the cat sat")  # one reference word only: the whole vocabulary
    basis = view.basis()
    expected = pca_basis([state.model.params["embed.W_E"]])
    np.testing.assert_allclose(basis.axes, expected.axes)
    assert [w for w, _ in view.references()] == ["river"]
    view.show()
    qtbot.waitExposed(view)
    assert "vocabulary's variance" in view.plot.getPlotItem().getAxis("bottom").labelText


def test_place_labels_never_overlaps_and_drops_what_does_not_fit() -> None:
    anchors = [(100.0, 100.0)] * 12 + [(102.0, 101.0), (300.0, 50.0)]
    sizes = [(40.0, 14.0)] * len(anchors)
    rects = place_labels(anchors, sizes, (0.0, 0.0, 320.0, 200.0), nudges=[2] * len(anchors))
    kept = [r for r in rects if r is not None]
    assert rects[0] is not None, "the first label is always placed when there is room"
    assert any(r is None for r in rects), "labels with no free spot are dropped"
    for a, b in itertools.combinations(kept, 2):
        assert not (a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]), (a, b)
    for x, y, w, h in kept:
        assert 0 <= x and x + w <= 320 and 0 <= y and y + h <= 200
    assert rects[-1] is not None and rects[-1][0] + rects[-1][2] <= 320, "near the edge: put on the left"


def test_embedding_labels_never_overlap(qtbot) -> None:
    """Repeated words ("the … the") and landmarks near the tokens used to be drawn over each other."""
    state = AppState(simulator.load("bank"), "the cat walks by the river bank")
    view = EmbeddingView(state)
    shown(view, qtbot, (360, 300))
    for fixed in (True, False):
        view.set_fixed(fixed)
        for text in ("the cat walks by the river bank", "the money in the bank", "the the the the bank", "bank"):
            state.undo_stack.push(SetTextCommand(state, text))
            qtbot.wait(10)
            drawn = view.label_rects()
            assert drawn, text
            frame = view._view.sceneBoundingRect()
            for (a_text, a), (b_text, b) in itertools.combinations(drawn, 2):
                overlap = a[0] < b[0] + b[2] - 0.5 and b[0] < a[0] + a[2] - 0.5 and a[1] < b[1] + b[3] - 0.5 and b[1] < a[1] + a[3] - 0.5
                assert not overlap, (text, fixed, a_text, b_text)
            labels = [lb for lb in view._labels + view._reference_labels if lb.isVisible()]
            assert len(labels) == len(drawn), "every placed label is drawn, every dropped one hidden"
            for label in labels:
                box = label.sceneBoundingRect()
                rect = next(r for t, r in drawn if t == label.toPlainText() and abs(r[0] - box.left()) < 1 and abs(r[1] - box.top()) < 1)
                assert abs(rect[2] - box.width()) < 1 and abs(rect[3] - box.height()) < 1, "the computed rectangle is the drawn one"
                assert frame.left() - 1 <= box.left() and box.right() <= frame.right() + 1
                assert frame.top() - 1 <= box.top() and box.bottom() <= frame.bottom() + 1


def test_equations_show_subscripts_and_superscripts_as_in_a_maths_book() -> None:
    from ui.math_html import equation_html

    assert equation_html("Q = X · W_Q + b_Q") == "Q = X · W<sub>Q</sub> + b<sub>Q</sub>"
    assert equation_html("ΔE_h = Z_h · W_O[h]") == "ΔE<sub>h</sub> = Z<sub>h</sub> · W<sub>O</sub>[h]"
    assert equation_html("A = e^(M[i, j]) / Σ_k e^x") == "A = e<sup>M[i, j]</sup> / Σ<sub>k</sub> e<sup>x</sup>"
    assert equation_html("x_{i+1} < 2") == "x<sub>i+1</sub> &lt; 2"
    assert equation_plain("S / √d_head") == "S / √dhead"

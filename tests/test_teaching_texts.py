"""Every sentence the explanation panel shows is true of the model and the view on screen.

The texts follow the layout toggle (a row with queries as rows is a column with queries as
columns, and Q · Kᵀ is drawn as Kᵀ · Q), the architecture (BERT's norms come after attention and
the MLP), the causal mask and the tokeniser. Equations the texts state are checked against the
engine's numbers, and every example sentence is checked against its preset's vocabulary.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.presets import tiny_trained
from simulator.stages import param_shapes
from ui.commands import SetOptionCommand, SetParamCommand, SetViewCommand
from ui.math_html import CONDITIONS, choose_variants, equation_plain
from ui.panels.explanation import EXPLANATIONS_DIR, PLACEHOLDERS, ExplanationPanel, conditions_for, resolve
from ui.state import LAYOUT_COLUMNS, LAYOUT_ROWS, AppState

RESOURCES = Path(__file__).resolve().parents[1] / "resources"
TEXTS = sorted(p for p in EXPLANATIONS_DIR.glob("*.md") if p.name != "README.md")
BRACE_RE = re.compile(r"\{((?:[^{}]|\{[^{}]*\})*)\}")
#: quotations in the explanations that are phrases, not sentences to type into the app
NOT_SENTENCES = {"fluffy attends to creature", "nothing to do", "not relevant", "queries as rows",
                 "queries as columns", "probably an animal"}


def encoder_model() -> simulator.Model:
    """A small BERT-like model: post-LN, no unembedding, mean pooling, segment embeddings."""
    vocab = ["<unk>", "the", "cat", "sat", "on", "mat", "bank", "river", "."]
    config = simulator.ModelConfig(
        d_model=8, n_heads=2, d_head=4, n_layers=2, d_mlp=16, vocab_size=len(vocab), n_ctx=16,
        norm="post", causal=False, n_token_types=2, embed_norm=True, unembed=False, pooling="mean",
    )
    rng = np.random.default_rng(7)
    params = {name: (1.0 if name.endswith(".w") else 0.0) + 0.5 * rng.standard_normal(shape)
              for name, shape in param_shapes(config).items()}
    return simulator.Model(config, params, simulator.WordTokenizer(vocab))


def panel_for(qtbot, model: simulator.Model, text: str) -> tuple[AppState, ExplanationPanel]:
    state = AppState(model, text)
    panel = ExplanationPanel(state)
    qtbot.addWidget(panel)
    return state, panel


def flat(text: str) -> str:
    return " ".join(text.split())


# -- the variant mechanism -----------------------------------------------------------------------


def test_variants_pick_the_alternative_that_holds_and_keep_placeholders() -> None:
    text = "a {rows: row | columns: column} of {pos}, {pre-LN, no-LN: before | post-LN: after}"
    assert resolve(text, {"rows", "pre-LN"}, {"pos": 4}) == "a row of 4, before"
    assert resolve(text, {"columns", "post-LN"}, {"pos": 4}) == "a column of 4, after"
    assert choose_variants("{causal: only looking back}.", {"bidirectional"}) == "."
    assert choose_variants("Q = {rows: X · W : ({pos}×{d_model}) | columns: W · X}", {"rows"}) == "Q = X · W : ({pos}×{d_model})"
    assert conditions_for(LAYOUT_COLUMNS, "post", False, "hf") == {"columns", "post-LN", "bidirectional", "subword"}


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.name)
def test_every_brace_group_is_a_placeholder_or_a_variant_with_known_keys(path: Path) -> None:
    for group in BRACE_RE.findall(path.read_text(encoding="utf-8")):
        if group in PLACEHOLDERS:
            continue
        for part in group.split("|"):
            keys, sep, _ = part.partition(":")
            assert sep, f"{path.name}: {{{group}}} is neither a placeholder nor a variant"
            names = {k.strip() for k in keys.split(",")}
            assert names <= CONDITIONS, f"{path.name}: unknown keys {sorted(names - CONDITIONS)}"


@pytest.mark.parametrize("path", TEXTS, ids=lambda p: p.name)
def test_every_text_reads_cleanly_under_every_combination_of_conditions(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    dims = {name: 3 for name in PLACEHOLDERS}
    choices = (("rows", "columns"), ("pre-LN", "post-LN", "no-LN"), ("causal", "bidirectional"), ("word-level", "subword"))
    for combo in itertools.product(*choices):
        shown = resolve(source, set(combo), dims)
        assert "{" not in shown and "}" not in shown, (path.name, combo)
        prose = [line for line in shown.splitlines() if line and not line.startswith(("`", "#", "    "))]
        for line in prose:  # a variant that says nothing must not leave a gap behind
            assert not re.search(r"  |\s[.,;:]|^\s", line), (path.name, combo, line)


# -- queries as columns ----------------------------------------------------------------------------


def test_the_texts_follow_the_layout_on_screen(qtbot) -> None:
    state, panel = panel_for(qtbot, simulator.load("fluffy"), "a fluffy blue creature")
    state.set_stage("blocks.0.attn.scores")
    rows = flat(panel.plain_text())
    assert "S = Q · Kᵀ" in rows and "Kᵀ · Q" not in rows
    state.undo_stack.push(SetViewCommand(state, "layout", LAYOUT_COLUMNS))
    columns = flat(panel.plain_text())
    assert "S = Kᵀ · Q" in columns and "Q · Kᵀ" not in columns
    assert "one column per query word" in columns and "one row per query word" not in columns
    state.set_stage("blocks.0.attn.pattern")
    text = flat(panel.plain_text())
    assert "each column sums to 1" in text and "query's column of scores" in text
    assert "each row sums to 1" not in text and "query's row" not in text
    state.undo_stack.push(SetViewCommand(state, "layout", LAYOUT_ROWS))
    text = flat(panel.plain_text())
    assert "each row sums to 1" in text and "each column sums to 1" not in text
    state.set_stage("blocks.0.attn.q")
    assert equation_plain("Q = X · W_Q + b_Q") in flat(panel.plain_text())


def test_the_panel_never_shows_a_row_layout_product_with_queries_as_columns(qtbot) -> None:
    state, panel = panel_for(qtbot, simulator.load("fluffy"), "a fluffy blue creature")
    state.undo_stack.push(SetViewCommand(state, "layout", LAYOUT_COLUMNS))
    for kind, row_form in (("attn.q", "X · W"), ("attn.z", "A · V"), ("mlp.pre", "X · W"), ("mlp_out", "A · W"),
                           ("attn.head_out", "z · W"), ("logits", "X · W"), ("embed", "onehot(ids) · W")):
        state.set_stage(kind if kind in ("embed", "logits") else f"blocks.0.{kind}")
        text = flat(panel.plain_text())
        assert row_form not in text, kind


# -- architecture --------------------------------------------------------------------------------


def test_post_ln_norms_are_explained_as_after_attention_and_after_the_mlp(qtbot) -> None:
    state, panel = panel_for(qtbot, encoder_model(), "the cat sat on the mat")
    state.set_stage("blocks.0.ln1")
    text = flat(panel.plain_text())
    assert "LayerNorm after attention" in text and equation_plain("X = LN(resid_mid)") in text and "Before attention reads" not in text
    state.set_stage("blocks.0.ln2")
    text = flat(panel.plain_text())
    assert "LayerNorm after the MLP" in text and equation_plain("block output = LN(resid_post)") in text
    assert "normalised again before the MLP" not in text
    state.set_stage("blocks.0.resid_post")
    assert equation_plain("resid_post = LN(resid_mid) + mlp_out") in flat(panel.plain_text())
    state.set_stage("blocks.0.resid_pre")
    assert equation_plain("resid_pre = LN(E + P + S) in the first block") in flat(panel.plain_text())
    toy_state, toy = panel_for(qtbot, simulator.load("toy"), "the cat")
    toy_state.set_stage("blocks.0.ln1")
    assert "LayerNorm before attention" in flat(toy.plain_text()) and equation_plain("X = LN(resid_pre)") in flat(toy.plain_text())
    toy_state.set_stage("blocks.0.resid_post")
    assert equation_plain("resid_post = resid_mid + mlp_out") in flat(toy.plain_text())


@pytest.mark.parametrize("model", [encoder_model(), simulator.load("toy"), simulator.load("fluffy")], ids=["post", "pre", "none"])
def test_the_residual_equations_the_texts_state_are_what_the_engine_computes(model: simulator.Model) -> None:
    trace = model.trace("the cat")
    norm = model.config.norm
    for layer in range(model.config.n_layers):
        p = f"blocks.{layer}."
        mid = trace[p + "resid_pre"] + trace[p + "attn_out"]
        np.testing.assert_allclose(trace[p + "resid_mid"], mid, rtol=1e-6, atol=1e-6)
        into_mlp = trace[p + "ln1"] if norm == "post" else trace[p + "resid_mid"]
        np.testing.assert_allclose(trace[p + "resid_post"], into_mlp + trace[p + "mlp_out"], rtol=1e-6, atol=1e-6)
        if layer:
            before = trace[f"blocks.{layer - 1}.ln2"] if norm == "post" else trace[f"blocks.{layer - 1}.resid_post"]
            np.testing.assert_array_equal(trace[p + "resid_pre"], before)
    if norm == "post":
        np.testing.assert_array_equal(trace["blocks.0.resid_pre"], trace["embed_ln"])


def test_layernorm_claims_a_huge_entry_becomes_a_spike_and_gamma_zero_leaves_beta(qtbot) -> None:
    model = encoder_model()
    state = AppState(model, "the cat sat")
    w_e = state.model.params["embed.W_E"]
    row = state.trace.ids[1]
    state.undo_stack.push(SetParamCommand(state, "embed.W_E", 1e6, index=(int(row), 3)))
    out = state.trace["embed_ln"][1]
    w, b = state.model.params["embed_ln.w"], state.model.params["embed_ln.b"]
    normalised = (out - b) / w
    d = model.config.d_model
    assert abs(normalised[3] - np.sqrt(d - 1)) < 1e-3  # the spike: about √d_model
    others = np.delete(normalised, 3)
    assert np.ptp(others) < 1e-3  # the rest of the word is flattened to one number
    assert w_e.shape[1] == d
    state.undo_stack.push(SetParamCommand(state, "blocks.0.ln1.w", 0.0, index=(2,)))
    np.testing.assert_allclose(state.trace["blocks.0.ln1"][:, 2], state.model.params["blocks.0.ln1.b"][2])
    text = (EXPLANATIONS_DIR / "embed_ln.md").read_text(encoding="utf-8")
    assert "single spike of about √{d_model}" in text and "becomes the same number, its β" in (EXPLANATIONS_DIR / "ln1.md").read_text(encoding="utf-8")


# -- texts that fit the model on screen ------------------------------------------------------------


def test_the_mlp_width_and_the_tokeniser_are_described_as_they_are(qtbot) -> None:
    state, panel = panel_for(qtbot, simulator.load("fluffy"), "a fluffy blue creature")
    state.set_stage("blocks.0.mlp.pre")
    text = flat(panel.plain_text())
    assert "This model has 6 neurons for its 29 dimensions" in text and "usually four times" not in text
    state.set_stage("tokens")
    text = flat(panel.plain_text())
    assert "watch it break into several tokens" not in text
    assert "become one <unk> token" in text
    assert state.model.encode("flibbertigibbet").tokens == ("<unk>",)


def test_the_mask_decides_whether_bank_may_listen_to_fish(qtbot) -> None:
    state, panel = panel_for(qtbot, simulator.load("fluffy"), "the cat walks by the bank to find fish")
    state.set_stage("blocks.1.attn.pattern")
    text = flat(panel.plain_text())
    assert 'the mask keeps "bank" from seeing "fish"' in text
    bank, fish = 5, 8
    assert state.trace["blocks.1.attn.pattern"][:, bank, fish].max() == 0.0
    state.undo_stack.push(SetOptionCommand(state, "causal", False))
    assert '"bank" in "the cat walks by the bank to find fish" may listen to the later "fish"' in flat(panel.plain_text())
    for kind in ("attn.pattern", "attn.v", "resid_pre", "resid_mid"):
        source = flat((EXPLANATIONS_DIR / f"{kind}.md").read_text(encoding="utf-8"))
        causal = choose_variants(source, {"causal", "rows", "pre-LN"})
        assert "listen closely to \"fish\"" not in causal and 'thanks to "walks by" and "fish"' not in causal, kind


def test_segment_b_is_not_promised_where_every_token_gets_segment_a() -> None:
    model = encoder_model()
    trace = model.trace("the cat . the mat")
    assert not np.any(trace.token_types)
    text = flat((EXPLANATIONS_DIR / "token_type_embed.md").read_text(encoding="utf-8"))
    assert "gives every token segment A" in text and "Enter two sentences separated by [SEP]" not in text


# -- layer, head and notation ---------------------------------------------------------------------


def test_the_presets_note_and_the_head_on_screen_come_first(qtbot) -> None:
    state, panel = panel_for(qtbot, simulator.load("fluffy"), "a fluffy blue creature")
    state.set_stage("blocks.0.attn.pattern")
    text = flat(panel.plain_text())
    note = flat(state.model.info.notes["attn.pattern"])
    assert "Layer 0, head 0: adjectives → noun" in text
    assert text.index("Layer 0, head 0") < text.index(note) < text.index("Softmax turns each query")
    state.set_head(1)
    assert "Layer 0, head 1: colour → noun" in flat(panel.plain_text())
    state.set_stage("blocks.1.attn.pattern")
    assert "Layer 1, head 1: has the verb happened?" in flat(panel.plain_text())


def test_notation_is_named_where_it_is_used(qtbot) -> None:
    state, panel = panel_for(qtbot, simulator.load("toy"), "the cat")
    state.set_stage("blocks.0.attn.scaled")
    assert equation_plain("papers call it d_k") in flat(panel.plain_text())
    state.set_stage("blocks.0.ln1")
    text = flat(panel.plain_text())
    assert "the w and b panels on the canvas" in text and "ε: a tiny number" in text
    state.set_stage("blocks.0.mlp.post")
    assert "Φ: " in flat(panel.plain_text())
    state.set_stage("tokens")
    assert "Notation" not in panel.plain_text()
    pattern = flat((EXPLANATIONS_DIR / "attn.pattern.md").read_text(encoding="utf-8"))
    assert '"fluffy attends to creature"' in pattern and "Both describe the same cell" in pattern


# -- example sentences -----------------------------------------------------------------------------


def _quoted(text: str) -> list[str]:
    """Phrases of two or more words in quotes (not apostrophes inside a word)."""
    found = re.findall(r"(?<![A-Za-z])[\"'“‘]([a-z][a-z .]*[a-z.])[\"'”’](?![a-z])", text)
    return [p for p in found if " " in p]


def _backticked(text: str) -> list[str]:
    return [p for p in re.findall(r"`([^`]+)`", text) if " " in p and re.fullmatch(r"[a-z .]+", p)]


@pytest.mark.parametrize("name", simulator.preset_names())
def test_every_example_sentence_of_a_preset_is_in_its_vocabulary(name: str) -> None:
    model = simulator.load(name)
    texts = [model.info.description, *model.info.notes.values()]
    sentences = [*model.info.suggested, *itertools.chain.from_iterable(_quoted(t) for t in texts)]
    assert sentences
    unknown = {s: model.encode(s).unknown_text for s in sentences if model.encode(s).unknown}
    assert not unknown, f"{name}: words outside the vocabulary: {unknown}"


@pytest.mark.parametrize(("doc", "name"), [("fluffy.md", "fluffy"), ("context.md", "bank")])
def test_every_example_in_the_preset_documents_is_in_the_vocabulary(doc: str, name: str) -> None:
    model = simulator.load(name)
    examples = _backticked((RESOURCES / "presets" / doc).read_text(encoding="utf-8"))
    assert len(examples) > 10
    unknown = {s: model.encode(s).unknown_text for s in examples if model.encode(s).unknown}
    assert not unknown, f"{doc}: {unknown}"


def test_every_example_sentence_of_the_explanations_runs_in_the_default_preset() -> None:
    model = simulator.load(simulator.default_preset())
    found = 0
    for path in TEXTS:
        for sentence in _quoted(path.read_text(encoding="utf-8")):
            if sentence in NOT_SENTENCES:
                continue
            found += 1
            assert not model.encode(sentence).unknown, f"{path.name}: {sentence!r} {model.encode(sentence).unknown_text}"
    assert found > 20


def test_tiny_trained_notes_claim_only_what_is_true() -> None:
    notes = tiny_trained.INFO.notes
    assert "a few dimensions get louder" not in notes["ln1"]
    assert "every training sentence starts there" not in notes["pos_embed"]
    assert all("row" not in notes[k] for k in ("attn.scores", "attn.pattern"))


def test_the_canvas_operator_words_follow_the_layout(qtbot) -> None:
    from ui.panels.stage_canvas import StageCanvas

    state = AppState(simulator.load("toy"), "the cat walks")
    canvas = StageCanvas(state)
    qtbot.addWidget(canvas)
    for stage, rows, columns in (("blocks.0.attn.pattern", "softmax each row →", "softmax each column →"),
                                 ("blocks.0.ln1", "normalise each row, then ×", "normalise each column, then ×")):
        state.set_stage(stage)
        canvas.refresh()
        qtbot.waitUntil(lambda rows=rows: rows in canvas.operator_texts())
        state.undo_stack.push(SetViewCommand(state, "layout", LAYOUT_COLUMNS))
        canvas.refresh()
        qtbot.waitUntil(lambda columns=columns: columns in canvas.operator_texts())
        assert not any("{" in t for t in canvas.operator_texts())
        state.undo_stack.push(SetViewCommand(state, "layout", LAYOUT_ROWS))

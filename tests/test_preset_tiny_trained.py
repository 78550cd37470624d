"""The shipped ``tiny-trained`` preset: it loads, it learned (well above the baselines), its heads
are named after what they really do, and its description tells the truth about both."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.corpus import Corpus
from simulator.presets import tiny_trained
from simulator.training import baseline_accuracies, forward, next_token_accuracy
from simulator.training.__main__ import main as retrain_main
from simulator.training.__main__ import run_tuned
from simulator.training.tiny import ROLE_BEHAVIOURS, find_head_behaviours, head_labels, tiny_corpus

STAGE_KINDS = (
    "tokens", "embed", "pos_embed", "resid_pre", "ln1", "attn.q", "attn.k", "attn.v", "attn.scores",
    "attn.scaled", "attn.masked", "attn.pattern", "attn.z", "attn.head_out", "attn_out", "resid_mid", "ln2",
    "mlp.pre", "mlp.post", "mlp_out", "resid_post", "ln_final", "logits", "probs",
)


@pytest.fixture(scope="module")
def model() -> simulator.Model:
    return simulator.load("tiny-trained")


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return tiny_corpus()


def test_preset_is_listed_with_its_info(model: simulator.Model) -> None:
    assert "tiny-trained" in simulator.preset_names()
    assert tiny_trained.ORDER == 30
    info = next(i for i in simulator.list_presets() if i.name == "tiny-trained")
    assert info is tiny_trained.INFO and model.info == info
    assert info.title and len(info.description) > 200 and len(info.suggested) >= 3
    assert set(STAGE_KINDS) <= set(info.notes)
    assert {spec.kind for spec in model.graph.values()} <= set(info.notes)
    assert all(text.strip() for text in info.notes.values())


def test_weights_file_is_small_and_the_config_is_as_documented(model: simulator.Model) -> None:
    assert tiny_trained.WEIGHTS_PATH.stat().st_size < 1_000_000
    c = model.config
    assert (c.n_layers, c.n_heads, c.norm, c.positional, c.causal, c.dtype) == (2, 4, "pre", "learned", True, "float32")
    assert 32 <= c.d_model <= 48 and c.d_mlp == 4 * c.d_model and 16 <= c.n_ctx <= 24


def test_suggested_sentences_read_without_unknown_words(model: simulator.Model) -> None:
    for text in model.info.suggested + ("a fluffy blue creature", "the cat walks by the bank to find fish"):
        trace = model.trace(text)
        assert trace.unknown == (), text
        assert np.isfinite(trace["probs"]).all()


def test_engine_forward_equals_the_training_forward(model: simulator.Model) -> None:
    ids = np.array(model.encode("the mole digs in the hole to find worms").ids)
    expected = forward(model.params, model.config, ids[None, :]).logits[0]
    np.testing.assert_allclose(model.trace(ids)["logits"], expected, rtol=1e-4, atol=1e-4)


def test_held_out_accuracy_is_well_above_the_baselines_and_as_described(model: simulator.Model, corpus: Corpus) -> None:
    held = [corpus.encode(s) for s in corpus.held_out]
    train = [corpus.encode(s) for s in corpus.train]
    accuracy = next_token_accuracy(model.params, model.config, held).value
    base = baseline_accuracies(train, held, model.config.vocab_size)
    assert accuracy > 0.30
    assert accuracy > 50 * base["chance"]
    assert accuracy > base["unigram"] + 0.15  # far above always guessing the most frequent word
    assert accuracy > base["bigram"] + 0.03  # and above the best guess from the current word alone
    assert f"{accuracy:.1%}" in model.info.description
    assert f"{base['unigram']:.1%}" in model.info.description and f"{base['bigram']:.1%}" in model.info.description


def test_heads_are_named_after_what_they_do(model: simulator.Model, corpus: Corpus) -> None:
    findings = find_head_behaviours(model.params, model.config, corpus)
    assert head_labels(findings, model.config) == model.labels
    best = max((f for f in findings if f.behaviour), key=lambda f: f.score)
    assert best.score > 0.8
    assert re.search(rf"layer {best.layer} head {best.head}\b", model.info.description, re.IGNORECASE)
    best_previous = max(findings, key=lambda f: f.previous)
    assert f"{best_previous.previous:.0%}" in model.info.description  # the previous-word score is reported


def test_the_find_head_looks_at_the_subject_in_the_engine(model: simulator.Model) -> None:
    """Checked through the engine's own stages, as a student would see it in the app."""
    find_heads = [
        (layer, head)
        for layer, names in enumerate(model.labels.heads or ())
        for head, name in enumerate(names)
        if name.endswith(ROLE_BEHAVIOURS[0].label)
    ]
    assert find_heads, "no head was named after looking from 'find' to the subject"
    for text, subject in (("the cat walks by the bank to find fish", 1), ("a small mole digs in the hole to find worms", 2)):
        trace = model.trace(text)
        query = trace.tokens.index("find")
        best = max(float(trace[f"blocks.{layer}.attn.pattern"][head, query, subject]) for layer, head in find_heads)
        assert best > 0.8, text
    probs = model.trace("the mole digs in the hole to find")["probs"][-1]
    assert model.tokenizer.id_to_token(int(np.argmax(probs))) == "worms"


def test_retrain_command_runs_and_saves_a_loadable_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "tiny.npz"
    assert retrain_main(["--steps", "3", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "held-out top-1 next-token accuracy" in printed and "bigram" in printed
    retrained = simulator.load(out)
    assert retrained.info.name == "tiny-trained" and retrained.config.n_layers == 2


def test_words_used_alike_got_similar_embeddings(model: simulator.Model) -> None:
    """Backs the 'embed' note: nobody named the dimensions, yet animals cluster apart from places."""
    table = model.params["embed.W_E"]

    def cosine(a: str, b: str) -> float:
        x, y = table[model.tokenizer.token_to_id(a)], table[model.tokenizer.token_to_id(b)]
        return float(x @ y / np.linalg.norm(x) / np.linalg.norm(y))

    assert cosine("cat", "dog") > cosine("cat", "river") + 0.3
    assert cosine("cat", "rabbit") > cosine("cat", "river") + 0.3


def test_a_missing_weights_file_gives_a_placeholder_and_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(tiny_trained, "WEIGHTS_PATH", tmp_path / "missing.npz")
    info = tiny_trained._read_info()
    assert info.name == "tiny-trained" and "python -m simulator.training" in info.description
    with pytest.raises(simulator.ModelFileError, match="python -m simulator.training"):
        tiny_trained.build()


def test_the_retrain_command_keeps_a_chosen_thread_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")
    assert run_tuned(["--steps", "1"]) is None  # no re-run: this process does the work

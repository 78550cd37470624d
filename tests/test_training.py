"""The NumPy trainer: hand-written gradients match finite differences, the training forward pass
matches the engine's, Adam lowers the loss, and a seeded run is reproducible."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.config import ModelConfig
from simulator.corpus import GRAMMAR_PATH, Corpus, Grammar, GrammarError, build_corpus
from simulator.errors import ConfigError
from simulator.stages import param_shapes
from simulator.tokenizer import UNK, WordTokenizer
from simulator.training import (
    Adam,
    AdamSettings,
    Trainer,
    TrainSettings,
    baseline_accuracies,
    cross_entropy,
    forward,
    group_by_length,
    head_scores,
    init_params,
    loss_and_grads,
    next_token_accuracy,
    pack_windows,
    warmup_cosine,
)

VOCAB = (UNK, ".", "a", "the", "cat", "dog", "sits", "walks", "on", "mat", "red")


def tiny_config(**changes: object) -> ModelConfig:
    base: dict[str, object] = dict(
        d_model=8, n_heads=2, d_head=3, n_layers=2, d_mlp=12, vocab_size=len(VOCAB), n_ctx=6,
        act="gelu", norm="pre", positional="learned", dtype="float64",
    )
    base.update(changes)
    return ModelConfig(**base)  # type: ignore[arg-type]


def perturbed_params(config: ModelConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Initial weights plus noise, so LayerNorm gains, biases and all heads are generic."""
    rng = np.random.default_rng(seed)
    params = init_params(config, rng)
    return {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in params.items()}


def batch(config: ModelConfig, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, config.vocab_size, size=(3, config.n_ctx))
    targets = rng.integers(0, config.vocab_size, size=(3, config.n_ctx))
    targets[0, 2] = -1  # padding: must not count
    return ids, targets


def numeric_derivative(config: ModelConfig, params: dict, name: str, index: tuple, ids: np.ndarray, targets: np.ndarray) -> float:
    """Fourth-order central difference: truncation error O(h⁴), so h can stay large vs round-off."""
    h = 1e-4

    def loss_at(delta: float) -> float:
        moved = dict(params)
        moved[name] = params[name].copy()
        moved[name][index] += delta
        return loss_and_grads(moved, config, ids, targets)[0]

    return (8 * (loss_at(h) - loss_at(-h)) - (loss_at(2 * h) - loss_at(-2 * h))) / (12 * h)


ARCHITECTURES = [
    pytest.param({}, id="pre-ln-gelu-learned"),
    pytest.param({"act": "gelu_tanh", "positional": "sinusoidal"}, id="pre-ln-gelu_tanh-sinusoidal"),
    pytest.param({"act": "relu", "norm": "post", "embed_norm": True, "positional": "none"}, id="post-ln-relu-embed_ln"),
    pytest.param({"norm": "none", "causal": False, "scale_scores": False}, id="no-ln-bidirectional-unscaled"),
]


@pytest.mark.parametrize("changes", ARCHITECTURES)
def test_every_gradient_matches_finite_differences(changes: dict) -> None:
    config = tiny_config(**changes)
    params = perturbed_params(config)
    ids, targets = batch(config)
    _, grads = loss_and_grads(params, config, ids, targets)
    assert set(grads) == set(param_shapes(config))
    rng = np.random.default_rng(2)
    for name, value in params.items():
        assert grads[name].shape == value.shape, name
        if name.endswith("attn.b_K"):
            # Adding the same amount to every key's score leaves softmax unchanged: ∂L/∂b_K = 0.
            assert np.abs(grads[name]).max() < 1e-12
            assert abs(numeric_derivative(config, params, name, (0, 0), ids, targets)) < 1e-9
            continue
        flat = np.abs(grads[name]).ravel()
        picks = list(np.argsort(flat)[-3:]) + [int(rng.integers(flat.size))]
        for pick in picks:
            index = np.unravel_index(int(pick), value.shape)
            analytic = float(grads[name][index])
            numeric = numeric_derivative(config, params, name, index, ids, targets)
            if abs(analytic) < 1e-7 and abs(numeric) < 1e-7:  # e.g. an unused vocabulary row
                continue
            rel = abs(analytic - numeric) / max(abs(analytic), abs(numeric))
            assert rel < 1e-6, f"{name}{index}: analytic {analytic:.10g}, numeric {numeric:.10g}"


def test_cross_entropy_gradient_ignores_padding_and_sums_to_zero() -> None:
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 4, 5))
    targets = np.array([[1, 2, -1, 0], [4, 4, 4, -1]])
    loss, d_logits = cross_entropy(logits, targets)
    assert np.all(d_logits[0, 2] == 0) and np.all(d_logits[1, 3] == 0)
    np.testing.assert_allclose(d_logits.sum(axis=-1), 0, atol=1e-15)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    expected = -np.mean([log_probs[b, t, targets[b, t]] for b in range(2) for t in range(4) if targets[b, t] >= 0])
    assert loss == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("changes", ARCHITECTURES)
def test_training_forward_matches_the_engine(changes: dict) -> None:
    config = tiny_config(**changes)
    params = perturbed_params(config, seed=5)
    model = simulator.Model(config, params, WordTokenizer(VOCAB))
    ids, _ = batch(config, seed=6)
    fwd = forward(params, config, ids)
    for row, sequence in enumerate(ids):
        trace = model.trace(sequence)
        np.testing.assert_allclose(fwd.logits[row], trace["logits"], rtol=1e-10, atol=1e-10)
        for layer in range(config.n_layers):
            np.testing.assert_allclose(fwd.patterns[layer][row], trace[f"blocks.{layer}.attn.pattern"], atol=1e-12)


def test_float32_training_forward_matches_the_engine() -> None:
    config = tiny_config(dtype="float32", act="gelu_tanh")
    params = {k: v.astype(np.float32) for k, v in perturbed_params(config).items()}
    model = simulator.Model(config, params, WordTokenizer(VOCAB))
    ids, _ = batch(config)
    logits = forward(params, config, ids).logits
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits[1], model.trace(ids[1])["logits"], rtol=1e-4, atol=1e-5)


def toy_windows(config: ModelConfig) -> np.ndarray:
    tokenizer = WordTokenizer(VOCAB)
    sentences = ["the cat sits on the mat .", "a dog walks .", "the red dog sits .", "a cat walks on a mat ."]
    return pack_windows([np.array(tokenizer.encode(s).ids) for s in sentences], config.n_ctx)


def test_adam_steps_reduce_the_loss() -> None:
    config = tiny_config(dtype="float32", act="gelu_tanh")
    windows = toy_windows(config)
    trainer = Trainer(config, windows, TrainSettings(steps=20, batch_size=4, lr=1e-2, warmup=2, seed=3))
    before = trainer.loss(windows)
    reports = []
    trainer.add_callback(reports.append)
    losses = trainer.run()
    assert len(losses) == 20 and [r.step for r in reports] == list(range(1, 21))
    assert trainer.loss(windows) < 0.6 * before
    assert all(r.lr > 0 and np.isfinite(r.grad_norm) for r in reports)


def test_training_is_reproducible_with_a_seed() -> None:
    config = tiny_config(dtype="float32", act="gelu_tanh")
    windows = toy_windows(config)
    settings = TrainSettings(steps=8, batch_size=3, lr=5e-3, warmup=2, seed=11, adam=AdamSettings(weight_decay=0.1))
    first, second = Trainer(config, windows, settings), Trainer(config, windows, settings)
    first.run()
    second.run()
    assert first.history == second.history
    for name, value in first.params.items():
        np.testing.assert_array_equal(value, second.params[name], err_msg=name)
    other = Trainer(config, windows, TrainSettings(steps=8, batch_size=3, seed=12))
    assert not np.array_equal(other.params["embed.W_E"], first.params["embed.W_E"])


def test_trainer_exposes_live_params_and_builds_a_model() -> None:
    config = tiny_config(dtype="float32", act="gelu_tanh")
    trainer = Trainer(config, toy_windows(config), TrainSettings(steps=3, batch_size=2, seed=0))
    view = trainer.params
    with pytest.raises(TypeError):
        view["embed.W_E"] = np.zeros(1)  # type: ignore[index]
    snapshot = trainer.parameters()
    trainer.step()
    assert not np.array_equal(view["unembed.W_U"], snapshot["unembed.W_U"])  # the view is live
    model = trainer.to_model(WordTokenizer(VOCAB))
    expected = trainer.forward(np.array([[3, 4, 6]])).logits[0]
    trainer.step()
    assert not np.array_equal(model.params["unembed.W_U"], trainer.params["unembed.W_U"])  # the model is a copy
    np.testing.assert_allclose(model.trace("the cat sits")["logits"], expected, rtol=1e-4, atol=1e-5)


def test_trainer_rejects_what_it_cannot_train() -> None:
    with pytest.raises(ConfigError):
        Trainer(tiny_config(n_token_types=2), np.zeros((2, 4), dtype=np.int64))
    with pytest.raises(ConfigError):
        Trainer(tiny_config(), np.zeros((2, 9), dtype=np.int64))  # 8 inputs > n_ctx 6
    with pytest.raises(ConfigError):
        Trainer(tiny_config(), np.full((2, 4), 99))
    with pytest.raises(ConfigError):
        TrainSettings(lr=0)


def test_adam_clips_and_decays() -> None:
    params = {"W_x": np.ones(4), "b_x": np.ones(4)}
    adam = Adam(params, AdamSettings(weight_decay=0.5, clip_norm=1.0))
    grads = {"W_x": np.full(4, 10.0), "b_x": np.zeros(4)}
    norm = adam.step(params, grads, lr=0.1)
    assert norm == pytest.approx(20.0)
    np.testing.assert_allclose(params["W_x"], 1 * (1 - 0.05) - 0.1, rtol=1e-6)  # decayed, then one Adam step of size lr
    np.testing.assert_allclose(params["b_x"], 1.0)  # biases are not decayed; zero gradient, no move


def test_schedule_warms_up_then_decays_to_the_floor() -> None:
    rates = [warmup_cosine(s, 1.0, 10, 100, 0.1) for s in range(100)]
    assert rates[0] == pytest.approx(0.1) and rates[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(rates[9:], rates[10:]))
    assert warmup_cosine(100, 1.0, 10, 100, 0.1) == pytest.approx(0.1)


def test_windows_start_at_sentence_starts_and_run_on() -> None:
    windows = pack_windows([np.array([5, 6, 1]), np.array([7, 1])], 3)
    np.testing.assert_array_equal(windows, [[5, 6, 1, 7], [7, 1, 5, 6]])
    groups = group_by_length([np.array([1, 2]), np.array([3, 4, 5]), np.array([6, 7])])
    assert {n: g.shape for n, g in groups.items()} == {2: (2, 2), 3: (1, 3)}


def test_analysis_measures_on_a_hand_made_previous_token_model() -> None:
    """Strong positional queries/keys make head 0.0 look at the previous token; the scores see it."""
    config = tiny_config(n_layers=1, n_heads=1, d_head=8, d_model=8, norm="none", positional="learned", act="relu")
    params = {k: np.zeros(v) for k, v in param_shapes(config).items()}
    params["pos_embed.W_pos"] = 10.0 * np.eye(8)[:6]
    params["blocks.0.attn.W_Q"] = np.eye(8)[None, :, :]
    shift = np.zeros((8, 8))
    shift[np.arange(5), np.arange(1, 6)] = 1.0  # key at position p answers the query at p + 1
    params["blocks.0.attn.W_K"] = shift[None, :, :]
    params["unembed.W_U"] = np.zeros((8, config.vocab_size))
    sequences = [np.array([3, 4, 6, 8, 9, 1]), np.array([2, 5, 7, 1])]
    scores = head_scores(params, config, sequences)
    assert scores.previous[0, 0] > 0.99 and scores.best_previous() == (0, 0)
    assert scores.start[0, 0] < 0.01
    accuracy = next_token_accuracy(params, config, sequences)
    assert accuracy.total == 8
    base = baseline_accuracies(sequences, sequences, config.vocab_size)
    assert base["chance"] == pytest.approx(1 / len(VOCAB)) and base["bigram"] == 1.0


# -- the corpus ---------------------------------------------------------------------------------------
REQUIRED_WORDS = (
    "a", "an", "the", "fluffy", "furry", "soft", "blue", "red", "green", "small", "big", "old", "creature", "cat",
    "dog", "fish", "bank", "river", "money", "mole", "walks", "sits", "eats", "swims", "by", "on", "to", "find",
    "near", "and", ".", UNK,
)


@pytest.fixture(scope="module")
def small_corpus() -> Corpus:
    return build_corpus(n_train=1500, n_held_out=300, seed=4)


def test_corpus_vocabulary_covers_the_presets_words_and_more() -> None:
    vocab = Grammar.from_file().vocabulary()
    assert vocab[:2] == (UNK, ".")
    assert set(REQUIRED_WORDS) <= set(vocab)
    assert len(vocab) >= 300
    tokenizer = Grammar.from_file().tokenizer()
    for text in ("a fluffy blue creature", "the cat walks by the bank", "the cat walks by the bank to find fish"):
        assert tokenizer.encode(text).unknown == ()


def test_corpus_is_deterministic_and_held_out_is_unseen(small_corpus: Corpus) -> None:
    again = build_corpus(n_train=1500, n_held_out=300, seed=4)
    assert again == small_corpus
    assert build_corpus(n_train=50, n_held_out=5, seed=5).train != small_corpus.train[:50]
    train_texts = {s.words for s in small_corpus.train}
    assert len(small_corpus.held_out) == 300
    assert not any(s.words in train_texts for s in small_corpus.held_out)
    assert len({s.words for s in small_corpus.held_out}) == 300


def test_corpus_sentences_follow_the_grammar(small_corpus: Corpus) -> None:
    grammar = Grammar.from_file()
    plural = {v.plural for v in grammar.verbs.values()}
    singular = set(grammar.verbs)
    for s in small_corpus.train + small_corpus.held_out:
        assert len(s.words) == len(s.roles) and s.words[-1] == "." and len(s) <= grammar.max_words
        for i, (word, role) in enumerate(zip(s.words, s.roles)):
            if word in ("a", "an"):
                assert word == grammar.article_for(s.words[i + 1]), s.text
            if role == "verb":
                compound = "and" in s.roles[: i]
                assert word in (plural if compound else singular), s.text
            if role == "find":
                assert s.words[i - 1] == "to" and s.roles[i + 1] == "goal"
        for clause in " ".join(s.roles).split("end"):
            roles = clause.split()
            runs = "".join("A" if r == "adj" else "." for r in roles)
            assert "AAA" not in runs, s.text
    texts = [s.text for s in small_corpus.train]
    assert any(t.startswith("an ") for t in texts) and any(" and " in t for t in texts) and any(". the " in t for t in texts)


def test_corpus_adjectives_come_in_english_order(small_corpus: Corpus) -> None:
    grammar = Grammar.from_file()
    rank = {w: grammar.adjective_order.index(c) for c, words in grammar.adjectives.items() for w in words}
    assert len(rank) == sum(len(words) for words in grammar.adjectives.values())  # one category per adjective
    assert rank["fluffy"] < rank["blue"] and rank["big"] < rank["old"]
    pairs = 0
    for s in small_corpus.train:
        for i in range(len(s) - 2):
            if s.roles[i] == s.roles[i + 1] == "adj" and s.roles[i + 2] in ("subject", "place"):
                assert rank[s.words[i]] < rank[s.words[i + 1]], s.text
                pairs += 1
    assert pairs > 100


def test_a_broken_grammar_is_rejected_with_a_clear_message(tmp_path: Path) -> None:
    data = json.loads(GRAMMAR_PATH.read_text(encoding="utf-8"))
    data["subjects"]["pets"]["verbs"].append("teleports")
    path = tmp_path / "grammar.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(GrammarError, match="teleports"):
        Grammar.from_file(path)
    with pytest.raises(GrammarError):
        Grammar.from_file(tmp_path / "missing.json")

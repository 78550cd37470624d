"""The word-level tokeniser and the model's checks on text before it is run."""

from __future__ import annotations

import pytest

import simulator
from simulator.tokenizer import tokenizer_from_spec

VOCAB = ["<unk>", "the", "cat", "sat", ".", ",", "!", "?", "don't", "on", "mat", "3"]


@pytest.fixture
def tok() -> simulator.WordTokenizer:
    return simulator.WordTokenizer(VOCAB)


def test_lower_cases_and_splits_punctuation(tok: simulator.WordTokenizer) -> None:
    enc = tok.encode("The CAT, sat on the mat!")
    assert enc.tokens == ("the", "cat", ",", "sat", "on", "the", "mat", "!")
    assert enc.ids == tuple(VOCAB.index(t) for t in enc.tokens)
    assert enc.unknown == () and enc.unknown_text == ()


def test_punctuation_runs_become_one_token_each(tok: simulator.WordTokenizer) -> None:
    assert tok.encode("cat?!.").tokens == ("cat", "?", "!", ".")


def test_apostrophes_stay_inside_words(tok: simulator.WordTokenizer) -> None:
    assert tok.encode("Don't").tokens == ("don't",)


def test_unknown_words_become_unk_and_are_reported_not_dropped(tok: simulator.WordTokenizer) -> None:
    enc = tok.encode("The Dog sat on a mat")
    assert enc.tokens == ("the", "<unk>", "sat", "on", "<unk>", "mat")
    assert len(enc.ids) == 6
    assert enc.ids[1] == enc.ids[4] == VOCAB.index("<unk>")
    assert enc.unknown == (1, 4)
    assert enc.unknown_text == ("dog", "a")


def test_unknown_symbols_are_reported_too(tok: simulator.WordTokenizer) -> None:
    enc = tok.encode("cat # 3")
    assert enc.tokens == ("cat", "<unk>", "3")
    assert enc.unknown == (1,) and enc.unknown_text == ("#",)


def test_decode_joins_words_and_attaches_punctuation(tok: simulator.WordTokenizer) -> None:
    ids = tok.encode("the cat sat, on the mat.").ids
    assert tok.decode(ids) == "the cat sat, on the mat."
    assert tok.decode([]) == ""


def test_decode_rejects_ids_outside_the_vocabulary(tok: simulator.WordTokenizer) -> None:
    with pytest.raises(simulator.TextError, match="outside the vocabulary"):
        tok.decode([1, len(VOCAB)])
    with pytest.raises(simulator.TextError):
        tok.id_to_token(-1)


def test_vocabulary_must_have_unk_and_no_duplicates() -> None:
    with pytest.raises(simulator.ModelFileError, match="<unk>"):
        simulator.WordTokenizer(["a", "b"])
    with pytest.raises(simulator.ModelFileError, match="duplicate"):
        simulator.WordTokenizer(["<unk>", "a", "a"])


def test_spec_round_trip(tok: simulator.WordTokenizer) -> None:
    again = tokenizer_from_spec(tok.to_spec())
    assert isinstance(again, simulator.WordTokenizer)
    assert again.vocab == tok.vocab
    assert again.encode("the dog sat") == tok.encode("the dog sat")
    with pytest.raises(simulator.ModelFileError, match="kind"):
        tokenizer_from_spec({"vocab": VOCAB})
    with pytest.raises(simulator.ModelFileError, match="unknown tokenizer kind"):
        tokenizer_from_spec({"kind": "sentencepiece"})
    with pytest.raises(simulator.ModelFileError):
        tokenizer_from_spec({"kind": "word"})


@pytest.fixture
def toy() -> simulator.Model:
    return simulator.load("toy")


@pytest.mark.parametrize("text", ["", " ", "   \n\t "])
def test_model_rejects_empty_text(toy: simulator.Model, text: str) -> None:
    with pytest.raises(simulator.TextError, match="empty"):
        toy.encode(text)
    with pytest.raises(simulator.TextError):
        toy.trace(text)


def test_model_rejects_text_longer_than_the_context_and_names_the_limit(toy: simulator.Model) -> None:
    n_ctx = toy.config.n_ctx
    toy.encode(" ".join(["cat"] * n_ctx))
    with pytest.raises(simulator.TextError, match=rf"\b{n_ctx + 1}\b.*\b{n_ctx}\b"):
        toy.encode(" ".join(["cat"] * (n_ctx + 1)))
    with pytest.raises(simulator.TextError, match=rf"at most {n_ctx}"):
        toy.trace(" ".join(["cat"] * (n_ctx + 1)))


def test_punctuation_counts_towards_the_limit(toy: simulator.Model) -> None:
    n_ctx = toy.config.n_ctx
    text = " ".join(["cat"] * (n_ctx - 1)) + "."
    assert len(toy.encode(text).ids) == n_ctx
    with pytest.raises(simulator.TextError, match=str(n_ctx)):
        toy.encode(text + ".")


def test_model_rejects_non_strings(toy: simulator.Model) -> None:
    with pytest.raises(simulator.TextError, match="string"):
        toy.encode(42)  # type: ignore[arg-type]


def test_trace_keeps_token_strings_and_unknown_positions(toy: simulator.Model) -> None:
    trace = toy.trace("the Zebra walks")
    assert trace.tokens == ("the", "<unk>", "walks")
    assert trace.unknown == (1,)
    assert trace.text == "the <unk> walks"


@pytest.mark.parametrize(
    "ids, message",
    [([], "at least one"), ([1, 2.5], "whole numbers"), ([[1, 2]], "flat"), ([1, 40], "outside the vocabulary"),
     ([-1], "outside the vocabulary"), (["a"], "whole numbers"), (list(range(33)), "at most 32")],
)
def test_trace_rejects_bad_token_ids(toy: simulator.Model, ids: list, message: str) -> None:
    with pytest.raises(simulator.TextError, match=message):
        toy.trace(ids)


def test_unknown_words_keep_what_was_typed_in_their_labels() -> None:
    """Four unknown words used to be four identical "<unk>" rows."""
    import simulator

    trace = simulator.load("toy").trace("the zorp on the blick")
    assert trace.token_labels == ("the", "<unk> zorp", "on", "the", "<unk> blick")
    assert trace.stage("embed").axis_labels[0] == trace.token_labels
    assert simulator.load("toy").trace([0, 1]).token_labels == tuple(trace.model.token_text(i) for i in (0, 1))


def test_the_canvas_names_unknown_words_by_what_was_typed(make_main_window) -> None:
    window = make_main_window("toy", text="the zorp on the blick", stage="embed")
    assert "<unk> zorp" in window.canvas.result_panel.matrix.row_labels

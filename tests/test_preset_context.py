"""The ``bank`` and ``mole`` presets: context before an ambiguous word moves its vector.

Movement is measured as cosine similarity with the word's two named sense directions
(``_handbuilt.SENSES``): after layer 1's clue head (``blocks.1.resid_mid``) the right sense must
have gained on the embedding and beaten the wrong one, and the layer 1 MLP must widen the gap.
Clues after the word must change nothing while the causal mask is on, and must work once it is
off.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import simulator
from simulator.presets import _handbuilt as hb
from simulator.stages import param_shapes

DOC = Path(__file__).resolve().parents[1] / "resources" / "presets" / "context.md"
STAGES = ("blocks.0.resid_pre", "blocks.1.resid_mid", "blocks.1.resid_post")


@pytest.fixture(scope="module")
def model() -> simulator.Model:
    return simulator.load("bank")


def cosines(model: simulator.Model, text: str, word: str, causal: bool = True) -> dict[str, dict[str, float]]:
    """Stage -> sense name -> cosine of ``word``'s row with that sense's direction."""
    trace = model.trace(text, causal=causal)
    row = trace.tokens.index(word)
    out = {}
    for stage in STAGES:
        x = trace[stage][row]
        out[stage] = {
            name: float(x @ hb.direction(features) / np.linalg.norm(x))
            for name, features in hb.SENSES[word].items()
        }
    return out


def assert_moves_towards(cos: dict[str, dict[str, float]], right: str, wrong: str) -> None:
    before, mid, after = (cos[s] for s in STAGES)
    assert before[right] == pytest.approx(before[wrong]), "the embedding must start halfway"
    assert mid[right] > before[right] + 0.1, "attention should move the word towards the context's sense"
    assert mid[right] > mid[wrong] + 0.1, "the context's sense should win after attention"
    assert after[right] - after[wrong] > mid[right] - mid[wrong], "the MLP should commit to the sense"


def assert_stays_balanced(cos: dict[str, dict[str, float]]) -> None:
    for stage in STAGES:
        first, second = cos[stage].values()
        assert first == pytest.approx(second, abs=1e-12), stage


# -- the presets -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["bank", "mole"])
def test_context_presets_are_the_fluffy_model_with_their_own_story(name: str) -> None:
    model, fluffy = simulator.load(name), simulator.load("fluffy")
    assert model.info.name == name and model.info.source == f"preset:{name}"
    assert model.info.title != fluffy.info.title and model.info.suggested != fluffy.info.suggested
    for param in param_shapes(model.config):
        np.testing.assert_array_equal(model.params[param], fluffy.params[param])
    kinds = {spec.kind for spec in model.graph.values()}
    assert kinds <= set(model.info.notes)
    assert name in model.info.notes["attn.masked"] or name in model.info.notes["embed"]
    for sentence in model.info.suggested:
        assert model.trace(sentence).unknown == (), sentence
        assert name in sentence.split()


def test_presets_are_listed_after_fluffy() -> None:
    names = simulator.preset_names()
    assert names.index("fluffy") < names.index("bank") < names.index("mole")


def test_senses_are_named_unit_directions() -> None:
    for word, senses in hb.SENSES.items():
        first, second = (hb.direction(f) for f in senses.values())
        assert np.linalg.norm(first) == pytest.approx(1.0) and first @ second == 0.0, word
        embedding = hb.vector(hb.WORDS[word])
        assert embedding @ first == pytest.approx(embedding @ second), f"{word} must start halfway"


# -- bank ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "right", "wrong"),
    [
        ("the cat walks by the river bank", "river", "money"),
        ("the fish swims to the bank", "river", "money"),
        ("a dog swims near the bank", "river", "money"),
        ("the blue bank", "river", "money"),
        ("the money in the bank", "money", "river"),
        ("the spy hides the money in the bank", "money", "river"),
        ("a dog finds money near the bank", "money", "river"),
    ],
)
def test_bank_moves_towards_the_sense_of_the_clue_before_it(model: simulator.Model, text: str, right: str, wrong: str) -> None:
    assert_moves_towards(cosines(model, text, "bank"), right, wrong)


@pytest.mark.parametrize("text", ["the bank", "the dog sits on the bank", "the cat walks by the bank", "the big old bank"])
def test_bank_without_a_clue_stays_balanced(model: simulator.Model, text: str) -> None:
    assert_stays_balanced(cosines(model, text, "bank"))


@pytest.mark.parametrize(
    ("text", "right", "wrong"),
    [("the bank by the river", "river", "money"), ("the bank near the money", "money", "river")],
)
def test_clues_after_bank_only_count_without_the_causal_mask(model: simulator.Model, text: str, right: str, wrong: str) -> None:
    assert_stays_balanced(cosines(model, text, "bank"))
    assert_moves_towards(cosines(model, text, "bank", causal=False), right, wrong)


def test_the_clue_head_points_bank_at_its_clue(model: simulator.Model) -> None:
    for text, clue in (("the cat walks by the river bank", "river"), ("the money in the bank", "money")):
        trace = model.trace(text)
        bank = trace.tokens.index("bank")
        assert trace["blocks.1.attn.pattern"][0, bank, trace.tokens.index(clue)] > 0.95, text


# -- mole ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "right", "wrong"),
    [
        ("the dog finds the mole", "animal", "spy"),
        ("the furry mole", "animal", "spy"),
        ("the cat and the mole", "animal", "spy"),
        ("the dog dug near the mole", "animal", "spy"),
        ("the spy finds the mole", "spy", "animal"),
        ("the spy and the mole", "spy", "animal"),
        ("the spy hides the mole", "spy", "animal"),
    ],
)
def test_mole_moves_towards_the_sense_of_the_clue_before_it(model: simulator.Model, text: str, right: str, wrong: str) -> None:
    assert_moves_towards(cosines(model, text, "mole"), right, wrong)


@pytest.mark.parametrize("text", ["the mole", "the big mole", "a mole sits by the river"])
def test_mole_without_a_clue_stays_balanced(model: simulator.Model, text: str) -> None:
    assert_stays_balanced(cosines(model, text, "mole"))


@pytest.mark.parametrize(
    ("text", "right", "wrong"),
    [("the mole dug a hole", "animal", "spy"), ("the mole reported to the spy", "spy", "animal")],
)
def test_clues_after_mole_only_count_without_the_causal_mask(model: simulator.Model, text: str, right: str, wrong: str) -> None:
    assert_stays_balanced(cosines(model, text, "mole"))
    assert_moves_towards(cosines(model, text, "mole", causal=False), right, wrong)


def test_the_sense_neurons_fire_only_for_their_own_sense(model: simulator.Model) -> None:
    names = hb.NEURON_NAMES[1]
    expected = {
        "the cat walks by the river bank": ("bank", "is it a place by the water?"),
        "the money in the bank": ("bank", "is it a place for money?"),
        "the dog finds the mole": ("mole", "is it the mole that digs?"),
        "the spy finds the mole": ("mole", "is it the mole that spies?"),
    }
    sense_neurons = [names.index(name) for _, name in expected.values()]
    for text, (word, name) in expected.items():
        trace = model.trace(text)
        post = trace["blocks.1.mlp.post"][trace.tokens.index(word)]
        fired = {names[n] for n in sense_neurons if post[n] > 0}
        assert fired == {name}, text


def test_the_settled_sense_changes_the_next_word(model: simulator.Model) -> None:
    def top(text: str, k: int) -> set[str]:
        probs = model.trace(text)["probs"][-1]
        return {hb.VOCAB[i] for i in np.argsort(-probs, kind="stable")[:k]}

    assert top("the spy and the mole", 2) == {"reported", "hides"}
    assert "digs" in top("the cat and the mole", 6) and not top("the cat and the mole", 6) & {"reported", "hides"}


def test_the_design_document_covers_senses_clues_and_the_causal_mask() -> None:
    text = DOC.read_text(encoding="utf-8")
    for phrase in ("two-senses", "clues → two-sense word", "causal", "the bank by the river", "the mole dug a hole"):
        assert phrase in text, phrase
    for name in (*hb.NEURON_NAMES[1][:4], *(s for senses in hb.SENSES.values() for s in senses)):
        assert name in text, name


PAIR = r"[+−]\d\.\d\d / [+−]\d\.\d\d"
TABLE_ROW = re.compile(rf"^\| `([a-z .]+)`(, causal mask off)? \| ({PAIR}) \| ({PAIR}) \| ({PAIR}) \|$", re.MULTILINE)


def test_every_cosine_in_the_design_documents_table_is_what_the_engine_computes(model: simulator.Model) -> None:
    rows = TABLE_ROW.findall(DOC.read_text(encoding="utf-8"))
    assert len(rows) >= 15
    wrong = []
    for sentence, unmasked, *cells in rows:
        word = "bank" if "bank" in sentence.split() else "mole"
        cos = cosines(model, sentence, word, causal=not unmasked)
        measured = [" / ".join(f"{v:+.2f}".replace("-", "−") for v in cos[stage].values()) for stage in STAGES]
        if list(cells) != measured:
            wrong.append((sentence + unmasked, cells, measured))
    assert not wrong, wrong

"""``mole``: the hand-built model, presented as a lesson on a word with two very different senses.

"mole" is embedded halfway between the digging animal (animal + earth) and the spy (secret +
person). Clue words before it pull it one way; clue words after it cannot, because the model
is causal. Same weights as ``fluffy``; see ``resources/presets/context.md``.
"""

from __future__ import annotations

from types import MappingProxyType

from simulator.model import Model, ModelInfo
from simulator.presets import _handbuilt

ORDER = 21

NOTES = MappingProxyType({
    **_handbuilt.NOTES,
    "embed": (
        "The mole vector: animal 0.5, secret 0.5, two-senses 1. Its animal sense is the "
        "direction animal + earth, its spy sense secret + person, and it starts at the same "
        "angle to both."
    ),
    "attn.q": (
        "Layer 1, head 0: mole's query dimension 1 asks 'any animal, earth, secret or person word "
        "before me?'. Non-two-sense words have dimension 2 large and simply rest on the first "
        "word."
    ),
    "attn.k": (
        "Layer 1, head 0, key dimension 1: dog, cat and hole answer 1, furry 0.5, spy 2 (person and "
        "secret), reported 1. Mole's own answer is −1 so it never listens to itself."
    ),
    "attn.masked": (
        "In 'the mole dug a hole' every clue comes after the mole, so all of them are −∞ in "
        "the mole's scores and its meaning cannot move. Turn the causal mask off to let the later "
        "clues in."
    ),
    "attn.pattern": (
        "Layer 1, head 0: in 'the spy finds the mole' the mole points at spy; in 'the dog "
        "finds the mole' at dog. Without a clue it spreads over words that carry no topic."
    ),
    "attn_out": (
        "Layer 1: the mole gains animal (after dog, cat, furry, dug) or secret and person "
        "(after spy, reported)."
    ),
    "resid_mid": (
        "The mole's vector now leans towards the animal or towards the spy; compare its angle to "
        "both senses with the embedding's."
    ),
    "mlp.pre": (
        "Layer 1: 'is it the mole that digs?' and 'is it the mole that spies?' fire only for a "
        "two-sense word that is not a place, and only when one sense is ahead."
    ),
    "mlp_out": (
        "The winning neuron commits to its sense and subtracts the other one."
    ),
    "resid_post": (
        "After a spy clue the mole's animal dimension is negative and its secret dimension high; "
        "after a dog clue the reverse; after 'the mole' alone, still balanced."
    ),
    "probs": (
        "After 'the spy and the mole' the model guesses spy verbs (reported, hides); after "
        "'the cat and the mole' animal verbs, including digs."
    ),
})

INFO = ModelInfo(
    name="mole",
    title="Mole (same word, different meanings)",
    description=(
        "The hand-built fluffy model, seen through the word 'mole': a small digging animal or "
        "a spy. Clues before the mole (dog, furry, spy, reported) turn its vector towards one "
        "sense. In 'the mole dug a hole' every clue comes later, so a causal model cannot use "
        "them at the mole: switch the causal mask off to compare."
    ),
    suggested=(
        "the spy finds the mole",
        "the dog finds the mole",
        "the furry mole",
        "the spy and the mole",
        "the mole dug a hole",
        "the mole reported to the spy",
    ),
    notes=NOTES,
    source="preset:mole",
)


def build() -> Model:
    """A fresh copy of the hand-built model, presented as the ``mole`` preset."""
    return _handbuilt.build_model(INFO)

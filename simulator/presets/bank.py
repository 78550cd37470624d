"""``bank``: the hand-built model, presented as a lesson on how context settles a word's meaning.

"bank" is embedded halfway between a river sense (the water dimension) and a money sense (the
money dimension). A layer 1 head lets it listen to water and money words before it, and an MLP
neuron then commits to one sense. Same weights as ``fluffy``; see
``resources/presets/context.md``.
"""

from __future__ import annotations

from types import MappingProxyType

from simulator.model import Model, ModelInfo
from simulator.presets import _handbuilt

ORDER = 20

NOTES = MappingProxyType({
    **_handbuilt.NOTES,
    "embed": (
        "Look at the bank vector: place 1, water 0.5, money 0.5, two-senses 1. On its own, bank "
        "is exactly as much a river bank as a money bank."
    ),
    "attn.q": (
        "Layer 1, head 0: bank's query dimension 0 asks 'any water or money before me?' (from its own "
        "water and money halves). Dimension 2 is large for every word that is not a two-sense "
        "word: those just rest on the first word."
    ),
    "attn.k": (
        "Layer 1, head 0: river, fish, swims and money answer in key dimension 0 with their water or "
        "money. Bank's own answer is pushed to −1 so it never listens to itself."
    ),
    "attn.masked": (
        "The key teaching point: in 'the bank by the river' the river comes after the bank, "
        "so its score is −∞ and cannot help. Turn the causal mask off to see what a model that "
        "reads both ways (like BERT) would do."
    ),
    "attn.pattern": (
        "Layer 1, head 0: bank points at the clue (river, fish, money); with no clue "
        "it spreads over words that carry no topic, so nothing moves."
    ),
    "attn_out": (
        "Layer 1: bank gains water (after river, fish, swims) or money (after money). "
        "Compare 'the dog sits on the bank': no clue, no change."
    ),
    "resid_mid": (
        "Compare bank's vector here with its embedding: after 'river' it leans towards water, "
        "after 'money' towards money. That is the context moving the meaning."
    ),
    "mlp.pre": (
        "Layer 1: 'is it a place by the water?' and 'is it a place for money?' compare bank's "
        "water with its money. Plain 'bank' is a tie and both stay just below zero."
    ),
    "mlp_out": (
        "The winning neuron commits: it adds more of its own sense and removes the other, so "
        "after layer 1 bank points clearly one way."
    ),
    "resid_post": (
        "Bank's final vector: water high and money negative after a river clue, the reverse "
        "after a money clue, still balanced when there was no clue before it."
    ),
    "probs": (
        "After 'the cat walks by the river bank' the model expects the sentence to end: '.', "
        "'and' or 'to' (as in 'to find fish'), with water words as the next best guesses."
    ),
})

INFO = ModelInfo(
    name="bank",
    title="Bank (context moves meaning)",
    description=(
        "The hand-built fluffy model, seen through one ambiguous word. 'bank' starts halfway "
        "between a river sense and a money sense; words before it (river, fish, swims, money, "
        "a blue colour) pull it one way. Because the model is causal, words after 'bank' "
        "cannot help: try 'the bank by the river' with the causal mask on and off."
    ),
    suggested=(
        "the cat walks by the river bank",
        "the money in the bank",
        "the fish swims to the bank",
        "the bank by the river",
        "the dog sits on the bank",
        "the blue bank",
    ),
    notes=NOTES,
    source="preset:bank",
)


def build() -> Model:
    """A fresh copy of the hand-built model, presented as the ``bank`` preset."""
    return _handbuilt.build_model(INFO)

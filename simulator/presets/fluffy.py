"""``fluffy``: the default preset, a transformer built by hand so that every weight means something.

Nouns ask "are there adjectives in front of me?", adjectives answer, and the answer moves the
noun along named feature dimensions, exactly the picture from the seed notes, in real numbers.
The weights live in :mod:`simulator.presets._handbuilt`; ``resources/presets/fluffy.md``
explains every matrix.
"""

from __future__ import annotations

from simulator.model import Model, ModelInfo
from simulator.presets import _handbuilt

ORDER = 10

INFO = ModelInfo(
    name="fluffy",
    title="Fluffy (hand-built, every weight explained)",
    description=(
        "A two-layer transformer whose weights were all set by hand. Its 29 embedding "
        "dimensions have names (noun, colour-blue, texture-fluffy, water, money, ...), each "
        "attention head asks one question (head 0 of layer 0: 'are there adjectives in front "
        "of me?'), each MLP neuron answers one yes/no question ('is it a fluffy blue thing?'), "
        "and the next-word scores are a handful of readable rules. Start with 'a fluffy blue "
        "creature' and watch the creature's vector pick up blue and fluffy."
    ),
    suggested=(
        "a fluffy blue creature",
        "the big fluffy blue creature",
        "the cat walks by the river bank",
        "the cat walks by the bank to find fish",
        "the fish swims to the bank",
        "a furry dog sits near the green garden",
    ),
    notes=_handbuilt.NOTES,
    source="preset:fluffy",
)


def build() -> Model:
    """A fresh copy of the hand-built model, presented as the ``fluffy`` preset."""
    return _handbuilt.build_model(INFO)

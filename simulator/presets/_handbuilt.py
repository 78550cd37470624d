"""The hand-built world shared by the ``fluffy``, ``bank`` and ``mole`` presets.

Every number in this model was chosen by hand so that a teacher can say what it means. The
residual stream has 29 named dimensions (word class, adjective features, topics, grammar flags
and position); every word's embedding is a short list of those features. Each attention head
asks one question, each MLP neuron answers one yes/no question, and the unembedding turns
"what kind of word comes next" and "what is the sentence about" into next-word scores.

The three presets load the same weights and differ only in what they suggest and explain, so a
student meets one consistent model whichever door they come in by. The full explanation of
every matrix is in ``resources/presets/fluffy.md`` and ``resources/presets/context.md``.

Conventions used throughout this module:

* Scores are designed in *scaled* units, the numbers a student sees at the ``attn.scaled``
  stage. Query weights are stored multiplied by √d_head so that dividing by √d_head gives
  back the round design numbers; key weights are the plain "answers" (mostly 0 or 1).
* A head's query/key dimensions are called *slots*; each slot is one question and its answer.
  Value dimensions are numbered separately: value dimension ``i`` carries one named feature.
"""

from __future__ import annotations

import math
from types import MappingProxyType
from typing import Mapping

import numpy as np

from simulator.config import ModelConfig
from simulator.model import Model, ModelInfo, ModelLabels
from simulator.stages import param_shapes
from simulator.tokenizer import UNK, WordTokenizer

# -- the residual stream's named dimensions ------------------------------------------------------

#: What kind of word it is: exactly one of these is 1 for every word except <unk>.
CLASS_DIMS = ("determiner", "adjective", "noun", "verb", "preposition", "and", "end")
#: What adjectives describe; the adjective heads copy these into nouns.
ATTRIBUTE_DIMS = (
    "colour-blue", "colour-red", "colour-green", "texture-fluffy", "texture-soft", "size", "age",
)
#: What a word is about; the context head copies the first six into two-sense words.
TOPIC_DIMS = ("animal", "person", "water", "money", "earth", "secret")
MEANING_DIMS = ("place", *TOPIC_DIMS, "two-senses")
#: Facts about the sentence so far, written by layer 1 and read by the unembedding.
GRAMMAR_DIMS = ("takes-object", "after-verb", "expects-verb", "expects-end")
#: Where the word is: the first word is flagged, and every word has a hand on a half clock.
POSITION_DIMS = ("first-word", "clock-x", "clock-y")

DIMS: tuple[str, ...] = CLASS_DIMS + ATTRIBUTE_DIMS + MEANING_DIMS + GRAMMAR_DIMS + POSITION_DIMS
DIM: Mapping[str, int] = MappingProxyType({name: i for i, name in enumerate(DIMS)})

COLOUR_DIMS = ATTRIBUTE_DIMS[:3]
#: Words that end a noun phrase; the adjective heads treat them as fence posts.
FENCE_DIMS = ("verb", "preposition", "and", "end")

# -- the vocabulary ------------------------------------------------------------------------------

DETERMINERS = ("a", "an", "the")
ADJECTIVES = ("fluffy", "furry", "soft", "blue", "red", "green", "small", "big", "old", "young")
NOUNS = (
    "creature", "cat", "dog", "fish", "bird", "mole", "spy", "bank", "river", "money", "hole",
    "garden", "water",
)
PLACES = tuple(w for w in NOUNS if w in ("bank", "river", "hole", "garden"))
VERBS = ("walks", "runs", "sits", "swims", "eats", "finds", "find", "digs", "dug", "hides", "reported")
PREPOSITIONS = ("by", "on", "to", "near", "in", "under")
VOCAB: tuple[str, ...] = (UNK, ".", *DETERMINERS, *ADJECTIVES, *NOUNS, *VERBS, *PREPOSITIONS, "and")


def _features() -> dict[str, dict[str, float]]:
    """Each word as a readable list of named features (everything unlisted is 0)."""
    words: dict[str, dict[str, float]] = {UNK: {}, ".": {"end": 1.0}, "and": {"and": 1.0}}
    for det in DETERMINERS:
        words[det] = {"determiner": 1.0}
    adjective_meaning = {
        "fluffy": {"texture-fluffy": 1.0},
        "furry": {"texture-fluffy": 1.0, "animal": 0.5},  # fur belongs to animals: a clue
        "soft": {"texture-soft": 1.0},
        "blue": {"colour-blue": 1.0},
        "red": {"colour-red": 1.0},
        "green": {"colour-green": 1.0},
        "small": {"size": -1.0},
        "big": {"size": 1.0},
        "old": {"age": 1.0},
        "young": {"age": -1.0},
    }
    for adj, meaning in adjective_meaning.items():
        words[adj] = {"adjective": 1.0, **meaning}
    noun_meaning = {
        "creature": {"animal": 1.0},
        "cat": {"animal": 1.0},
        "dog": {"animal": 1.0},
        "fish": {"animal": 1.0, "water": 1.0},
        "bird": {"animal": 1.0},
        # the two-sense words sit exactly halfway between their senses
        "mole": {"animal": 0.5, "secret": 0.5, "two-senses": 1.0},
        "spy": {"person": 1.0, "secret": 1.0},
        "bank": {"place": 1.0, "water": 0.5, "money": 0.5, "two-senses": 1.0},
        "river": {"place": 1.0, "water": 1.0},
        "money": {"money": 1.0},
        "hole": {"place": 1.0, "earth": 1.0},
        "garden": {"place": 1.0, "earth": 1.0},
        "water": {"water": 1.0},
    }
    for noun, meaning in noun_meaning.items():
        words[noun] = {"noun": 1.0, **meaning}
    verb_meaning = {
        "walks": {},
        "runs": {},
        "sits": {},
        "swims": {"water": 1.0},
        "eats": {"takes-object": 1.0},
        "finds": {"takes-object": 1.0},
        "find": {"takes-object": 1.0},
        "digs": {"takes-object": 1.0, "earth": 1.0},
        "dug": {"takes-object": 1.0, "earth": 1.0},
        "hides": {"takes-object": 1.0, "secret": 0.5},
        "reported": {"secret": 0.5, "person": 0.5},
    }
    for verb, meaning in verb_meaning.items():
        words[verb] = {"verb": 1.0, **meaning}
    for prep in PREPOSITIONS:
        words[prep] = {"preposition": 1.0}
    return words


#: word -> {dimension name: value}; the embedding of a word is exactly this list.
WORDS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {w: MappingProxyType(f) for w, f in _features().items()}
)

# -- sizes ---------------------------------------------------------------------------------------

N_CTX = 16
#: The clock hand turns this much per word, so the last position (15) points the opposite way.
CLOCK_STEP = math.radians(12.0)
D_HEAD = 8
SCALE = math.sqrt(D_HEAD)

CONFIG = ModelConfig(
    d_model=len(DIMS), n_heads=3, d_head=D_HEAD, n_layers=2, d_mlp=6, vocab_size=len(VOCAB),
    n_ctx=N_CTX, act="relu", norm="none", positional="learned", causal=True, scale_scores=True,
    dtype="float64",
)

# -- design numbers (scaled attention scores, neuron thresholds, logit bonuses) ------------------

#: Layer 0 "noun phrase" heads: how strongly a noun's query is answered by each kind of word.
PHRASE_TARGET = 8.0      # an adjective (head 0), a colour word (head 1) or a fluffy word (head 2)
PHRASE_DETERMINER = 4.0  # the noun's own determiner: where it rests when there is no adjective
PHRASE_FENCE = 7.0       # verbs, prepositions, "and", ".": they stand between phrases
PHRASE_NEARBY = 15.0     # strength of the clock comparison that favours nearby words
SINK = 30.0              # words with nothing to ask rest on the first word
#: How much each layer 0 head adds per unit of attention (its value → output gain).
ADJECTIVE_GAIN = 1.0
COLOUR_GAIN = 2.0
FLUFFY_GAIN = 2.0
#: Layer 1 heads.
CLUE_MATCH = 6.0         # a two-sense word hearing a clue for one of its senses
CLUE_GAIN = 1.0
VERB_MATCH = 8.0         # any word hearing a verb before it
VERB_REST = 4.0          # ... or, with no verb yet, resting on the first word
SUBJECT_MATCH = 8.0      # a verb hearing a noun
SUBJECT_EARLY = 5.0      # ... preferring the earliest noun (the subject)

HEAD_NAMES: tuple[tuple[str, ...], ...] = (
    ("adjectives → noun", "colour → noun", "fluffy words → noun"),
    ("clues → two-sense word", "has the verb happened?", "verb → its subject"),
)

# -- neurons: (name, {input dimension: weight}, bias, {output dimension: weight}) ----------------

Neuron = tuple[str, Mapping[str, float], float, Mapping[str, float]]

MLP0: tuple[Neuron, ...] = (
    ("is it a fluffy blue thing?",
     {"noun": 2.0, "texture-fluffy": 1.0, "colour-blue": 1.0}, -5.7, {"animal": 1.0}),
    ("is it a furry animal?",
     {"animal": 3.0, "texture-fluffy": 1.0}, -4.8, {"texture-soft": 1.0}),
    ("is it a blue place?",
     {"place": 3.0, "colour-blue": 1.0}, -4.0, {"water": 1.0}),
    ("is it a green place?",
     {"place": 3.0, "colour-green": 1.0}, -4.0, {"earth": 1.0}),
    ("is it a green animal?",
     {"animal": 3.0, "colour-green": 1.0}, -4.8, {"secret": 1.0}),
    ("is it a furry two-sense word?",
     {"two-senses": 3.0, "texture-fluffy": 1.0}, -4.8, {"animal": 0.5, "earth": 0.5}),
)

MLP1: tuple[Neuron, ...] = (
    ("is it a place by the water?",
     {"place": 1.0, "water": 1.0, "money": -1.0}, -1.4, {"water": 1.0, "money": -1.0}),
    ("is it a place for money?",
     {"place": 1.0, "money": 1.0, "water": -1.0}, -1.4, {"money": 1.0, "water": -1.0}),
    ("is it the mole that digs?",
     {"two-senses": 4.0, "place": -2.0, "animal": 1.0, "earth": 1.0, "secret": -1.0, "person": -1.0}, -4.4,
     {"animal": 1.0, "earth": 1.0, "secret": -1.0, "person": -1.0}),
    ("is it the mole that spies?",
     {"two-senses": 4.0, "place": -2.0, "secret": 1.0, "person": 1.0, "animal": -1.0, "earth": -1.0}, -4.4,
     {"secret": 1.0, "person": 1.0, "animal": -1.0, "earth": -1.0}),
    ("is it the subject, still waiting for its verb?",
     {"noun": 2.0, "after-verb": -2.0}, -1.0, {"expects-verb": 1.0}),
    ("has the action happened (a noun after the verb)?",
     {"noun": 2.0, "after-verb": 2.0}, -3.0, {"expects-end": 1.0}),
)

NEURON_NAMES: tuple[tuple[str, ...], ...] = tuple(tuple(n[0] for n in mlp) for mlp in (MLP0, MLP1))

#: The sense directions the bank and mole presets talk about (unit vectors built by direction()).
SENSES: Mapping[str, Mapping[str, Mapping[str, float]]] = MappingProxyType({
    "bank": MappingProxyType({"river": {"water": 1.0}, "money": {"money": 1.0}}),
    "mole": MappingProxyType({"animal": {"animal": 1.0, "earth": 1.0}, "spy": {"secret": 1.0, "person": 1.0}}),
})


def vector(features: Mapping[str, float]) -> np.ndarray:
    """A residual-stream vector from named features, e.g. ``vector({"water": 1})``."""
    out = np.zeros(len(DIMS))
    for name, value in features.items():
        out[DIM[name]] = value
    return out


def direction(features: Mapping[str, float]) -> np.ndarray:
    """The unit vector pointing along a combination of named dimensions."""
    v = vector(features)
    return v / np.linalg.norm(v)


# -- the weights ---------------------------------------------------------------------------------


def _embeddings() -> np.ndarray:
    """W_E: row = word, column = named dimension, cell = that word's feature (usually 0 or 1)."""
    return np.stack([vector(WORDS[w]) for w in VOCAB])


def _positions() -> np.ndarray:
    """W_pos: the first word is flagged; every word gets a clock hand turned 12° per position."""
    p = np.arange(N_CTX)
    w_pos = np.zeros((N_CTX, len(DIMS)))
    w_pos[0, DIM["first-word"]] = 1.0
    w_pos[:, DIM["clock-x"]] = np.cos(CLOCK_STEP * p)
    w_pos[:, DIM["clock-y"]] = np.sin(CLOCK_STEP * p)
    return w_pos


class _Heads:
    """Fills one layer's Q, K, V and O weights slot by slot, in design units."""

    def __init__(self, params: dict[str, np.ndarray], layer: int) -> None:
        prefix = f"blocks.{layer}.attn."
        self.W_Q, self.b_Q = params[prefix + "W_Q"], params[prefix + "b_Q"]
        self.W_K = params[prefix + "W_K"]
        self.W_V, self.W_O = params[prefix + "W_V"], params[prefix + "W_O"]

    def ask(
        self,
        head: int,
        slot: int,
        query: Mapping[str, float],
        key: Mapping[str, float],
        query_bias: float = 0.0,
    ) -> None:
        """One question and its answer, in scaled units.

        The word at the query position asks with strength Σ query[feature] × its feature +
        query_bias; the word at the key position answers with Σ key[feature] × its feature;
        the scaled score gains the product of the two.
        """
        for name, weight in query.items():
            self.W_Q[head, DIM[name], slot] = weight * SCALE
        self.b_Q[head, slot] = query_bias * SCALE
        for name, weight in key.items():
            self.W_K[head, DIM[name], slot] = weight

    def ask_nearby(self, head: int, slots: tuple[int, int], strength: float) -> None:
        """Compare clock hands: adds strength · cos(12° × distance) to every score."""
        for slot, name in zip(slots, ("clock-x", "clock-y")):
            self.ask(head, slot, {name: strength}, {name: 1.0})

    def carry(self, head: int, value_slot: int, source: str, target: str, gain: float) -> None:
        """The value's slot reads ``source``; the output writes it onto ``target`` × gain."""
        self.W_V[head, DIM[source], value_slot] = 1.0
        self.W_O[head, value_slot, DIM[target]] = gain


def _layer0_attention(params: dict[str, np.ndarray]) -> None:
    """Three noun-phrase heads: every adjective, only colour words, only fluffy words → the noun.

    Slot 0 is the question ("an adjective / colour word / fluffy word before me?", asked by
    nouns only), slots 1–2 compare clock hands so nearby words win, slot 3 sends every non-noun
    to the first word, unless that word is an adjective (whose features it would copy). The value copies the head's features into the noun at the head's gain.
    Head 0 shares its attention among all the adjectives; heads 1 and 2 hear only one kind of
    word, so a noun gets its colour and its fluffiness at full strength however many other
    adjectives there are (that is what lets the MLP ask "fluffy AND blue?").
    """
    heads = _Heads(params, 0)
    fences = {name: PHRASE_FENCE for name in FENCE_DIMS}
    targets = (
        {"adjective": PHRASE_TARGET},
        {name: PHRASE_TARGET for name in COLOUR_DIMS},
        {"texture-fluffy": PHRASE_TARGET},
    )
    carried = (
        (ATTRIBUTE_DIMS, ADJECTIVE_GAIN),
        (COLOUR_DIMS, COLOUR_GAIN),
        (("texture-fluffy",), FLUFFY_GAIN),
    )
    for head, target in enumerate(targets):
        heads.ask(head, 0, {"noun": 1.0}, {**target, "determiner": PHRASE_DETERMINER, **fences})
        heads.ask_nearby(head, (1, 2), PHRASE_NEARBY)
        heads.ask(head, 3, {"noun": -SINK}, {"first-word": 1.0, "adjective": -2.0}, query_bias=SINK)
        dims, gain = carried[head]
        for value_slot, name in enumerate(dims):
            heads.carry(head, value_slot, name, name, gain)


def _layer1_attention(params: dict[str, np.ndarray]) -> None:
    """Context clues for two-sense words, "has the verb happened?", and verb → subject."""
    heads = _Heads(params, 1)
    # Head 0: a two-sense word asks about the topics it is torn between. The question is its own
    # topic halves + 2 × two-senses − 2, so only two-sense words really ask (for any other word
    # the −2 wins). Keys are pushed below zero (−2 per two-sense word) so a two-sense word never
    # answers itself or another two-sense word.
    bank_topics, mole_topics = ("water", "money"), ("animal", "earth", "secret", "person")
    for slot, topics in enumerate((bank_topics, mole_topics)):
        heads.ask(0, slot, {**{name: CLUE_MATCH for name in topics}, "two-senses": 2 * CLUE_MATCH},
                  {**{name: 1.0 for name in topics}, "two-senses": -2.0}, query_bias=-2 * CLUE_MATCH)
    heads.ask(0, 2, {"two-senses": -SINK}, {"first-word": 1.0}, query_bias=SINK)
    for value_slot, name in enumerate(TOPIC_DIMS):
        heads.carry(0, value_slot, name, name, CLUE_GAIN)
    # Head 1: every word looks for a verb at or before it; without one it rests on the first word.
    heads.ask(1, 0, {}, {"verb": 1.0}, query_bias=VERB_MATCH)
    heads.ask(1, 1, {}, {"first-word": 1.0}, query_bias=VERB_REST)
    heads.carry(1, 0, "verb", "after-verb", 1.0)
    # Head 2: a verb looks for the earliest noun (clock-x falls as the hand turns); every other
    # word rests on the first word.
    heads.ask(2, 0, {"verb": SUBJECT_MATCH}, {"noun": 1.0})
    heads.ask(2, 1, {"verb": SUBJECT_EARLY}, {"clock-x": 1.0})
    heads.ask(2, 2, {"verb": -SINK}, {"first-word": 1.0}, query_bias=SINK)
    for value_slot, name in enumerate((*ATTRIBUTE_DIMS, "animal")):
        heads.carry(2, value_slot, name, name, 1.0)


def _mlp(params: dict[str, np.ndarray], layer: int, neurons: tuple[Neuron, ...]) -> None:
    """Column n of W_in is neuron n's question, b_in its threshold, row n of W_out its answer."""
    prefix = f"blocks.{layer}.mlp."
    for n, (_name, reads, bias, writes) in enumerate(neurons):
        for dim, weight in reads.items():
            params[prefix + "W_in"][DIM[dim], n] = weight
        params[prefix + "b_in"][n] = bias
        for dim, weight in writes.items():
            params[prefix + "W_out"][n, DIM[dim]] = weight


#: Next-word rules: residual dimension -> {next word or word group: logit bonus}.
UNEMBED_RULES: Mapping[str, Mapping[str, float]] = MappingProxyType({
    # grammar: what kind of word may follow this kind of word
    "determiner": {"ADJECTIVES": 2.0, "NOUNS": 2.0},
    "adjective": {"ADJECTIVES": 1.0, "NOUNS": 2.0},
    "verb": {"PREPOSITIONS": 3.0, ".": 1.5},
    "takes-object": {"PREPOSITIONS": -3.0, ".": -1.5, "DETERMINERS": 3.0, "NOUNS": 1.5},
    "preposition": {"DETERMINERS": 3.0},
    "and": {"DETERMINERS": 2.0, "VERBS": 1.0},
    "end": {"DETERMINERS": 3.0},
    "expects-verb": {"VERBS": 3.0, "find": -3.0},
    "expects-end": {".": 4.0, "and": 3.0, "PREPOSITIONS": 1.5, "to": 1.5},
    "after-verb": {"PLACES": 1.0},
    # topic: words that go with what the sentence is about
    "animal": {"walks": 0.5, "runs": 0.5, "sits": 0.5, "eats": 0.5},
    "water": {"swims": 1.0, "river": 0.5, "fish": 0.5, "water": 0.5, "bank": 0.25},
    "money": {"money": 0.5, "bank": 0.25},
    "earth": {"digs": 1.0, "dug": 1.0, "hole": 0.5},
    "secret": {"hides": 1.0, "reported": 1.0, "spy": 0.5},
    "person": {"reported": 0.5},
})
#: Word groups the rules may name instead of single words.
WORD_GROUPS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "DETERMINERS": DETERMINERS, "ADJECTIVES": ADJECTIVES, "NOUNS": NOUNS, "PLACES": PLACES,
    "VERBS": VERBS, "PREPOSITIONS": PREPOSITIONS,
})
#: Fixed per-word offsets: never predict <unk>; "an" is rarer than "a".
UNEMBED_BIAS: Mapping[str, float] = MappingProxyType({UNK: -8.0, "an": -0.5})


def _unembedding(params: dict[str, np.ndarray]) -> None:
    """W_U[dimension, word] = the bonus a rule gives that word; rules add up."""
    index = {w: i for i, w in enumerate(VOCAB)}
    w_u = params["unembed.W_U"]
    for dim, bonuses in UNEMBED_RULES.items():
        for target, bonus in bonuses.items():
            for word in WORD_GROUPS.get(target, (target,)):
                w_u[DIM[dim], index[word]] += bonus
    for word, bias in UNEMBED_BIAS.items():
        params["unembed.b_U"][index[word]] = bias


def build_params() -> dict[str, np.ndarray]:
    """Every parameter of the hand-built model; anything not set on purpose is exactly 0."""
    params = {name: np.zeros(shape) for name, shape in param_shapes(CONFIG).items()}
    params["embed.W_E"] = _embeddings()
    params["pos_embed.W_pos"] = _positions()
    _layer0_attention(params)
    _mlp(params, 0, MLP0)
    _layer1_attention(params)
    _mlp(params, 1, MLP1)
    _unembedding(params)
    return params


LABELS = ModelLabels(dims=DIMS, neurons=NEURON_NAMES, heads=HEAD_NAMES)


def build_model(info: ModelInfo) -> Model:
    """A fresh copy of the hand-built model, described by one preset's ``info``."""
    return Model(CONFIG, build_params(), WordTokenizer(VOCAB), labels=LABELS, info=info)


#: "What to look for" at every stage kind, written for this model; the presets add their own.
NOTES: Mapping[str, str] = MappingProxyType({
    "tokens": (
        "One word, one token. A word outside the 46-word vocabulary becomes <unk>, whose "
        "embedding is all zeros: it brings only its position, no meaning."
    ),
    "embed": (
        "Read a word's vector as a list of features: 'blue' is adjective + colour-blue, 'fish' is noun + "
        "animal + water, 'bank' is noun + place + half water + half money + two-senses. Every "
        "non-zero cell was typed in by hand."
    ),
    "pos_embed": (
        "Only three dimensions are used. first-word marks position 0; clock-x and clock-y are a "
        "clock hand that turns 12° per word, so neighbouring words have almost the same hand "
        "and distant words point elsewhere."
    ),
    "resid_pre": (
        "Into layer 0: word features plus position, nothing else. Into layer 1: compare the "
        "nouns with layer 0's, since they now carry their adjectives' colour and texture."
    ),
    "attn.q": (
        "Each query dimension is one question. Layer 0: a noun's dimension 0 asks for adjectives, "
        "dimensions 1–2 hold its clock hand, dimension 3 is large for words with nothing to ask. The "
        "numbers are stored ×√8 so that the scaled scores come out round."
    ),
    "attn.k": (
        "Keys are answers. In layer 0 dimension 0 an adjective (head 0), colour word (head 1) or "
        "fluffy word (head 2) answers 8, a determiner 4, a verb, preposition, 'and' or '.' 7; "
        "dimension 3 is 1 for the first word and −2 for every adjective."
    ),
    "attn.v": (
        "What each word would hand over if attended to. Head 0 of layer 0 offers the seven "
        "adjective features; nouns, verbs and determiners offer nothing, so attending to them "
        "changes nothing."
    ),
    "attn.scores": (
        "Every query against every key. In 'a fluffy blue creature', head 0, the creature query "
        "scores high at fluffy and blue; the other queries score high only at the first word."
    ),
    "attn.scaled": (
        "After dividing by √8 these are the design numbers: about 8 for a question answered, "
        "plus up to 15 for being close by, plus 30 on the first word for words with nothing "
        "to ask."
    ),
    "attn.masked": (
        "Later words are −∞: a word cannot look ahead. In 'the bank by the river', bank cannot "
        "see river. Switch the causal mask off and watch bank's scores change."
    ),
    "attn.pattern": (
        "Head 0 of layer 0: the noun puts almost all its weight on the adjectives in "
        "front of it; every other word rests on the first word (or, if that is an adjective, "
        "on nearby words that carry nothing). Heads 1 and 2 send the noun to "
        "its colour word and its fluffy word only."
    ),
    "attn.z": (
        "The pattern-weighted average of the values. The creature's z in head 0 is a blend "
        "of fluffy's and blue's features in the proportions of its attention."
    ),
    "attn.head_out": (
        "W_O writes each value dimension back onto its named dimension: head 0 at strength 1, the "
        "colour and fluffy heads at strength 2, so a noun always gets its colour and "
        "fluffiness clearly however many adjectives there are."
    ),
    "attn_out": (
        "The change each word receives. In 'a fluffy blue creature' only the creature "
        "moves, along colour-blue and texture-fluffy. In layer 1 look for water or money "
        "arriving at 'bank', and after-verb at every word after a verb."
    ),
    "resid_mid": (
        "Embedding plus attention's change: the creature is now noun + animal + blue + fluffy, "
        "the embedding moved by its context."
    ),
    "mlp.pre": (
        "One neuron per question; positive means yes. In 'a fluffy blue creature' the neuron "
        "'is it a fluffy blue thing?' is positive only at the creature."
    ),
    "mlp.post": (
        "ReLU keeps the yes answers and drops the no answers to 0; the size says how clear "
        "the yes was."
    ),
    "mlp_out": (
        "What each yes adds: a fluffy blue thing is probably an animal (+animal), a blue place "
        "is probably water (+water), a subject still waiting for its verb sets expects-verb."
    ),
    "resid_post": (
        "After layer 1 read the grammar dimensions: expects-verb is on at a subject noun, "
        "expects-end at a noun that comes after the verb, after-verb at every word after one."
    ),
    "logits": (
        "Each word's score is a sum of simple rules read from the last position: after a "
        "determiner adjectives and nouns +2, after a waiting subject every verb +3, plus small "
        "bonuses for words on the sentence's topic (water words after 'river')."
    ),
    "probs": (
        "The last position is the guess for the next word: after 'the' an adjective or noun, after "
        "'the cat' a verb, after 'the cat walks' a preposition, after 'the cat walks by the "
        "river bank' a full stop."
    ),
})

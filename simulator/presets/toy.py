"""``toy``: a small seeded random model, so every stage has real numbers to look at."""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from simulator.config import ModelConfig
from simulator.model import Model, ModelInfo
from simulator.stages import param_shapes
from simulator.tokenizer import UNK, WordTokenizer

ORDER = 90
SEED = 1234

VOCAB = (
    UNK, ".", ",", "a", "an", "the", "fluffy", "furry", "soft", "blue", "red", "green", "small",
    "big", "old", "creature", "cat", "dog", "fish", "bank", "river", "money", "mole", "walks",
    "sits", "eats", "swims", "by", "on", "to", "find", "near", "and", "in", "is", "it", "of",
    "water", "hole", "dug",
)

INFO = ModelInfo(
    name="toy",
    title="Toy (random weights)",
    description=(
        "A tiny model with seeded random weights: 2 layers, 2 heads, 16-dimensional embeddings, "
        "with a LayerNorm before attention and before the MLP, as in GPT-2. Its numbers mean "
        "nothing in particular, which makes it a clean place to watch the mechanics of every "
        "step, and to see what a model looks like before training."
    ),
    suggested=("a fluffy blue creature", "the cat walks by the bank", "the mole dug a hole by the river"),
    notes=MappingProxyType({
        "tokens": (
            "One token per word from a 40-word vocabulary; any other word becomes <unk>. A token "
            "id is only a place in that list: it means nothing by itself."
        ),
        "embed": (
            "Each word's vector is 16 random numbers, drawn once from a fixed seed. No dimension has a "
            "name, and cat is no closer to dog than to river: this is a model before any training."
        ),
        "pos_embed": (
            "Random position vectors, about half as large as the word vectors. The same word at "
            "two positions gets two different sums: that is all the model knows about word order."
        ),
        "resid_pre": (
            "Into block 0: word plus position, cell by cell. Into block 1: the same vectors plus "
            "everything block 0 added; compare the two to see how far one block moves a word."
        ),
        "ln1": (
            "Each token's vector is shifted to mean 0 and scaled to spread 1, then multiplied by "
            "gains close to 1. Tokens that were loud and quiet before now have the same size."
        ),
        "attn.q": (
            "What each word asks, in 8 numbers per head. With random W_Q the questions are "
            "arbitrary, but the same word at the same position always asks the same one."
        ),
        "attn.k": (
            "What each word answers with. When a key happens to match a query it is luck, not "
            "design: nothing has taught this model which words should find each other."
        ),
        "attn.v": (
            "What each word would hand over if another word listens to it: a random mix of its "
            "16 normalised numbers."
        ),
        "attn.scores": (
            "Every query against every key. The values spread widely, tens either side of zero, "
            "and the big ones land wherever the random weights happen to put them."
        ),
        "attn.scaled": (
            "The same grid divided by √8 ≈ 2.8. The order among one query's scores does not change; the "
            "gaps shrink, so the softmax that follows is less extreme."
        ),
        "attn.masked": (
            "Cells for later words become −∞, so no word can look ahead. The first word can only "
            "see itself: its attention is settled before any weight matters."
        ),
        "attn.pattern": (
            "Random weights still give patterns: each word's attention sums to 1, some words put almost all "
            "their weight on one word and others spread it out. Neither head has a job yet, so "
            "no bright cell means anything."
        ),
        "attn.z": (
            "Each word's mix of the values in the proportions of its attention. A sharp pattern "
            "copies one word's value almost unchanged; a spread one averages several."
        ),
        "attn.head_out": (
            "W_O turns each head's 8 numbers back into 16. The two heads' changes are unrelated "
            "and neither points along a direction with a meaning."
        ),
        "attn_out": (
            "Both heads' changes added up, plus a bias. Here they are larger than the stream "
            "itself, so attention pushes every word a long way, in no particular direction."
        ),
        "resid_mid": (
            "The stream plus attention's change. Compare with the residual stream into the "
            "block: every word has moved, but not towards anything a person would recognise."
        ),
        "ln2": (
            "Normalised again, token by token, before the MLP: mean 0, spread 1, gains close to 1."
        ),
        "mlp.pre": (
            "64 neurons' inputs, about half of them positive. Nobody chose their questions; look "
            "for a neuron that is positive for almost every word anyway."
        ),
        "mlp.post": (
            "GELU: positive inputs pass almost unchanged, negative ones are squashed to just "
            "below zero (never under about −0.17), so about half the grid goes pale."
        ),
        "mlp_out": (
            "What the firing neurons write back: 64 random directions, each weighted by how "
            "strongly its neuron fired. In this model it is a smaller change than attention's."
        ),
        "resid_post": (
            "The stream after the whole block. After block 1 this is all the model has to go on: "
            "only the last position is used for the next-word guess."
        ),
        "ln_final": (
            "One last normalisation of each token before the words are scored."
        ),
        "logits": (
            "One score per vocabulary word: the last position measured against each word's direction in "
            "W_U. The top scores have nothing to do with the sentence."
        ),
        "probs": (
            "Softmax of the logits: the guess is spread over many words, rarely above 25%, and "
            "ignores grammar. That is where training starts; compare the tiny-trained preset."
        ),
    }),
    source="preset:toy",
)

CONFIG = ModelConfig(
    d_model=16, n_heads=2, d_head=8, n_layers=2, d_mlp=64, vocab_size=len(VOCAB), n_ctx=32,
    act="gelu", norm="pre", ln_eps=1e-5, positional="learned", causal=True, scale_scores=True,
    dtype="float32",
)


def build() -> Model:
    rng = np.random.default_rng(SEED)
    params: dict[str, np.ndarray] = {}
    for name, shape in param_shapes(CONFIG).items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "w":
            params[name] = 1.0 + 0.1 * rng.standard_normal(shape)
        elif leaf.startswith("b"):
            params[name] = 0.05 * rng.standard_normal(shape)
        else:
            fan_in = shape[-2]
            params[name] = rng.standard_normal(shape) / np.sqrt(fan_in) * (1.5 if leaf in ("W_Q", "W_K") else 1.0)
    params["embed.W_E"] = rng.standard_normal(param_shapes(CONFIG)["embed.W_E"])
    params["pos_embed.W_pos"] = 0.5 * rng.standard_normal(param_shapes(CONFIG)["pos_embed.W_pos"])
    return Model(CONFIG, params, WordTokenizer(VOCAB), info=INFO)

"""``toy``: a small seeded random model, so every stage has real numbers to look at."""

from __future__ import annotations

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
        "A tiny model with seeded random weights: 2 layers, 2 heads, 16-dimensional embeddings. "
        "Its numbers mean nothing in particular, which makes it a clean place to watch the "
        "mechanics of every step."
    ),
    suggested=("a fluffy blue creature", "the cat walks by the bank", "the mole dug a hole by the river"),
    notes={"attn.pattern": "Random weights give blurry patterns: every row still sums to 1."},
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

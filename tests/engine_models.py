"""Random small models and inputs for the engine tests (hypothesis strategies and builders).

Parameter shapes come from the tests' own table (:func:`reference_param_shapes`), so building a
model also checks that the engine expects exactly the parameters the issue names.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

import simulator
from reference_forward import reference_param_shapes


@dataclass(frozen=True)
class Case:
    """A random model plus one input to run through it."""

    model: simulator.Model
    ids: tuple[int, ...]
    token_types: tuple[int, ...] | None
    temperature: float
    causal: bool | None
    scale_scores: bool | None

    def trace(self) -> simulator.Trace:
        return self.model.trace(
            list(self.ids),
            temperature=self.temperature,
            causal=self.causal,
            scale_scores=self.scale_scores,
            token_types=self.token_types,
        )


def word_vocab(size: int) -> list[str]:
    """``size`` distinct lower-case words, the first being the unknown-word token."""
    return ["<unk>"] + [f"w{i}" for i in range(1, size)]


def random_params(config: simulator.ModelConfig, seed: int, scale: float = 1.0) -> dict[str, np.ndarray]:
    """Seeded normal weights (LayerNorm gains near 1) for every parameter of ``config``."""
    rng = np.random.default_rng(seed)
    params = {}
    for name, shape in reference_param_shapes(config).items():
        values = rng.standard_normal(shape)
        if name.endswith(".w"):
            params[name] = 1.0 + 0.3 * values
        else:
            params[name] = scale * values
    return params


def build_model(config: simulator.ModelConfig, seed: int, scale: float = 1.0, tokenizer_size: int | None = None) -> simulator.Model:
    """A model with random weights and a word tokenizer over generated words."""
    size = config.vocab_size if tokenizer_size is None else tokenizer_size
    tokenizer = simulator.WordTokenizer(word_vocab(size))
    return simulator.Model(config, random_params(config, seed, scale), tokenizer)


@st.composite
def configs(draw: st.DrawFn, dtype: str = "float64", max_layers: int = 3) -> simulator.ModelConfig:
    """Small configurations covering every choice the engine offers."""
    norm = draw(st.sampled_from(("none", "pre", "post")))
    return simulator.ModelConfig(
        d_model=draw(st.integers(1, 12)),
        n_heads=draw(st.integers(1, 3)),
        d_head=draw(st.integers(1, 6)),
        n_layers=draw(st.integers(0, max_layers)),
        d_mlp=draw(st.integers(1, 10)),
        vocab_size=draw(st.integers(2, 15)),
        n_ctx=draw(st.integers(1, 8)),
        act=draw(st.sampled_from(("relu", "gelu", "gelu_tanh"))),
        norm=norm,
        ln_eps=draw(st.sampled_from((1e-5, 1e-12, 0.1))),
        positional=draw(st.sampled_from(("none", "sinusoidal", "learned"))),
        causal=draw(st.booleans()),
        scale_scores=draw(st.booleans()),
        dtype=dtype,
        n_token_types=draw(st.integers(0, 3)),
        embed_norm=draw(st.booleans()) if norm != "none" else False,
        unembed=draw(st.booleans()),
        pooling=draw(st.sampled_from(("none", "mean"))),
    )


@st.composite
def cases(draw: st.DrawFn, config_strategy: st.SearchStrategy | None = None, overrides: bool = True) -> Case:
    """A random model and input: ids, segment ids, temperature and (optionally) toggles."""
    config = draw(config_strategy if config_strategy is not None else configs())
    tokenizer_size = draw(st.integers(2, config.vocab_size))
    model = build_model(
        config,
        seed=draw(st.integers(0, 2**32 - 1)),
        scale=draw(st.sampled_from((0.1, 0.5, 1.0, 2.0))),
        tokenizer_size=tokenizer_size,
    )
    n = draw(st.integers(1, config.n_ctx))
    ids = tuple(draw(st.lists(st.integers(0, tokenizer_size - 1), min_size=n, max_size=n)))
    token_types = None
    if config.n_token_types and draw(st.booleans()):
        token_types = tuple(draw(st.lists(st.integers(0, config.n_token_types - 1), min_size=n, max_size=n)))
    return Case(
        model=model,
        ids=ids,
        token_types=token_types,
        temperature=draw(st.floats(0.05, 20.0)),
        causal=draw(st.sampled_from((None, True, False))) if overrides else None,
        scale_scores=draw(st.sampled_from((None, True, False))) if overrides else None,
    )

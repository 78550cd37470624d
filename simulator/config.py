"""The shape and kind of a transformer: a frozen, validated description with no weights."""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

import numpy as np

from simulator.errors import ConfigError

ACTIVATIONS = ("relu", "gelu", "gelu_tanh")
NORMS = ("none", "pre", "post")
POSITIONALS = ("none", "sinusoidal", "learned")
POOLINGS = ("none", "mean")
DTYPES = ("float32", "float64")

#: Upper bounds that keep a mistyped file from allocating the whole machine.
MAX_DIM = 1 << 16
MAX_VOCAB = 1 << 20
MAX_LAYERS = 256


@dataclass(frozen=True)
class ModelConfig:
    """Sizes and switches of a decoder (GPT-2 style) or encoder (BERT style) transformer.

    ``norm`` is where LayerNorm sits: ``pre`` (before attention and MLP, plus a final norm,
    as in GPT-2), ``post`` (after each residual add, as in BERT) or ``none``.
    ``n_token_types``, ``embed_norm`` and ``pooling`` exist for BERT-family models.
    """

    d_model: int
    n_heads: int
    d_head: int
    n_layers: int
    d_mlp: int
    vocab_size: int
    n_ctx: int
    act: str = "gelu"
    norm: str = "pre"
    ln_eps: float = 1e-5
    positional: str = "learned"
    causal: bool = True
    scale_scores: bool = True
    dtype: str = "float32"
    n_token_types: int = 0
    embed_norm: bool = False
    unembed: bool = True
    pooling: str = "none"

    def __post_init__(self) -> None:
        for name, upper in (
            ("d_model", MAX_DIM),
            ("n_heads", 1024),
            ("d_head", MAX_DIM),
            ("d_mlp", MAX_DIM),
            ("vocab_size", MAX_VOCAB),
            ("n_ctx", MAX_DIM),
        ):
            _check_int(name, getattr(self, name), 1, upper)
        _check_int("n_layers", self.n_layers, 0, MAX_LAYERS)
        _check_int("n_token_types", self.n_token_types, 0, 1024)
        _check_choice("act", self.act, ACTIVATIONS)
        _check_choice("norm", self.norm, NORMS)
        _check_choice("positional", self.positional, POSITIONALS)
        _check_choice("pooling", self.pooling, POOLINGS)
        _check_choice("dtype", self.dtype, DTYPES)
        for name in ("causal", "scale_scores", "embed_norm", "unembed"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise ConfigError(f"{name} must be true or false, got {getattr(self, name)!r}")
        eps = self.ln_eps
        if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not np.isfinite(eps) or eps <= 0:
            raise ConfigError(f"ln_eps must be a positive number, got {eps!r}")
        if self.embed_norm and self.norm == "none":
            raise ConfigError("embed_norm needs a LayerNorm kind (norm 'pre' or 'post')")

    @property
    def np_dtype(self) -> np.dtype:
        return np.dtype(self.dtype)

    @property
    def has_ln_final(self) -> bool:
        """GPT-2 style models normalise once more before the unembedding."""
        return self.norm == "pre"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """Build from a JSON-like mapping, naming unknown or missing keys clearly."""
        if not isinstance(data, dict):
            raise ConfigError("model config must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown model config keys: {', '.join(unknown)}")
        required = {f.name for f in fields(cls) if f.default is MISSING}
        missing = sorted(k for k in required if k not in data)
        if missing:
            raise ConfigError(f"model config is missing: {', '.join(missing)}")
        return cls(**data)


def _check_int(name: str, value: object, lower: int, upper: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    if not lower <= int(value) <= upper:
        raise ConfigError(f"{name} must be between {lower} and {upper}, got {value}")


def _check_choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}; got {value!r}")

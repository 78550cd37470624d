"""The forward pass as a graph of named stages, in the order a reader meets them.

Each :class:`StageSpec` says what a stage is computed from (earlier stages, parameters and run
options), how its axes are named, the equation it implements, and how to compute it. Stage ids
follow TransformerLens: ``embed``, ``blocks.0.attn.pattern``, ``blocks.1.resid_post``, ``logits``.

Layouts (``pos`` is the token position)::

    tokens                          [pos]               token ids
    embed, pos_embed                [pos, d_model]
    token_type_embed, embed_ln      [pos, d_model]      BERT only
    blocks.{l}.resid_pre            [pos, d_model]
    blocks.{l}.ln1                  [pos, d_model]      pre-LN: norm of resid_pre;
                                                        post-LN: norm of resid_mid
    blocks.{l}.attn.q|k|v           [head, pos, d_head]
    blocks.{l}.attn.scores          [head, query_pos, key_pos]   raw Q·Kᵀ
    blocks.{l}.attn.scaled          same, ÷ √d_head when scaling is on
    blocks.{l}.attn.masked          same, future keys −inf when causal
    blocks.{l}.attn.pattern         same, softmax over keys
    blocks.{l}.attn.z               [head, pos, d_head]
    blocks.{l}.attn.head_out        [head, pos, d_model]
    blocks.{l}.attn_out             [pos, d_model]
    blocks.{l}.resid_mid            [pos, d_model]      resid_pre + attn_out
    blocks.{l}.ln2                  [pos, d_model]      pre-LN: norm of resid_mid;
                                                        post-LN: norm of resid_post
    blocks.{l}.mlp.pre|post         [pos, d_mlp]
    blocks.{l}.mlp_out              [pos, d_model]
    blocks.{l}.resid_post           [pos, d_model]      MLP input + mlp_out
    resid_final                     [pos, d_model]      E + P (+ S): no blocks and no embed_ln
    ln_final                        [pos, d_model]      pre-LN models only
    logits, probs                   [pos, vocab]        models with an unembedding
    pooled                          [d_model]           mean over positions (sentence models)

A stage's ``kind`` is its id without the block prefix; what a kind means to the UI (its
navigator group, colour group, equation layout and explanation) is in :mod:`simulator.stage_kinds`.
A stage in a block carries the block as data: ``stack`` ("blocks") and ``layer``.

In a post-LN (BERT) block the MLP reads ``ln1`` and adds its output to it, and the next block
reads ``ln2``; in a pre-LN (GPT-2) block the MLP reads ``ln2`` and adds to ``resid_mid``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import numpy as np

from simulator import ops
from simulator.config import ModelConfig

if TYPE_CHECKING:
    from simulator.trace import Trace

Compute = Callable[["Trace", list[np.ndarray]], np.ndarray]

#: The stack of transformer blocks of today's models (stage ids ``blocks.{layer}.…``).
BLOCKS = "blocks"

#: Run options a trace can override; every other input of a stage is a stage or a parameter.
OPTIONS = ("causal", "scale_scores", "temperature")


@dataclass(frozen=True)
class StageSpec:
    """Static description of one stage of the forward pass."""

    id: str
    kind: str
    title: str
    layer: int | None
    inputs: tuple[str, ...]
    params: tuple[str, ...]
    axes: tuple[str, ...]
    equation: str
    options: tuple[str, ...] = ()
    compute: Compute = field(default=None, repr=False, compare=False)  # type: ignore[assignment]
    #: the stack of blocks the stage belongs to ("blocks"; None outside the blocks): with
    #: ``layer`` it says which block the stage is in, as data rather than parsed from its id
    stack: str | None = None

    @property
    def has_heads(self) -> bool:
        return bool(self.axes) and self.axes[0] == "head"

    @property
    def block(self) -> tuple[str, int] | None:
        """(stack, layer) of the block the stage is in, or None for a stage outside the blocks."""
        if self.stack is None or self.layer is None:
            return None
        return (self.stack, self.layer)


def param_shapes(config: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every parameter the configuration needs, with its shape, in forward order."""
    c = config
    shapes: dict[str, tuple[int, ...]] = {"embed.W_E": (c.vocab_size, c.d_model)}
    if c.positional == "learned":
        shapes["pos_embed.W_pos"] = (c.n_ctx, c.d_model)
    if c.n_token_types:
        shapes["token_type_embed.W_tt"] = (c.n_token_types, c.d_model)
    if c.embed_norm:
        shapes["embed_ln.w"] = (c.d_model,)
        shapes["embed_ln.b"] = (c.d_model,)
    for layer in range(c.n_layers):
        p = f"blocks.{layer}."
        if c.norm != "none":
            shapes[p + "ln1.w"] = shapes[p + "ln1.b"] = (c.d_model,)
        for m in "QKV":
            shapes[p + f"attn.W_{m}"] = (c.n_heads, c.d_model, c.d_head)
        for m in "QKV":
            shapes[p + f"attn.b_{m}"] = (c.n_heads, c.d_head)
        shapes[p + "attn.W_O"] = (c.n_heads, c.d_head, c.d_model)
        shapes[p + "attn.b_O"] = (c.d_model,)
        if c.norm != "none":
            shapes[p + "ln2.w"] = shapes[p + "ln2.b"] = (c.d_model,)
        shapes[p + "mlp.W_in"] = (c.d_model, c.d_mlp)
        shapes[p + "mlp.b_in"] = (c.d_mlp,)
        shapes[p + "mlp.W_out"] = (c.d_mlp, c.d_model)
        shapes[p + "mlp.b_out"] = (c.d_model,)
    if c.has_ln_final:
        shapes["ln_final.w"] = shapes["ln_final.b"] = (c.d_model,)
    if c.unembed:
        shapes["unembed.W_U"] = (c.d_model, c.vocab_size)
        shapes["unembed.b_U"] = (c.vocab_size,)
    return shapes


#: axes of a weight that projects the stream into every head at once (W_Q, W_K, W_V): the
#: projections compute with it laid out as one matrix (``Trace.fused``)
PER_HEAD_PROJECTION = ("head", "d_model", "d_head")


def param_axes(name: str) -> tuple[str, ...]:
    """Axis names of a parameter, for labelling weight heatmaps."""
    leaf = name.rsplit(".", 1)[-1]
    table = {
        "W_E": ("vocab", "d_model"),
        "W_pos": ("pos", "d_model"),
        "W_tt": ("token_type", "d_model"),
        "W_Q": ("head", "d_model", "d_head"),
        "W_K": ("head", "d_model", "d_head"),
        "W_V": ("head", "d_model", "d_head"),
        "b_Q": ("head", "d_head"),
        "b_K": ("head", "d_head"),
        "b_V": ("head", "d_head"),
        "W_O": ("head", "d_head", "d_model"),
        "b_O": ("d_model",),
        "W_in": ("d_model", "d_mlp"),
        "b_in": ("d_mlp",),
        "W_out": ("d_mlp", "d_model"),
        "b_out": ("d_model",),
        "W_U": ("d_model", "vocab"),
        "b_U": ("vocab",),
        "w": ("d_model",),
        "b": ("d_model",),
    }
    return table[leaf]


class _Builder:
    """Collects stage specs in forward order."""

    def __init__(self) -> None:
        self.specs: dict[str, StageSpec] = {}

    def add(
        self,
        sid: str,
        title: str,
        inputs: tuple[str, ...],
        params: tuple[str, ...],
        axes: tuple[str, ...],
        equation: str,
        compute: Compute,
        options: tuple[str, ...] = (),
        layer: int | None = None,
    ) -> str:
        stack = BLOCKS if layer is not None else None
        kind = sid.removeprefix(f"{stack}.{layer}.") if stack is not None else sid
        self.specs[sid] = StageSpec(sid, kind, title, layer, inputs, params, axes, equation, options, compute, stack)
        return sid


def build_graph(config: ModelConfig) -> dict[str, StageSpec]:
    """All stages of a model with this configuration, in forward order."""
    c = config
    b = _Builder()
    b.add("tokens", "Tokens", (), (), ("pos",), "text → token ids", lambda t, a: t.ids)
    embed_parts = [
        b.add(
            "embed",
            "Token embeddings",
            ("tokens",),
            ("embed.W_E",),
            ("pos", "d_model"),
            "E = W_E[tokens]",
            lambda t, a: t.param("embed.W_E")[a[0]],
        )
    ]
    if c.positional == "learned":
        embed_parts.append(
            b.add(
                "pos_embed",
                "Position embeddings",
                ("tokens",),
                ("pos_embed.W_pos",),
                ("pos", "d_model"),
                "P = W_pos[0 … pos−1]",
                lambda t, a: t.param("pos_embed.W_pos")[: a[0].shape[0]],
            )
        )
    elif c.positional == "sinusoidal":
        embed_parts.append(
            b.add(
                "pos_embed",
                "Position embeddings (sinusoidal)",
                ("tokens",),
                (),
                ("pos", "d_model"),
                "P[p, 2i] = sin(p / 10000^(2i/d)),  P[p, 2i+1] = cos(p / 10000^(2i/d))",
                lambda t, a: ops.sinusoidal_positions(a[0].shape[0], c.d_model, c.np_dtype),
            )
        )
    if c.n_token_types:
        embed_parts.append(
            b.add(
                "token_type_embed",
                "Segment embeddings",
                ("tokens",),
                ("token_type_embed.W_tt",),
                ("pos", "d_model"),
                "S = W_tt[segment ids]",
                lambda t, a: t.param("token_type_embed.W_tt")[t.token_types],
            )
        )
    stream = tuple(embed_parts)
    if c.embed_norm:
        stream = (
            b.add(
                "embed_ln",
                "Embedding LayerNorm",
                stream,
                ("embed_ln.w", "embed_ln.b"),
                ("pos", "d_model"),
                "LN(E + P + S)",
                lambda t, a: _ln(t, "embed_ln", _sum(a), c),
            ),
        )
    for layer in range(c.n_layers):
        stream = (_add_block(b, c, layer, stream),)
    final = stream[0] if len(stream) == 1 else None
    if final is None:  # no layers and no embedding norm: the stream is still a sum of parts
        final = b.add(
            "resid_final",
            "Residual stream",
            stream,
            (),
            ("pos", "d_model"),
            "x = E + P",
            lambda t, a: _sum(a),
        )
    if c.has_ln_final:
        final = b.add(
            "ln_final",
            "Final LayerNorm",
            (final,),
            ("ln_final.w", "ln_final.b"),
            ("pos", "d_model"),
            "LN(x) = (x − mean) / √(var + ε) · w + b",
            lambda t, a: _ln(t, "ln_final", a[0], c),
        )
    if c.unembed:
        b.add(
            "logits",
            "Logits",
            (final,),
            ("unembed.W_U", "unembed.b_U"),
            ("pos", "vocab"),
            "logits = x · W_U + b_U",
            lambda t, a: ops.matmul(a[0], t.param("unembed.W_U"), t.param("unembed.b_U")),
        )
        b.add(
            "probs",
            "Next-token probabilities",
            ("logits",),
            (),
            ("pos", "vocab"),
            "p = softmax(logits / T)",
            lambda t, a: ops.softmax(a[0], temperature=t.option("temperature")),
            options=("temperature",),
        )
    if c.pooling == "mean":
        b.add(
            "pooled",
            "Sentence embedding (mean pooling)",
            (final,),
            (),
            ("d_model",),
            "s = mean over positions of x",
            lambda t, a: ops.sum_over(a[0], axis=0, mean=True),
        )
    return b.specs


def _sum(arrays: list[np.ndarray]) -> np.ndarray:
    return ops.add(*arrays)


def _ln(t: "Trace", prefix: str, x: np.ndarray, c: ModelConfig) -> np.ndarray:
    return ops.layer_norm(x, t.param(prefix + ".w"), t.param(prefix + ".b"), c.ln_eps)


def _add_block(b: _Builder, c: ModelConfig, layer: int, stream: tuple[str, ...]) -> str:
    """Add one transformer block's stages; return the id of the block's output stage."""
    p = f"{BLOCKS}.{layer}."
    P = p + "attn."
    pos_d = ("pos", "d_model")
    resid_pre = b.add(
        p + "resid_pre",
        f"Residual stream into block {layer}",
        stream,
        (),
        pos_d,
        "x = E + P" if layer == 0 and len(stream) > 1 else "x = output of the previous block",
        lambda t, a: _sum(a),
        layer=layer,
    )
    attn_in = resid_pre
    if c.norm == "pre":
        attn_in = b.add(
            p + "ln1",
            "LayerNorm before attention",
            (resid_pre,),
            (p + "ln1.w", p + "ln1.b"),
            pos_d,
            "LN(x) = (x − mean) / √(var + ε) · w + b",
            lambda t, a: _ln(t, p + "ln1", a[0], c),
            layer=layer,
        )
    head_pos = ("head", "pos", "d_head")
    for m, what in (("q", "Queries"), ("k", "Keys"), ("v", "Values")):
        M = m.upper()
        b.add(
            P + m,
            what,
            (attn_in,),
            (P + f"W_{M}", P + f"b_{M}"),
            head_pos,
            f"{M} = X · W_{M} + b_{M}",
            _projection(P, M),
            layer=layer,
        )
    scores_axes = ("head", "query_pos", "key_pos")
    b.add(
        P + "scores",
        "Attention scores",
        (P + "q", P + "k"),
        (),
        scores_axes,
        "S = Q · Kᵀ",
        lambda t, a: ops.matmul(a[0], a[1].transpose(0, 2, 1)),
        layer=layer,
    )
    b.add(
        P + "scaled",
        "Scaled scores",
        (P + "scores",),
        (),
        scores_axes,
        "S / √d_head",
        lambda t, a: a[0] / np.asarray(math.sqrt(c.d_head), dtype=a[0].dtype) if t.option("scale_scores") else a[0],
        options=("scale_scores",),
        layer=layer,
    )
    b.add(
        P + "masked",
        "Masked scores",
        (P + "scaled",),
        (),
        scores_axes,
        "S[q, k] = −∞ for every key k after the query q",
        _mask,
        options=("causal",),
        layer=layer,
    )
    b.add(
        P + "pattern",
        "Attention pattern",
        (P + "masked",),
        (),
        scores_axes,
        "A = softmax over keys of the masked scores",
        _pattern,
        options=("causal",),
        layer=layer,
    )
    b.add(
        P + "z",
        "Weighted values",
        (P + "pattern", P + "v"),
        (),
        head_pos,
        "Z = A · V",
        lambda t, a: ops.matmul(a[0], a[1]),
        layer=layer,
    )
    b.add(
        P + "head_out",
        "Each head's delta",
        (P + "z",),
        (P + "W_O",),
        ("head", "pos", "d_model"),
        "ΔE_h = Z_h · W_O[h]",
        lambda t, a: ops.matmul(a[0], t.param(P + "W_O")),
        layer=layer,
    )
    attn_out = b.add(
        p + "attn_out",
        "Attention output",
        (P + "head_out",),
        (P + "b_O",),
        pos_d,
        "ΔE = Σ_h ΔE_h + b_O",
        lambda t, a: ops.sum_over(a[0], axis=0, bias=t.param(P + "b_O")),
        layer=layer,
    )
    resid_mid = b.add(
        p + "resid_mid",
        "Residual stream after attention",
        (resid_pre, attn_out),
        (),
        pos_d,
        "x' = x + ΔE",
        lambda t, a: a[0] + a[1],
        layer=layer,
    )
    mlp_in = resid_mid
    if c.norm == "pre":
        mlp_in = b.add(
            p + "ln2",
            "LayerNorm before the MLP",
            (resid_mid,),
            (p + "ln2.w", p + "ln2.b"),
            pos_d,
            "LN(x') = (x' − mean) / √(var + ε) · w + b",
            lambda t, a: _ln(t, p + "ln2", a[0], c),
            layer=layer,
        )
    elif c.norm == "post":
        mlp_in = b.add(
            p + "ln1",
            "LayerNorm after attention",
            (resid_mid,),
            (p + "ln1.w", p + "ln1.b"),
            pos_d,
            "LN(x + ΔE)",
            lambda t, a: _ln(t, p + "ln1", a[0], c),
            layer=layer,
        )
    M = p + "mlp."
    b.add(
        M + "pre",
        "MLP neurons: the questions",
        (mlp_in,),
        (M + "W_in", M + "b_in"),
        ("pos", "d_mlp"),
        "H = X · W_in + b_in",
        lambda t, a: ops.matmul(a[0], t.param(M + "W_in"), t.param(M + "b_in")),
        layer=layer,
    )
    act = ops.ACTIVATION_FUNCTIONS[c.act]
    act_name = {"relu": "ReLU", "gelu": "GELU", "gelu_tanh": "GELU (tanh)"}[c.act]
    b.add(
        M + "post",
        "MLP neurons: the answers",
        (M + "pre",),
        (),
        ("pos", "d_mlp"),
        f"H' = {act_name}(H)",
        lambda t, a: act(a[0]),
        layer=layer,
    )
    mlp_out = b.add(
        p + "mlp_out",
        "MLP output",
        (M + "post",),
        (M + "W_out", M + "b_out"),
        pos_d,
        "ΔM = H' · W_out + b_out",
        lambda t, a: ops.matmul(a[0], t.param(M + "W_out"), t.param(M + "b_out")),
        layer=layer,
    )
    resid_post = b.add(
        p + "resid_post",
        "Residual stream after the MLP",
        (mlp_in if c.norm == "post" else resid_mid, mlp_out),
        (),
        pos_d,
        "x'' = LN(x + ΔE) + ΔM" if c.norm == "post" else "x'' = x' + ΔM",
        lambda t, a: a[0] + a[1],
        layer=layer,
    )
    if c.norm == "post":
        return b.add(
            p + "ln2",
            "LayerNorm after the MLP",
            (resid_post,),
            (p + "ln2.w", p + "ln2.b"),
            pos_d,
            "LN(x'')",
            lambda t, a: _ln(t, p + "ln2", a[0], c),
            layer=layer,
        )
    return resid_post


def _projection(prefix: str, which: str) -> Compute:
    w_name, b_name = prefix + f"W_{which}", prefix + f"b_{which}"

    def compute(t: "Trace", a: list[np.ndarray]) -> np.ndarray:
        weight = t.param(w_name)  # [head, d_model, d_head]
        n_heads, d_model, d_head = weight.shape
        fused = t.fused(w_name)  # [d_model, head * d_head], one matrix product for all heads
        out = ops.matmul(a[0], fused, t.param(b_name).reshape(-1))  # bias columns follow fused's
        return out.reshape(a[0].shape[0], n_heads, d_head).transpose(1, 0, 2)

    return compute


def _pattern(t: "Trace", a: list[np.ndarray]) -> np.ndarray:
    """Softmax over keys; a row whose scores all overflowed to −inf is uniform over the keys the
    mask lets the query see (future keys stay exactly 0)."""
    scores = a[0]
    where = (lambda: ~ops.causal_mask(scores.shape[-1])) if t.option("causal") else None
    return ops.softmax(scores, axis=-1, where=where)


def _mask(t: "Trace", a: list[np.ndarray]) -> np.ndarray:
    scaled = a[0]
    if not t.option("causal"):
        return scaled
    n = scaled.shape[-1]
    return np.where(ops.causal_mask(n), np.asarray(-np.inf, dtype=scaled.dtype), scaled)

"""An independent, loop-based forward pass written from the maths, to check the engine against.

Nothing here is shared with ``simulator``: every stage is computed with plain Python loops
over float scalars (``math.fsum`` for sums, ``math.erf``/``math.tanh`` for activations), so a
mistake in the engine's vectorised code cannot be repeated here. The only inputs taken from
the engine are a model's configuration and parameter arrays, read as plain data.

Semantics (from the issue and the stage list in ``simulator/stages.py``):

* the residual stream starts as token embedding + position embedding (learned rows, or the
  sinusoidal code P[p, 2i] = sin(p / 10000^(2i/d)), P[p, 2i+1] = cos(p / 10000^(2i/d)))
  + segment embedding, optionally LayerNormed (``embed_ln``);
* pre-LN (GPT-2): attention reads ln1 = LN(resid_pre), the MLP reads ln2 = LN(resid_mid),
  resid_post = resid_mid + mlp_out, and a final LN precedes the unembedding;
* post-LN (BERT): attention reads resid_pre, ln1 = LN(resid_mid) feeds the MLP,
  resid_post = ln1 + mlp_out, and the block's output is ln2 = LN(resid_post); no final LN;
* no norm: attention reads resid_pre, the MLP reads resid_mid;
* with no blocks and no embedding norm, a stream made of several parts is ``resid_final``.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

Matrix = list[list[float]]
NEG_INF = float("-inf")


def reference_param_shapes(config: Any) -> dict[str, tuple[int, ...]]:
    """Every parameter a configuration needs, written out from the issue's naming table."""
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
        for ln in ("ln1", "ln2"):
            if c.norm != "none":
                shapes[f"{p}{ln}.w"] = (c.d_model,)
                shapes[f"{p}{ln}.b"] = (c.d_model,)
        for m in "QKV":
            shapes[f"{p}attn.W_{m}"] = (c.n_heads, c.d_model, c.d_head)
            shapes[f"{p}attn.b_{m}"] = (c.n_heads, c.d_head)
        shapes[f"{p}attn.W_O"] = (c.n_heads, c.d_head, c.d_model)
        shapes[f"{p}attn.b_O"] = (c.d_model,)
        shapes[f"{p}mlp.W_in"] = (c.d_model, c.d_mlp)
        shapes[f"{p}mlp.b_in"] = (c.d_mlp,)
        shapes[f"{p}mlp.W_out"] = (c.d_mlp, c.d_model)
        shapes[f"{p}mlp.b_out"] = (c.d_model,)
    if c.norm == "pre":
        shapes["ln_final.w"] = (c.d_model,)
        shapes["ln_final.b"] = (c.d_model,)
    if c.unembed:
        shapes["unembed.W_U"] = (c.d_model, c.vocab_size)
        shapes["unembed.b_U"] = (c.vocab_size,)
    return shapes


def reference_stage_ids(config: Any) -> list[str]:
    """Every stage id of a configuration, in the order a reader meets them."""
    c = config
    ids = ["tokens", "embed"]
    if c.positional != "none":
        ids.append("pos_embed")
    if c.n_token_types:
        ids.append("token_type_embed")
    if c.embed_norm:
        ids.append("embed_ln")
    for layer in range(c.n_layers):
        p = f"blocks.{layer}."
        ids.append(p + "resid_pre")
        if c.norm == "pre":
            ids.append(p + "ln1")
        ids += [p + "attn." + s for s in ("q", "k", "v", "scores", "scaled", "masked", "pattern", "z", "head_out")]
        ids += [p + "attn_out", p + "resid_mid"]
        if c.norm == "pre":
            ids.append(p + "ln2")
        elif c.norm == "post":
            ids.append(p + "ln1")
        ids += [p + "mlp.pre", p + "mlp.post", p + "mlp_out", p + "resid_post"]
        if c.norm == "post":
            ids.append(p + "ln2")
    n_parts = 1 + (c.positional != "none") + (c.n_token_types > 0)
    if c.n_layers == 0 and not c.embed_norm and n_parts > 1:
        ids.append("resid_final")
    if c.norm == "pre":
        ids.append("ln_final")
    if c.unembed:
        ids += ["logits", "probs"]
    if c.pooling == "mean":
        ids.append("pooled")
    return ids


def reference_forward(
    config: Any,
    params: Mapping[str, np.ndarray],
    ids: Sequence[int],
    *,
    temperature: float = 1.0,
    causal: bool | None = None,
    scale_scores: bool | None = None,
    token_types: Sequence[int] | None = None,
) -> dict[str, np.ndarray]:
    """Stage id -> float64 array for one input, following the documented semantics."""
    c = config
    causal = c.causal if causal is None else causal
    scale_scores = c.scale_scores if scale_scores is None else scale_scores
    w = {name: np.asarray(value, dtype=np.float64).tolist() for name, value in params.items()}
    ids = [int(i) for i in ids]
    n = len(ids)
    types = [0] * n if token_types is None else [int(t) for t in token_types]
    out: dict[str, Any] = {"tokens": np.asarray(ids, dtype=np.int64)}

    embed = [list(w["embed.W_E"][i]) for i in ids]
    out["embed"] = embed
    parts = [embed]
    if c.positional == "learned":
        out["pos_embed"] = [list(w["pos_embed.W_pos"][p]) for p in range(n)]
        parts.append(out["pos_embed"])
    elif c.positional == "sinusoidal":
        out["pos_embed"] = [[_sinusoid(p, j, c.d_model) for j in range(c.d_model)] for p in range(n)]
        parts.append(out["pos_embed"])
    if c.n_token_types:
        out["token_type_embed"] = [list(w["token_type_embed.W_tt"][t]) for t in types]
        parts.append(out["token_type_embed"])
    stream = [[math.fsum(part[p][j] for part in parts) for j in range(c.d_model)] for p in range(n)]
    if c.embed_norm:
        stream = out["embed_ln"] = _layer_norm(stream, w["embed_ln.w"], w["embed_ln.b"], c.ln_eps)

    for layer in range(c.n_layers):
        stream = _block(c, w, layer, stream, causal, scale_scores, out)
    if c.n_layers == 0 and not c.embed_norm and len(parts) > 1:
        out["resid_final"] = stream
    final = stream
    if c.norm == "pre":
        final = out["ln_final"] = _layer_norm(stream, w["ln_final.w"], w["ln_final.b"], c.ln_eps)
    if c.unembed:
        logits = _affine(final, w["unembed.W_U"], w["unembed.b_U"])
        out["logits"] = logits
        out["probs"] = [_softmax([x / temperature for x in row]) for row in logits]
    if c.pooling == "mean":
        out["pooled"] = [math.fsum(final[p][j] for p in range(n)) / n for j in range(c.d_model)]
    return {key: np.asarray(value, dtype=np.float64) if key != "tokens" else value for key, value in out.items()}


def _block(
    c: Any, w: dict[str, Any], layer: int, resid_pre: Matrix, causal: bool, scale_scores: bool, out: dict[str, Any]
) -> Matrix:
    """One transformer block; records its stages in ``out`` and returns the block's output."""
    p = f"blocks.{layer}."
    n = len(resid_pre)
    out[p + "resid_pre"] = resid_pre
    attn_in = resid_pre
    if c.norm == "pre":
        attn_in = out[p + "ln1"] = _layer_norm(resid_pre, w[p + "ln1.w"], w[p + "ln1.b"], c.ln_eps)

    heads = range(c.n_heads)
    q = [_affine(attn_in, w[p + "attn.W_Q"][h], w[p + "attn.b_Q"][h]) for h in heads]
    k = [_affine(attn_in, w[p + "attn.W_K"][h], w[p + "attn.b_K"][h]) for h in heads]
    v = [_affine(attn_in, w[p + "attn.W_V"][h], w[p + "attn.b_V"][h]) for h in heads]
    scores = [[[_dot(q[h][i], k[h][j]) for j in range(n)] for i in range(n)] for h in heads]
    root = math.sqrt(c.d_head)
    scaled = [[[s / root if scale_scores else s for s in row] for row in scores[h]] for h in heads]
    masked = [[[NEG_INF if causal and j > i else scaled[h][i][j] for j in range(n)] for i in range(n)] for h in heads]
    pattern = [[_softmax(row) for row in masked[h]] for h in heads]
    z = [[[math.fsum(pattern[h][i][j] * v[h][j][e] for j in range(n)) for e in range(c.d_head)] for i in range(n)] for h in heads]
    w_o = w[p + "attn.W_O"]
    head_out = [[[math.fsum(z[h][i][e] * w_o[h][e][m] for e in range(c.d_head)) for m in range(c.d_model)] for i in range(n)] for h in heads]
    b_o = w[p + "attn.b_O"]
    attn_out = [[math.fsum([*(head_out[h][i][m] for h in heads), b_o[m]]) for m in range(c.d_model)] for i in range(n)]
    resid_mid = _add(resid_pre, attn_out)
    out.update({
        p + "attn.q": q, p + "attn.k": k, p + "attn.v": v, p + "attn.scores": scores, p + "attn.scaled": scaled,
        p + "attn.masked": masked, p + "attn.pattern": pattern, p + "attn.z": z, p + "attn.head_out": head_out,
        p + "attn_out": attn_out, p + "resid_mid": resid_mid,
    })

    mlp_in = resid_mid
    if c.norm == "pre":
        mlp_in = out[p + "ln2"] = _layer_norm(resid_mid, w[p + "ln2.w"], w[p + "ln2.b"], c.ln_eps)
    elif c.norm == "post":
        mlp_in = out[p + "ln1"] = _layer_norm(resid_mid, w[p + "ln1.w"], w[p + "ln1.b"], c.ln_eps)
    pre = _affine(mlp_in, w[p + "mlp.W_in"], w[p + "mlp.b_in"])
    act = _ACTIVATIONS[c.act]
    post = [[act(x) for x in row] for row in pre]
    mlp_out = _affine(post, w[p + "mlp.W_out"], w[p + "mlp.b_out"])
    resid_post = _add(mlp_in, mlp_out) if c.norm == "post" else _add(resid_mid, mlp_out)
    out.update({p + "mlp.pre": pre, p + "mlp.post": post, p + "mlp_out": mlp_out, p + "resid_post": resid_post})
    if c.norm == "post":
        out[p + "ln2"] = _layer_norm(resid_post, w[p + "ln2.w"], w[p + "ln2.b"], c.ln_eps)
        return out[p + "ln2"]
    return resid_post


def _sinusoid(p: int, j: int, d: int) -> float:
    two_i = j - (j % 2)
    angle = p / 10000.0 ** (two_i / d)
    return math.sin(angle) if j % 2 == 0 else math.cos(angle)


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return math.fsum(x * y for x, y in zip(a, b, strict=True))


def _affine(x: Matrix, weight: Matrix, bias: Sequence[float]) -> Matrix:
    """Rows of x times a [d_in, d_out] weight, plus a bias: y[j] = Σ_i x[i]·W[i][j] + b[j]."""
    d_in, d_out = len(weight), len(bias)
    return [[math.fsum([*(row[i] * weight[i][j] for i in range(d_in)), bias[j]]) for j in range(d_out)] for row in x]


def _add(a: Matrix, b: Matrix) -> Matrix:
    return [[x + y for x, y in zip(ra, rb, strict=True)] for ra, rb in zip(a, b, strict=True)]


def _layer_norm(x: Matrix, weight: Sequence[float], bias: Sequence[float], eps: float) -> Matrix:
    """(x − mean) / √(population variance + eps) · w + b, row by row."""
    out = []
    for row in x:
        d = len(row)
        mean = math.fsum(row) / d
        var = math.fsum((v - mean) ** 2 for v in row) / d
        root = math.sqrt(var + eps)
        out.append([(v - mean) / root * weight[j] + bias[j] for j, v in enumerate(row)])
    return out


def _softmax(row: Sequence[float]) -> list[float]:
    """exp(x − max) / Σ exp(x − max); −inf entries contribute exactly 0."""
    finite = [x for x in row if x != NEG_INF]
    peak = max(finite)
    exps = [0.0 if x == NEG_INF else math.exp(x - peak) for x in row]
    total = math.fsum(exps)
    return [e / total for e in exps]


def _relu(x: float) -> float:
    return x if x > 0 else 0.0


def _gelu(x: float) -> float:
    return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))


def _gelu_tanh(x: float) -> float:
    return 0.5 * x * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


_ACTIVATIONS = {"relu": _relu, "gelu": _gelu, "gelu_tanh": _gelu_tanh}

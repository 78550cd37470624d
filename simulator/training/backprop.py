"""The engine's forward pass, batched, keeping what the backward pass needs, and that backward pass.

Shapes use ``B`` (batch), ``T`` (positions), ``D`` (d_model), ``H`` (heads), ``E`` (d_head),
``M`` (d_mlp) and ``V`` (vocabulary). Everything is a row-vector product ``x @ W`` with the
engine's parameter names and shapes (:func:`simulator.stages.param_shapes`), so a parameter
dict trained here loads straight into :class:`simulator.Model`, and the logits agree with the
engine's to rounding.

The backward pass is written out by hand, stage by stage in reverse, so that every gradient
can be read next to the forward equation it differentiates (and so it runs on NumPy alone):

* cross-entropy on next tokens:  ∂L/∂logits = (softmax − one-hot) · weight / Σ weight
* unembedding ``y = x W_U + b_U``:  ∂x = ∂y W_Uᵀ, ∂W_U = xᵀ ∂y, ∂b_U = Σ ∂y
* LayerNorm ``y = x̂ w + b``, ``x̂ = (x − μ) / σ``:  ∂x = (∂x̂ − mean(∂x̂) − x̂ · mean(∂x̂ x̂)) / σ
* MLP ``H' = act(X W_in + b_in)``, ``ΔM = H' W_out + b_out``: the chain rule with act'
* attention ``A = softmax(mask(Q Kᵀ / √E))``, ``Z = A V``, ``ΔE = Σ_h Z_h W_O[h] + b_O``:
  ∂S = A ⊙ (∂A − Σ_k ∂A ⊙ A) (zero where masked), ∂Q = ∂S K / √E, ∂K = ∂Sᵀ Q / √E, ∂V = Aᵀ ∂Z
* embeddings: ∂W_E accumulates the rows of the tokens used; ∂W_pos the positions used.

Supported: learned, sinusoidal or no positions; pre-LN, post-LN or no LayerNorm (with the
optional embedding LayerNorm); ReLU, GELU and GELU (tanh); causal or bidirectional attention,
with or without scaling. Segment embeddings are not trained here, and a model needs its
unembedding, because the objective is next-token prediction.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from simulator import ops
from simulator.config import ModelConfig
from simulator.errors import ConfigError
from simulator.stages import param_shapes

Params = Mapping[str, np.ndarray]
Grads = dict[str, np.ndarray]

_SQRT_TWO = math.sqrt(2.0)
_INV_SQRT_TWO_PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_TWO_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_TANH_CUBIC = 0.044715


def check_trainable(config: ModelConfig) -> None:
    """Raise :class:`ConfigError` if this module cannot train a model of this configuration."""
    if config.n_token_types:
        raise ConfigError("training does not support segment (token type) embeddings")
    if not config.unembed:
        raise ConfigError("training needs a model with an unembedding: the objective is next-token prediction")


@dataclass
class _LayerNormCache:
    xhat: np.ndarray
    rstd: np.ndarray


@dataclass
class _BlockCache:
    """What one block's backward pass reads, named after the engine's stages."""

    attn_in: np.ndarray  # [B, T, D] the input of Q, K and V
    ln_attn: _LayerNormCache | None  # pre-LN: ln1 of resid_pre
    q: np.ndarray  # [B, H, T, E]
    k: np.ndarray
    v: np.ndarray
    pattern: np.ndarray  # [B, H, T, T]
    z: np.ndarray  # [B, T, H·E], heads side by side
    mlp_in: np.ndarray  # [B, T, D]
    ln_mlp: _LayerNormCache | None  # pre-LN: ln2 of resid_mid; post-LN: ln1 of resid_mid
    pre: np.ndarray  # [B, T, M]
    post: np.ndarray  # [B, T, M]
    act_aux: np.ndarray | None  # what the activation's derivative reuses
    ln_out: _LayerNormCache | None = None  # post-LN: ln2 of resid_post


@dataclass
class ForwardPass:
    """Logits of a batch together with everything the backward pass needs."""

    ids: np.ndarray  # [B, T]
    logits: np.ndarray  # [B, T, V]
    blocks: list[_BlockCache]
    embed_ln: _LayerNormCache | None
    final_in: np.ndarray  # [B, T, D] the input of the unembedding
    ln_final: _LayerNormCache | None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def patterns(self) -> list[np.ndarray]:
        """Per layer, the attention patterns ``[B, H, query_pos, key_pos]``."""
        return [block.pattern for block in self.blocks]


def forward(
    params: Params,
    config: ModelConfig,
    ids: np.ndarray,
    causal: bool | None = None,
    scale_scores: bool | None = None,
) -> ForwardPass:
    """Run a batch of equally long token sequences ``ids [B, T]`` through the model."""
    check_trainable(config)
    ids = np.asarray(ids, dtype=np.int64)
    if ids.ndim != 2:
        raise ValueError(f"ids must be a [batch, positions] array, got shape {ids.shape}")
    n_pos = ids.shape[1]
    if n_pos > config.n_ctx:
        raise ValueError(f"{n_pos} positions given; the model reads at most {config.n_ctx}")
    c = config
    options = {
        "causal": c.causal if causal is None else bool(causal),
        "scale_scores": c.scale_scores if scale_scores is None else bool(scale_scores),
    }
    x = params["embed.W_E"][ids]
    if c.positional == "learned":
        x = x + params["pos_embed.W_pos"][:n_pos]
    elif c.positional == "sinusoidal":
        x = x + ops.sinusoidal_positions(n_pos, c.d_model, c.np_dtype)
    embed_ln = None
    if c.embed_norm:
        x, embed_ln = _ln_forward(x, params["embed_ln.w"], params["embed_ln.b"], c.ln_eps)
    blocks = []
    for layer in range(c.n_layers):
        x, cache = _block_forward(params, c, layer, x, options)
        blocks.append(cache)
    final_in, ln_final = x, None
    if c.has_ln_final:
        final_in, ln_final = _ln_forward(x, params["ln_final.w"], params["ln_final.b"], c.ln_eps)
    logits = final_in @ params["unembed.W_U"] + params["unembed.b_U"]
    return ForwardPass(ids, logits, blocks, embed_ln, final_in, ln_final, options)


def backward(params: Params, config: ModelConfig, fwd: ForwardPass, d_logits: np.ndarray) -> Grads:
    """Gradients of every parameter, given ∂loss/∂logits ``[B, T, V]``."""
    c = config
    grads: Grads = {name: np.zeros(shape, dtype=params[name].dtype) for name, shape in param_shapes(c).items()}
    grads["unembed.W_U"] = _flat(fwd.final_in).T @ _flat(d_logits)
    grads["unembed.b_U"] = d_logits.sum(axis=(0, 1))
    dx = d_logits @ params["unembed.W_U"].T
    if c.has_ln_final:
        dx = _ln_backward(dx, fwd.ln_final, params, "ln_final", grads)
    for layer in reversed(range(c.n_layers)):
        dx = _block_backward(params, c, layer, fwd.blocks[layer], dx, fwd.options, grads)
    if c.embed_norm:
        dx = _ln_backward(dx, fwd.embed_ln, params, "embed_ln", grads)
    n_pos = fwd.ids.shape[1]
    if c.positional == "learned":
        grads["pos_embed.W_pos"][:n_pos] = dx.sum(axis=0)
    np.add.at(grads["embed.W_E"], fwd.ids.reshape(-1), _flat(dx))
    return grads


def cross_entropy(logits: np.ndarray, targets: np.ndarray, weights: np.ndarray | None = None) -> tuple[float, np.ndarray]:
    """Weighted mean next-token loss and its gradient with respect to the logits.

    ``targets [B, T]`` holds the id each position should predict; positions with weight 0
    (or a negative target) do not count.
    """
    targets = np.asarray(targets, dtype=np.int64)
    w = np.ones(targets.shape, dtype=logits.dtype) if weights is None else np.asarray(weights, dtype=logits.dtype)
    w = np.where(targets >= 0, w, 0).astype(logits.dtype)
    safe = np.where(targets >= 0, targets, 0)
    total = float(w.sum())
    if total <= 0:
        raise ValueError("no position has a target to predict")
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    sums = exp.sum(axis=-1, keepdims=True)
    log_probs_target = np.take_along_axis(shifted, safe[..., None], axis=-1)[..., 0] - np.log(sums[..., 0])
    loss = float(-(w * log_probs_target).sum() / total)
    d_logits = exp / sums
    np.put_along_axis(d_logits, safe[..., None], np.take_along_axis(d_logits, safe[..., None], axis=-1) - 1, axis=-1)
    d_logits *= (w / np.asarray(total, dtype=logits.dtype))[..., None]
    return loss, d_logits


def loss_and_grads(
    params: Params,
    config: ModelConfig,
    ids: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray | None = None,
) -> tuple[float, Grads]:
    """Mean next-token cross-entropy of a batch and the gradient of every parameter."""
    fwd = forward(params, config, ids)
    loss, d_logits = cross_entropy(fwd.logits, targets, weights)
    return loss, backward(params, config, fwd, d_logits)


# -- one block -------------------------------------------------------------------------------------
def _block_forward(
    params: Params, c: ModelConfig, layer: int, x: np.ndarray, options: dict[str, Any]
) -> tuple[np.ndarray, _BlockCache]:
    p = f"blocks.{layer}."
    ln_attn = None
    attn_in = x
    if c.norm == "pre":
        attn_in, ln_attn = _ln_forward(x, params[p + "ln1.w"], params[p + "ln1.b"], c.ln_eps)
    q, k, v = _qkv(params, p + "attn.", attn_in, c)
    scores = q @ k.transpose(0, 1, 3, 2)
    if options["scale_scores"]:
        scores = scores / np.asarray(math.sqrt(c.d_head), dtype=scores.dtype)
    if options["causal"]:
        scores = np.where(ops.causal_mask(scores.shape[-1]), np.asarray(-np.inf, dtype=scores.dtype), scores)
    pattern = ops.softmax(scores, axis=-1)
    z = _merge_heads(pattern @ v)
    attn_out = z @ params[p + "attn.W_O"].reshape(-1, c.d_model) + params[p + "attn.b_O"]
    resid_mid = x + attn_out
    ln_mlp = None
    if c.norm == "none":
        mlp_in = resid_mid
    else:
        name = "ln2" if c.norm == "pre" else "ln1"
        mlp_in, ln_mlp = _ln_forward(resid_mid, params[p + name + ".w"], params[p + name + ".b"], c.ln_eps)
    pre = mlp_in @ params[p + "mlp.W_in"] + params[p + "mlp.b_in"]
    post, act_aux = _act_forward(c.act, pre)
    mlp_out = post @ params[p + "mlp.W_out"] + params[p + "mlp.b_out"]
    cache = _BlockCache(attn_in, ln_attn, q, k, v, pattern, z, mlp_in, ln_mlp, pre, post, act_aux)
    if c.norm == "post":
        out, cache.ln_out = _ln_forward(mlp_in + mlp_out, params[p + "ln2.w"], params[p + "ln2.b"], c.ln_eps)
        return out, cache
    return resid_mid + mlp_out, cache


def _block_backward(
    params: Params, c: ModelConfig, layer: int, cache: _BlockCache, d_out: np.ndarray, options: dict[str, Any], grads: Grads
) -> np.ndarray:
    """Given ∂L/∂(block output), add this block's parameter gradients; return ∂L/∂(block input)."""
    p = f"blocks.{layer}."
    if c.norm == "post":
        d_out = _ln_backward(d_out, cache.ln_out, params, p + "ln2", grads)
    # MLP: ΔM = act(X W_in + b_in) W_out + b_out, added to the MLP's input (post-LN) or resid_mid
    grads[p + "mlp.W_out"] = _flat(cache.post).T @ _flat(d_out)
    grads[p + "mlp.b_out"] = d_out.sum(axis=(0, 1))
    d_pre = _act_backward(c.act, cache.pre, cache.act_aux, d_out @ params[p + "mlp.W_out"].T)
    grads[p + "mlp.W_in"] = _flat(cache.mlp_in).T @ _flat(d_pre)
    grads[p + "mlp.b_in"] = d_pre.sum(axis=(0, 1))
    d_mlp_in = d_pre @ params[p + "mlp.W_in"].T
    if c.norm == "post":
        d_resid_mid = _ln_backward(d_mlp_in + d_out, cache.ln_mlp, params, p + "ln1", grads)
    elif c.norm == "pre":
        d_resid_mid = d_out + _ln_backward(d_mlp_in, cache.ln_mlp, params, p + "ln2", grads)
    else:
        d_resid_mid = d_out + d_mlp_in
    # attention: resid_mid = x + Σ_h Z_h W_O[h] + b_O
    P = p + "attn."
    n_batch, n_pos, _ = d_resid_mid.shape
    grads[P + "W_O"] = (_flat(cache.z).T @ _flat(d_resid_mid)).reshape(c.n_heads, c.d_head, c.d_model)
    grads[P + "b_O"] = d_resid_mid.sum(axis=(0, 1))
    d_z = _split_heads(d_resid_mid @ params[P + "W_O"].reshape(-1, c.d_model).T, c.n_heads)
    d_pattern = d_z @ cache.v.transpose(0, 1, 3, 2)
    d_v = cache.pattern.transpose(0, 1, 3, 2) @ d_z
    d_scores = cache.pattern * (d_pattern - (d_pattern * cache.pattern).sum(axis=-1, keepdims=True))
    if options["scale_scores"]:
        d_scores = d_scores / np.asarray(math.sqrt(c.d_head), dtype=d_scores.dtype)
    d_q = d_scores @ cache.k
    d_k = d_scores.transpose(0, 1, 3, 2) @ cache.q
    d_attn_in = np.zeros_like(cache.attn_in)
    flat_in = _flat(cache.attn_in)
    for m, d_m in (("Q", d_q), ("K", d_k), ("V", d_v)):
        grads[P + f"b_{m}"] = d_m.sum(axis=(0, 2))
        d_m_flat = _flat(_merge_heads(d_m))  # [B·T, H·E]
        grads[P + f"W_{m}"] = (flat_in.T @ d_m_flat).reshape(c.d_model, c.n_heads, c.d_head).transpose(1, 0, 2)
        d_attn_in += (d_m_flat @ _fused(params[P + f"W_{m}"]).T).reshape(n_batch, n_pos, c.d_model)
    if c.norm == "pre":
        return d_resid_mid + _ln_backward(d_attn_in, cache.ln_attn, params, p + "ln1", grads)
    return d_resid_mid + d_attn_in


def _qkv(params: Params, prefix: str, x: np.ndarray, c: ModelConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Queries, keys and values ``[B, H, T, E]`` with one matrix product for all of them."""
    fused = np.concatenate([_fused(params[prefix + f"W_{m}"]) for m in "QKV"], axis=1)
    out = x @ fused
    width = c.n_heads * c.d_head
    return tuple(  # type: ignore[return-value]
        _split_heads(out[..., i * width : (i + 1) * width], c.n_heads) + params[prefix + f"b_{m}"][:, None, :]
        for i, m in enumerate("QKV")
    )


def _fused(weight: np.ndarray) -> np.ndarray:
    """``[H, D, E]`` laid out as ``[D, H·E]``, the engine's fused projection."""
    n_heads, d_model, d_head = weight.shape
    return weight.transpose(1, 0, 2).reshape(d_model, n_heads * d_head)


def _split_heads(x: np.ndarray, n_heads: int) -> np.ndarray:
    """``[B, T, H·E]`` → ``[B, H, T, E]``."""
    n_batch, n_pos, width = x.shape
    return x.reshape(n_batch, n_pos, n_heads, width // n_heads).transpose(0, 2, 1, 3)


def _merge_heads(x: np.ndarray) -> np.ndarray:
    """``[B, H, T, E]`` → ``[B, T, H·E]``."""
    n_batch, n_heads, n_pos, d_head = x.shape
    return x.transpose(0, 2, 1, 3).reshape(n_batch, n_pos, n_heads * d_head)


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, x.shape[-1])


# -- LayerNorm -------------------------------------------------------------------------------------
def _ln_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> tuple[np.ndarray, _LayerNormCache]:
    """LayerNorm over the last axis, as :func:`simulator.ops.layer_norm`, keeping x̂ and 1/σ."""
    centred = x - x.mean(axis=-1, keepdims=True)
    rstd = 1.0 / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + np.asarray(eps, dtype=x.dtype))
    xhat = centred * rstd
    return xhat * w + b, _LayerNormCache(xhat, rstd)


def _ln_backward(dy: np.ndarray, cache: _LayerNormCache | None, params: Params, prefix: str, grads: Grads) -> np.ndarray:
    assert cache is not None
    xhat, rstd = cache.xhat, cache.rstd
    grads[prefix + ".w"] = (dy * xhat).sum(axis=(0, 1))
    grads[prefix + ".b"] = dy.sum(axis=(0, 1))
    dxhat = dy * params[prefix + ".w"]
    return rstd * (dxhat - dxhat.mean(axis=-1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=-1, keepdims=True))


# -- activations -----------------------------------------------------------------------------------
def _act_forward(name: str, x: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The activation (exactly as the engine computes it) and what its derivative reuses."""
    if name == "gelu":
        one_plus_erf = 1.0 + ops.erf(x / _SQRT_TWO)  # 2Φ(x), computed once for both passes
        return (0.5 * x * one_plus_erf).astype(x.dtype, copy=False), one_plus_erf
    if name == "gelu_tanh":  # the same operations as ops.gelu_tanh, keeping tanh(u) for the derivative
        t = np.tanh(_SQRT_TWO_OVER_PI * (x + _GELU_TANH_CUBIC * x * x * x))
        return (0.5 * x * (1.0 + t)).astype(x.dtype, copy=False), t
    return ops.ACTIVATION_FUNCTIONS[name](x), None


def _act_backward(name: str, x: np.ndarray, aux: np.ndarray | None, dy: np.ndarray) -> np.ndarray:
    if name == "relu":
        return dy * (x > 0)
    if name == "gelu":  # d/dx x·Φ(x) = Φ(x) + x·φ(x)
        assert aux is not None
        return dy * (0.5 * aux + x * np.exp(-0.5 * x * x) * _INV_SQRT_TWO_PI)
    # gelu_tanh: y = ½x(1 + tanh u), u = √(2/π)(x + 0.044715x³)
    assert aux is not None
    t = aux
    du = _SQRT_TWO_OVER_PI * (1.0 + 3.0 * _GELU_TANH_CUBIC * x * x)
    return dy * (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du)

"""GPT-2 checkpoints (Hugging Face ``model_type: gpt2``) in the engine's parameter layout.

Hugging Face stores GPT-2's linear layers as ``Conv1D``: weights are ``[in, out]`` and apply as
``x @ W + b``, which is already the engine's orientation. The fused ``c_attn`` weight is
``[W_Q | W_K | W_V]``, each ``d_model`` wide with the heads side by side, so each block is cut
into ``[head, d_model, d_head]``; ``c_proj``'s rows are the heads' outputs, giving
``W_O [head, d_head, d_model]``. The unembedding is tied to the token embedding
(``W_U = W_Eᵀ``, no bias) unless the config unties it and the file has ``lm_head.weight``.
Names may start with ``transformer.`` (saved from ``GPT2LMHeadModel``) or not (the hub's
``gpt2``); the hub's ``attn.bias`` / ``attn.masked_bias`` buffers are causal masks and ignored.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping

import numpy as np

from simulator.checkpoints.common import (
    ConfigReader,
    Monitor,
    Recipe,
    WeightFile,
    check_tensors,
    count_text,
    group_names,
    readme_title,
    run_recipes,
)
from simulator.checkpoints.hf_tokenizer import HFTokenizer
from simulator.config import ModelConfig
from simulator.errors import ConfigError, ModelFileError, SimulatorError
from simulator.model import Model, ModelInfo
from simulator.stages import param_shapes

#: Hugging Face activation names → the engine's.
ACTIVATIONS = {"gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "gelu_fast": "gelu_tanh", "gelu": "gelu", "relu": "relu"}
_PREFIXES = ("transformer.", "")
_BUFFERS = (".attn.bias", ".attn.masked_bias")

NOTES = {
    "tokens": "GPT-2 reads text as byte-level pieces: ␣ marks a piece that starts with a space. Hover a token to see the raw piece.",
    "attn.pattern": "Each row sums to 1 and the future is masked. Trained GPT-2 heads often put most weight on the first "
    "token (a resting place when there is nothing to look at) or on the previous token.",
    "probs": "Each row is the model's guess for the token after that position; the last row continues your text.",
}


def model_config(raw: Mapping[str, Any]) -> ModelConfig:
    """The engine's configuration for a GPT-2 ``config.json``."""
    c = ConfigReader(raw)
    d_model = c.integer("n_embd", None, "hidden_size")
    n_heads = c.integer("n_head", None, "num_attention_heads")
    if n_heads == 0 or d_model % n_heads:
        raise ModelFileError(f"config.json: n_embd {d_model} is not a multiple of n_head {n_heads}")
    act_name = c.text("activation_function", "gelu_new")
    act = ACTIVATIONS.get(act_name)
    if act is None:
        raise ModelFileError(f"config.json: activation_function {act_name!r} is not supported (supported: {', '.join(ACTIVATIONS)})")
    if c.flag("scale_attn_by_inverse_layer_idx", False):
        raise ModelFileError("config.json: scale_attn_by_inverse_layer_idx is not supported")
    if c.flag("add_cross_attention", False):
        raise ModelFileError("config.json: GPT-2 with cross-attention (an encoder-decoder part) is not supported")
    n_inner = raw.get("n_inner")
    try:
        return ModelConfig(
            d_model=d_model,
            n_heads=n_heads,
            d_head=d_model // n_heads,
            n_layers=c.integer("n_layer", None, "num_hidden_layers"),
            d_mlp=4 * d_model if n_inner is None else c.integer("n_inner"),
            vocab_size=c.integer("vocab_size"),
            n_ctx=c.integer("n_positions", None, "n_ctx", "max_position_embeddings"),
            act=act,
            norm="pre",
            ln_eps=c.number("layer_norm_epsilon", 1e-5),
            positional="learned",
            causal=True,
            scale_scores=c.flag("scale_attn_weights", True),
            dtype="float32",
        )
    except ConfigError as exc:
        raise ModelFileError(f"config.json: {exc}") from exc


def _prefix(names: set[str]) -> str:
    for prefix in _PREFIXES:
        if prefix + "wte.weight" in names:
            return prefix
    raise ModelFileError(
        "model.safetensors has no GPT-2 token embedding (wte.weight or transformer.wte.weight): "
        "it does not hold GPT-2 weights"
    )


def tied_unembedding(raw: Mapping[str, Any]) -> bool:
    """Whether the unembedding is the token embedding transposed (GPT-2's default)."""
    return raw.get("tie_word_embeddings", True) is not False


def recipes(config: ModelConfig, raw: Mapping[str, Any], names: set[str]) -> tuple[list[Recipe], set[str]]:
    """How every engine parameter is made, and the checkpoint tensors that are left unused."""
    c = config
    pre = _prefix(names)
    d, h, dh, m, v = c.d_model, c.n_heads, c.d_head, c.d_mlp, c.vocab_size
    tied = tied_unembedding(raw)
    out: list[Recipe] = []
    if tied:
        out.append(Recipe(("embed.W_E", "unembed.W_U"), ((pre + "wte.weight", (v, d)),), lambda w: (w, w.T)))
    else:
        out.append(Recipe(("embed.W_E",), ((pre + "wte.weight", (v, d)),), lambda w: (w,)))
        out.append(Recipe(("unembed.W_U",), (("lm_head.weight", (v, d)),), lambda w: (w.T,)))
    out.append(Recipe(("unembed.b_U",), (), lambda: (np.zeros(v, dtype=np.float32),)))
    out.append(Recipe(("pos_embed.W_pos",), ((pre + "wpe.weight", (c.n_ctx, d)),), lambda w: (w,)))

    def split_qkv(w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, ...]:
        weights = [w[:, i * d:(i + 1) * d].reshape(d, h, dh).transpose(1, 0, 2) for i in range(3)]
        biases = [b[i * d:(i + 1) * d].reshape(h, dh) for i in range(3)]
        return (*weights, *biases)

    for layer in range(c.n_layers):
        src = f"{pre}h.{layer}."
        dst = f"blocks.{layer}."
        for ours, theirs in (("ln1", "ln_1"), ("ln2", "ln_2")):
            out.append(
                Recipe(
                    (dst + ours + ".w", dst + ours + ".b"),
                    ((src + theirs + ".weight", (d,)), (src + theirs + ".bias", (d,))),
                    lambda w, b: (w, b),
                )
            )
        out.append(
            Recipe(
                tuple(dst + f"attn.{kind}_{m_}" for kind in ("W", "b") for m_ in "QKV"),
                ((src + "attn.c_attn.weight", (d, 3 * d)), (src + "attn.c_attn.bias", (3 * d,))),
                split_qkv,
            )
        )
        out.append(
            Recipe(
                (dst + "attn.W_O", dst + "attn.b_O"),
                ((src + "attn.c_proj.weight", (d, d)), (src + "attn.c_proj.bias", (d,))),
                lambda w, b: (w.reshape(h, dh, d), b),
            )
        )
        out.append(
            Recipe(
                (dst + "mlp.W_in", dst + "mlp.b_in"),
                ((src + "mlp.c_fc.weight", (d, m)), (src + "mlp.c_fc.bias", (m,))),
                lambda w, b: (w, b),
            )
        )
        out.append(
            Recipe(
                (dst + "mlp.W_out", dst + "mlp.b_out"),
                ((src + "mlp.c_proj.weight", (m, d)), (src + "mlp.c_proj.bias", (d,))),
                lambda w, b: (w, b),
            )
        )
    out.append(
        Recipe(("ln_final.w", "ln_final.b"), ((pre + "ln_f.weight", (d,)), (pre + "ln_f.bias", (d,))), lambda w, b: (w, b))
    )
    used = {name for r in out for name, _ in r.sources}
    unused = {n for n in names - used if not n.endswith(_BUFFERS) and not (tied and n == "lm_head.weight")}
    return out, unused


def load(folder: Path, raw: Mapping[str, Any], monitor: Monitor) -> Model:
    """Build a :class:`Model` from a GPT-2 folder whose ``config.json`` is ``raw``."""
    config = model_config(raw)
    monitor.report(0.02, "reading the tokenizer")
    tokenizer = HFTokenizer.from_folder(folder, "gpt2")
    monitor.report(0.05, "checking the weights")
    weights = WeightFile(folder)
    plan, unused = recipes(config, raw, weights.names)
    check_tensors(weights, plan)
    params = run_recipes(weights, plan, monitor, 0.05, 0.9)
    monitor.report(0.92, "building the model")
    info = _info(folder, config, unused, tied_unembedding(raw))
    try:
        return Model(config, params, tokenizer, info=info, adopt=True)  # the arrays were read for it alone
    except SimulatorError as exc:  # e.g. NaN weights, or a tokenizer larger than the vocabulary
        raise ModelFileError(str(exc)) from exc


def _info(folder: Path, config: ModelConfig, unused: set[str], tied: bool) -> ModelInfo:
    c = config
    not_stored = {"unembed.b_U"} | ({"unembed.W_U"} if tied else set())  # GPT-2 has no unembedding bias
    n_params = sum(math.prod(s) for name, s in param_shapes(config).items() if name not in not_stored)
    text = (
        f"A GPT-2 decoder read from {folder}: {c.n_layers} layers, {c.n_heads} heads of {c.d_head} dimensions, "
        f"d_model {c.d_model}, {c.d_mlp} MLP neurons per layer, a vocabulary of {c.vocab_size:,} byte-level pieces "
        f"and a context of {c.n_ctx} tokens ({count_text(n_params)}). Every number on screen comes "
        "from these weights."
    )
    if tied:
        text += " The unembedding reuses the token embedding (W_U = W_Eᵀ)."
    if unused:
        text += f" Not used here: {', '.join(group_names(unused))}."
    return ModelInfo(
        name=folder.resolve().name or "model",
        title=readme_title(folder) or f"GPT-2 · {folder.resolve().name}",
        description=text,
        suggested=("The cat sat on the", "When Mary and John went to the store, John gave a drink to"),
        notes=NOTES,
        source=str(folder),
    )

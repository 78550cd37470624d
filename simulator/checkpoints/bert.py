"""BERT-family checkpoints (Hugging Face ``model_type: bert``), including sentence-transformers
models such as all-MiniLM-L6-v2, in the engine's parameter layout.

BERT is post-LN: each block adds attention to its input and normalises (the engine's ``ln1``,
Hugging Face's ``attention.output.LayerNorm``), then adds the MLP and normalises again (``ln2``,
``output.LayerNorm``). The embeddings are token + position + token type, normalised once
(``embed_ln``). Attention looks both ways (no causal mask) and the MLP uses the exact (erf)
GELU. ``torch.nn.Linear`` weights are stored ``[out, in]`` and are transposed here; the query,
key and value outputs are the heads side by side, so they are cut into
``[head, d_model, d_head]``. Names may start with ``bert.`` (pre-training checkpoints, whose
``cls.*`` heads are ignored) or not (``BertModel``); the ``pooler`` is not one of the stages.

A sentence-transformers folder (``modules.json``) says how sentences are embedded: with mean
pooling the model gets a final ``pooled`` stage, the average of every token's last vector
(``[CLS]`` and ``[SEP]`` included, as sentence-transformers does). sentence-transformers then
scales that vector to length 1, which changes no cosine similarity.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
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
    read_json,
    readme_title,
    run_recipes,
)
from simulator.checkpoints.hf_tokenizer import HFTokenizer
from simulator.config import ModelConfig
from simulator.errors import ConfigError, ModelFileError, SimulatorError
from simulator.model import Model, ModelInfo
from simulator.stages import param_shapes

ACTIVATIONS = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu"}
_PREFIXES = ("bert.", "")
_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")
#: modules.json types of the transformer itself (``BERT`` in sentence-transformers before v1)
_TRANSFORMER_MODULES = ("Transformer", "BERT")

NOTES = {
    "tokens": "BERT adds [CLS] at the start and [SEP] at the end. Words it has no piece for are split into "
    "pieces; a piece shown as …er continues the word before it. Hover a token to see the raw piece.",
    "attn.pattern": "There is no causal mask: every token looks at every other, both ways. Trained BERT heads "
    "often rest on [CLS] or [SEP], or look one token to the left or right.",
    "ln2": "In BERT the LayerNorm comes after each residual add, so this normalised vector is what the next "
    "block reads.",
    "pooled": "The sentence as one vector: the average of every token's final vector. Sentences with similar "
    "meaning point in similar directions; compare two with the cosine of their embeddings.",
}


@dataclass(frozen=True)
class SentenceSetup:
    """What a sentence-transformers folder's ``modules.json`` says about embedding sentences."""

    #: folder holding config.json and the weights (``""`` = the folder itself)
    transformer_path: str
    #: "mean", "cls", "max", ... or None when there is no pooling module
    pooling: str | None
    normalize: bool


def sentence_setup(folder: Path) -> SentenceSetup | None:
    """Read ``modules.json`` (and the pooling config), or None if the folder has none."""
    path = folder / "modules.json"
    if not path.is_file():
        return None
    try:
        modules = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"modules.json is damaged: {exc}") from exc
    except RecursionError:
        raise ModelFileError("modules.json is damaged (nested too deeply)") from None
    if not isinstance(modules, list) or not all(isinstance(m, dict) for m in modules):
        raise ModelFileError("modules.json is damaged: it should list the model's modules")
    transformer = ""
    pooling: str | None = None
    normalize = False
    for module in modules:
        kind = str(module.get("type", "")).rsplit(".", 1)[-1]
        sub = str(module.get("path", ""))
        if kind in _TRANSFORMER_MODULES:
            transformer = sub
        elif kind == "Pooling":
            pooling = _pooling_mode(read_json(folder / sub / "config.json", f"{sub}/config.json"))
        elif kind == "Normalize":
            normalize = True
    return SentenceSetup(transformer, pooling, normalize)


def _pooling_mode(config: Mapping[str, Any]) -> str:
    mode = config.get("pooling_mode")
    if isinstance(mode, str):
        return mode
    for key, name in (
        ("pooling_mode_mean_tokens", "mean"),
        ("pooling_mode_cls_token", "cls"),
        ("pooling_mode_max_tokens", "max"),
        ("pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len"),
    ):
        if config.get(key):
            return name
    return "none"


def model_config(raw: Mapping[str, Any], pooling: str) -> ModelConfig:
    """The engine's configuration for a BERT ``config.json``."""
    c = ConfigReader(raw)
    d_model = c.integer("hidden_size")
    n_heads = c.integer("num_attention_heads")
    if n_heads == 0 or d_model % n_heads:
        raise ModelFileError(f"config.json: hidden_size {d_model} is not a multiple of num_attention_heads {n_heads}")
    act_name = c.text("hidden_act", "gelu")
    act = ACTIVATIONS.get(act_name)
    if act is None:
        raise ModelFileError(f"config.json: hidden_act {act_name!r} is not supported (supported: {', '.join(ACTIVATIONS)})")
    position_kind = c.text("position_embedding_type", "absolute")
    if position_kind != "absolute":
        raise ModelFileError(f"config.json: position_embedding_type {position_kind!r} is not supported (only 'absolute')")
    if c.flag("is_decoder", False) or c.flag("add_cross_attention", False):
        raise ModelFileError("config.json: BERT used as a decoder is not supported")
    try:
        return ModelConfig(
            d_model=d_model,
            n_heads=n_heads,
            d_head=d_model // n_heads,
            n_layers=c.integer("num_hidden_layers"),
            d_mlp=c.integer("intermediate_size"),
            vocab_size=c.integer("vocab_size"),
            n_ctx=c.integer("max_position_embeddings"),
            act=act,
            norm="post",
            ln_eps=c.number("layer_norm_eps", 1e-12),
            positional="learned",
            causal=False,
            scale_scores=True,
            dtype="float32",
            n_token_types=c.integer("type_vocab_size", 2),
            embed_norm=True,
            unembed=False,
            pooling=pooling,
        )
    except ConfigError as exc:
        raise ModelFileError(f"config.json: {exc}") from exc


def _prefix(names: set[str]) -> str:
    for prefix in _PREFIXES:
        if prefix + "embeddings.word_embeddings.weight" in names:
            return prefix
    raise ModelFileError(
        "model.safetensors has no BERT token embedding (embeddings.word_embeddings.weight): "
        "it does not hold BERT weights"
    )


def recipes(config: ModelConfig, names: set[str]) -> tuple[list[Recipe], set[str]]:
    """How every engine parameter is made, and the checkpoint tensors that are left unused."""
    c = config
    pre = _prefix(names)
    d, h, dh, m = c.d_model, c.n_heads, c.d_head, c.d_mlp

    def norm(ours: str, theirs: str) -> Recipe:
        # Old TensorFlow conversions call the LayerNorm gain and bias gamma and beta.
        w, b = theirs + ".weight", theirs + ".bias"
        if w not in names and theirs + ".gamma" in names:
            w, b = theirs + ".gamma", theirs + ".beta"
        return Recipe((ours + ".w", ours + ".b"), ((w, (d,)), (b, (d,))), lambda w_, b_: (w_, b_))

    def heads_in(w: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        # torch [out = head·d_head, in] → [head, d_model, d_head]
        return w.reshape(h, dh, d).transpose(0, 2, 1), b.reshape(h, dh)

    e = pre + "embeddings."
    out: list[Recipe] = [
        Recipe(("embed.W_E",), ((e + "word_embeddings.weight", (c.vocab_size, d)),), lambda w: (w,)),
        Recipe(("pos_embed.W_pos",), ((e + "position_embeddings.weight", (c.n_ctx, d)),), lambda w: (w,)),
        Recipe(("token_type_embed.W_tt",), ((e + "token_type_embeddings.weight", (c.n_token_types, d)),), lambda w: (w,)),
        norm("embed_ln", e + "LayerNorm"),
    ]
    for layer in range(c.n_layers):
        src = f"{pre}encoder.layer.{layer}."
        dst = f"blocks.{layer}."
        for ours, theirs in (("Q", "query"), ("K", "key"), ("V", "value")):
            base = src + "attention.self." + theirs
            out.append(
                Recipe(
                    (dst + f"attn.W_{ours}", dst + f"attn.b_{ours}"),
                    ((base + ".weight", (d, d)), (base + ".bias", (d,))),
                    heads_in,
                )
            )
        out.append(
            Recipe(
                (dst + "attn.W_O", dst + "attn.b_O"),
                ((src + "attention.output.dense.weight", (d, d)), (src + "attention.output.dense.bias", (d,))),
                lambda w, b: (w.T.reshape(h, dh, d), b),
            )
        )
        out.append(norm(dst + "ln1", src + "attention.output.LayerNorm"))
        out.append(
            Recipe(
                (dst + "mlp.W_in", dst + "mlp.b_in"),
                ((src + "intermediate.dense.weight", (m, d)), (src + "intermediate.dense.bias", (m,))),
                lambda w, b: (w.T, b),
            )
        )
        out.append(
            Recipe(
                (dst + "mlp.W_out", dst + "mlp.b_out"),
                ((src + "output.dense.weight", (d, m)), (src + "output.dense.bias", (d,))),
                lambda w, b: (w.T, b),
            )
        )
        out.append(norm(dst + "ln2", src + "output.LayerNorm"))
    used = {name for r in out for name, _ in r.sources}
    unused = {n for n in names - used if not n.endswith(_BUFFERS)}
    return out, unused


def load(folder: Path, raw: Mapping[str, Any], monitor: Monitor, setup: SentenceSetup | None = None, root: Path | None = None) -> Model:
    """Build a :class:`Model` from a BERT folder whose ``config.json`` is ``raw``.

    ``setup`` comes from a sentence-transformers ``modules.json`` in ``root`` (the folder the
    user chose; ``folder`` may be its transformer sub-folder). Plain BERT folders get a mean
    ``pooled`` stage too, as the usual baseline sentence vector.
    """
    root = root or folder
    pooling = "mean" if setup is None or setup.pooling == "mean" else "none"
    config = model_config(raw, pooling)
    monitor.report(0.02, "reading the tokenizer")
    tokenizer = HFTokenizer.from_folder(folder if _has_tokenizer(folder) else root, "bert")
    monitor.report(0.05, "checking the weights")
    weights = WeightFile(folder)
    plan, unused = recipes(config, weights.names)
    check_tensors(weights, plan)
    params = run_recipes(weights, plan, monitor, 0.05, 0.9)
    monitor.report(0.92, "building the model")
    info = _info(root, config, unused, setup)
    try:
        return Model(config, params, tokenizer, info=info, adopt=True)  # the arrays were read for it alone
    except SimulatorError as exc:  # e.g. NaN weights, or a tokenizer larger than the vocabulary
        raise ModelFileError(str(exc)) from exc


def _has_tokenizer(folder: Path) -> bool:
    return (folder / "tokenizer.json").is_file() or (folder / "vocab.txt").is_file()


def _info(folder: Path, config: ModelConfig, unused: set[str], setup: SentenceSetup | None) -> ModelInfo:
    c = config
    n_params = sum(math.prod(s) for s in param_shapes(config).values())
    kind = "A sentence-embedding BERT encoder" if setup is not None else "A BERT encoder"
    text = (
        f"{kind} read from {folder}: {c.n_layers} layers, {c.n_heads} heads of {c.d_head} dimensions, "
        f"d_model {c.d_model}, {c.d_mlp} MLP neurons per layer, a WordPiece vocabulary of {c.vocab_size:,} pieces "
        f"and up to {c.n_ctx} tokens including [CLS] and [SEP] ({count_text(n_params)}). "
        "Every number on screen comes from these weights. It predicts no next token: its output is one vector per token."
    )
    if setup is not None and setup.pooling == "mean":
        text += " The sentence embedding is the mean of the last layer's vectors"
        text += ", scaled to length 1 by sentence-transformers." if setup.normalize else "."
    elif setup is not None:
        text += f" sentence-transformers pools this model with {setup.pooling!r}, which is not shown as a stage."
    else:
        text += " The pooled stage (the mean of the last layer's vectors) is a simple sentence vector; this model was not trained for it."
    if unused:
        text += f" Not used here: {', '.join(group_names(unused))}."
    return ModelInfo(
        name=folder.resolve().name or "model",
        title=readme_title(folder) or f"BERT · {folder.resolve().name}",
        description=text,
        suggested=("The cat sat on the river bank.", "A man is playing a guitar.", "Someone plays an instrument."),
        notes=NOTES,
        source=str(folder),
    )

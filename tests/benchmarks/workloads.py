"""The benchmarked workloads: the toy preset, a GPT-2-small-shaped model, and a PyTorch twin.

The PyTorch forward pass is written here from the maths (it shares no code with the engine) and
runs on copies of the engine's own parameter arrays, so both compute the same function.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

import simulator

#: GPT-2 small: 12 layers, 768-wide residual stream, 12 heads of 64, 3072 MLP neurons.
GPT2_SMALL = simulator.ModelConfig(
    d_model=768, n_heads=12, d_head=64, n_layers=12, d_mlp=3072, vocab_size=50257, n_ctx=1024,
    act="gelu_tanh", norm="pre", ln_eps=1e-5, positional="learned", causal=True, scale_scores=True,
    dtype="float32",
)
GPT2_TOKENS = 64
TOY_TEXT = "the mole dug a hole by the river"


def median_seconds(action: Callable[[], Any], repeats: int, warmup: int = 1) -> float:
    """Median wall time of ``action`` over ``repeats`` runs, after ``warmup`` untimed runs."""
    for _ in range(warmup):
        action()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def fresh_forward(model: simulator.Model, text_or_ids: Any, stages: list[str] | None = None) -> simulator.Trace:
    """A trace with an empty cache, reading every stage (or just ``stages``)."""
    model.clear_cache()
    trace = model.trace(text_or_ids)
    for stage_id in stages if stages is not None else model.stage_ids():
        trace[stage_id]
    return trace


def build_gpt2_small(seed: int = 0) -> simulator.Model:
    """Random weights in GPT-2 small's shape (about 163 M parameters, untied unembedding)."""
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    for name, shape in simulator.param_shapes(GPT2_SMALL).items():
        if name.endswith(".w"):
            params[name] = np.ones(shape, dtype=np.float32)
        elif name.endswith(".b") or ".b_" in name:
            params[name] = np.zeros(shape, dtype=np.float32)
        else:
            params[name] = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
    vocab = ["<unk>"] + [f"t{i}" for i in range(1, GPT2_SMALL.vocab_size)]
    return simulator.Model(GPT2_SMALL, params, simulator.WordTokenizer(vocab))


def gpt2_ids(seed: int = 1) -> list[int]:
    return np.random.default_rng(seed).integers(0, GPT2_SMALL.vocab_size, GPT2_TOKENS).tolist()


@dataclass
class TorchTwin:
    """The same pre-LN decoder as the engine's, in PyTorch, on copies of the same weights."""

    torch: Any
    weights: dict[str, Any]
    config: simulator.ModelConfig

    @classmethod
    def of(cls, model: simulator.Model) -> "TorchTwin":
        import torch

        c = model.config
        weights = {name: torch.from_numpy(np.array(value)) for name, value in model.params.items()}
        for layer in range(c.n_layers):
            p = f"blocks.{layer}.attn."
            for m in "QKV":  # [head, d_model, d_head] -> [d_model, head * d_head]
                weights[p + f"W_{m}"] = weights[p + f"W_{m}"].permute(1, 0, 2).reshape(c.d_model, -1).contiguous()
                weights[p + f"b_{m}"] = weights[p + f"b_{m}"].reshape(-1)
            weights[p + "W_O"] = weights[p + "W_O"].reshape(-1, c.d_model)
        return cls(torch, weights, c)

    def forward(self, ids: list[int]) -> Any:
        """Next-token probabilities, [pos, vocab]."""
        torch, w, c = self.torch, self.weights, self.config
        functional = torch.nn.functional
        n = len(ids)
        with torch.inference_mode():
            index = torch.tensor(ids)
            x = w["embed.W_E"][index] + w["pos_embed.W_pos"][:n]
            mask = torch.ones(n, n, dtype=torch.bool).triu(1)
            for layer in range(c.n_layers):
                p = f"blocks.{layer}."
                h = functional.layer_norm(x, (c.d_model,), w[p + "ln1.w"], w[p + "ln1.b"], c.ln_eps)
                q, k, v = (
                    (h @ w[p + f"attn.W_{m}"] + w[p + f"attn.b_{m}"]).view(n, c.n_heads, c.d_head).transpose(0, 1)
                    for m in "QKV"
                )
                scores = (q @ k.transpose(1, 2)) / math.sqrt(c.d_head)
                pattern = torch.softmax(scores.masked_fill(mask, float("-inf")), dim=-1)
                z = (pattern @ v).transpose(0, 1).reshape(n, c.n_heads * c.d_head)
                x = x + z @ w[p + "attn.W_O"] + w[p + "attn.b_O"]
                h = functional.layer_norm(x, (c.d_model,), w[p + "ln2.w"], w[p + "ln2.b"], c.ln_eps)
                hidden = functional.gelu(h @ w[p + "mlp.W_in"] + w[p + "mlp.b_in"], approximate="tanh")
                x = x + hidden @ w[p + "mlp.W_out"] + w[p + "mlp.b_out"]
            x = functional.layer_norm(x, (c.d_model,), w["ln_final.w"], w["ln_final.b"], c.ln_eps)
            return torch.softmax(x @ w["unembed.W_U"] + w["unembed.b_U"], dim=-1)


def torch_twin(model: simulator.Model) -> TorchTwin | None:
    """The PyTorch twin, or None when PyTorch is not installed."""
    try:
        return TorchTwin.of(model)
    except ImportError:
        return None

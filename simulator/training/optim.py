"""Adam with decoupled weight decay (AdamW), global gradient-norm clipping and a warm-up/cosine schedule."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping, MutableMapping

import numpy as np


def decays_by_default(name: str) -> bool:
    """Weight decay applies to weight matrices (``W_…``), not to biases or LayerNorm gains."""
    return name.rsplit(".", 1)[-1].startswith("W_")


@dataclass(frozen=True)
class AdamSettings:
    """Hyper-parameters of :class:`Adam`."""

    beta1: float = 0.9
    beta2: float = 0.99
    eps: float = 1e-8
    #: decoupled weight decay per step, multiplied by the learning rate (AdamW)
    weight_decay: float = 0.0
    #: rescale the gradients when their global L2 norm exceeds this; ``None`` never clips
    clip_norm: float | None = 1.0


class Adam:
    """Adam over a dict of named arrays, updated in place.

    Moments are kept per parameter name in the parameters' dtype, so a float32 model trains in
    float32 and a float64 one (for gradient checks) in float64.
    """

    def __init__(
        self,
        params: Mapping[str, np.ndarray],
        settings: AdamSettings = AdamSettings(),
        decays: Callable[[str], bool] = decays_by_default,
    ) -> None:
        self.settings = settings
        self._decays = {name: decays(name) for name in params}
        self._m = {name: np.zeros_like(value) for name, value in params.items()}
        self._v = {name: np.zeros_like(value) for name, value in params.items()}
        self.steps = 0

    def step(self, params: MutableMapping[str, np.ndarray], grads: Mapping[str, np.ndarray], lr: float) -> float:
        """Apply one update with learning rate ``lr``; return the gradient norm before clipping."""
        s = self.settings
        norm = global_norm(grads)
        scale = 1.0
        if s.clip_norm is not None and norm > s.clip_norm:
            scale = s.clip_norm / (norm + 1e-12)
        self.steps += 1
        correction1 = 1.0 - s.beta1**self.steps
        correction2 = 1.0 - s.beta2**self.steps
        step_size = lr * math.sqrt(correction2) / correction1
        for name, value in params.items():
            g = grads[name] * scale if scale != 1.0 else grads[name]
            m, v = self._m[name], self._v[name]
            m *= s.beta1
            m += (1.0 - s.beta1) * g
            v *= s.beta2
            v += (1.0 - s.beta2) * (g * g)
            if s.weight_decay and self._decays[name]:
                value *= 1.0 - lr * s.weight_decay
            value -= step_size * m / (np.sqrt(v) + s.eps)
        return norm


def global_norm(grads: Mapping[str, np.ndarray]) -> float:
    """L2 norm of all gradients together, accumulated in float64."""
    return math.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in grads.values()))


def warmup_cosine(step: int, peak: float, warmup: int, total: int, floor: float = 0.1) -> float:
    """Learning rate at ``step`` (0-based): linear warm-up to ``peak``, then cosine down to ``floor · peak``."""
    if warmup > 0 and step < warmup:
        return peak * (step + 1) / warmup
    if total <= warmup:
        return peak
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return peak * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * progress)))

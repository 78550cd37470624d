"""Training a model of the engine's architecture on token windows, one observable step at a time.

    trainer = Trainer(config, windows, TrainSettings(steps=2000, seed=0))
    trainer.add_callback(lambda report: print(report.step, report.loss))
    trainer.run()                       # or call trainer.step() from a GUI timer
    model = trainer.to_model(tokenizer) # a simulator.Model with the current weights

``windows`` is an integer array ``[N, T + 1]``: each row is a token sequence whose first ``T``
tokens are the input and whose last ``T`` are the targets (next tokens). Negative ids are
padding: as targets they do not count, as inputs they are read as token 0 (harmless at the end
of a window of a causal model, since no earlier position can see them). Everything random (initial weights, batch order) comes from one
generator seeded by ``TrainSettings.seed``, so a run is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Callable, Mapping, Sequence

import numpy as np

from simulator.config import ModelConfig
from simulator.errors import ConfigError
from simulator.model import Model, ModelInfo, ModelLabels
from simulator.stages import param_shapes
from simulator.tokenizer import Tokenizer
from simulator.training.backprop import ForwardPass, check_trainable, cross_entropy, forward, loss_and_grads
from simulator.training.optim import Adam, AdamSettings, warmup_cosine


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides a training run besides the model's configuration and data."""

    steps: int = 1000
    batch_size: int = 32
    lr: float = 3e-3
    #: steps of linear warm-up, then a cosine decay to ``lr · final_lr_ratio`` at ``steps``
    warmup: int = 50
    final_lr_ratio: float = 0.1
    adam: AdamSettings = AdamSettings()
    seed: int = 0
    #: standard deviation of the token and position embeddings at initialisation
    embed_std: float = 0.5

    def __post_init__(self) -> None:
        if self.steps < 0 or self.batch_size < 1 or self.warmup < 0:
            raise ConfigError("steps and warmup must be ≥ 0 and batch_size ≥ 1")
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ConfigError(f"the learning rate must be a positive number, got {self.lr!r}")


@dataclass(frozen=True)
class StepReport:
    """What one optimisation step did."""

    step: int  # steps done so far, this one included
    loss: float  # mean next-token loss of the batch, before the update
    grad_norm: float  # before clipping
    lr: float


Callback = Callable[[StepReport], None]


def init_params(config: ModelConfig, rng: np.random.Generator, embed_std: float = 0.5) -> dict[str, np.ndarray]:
    """Fresh weights: LayerNorm gains 1, biases 0, matrices scaled by 1/√fan-in.

    The output projections of each block (``W_O``, ``W_out``) are further divided by
    √(2 · n_layers) so that the residual stream does not grow with depth (as in GPT-2).
    """
    params: dict[str, np.ndarray] = {}
    depth_scale = 1.0 / math.sqrt(2.0 * max(config.n_layers, 1))
    for name, shape in param_shapes(config).items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "w":
            value = np.ones(shape)
        elif leaf.startswith("b"):
            value = np.zeros(shape)
        elif leaf in ("W_E", "W_pos"):
            value = embed_std * rng.standard_normal(shape)
        else:
            fan_in = shape[-2] * (shape[0] if leaf == "W_O" else 1)
            value = rng.standard_normal(shape) / math.sqrt(fan_in)
            if leaf in ("W_O", "W_out"):
                value *= depth_scale
        params[name] = value.astype(config.np_dtype)
    return params


class Trainer:
    """Adam on the mean next-token cross-entropy, with callbacks after every step.

    :attr:`params` is a live read-only view of the current weights, named as in the engine;
    :meth:`parameters` gives a copy; :meth:`to_model` wraps them in a :class:`simulator.Model`.
    """

    def __init__(
        self,
        config: ModelConfig,
        windows: np.ndarray,
        settings: TrainSettings = TrainSettings(),
        params: Mapping[str, np.ndarray] | None = None,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        check_trainable(config)
        data = np.asarray(windows)
        if data.ndim != 2 or data.shape[0] < 1 or data.shape[1] < 2 or data.dtype.kind not in "iu":
            raise ConfigError("windows must be a non-empty [N, T + 1] array of token ids with T ≥ 1")
        if data.shape[1] - 1 > config.n_ctx:
            raise ConfigError(f"windows of {data.shape[1] - 1} input tokens exceed the context of {config.n_ctx}")
        if data.max() >= config.vocab_size:
            raise ConfigError(f"token id {int(data.max())} is outside the vocabulary of {config.vocab_size}")
        self.config = config
        self.settings = settings
        self.windows = data.astype(np.int64)
        self._rng = np.random.default_rng(settings.seed)
        if params is None:
            self._params = init_params(config, self._rng, settings.embed_std)
        else:
            shapes = param_shapes(config)
            if set(params) != set(shapes):
                raise ConfigError("the given parameters do not match the configuration's parameter names")
            self._params = {name: np.array(params[name], dtype=config.np_dtype) for name in shapes}
        self._optimizer = Adam(self._params, settings.adam)
        self._callbacks: list[Callback] = list(callbacks)
        self._order = np.empty(0, dtype=np.int64)
        self._cursor = 0
        self.step_count = 0
        self.history: list[float] = []

    # -- parameters ------------------------------------------------------------------------------
    @property
    def params(self) -> Mapping[str, np.ndarray]:
        """The current weights (live, read-only view; copy before keeping them across steps)."""
        return MappingProxyType(self._params)

    def parameters(self) -> dict[str, np.ndarray]:
        """A copy of the current weights."""
        return {name: value.copy() for name, value in self._params.items()}

    def to_model(self, tokenizer: Tokenizer, labels: ModelLabels | None = None, info: ModelInfo | None = None) -> Model:
        """A :class:`simulator.Model` with the current weights (later steps do not change it)."""
        return Model(self.config, self.parameters(), tokenizer, labels, info)

    # -- training --------------------------------------------------------------------------------
    def add_callback(self, callback: Callback) -> None:
        """Call ``callback(report)`` after every step (e.g. to redraw attention patterns)."""
        self._callbacks.append(callback)

    def lr_at(self, step: int) -> float:
        s = self.settings
        return warmup_cosine(step, s.lr, s.warmup, s.steps, s.final_lr_ratio)

    def next_batch(self) -> np.ndarray:
        """The next ``batch_size`` windows, in a fresh random order every pass over the data."""
        n = self.settings.batch_size
        picked: list[np.ndarray] = []
        while n > 0:
            if self._cursor >= self._order.size:
                self._order = self._rng.permutation(self.windows.shape[0])
                self._cursor = 0
            take = self._order[self._cursor : self._cursor + n]
            self._cursor += take.size
            n -= take.size
            picked.append(take)
        return self.windows[np.concatenate(picked)]

    def step(self) -> float:
        """One Adam step on the next batch; returns the batch's loss before the update."""
        batch = self.next_batch()
        loss, grads = loss_and_grads(self._params, self.config, np.maximum(batch[:, :-1], 0), batch[:, 1:])
        lr = self.lr_at(self.step_count)
        norm = self._optimizer.step(self._params, grads, lr)
        self.step_count += 1
        self.history.append(loss)
        report = StepReport(self.step_count, loss, norm, lr)
        for callback in self._callbacks:
            callback(report)
        return loss

    def run(self, steps: int | None = None) -> list[float]:
        """Take ``steps`` steps (default: until ``settings.steps`` are done); return their losses."""
        todo = self.settings.steps - self.step_count if steps is None else steps
        return [self.step() for _ in range(max(0, todo))]

    # -- looking -----------------------------------------------------------------------------------
    def forward(self, ids: np.ndarray) -> ForwardPass:
        """The current model's forward pass on ``ids [B, T]`` (logits and attention patterns)."""
        return forward(self._params, self.config, ids)

    def loss(self, windows: np.ndarray) -> float:
        """Mean next-token loss of the current weights on other windows (no update)."""
        data = np.asarray(windows, dtype=np.int64)
        return cross_entropy(self.forward(np.maximum(data[:, :-1], 0)).logits, data[:, 1:])[0]

"""Training models of the engine's architecture in NumPy: manual backward pass, Adam, analysis.

    from simulator.training import Trainer, TrainSettings, pack_windows
    trainer = Trainer(config, pack_windows(token_id_sequences, config.n_ctx), TrainSettings(steps=500))
    trainer.add_callback(lambda r: print(r.step, r.loss))   # called after every step
    trainer.run()                                           # or trainer.step() one at a time
    trainer.params["blocks.0.attn.W_Q"]                     # live weights, engine names and shapes
    model = trainer.to_model(tokenizer)                     # a simulator.Model to trace

Modules: :mod:`~simulator.training.backprop` (forward with caches, backward, cross-entropy),
:mod:`~simulator.training.optim` (Adam, clipping, learning-rate schedule),
:mod:`~simulator.training.trainer` (the step loop), :mod:`~simulator.training.data` (windows),
:mod:`~simulator.training.analysis` (accuracy, baselines, what heads attend to) and
:mod:`~simulator.training.tiny` (the recipe of the ``tiny-trained`` preset).

Retrain the shipped ``tiny-trained`` weights (seeded, reproducible; about a minute on 2 cores)::

    python -m simulator.training            # writes resources/presets/tiny-trained.npz
    python -m simulator.training --out my.npz --seed 1

Like the rest of :mod:`simulator`, this package needs NumPy only.
"""

from simulator.training.analysis import Accuracy, HeadScores, baseline_accuracies, head_scores, next_token_accuracy, role_attention
from simulator.training.backprop import ForwardPass, backward, check_trainable, cross_entropy, forward, loss_and_grads
from simulator.training.data import group_by_length, pack_windows
from simulator.training.optim import Adam, AdamSettings, global_norm, warmup_cosine
from simulator.training.trainer import StepReport, Trainer, TrainSettings, init_params

__all__ = [
    "Accuracy", "Adam", "AdamSettings", "ForwardPass", "HeadScores", "StepReport", "TrainSettings", "Trainer",
    "backward", "baseline_accuracies", "check_trainable", "cross_entropy", "forward", "global_norm",
    "group_by_length", "head_scores", "init_params", "loss_and_grads", "next_token_accuracy", "pack_windows",
    "role_attention", "warmup_cosine",
]

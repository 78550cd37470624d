"""Measuring what a trained model learned: next-token accuracy, baselines, and what heads look at."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from simulator.config import ModelConfig
from simulator.training.backprop import forward
from simulator.training.data import group_by_length


@dataclass(frozen=True)
class Accuracy:
    """Top-1 next-token accuracy: how often the most likely next token is the true one."""

    correct: int
    total: int

    @property
    def value(self) -> float:
        return self.correct / self.total if self.total else 0.0


def next_token_accuracy(params: Mapping[str, np.ndarray], config: ModelConfig, sequences: Sequence[np.ndarray]) -> Accuracy:
    """Accuracy over every position but the last of each sequence, each run on its own from position 0."""
    correct = total = 0
    for batch in group_by_length(sequences).values():
        if batch.shape[1] < 2:
            continue
        logits = forward(params, config, batch[:, :-1]).logits
        correct += int((logits.argmax(axis=-1) == batch[:, 1:]).sum())
        total += batch[:, 1:].size
    return Accuracy(correct, total)


def baseline_accuracies(train: Sequence[np.ndarray], held_out: Sequence[np.ndarray], vocab_size: int) -> dict[str, float]:
    """Accuracies of simple predictors on the same held-out targets, for comparison.

    * ``chance``: a uniformly random guess, 1 / vocabulary size;
    * ``unigram``: always the most frequent next token of the training data;
    * ``bigram``: the most frequent follower of the current token in the training data (the
      best that looking at one token can do; beating it means using the context).
    """
    followers: dict[int, Counter[int]] = {}
    targets: Counter[int] = Counter()
    for s in train:
        for a, b in zip(s[:-1].tolist(), s[1:].tolist()):
            followers.setdefault(a, Counter())[b] += 1
            targets[b] += 1
    top = targets.most_common(1)[0][0]
    best = {a: c.most_common(1)[0][0] for a, c in followers.items()}
    n = uni = bi = 0
    for s in held_out:
        for a, b in zip(s[:-1].tolist(), s[1:].tolist()):
            n += 1
            uni += b == top
            bi += best.get(a, top) == b
    return {"chance": 1.0 / vocab_size, "unigram": uni / max(n, 1), "bigram": bi / max(n, 1)}


@dataclass(frozen=True)
class HeadScores:
    """Per layer and head (arrays ``[n_layers, n_heads]``), the average attention weight that a
    query at position ``q ≥ 2`` puts on the previous token (``q − 1``), on the first token
    (position 0) and on itself. Position 1 is left out because there the previous token *is*
    the first one."""

    previous: np.ndarray
    start: np.ndarray
    self_: np.ndarray

    def best_previous(self) -> tuple[int, int]:
        """(layer, head) of the strongest previous-token head."""
        layer, head = np.unravel_index(int(np.argmax(self.previous)), self.previous.shape)
        return int(layer), int(head)


def head_scores(params: Mapping[str, np.ndarray], config: ModelConfig, sequences: Sequence[np.ndarray]) -> HeadScores:
    """Average attention on the previous token, the first token and the token itself, per head."""
    shape = (config.n_layers, config.n_heads)
    sums = {key: np.zeros(shape) for key in ("previous", "start", "self")}
    count = 0
    for batch in group_by_length(sequences).values():
        n_pos = batch.shape[1]
        if n_pos < 3:
            continue
        q = np.arange(2, n_pos)
        for layer, pattern in enumerate(forward(params, config, batch).patterns):
            rows = pattern[:, :, q, :]  # [B, H, queries, keys]
            sums["previous"][layer] += rows[:, :, np.arange(q.size), q - 1].sum(axis=(0, 2))
            sums["start"][layer] += rows[:, :, :, 0].sum(axis=(0, 2))
            sums["self"][layer] += rows[:, :, np.arange(q.size), q].sum(axis=(0, 2))
        count += batch.shape[0] * q.size
    scale = 1.0 / max(count, 1)
    return HeadScores(sums["previous"] * scale, sums["start"] * scale, sums["self"] * scale)


def role_attention(
    params: Mapping[str, np.ndarray],
    config: ModelConfig,
    sequences: Sequence[np.ndarray],
    roles: Sequence[Sequence[str]],
    role_names: Sequence[str],
) -> np.ndarray:
    """Average attention from each query role to each key role: ``[layer, head, query_role, key_role]``.

    For each query position the weights on all keys of one role are added up, then averaged
    over the query positions of each role; e.g. ``[1, 0, find, subject]`` is how much head 1.0
    at the word ``find`` looks at the subject noun(s).
    """
    index = {r: i for i, r in enumerate(role_names)}
    n_roles = len(role_names)
    totals = np.zeros((config.n_layers, config.n_heads, n_roles, n_roles))
    counts = np.zeros(n_roles)
    by_length: dict[int, list[int]] = {}
    for i, s in enumerate(sequences):
        by_length.setdefault(len(s), []).append(i)
    for members in by_length.values():
        batch = np.stack([np.asarray(sequences[i], dtype=np.int64) for i in members])
        role_ids = np.array([[index[r] for r in roles[i]] for i in members])  # [B, T]
        one_hot = np.eye(n_roles)[role_ids]  # [B, T, R]
        for layer, pattern in enumerate(forward(params, config, batch).patterns):
            per_key_role = pattern @ one_hot[:, None, :, :]  # [B, H, T, R]
            totals[layer] += np.einsum("bqr,bhqs->hrs", one_hot, per_key_role)
        counts += one_hot.sum(axis=(0, 1))
    return totals / np.maximum(counts, 1)[None, None, :, None]

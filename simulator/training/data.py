"""Turning tokenised sentences into the fixed-length windows a :class:`Trainer` learns from."""

from __future__ import annotations

from typing import Sequence

import numpy as np


def pack_windows(sequences: Sequence[np.ndarray], length: int) -> np.ndarray:
    """One window of ``length + 1`` tokens per sequence, ``[len(sequences), length + 1]``.

    Each window starts at the first token of its sequence and runs on into the sequences that
    follow it (wrapping round to the first), so no position is wasted on padding, every window
    starts where a typed sentence would start (position 0), and the model also learns what comes
    after a sentence's final ``.``. There is no separate beginning-of-sequence token.
    """
    if length < 1 or not sequences:
        raise ValueError("pack_windows needs at least one sequence and a length of at least 1")
    stream = np.concatenate([np.asarray(s, dtype=np.int64) for s in sequences])
    lengths = np.array([len(s) for s in sequences], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    index = (starts[:, None] + np.arange(length + 1)[None, :]) % stream.size
    return stream[index]


def group_by_length(sequences: Sequence[np.ndarray]) -> dict[int, np.ndarray]:
    """Sequences stacked into one ``[n, length]`` array per length, so batches need no padding."""
    groups: dict[int, list[np.ndarray]] = {}
    for s in sequences:
        groups.setdefault(len(s), []).append(np.asarray(s, dtype=np.int64))
    return {n: np.stack(rows) for n, rows in sorted(groups.items())}

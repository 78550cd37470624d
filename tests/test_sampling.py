"""Sampling the next token: reproducible by seed, limited by top-k and top-p, drawn in proportion."""

from __future__ import annotations

import numpy as np
import pytest

from simulator.analysis import sample_next

ROW = np.array([0.5, 0.2, 0.15, 0.1, 0.05])


def test_the_same_seed_draws_the_same_token_and_seeds_differ() -> None:
    draws = [sample_next(ROW, seed)[0] for seed in range(40)]
    assert draws == [sample_next(ROW, seed)[0] for seed in range(40)]
    assert len(set(draws)) >= 3


def test_draws_follow_the_probabilities() -> None:
    counts = np.bincount([sample_next(ROW, seed)[0] for seed in range(4000)], minlength=5) / 4000
    np.testing.assert_allclose(counts, ROW, atol=0.03)


def test_top_k_and_top_p_keep_only_the_most_likely() -> None:
    assert {sample_next(ROW, seed, k=1)[0] for seed in range(50)} == {0}
    assert {sample_next(ROW, seed, k=2)[0] for seed in range(200)} == {0, 1}
    assert {sample_next(ROW, seed, top_p=0.5)[0] for seed in range(50)} == {0}
    assert {sample_next(ROW, seed, top_p=0.7)[0] for seed in range(200)} == {0, 1}
    token, prob = sample_next(ROW, 3, k=2)
    assert prob == pytest.approx(ROW[token] / 0.7)


@pytest.mark.parametrize(
    ("row", "kwargs"),
    [([0.5, np.nan], {}), ([0.0, 0.0], {}), ([[0.5, 0.5]], {}), ([0.5, 0.5], {"top_p": 0}),
     ([0.5, 0.5], {"top_p": 1.5}), ([0.5, 0.5], {"k": 0})],
)
def test_bad_input_is_refused_with_a_message(row, kwargs) -> None:  # noqa: ANN001
    with pytest.raises(ValueError):
        sample_next(np.array(row), 0, **kwargs)
    with pytest.raises(ValueError, match="seed"):
        sample_next(ROW, -1)

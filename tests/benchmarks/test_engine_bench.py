"""The benchmarks under pytest-benchmark: ``pytest tests/benchmarks --benchmark-only``.

Figures, not pass/fail timings: the tests check only that the engine and PyTorch agree. The
interleaved numpy/PyTorch ratio is stored in the benchmark's ``extra_info``.
"""

from __future__ import annotations

import numpy as np
import pytest

import simulator

from .report import gpt2_figures
from .workloads import TOY_TEXT, build_gpt2_small, fresh_forward, gpt2_ids, torch_twin


@pytest.fixture(scope="module")
def toy() -> simulator.Model:
    return simulator.load("toy")


@pytest.fixture(scope="module")
def gpt2() -> simulator.Model:
    return build_gpt2_small()


def test_toy_every_stage(benchmark, toy: simulator.Model) -> None:
    trace = benchmark(fresh_forward, toy, TOY_TEXT)
    np.testing.assert_allclose(trace["probs"].sum(axis=-1), 1.0, rtol=1e-5)


def test_toy_probs_only(benchmark, toy: simulator.Model) -> None:
    trace = benchmark(fresh_forward, toy, TOY_TEXT, ["probs"])
    assert trace["probs"].shape == (len(trace.ids), toy.config.vocab_size)


def test_gpt2_small_shape_numpy_every_stage(benchmark, gpt2: simulator.Model) -> None:
    ids = gpt2_ids()
    trace = benchmark.pedantic(fresh_forward, args=(gpt2, ids), rounds=5, iterations=1, warmup_rounds=1)
    assert trace["probs"].shape == (len(ids), gpt2.config.vocab_size)


def test_gpt2_small_shape_numpy_probs_only(benchmark, gpt2: simulator.Model) -> None:
    ids = gpt2_ids()
    trace = benchmark.pedantic(fresh_forward, args=(gpt2, ids, ["probs"]), rounds=5, iterations=1, warmup_rounds=1)
    assert trace["probs"].shape == (len(ids), gpt2.config.vocab_size)


def test_gpt2_small_shape_torch(benchmark, gpt2: simulator.Model) -> None:
    pytest.importorskip("torch", reason="PyTorch is not installed: no comparison")
    twin = torch_twin(gpt2)
    ids = gpt2_ids()
    probs = benchmark.pedantic(twin.forward, args=(ids,), rounds=5, iterations=1, warmup_rounds=1)
    np.testing.assert_allclose(probs.numpy(), fresh_forward(gpt2, ids, ["probs"])["probs"], rtol=1e-3, atol=1e-7)


def test_gpt2_small_shape_ratio(benchmark) -> None:
    """Engine and PyTorch timed alternately in one run; the ratio lands in ``extra_info``."""
    pytest.importorskip("torch", reason="PyTorch is not installed: no comparison")
    figures = benchmark.pedantic(gpt2_figures, args=(5,), rounds=1, iterations=1)
    benchmark.extra_info.update(
        {key: value for key, value in figures.items() if key.startswith(("ratio", "numpy", "torch_median"))}
    )
    assert figures["max_abs_difference_of_probs"] < 1e-6

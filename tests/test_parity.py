"""Every stage of the tiny GPT-2 and BERT checkpoints against PyTorch's own intermediates.

The checkpoints in ``tests/fixtures/checkpoints/`` are loaded through the real loading code
(``simulator.load`` on the folder), each fixture sentence is tokenised by the checkpoint's own
tokenizer, and every stage PyTorch recorded (``tests/fixtures/parity/*.npz``, made by
``tests/fixtures/make_parity_fixtures.py``) must match to 1e-5 relative in float32. As the fixtures'
README advises, the tolerance is ``rtol=1e-5`` plus an absolute floor of ``1e-5 · max|ref|`` so
that near-zero entries (GELU of large negative inputs) do not make the test fragile.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import simulator

FIXTURES = Path(__file__).parent / "fixtures"
CHECKPOINTS = ("gpt2-tiny", "bert-tiny")
RTOL = 1e-5
NOT_STAGES = {"text", "tokens", "input_ids"}
#: Engine stages PyTorch has no hook for; each is checked through the recorded stage it feeds.
ENGINE_ONLY = {"attn.scores", "attn.scaled", "attn.masked", "attn.head_out", "probs"}


def parity_files(name: str) -> list[Path]:
    return sorted((FIXTURES / "parity").glob(f"{name}-[0-9].npz"))


@pytest.fixture(scope="module", params=CHECKPOINTS)
def checkpoint(request: pytest.FixtureRequest) -> tuple[str, simulator.Model]:
    return request.param, simulator.load(FIXTURES / "checkpoints" / request.param)


def assert_stage_matches(name: str, got: np.ndarray, ref: np.ndarray) -> float:
    """Assert the fixture tolerance and return the largest error relative to max|ref|."""
    assert got.shape == ref.shape, f"{name}: shape {got.shape}, PyTorch {ref.shape}"
    assert got.dtype == np.float32, f"{name}: dtype {got.dtype}"
    scale = float(np.max(np.abs(ref)))
    np.testing.assert_allclose(got, ref, rtol=RTOL, atol=RTOL * scale, err_msg=name)
    return float(np.max(np.abs(got.astype(np.float64) - ref))) / scale if scale else 0.0


def test_there_are_three_sentences_per_checkpoint() -> None:
    for name in CHECKPOINTS:
        assert len(parity_files(name)) == 3, name


@pytest.mark.parametrize("index", [0, 1, 2])
def test_every_recorded_stage_matches_pytorch(checkpoint: tuple[str, simulator.Model], index: int) -> None:
    name, model = checkpoint
    with np.load(parity_files(name)[index]) as z:
        ref = {key: z[key] for key in z.files}
    trace = model.trace(str(ref["text"]))
    assert list(trace.ids) == ref["input_ids"].tolist(), "the tokenizer's ids differ from the ones PyTorch was given"
    assert list(trace.ids) == ref["tokens"].tolist()
    stages = sorted(set(ref) - NOT_STAGES)
    unknown = [s for s in stages if s not in model.graph]
    assert not unknown, f"fixture stages the engine does not have: {unknown}"
    worst = max(assert_stage_matches(s, trace[s], ref[s]) for s in stages)
    assert worst < RTOL


def test_the_fixtures_cover_every_engine_stage_with_a_hook(checkpoint: tuple[str, simulator.Model]) -> None:
    name, model = checkpoint
    with np.load(parity_files(name)[0]) as z:
        recorded = set(z.files) - NOT_STAGES
    missing = [s for s in model.stage_ids() if s not in recorded and model.stage_spec(s).kind not in ENGINE_ONLY | {"tokens"}]
    assert missing == []


def test_tracing_the_ids_gives_the_same_stages_as_tracing_the_text(checkpoint: tuple[str, simulator.Model]) -> None:
    name, model = checkpoint
    with np.load(parity_files(name)[2]) as z:
        text, ids = str(z["text"]), z["input_ids"].tolist()
    by_text, by_ids = model.trace(text), model.trace(ids)
    last = model.stage_ids()[-1]
    np.testing.assert_array_equal(by_text[last], by_ids[last])
    assert by_text.tokens == by_ids.tokens


def test_engine_only_stages_are_consistent_with_the_recorded_ones(checkpoint: tuple[str, simulator.Model]) -> None:
    """The stages PyTorch does not expose still add up to the ones it does."""
    name, model = checkpoint
    with np.load(parity_files(name)[0]) as z:
        ref = {key: z[key] for key in z.files}
    trace = model.trace(str(ref["text"]))
    for layer in range(model.config.n_layers):
        p = f"blocks.{layer}."
        head_sum = trace[p + "attn.head_out"].sum(axis=0) + model.params[p + "attn.b_O"]
        assert_stage_matches(p + "attn_out", head_sum, ref[p + "attn_out"])
        q, k = ref[p + "attn.q"].astype(np.float64), ref[p + "attn.k"].astype(np.float64)
        scores = q @ k.transpose(0, 2, 1)
        scale = float(np.max(np.abs(scores)))
        np.testing.assert_allclose(trace[p + "attn.scores"], scores, rtol=1e-4, atol=1e-5 * scale)
    if model.config.unembed:
        probs = trace["probs"].astype(np.float64)
        np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=1e-5)
        np.testing.assert_array_equal(np.argmax(probs, axis=-1), np.argmax(ref["logits"], axis=-1))

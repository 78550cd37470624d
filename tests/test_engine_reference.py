"""The engine agrees with an independent loop-based reference to 1e-10, over random models."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

import simulator
from engine_models import Case, build_model, cases
from reference_forward import reference_forward, reference_stage_ids

TOLERANCE = 1e-10


def assert_stage_close(stage_id: str, got: np.ndarray, want: np.ndarray) -> None:
    """Equal shapes, −inf in the same places, and finite values within 1e-10 of the array's scale."""
    assert got.shape == want.shape, f"{stage_id}: shape {got.shape}, reference {want.shape}"
    assert not np.isnan(got).any(), f"{stage_id}: NaN in the engine's output"
    np.testing.assert_array_equal(np.isneginf(got), np.isneginf(want), err_msg=f"{stage_id}: −inf entries differ")
    finite = np.isfinite(want)
    assert np.isfinite(got[finite]).all(), f"{stage_id}: non-finite values where the reference is finite"
    scale = max(1.0, float(np.max(np.abs(want[finite]), initial=0.0)))
    np.testing.assert_allclose(got[finite], want[finite], rtol=TOLERANCE, atol=TOLERANCE * scale, err_msg=stage_id)


def check_case(case: Case) -> None:
    model = case.model
    trace = case.trace()
    want = reference_forward(
        model.config,
        model.params,
        case.ids,
        temperature=case.temperature,
        causal=case.causal,
        scale_scores=case.scale_scores,
        token_types=case.token_types,
    )
    assert model.stage_ids() == reference_stage_ids(model.config)
    assert set(want) == set(model.stage_ids())
    np.testing.assert_array_equal(trace["tokens"], np.asarray(case.ids))
    for stage_id in model.stage_ids():
        if stage_id != "tokens":
            assert trace[stage_id].dtype == np.float64, stage_id
            assert_stage_close(stage_id, trace[stage_id], want[stage_id])


@settings(max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_stage_matches_the_reference(case: Case) -> None:
    check_case(case)


@pytest.mark.parametrize("norm", ["none", "pre", "post"])
@pytest.mark.parametrize("act", ["relu", "gelu", "gelu_tanh"])
def test_full_sized_choices_match_the_reference(norm: str, act: str) -> None:
    """Every norm and activation at once on a fixed, slightly larger model (n_ctx 8, 3 layers)."""
    config = simulator.ModelConfig(
        d_model=12, n_heads=3, d_head=5, n_layers=3, d_mlp=10, vocab_size=15, n_ctx=8, act=act, norm=norm,
        positional="sinusoidal", causal=True, scale_scores=True, dtype="float64", n_token_types=2,
        embed_norm=norm != "none", pooling="mean",
    )
    model = build_model(config, seed=7)
    case = Case(model, (3, 1, 4, 1, 5, 9, 2, 6), (0, 0, 0, 1, 1, 1, 1, 0), 0.7, None, None)
    check_case(case)


def test_reference_catches_a_wrong_engine() -> None:
    """The comparison can fail: a perturbed weight in the reference's input is detected."""
    config = simulator.ModelConfig(
        d_model=4, n_heads=2, d_head=2, n_layers=1, d_mlp=3, vocab_size=5, n_ctx=4, dtype="float64"
    )
    model = build_model(config, seed=3)
    trace = model.trace([1, 2, 3])
    params = dict(model.params)
    params["blocks.0.mlp.W_in"] = params["blocks.0.mlp.W_in"] + 1e-6
    want = reference_forward(config, params, [1, 2, 3])
    with pytest.raises(AssertionError):
        assert_stage_close("blocks.0.mlp.pre", trace["blocks.0.mlp.pre"], want["blocks.0.mlp.pre"])

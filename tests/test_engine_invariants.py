"""Properties every forward pass must have, whatever the weights: the issue's invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import simulator
from engine_models import Case, build_model, cases, configs

SETTINGS = settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
SCORE_STAGES = ("scores", "scaled", "masked", "pattern")


def effective(case: Case, option: str) -> bool:
    given_value = getattr(case, option)
    return getattr(case.model.config, option) if given_value is None else given_value


def attention_blocks(case: Case) -> range:
    return range(case.model.config.n_layers)


@SETTINGS
@given(cases(configs(dtype="float64")))
def test_pattern_rows_sum_to_one_and_masked_entries_are_exactly_zero(case: Case) -> None:
    trace = case.trace()
    for layer in attention_blocks(case):
        pattern = trace[f"blocks.{layer}.attn.pattern"]
        masked = trace[f"blocks.{layer}.attn.masked"]
        np.testing.assert_allclose(pattern.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
        assert np.all(pattern >= 0)
        n = pattern.shape[-1]
        future = np.triu(np.ones((n, n), dtype=bool), k=1)
        if effective(case, "causal"):
            assert np.all(pattern[:, future] == 0.0)
            assert np.all(np.isneginf(masked[:, future]))
            assert np.all(np.isfinite(masked[:, ~future]))
        else:
            assert np.all(np.isfinite(masked))


@SETTINGS
@given(cases(configs(dtype="float64")))
def test_attention_stages_fit_together(case: Case) -> None:
    """scaled, masked, attn_out and resid_mid are what their equations say in terms of each other."""
    trace = case.trace()
    d_head = case.model.config.d_head
    for layer in attention_blocks(case):
        p = f"blocks.{layer}."
        scores, scaled, masked = (trace[p + "attn." + s] for s in ("scores", "scaled", "masked"))
        if effective(case, "scale_scores"):
            np.testing.assert_allclose(scaled, scores / math.sqrt(d_head), rtol=1e-15, atol=0)
        else:
            np.testing.assert_array_equal(scaled, scores)
        if not effective(case, "causal"):
            np.testing.assert_array_equal(masked, scaled)
        else:
            keep = ~np.triu(np.ones(masked.shape[1:], dtype=bool), k=1)
            np.testing.assert_array_equal(masked[:, keep], scaled[:, keep])
        head_out = trace[p + "attn.head_out"]
        b_o = case.model.params[p + "attn.b_O"]
        np.testing.assert_allclose(head_out.sum(axis=0) + b_o, trace[p + "attn_out"], rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(trace[p + "resid_mid"], trace[p + "resid_pre"] + trace[p + "attn_out"])


def causal_config() -> st.SearchStrategy[simulator.ModelConfig]:
    return configs(dtype="float64").filter(lambda c: c.causal and c.n_ctx >= 2)


@SETTINGS
@given(cases(causal_config(), overrides=False), st.data())
def test_changing_a_token_leaves_earlier_positions_exactly_unchanged(case: Case, data: st.DataObject) -> None:
    n = len(case.ids)
    assume(n >= 2)
    t = data.draw(st.integers(1, n - 1), label="changed position")
    vocab = case.model.tokenizer.vocab_size
    new_id = data.draw(st.integers(0, vocab - 1).filter(lambda i: i != case.ids[t]), label="new id")
    changed = Case(case.model, case.ids[:t] + (new_id,) + case.ids[t + 1 :], case.token_types, case.temperature, None, None)
    before, after = case.trace(), changed.trace()
    for stage_id in case.model.stage_ids():
        spec = case.model.stage_spec(stage_id)
        a, b = before[stage_id], after[stage_id]
        if "pos" in spec.axes:
            axis = spec.axes.index("pos")
            np.testing.assert_array_equal(np.take(a, range(t), axis=axis), np.take(b, range(t), axis=axis), err_msg=stage_id)
        elif spec.axes[-2:] == ("query_pos", "key_pos"):
            np.testing.assert_array_equal(a[:, :t, :t], b[:, :t, :t], err_msg=stage_id)
            if stage_id.endswith(("masked", "pattern")):
                np.testing.assert_array_equal(a[:, :t, :], b[:, :t, :], err_msg=stage_id)
        else:
            assert stage_id == "pooled", f"{stage_id} has no position axis"


def test_a_later_token_does_change_earlier_positions_without_the_mask() -> None:
    """The causal check above can fail: with the mask off, position 0 sees token 1."""
    config = simulator.ModelConfig(d_model=6, n_heads=2, d_head=3, n_layers=1, d_mlp=4, vocab_size=6, n_ctx=4, dtype="float64")
    model = build_model(config, seed=11)
    before = model.trace([1, 2, 3], causal=False)
    after = model.trace([1, 4, 3], causal=False)
    assert not np.array_equal(before["blocks.0.resid_post"][0], after["blocks.0.resid_post"][0])


@SETTINGS
@given(cases(configs(dtype="float64").filter(lambda c: c.unembed)))
def test_probs_are_a_distribution_and_temperature_sharpens_or_flattens(case: Case) -> None:
    model = case.model
    ids = list(case.ids)
    cool, warm, hot = (model.trace(ids, temperature=t, token_types=case.token_types)["probs"] for t in (0.5, 1.0, 2.0))
    logits = model.trace(ids, token_types=case.token_types)["logits"]
    for probs in (cool, warm, hot):
        np.testing.assert_allclose(probs.sum(axis=-1), 1.0, rtol=0, atol=1e-12)
        assert np.all(probs >= 0)
    unsaturated = (np.ptp(logits, axis=-1) > 1e-6) & (hot.max(axis=-1) < 1 - 1e-6)
    tol = 1e-12
    assert np.all(cool.max(axis=-1) >= warm.max(axis=-1) - tol)
    assert np.all(warm.max(axis=-1) >= hot.max(axis=-1) - tol)
    assert np.all(cool.max(axis=-1)[unsaturated] > hot.max(axis=-1)[unsaturated])
    assert np.all(entropy(cool) <= entropy(warm) + tol) and np.all(entropy(warm) <= entropy(hot) + tol)
    top = np.argmax(logits, axis=-1)
    np.testing.assert_array_equal(np.argmax(cool, axis=-1), top)


def entropy(probs: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(probs > 0, -probs * np.log(probs), 0.0)
    return terms.sum(axis=-1)


def test_extreme_temperatures_give_one_hot_and_nearly_uniform_rows() -> None:
    model = simulator.load("toy")
    text = "the cat walks by the bank"
    logits = model.trace(text)["logits"]
    cold = model.trace(text, temperature=1e-6)["probs"]
    np.testing.assert_array_equal(cold, np.eye(logits.shape[1], dtype=cold.dtype)[np.argmax(logits, axis=-1)])
    flat = model.trace(text, temperature=1e6)["probs"]
    np.testing.assert_allclose(flat, 1.0 / logits.shape[1], rtol=1e-4)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("norm", ["none", "pre", "post"])
def test_no_nan_with_masks_and_huge_finite_weights(dtype: str, norm: str) -> None:
    """Huge query/key weights give huge finite scores; the stable softmax still yields exact 0/1."""
    config = simulator.ModelConfig(
        d_model=4, n_heads=2, d_head=3, n_layers=2, d_mlp=5, vocab_size=6, n_ctx=6, norm=norm, dtype=dtype
    )
    model = build_model(config, seed=5)
    big = 1e15 if dtype == "float32" else 1e60
    for layer in range(2):
        for name in ("W_Q", "W_K"):
            key = f"blocks.{layer}.attn.{name}"
            model.set_param(key, np.asarray(model.params[key], dtype=np.float64) * big)
    trace = model.trace([1, 2, 3, 4, 5, 0])
    for stage_id in model.stage_ids():
        assert not np.isnan(trace[stage_id]).any(), stage_id
    for layer in range(2):
        pattern = trace[f"blocks.{layer}.attn.pattern"]
        np.testing.assert_allclose(pattern.sum(axis=-1), 1.0, rtol=0, atol=1e-6)
        assert np.all(pattern[:, 0, 1:] == 0.0)
        np.testing.assert_array_equal(pattern[:, 0, 0], 1.0)


def test_every_stage_is_finite_on_the_toy_preset() -> None:
    model = simulator.load("toy")
    trace = model.trace("the mole dug a hole by the river")
    for stage_id in model.stage_ids():
        values = trace[stage_id]
        if stage_id.endswith(".masked"):
            values = np.where(np.isneginf(values), 0, values)
        assert np.isfinite(values).all(), stage_id

"""``simulator.experiments``: ablation and patching checked independently of how they are built.

* Ablating a head's weighted values equals a copy of the model whose W_O rows (or W_V and b_V)
  for that head are zero, bit for bit downstream.
* Patching a stage at every position from another run gives that run's downstream values.
* The logit lens's last entry is the model's logits; the attribution's parts sum to the logit.
* Interventions are part of the cache key of exactly the downstream stages: a plain trace never
  sees them, and an intervened trace computes only what is downstream of them.

Every architecture the engine runs: GPT-2-style pre-LN and BERT-style post-LN checkpoints, every
preset, and random configurations of every kind (hypothesis, float64).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from engine_models import Case, cases, configs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulator
from simulator import experiments as ex

CHECKPOINTS = Path(__file__).parent / "fixtures" / "checkpoints"
CLEAN = "The cat sat on the river bank."
CORRUPTED = "The man sat on the river bank."
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def gpt2() -> simulator.Model:
    return simulator.load(CHECKPOINTS / "gpt2-tiny")


@pytest.fixture(scope="module")
def bert() -> simulator.Model:
    return simulator.load(CHECKPOINTS / "bert-tiny")


def models() -> list:
    """The two checkpoints and every preset, built lazily (for parametrisation)."""
    return [pytest.param(name, id=name) for name in ("gpt2-tiny", "bert-tiny", *simulator.preset_names())]


def load(name: str) -> simulator.Model:
    return simulator.load(CHECKPOINTS / name) if name.endswith("-tiny") else simulator.load(name)


def sentence(model: simulator.Model) -> list[int]:
    """Up to 6 token ids every model can read (the first ids of its vocabulary, shuffled)."""
    n = min(6, model.config.n_ctx)
    ids = np.random.default_rng(3).integers(0, model.tokenizer.vocab_size, n)
    return ids.tolist()


def copy_of(model: simulator.Model) -> simulator.Model:
    return simulator.Model(model.config, dict(model.params), model.tokenizer, model.labels, model.info)


def after(model: simulator.Model, stage: str) -> list[str]:
    """Every stage downstream of ``stage`` (itself excluded)."""
    return [sid for sid in model.downstream(stage) if sid != stage]


def fed_only_by(model: simulator.Model, stage: str) -> list[str]:
    """The stages downstream of ``stage`` whose other inputs are the same for any two inputs of
    one length and one segment layout (they reach the token ids only through ``stage``)."""
    same: dict[str, bool] = {}
    for sid, spec in model.graph.items():
        if sid == stage or sid in ("pos_embed", "token_type_embed"):
            same[sid] = True
        else:
            same[sid] = sid not in ("tokens", "embed") and all(same[i] for i in spec.inputs)
    return [sid for sid in after(model, stage) if same[sid]]


def assert_same_downstream(
    model: simulator.Model, got: simulator.Trace, expected: simulator.Trace, stage: str, inputs_differ: bool = False
) -> None:
    """Every stage after ``stage`` equal bit for bit (when the two traces' inputs differ: every one
    that reaches the input only through ``stage``)."""
    checked = fed_only_by(model, stage) if inputs_differ else after(model, stage)
    assert checked or not after(model, stage)
    for sid in checked:
        np.testing.assert_array_equal(got[sid], expected[sid], err_msg=sid)


# -- ablation against edited weights ------------------------------------------------------------------
@pytest.mark.parametrize("name", models())
def test_ablating_a_head_equals_zeroing_its_output_rows(name: str) -> None:
    model = load(name)
    if model.config.n_layers == 0:
        pytest.skip("no blocks")
    layer, head = model.config.n_layers - 1, model.config.n_heads - 1
    ids = sentence(model)
    edited = copy_of(model)
    edited.set_param(f"blocks.{layer}.attn.W_O", 0.0, index=head)
    ablated = model.trace(ids, interventions=[ex.Ablate(f"blocks.{layer}.attn.z", head=head)])
    assert not np.any(ablated[f"blocks.{layer}.attn.head_out"][head])
    assert_same_downstream(model, ablated, edited.trace(ids), f"blocks.{layer}.attn.head_out")


@pytest.mark.parametrize("name", models())
def test_ablating_a_heads_values_equals_zeroing_its_value_weights(name: str) -> None:
    model = load(name)
    if model.config.n_layers == 0:
        pytest.skip("no blocks")
    edited = copy_of(model)
    edited.set_param("blocks.0.attn.W_V", 0.0, index=0)
    edited.set_param("blocks.0.attn.b_V", 0.0, index=0)
    ids = sentence(model)
    ablated = model.trace(ids, interventions=[ex.Ablate("blocks.0.attn.v", head=0)])
    assert_same_downstream(model, ablated, edited.trace(ids), "blocks.0.attn.v")


@SETTINGS
@given(case=cases(configs(max_layers=2)), data=st.data())
def test_head_ablation_equals_zeroed_output_rows_for_every_configuration(case: Case, data: st.DataObject) -> None:
    model = case.model
    if model.config.n_layers == 0:
        return
    layer = data.draw(st.integers(0, model.config.n_layers - 1))
    head = data.draw(st.integers(-model.config.n_heads, model.config.n_heads - 1))
    edited = copy_of(model)
    edited.set_param(f"blocks.{layer}.attn.W_O", 0.0, index=head)
    kwargs = {"temperature": case.temperature, "causal": case.causal, "scale_scores": case.scale_scores, "token_types": case.token_types}
    ablated = model.trace(list(case.ids), interventions=[ex.Ablate(f"blocks.{layer}.attn.z", head=head)], **kwargs)
    assert_same_downstream(model, ablated, edited.trace(list(case.ids), **kwargs), f"blocks.{layer}.attn.head_out")


def test_mean_ablation_replaces_the_chosen_neurons_by_their_mean_over_positions(gpt2: simulator.Model) -> None:
    plain = gpt2.trace(CLEAN)
    tr = gpt2.trace(CLEAN, interventions=[ex.Ablate("blocks.0.mlp.post", index=[3, 5], mode="mean")])
    expected = np.array(plain["blocks.0.mlp.post"], dtype=np.float64)
    expected[:, [3, 5]] = expected[:, [3, 5]].mean(axis=0)
    np.testing.assert_allclose(tr["blocks.0.mlp.post"], expected, rtol=1e-6, atol=1e-7)
    others = [i for i in range(gpt2.config.d_mlp) if i not in (3, 5)]
    np.testing.assert_array_equal(tr["blocks.0.mlp.post"][:, others], plain["blocks.0.mlp.post"][:, others])
    w_out, b_out = (np.asarray(gpt2.params[f"blocks.0.mlp.{n}"], dtype=np.float64) for n in ("W_out", "b_out"))
    np.testing.assert_allclose(tr["blocks.0.mlp_out"], expected @ w_out + b_out, rtol=1e-5, atol=1e-5)


def test_selections_combine_along_their_own_axes(gpt2: simulator.Model) -> None:
    plain = gpt2.trace(CLEAN)
    tr = gpt2.trace(CLEAN, interventions=[ex.Ablate("blocks.1.attn.pattern", head=[0, 2], position=slice(2, 5), index=-1)])
    expected = np.array(plain["blocks.1.attn.pattern"])
    for h in (0, 2):
        expected[h, 2:5, -1] = 0
    np.testing.assert_array_equal(tr["blocks.1.attn.pattern"], expected)


# -- patching ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", models())
def test_patching_every_position_gives_the_sources_downstream_values(name: str) -> None:
    model = load(name)
    ids = sentence(model)
    other = list(reversed(ids))
    source = model.trace(other)
    stage = "blocks.0.resid_post" if model.config.n_layers else model.stage_ids()[-1]
    patched = model.trace(ids, interventions=[ex.Patch(stage, source=source)])
    np.testing.assert_array_equal(patched[stage], source[stage])
    assert_same_downstream(model, patched, model.trace(other), stage, inputs_differ=True)


@SETTINGS
@given(case=cases(configs(max_layers=2)), data=st.data())
def test_patching_every_position_for_every_configuration(case: Case, data: st.DataObject) -> None:
    model = case.model
    stage = data.draw(st.sampled_from([s for s in model.stage_ids() if s != "tokens"]))
    other = data.draw(st.lists(st.integers(0, model.tokenizer.vocab_size - 1), min_size=len(case.ids), max_size=len(case.ids)))
    source = model.trace(other, token_types=case.token_types)
    patched = model.trace(list(case.ids), token_types=case.token_types, interventions=[ex.Patch(stage, source=source)])
    np.testing.assert_array_equal(patched[stage], source[stage])
    fresh = model.trace(other, token_types=case.token_types)
    for sid in fed_only_by(model, stage):
        np.testing.assert_array_equal(patched[sid], fresh[sid], err_msg=sid)


def test_patching_one_position_changes_that_position_and_leaves_earlier_ones(gpt2: simulator.Model) -> None:
    source = gpt2.trace(CORRUPTED)
    plain = gpt2.trace(CLEAN)
    tr = gpt2.trace(CLEAN, interventions=[ex.Patch("blocks.0.resid_post", source=source, position=3)])
    np.testing.assert_array_equal(tr["blocks.0.resid_post"][3], source["blocks.0.resid_post"][3])
    np.testing.assert_array_equal(tr["blocks.0.resid_post"][:3], plain["blocks.0.resid_post"][:3])
    np.testing.assert_allclose(tr["logits"][:3], plain["logits"][:3], rtol=1e-6, atol=1e-6)  # causal: earlier positions keep theirs
    assert not np.allclose(tr["logits"][3:], plain["logits"][3:])


def test_a_patch_needs_a_source_of_the_same_length(gpt2: simulator.Model) -> None:
    with pytest.raises(ex.PatchSourceError, match="the source has 4 tokens but the patched input has 8; patching needs two inputs of the same length"):
        gpt2.trace(CLEAN, interventions=[ex.Patch("blocks.0.resid_post", source=gpt2.trace("The cat sat on"))])


# -- the cache: exactly the downstream stages --------------------------------------------------------
def test_an_intervened_trace_computes_only_the_downstream_stages(gpt2: simulator.Model) -> None:
    gpt2.clear_cache()
    source = gpt2.trace(CORRUPTED)
    source["blocks.0.resid_post"]  # before the clean run: the plain cache keeps one run per stage
    plain = gpt2.trace(CLEAN)
    plain_values = {sid: plain[sid] for sid in gpt2.stage_ids()}
    for intervention in (ex.Ablate("blocks.1.attn.z", head=0), ex.Patch("blocks.0.resid_post", source=source, position=3)):
        with gpt2.recording() as computed:
            tr = gpt2.trace(CLEAN, interventions=[intervention])
            for sid in gpt2.stage_ids():
                tr[sid]
        assert computed == list(gpt2.downstream(intervention.stage))
        with gpt2.recording() as again:  # the same experiment again: served from the cache
            repeat = gpt2.trace(CLEAN, interventions=[intervention])
            for sid in gpt2.stage_ids():
                repeat[sid]
        assert again == []
        with gpt2.recording() as replain:  # the plain run was not evicted and never sees the intervention
            fresh = gpt2.trace(CLEAN)
            for sid in gpt2.stage_ids():
                assert fresh[sid] is plain_values[sid]
        assert replain == []


def test_rerun_shares_the_upstream_stages_of_its_trace_whatever_the_cache_holds(gpt2: simulator.Model) -> None:
    clean = gpt2.trace(CLEAN)
    for sid in gpt2.stage_ids():  # a trace holds the stages it has read
        clean[sid]
    corrupted = gpt2.trace(CORRUPTED)
    corrupted["logits"]  # the shared cache now holds the corrupted run's plain values
    patch = ex.Patch("blocks.1.resid_mid", source=corrupted, position=2)
    with gpt2.recording() as computed:
        tr = ex.rerun(clean, [patch])
        tr["logits"]
    needed = ("blocks.1.resid_mid", "blocks.1.ln2", "blocks.1.mlp.pre", "blocks.1.mlp.post", "blocks.1.mlp_out", "blocks.1.resid_post", "ln_final", "logits")
    assert sorted(computed) == sorted(needed)
    np.testing.assert_array_equal(tr["logits"], gpt2.trace(CLEAN, interventions=[patch])["logits"])


def test_different_interventions_and_sources_have_different_keys(gpt2: simulator.Model) -> None:
    a, b = gpt2.trace(CORRUPTED), gpt2.trace("The bank sat on the river bank.")
    first = gpt2.trace(CLEAN, interventions=[ex.Patch("blocks.0.resid_post", source=a, position=1)])
    second = gpt2.trace(CLEAN, interventions=[ex.Patch("blocks.0.resid_post", source=b, position=1)])
    assert first.cache_key("logits") != second.cache_key("logits")
    assert not np.array_equal(first["logits"], second["logits"])
    zeroed = gpt2.trace(CLEAN, interventions=[ex.Ablate("blocks.0.resid_post", position=1)])
    meaned = gpt2.trace(CLEAN, interventions=[ex.Ablate("blocks.0.resid_post", position=1, mode="mean")])
    assert not np.array_equal(zeroed["logits"], meaned["logits"])
    assert first.cache_key("blocks.0.resid_mid") == gpt2.trace(CLEAN).cache_key("blocks.0.resid_mid")


def test_a_source_with_its_own_interventions_is_copied_as_it_ran(gpt2: simulator.Model) -> None:
    ablated_source = gpt2.trace(CORRUPTED, interventions=[ex.Ablate("blocks.0.attn.z", head=1)])
    plain_source = gpt2.trace(CORRUPTED)
    a = gpt2.trace(CLEAN, interventions=[ex.Patch("blocks.0.resid_post", source=ablated_source)])
    b = gpt2.trace(CLEAN, interventions=[ex.Patch("blocks.0.resid_post", source=plain_source)])
    np.testing.assert_array_equal(a["logits"], ablated_source["logits"])
    np.testing.assert_array_equal(b["logits"], plain_source["logits"])


def test_an_intervened_trace_keeps_the_weights_it_was_made_with() -> None:
    model = simulator.load("toy")
    tr = model.trace("the mole dug", interventions=[ex.Ablate("blocks.0.attn.z", head=0)])
    before = model.trace("the mole dug", interventions=[ex.Ablate("blocks.0.attn.z", head=0)])["logits"]
    model.set_param("blocks.0.mlp.b_out", 1.0, index=0)
    np.testing.assert_array_equal(tr["logits"], before)
    assert not np.array_equal(model.trace("the mole dug", interventions=[ex.Ablate("blocks.0.attn.z", head=0)])["logits"], before)


# -- the logit lens ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [n for n in models() if n.values[0] != "bert-tiny"])
def test_the_lens_ends_at_the_logits(name: str) -> None:
    model = load(name)
    tr = model.trace(sentence(model))
    lens = ex.logit_lens(tr)
    assert list(lens) == ex.lens_stages(model)
    np.testing.assert_array_equal(list(lens.values())[-1], tr["logits"])
    for value in lens.values():
        assert value.shape == tr["logits"].shape and not value.flags.writeable


def test_the_lens_applies_the_final_norm_and_unembedding(gpt2: simulator.Model) -> None:
    tr = gpt2.trace(CLEAN)
    lens = ex.logit_lens(tr)
    assert list(lens) == ["blocks.0.resid_pre", "blocks.0.resid_mid", "blocks.0.resid_post", "blocks.1.resid_mid", "blocks.1.resid_post"]
    p = {k: np.asarray(v, dtype=np.float64) for k, v in gpt2.params.items()}
    x = np.asarray(tr["blocks.0.resid_mid"], dtype=np.float64)
    centred = x - x.mean(axis=-1, keepdims=True)
    normed = centred / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + gpt2.config.ln_eps) * p["ln_final.w"] + p["ln_final.b"]
    np.testing.assert_allclose(lens["blocks.0.resid_mid"], normed @ p["unembed.W_U"] + p["unembed.b_U"], rtol=1e-4, atol=1e-4)


@SETTINGS
@given(case=cases(configs(max_layers=2)))
def test_the_lens_ends_at_the_logits_for_every_configuration(case: Case) -> None:
    if not case.model.config.unembed:
        return
    tr = case.trace()
    lens = ex.logit_lens(tr)
    assert tr.stage_ids().index(list(lens)[-1]) < tr.stage_ids().index("logits")
    np.testing.assert_array_equal(list(lens.values())[-1], tr["logits"])


# -- logit attribution ---------------------------------------------------------------------------------
def test_the_parts_sum_to_the_logit(gpt2: simulator.Model) -> None:
    tr = gpt2.trace(CLEAN)
    for token in (0, 17, int(np.argmax(tr["logits"][-1])), gpt2.config.vocab_size - 1):
        for position in (-1, 0, 4):
            parts = ex.logit_attribution(tr, token=token, position=position)
            np.testing.assert_allclose(sum(parts.values()), tr["logits"][position, token], rtol=1e-5, atol=1e-5)
    names = list(ex.logit_attribution(tr, token=5))
    heads = [f"blocks.{l}.attn.head_out[{h}]" for l in range(2) for h in range(4)]
    assert set(heads) <= set(names)
    assert {"embed", "pos_embed", "blocks.0.mlp_out", "blocks.1.mlp_out", "blocks.0.attn.b_O", "blocks.1.mlp.b_out",
            "ln_final.b", "unembed.b_U"} <= set(names)
    assert len(names) == 2 + 2 * (4 + 3) + 2


def test_an_ablated_head_contributes_nothing_and_the_sum_still_holds(gpt2: simulator.Model) -> None:
    tr = gpt2.trace(CLEAN, interventions=[ex.Ablate("blocks.1.attn.z", head=2), ex.Patch("blocks.0.resid_mid", source=gpt2.trace(CORRUPTED), position=-1)])
    parts = ex.logit_attribution(tr, token=9)
    assert parts["blocks.1.attn.head_out[2]"] == 0.0
    assert "blocks.0.resid_mid (intervention)" in parts
    np.testing.assert_allclose(sum(parts.values()), tr["logits"][-1, 9], rtol=1e-5, atol=1e-5)


@SETTINGS
@given(case=cases(configs(max_layers=2)), data=st.data())
def test_the_parts_sum_to_the_logit_for_every_configuration(case: Case, data: st.DataObject) -> None:
    model = case.model
    if not model.config.unembed:
        return
    stages = [s for s in model.stage_ids() if s != "tokens"]
    interventions = [ex.Ablate(data.draw(st.sampled_from(stages)), mode="zero")] if data.draw(st.booleans()) else None
    tr = model.trace(list(case.ids), token_types=case.token_types, causal=case.causal, interventions=interventions)
    token = data.draw(st.integers(0, model.config.vocab_size - 1))
    position = data.draw(st.integers(-len(case.ids), len(case.ids) - 1))
    logit = float(tr["logits"][position, token])
    if not np.isfinite(logit):
        return
    parts = ex.logit_attribution(tr, token=token, position=position)
    scale = max(1.0, max(abs(v) for v in parts.values()))
    assert abs(sum(parts.values()) - logit) <= 1e-9 * scale


def test_the_logit_difference_is_the_difference_of_the_logits(gpt2: simulator.Model, bert: simulator.Model) -> None:
    tr = gpt2.trace(CLEAN, interventions=[ex.Ablate("blocks.0.attn.z", head=3)])
    gpt2.clear_cache()
    with gpt2.recording() as computed:
        got = ex.logit_difference(tr, 7, 123, position=-2)
    assert "logits" not in computed
    np.testing.assert_allclose(got, tr["logits"][-2, 7] - tr["logits"][-2, 123], rtol=1e-5, atol=1e-5)
    with pytest.raises(ex.ExperimentError, match=r"token must be a token id in 0\.\.399, got -1"):
        ex.logit_difference(tr, -1, 2)
    with pytest.raises(ex.NoUnembeddingError):
        ex.logit_difference(bert.trace(CLEAN), 1, 2)


# -- what is refused -----------------------------------------------------------------------------------
def test_encoders_have_no_lens_and_no_attribution(bert: simulator.Model) -> None:
    tr = bert.trace(CLEAN)
    with pytest.raises(ex.NoUnembeddingError, match="has no unembedding"):
        ex.logit_lens(tr)
    with pytest.raises(ex.NoUnembeddingError, match="has no unembedding"):
        ex.logit_attribution(tr, token=1)


@pytest.mark.parametrize("make, message", [
    (lambda m: ex.Ablate("blocks.5.attn.z", head=0), "unknown stage 'blocks.5.attn.z' (the model has 2 layers: 0..1)"),
    (lambda m: ex.Ablate("blocks.1.attn.z", head=4), "head 4 is out of range (the model has 4 heads: 0..3)"),
    (lambda m: ex.Ablate("blocks.1.attn.z", head=-5), "head -5 is out of range"),
    (lambda m: ex.Ablate("blocks.0.mlp.post", head=1), "head= needs a stage with a head axis; its axes are pos × d_mlp"),
    (lambda m: ex.Ablate("blocks.0.mlp.post", index=128), "index 128 is out of range (d_mlp has 128 entries: 0..127"),
    (lambda m: ex.Ablate("blocks.0.mlp.post", position=8), "position 8 is out of range (the input has 8 tokens: 0..7"),
    (lambda m: ex.Ablate("blocks.0.mlp.post", position=slice(8, None)), "position=8: selects nothing of pos"),
    (lambda m: ex.Ablate("blocks.0.mlp.post", index=[]), "index= is an empty list: it selects nothing"),
    (lambda m: ex.Ablate("blocks.0.mlp.post", index=[1, "x"]), "index= must hold whole numbers, got 'x'"),
    (lambda m: ex.Ablate("blocks.0.mlp.post", head=True), "head= must be a whole number"),
    (lambda m: ex.Ablate("blocks.0.mlp.post", mode="max"), "mode must be 'zero' or 'mean', got 'max'"),
    (lambda m: ex.Ablate(3), "the stage must be a stage id"),
    (lambda m: ex.Ablate("tokens"), "the tokens stage holds token ids"),
    (lambda m: ex.Patch("embed", source=[1, 2]), "source must be a trace (model.trace(...)), got list"),
    (lambda m: ex.Patch("embed", source=simulator.load("toy").trace("the mole")), "the source is a trace of another model"),
    (lambda m: "blocks.0.attn.z", "interventions must be a list of ex.Ablate / ex.Patch, got str"),
    (lambda m: [ex.Ablate("embed"), 4], "interventions must be ex.Ablate or ex.Patch, got int"),
])
def test_bad_interventions_get_one_line(gpt2: simulator.Model, make, message: str) -> None:
    with pytest.raises(simulator.SimulatorError) as refused:
        interventions = make(gpt2)
        gpt2.trace(CLEAN, interventions=interventions if isinstance(interventions, (list, str)) else [interventions])
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_mean_needs_a_position_axis(bert: simulator.Model) -> None:
    with pytest.raises(ex.InterventionError, match="mode 'mean' averages over positions, and this stage has no position axis"):
        bert.trace(CLEAN, interventions=[ex.Ablate("pooled", mode="mean")])


def test_bad_attribution_arguments(gpt2: simulator.Model) -> None:
    tr = gpt2.trace(CLEAN)
    with pytest.raises(ex.ExperimentError, match=r"token must be a token id in 0\.\.399, got 400"):
        ex.logit_attribution(tr, token=400)
    with pytest.raises(ex.ExperimentError, match=r"position must be a whole number in 0\.\.7 \(or -8\.\.-1\), got 8"):
        ex.logit_attribution(tr, token=1, position=8)
    with pytest.raises(ex.ExperimentError, match="needs a trace"):
        ex.logit_lens("The cat")


def test_interventions_are_small_frozen_values(gpt2: simulator.Model) -> None:
    a = ex.Ablate("blocks.1.attn.z", head=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.head = 1  # type: ignore[misc]
    assert a == ex.Ablate("blocks.1.attn.z", head=0) and hash(a) == hash(ex.Ablate("blocks.1.attn.z", head=0))
    assert a != ex.Ablate("blocks.1.attn.z", head=0, mode="mean")
    assert ex.Ablate("embed", index=[1, 2]).index == (1, 2)
    source = gpt2.trace(CORRUPTED)
    assert ex.Patch("embed", source=source) == ex.Patch("embed", source=source)
    assert ex.Patch("embed", source=source) != ex.Patch("embed", source=gpt2.trace(CORRUPTED))
    tr = gpt2.trace(CLEAN, interventions=[a])
    assert tr.interventions == (a,) and gpt2.trace(CLEAN).interventions == ()


def test_the_restored_fraction_is_the_share_of_the_clean_difference_brought_back() -> None:
    assert ex.restored_fraction(3.0, 1.0, 5.0) == 0.5
    assert ex.restored_fraction(5.0, 1.0, 5.0) == 1.0 and ex.restored_fraction(1.0, 1.0, 5.0) == 0.0
    with pytest.raises(ex.ExperimentError, match="nothing to restore"):
        ex.restored_fraction(2.0, 1.0, 1.0)

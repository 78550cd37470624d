"""Lazy, cached evaluation: exactly the stages that depend on a change are recomputed."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simulator
from engine_models import build_model

TEXT = "the cat walks by the bank"
OTHER_TEXT = "a dog sits on the river"  # same length as TEXT, every word different


@pytest.fixture
def toy() -> simulator.Model:
    return simulator.load("toy")


@pytest.fixture
def post_ln() -> simulator.Model:
    """A BERT-style model: post-LN, segment embeddings, embedding norm, pooling, no mask."""
    config = simulator.ModelConfig(
        d_model=6, n_heads=2, d_head=3, n_layers=2, d_mlp=5, vocab_size=9, n_ctx=8, act="gelu", norm="post",
        positional="learned", causal=False, dtype="float64", n_token_types=2, embed_norm=True, pooling="mean",
    )
    return build_model(config, seed=21)


def read_all(trace: simulator.Trace) -> dict[str, np.ndarray]:
    return {stage_id: trace[stage_id] for stage_id in trace.stage_ids()}


def computed_by(model: simulator.Model, action) -> list[str]:
    with model.recording() as computed:
        action()
    return list(computed)


def ancestors(model: simulator.Model, stage_id: str) -> set[str]:
    found: set[str] = set()
    stack = [stage_id]
    while stack:
        current = stack.pop()
        if current not in found:
            found.add(current)
            stack.extend(model.stage_spec(current).inputs)
    return found


def block_stages(layer: int, start: str) -> list[str]:
    """The stages of a pre-LN block from ``start`` on, written out by hand."""
    p = f"blocks.{layer}."
    order = [
        "resid_pre", "ln1", "attn.q", "attn.k", "attn.v", "attn.scores", "attn.scaled", "attn.masked",
        "attn.pattern", "attn.z", "attn.head_out", "attn_out", "resid_mid", "ln2", "mlp.pre", "mlp.post",
        "mlp_out", "resid_post",
    ]
    return [p + s for s in order[order.index(start):]]


def test_one_stage_computes_exactly_itself_and_its_ancestors(toy: simulator.Model) -> None:
    computed = computed_by(toy, lambda: toy.trace(TEXT)["blocks.0.attn.scores"])
    assert sorted(computed) == sorted(
        ["tokens", "embed", "pos_embed", "blocks.0.resid_pre", "blocks.0.ln1", "blocks.0.attn.q", "blocks.0.attn.k",
         "blocks.0.attn.scores"]
    )


@pytest.mark.parametrize("which", ["toy", "post_ln"])
def test_every_stage_alone_computes_its_ancestors_once(which: str, request: pytest.FixtureRequest) -> None:
    model: simulator.Model = request.getfixturevalue(which)
    ids = [1, 2, 3, 4]
    for stage_id in model.stage_ids():
        model.clear_cache()
        computed = computed_by(model, lambda stage_id=stage_id: model.trace(ids)[stage_id])
        assert len(computed) == len(set(computed)), f"{stage_id}: something computed twice: {computed}"
        assert set(computed) == ancestors(model, stage_id), stage_id


def test_a_repeated_trace_computes_nothing(toy: simulator.Model) -> None:
    first = read_all(toy.trace(TEXT))
    computed = computed_by(toy, lambda: read_all(toy.trace(TEXT)))
    assert computed == []
    second = read_all(toy.trace(TEXT))
    for stage_id, value in first.items():
        assert second[stage_id] is value


def test_editing_an_mlp_weight_recomputes_only_what_follows_it(toy: simulator.Model) -> None:
    before = read_all(toy.trace(TEXT))
    toy.set_param("blocks.1.mlp.W_in", 0.75, index=(3, 7))
    after_trace = toy.trace(TEXT)
    computed = computed_by(toy, lambda: read_all(after_trace))
    expected = ["blocks.1.mlp.pre", "blocks.1.mlp.post", "blocks.1.mlp_out", "blocks.1.resid_post", "ln_final", "logits", "probs"]
    assert sorted(computed) == sorted(expected)
    assert sorted(toy.downstream("blocks.1.mlp.W_in")) == sorted(expected)
    assert not np.array_equal(after_trace["blocks.1.mlp.pre"][:, 7], before["blocks.1.mlp.pre"][:, 7])
    np.testing.assert_array_equal(after_trace["blocks.1.mlp.pre"][:, :7], before["blocks.1.mlp.pre"][:, :7])


def test_editing_a_query_weight_recomputes_from_the_queries_on(toy: simulator.Model) -> None:
    read_all(toy.trace(TEXT))
    toy.set_param("blocks.1.attn.W_Q", -1.5, index=(0, 2, 3))
    computed = computed_by(toy, lambda: read_all(toy.trace(TEXT)))
    expected = block_stages(1, "attn.q")
    expected.remove("blocks.1.attn.k")
    expected.remove("blocks.1.attn.v")
    expected += ["ln_final", "logits", "probs"]
    assert sorted(computed) == sorted(expected)
    assert toy.downstream("blocks.1.attn.W_Q") == expected


@pytest.mark.parametrize("which", ["toy", "post_ln"])
def test_every_parameter_edit_recomputes_exactly_its_downstream_stages(which: str, request: pytest.FixtureRequest) -> None:
    model: simulator.Model = request.getfixturevalue(which)
    ids = [1, 2, 3, 4]
    for name in list(model.params):
        read_all(model.trace(ids))
        index = (0,) * model.params[name].ndim
        model.set_param(name, float(model.params[name][index]) + 0.25, index=index)
        computed = computed_by(model, lambda: read_all(model.trace(ids)))
        assert len(computed) == len(set(computed)), name
        assert set(computed) == set(model.downstream(name)), name
        assert computed, name


def test_changing_the_text_recomputes_everything(toy: simulator.Model) -> None:
    read_all(toy.trace(TEXT))
    computed = computed_by(toy, lambda: read_all(toy.trace(OTHER_TEXT)))
    assert sorted(computed) == sorted(toy.stage_ids())


def test_changing_the_temperature_recomputes_only_probs(toy: simulator.Model) -> None:
    read_all(toy.trace(TEXT))
    computed = computed_by(toy, lambda: read_all(toy.trace(TEXT, temperature=0.5)))
    assert computed == ["probs"]
    assert toy.downstream("temperature") == ["probs"]


def test_toggling_the_mask_recomputes_from_the_masked_scores_on(toy: simulator.Model) -> None:
    read_all(toy.trace(TEXT))
    computed = computed_by(toy, lambda: read_all(toy.trace(TEXT, causal=False)))
    expected = block_stages(0, "attn.masked") + block_stages(1, "resid_pre") + ["ln_final", "logits", "probs"]
    assert sorted(computed) == sorted(expected)
    assert toy.downstream("causal") == expected


def test_toggling_scaling_recomputes_from_the_scaled_scores_on(toy: simulator.Model) -> None:
    read_all(toy.trace(TEXT))
    computed = computed_by(toy, lambda: read_all(toy.trace(TEXT, scale_scores=False)))
    expected = block_stages(0, "attn.scaled") + block_stages(1, "resid_pre") + ["ln_final", "logits", "probs"]
    assert sorted(computed) == sorted(expected)


def test_segment_ids_are_an_input_of_the_trace(post_ln: simulator.Model) -> None:
    before = read_all(post_ln.trace([1, 2, 3], token_types=[0, 0, 1]))
    computed = computed_by(post_ln, lambda: read_all(post_ln.trace([1, 2, 3], token_types=[0, 1, 1])))
    assert "token_type_embed" in computed and "pooled" in computed
    after = read_all(post_ln.trace([1, 2, 3], token_types=[0, 1, 1]))
    assert not np.array_equal(before["pooled"], after["pooled"])
    np.testing.assert_array_equal(before["token_type_embed"][[0, 2]], after["token_type_embed"][[0, 2]])


def test_old_traces_keep_their_values_after_an_edit(toy: simulator.Model) -> None:
    old = toy.trace(TEXT)
    early = old["blocks.1.mlp.pre"]
    early_copy = early.copy()
    toy.set_param("blocks.0.mlp.W_in", 3.0, index=(0, slice(None)))
    toy.set_param("unembed.W_U", np.zeros((16, toy.config.vocab_size)))
    new = toy.trace(TEXT)
    new_logits = new["logits"]
    np.testing.assert_array_equal(new_logits, toy.params["unembed.b_U"][None, :].repeat(len(new.ids), axis=0))
    late = old["logits"]  # first read after the edits: must use the weights of its own moment
    assert np.abs(late - new_logits).max() > 0.1
    np.testing.assert_array_equal(old["blocks.1.mlp.pre"], early_copy)
    assert old["blocks.1.mlp.pre"] is early
    fresh = simulator.load("toy").trace(TEXT)
    np.testing.assert_array_equal(late, fresh["logits"])
    np.testing.assert_array_equal(old["probs"], fresh["probs"])


def test_stage_arrays_are_read_only(toy: simulator.Model) -> None:
    trace = toy.trace(TEXT)
    for stage_id in toy.stage_ids():
        with pytest.raises(ValueError):
            trace[stage_id][...] = 0
    for value in toy.params.values():
        with pytest.raises(ValueError):
            value[...] = 0
    with pytest.raises(TypeError):
        toy.params["embed.W_E"] = np.zeros((1, 1))  # type: ignore[index]


BAD_EDITS = [
    pytest.param("blocks.0.attn.W_Q", math.nan, (0, 0, 0), id="nan"),
    pytest.param("blocks.0.attn.W_Q", math.inf, (0, 0, 0), id="inf"),
    pytest.param("blocks.0.attn.W_Q", -math.inf, (0, 0, 0), id="minus-inf"),
    pytest.param("blocks.0.attn.W_Q", 1e309, (0, 0, 0), id="1e309"),
    pytest.param("blocks.0.attn.W_Q", 1e39, (0, 0, 0), id="too-big-for-float32"),
    pytest.param("blocks.0.attn.W_Q", "0.5", (0, 0, 0), id="string"),
    pytest.param("blocks.0.attn.W_Q", ["a", "b"], (0, 0, slice(0, 2)), id="strings"),
    pytest.param("blocks.0.attn.W_Q", None, (0, 0, 0), id="none"),
    pytest.param("blocks.0.attn.W_Q", [1.0, 2.0, 3.0], (0, 0, slice(0, 2)), id="wrong-slice-shape"),
    pytest.param("blocks.0.attn.W_Q", np.zeros((2, 16, 7)), None, id="wrong-tensor-shape"),
    pytest.param("blocks.0.attn.W_Q", np.zeros((16, 8)), None, id="missing-axis"),
    pytest.param("blocks.0.attn.W_Q", 1.0, None, id="scalar-for-tensor"),
    pytest.param("blocks.0.attn.W_Q", np.full((2, 16, 8), np.nan), None, id="nan-tensor"),
    pytest.param("blocks.0.attn.W_Q", 1.0, (2, 0, 0), id="head-out-of-range"),
    pytest.param("blocks.0.attn.W_Q", 1.0, (0, 0, 0, 0), id="too-many-indices"),
    pytest.param("blocks.0.attn.W_Q", 1.0, (0, 0, -9), id="negative-out-of-range"),
    pytest.param("blocks.0.attn.W_Q", 1.0, (0, 0.5, 0), id="float-index"),
    pytest.param("blocks.0.attn.W_Q", 1.0, "x", id="string-index"),
    pytest.param("blocks.7.attn.W_Q", 1.0, (0, 0, 0), id="no-such-layer"),
    pytest.param("blocks.0.attn.W_X", 1.0, (0, 0, 0), id="no-such-weight"),
    pytest.param("W_Q", 1.0, (0, 0, 0), id="bare-leaf"),
]


@pytest.mark.parametrize(("name", "value", "index"), BAD_EDITS)
def test_bad_edits_are_rejected_and_change_nothing(toy: simulator.Model, name: str, value: object, index: object) -> None:
    before = read_all(toy.trace(TEXT))
    params = {k: v.copy() for k, v in toy.params.items()}
    versions = {k: toy.param_version(k) for k in toy.params}
    with pytest.raises(simulator.ParamError) as excinfo:
        toy.set_param(name, value, index=index)  # type: ignore[arg-type]
    message = str(excinfo.value)
    assert name.split(".")[-1] in message or name in message
    assert "\n" not in message
    for key, value_before in params.items():
        assert toy.params[key].tobytes() == value_before.tobytes(), key
        assert toy.param_version(key) == versions[key], key
    computed = computed_by(toy, lambda: read_all(toy.trace(TEXT)))
    assert computed == []
    after = read_all(toy.trace(TEXT))
    for stage_id, value_before in before.items():
        assert after[stage_id] is value_before


def test_good_edits_of_an_entry_a_row_and_a_tensor(toy: simulator.Model) -> None:
    shape = toy.param_shape("blocks.0.attn.W_Q")
    toy.set_param("blocks.0.attn.W_Q", 0.5, index=(0, 2, 3))
    assert toy.params["blocks.0.attn.W_Q"][0, 2, 3] == np.float32(0.5)
    toy.set_param("blocks.0.attn.W_Q", np.arange(shape[2]), index=(1, 4))
    np.testing.assert_array_equal(toy.params["blocks.0.attn.W_Q"][1, 4], np.arange(shape[2]))
    whole = np.full(shape, 0.125)
    version = toy.param_version("blocks.0.attn.W_Q")
    toy.set_param("blocks.0.attn.W_Q", whole)
    np.testing.assert_array_equal(toy.params["blocks.0.attn.W_Q"], whole)
    assert toy.params["blocks.0.attn.W_Q"].dtype == np.float32
    assert toy.param_version("blocks.0.attn.W_Q") > version
    whole[...] = 9.0  # the model keeps its own copy
    assert toy.params["blocks.0.attn.W_Q"][0, 0, 0] == np.float32(0.125)


def test_unknown_stage_is_a_clear_error(toy: simulator.Model) -> None:
    trace = toy.trace(TEXT)
    with pytest.raises(simulator.UnknownStageError, match="2 layers"):
        trace["blocks.5.attn.pattern"]
    with pytest.raises(KeyError):
        trace["nonsense"]
    assert trace.get("nonsense") is None
